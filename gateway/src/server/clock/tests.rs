use super::*;

#[test]
fn a_manual_clock_stands_still_until_set_and_clones_share_it() {
    let at = time::macros::datetime!(2026-11-22 00:00 UTC);
    let clock = Clock::manual(at);
    let other = clock.clone();
    assert!(!clock.is_system());
    assert_eq!(clock.now(), at);
    let later = at + time::Duration::days(400);
    other.set(later);
    assert_eq!(clock.now(), later);
}

#[test]
fn the_system_clock_follows_real_time_and_ignores_set() {
    let clock = Clock::default();
    assert!(clock.is_system());
    clock.set(time::macros::datetime!(2000-01-01 00:00 UTC));
    let drift = (clock.now() - OffsetDateTime::now_utc()).abs();
    assert!(drift < time::Duration::seconds(5), "{drift}");
}
