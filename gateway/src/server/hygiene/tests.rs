use bytes::Bytes;
use http_body_util::{Empty, Full};

use super::*;

fn get(target: &str) -> http::request::Builder {
    Request::get(target).header("host", "gw.example:8443")
}

fn empty(b: http::request::Builder) -> Request<Empty<Bytes>> {
    b.body(Empty::new()).unwrap()
}

fn run(req: &Request<Empty<Bytes>>) -> Result<(), Violation> {
    check(req, &Limits::default())
}

#[test]
fn a_plain_get_passes() {
    assert_eq!(run(&empty(get("/v1/subjects/91430100MA4L0XXX1N"))), Ok(()));
    let r = empty(get("/v1/records/r-1").header("content-length", "0"));
    assert_eq!(run(&r), Ok(()));
}

#[test]
fn framing_that_implies_a_body_is_refused() {
    let te = empty(get("/v1/x").header("transfer-encoding", "chunked"));
    assert_eq!(run(&te), Err(Violation::TransferEncoding));
    let twice = empty(
        get("/v1/x")
            .header("content-length", "0")
            .header("content-length", "0"),
    );
    assert_eq!(run(&twice), Err(Violation::BadContentLength));
    let signed = empty(get("/v1/x").header("content-length", "+0"));
    assert_eq!(run(&signed), Err(Violation::BadContentLength));
    let five = empty(get("/v1/x").header("content-length", "5"));
    assert_eq!(run(&five), Err(Violation::Body));
    let body = get("/v1/x")
        .body(Full::new(Bytes::from_static(b"x")))
        .unwrap();
    assert_eq!(check(&body, &Limits::default()), Err(Violation::Body));
    assert_eq!(Violation::Body.failure().status(), 413);
}

#[test]
fn host_rules_follow_the_http_version() {
    let no_host = Request::get("/v1/x").body(Empty::<Bytes>::new()).unwrap();
    assert_eq!(run(&no_host), Err(Violation::Host));
    let http10 = Request::get("/v1/x")
        .version(Version::HTTP_10)
        .body(Empty::<Bytes>::new())
        .unwrap();
    assert_eq!(run(&http10), Ok(()));
    let two = empty(get("/v1/x").header("host", "other"));
    assert_eq!(run(&two), Err(Violation::Host));
    let h2 = Request::get("https://gw.example:8443/v1/x")
        .version(Version::HTTP_2)
        .body(Empty::<Bytes>::new())
        .unwrap();
    assert_eq!(run(&h2), Ok(()));
}

#[test]
fn absolute_form_must_name_this_host_over_https() {
    assert_eq!(
        run(&empty(get("https://evil.example/v1/x"))),
        Err(Violation::ForeignAuthority)
    );
    assert_eq!(
        run(&empty(get("http://gw.example:8443/v1/x"))),
        Err(Violation::ForeignAuthority)
    );
    assert_eq!(run(&empty(get("https://GW.example:8443/v1/x"))), Ok(()));
}

#[test]
fn dot_segments_and_encoded_separators_are_refused() {
    for target in [
        "/v1/../admin",
        "/v1/subjects/./x",
        "/v1/subjects/%2e%2e/x",
        "/v1/subjects/%2E%2e/x",
        "/v1/subjects/a%2Fb",
        "/v1/subjects/a%5cb",
        "/v1/subjects/a%00",
    ] {
        assert_eq!(
            run(&empty(get(target))),
            Err(Violation::PathTraversal),
            "{target}"
        );
    }
    assert_eq!(run(&empty(get("/v1/records/r..1"))), Ok(()));
}

#[test]
fn size_limits_apply() {
    let limits = Limits {
        max_uri_bytes: 32,
        max_headers: 3,
        ..Limits::default()
    };
    let long = empty(get(&format!("/v1/{}", "a".repeat(40))));
    assert_eq!(check(&long, &limits), Err(Violation::UriTooLong));
    let many = empty(
        get("/v1/x")
            .header("a", "1")
            .header("b", "2")
            .header("c", "3"),
    );
    assert_eq!(check(&many, &limits), Err(Violation::TooManyHeaders));
    let limits = Limits {
        max_header_bytes: 64,
        ..Limits::default()
    };
    let big = empty(get("/v1/x").header("x-big", "v".repeat(60)));
    assert_eq!(check(&big, &limits), Err(Violation::HeadTooLarge));
    let fine = empty(get("/v1/x").header("x-ok", "v".repeat(60)));
    assert_eq!(run(&fine), Ok(()));
    assert_eq!(Violation::UriTooLong.failure().status(), 414);
    assert_eq!(Violation::TooManyHeaders.failure().status(), 431);
}
