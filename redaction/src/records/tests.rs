use serde_json::{json, Value};
use time::macros::{date, datetime};

use super::*;
use crate::testing::inspector;
use crate::testutil::{from_value, to_value};

/// `filter` on `body` (an object) through a document; the result is
/// written back to `body`.
fn filter_value(
    body: &mut Value,
    scope: &Scope,
    now: OffsetDateTime,
    report: &mut Report,
) -> Result<(), RedactionError> {
    let mut doc = from_value(body);
    let Node::Object(span) = *doc.node(doc.root()) else {
        panic!("body is not an object");
    };
    let result = filter(&mut doc, span, &Judge::new(scope, now), report).map(drop);
    *body = to_value(&doc);
    result
}

/// `count` on `body` (an object) through a document.
fn count_value(body: &Value, fields: &RecordFields) -> u32 {
    let doc = from_value(body);
    let Node::Object(span) = *doc.node(doc.root()) else {
        panic!("body is not an object");
    };
    count(&doc, span, fields)
}

/// `parse_date` on `value` through a document.
fn parse_date_value(value: &Value) -> Option<Date> {
    let doc = from_value(value);
    parse_date(doc.node(doc.root()))
}

fn run(scope: &Scope, records: Value, now: OffsetDateTime) -> (Vec<String>, Report) {
    let mut body = json!({ "records": records });
    let mut report = Report::default();
    filter_value(&mut body, scope, now, &mut report).unwrap();
    let ids = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, report)
}

fn suppressed(report: &Report, reason: Suppression) -> u32 {
    report.records_suppressed.get(&reason).copied().unwrap_or(0)
}

// 2024-01-01 + 1095 days = 2026-12-31: the period ends at
// 2026-12-31T00:00+08:00 = 2026-12-30T16:00Z.
fn penalty(decided_on: &str) -> Value {
    json!({"id": "r", "item": "administrative_penalty", "decided_on": decided_on})
}

#[test]
fn period_end_adds_days() {
    assert_eq!(
        period_end(Some(date!(2024 - 01 - 01)), None, 1095),
        Some(date!(2026 - 12 - 31))
    );
}

#[test]
fn later_punishment_extends_period() {
    assert_eq!(
        period_end(
            Some(date!(2024 - 01 - 01)),
            Some(date!(2027 - 03 - 01)),
            1095
        ),
        Some(date!(2027 - 03 - 01))
    );
}

#[test]
fn earlier_punishment_does_not_shorten_period() {
    assert_eq!(
        period_end(
            Some(date!(2024 - 01 - 01)),
            Some(date!(2025 - 01 - 01)),
            1095
        ),
        Some(date!(2026 - 12 - 31))
    );
}

#[test]
fn missing_decided_on_has_no_period() {
    assert_eq!(period_end(None, Some(date!(2099 - 01 - 01)), 1095), None);
}

#[test]
fn huge_period_saturates() {
    assert_eq!(
        period_end(Some(date!(9999 - 01 - 01)), None, u32::MAX),
        Some(Date::MAX)
    );
}

#[test]
fn dates_parse_strictly() {
    assert_eq!(
        parse_date_value(&json!("2024-02-29")),
        Some(date!(2024 - 02 - 29))
    );
    assert_eq!(
        parse_date_value(&json!("0000-01-01")),
        Some(date!(0000 - 01 - 01))
    );
    for bad in [
        json!("2023-02-29"),
        json!("2024-1-01"),
        json!("2024-13-01"),
        json!("2024-00-10"),
        json!("2024-01-32"),
        json!("2024/01/01"),
        json!(" 2024-01-01"),
        json!("2024-01-01T00:00:00Z"),
        json!("+024-01-01"),
        json!("２０２４-01-01"),
        json!("yesterday"),
        json!(20240101),
        json!(null),
    ] {
        assert_eq!(parse_date_value(&bad), None, "{bad}");
    }
}

#[test]
fn unparseable_decided_on_fails_closed() {
    let scope = inspector();
    let now = datetime!(2026-11-22 00:00 UTC);
    for bad in [
        json!("2026-1-1"),
        json!("yesterday"),
        json!(20260101),
        json!(null),
    ] {
        let record = json!({"id": "r", "item": "administrative_penalty",
                            "decided_on": bad, "punishment_ends": "2099-01-01"});
        let (ids, report) = run(&scope, json!([record]), now);
        assert!(ids.is_empty(), "{bad}");
        assert_eq!(suppressed(&report, Suppression::Expired), 1);
    }
}

#[test]
fn unparseable_punishment_ends_is_ignored() {
    let scope = inspector();
    let record = json!({"id": "r", "item": "administrative_penalty",
                        "decided_on": "2024-01-01", "punishment_ends": "forever"});
    let (ids, _) = run(
        &scope,
        json!([record.clone()]),
        datetime!(2026-12-30 15:59 UTC),
    );
    assert_eq!(ids, ["r"]);
    let (ids, _) = run(&scope, json!([record]), datetime!(2026-12-30 16:00 UTC));
    assert!(ids.is_empty());
}

#[test]
fn boundary_at_midnight_in_plus_eight() {
    let scope = inspector();
    let before = datetime!(2026-12-30 15:59:59.999_999_999 UTC);
    let at = datetime!(2026-12-30 16:00 UTC);
    let day_after = datetime!(2027-01-01 00:00 +08:00);
    let (ids, _) = run(&scope, json!([penalty("2024-01-01")]), before);
    assert_eq!(ids, ["r"]);
    let (ids, report) = run(&scope, json!([penalty("2024-01-01")]), at);
    assert!(ids.is_empty());
    assert_eq!(suppressed(&report, Suppression::Expired), 1);
    let (ids, _) = run(&scope, json!([penalty("2024-01-01")]), day_after);
    assert!(ids.is_empty());
}

#[test]
fn boundary_with_later_punishment_ends() {
    let scope = inspector();
    let mut record = penalty("2024-01-01");
    record["punishment_ends"] = json!("2027-03-01");
    // Old end passes, record still served until 2027-03-01T00:00+08:00.
    let (ids, _) = run(
        &scope,
        json!([record.clone()]),
        datetime!(2027-01-15 00:00 UTC),
    );
    assert_eq!(ids, ["r"]);
    let (ids, _) = run(
        &scope,
        json!([record.clone()]),
        datetime!(2027-02-28 23:59:59 +08:00),
    );
    assert_eq!(ids, ["r"]);
    let (ids, _) = run(
        &scope,
        json!([record.clone()]),
        datetime!(2027-03-01 00:00 +08:00),
    );
    assert!(ids.is_empty());
    let (ids, _) = run(&scope, json!([record]), datetime!(2027-03-02 00:00 +08:00));
    assert!(ids.is_empty());
}

#[test]
fn boundary_with_earlier_punishment_ends() {
    let scope = inspector();
    let mut record = penalty("2024-01-01");
    record["punishment_ends"] = json!("2025-06-30");
    let (ids, _) = run(
        &scope,
        json!([record.clone()]),
        datetime!(2026-12-30 23:59:59 +08:00),
    );
    assert_eq!(ids, ["r"]);
    let (ids, _) = run(&scope, json!([record]), datetime!(2026-12-31 00:00 +08:00));
    assert!(ids.is_empty());
}

#[test]
fn boundary_in_another_zone() {
    let mut rules = crate::testing::rules();
    rules.utc_offset_seconds = -5 * 3600;
    let scope = crate::testing::scope_with(rules, &["administrative_penalty"], &[]);
    // Ends at 2026-12-31T00:00-05:00 = 2026-12-31T05:00Z.
    let at_plus_eight_end = datetime!(2026-12-30 16:00 UTC);
    let (ids, _) = run(&scope, json!([penalty("2024-01-01")]), at_plus_eight_end);
    assert_eq!(ids, ["r"], "still served in -05:00 when +08:00 has ended");
    let before = datetime!(2026-12-31 04:59:59 UTC);
    let (ids, _) = run(&scope, json!([penalty("2024-01-01")]), before);
    assert_eq!(ids, ["r"]);
    let at = datetime!(2026-12-31 00:00 -05:00);
    let (ids, _) = run(&scope, json!([penalty("2024-01-01")]), at);
    assert!(ids.is_empty());
}

#[test]
fn extreme_offsets_do_not_panic() {
    for offset in [i32::MIN, i32::MAX, 0] {
        let end = period_end_instant(Date::MIN, offset);
        let _ = end < OffsetDateTime::UNIX_EPOCH;
        let end = period_end_instant(Date::MAX, offset);
        let _ = end < OffsetDateTime::UNIX_EPOCH;
    }
}

#[test]
fn beyond_inquiry_period_keeps_expired_but_not_restored() {
    let mut scope = inspector();
    scope.beyond_inquiry_period = Some("statute".to_owned());
    let records = json!([
        penalty("2000-01-01"),
        {"id": "gone", "item": "administrative_penalty", "decided_on": "2026-01-01", "restored": true},
    ]);
    let (ids, report) = run(&scope, records, datetime!(2026-11-22 00:00 UTC));
    assert_eq!(ids, ["r"]);
    assert_eq!(suppressed(&report, Suppression::Restored), 1);
}

#[test]
fn missing_decided_on_is_expired() {
    let scope = inspector();
    let records = json!([{"id": "r", "item": "administrative_penalty"}]);
    let (ids, report) = run(&scope, records, datetime!(2026-11-22 00:00 UTC));
    assert!(ids.is_empty());
    assert_eq!(suppressed(&report, Suppression::Expired), 1);
}

#[test]
fn check_order_not_granted_restored_expired_withheld() {
    let scope = crate::testing::scope_with(
        crate::testing::rules(),
        &["administrative_penalty", "commendation"],
        &[],
    );
    let now = datetime!(2026-11-22 00:00 UTC);
    let records = json!([
        // Not granted beats everything.
        {"id": "1", "item": "court_enforcement", "decided_on": "1990-01-01", "restored": true},
        // Restored beats expired.
        {"id": "2", "item": "administrative_penalty", "decided_on": "1990-01-01", "restored": true},
        {"id": "3", "item": "administrative_penalty", "decided_on": "1990-01-01"},
        {"id": "4", "item": "commendation", "withheld_by_subject": true},
        // Withheld only applies to positive items; restored only to untrustworthy.
        {"id": "5", "item": "administrative_penalty", "decided_on": "2026-01-01", "withheld_by_subject": true},
        {"id": "6", "item": "commendation", "restored": true},
        // Unknown item, item not a string, no item: not granted.
        {"id": "7", "item": "mystery"},
        {"id": "8", "item": 7},
        {"id": "9"},
    ]);
    let (ids, report) = run(&scope, records, now);
    assert_eq!(ids, ["5", "6"]);
    assert_eq!(suppressed(&report, Suppression::NotGranted), 4);
    assert_eq!(suppressed(&report, Suppression::Restored), 1);
    assert_eq!(suppressed(&report, Suppression::Expired), 1);
    assert_eq!(suppressed(&report, Suppression::Withheld), 1);
}

#[test]
fn item_granted_in_scope_but_unknown_to_catalogue_is_not_granted() {
    let scope = crate::testing::scope_with(crate::testing::rules(), &["mystery"], &[]);
    let (ids, report) = run(
        &scope,
        json!([{"id": "1", "item": "mystery"}]),
        datetime!(2026-11-22 00:00 UTC),
    );
    assert!(ids.is_empty());
    assert_eq!(suppressed(&report, Suppression::NotGranted), 1);
}

#[test]
fn field_spellings_in_other_case_are_read_and_fail_closed() {
    let scope = inspector();
    let now = datetime!(2026-11-22 00:00 UTC);
    let records = json!([
        {"id": "1", "ITEM": "administrative_penalty", "Decided_On": "2026-01-01", "Restored": true},
        {"id": "2", "item": "administrative_penalty", "decided_on": "2026-01-01",
         "restored": false, "RESTORED": true},
        {"id": "3", "item": "administrative_penalty", "decided_on": "2026-01-01",
         "DECIDED_ON": "2001-01-01"},
        {"id": "4", "item": "basic", "Item": "administrative_penalty"},
        {"id": "5", "Item": "basic"},
    ]);
    let (ids, report) = run(&scope, records, now);
    assert_eq!(ids, ["5"]);
    assert_eq!(suppressed(&report, Suppression::Restored), 2);
    assert_eq!(suppressed(&report, Suppression::Expired), 1);
    assert_eq!(suppressed(&report, Suppression::NotGranted), 1);
}

#[test]
fn objection_pending_is_labelled() {
    let scope = inspector();
    let mut body = json!({"records": [
        {"id": "1", "item": "basic", "objection": "pending"},
        {"id": "2", "item": "basic", "objection": " None "},
        {"id": "3", "item": "basic"},
    ]});
    let mut report = Report::default();
    filter_value(
        &mut body,
        &scope,
        datetime!(2026-11-22 00:00 UTC),
        &mut report,
    )
    .unwrap();
    assert_eq!(report.objection_labeled, 1);
    assert_eq!(
        body["records"][0]["objection_notice"],
        "under objection review"
    );
    assert!(body["records"][1].get("objection_notice").is_none());
    assert!(body["records"][2].get("objection_notice").is_none());
}

#[test]
fn records_must_be_an_array_of_objects() {
    let scope = inspector();
    let now = datetime!(2026-11-22 00:00 UTC);
    for bad in [
        json!({"records": {}}),
        json!({"records": [1]}),
        json!({"Records": "x"}),
    ] {
        let mut body = bad;
        let err = filter_value(&mut body, &scope, now, &mut Report::default());
        assert!(matches!(err, Err(RedactionError::Shape(_))));
    }
}

#[test]
fn every_spelling_of_the_records_key_is_filtered() {
    let scope = inspector();
    let mut body = json!({
        "records": [{"id": "1", "item": "commendation"}],
        "RECORDS": [{"id": "2", "item": "commendation"}, {"id": "3", "item": "basic"}],
    });
    let mut report = Report::default();
    filter_value(
        &mut body,
        &scope,
        datetime!(2026-11-22 00:00 UTC),
        &mut report,
    )
    .unwrap();
    assert_eq!(body["records"], json!([]));
    assert_eq!(body["RECORDS"], json!([{"id": "3", "item": "basic"}]));
    assert_eq!(suppressed(&report, Suppression::NotGranted), 2);
    assert_eq!(count_value(&body, &RecordFields::default()), 1);
}

#[test]
fn configured_field_names_are_honoured_in_any_case() {
    let mut rules = crate::testing::rules();
    rules.record_fields = RecordFields {
        records: "Entries".to_owned(),
        item: "Kind".to_owned(),
        decided_on: "决定日期".to_owned(),
        punishment_ends: "ends".to_owned(),
        restored: "Repaired".to_owned(),
        objection: "dispute".to_owned(),
        withheld_by_subject: "hidden".to_owned(),
    };
    let scope = crate::testing::scope_with(rules, &["administrative_penalty", "commendation"], &[]);
    let mut body = json!({"ENTRIES": [
        {"id": "1", "KIND": "administrative_penalty", "决定日期": "2026-01-01", "DISPUTE": "pending"},
        {"id": "2", "kind": "administrative_penalty", "决定日期": "2001-01-01"},
        {"id": "3", "kind": "administrative_penalty", "决定日期": "2026-01-01", "repaired": true},
        {"id": "4", "kind": "commendation", "Hidden": true},
        {"id": "5", "kind": "administrative_penalty", "决定日期": "2001-01-01", "Ends": "2030-01-01"},
    ]});
    let mut report = Report::default();
    filter_value(
        &mut body,
        &scope,
        datetime!(2026-11-22 00:00 UTC),
        &mut report,
    )
    .unwrap();
    let ids: Vec<&str> = body["ENTRIES"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "5"]);
    assert_eq!(report.objection_labeled, 1);
    assert_eq!(suppressed(&report, Suppression::Expired), 1);
    assert_eq!(suppressed(&report, Suppression::Restored), 1);
    assert_eq!(suppressed(&report, Suppression::Withheld), 1);
}
