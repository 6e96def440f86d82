use super::*;

#[test]
fn empty_histogram_has_no_percentiles() {
    let h = Histogram::new();
    assert_eq!(h.count(), 0);
    assert_eq!(h.percentile(50.0), None);
    assert_eq!(h.min(), None);
    assert_eq!(h.max(), None);
    assert_eq!(h.mean(), None);
}

#[test]
fn small_values_are_exact() {
    let mut h = Histogram::new();
    for v in 1..=100 {
        h.record(v);
    }
    assert_eq!(h.percentile(50.0), Some(50));
    assert_eq!(h.percentile(90.0), Some(90));
    assert_eq!(h.percentile(99.0), Some(99));
    assert_eq!(h.percentile(100.0), Some(100));
    assert_eq!(h.percentile(0.0), Some(1));
    assert_eq!(h.min(), Some(1));
    assert_eq!(h.mean(), Some(50.5));
}

#[test]
fn buckets_cover_every_value_once_and_in_order() {
    let mut previous_high = None;
    for index in 0..BUCKETS {
        let (low, high) = bucket_range(index);
        assert!(low <= high);
        if let Some(prev) = previous_high {
            assert_eq!(low, prev + 1, "gap before bucket {index}");
        }
        assert_eq!(bucket_of(low), index);
        assert_eq!(bucket_of(high), index);
        previous_high = Some(high);
    }
    assert_eq!(previous_high, Some(u64::MAX));
}

#[test]
fn large_values_stay_within_one_percent() {
    for v in [257u64, 1_000, 12_345, 999_999, 3_600_000_000, u64::MAX / 3] {
        let mut h = Histogram::new();
        h.record(1);
        h.record(v);
        let got = h.percentile(100.0).unwrap();
        assert_eq!(got, v, "the top percentile is clamped to the exact max");
        let (low, high) = bucket_range(bucket_of(v));
        let err = (high - low) as f64 / low as f64;
        assert!(err < 0.008, "bucket of {v} too wide: {low}..{high}");
    }
}

#[test]
fn percentiles_of_a_uniform_spread() {
    let mut h = Histogram::new();
    for v in 1..=100_000u64 {
        h.record(v);
    }
    let close = |got: u64, want: f64| (got as f64 - want).abs() / want < 0.01;
    assert!(close(h.percentile(50.0).unwrap(), 50_000.0));
    assert!(close(h.percentile(90.0).unwrap(), 90_000.0));
    assert!(close(h.percentile(99.0).unwrap(), 99_000.0));
    assert!(close(h.percentile(99.9).unwrap(), 99_900.0));
    assert_eq!(h.max(), Some(100_000));
}

#[test]
fn a_slow_tail_shows_in_p99_but_not_p50() {
    let mut h = Histogram::new();
    for _ in 0..980 {
        h.record(200);
    }
    for _ in 0..20 {
        h.record(50_000);
    }
    assert_eq!(h.percentile(50.0), Some(200));
    assert_eq!(h.percentile(98.0), Some(200));
    let p99 = h.percentile(99.0).unwrap();
    assert!((49_700..=50_000).contains(&p99), "p99 = {p99}");
}

#[test]
fn merge_equals_recording_everything_in_one() {
    let mut a = Histogram::new();
    let mut b = Histogram::new();
    let mut all = Histogram::new();
    for v in 0..5_000u64 {
        let x = v * 37 % 20_011;
        if v % 2 == 0 {
            a.record(x);
        } else {
            b.record(x);
        }
        all.record(x);
    }
    a.merge(&b);
    assert_eq!(a.count(), all.count());
    for p in [1.0, 50.0, 90.0, 99.0, 99.9, 100.0] {
        assert_eq!(a.percentile(p), all.percentile(p));
    }
    assert_eq!(a.min(), all.min());
    assert_eq!(a.max(), all.max());
    assert_eq!(a.mean(), all.mean());
}

#[test]
fn merging_an_empty_histogram_changes_nothing() {
    let mut a = Histogram::new();
    a.record(42);
    a.merge(&Histogram::new());
    assert_eq!(a.min(), Some(42));
    assert_eq!(a.max(), Some(42));
    assert_eq!(a.count(), 1);
}
