//! Unit tests of the alert grammar and the sliding-window evaluator.

use super::*;

const H: i64 = 3_600_000;
/// 2026-12-07 (a Monday) 10:00 +08:00, in UTC ms.
const MON_10: i64 = 1_796_608_800_000;

fn rule(name: &str, kind: AlertKind, threshold: u32, window: &str) -> AlertRule {
    AlertRule {
        name: name.into(),
        kind,
        threshold,
        window: parse_duration(window).unwrap(),
        window_text: window.to_owned(),
        action: AlertAction::Alert,
        working: None,
    }
}

fn ev(
    officer: &str,
    unit: &str,
    subject: Option<&str>,
    d: EventDecision,
    t: i64,
    id: &str,
) -> AlertEvent {
    AlertEvent {
        officer: officer.into(),
        unit: unit.into(),
        subject: subject.map(Into::into),
        decision: d,
        time_ms: t,
        inquiry_id: id.into(),
        weight: 1,
    }
}

fn allow(officer: &str, subject: &str, t: i64, id: &str) -> AlertEvent {
    ev(officer, "U", Some(subject), EventDecision::Allow, t, id)
}

#[test]
fn durations_parse_and_print() {
    assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
    assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
    assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
    assert_eq!(parse_duration("7d"), Some(Duration::from_secs(7 * 86_400)));
    for bad in [
        "",
        "h",
        "0m",
        "-1h",
        "1",
        "1w",
        "1.5h",
        "1 h",
        "h1",
        "99999999999999999999d",
    ] {
        assert_eq!(parse_duration(bad), None, "{bad:?}");
    }
    for d in ["30s", "10m", "1h", "24h", "7d", "90s"] {
        let back = format_duration(parse_duration(d).unwrap());
        assert_eq!(parse_duration(&back), parse_duration(d));
    }
    assert_eq!(format_duration(Duration::from_secs(86_400)), "1d");
}

#[test]
fn hours_and_days_parse() {
    assert_eq!(WorkingTime::parse_hours("08:00-20:00"), Some((480, 1200)));
    assert_eq!(WorkingTime::parse_hours("22:00-06:00"), Some((1320, 360)));
    assert_eq!(WorkingTime::parse_hours("00:00-24:00"), Some((0, 1440)));
    for bad in [
        "8:00-20:00",
        "08:00",
        "08:00-08:00",
        "25:00-26:00",
        "08:60-20:00",
        "x",
    ] {
        assert_eq!(WorkingTime::parse_hours(bad), None, "{bad}");
    }
    let d = WorkingTime::parse_days("mon-fri").unwrap();
    assert_eq!(d, [true, true, true, true, true, false, false]);
    let d = WorkingTime::parse_days("sat,sun").unwrap();
    assert_eq!(d, [false, false, false, false, false, true, true]);
    let d = WorkingTime::parse_days("fri-mon").unwrap();
    assert_eq!(d, [true, false, false, false, true, true, true]);
    for bad in ["", "monday", "mon-", "mon,,tue", "Mon"] {
        assert_eq!(WorkingTime::parse_days(bad), None, "{bad}");
    }
}

#[test]
fn off_hours_are_read_in_the_platform_zone() {
    let w = WorkingTime {
        start_min: 8 * 60,
        end_min: 20 * 60,
        days: WorkingTime::parse_days("mon-fri").unwrap(),
    };
    let off = 8 * 3600;
    assert!(!w.outside(MON_10, off));
    // 07:59 and 20:00 Monday local are outside; 08:00 and 19:59 inside.
    assert!(w.outside(MON_10 - 2 * H - 60_000, off));
    assert!(!w.outside(MON_10 - 2 * H, off));
    assert!(!w.outside(MON_10 + 10 * H - 60_000, off));
    assert!(w.outside(MON_10 + 10 * H, off));
    // Saturday 10:00 local.
    assert!(w.outside(MON_10 + 5 * 24 * H, off));
    // The same instant in UTC is 02:00: outside.
    assert!(w.outside(MON_10, 0));
}

#[test]
fn distinct_subjects_fires_exactly_at_threshold_and_restarts() {
    let mut e = Evaluator::new(vec![rule("bulk", AlertKind::DistinctSubjects, 3, "1h")], 0);
    assert!(e.observe(&allow("A", "s1", MON_10, "i1")).is_empty());
    // Repeats of a subject and refusals do not count.
    assert!(e.observe(&allow("A", "s1", MON_10 + 1, "i2")).is_empty());
    assert!(e
        .observe(&ev(
            "A",
            "U",
            Some("s9"),
            EventDecision::Deny,
            MON_10 + 2,
            "i3"
        ))
        .is_empty());
    assert!(e.observe(&allow("A", "s2", MON_10 + 3, "i4")).is_empty());
    // Another officer's inquiries are counted apart.
    assert!(e.observe(&allow("B", "s3", MON_10 + 4, "i5")).is_empty());
    assert_eq!(e.count("bulk", "A"), 2);
    let f = e.observe(&allow("A", "s3", MON_10 + 5, "i6"));
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(
        (f.count, f.officer.as_str(), f.subject.as_deref()),
        (3, "A", None)
    );
    assert_eq!(
        (f.first_inquiry.as_str(), f.last_inquiry.as_str()),
        ("i1", "i6")
    );
    // Counted anew from that moment: old subjects count again.
    assert_eq!(e.count("bulk", "A"), 0);
    assert!(e.observe(&allow("A", "s1", MON_10 + 6, "i7")).is_empty());
    assert!(e.observe(&allow("A", "s2", MON_10 + 7, "i8")).is_empty());
    assert_eq!(e.observe(&allow("A", "s3", MON_10 + 8, "i9")).len(), 1);
}

#[test]
fn windows_slide_exactly() {
    let mut e = Evaluator::new(vec![rule("bulk", AlertKind::DistinctSubjects, 3, "1h")], 0);
    e.observe(&allow("A", "s1", MON_10, "i1"));
    e.observe(&allow("A", "s2", MON_10 + 10, "i2"));
    // s1 leaves the window exactly one hour after it came in.
    assert!(e.observe(&allow("A", "s3", MON_10 + H, "i3")).is_empty());
    assert_eq!(e.count("bulk", "A"), 2);
    // One millisecond before s2 leaves, a fourth subject makes three.
    let f = e.observe(&allow("A", "s4", MON_10 + 10 + H - 1, "i4"));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].first_inquiry, "i2");
    // A repeated subject keeps counting once while any occurrence is inside.
    let mut e = Evaluator::new(vec![rule("bulk", AlertKind::DistinctSubjects, 2, "1h")], 0);
    e.observe(&allow("A", "s1", MON_10, "i1"));
    e.observe(&allow("A", "s1", MON_10 + H / 2, "i2"));
    assert!(e.observe(&allow("A", "s2", MON_10 + H + 1, "i3")).len() == 1);
}

#[test]
fn refusals_fire_exactly_at_threshold() {
    let mut e = Evaluator::new(vec![rule("probing", AlertKind::Refusals, 3, "10m")], 0);
    let deny = |t, id| ev("A", "U", None, EventDecision::Deny, t, id);
    assert!(e.observe(&deny(MON_10, "d1")).is_empty());
    assert!(e.observe(&allow("A", "s", MON_10 + 1, "a1")).is_empty());
    assert!(e
        .observe(&ev("A", "U", None, EventDecision::Error, MON_10 + 1, "e1"))
        .is_empty());
    assert!(e.observe(&deny(MON_10 + 2, "d2")).is_empty());
    let f = e.observe(&deny(MON_10 + 3, "d3"));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].count, 3);
    // Expired refusals do not count.
    assert!(e.observe(&deny(MON_10 + 4, "d4")).is_empty());
    assert!(e.observe(&deny(MON_10 + 5, "d5")).is_empty());
    assert!(e.observe(&deny(MON_10 + 4 + 600_000, "d6")).is_empty());
}

#[test]
fn off_hours_fires_per_inquiry_outside_the_working_time() {
    let mut r = rule("night", AlertKind::OffHours, 1, "1h");
    r.working = Some(WorkingTime {
        start_min: 8 * 60,
        end_min: 20 * 60,
        days: WorkingTime::parse_days("mon-fri").unwrap(),
    });
    let mut e = Evaluator::new(vec![r], 8 * 3600);
    assert!(e.observe(&allow("A", "s", MON_10, "i1")).is_empty());
    let night = MON_10 + 12 * H;
    assert_eq!(e.observe(&allow("A", "s", night, "i2")).len(), 1);
    // Refused inquiries at night count too; every one fires (threshold 1).
    let f = e.observe(&ev("A", "U", None, EventDecision::Deny, night + 1, "i3"));
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].first_inquiry.as_str(), f[0].last_inquiry.as_str()),
        ("i3", "i3")
    );
}

#[test]
fn subject_units_counts_distinct_units_per_subject() {
    let mut e = Evaluator::new(vec![rule("hot", AlertKind::SubjectUnits, 3, "24h")], 0);
    let at = |unit: &str, officer: &str, t, id| {
        ev(officer, unit, Some("S"), EventDecision::Allow, t, id)
    };
    assert!(e.observe(&at("U1", "A", MON_10, "i1")).is_empty());
    assert!(e.observe(&at("U1", "B", MON_10 + 1, "i2")).is_empty());
    assert!(e.observe(&at("U2", "C", MON_10 + 2, "i3")).is_empty());
    assert!(e.observe(&at("", "D", MON_10 + 3, "i4")).is_empty());
    assert_eq!(e.count("hot", "S"), 2);
    let f = e.observe(&at("U3", "D", MON_10 + 4, "i5"));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].subject.as_deref(), Some("S"));
    assert_eq!(f[0].officer, "D");
}

#[test]
fn suspension_lift_and_rule_text() {
    let mut r = rule("bulk-lookup", AlertKind::DistinctSubjects, 2, "1h");
    r.action = AlertAction::Suspend(Duration::from_secs(4 * 3600));
    let mut e = Evaluator::new(vec![r], 0);
    e.observe(&allow("A", "s1", MON_10, "i1"));
    // A lift restarts the officer's windows.
    e.lift("A");
    assert!(e.observe(&allow("A", "s2", MON_10 + 1, "i2")).is_empty());
    let f = e.observe(&allow("A", "s3", MON_10 + 2, "i3"));
    // 4 h after the firing inquiry (2 ms past the minute), rounded up to a
    // whole second: the text says exactly when it ends.
    assert_eq!(f[0].suspend_until_ms, Some(MON_10 + 4 * H + 1000));
    let text = f[0].rule_text();
    assert_eq!(
        text,
        "bulk-lookup: distinct_subjects 2 within 1h, inquiries i2..i3, action suspend until 2026-12-07T06:00:01Z"
    );
    let back = AlertRecord::parse(&text).unwrap();
    assert_eq!(back.rule, "bulk-lookup");
    assert_eq!(back.kind, AlertKind::DistinctSubjects);
    assert_eq!(back.count, 2);
    assert_eq!(back.window, "1h");
    assert_eq!(
        (back.first_inquiry.as_str(), back.last_inquiry.as_str()),
        ("i2", "i3")
    );
    // Read back, the same instant the gateway that fired holds.
    assert_eq!(back.suspend_until_ms, f[0].suspend_until_ms);
    // The window as the policy spelled it: `24h` is not shown as `1d`.
    let mut e = Evaluator::new(
        vec![rule("hotspot", AlertKind::DistinctSubjects, 1, "24h")],
        0,
    );
    let f = e.observe(&allow("A", "s1", MON_10, "i1"));
    assert!(
        f[0].rule_text().contains(" within 24h,"),
        "{}",
        f[0].rule_text()
    );
    assert_eq!(AlertRecord::parse(&f[0].rule_text()).unwrap().window, "24h");
    assert_eq!(AlertRecord::parse("witness:w: conflict"), None);
    assert_eq!(
        parse_lift(&lift_text("HN-1", "checked: fine")),
        Some(("HN-1", "checked: fine"))
    );
}

#[test]
fn sweep_forgets_idle_keys_and_reload_keeps_unchanged_rules() {
    let rules = vec![
        rule("bulk", AlertKind::DistinctSubjects, 5, "1h"),
        rule("probing", AlertKind::Refusals, 500, "10m"),
    ];
    let mut e = Evaluator::new(rules.clone(), 0);
    for i in 0..100 {
        e.observe(&allow(&format!("O{i}"), "s", MON_10, "x"));
        e.observe(&ev("A", "U", None, EventDecision::Deny, MON_10, "y"));
    }
    assert_eq!(e.tracked(), 101);
    e.sweep(MON_10 + H);
    assert_eq!(e.tracked(), 0);
    e.observe(&allow("A", "s", MON_10 + H, "x"));
    e.observe(&ev("A", "U", None, EventDecision::Deny, MON_10 + H, "y"));
    let mut changed = rules;
    changed[1].threshold = 6;
    e.set_rules(changed, 0);
    assert_eq!(e.count("bulk", "A"), 1);
    assert_eq!(e.count("probing", "A"), 0);
}

/// A rule a reload adopts counts nothing made before its adoption; the
/// rules it keeps go on counting. `new_in` names the added and changed
/// rules, every rule when the evaluator has none yet.
#[test]
fn an_adopted_rule_counts_from_its_adoption_only() {
    let old = rule("old", AlertKind::Refusals, 2, "10m");
    let mut e = Evaluator::new(vec![old.clone()], 0);
    assert_eq!(
        Evaluator::default().new_in(std::slice::from_ref(&old), 0),
        ["old"]
    );
    let deny = |t, id| ev("A", "U", None, EventDecision::Deny, t, id);
    assert!(e.observe(&deny(MON_10, "d1")).is_empty());
    let added = rule("new", AlertKind::Refusals, 2, "10m");
    let changed = rule("old", AlertKind::Refusals, 3, "10m");
    assert_eq!(e.new_in(&[old.clone(), added.clone()], 0), ["new"]);
    assert_eq!(e.new_in(&[changed, added.clone()], 0), ["old", "new"]);
    assert_eq!(e.new_in(std::slice::from_ref(&old), 3600), ["old"]);
    e.set_rules(vec![old, added], 0);
    e.adopted_at("new", MON_10 + 10);
    // Made before the adoption (committed after it): `old` counts it, `new`
    // does not.
    let f = e.observe(&deny(MON_10 + 5, "d2"));
    assert_eq!(
        f.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
        ["old"]
    );
    assert!(e.observe(&deny(MON_10 + 10, "d3")).is_empty());
    let f = e.observe(&deny(MON_10 + 11, "d4"));
    assert_eq!(
        f.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
        ["old", "new"]
    );
    assert_eq!(f[1].first_inquiry, "d3");
    // The later of two adoptions stands.
    e.adopted_at("new", MON_10 + 20);
    e.adopted_at("new", MON_10 + 15);
    assert!(e.observe(&deny(MON_10 + 18, "d5")).is_empty());
    assert!(e.observe(&deny(MON_10 + 19, "d6")).len() == 1); // `old` only
    assert!(e.observe(&deny(MON_10 + 20, "d7")).is_empty());
    let f = e.observe(&deny(MON_10 + 21, "d8"));
    assert!(
        f.iter().any(|f| f.rule == "new" && f.first_inquiry == "d7"),
        "{f:?}"
    );
}

/// An event standing for several inquiries (a refusal summary) adds its
/// weight to a counting rule's window, at most one firing per event; a
/// distinct rule counts its value once.
#[test]
fn a_weighted_event_counts_its_weight() {
    let mut e = Evaluator::new(vec![rule("probing", AlertKind::Refusals, 10, "10m")], 0);
    let mut summary = ev("A", "U", None, EventDecision::Deny, MON_10, "s1");
    summary.weight = 7;
    assert!(e.observe(&summary).is_empty());
    let mut more = ev("A", "U", None, EventDecision::Deny, MON_10 + 1, "s2");
    more.weight = 250;
    let f = e.observe(&more);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].count, 257);
    assert_eq!(f[0].first_inquiry, "s1");
    // The window restarted: the weight past the threshold is not carried.
    assert!(e
        .observe(&ev("A", "U", None, EventDecision::Deny, MON_10 + 2, "d1"))
        .is_empty());
    // Weights expire with their event.
    let mut e = Evaluator::new(vec![rule("probing", AlertKind::Refusals, 10, "10m")], 0);
    let mut old = ev("A", "U", None, EventDecision::Deny, MON_10, "s1");
    old.weight = 9;
    assert!(e.observe(&old).is_empty());
    assert!(e
        .observe(&ev(
            "A",
            "U",
            None,
            EventDecision::Deny,
            MON_10 + 600_001,
            "d1"
        ))
        .is_empty());
}
