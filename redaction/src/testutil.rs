//! Test-only builders: the conformance policy as [`Rules`] and scopes on it,
//! and conversions between `serde_json::Value` and the crate's tree.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use policy::{Category, ItemRule, Mask, RecordFields, Rules, Scope};

use crate::tree::{Node, Object, Text};

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

/// `value` as a tree (strings owned).
pub(crate) fn from_value(value: &serde_json::Value) -> Node<'static> {
    use serde_json::Value;
    match value {
        Value::Null => Node::Null,
        Value::Bool(true) => Node::True,
        Value::Bool(false) => Node::False,
        Value::Number(number) => Node::Number(number.clone()),
        Value::String(text) => Node::Str(Text::owned(text.clone())),
        Value::Array(items) => Node::Array(items.iter().map(from_value).collect()),
        Value::Object(map) => Node::Object(Object::from_entries(
            map.iter()
                .map(|(key, value)| (Text::owned(key.clone()), from_value(value)))
                .collect(),
        )),
    }
}

/// `node` as a `serde_json::Value`.
pub(crate) fn to_value(node: &Node<'_>) -> serde_json::Value {
    use serde_json::Value;
    match node {
        Node::Null => Value::Null,
        Node::True => Value::Bool(true),
        Node::False => Value::Bool(false),
        Node::Int(text) => Value::Number(text.parse().unwrap()),
        Node::Number(number) => Value::Number(number.clone()),
        Node::Str(text) => Value::String(text.as_str().to_owned()),
        Node::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        Node::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| (key.to_owned(), to_value(value)))
                .collect(),
        ),
    }
}
