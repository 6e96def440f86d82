use super::*;

fn head(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, http::HeaderValue::from_static(v));
    }
    h
}

#[test]
fn json_media_types_are_accepted_with_parameters() {
    for ok in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/problem+json",
        "application/vnd.credit.v1+json ; q=1",
    ] {
        assert!(is_json_media_type(ok), "{ok}");
    }
}

#[test]
fn other_media_types_are_refused() {
    for bad in [
        "text/html",
        "text/json",
        "application/jsonp",
        "application/+json",
        "application/x-json-stream",
        "json",
        "",
    ] {
        assert!(!is_json_media_type(bad), "{bad}");
    }
}

#[test]
fn a_success_needs_json_and_no_encoding() {
    assert_eq!(
        acceptable_success(&head(&[("content-type", "application/json")])),
        Ok(())
    );
    assert_eq!(
        acceptable_success(&head(&[
            ("content-type", "application/json"),
            ("content-encoding", "identity"),
            ("transfer-encoding", "chunked"),
        ])),
        Ok(())
    );
    assert!(acceptable_success(&head(&[])).is_err());
    assert!(acceptable_success(&head(&[
        ("content-type", "application/json"),
        ("content-type", "text/html"),
    ]))
    .is_err());
    assert!(acceptable_success(&head(&[("content-type", "text/html")])).is_err());
    assert!(acceptable_success(&head(&[
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
    ]))
    .is_err());
    assert!(acceptable_success(&head(&[
        ("content-type", "application/json"),
        ("content-encoding", "identity"),
        ("content-encoding", "br"),
    ]))
    .is_err());
    assert!(acceptable_success(&head(&[
        ("content-type", "application/json"),
        ("transfer-encoding", "gzip, chunked"),
    ]))
    .is_err());
}

#[test]
fn only_a_refused_answer_carries_the_upstream_status() {
    assert_eq!(
        UpstreamError::Refused {
            status: 200,
            why: "x"
        }
        .upstream_status(),
        Some(200)
    );
    assert_eq!(UpstreamError::Timeout.upstream_status(), None);
    assert_eq!(UpstreamError::Invalid("x").upstream_status(), None);
}
