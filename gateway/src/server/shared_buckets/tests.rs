use super::*;

#[test]
fn leases_are_small_for_slow_rates() {
    assert_eq!(lease_size(1), 1);
    assert_eq!(lease_size(30), 1);
    assert_eq!(lease_size(120), 3);
    assert_eq!(lease_size(100_000), MAX_LEASE);
}

#[test]
fn retry_after_rounds_up() {
    assert_eq!(retry_secs(Duration::from_millis(1)), 1);
    assert_eq!(retry_secs(Duration::from_millis(2001)), 3);
}
