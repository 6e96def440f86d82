//! Fixtures for tests, benches and fuzz targets (feature `testing`, off in
//! the product): the conformance policy (`conformance/policy.toml`) written
//! out as [`Rules`], its field lists and masks, and scopes built on it as
//! `policy::decide` would build them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use policy::{Category, ItemRule, Mask, RecordFields, Rules, Scope};

/// The conformance policy's prohibited fields.
pub const PROHIBITED: &[&str] = &[
    "religion",
    "religious_faith",
    "genetic_data",
    "fingerprint",
    "blood_type",
    "illness",
    "medical_history",
];

/// The conformance policy's consent-required fields.
pub const CONSENT_REQUIRED: &[&str] = &[
    "income",
    "savings",
    "securities",
    "commercial_insurance",
    "real_estate",
    "tax_paid",
];

/// The conformance policy's mask for `id_number`: six characters kept at
/// the start, four at the end.
pub const ID_NUMBER_MASK: Mask = Mask {
    keep_start: 6,
    keep_end: 4,
};

/// The conformance policy's mask for `phone`: three characters kept at the
/// start, two at the end.
pub const PHONE_MASK: Mask = Mask {
    keep_start: 3,
    keep_end: 2,
};

/// A set of owned strings.
pub fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// The conformance policy's masks: [`ID_NUMBER_MASK`] on `id_number`,
/// [`PHONE_MASK`] on `phone`.
pub fn masks() -> BTreeMap<String, Mask> {
    BTreeMap::from([
        ("id_number".to_owned(), ID_NUMBER_MASK),
        ("phone".to_owned(), PHONE_MASK),
    ])
}

/// `conformance/policy.toml` as compiled rules: items with categories and
/// periods, field lists, masks, default record fields, +08:00.
pub fn rules() -> Rules {
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
    Rules {
        prohibited: set(PROHIBITED),
        consent_required: set(CONSENT_REQUIRED),
        mask: masks(),
        items,
        record_fields: RecordFields::default(),
        utc_offset_seconds: 8 * 3600,
    }
}

/// A scope on `rules` granting `items` and `consent_fields`, nothing else.
pub fn scope_with(rules: Rules, items: &[&str], consent_fields: &[&str]) -> Scope {
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

/// HN-AMR-0001 (market_inspector), the scope of conformance case 01: its
/// role's items, no consent fields.
pub fn inspector() -> Scope {
    scope_with(
        rules(),
        &["basic", "administrative_penalty", "court_enforcement"],
        &[],
    )
}

/// CS-RATE-0007 (credit_rating_agency) with the case-11 consent token:
/// items role ∩ token, consent fields from the token.
pub fn rating_agency_with_consent() -> Scope {
    scope_with(
        rules(),
        &["basic", "administrative_penalty", "commendation"],
        &["income", "real_estate"],
    )
}

/// [`inspector`] with the rule names stored normalised, as
/// `policy::Policy::load` stores them ([`rules`] keeps the spelled names,
/// which `apply` would normalise again on every call: a cost no loaded
/// policy has). For benches and profiling.
pub fn loaded_inspector() -> Scope {
    use policy::keyname::normalise;
    let mut scope = inspector();
    let mut rules = (*scope.rules).clone();
    let norm = |names: &BTreeSet<String>| {
        names
            .iter()
            .map(|name| normalise(name).into_owned())
            .collect()
    };
    rules.prohibited = norm(&rules.prohibited);
    rules.consent_required = norm(&rules.consent_required);
    rules.mask = rules
        .mask
        .iter()
        .map(|(name, mask)| (normalise(name).into_owned(), *mask))
        .collect();
    scope.rules = Arc::new(rules);
    scope
}
