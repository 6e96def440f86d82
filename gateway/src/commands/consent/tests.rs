use super::*;

#[test]
fn clean_list_drops_empty_and_duplicate_entries() {
    let list = vec![
        " basic".to_string(),
        String::new(),
        "commendation".to_string(),
        "basic".to_string(),
    ];
    assert_eq!(clean_list(&list), vec!["basic", "commendation"]);
}

#[test]
fn bad_subject_is_refused_before_the_key_is_read() {
    let err = issue(
        std::path::Path::new("/nonexistent-credgate-dir"),
        "91430100MA4L0XXX1A",
        "CS-RATE-0007",
        &["basic".to_string()],
        &[],
        30,
    )
    .unwrap_err();
    assert!(matches!(err, ConsentCmdError::Subject { .. }), "{err}");
}

#[test]
fn missing_key_names_the_file() {
    let err = issue(
        std::path::Path::new("/nonexistent-credgate-dir"),
        "91430100MA4L0XXX1N",
        "CS-RATE-0007",
        &["basic".to_string()],
        &[],
        30,
    )
    .unwrap_err();
    assert!(err.to_string().contains("consent-authority.pk8"), "{err}");
}
