use super::*;

#[test]
fn suffix_is_appended_not_substituted() {
    assert_eq!(
        with_suffix(Path::new("out/li.na"), ".pem"),
        PathBuf::from("out/li.na.pem")
    );
}

#[test]
fn serials_compare_without_zero_padding() {
    assert!(same_serial(&[0, 0x80, 1], &[0x80, 1]));
    assert!(!same_serial(&[0x80, 1], &[0x80, 2]));
}

#[test]
fn random_serials_are_sixteen_positive_bytes_and_differ() {
    let a = random_serial(Path::new("x")).unwrap();
    let b = random_serial(Path::new("x")).unwrap();
    assert_eq!(a.len(), SERIAL_LEN);
    assert!(a.to_bytes()[0] & 0x80 == 0);
    assert_ne!(a, b);
}

#[test]
fn pem_lines_are_64_columns() {
    let pem = pem_encode("PUBLIC KEY", &[7u8; 100]);
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
    assert!(pem.lines().all(|l| l.len() <= 64));
}

#[test]
fn for_days_spans_the_requested_days() {
    let now = time::macros::datetime!(2026-01-01 00:00 UTC);
    let spec = OfficerSpec::for_days("HN-1", "Li Na", "Unit", 30, now);
    assert_eq!(spec.not_before, now);
    assert_eq!(
        spec.not_after,
        time::macros::datetime!(2026-01-31 00:00 UTC)
    );
}

#[test]
fn empty_officer_id_and_inverted_validity_are_refused() {
    let now = OffsetDateTime::now_utc();
    let path = Path::new("out/x.pem");
    let empty = OfficerSpec::for_days(" ", "n", "u", 1, now);
    let err = officer_params(&empty, &IssueOptions::default(), path).unwrap_err();
    assert!(err.to_string().contains("out/x.pem"));
    let mut inverted = OfficerSpec::for_days("id", "n", "u", 1, now);
    inverted.not_after = now - Duration::days(1);
    assert!(matches!(
        officer_params(&inverted, &IssueOptions::default(), path),
        Err(PkiError::InvalidSpec { .. })
    ));
}
