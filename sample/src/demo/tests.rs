use super::*;

#[test]
fn shell_quoting() {
    assert_eq!(sh("/tmp/a-b/ca.pem"), "/tmp/a-b/ca.pem");
    assert_eq!(sh("/tmp/my dir/ca.pem"), "'/tmp/my dir/ca.pem'");
    assert_eq!(sh("it's"), r"'it'\''s'");
    assert_eq!(sh("https://h/x?a=b"), "'https://h/x?a=b'");
    assert_eq!(sh(""), "''");
}

#[test]
fn policy_lists_every_officer_valid_today() {
    let today = time::macros::date!(2026 - 11 - 27);
    let text = policy_toml(today);
    for o in &OFFICERS {
        assert!(text.contains(&format!("id = \"{}\"", o.id)));
    }
    assert!(text.contains("valid_from = \"2026-10-28\""));
    assert!(text.contains("valid_until = \"2027-11-27\""));
    let parsed: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(parsed["officers"].as_array().unwrap().len(), 3);
}

#[test]
fn gateway_config_names_the_given_ports() {
    let upstream: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let text = gateway_toml("127.0.0.1:0", "127.0.0.1:9443", upstream);
    let parsed: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(parsed["server"]["listen"].as_str(), Some("127.0.0.1:0"));
    assert_eq!(parsed["admin"]["listen"].as_str(), Some("127.0.0.1:9443"));
    assert_eq!(
        parsed["upstream"]["url"].as_str(),
        Some("http://127.0.0.1:8080")
    );
    assert_eq!(
        parsed["audit"]["store"].as_str(),
        Some("sqlite://audit/inquiries.db")
    );
}

#[test]
fn multi_line_errors_become_one_line() {
    assert_eq!(first_line(&"a\nb\nc"), "a (and 2 more)");
    assert_eq!(first_line(&"only"), "only");
}
