use super::*;

fn who(fp: &str) -> Identity {
    Identity {
        officer_id: "HN-1".into(),
        name: "n".into(),
        unit: "u".into(),
        fingerprint: fp.into(),
    }
}

#[test]
fn burst_then_rate_per_certificate() {
    let b = RefusalBudget::new(5, Duration::from_secs(1), 10);
    let t0 = Instant::now();
    for _ in 0..10 {
        assert!(b.admit("a", t0).is_ok());
    }
    assert_eq!(b.admit("a", t0), Err(1));
    // another certificate has its own bucket
    assert!(b.admit("b", t0).is_ok());
    // 5 per second: one token every 200 ms
    assert!(b.admit("a", t0 + Duration::from_millis(150)).is_err());
    assert!(b.admit("a", t0 + Duration::from_millis(210)).is_ok());
    assert!(b.admit("a", t0 + Duration::from_millis(220)).is_err());
    // refills to the burst, not beyond
    let later = t0 + Duration::from_secs(60);
    for _ in 0..10 {
        assert!(b.admit("a", later).is_ok());
    }
    assert!(b.admit("a", later).is_err());
}

#[test]
fn a_slow_rate_asks_to_retry_after_its_refill() {
    let b = RefusalBudget::new(1, Duration::from_secs(60), 1);
    let t0 = Instant::now();
    assert!(b.admit("a", t0).is_ok());
    assert_eq!(b.admit("a", t0), Err(60));
}

#[test]
fn summaries_count_every_refusal_with_first_and_last_ids() {
    let b = RefusalBudget::new(1, Duration::from_secs(1), 1);
    b.summarise(&who("a"), "data", "id-1", 1);
    b.summarise(&who("a"), "data", "id-2", 2);
    b.summarise(&who("b"), "admin", "id-3", 3);
    b.summarise(&who("a"), "data", "id-4", 4);
    let mut got = b.take();
    got.sort_by(|x, y| x.identity.fingerprint.cmp(&y.identity.fingerprint));
    assert_eq!(got.len(), 2, "one summary per certificate");
    assert_eq!(
        (got[0].count, got[0].first.as_str(), got[0].last.as_str()),
        (3, "id-1", "id-4")
    );
    assert_eq!(
        got[0].rule(),
        "refusal budget exceeded: 3 refused requests answered 429, inquiry ids id-1..id-4"
    );
    assert_eq!((got[1].count, got[1].plane), (1, "admin"));
    assert!(b.take().is_empty());
    // a summary that could not be committed comes back, merged
    b.summarise(&who("a"), "data", "id-5", 5);
    b.restore(got.remove(0));
    let again = b.take();
    assert_eq!(
        (
            again[0].count,
            again[0].first.as_str(),
            again[0].last.as_str()
        ),
        (4, "id-1", "id-5")
    );
}

#[test]
fn full_idle_buckets_are_dropped() {
    let b = RefusalBudget::new(10, Duration::from_secs(1), 10);
    let t0 = Instant::now();
    let _ = b.admit("a", t0);
    let _ = b.admit("b", t0 + Duration::from_secs(5));
    b.shrink(t0 + Duration::from_millis(5500));
    assert_eq!(b.tracked(), 1);
}

/// The summary's rule text is what the log API reads `count`,
/// `first_inquiry` and `last_inquiry` back from.
#[test]
fn the_summary_rule_reads_back() {
    let p = Pending {
        identity: who("ab"),
        plane: "data",
        count: 97,
        first: "0190aa".into(),
        last: "0190bb".into(),
        last_ms: 0,
    };
    assert_eq!(
        crate::audit_api::refusal_summary(&p.rule()),
        Some((97, "0190aa", "0190bb"))
    );
}
