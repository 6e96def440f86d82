//! Test-only conversions between `serde_json::Value` and the crate's tree
//! (the conformance policy and scopes on it are in [`crate::testing`]).

use crate::tree::{Builder, Doc, Node, NodeId, Text};

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
        // Tests only: the text lives as long as the test process.
        Value::Number(number) => {
            builder.leaf(Node::Number(Box::leak(number.to_string().into_boxed_str())))
        }
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
        Node::Number(text) => serde_json::from_str(text).unwrap(),
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
