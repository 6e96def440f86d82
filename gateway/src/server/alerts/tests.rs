use super::*;

#[test]
fn suspensions_end_on_time_and_a_later_end_wins() {
    let (a, _rx) = Alerts::new(4);
    let s = |until_ms| Suspension {
        until_ms,
        rule: "r".into(),
    };
    a.suspend("A", s(100));
    assert_eq!(a.suspended("A", 99).map(|s| s.until_ms), Some(100));
    assert_eq!(a.suspended("A", 100), None);
    assert_eq!(a.suspended("B", 0), None);
    a.suspend("A", s(50));
    assert_eq!(a.suspended("A", 0).map(|s| s.until_ms), Some(100));
    a.suspend("A", s(200));
    assert_eq!(a.suspended("A", 150).map(|s| s.until_ms), Some(200));
    assert!(a.lift("A"));
    assert!(!a.lift("A"));
    a.suspend("A", s(10));
    a.expire(10);
    assert!(a.suspended.read().unwrap().is_empty());
}

#[test]
fn a_full_queue_refuses_without_waiting() {
    let (a, mut rx) = Alerts::new(1);
    let ev = AlertEvent {
        officer: "A".into(),
        unit: String::new(),
        subject: None,
        decision: EventDecision::Deny,
        time_ms: 0,
        inquiry_id: "i".into(),
        weight: 1,
    };
    assert!(a.offer(ev.clone()));
    assert!(!a.offer(ev.clone()));
    assert_eq!(rx.try_recv().ok(), Some(ev));
}

/// The rebuild at start counts what the running gateway counted: an
/// inquiry's own data-plane entry, and a refusals summary as the refusals
/// it stands for (written past a certificate's refusal budget), never an
/// admin-plane or officer-less entry.
#[test]
fn only_an_inquirys_own_data_plane_entry_is_an_event() {
    let refused = audit::NewEntry {
        plane: "data".into(),
        officer_id: "HN-AMR-0009".into(),
        decision: audit::Decision::Deny,
        reason: "officer_expired".into(),
        ..audit::testing::sample(0)
    };
    let ev = event_of(&refused).expect("a refusal counts");
    assert_eq!(ev.decision, EventDecision::Deny);
    assert_eq!(ev.officer, "HN-AMR-0009");
    assert_eq!(ev.weight, 1);
    // A refusal summary stands for its count of refusals.
    let summary = audit::NewEntry {
        reason: "refusals_summarised".into(),
        rule: "refusal budget exceeded: 250 refused requests answered 429, inquiry ids a..b".into(),
        ..refused.clone()
    };
    let ev = event_of(&summary).expect("a summary counts");
    assert_eq!((ev.decision, ev.weight), (EventDecision::Deny, 250));
    let admin = audit::NewEntry {
        plane: "admin".into(),
        ..refused.clone()
    };
    assert_eq!(event_of(&admin), None);
    let nobody = audit::NewEntry {
        officer_id: String::new(),
        ..refused
    };
    assert_eq!(event_of(&nobody), None);
}

/// A poll reads back from where the last successful one started, not only
/// from now: after a pause longer than the look-back (an outside probe
/// stopped a gateway 65 s and it served a suspended officer) the entries
/// written during it are still read.
#[test]
fn a_poll_after_a_pause_reads_back_to_the_last_poll() {
    assert_eq!(poll_from(None, 100_000, 60_000), 40_000);
    assert_eq!(poll_from(Some(99_000), 100_000, 60_000), 39_000);
    // Paused 65 s: the alert written 2 s into the pause (at 102 000) is
    // read; from `now` alone (105 000) it would not be.
    let from = poll_from(Some(100_000), 165_000, 60_000);
    assert!(from <= 102_000, "{from}");
    assert!(poll_from(None, 165_000, 60_000) > 102_000);
    // A clock set back reads further back, never less.
    assert_eq!(poll_from(Some(100_000), 90_000, 60_000), 30_000);
    // After a very long pause, at most a day back (bounded reads).
    let day = 86_400_000;
    assert_eq!(poll_from(Some(0), 10 * day, 60_000), 9 * day - 60_000);
}
