use super::*;

#[test]
fn passwords_are_redacted_from_urls() {
    assert_eq!(
        redact_url("postgres://u:secret@h:5432/db"),
        "postgres://u:***@h:5432/db"
    );
    assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(redact_url("sqlite://a/b.db"), "sqlite://a/b.db");
    // libpq and sqlx also take the password as a query parameter (an
    // outside probe found it printed in full by `audit query` and `serve`).
    assert_eq!(
        redact_url("postgres://postgres@127.0.0.1:5499/probe4?password=hunter2"),
        "postgres://postgres@127.0.0.1:5499/probe4?password=***"
    );
    assert_eq!(
        redact_url("postgres://u@h/d?sslmode=disable&PassWord=a%26b&application_name=x"),
        "postgres://u@h/d?sslmode=disable&PassWord=***&application_name=x"
    );
    assert_eq!(
        redact_url("postgres://u:pw@h?password=x"),
        "postgres://u:***@h?password=***"
    );
    assert_eq!(
        redact_url("postgres://h/d?sslpassword=k#f"),
        "postgres://h/d?sslpassword=***#f"
    );
    assert_eq!(
        redact_url("sqlite://a/b.db?mode=rwc"),
        "sqlite://a/b.db?mode=rwc"
    );
    assert!(
        !AuditError::InvalidStoreUrl(redact_url("postgres://u:pw@h/d"))
            .to_string()
            .contains("pw")
    );
}
