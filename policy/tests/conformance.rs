//! Conformance cases (conformance/cases/*.json) evaluated through the policy
//! crate alone: `inquiry::parse` then `decide` (and `decide_fetched_record`
//! for the record route) under conformance/policy.toml.

use std::collections::BTreeSet;
use std::path::Path;

use policy::inquiry::{self, RawRequest};
use policy::{decide, decide_fetched_record, Decision, Identity, Inquiry, Policy, Settings};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance");

fn policy() -> Policy {
    let key = std::fs::read(format!("{ROOT}/keys/consent-authority.pub")).unwrap();
    let settings = Settings {
        consent_public_key: Some(key),
        consent_max_days: 365,
        ..Settings::default()
    };
    Policy::load(Path::new(&format!("{ROOT}/policy.toml")), &settings).unwrap()
}

struct Case {
    name: String,
    json: Value,
}

fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = std::fs::read_dir(format!("{ROOT}/cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| Case {
            name: p.file_stem().unwrap().to_string_lossy().into_owned(),
            json: serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(out.len(), 20, "expected all 20 conformance cases");
    out
}

/// Parse one case: identity, inquiry and `now`; `Err(code)` for a parse refusal.
fn prepare(case: &Case) -> Result<(Identity, Inquiry, OffsetDateTime), &'static str> {
    let j = &case.json;
    let target = j["request"]["path"].as_str().unwrap();
    let (path, query) = inquiry::split_target(target);
    let headers = &j["request"]["headers"];
    let h = |name: &str| headers.get(name).and_then(Value::as_str).map(str::as_bytes);
    let raw = RawRequest {
        path,
        query,
        purpose: h("Inquiry-Purpose"),
        case: h("Inquiry-Case"),
        consent: h("Subject-Consent"),
    };
    let inquiry = inquiry::parse(&raw).map_err(|e| match e {
        inquiry::InquiryError::NotFound => "not_found",
        _ => "invalid_request",
    })?;
    let identity = Identity {
        officer_id: j["officer"].as_str().unwrap().to_owned(),
        name: String::new(),
        unit: String::new(),
        fingerprint: "00".repeat(32),
    };
    let now = OffsetDateTime::parse(j["now"].as_str().unwrap(), &Rfc3339).unwrap();
    Ok((identity, inquiry, now))
}

/// Parse and decide one case; `Err(code)` for a parse refusal.
fn run(case: &Case, policy: &Policy) -> Result<Decision, &'static str> {
    let (identity, inquiry, now) = prepare(case)?;
    Ok(decide(&identity, &inquiry, policy, now))
}

#[test]
fn refusal_cases_get_their_codes() {
    let policy = policy();
    let mut checked = 0;
    for case in cases() {
        let status = case.json["expect"]["status"].as_u64().unwrap();
        if status != 400 && status != 403 {
            continue;
        }
        let want = case.json["expect"]["code"].as_str().unwrap();
        let got = match run(&case, &policy) {
            Err(code) => code.to_owned(),
            Ok(Decision::Deny(d)) => {
                assert!(!d.rule.is_empty(), "{}: deny without a rule", case.name);
                d.reason.code().to_owned()
            }
            Ok(Decision::Allow(_)) => "allow".to_owned(),
        };
        assert_eq!(got, want, "case {}", case.name);
        checked += 1;
    }
    assert_eq!(checked, 13, "every 400/403 case checked");
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn allow(case_prefix: &str) -> Box<policy::Allow> {
    let policy = policy();
    let case = cases()
        .into_iter()
        .find(|c| c.name.starts_with(case_prefix))
        .unwrap();
    match run(&case, &policy) {
        Ok(Decision::Allow(a)) => a,
        other => panic!("case {}: expected allow, got {other:?}", case.name),
    }
}

#[test]
fn case_01_inspector_gets_role_items() {
    let a = allow("01_");
    assert_eq!(
        a.scope.items,
        set(&["basic", "administrative_penalty", "court_enforcement"])
    );
    assert!(a.scope.consent_fields.is_empty());
    assert_eq!(a.roles, vec!["market_inspector".to_owned()]);
    assert_eq!(a.consent_id, None);
    // the subject asked for, so the detectors leave the answer's subject.id
    assert_eq!(a.scope.asked_subject.as_deref(), Some("91430100MA4L0XXX1N"));
}

#[test]
fn cases_19_20_are_allowed_by_policy() {
    for prefix in ["19_", "20_"] {
        let a = allow(prefix);
        assert_eq!(
            a.scope.asked_subject.as_deref(),
            Some("91430100MA4L0XXX1N"),
            "{prefix}"
        );
    }
}

#[test]
fn case_11_credit_service_scope_is_role_and_token() {
    let a = allow("11_");
    assert_eq!(
        a.scope.items,
        set(&["basic", "administrative_penalty", "commendation"])
    );
    // Stored normalised (policy::keyname): `real_estate` is `realestate`.
    assert_eq!(a.scope.consent_fields, set(&["income", "realestate"]));
    assert_eq!(
        a.scope.consent_subject.as_deref(),
        Some("430102198506123011")
    );
    let id = a.consent_id.unwrap();
    assert_eq!(id.len(), 16);
}

#[test]
fn cases_16_17_18_are_allowed_by_policy() {
    for prefix in ["16_", "17_", "18_"] {
        let a = allow(prefix);
        assert_eq!(
            a.scope.items,
            set(&["basic", "administrative_penalty", "court_enforcement"]),
            "{prefix}"
        );
    }
}

#[test]
fn case_16_decided_again_for_the_fetched_subject() {
    let policy = policy();
    let case = cases()
        .into_iter()
        .find(|c| c.name.starts_with("16_"))
        .unwrap();
    let (who, inquiry, now) = prepare(&case).unwrap();
    match decide_fetched_record(&who, &inquiry, "91430100MA4L0XXX1N", &policy, now) {
        Decision::Allow(a) => {
            assert_eq!(
                a.scope.items,
                set(&["basic", "administrative_penalty", "court_enforcement"])
            );
            assert_eq!(a.roles, vec!["market_inspector".to_owned()]);
            assert_eq!(a.scope.beyond_inquiry_period, None);
            // the officer asked for a record: its subject's id is news to them
            assert_eq!(a.scope.asked_subject, None);
        }
        other => panic!("expected allow, got {other:?}"),
    }
    for (subject, code) in [
        ("430102198506123011", "subject_type_not_granted"),
        ("91430100MA4L0XXX1A", "subject_type_not_granted"),
    ] {
        match decide_fetched_record(&who, &inquiry, subject, &policy, now) {
            Decision::Deny(d) => assert_eq!(d.reason.code(), code),
            other => panic!("expected deny, got {other:?}"),
        }
    }
}

#[test]
fn case_11_token_serves_the_subject_route_with_basic() {
    let policy = policy();
    let case = cases()
        .into_iter()
        .find(|c| c.name.starts_with("11_"))
        .unwrap();
    let (who, mut inquiry, now) = prepare(&case).unwrap();
    inquiry.route = policy::Route::Subject {
        subject_id: "430102198506123011".into(),
        subject_type: policy::SubjectType::NaturalPerson,
    };
    match decide(&who, &inquiry, &policy, now) {
        Decision::Allow(a) => assert!(a.scope.items.contains("basic")),
        other => panic!("expected allow, got {other:?}"),
    }
}
