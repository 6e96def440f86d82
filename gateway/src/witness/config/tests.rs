use std::path::Path;

use super::*;

const LOG_KEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";

fn config(text: &str) -> Result<Config, WitnessConfigError> {
    Config::from_toml(Path::new("/etc/witness/witness.toml"), text)
}

#[test]
fn a_valid_file_resolves_paths_against_its_folder() {
    let c = config(&format!(
        r#"name = "witness.local/w1"
listen = "127.0.0.1:7443"
key = "witness.pk8"
cert = "/abs/witness.pem"
tls_key = "witness-tls.key"
state = "state/witness.db"
[[logs]]
origin_prefix = "credgate.local/"
key = "{LOG_KEY}"
"#
    ))
    .unwrap();
    assert_eq!(c.key, Path::new("/etc/witness/witness.pk8"));
    assert_eq!(c.cert, Path::new("/abs/witness.pem"));
    assert_eq!(c.state, Path::new("/etc/witness/state/witness.db"));
    assert_eq!(c.trusted_for("credgate.local/abc").len(), 1);
    assert!(c.trusted_for("other.local/abc").is_empty());
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = config(
        r#"name = "bad name"
listen = "nowhere"
key = ""
cert = "c"
tls_key = "k"
state = "s"
[[logs]]
origin_prefix = ""
key = "not a key"
[[logs]]
origin_prefix = "x/"
key = "w+5ebb1c9c+BCZ19LRMEv7q8cpL2jzUvIrEgPjv8B+2JqRMe/9Eu/tM"
"#,
    )
    .unwrap_err()
    .to_string();
    for want in [
        "`name`",
        "`listen`",
        "`key` must not be empty",
        "`origin_prefix`",
        "logs[0]",
        "logs[1]",
    ] {
        assert!(err.contains(want), "{want} missing in: {err}");
    }
}

#[test]
fn unknown_keys_are_errors() {
    let err = config(
        "name = \"w\"\nlisten = \"127.0.0.1:1\"\nkey = \"k\"\ncert = \"c\"\ntls_key = \"t\"\nstate = \"s\"\nsurprise = 1\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("surprise"), "{err}");
    // One line, with the position of the offending key.
    assert!(
        err.contains("witness.toml:7:1: ") && !err.contains('\n'),
        "{err}"
    );
}

#[test]
fn listen_hosts() {
    assert_eq!(
        parse_listen("[::1]:7443").unwrap(),
        (ListenHost::Ip("::1".parse().unwrap()), 7443)
    );
    assert_eq!(
        parse_listen("Witness.Example:443").unwrap(),
        (ListenHost::Dns("witness.example".into()), 443)
    );
    for bad in [
        "",
        ":1",
        "host",
        "host:x",
        "host:70000",
        "a b:1",
        "-a:1",
        "a..b:1",
    ] {
        assert!(parse_listen(bad).is_err(), "{bad}");
    }
}
