//! Shared by the integration tests and benches: the conformance policy
//! (`conformance/policy.toml`) written out as [`policy::Rules`], and scopes
//! built on it as `policy::decide` would build them.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use policy::{Category, ItemRule, Mask, RecordFields, Rules, Scope};

/// A set of owned strings.
pub(crate) fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// `conformance/policy.toml` as compiled rules: items with categories and
/// periods, field lists, masks, default record fields, +08:00.
pub(crate) fn rules() -> Rules {
    let item = |category, days| ItemRule {
        category,
        inquiry_period_days: days,
    };
    let items = BTreeMap::from([
        ("basic".to_owned(), item(Category::Basic, None)),
        (
            "administrative_penalty".to_owned(),
            item(Category::Untrustworthy, Some(1095)),
        ),
        (
            "court_enforcement".to_owned(),
            item(Category::Untrustworthy, Some(1825)),
        ),
        ("commendation".to_owned(), item(Category::Positive, None)),
    ]);
    let mask = BTreeMap::from([
        (
            "id_number".to_owned(),
            Mask {
                keep_start: 6,
                keep_end: 4,
            },
        ),
        (
            "phone".to_owned(),
            Mask {
                keep_start: 3,
                keep_end: 2,
            },
        ),
    ]);
    Rules {
        prohibited: set(&[
            "religion",
            "religious_faith",
            "genetic_data",
            "fingerprint",
            "blood_type",
            "illness",
            "medical_history",
        ]),
        consent_required: set(&[
            "income",
            "savings",
            "securities",
            "commercial_insurance",
            "real_estate",
            "tax_paid",
        ]),
        mask,
        items,
        record_fields: RecordFields::default(),
        utc_offset_seconds: 8 * 3600,
    }
}

/// A scope on `rules` granting `items` and `consent_fields`, nothing else.
pub(crate) fn scope(rules: Rules, items: &[&str], consent_fields: &[&str]) -> Scope {
    Scope {
        items: set(items),
        subject_types: BTreeSet::new(),
        consent_fields: set(consent_fields),
        unmasked: BTreeSet::new(),
        beyond_inquiry_period: None,
        consent_subject: None,
        asked_subject: None,
        natural_person_needs_consent: false,
        rules: Arc::new(rules),
    }
}

/// HN-AMR-0001 (market_inspector): its role's items, no consent fields.
pub(crate) fn inspector() -> Scope {
    scope(
        rules(),
        &["basic", "administrative_penalty", "court_enforcement"],
        &[],
    )
}

/// CS-RATE-0007 (credit_rating_agency) with the case-11 consent token:
/// items role ∩ token, consent fields from the token.
pub(crate) fn rating_agency_with_consent() -> Scope {
    scope(
        rules(),
        &["basic", "administrative_penalty", "commendation"],
        &["income", "real_estate"],
    )
}
