//! Test-only builders: the conformance policy as [`Rules`] and scopes on it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use policy::{Category, ItemRule, Mask, RecordFields, Rules, Scope};

/// A set of owned strings.
pub(crate) fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// The rules of `conformance/policy.toml` at +08:00.
pub(crate) fn rules() -> Rules {
    let mut items = BTreeMap::new();
    items.insert(
        "basic".to_owned(),
        ItemRule {
            category: Category::Basic,
            inquiry_period_days: None,
        },
    );
    items.insert(
        "administrative_penalty".to_owned(),
        ItemRule {
            category: Category::Untrustworthy,
            inquiry_period_days: Some(1095),
        },
    );
    items.insert(
        "court_enforcement".to_owned(),
        ItemRule {
            category: Category::Untrustworthy,
            inquiry_period_days: Some(1825),
        },
    );
    items.insert(
        "commendation".to_owned(),
        ItemRule {
            category: Category::Positive,
            inquiry_period_days: None,
        },
    );
    let mut mask = BTreeMap::new();
    mask.insert(
        "id_number".to_owned(),
        Mask {
            keep_start: 6,
            keep_end: 4,
        },
    );
    mask.insert(
        "phone".to_owned(),
        Mask {
            keep_start: 3,
            keep_end: 2,
        },
    );
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

/// A scope on `rules` granting `items` and `consent_fields`.
pub(crate) fn scope_with(rules: Rules, items: &[&str], consent_fields: &[&str]) -> Scope {
    Scope {
        items: set(items),
        subject_types: BTreeSet::new(),
        consent_fields: set(consent_fields),
        unmasked: BTreeSet::new(),
        beyond_inquiry_period: None,
        consent_subject: None,
        natural_person_needs_consent: false,
        rules: Arc::new(rules),
    }
}

/// The market inspector's scope of conformance case 01.
pub(crate) fn inspector() -> Scope {
    scope_with(
        rules(),
        &["basic", "administrative_penalty", "court_enforcement"],
        &[],
    )
}
