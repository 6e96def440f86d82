use super::*;

#[test]
fn passwords_are_redacted_from_urls() {
    assert_eq!(
        redact_url("postgres://u:secret@h:5432/db"),
        "postgres://u:***@h:5432/db"
    );
    assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(redact_url("sqlite://a/b.db"), "sqlite://a/b.db");
    assert!(
        !AuditError::InvalidStoreUrl(redact_url("postgres://u:pw@h/d"))
            .to_string()
            .contains("pw")
    );
}
