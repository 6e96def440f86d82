use super::*;

fn routes() -> Routes {
    Routes::new([
        ("/v1/subjects/A".to_string(), Bytes::from_static(b"small")),
        (
            "/v1/subjects/A/records?items=x".to_string(),
            Bytes::from_static(b"only-x"),
        ),
        (
            "/v1/subjects/A/records".to_string(),
            Bytes::from_static(b"all"),
        ),
    ])
}

#[test]
fn exact_query_wins_then_path_alone() {
    let r = routes();
    assert_eq!(
        &r.lookup("/v1/subjects/A/records", Some("items=x")).unwrap()[..],
        b"only-x"
    );
    assert_eq!(
        &r.lookup("/v1/subjects/A/records", Some("items=y")).unwrap()[..],
        b"all"
    );
    assert_eq!(&r.lookup("/v1/subjects/A", None).unwrap()[..], b"small");
    assert!(r.lookup("/v1/subjects/B", None).is_none());
}

#[test]
fn unknown_paths_and_other_methods_get_json_404() {
    let r = routes();
    let req = Request::post("/v1/subjects/A").body(()).unwrap();
    let resp = r.respond(&req);
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let req = Request::get("/nope").body(()).unwrap();
    let resp = r.respond(&req);
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    let req = Request::get("/v1/subjects/A").body(()).unwrap();
    assert_eq!(r.respond(&req).status(), StatusCode::OK);
}
