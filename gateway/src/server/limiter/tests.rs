use super::*;

#[test]
fn burst_of_count_then_refused_with_retry_after() {
    let l = Limiter::default();
    for _ in 0..3 {
        assert!(l.check("r", 3, Duration::from_secs(60), "A").is_ok());
    }
    let retry = l.check("r", 3, Duration::from_secs(60), "A").unwrap_err();
    assert!((1..=20).contains(&retry), "retry after {retry}");
}

#[test]
fn one_officer_never_slows_another() {
    let l = Limiter::default();
    for _ in 0..2 {
        l.check("r", 2, Duration::from_secs(60), "A").unwrap();
    }
    assert!(l.check("r", 2, Duration::from_secs(60), "A").is_err());
    assert!(l.check("r", 2, Duration::from_secs(60), "B").is_ok());
}

#[test]
fn shrink_keeps_officers_still_limited() {
    let l = Limiter::default();
    l.check("r", 1, Duration::from_secs(3600), "A").unwrap();
    l.shrink();
    assert!(l.check("r", 1, Duration::from_secs(3600), "A").is_err());
}

#[test]
fn a_changed_rate_takes_effect() {
    let l = Limiter::default();
    l.check("r", 1, Duration::from_secs(60), "A").unwrap();
    assert!(l.check("r", 1, Duration::from_secs(60), "A").is_err());
    assert!(l.check("r", 5, Duration::from_secs(60), "A").is_ok());
}
