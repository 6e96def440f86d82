//! Fixtures for tests and benches (feature `testing`, off in the product):
//! a sample [`NewEntry`].

use std::collections::BTreeMap;

use crate::{Decision, NewEntry};

/// A fully populated entry, number `i`: an allowed data-plane inquiry of
/// HN-AMR-0001 about a legal person at `1_780_000_000_000 + i` ms, with
/// records returned, suppressed, removed and masked. Tests, benches and
/// other crates' tests derive theirs from it (`..sample(i)`), setting only
/// the fields they need otherwise.
pub fn sample(i: u64) -> NewEntry {
    let mut suppressed = BTreeMap::new();
    suppressed.insert("inquiry_period_expired".to_owned(), 2);
    suppressed.insert("credit_restored".to_owned(), 1);
    NewEntry {
        time_ms: 1_780_000_000_000 + i as i64,
        inquiry_id: format!("inq-{i}"),
        plane: "data".into(),
        officer_id: "HN-AMR-0001".into(),
        officer_name: "Li Na".into(),
        unit: "Hunan AMR".into(),
        cert_fingerprint: "ab".repeat(32),
        purpose: Some("administrative_permit".into()),
        case: Some("CASE-1".into()),
        consent_id: None,
        method: "GET".into(),
        path: "/v1/subjects/91350100M000100Y43".into(),
        subject_id: Some("91350100M000100Y43".into()),
        subject_type: Some("legal_person".into()),
        items_requested: vec!["basic".into(), "administrative_penalty".into()],
        decision: Decision::Allow,
        reason: "ok".into(),
        rule: "role:market_inspector".into(),
        statutory_basis: None,
        status: 200,
        records_returned: 3,
        records_suppressed: suppressed,
        removed_keys: vec!["religion".into()],
        masked_keys: vec!["id_number".into()],
        objection_labeled: 1,
        upstream_status: Some(200),
        latency_ms: 12,
    }
}
