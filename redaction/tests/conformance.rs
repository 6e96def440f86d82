//! The conformance cases that reach the redactor, run through `apply` with the
//! scope `policy::decide` would build, compared to `expect.body` and
//! `expect.audit`.

use std::collections::{BTreeMap, BTreeSet};

use policy::Scope;
use redaction::{apply, testing, RedactionError, Report, Suppression};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance/cases");

fn load(name: &str) -> Value {
    let path = format!("{CASES}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn now(case: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(case["now"].as_str().unwrap(), &Rfc3339).unwrap()
}

/// The scope policy grants for the case's officer (and consent token),
/// with the subject a subject route asks for.
fn scope_for(case: &Value) -> Scope {
    let mut scope = match case["officer"].as_str().unwrap() {
        "HN-AMR-0001" => testing::inspector(),
        "CS-RATE-0007" => testing::rating_agency_with_consent(),
        other => panic!("no scope written for officer {other}"),
    };
    let path = case["request"]["path"].as_str().unwrap();
    scope.asked_subject = path
        .strip_prefix("/v1/subjects/")
        .map(|rest| rest.split(['/', '?']).next().unwrap().to_owned());
    scope
}

fn run(case: &Value) -> Result<(Value, Report), RedactionError> {
    let upstream = &case["upstream"];
    let bytes = match upstream.get("raw") {
        Some(raw) => raw.as_str().unwrap().as_bytes().to_vec(),
        None => serde_json::to_vec(&upstream["body"]).unwrap(),
    };
    let (out, report) = apply(&bytes, &scope_for(case), now(case))?;
    Ok((serde_json::from_slice(&out).unwrap(), report))
}

fn lower_set(values: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    values.into_iter().map(|v| v.to_lowercase()).collect()
}

fn expected_keys(audit: &Value, field: &str) -> BTreeSet<String> {
    lower_set(
        audit[field]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    )
}

fn check_body_case(name: &str) {
    let case = load(name);
    let (body, report) = run(&case).unwrap();
    let expect = &case["expect"];
    assert_eq!(body, expect["body"], "{name}: body");

    let audit = &expect["audit"];
    assert_eq!(
        u64::from(report.records_returned),
        audit["records_returned"].as_u64().unwrap(),
        "{name}: records_returned"
    );
    let suppressed: BTreeMap<String, u64> = report
        .records_suppressed
        .iter()
        .map(|(reason, n)| (reason.as_str().to_owned(), u64::from(*n)))
        .collect();
    let expected: BTreeMap<String, u64> = audit["records_suppressed"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(suppressed, expected, "{name}: records_suppressed");
    assert_eq!(
        lower_set(report.removed_keys.clone()),
        expected_keys(audit, "removed_keys"),
        "{name}: removed_keys"
    );
    // A case that does not list masked keys leaves them open (case 19
    // masks by value and by key; only the body is specified).
    if audit.get("masked_keys").is_some() {
        assert_eq!(
            lower_set(report.masked_keys.clone()),
            expected_keys(audit, "masked_keys"),
            "{name}: masked_keys"
        );
    }
    assert_eq!(
        u64::from(report.objection_labeled),
        audit["objection_labeled"].as_u64().unwrap_or(0),
        "{name}: objection_labeled"
    );
    let subject = &case["upstream"]["body"]["subject"];
    assert_eq!(report.subject_id.as_deref(), subject["id"].as_str());
    assert_eq!(report.subject_type.as_deref(), subject["type"].as_str());
}

#[test]
fn case_01_inspector_records_legal_person() {
    check_body_case("01_inspector_records_legal_person.json");
}

#[test]
fn case_11_credit_service_with_consent() {
    check_body_case("11_credit_service_with_consent.json");
}

#[test]
fn case_19_spellings_and_free_text() {
    check_body_case("19_spellings_and_free_text.json");
}

/// Every case with an expected body is one of the cases above: a new one
/// must get a test, not be skipped.
#[test]
fn every_body_case_is_covered() {
    let mut with_body: Vec<String> = std::fs::read_dir(CASES)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .filter(|name| load(name)["expect"].get("body").is_some())
        .collect();
    with_body.sort();
    assert_eq!(
        with_body,
        [
            "01_inspector_records_legal_person.json",
            "11_credit_service_with_consent.json",
            "19_spellings_and_free_text.json"
        ]
    );
}

fn check_single_record_refusal(name: &str, reason: Suppression) {
    let case = load(name);
    let (body, report) = run(&case).unwrap();
    assert_eq!(report.records_returned, 0, "{name}");
    assert_eq!(body["records"], serde_json::json!([]), "{name}");
    assert_eq!(report.records_suppressed.get(&reason), Some(&1), "{name}");
    assert_eq!(report.single_record_refusal(), Some(reason), "{name}");
    // The status and error code the case expects are the gateway's mapping
    // of `reason` (checked in gateway::server::error and end to end).
}

#[test]
fn case_16_record_expired_direct_fetch() {
    check_single_record_refusal("16_record_expired_direct_fetch.json", Suppression::Expired);
}

#[test]
fn case_17_record_restored_direct_fetch() {
    check_single_record_refusal(
        "17_record_restored_direct_fetch.json",
        Suppression::Restored,
    );
}

#[test]
fn case_18_upstream_not_json() {
    let case = load("18_upstream_not_json.json");
    assert_eq!(run(&case).unwrap_err(), RedactionError::NotJson);
    assert_eq!(case["expect"]["status"], 502);
}
