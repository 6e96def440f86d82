//! Test-only builders: the conformance policy as [`Rules`] and scopes on it,
//! and conversions between `serde_json::Value` and the crate's tree.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use policy::{Category, ItemRule, Mask, RecordFields, Rules, Scope};

use crate::tree::{Builder, Doc, Node, NodeId, Text};

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
        asked_subject: None,
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

/// `value` as a document (strings owned).
pub(crate) fn from_value(value: &serde_json::Value) -> Doc<'static> {
    Doc::build(|builder| build(builder, value))
}

fn build(builder: &mut Builder<'static>, value: &serde_json::Value) -> NodeId {
    use serde_json::Value;
    match value {
        Value::Null => builder.leaf(Node::Null),
        Value::Bool(true) => builder.leaf(Node::True),
        Value::Bool(false) => builder.leaf(Node::False),
        Value::Number(number) => builder.leaf(Node::Number(number.clone())),
        Value::String(text) => builder.leaf(Node::Str(Text::owned(text.clone()))),
        Value::Array(items) => {
            let items = items.iter().map(|item| build(builder, item)).collect();
            builder.array(items)
        }
        Value::Object(map) => {
            let entries = map
                .iter()
                .map(|(key, value)| (Text::owned(key.clone()), build(builder, value)))
                .collect();
            builder.object(entries)
        }
    }
}

/// The top-level value of `doc` as a `serde_json::Value`.
pub(crate) fn to_value(doc: &Doc<'_>) -> serde_json::Value {
    node_value(doc, doc.root())
}

/// The value `id` names as a `serde_json::Value`.
pub(crate) fn node_value(doc: &Doc<'_>, id: NodeId) -> serde_json::Value {
    use serde_json::Value;
    match doc.node(id) {
        Node::Null => Value::Null,
        Node::True => Value::Bool(true),
        Node::False => Value::Bool(false),
        Node::Int(text) => Value::Number(text.parse().unwrap()),
        Node::Number(number) => Value::Number(number.clone()),
        Node::Str(text) => Value::String(text.as_str().to_owned()),
        Node::Array(span) => {
            Value::Array(doc.items(*span).map(|item| node_value(doc, item)).collect())
        }
        Node::Object(span) => Value::Object(
            doc.entries(*span)
                .map(|(key, value)| (key.to_owned(), node_value(doc, value)))
                .collect(),
        ),
        Node::Gone => panic!("a removed value is reachable"),
    }
}
