use super::*;
use clap::Parser;

fn args(list: &[&str]) -> Result<Args, clap::Error> {
    Args::try_parse_from(std::iter::once("credgate-load").chain(list.iter().copied()))
}

#[test]
fn urls_split_into_scheme_authority_and_path() {
    let (s, a, h, p) = parse_url("https://127.0.0.1:8443").unwrap();
    assert_eq!(
        (s, a.as_str(), h.as_str(), p.as_str()),
        (Scheme::Https, "127.0.0.1:8443", "127.0.0.1", "/")
    );
    let (s, a, _, p) = parse_url("http://localhost/v1/subjects/x?items=a").unwrap();
    assert_eq!(
        (s, a.as_str(), p.as_str()),
        (Scheme::Http, "localhost:80", "/v1/subjects/x?items=a")
    );
    let (_, a, h, _) = parse_url("https://[::1]:9443/").unwrap();
    assert_eq!((a.as_str(), h.as_str()), ("[::1]:9443", "::1"));
}

#[test]
fn bad_urls_are_refused() {
    for url in ["", "127.0.0.1:80", "ftp://x:1", "https://", "http://u@h:1/"] {
        assert!(parse_url(url).is_err(), "{url} accepted");
    }
}

#[test]
fn paths_file_skips_comments_and_blank_lines() {
    let text = "# subjects\n/v1/subjects/A\n\n  /v1/subjects/B/records?items=a,b  \n# end\n";
    let paths = parse_paths(text, Path::new("p.txt")).unwrap();
    assert_eq!(
        paths,
        ["/v1/subjects/A", "/v1/subjects/B/records?items=a,b"]
    );
}

#[test]
fn paths_file_names_the_bad_line() {
    let err = parse_paths("/ok\nv1/no-slash\n", Path::new("p.txt")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`p.txt` line 2: `v1/no-slash` is not a request path (must start with `/`)"
    );
    let err = parse_paths("/with space\n", Path::new("p.txt")).unwrap_err();
    assert!(matches!(err, CliError::PathLine { line: 1, .. }));
    let err = parse_paths("# only a comment\n\n", Path::new("p.txt")).unwrap_err();
    assert!(matches!(err, CliError::NoPaths(_)));
}

#[test]
fn headers_are_name_colon_value() {
    let (n, v) = parse_header("Inquiry-Purpose: administrative_inspection").unwrap();
    assert_eq!(n.as_str(), "inquiry-purpose");
    assert_eq!(v.to_str().unwrap(), "administrative_inspection");
    let (_, v) = parse_header("Inquiry-Case:  2026-ABC:17 ").unwrap();
    assert_eq!(v.to_str().unwrap(), "2026-ABC:17");
    assert!(parse_header("no colon").is_err());
    assert!(parse_header("bad name: x").is_err());
    assert!(parse_header("X: line\nbreak").is_err());
}

#[test]
fn routes_are_path_equals_file() {
    let (p, f) = parse_route("/v1/subjects/A=/tmp/a.json").unwrap();
    assert_eq!(
        (p.as_str(), f),
        ("/v1/subjects/A", PathBuf::from("/tmp/a.json"))
    );
    assert!(parse_route("v1=/tmp/a").is_err());
    assert!(parse_route("/v1=").is_err());
    assert!(parse_route("/v1").is_err());
}

#[test]
fn a_full_mtls_command_line_becomes_a_plan() {
    let a = args(&[
        "--url",
        "https://127.0.0.1:8443/v1/subjects/X",
        "--ca",
        "ca.pem",
        "--cert",
        "o.pem",
        "--key",
        "o.key",
        "--connections",
        "8",
        "--duration",
        "2.5",
        "--rate",
        "500",
        "--header",
        "Inquiry-Purpose: administrative_inspection",
        "--header",
        "Inquiry-Case: C-1",
        "--pid",
        "123",
        "--pid",
        "456",
        "--json",
    ])
    .unwrap();
    let Plan::Load(p) = plan(&a).unwrap() else {
        panic!("not a load plan")
    };
    assert_eq!(p.scheme, Scheme::Https);
    assert_eq!(p.authority, "127.0.0.1:8443");
    assert_eq!(p.server_name, "127.0.0.1");
    assert_eq!(p.paths, ["/v1/subjects/X"]);
    assert_eq!(p.headers.len(), 2);
    assert_eq!(p.connections, 8);
    assert_eq!(p.duration, Duration::from_millis(2500));
    assert_eq!(p.warmup, Duration::from_secs(1));
    assert_eq!(p.rate, Some(500.0));
    assert_eq!(p.pids, [123, 456]);
    assert!(!p.handshake_per_request);
    assert!(a.json);
    assert_eq!(
        p.client_auth,
        Some((PathBuf::from("o.pem"), PathBuf::from("o.key")))
    );
}

#[test]
fn inconsistent_command_lines_are_refused() {
    // https without a CA
    let a = args(&["--url", "https://127.0.0.1:1"]).unwrap();
    assert!(matches!(plan(&a), Err(CliError::Tls(_))));
    // client cert on plain http
    let a = args(&["--url", "http://h:1", "--cert", "c", "--key", "k"]).unwrap();
    assert!(matches!(plan(&a), Err(CliError::Tls(_))));
    // zero connections, negative duration, zero rate
    for bad in [
        ["--connections", "0"],
        ["--duration", "0"],
        ["--duration=-1", "--warmup=0"],
        ["--rate", "0"],
        ["--warmup", "NaN"],
    ] {
        let mut list = vec!["--url", "http://h:1"];
        list.extend(bad);
        let a = args(&list).unwrap();
        assert!(matches!(plan(&a), Err(CliError::Range { .. })), "{bad:?}");
    }
    // cert without key, and no url at all, are clap errors
    assert!(args(&["--url", "https://h:1", "--cert", "c"]).is_err());
    assert!(args(&["--connections", "2"]).is_err());
}

#[test]
fn serve_mode_reads_route_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("small.json");
    std::fs::write(&body, br#"{"subject":{}}"#).unwrap();
    let route = format!("/v1/subjects/A={}", body.display());
    let a = args(&["--serve", "127.0.0.1:0", "--route", &route]).unwrap();
    let Plan::Serve(s) = plan(&a).unwrap() else {
        panic!("not a serve plan")
    };
    assert_eq!(s.routes.len(), 1);
    assert_eq!(&s.routes[0].1[..], br#"{"subject":{}}"#);
    let missing = args(&["--serve", "127.0.0.1:0", "--route", "/a=/nonexistent/x"]).unwrap();
    assert!(matches!(plan(&missing), Err(CliError::Read { .. })));
    assert!(args(&["--serve", "127.0.0.1:0", "--url", "http://h:1"]).is_err());
}
