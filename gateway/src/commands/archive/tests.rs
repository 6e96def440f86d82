use super::*;

#[test]
fn months_parse_and_step() {
    let m = before_month("2020-12").unwrap();
    assert_eq!(m.to_string(), "2020-12");
    assert_eq!(m.next().to_string(), "2021-01");
    assert_eq!(m.start_ms(), Some(1_606_780_800_000));
    assert_eq!(m.next().start_ms(), Some(1_609_459_200_000));
    assert_eq!(
        Month::of_ms(1_609_459_199_999).map(|m| m.to_string()),
        Some("2020-12".into())
    );
}

#[test]
fn bad_or_unfinished_months_are_refused() {
    for bad in [
        "2020", "2020-13", "2020-00", "20-01", "2020-1", "2020/01", "x", "",
    ] {
        assert!(before_month(bad).is_err(), "{bad}");
    }
    let now = Month::of_ms(now_ms()).unwrap();
    // The current month is allowed as --before (every month before it
    // is over); the next one is not.
    assert!(before_month(&now.to_string()).is_ok());
    let err = before_month(&now.next().to_string()).unwrap_err();
    assert!(err.contains("not over yet"), "{err}");
    assert!(before_month(&now.next().next().to_string()).is_err());
}
