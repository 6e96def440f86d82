use super::*;

#[test]
fn routes() {
    assert_eq!(route("/v1/subjects/A"), Some(Route::Subject("A")));
    assert_eq!(
        route("/v1/subjects/A/records"),
        Some(Route::SubjectRecords("A"))
    );
    assert_eq!(route("/v1/records/r-1"), Some(Route::Record("r-1")));
    assert_eq!(route("/v1/subjects/"), None);
    assert_eq!(route("/v1/subjects/A/"), None);
    assert_eq!(route("/v1/subjects/A/records/x"), None);
    assert_eq!(route("/v1/records/r-1/x"), None);
    assert_eq!(route("/v2/records/r-1"), None);
    assert_eq!(route("/"), None);
}

#[test]
fn items_filter_parses_lists() {
    assert_eq!(items_filter(None), Ok(None));
    assert_eq!(items_filter(Some("other=1")), Ok(None));
    assert_eq!(
        items_filter(Some("items=a,b&x=1")),
        Ok(Some(vec!["a".to_string(), "b".to_string()]))
    );
    assert_eq!(
        items_filter(Some("items=a%2Cb")),
        Ok(Some(vec!["a".to_string(), "b".to_string()]))
    );
    assert_eq!(items_filter(Some("items=")), Ok(Some(vec![])));
    assert_eq!(
        items_filter(Some("items=%E6%B9%98")),
        Ok(Some(vec!["湘".to_string()]))
    );
    assert_eq!(items_filter(Some("items=%zz")), Err(()));
}
