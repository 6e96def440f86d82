//! The parsed body: an ordered JSON tree that borrows from the input bytes.
//!
//! Owns parsing (through serde_json's deserializer, so its validation — UTF-8,
//! escapes, numbers, trailing bytes — and its recursion limit of 128 apply)
//! and serialising (through serde_json's serializer, so strings are escaped
//! and numbers formatted exactly as a `serde_json::Value` would be).
//!
//! Compared with `serde_json::Value` under `preserve_order`, an object is a
//! plain `Vec` of entries instead of a SipHash-indexed map, and a string or
//! key without escapes borrows the input instead of allocating. Keys are held
//! decoded (`"rel\u0069gion"` is `religion`), so every comparison sees the
//! name a JSON reader sees.
//!
//! Duplicate keys in one object behave as in `Value`: the last value wins and
//! takes the first key's position. Detecting them is a linear scan for small
//! objects and a sort for large ones, never quadratic in the object's size.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use serde_json::Number;

/// One JSON value, borrowing unescaped strings from the input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json parses it (`float_roundtrip`: exact floats;
    /// integers beyond 64 bits become floats).
    Number(Number),
    /// A string, decoded.
    Str(Cow<'a, str>),
    /// An array.
    Array(Vec<Node<'a>>),
    /// An object.
    Object(Object<'a>),
}

impl<'a> Node<'a> {
    /// The text of a string node.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(text) => Some(text),
            _ => None,
        }
    }

    /// The items of an array node.
    pub(crate) fn as_array(&self) -> Option<&[Node<'a>]> {
        match self {
            Node::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Whether this is an object.
    pub(crate) fn is_object(&self) -> bool {
        matches!(self, Node::Object(_))
    }
}

/// A JSON object: entries in input order.
///
/// INVARIANT: keys are unique (bytewise, decoded). Parsing merges duplicates;
/// the methods here never create one, and keys cannot be changed in place.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Object<'a> {
    entries: Vec<(Cow<'a, str>, Node<'a>)>,
}

impl<'a> Object<'a> {
    /// Entries from `entries`, merging duplicate keys: the last value wins
    /// and takes the first key's position (as `serde_json::Map` does).
    pub(crate) fn from_entries(mut entries: Vec<(Cow<'a, str>, Node<'a>)>) -> Self {
        if has_duplicate_keys(&entries) {
            entries = merge_duplicate_keys(entries);
        }
        Object { entries }
    }

    /// The value under `key` (exact, case-sensitive).
    pub(crate) fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.entries
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// The value under `key` (exact, case-sensitive), mutably.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Node<'a>> {
        self.entries
            .iter_mut()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// Sets `key` to `value`: in place when the key exists, else appended.
    pub(crate) fn insert(&mut self, key: &'a str, value: Node<'a>) {
        match self.get_mut(key) {
            Some(slot) => *slot = value,
            None => self.entries.push((Cow::Borrowed(key), value)),
        }
    }

    /// Entries in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Node<'a>)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_ref(), value))
    }

    /// Entries in order, values mutable.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Node<'a>)> {
        self.entries.iter_mut().map(|(key, value)| {
            // Keys are read-only: the no-duplicates invariant holds.
            let key: &Cow<'a, str> = key;
            (key.as_ref(), value)
        })
    }

    /// Keeps the entries for which `keep` returns true, in order.
    pub(crate) fn retain_mut(&mut self, mut keep: impl FnMut(&str, &mut Node<'a>) -> bool) {
        self.entries.retain_mut(|(key, value)| keep(key, value));
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Objects up to this many entries are checked for duplicate keys pairwise
/// (at most 120 comparisons, no allocation); larger ones by sorting.
const PAIRWISE_MAX: usize = 16;

/// Whether two entries share a key. O(n log n) at worst.
fn has_duplicate_keys(entries: &[(Cow<'_, str>, Node<'_>)]) -> bool {
    if entries.len() <= PAIRWISE_MAX {
        return entries
            .iter()
            .enumerate()
            .any(|(i, (key, _))| entries[..i].iter().any(|(seen, _)| seen == key));
    }
    let mut keys: Vec<&str> = entries.iter().map(|(key, _)| key.as_ref()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|pair| pair[0] == pair[1])
}

/// Merges entries with equal keys: the first key's position, the last value.
/// O(n log n).
fn merge_duplicate_keys<'a>(
    entries: Vec<(Cow<'a, str>, Node<'a>)>,
) -> Vec<(Cow<'a, str>, Node<'a>)> {
    let len = entries.len();
    let mut order: Vec<usize> = (0..len).collect();
    // Stable: equal keys stay in input order, so a group runs first..last.
    order.sort_by(|&a, &b| entries[a].0.cmp(&entries[b].0));
    // For each kept position, the index whose value it takes.
    let mut source: Vec<Option<usize>> = vec![None; len];
    for group in order.chunk_by(|&a, &b| entries[a].0 == entries[b].0) {
        if let (Some(&first), Some(&last)) = (group.first(), group.last()) {
            source[first] = Some(last);
        }
    }
    let (keys, values): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
    let mut values: Vec<Option<Node<'a>>> = values.into_iter().map(Some).collect();
    let mut merged = Vec::with_capacity(len);
    for (key, source) in keys.into_iter().zip(source) {
        let Some(source) = source else { continue };
        // Each index is the source of exactly one group: always `Some`.
        if let Some(value) = values.get_mut(source).and_then(Option::take) {
            merged.push((key, value));
        }
    }
    merged
}

/// Parses `bytes` as one JSON document (nothing but whitespace after it).
pub(crate) fn parse(bytes: &[u8]) -> Result<Node<'_>, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// Serialises `node` as compact JSON, reserving `size_hint` bytes up front.
pub(crate) fn to_vec(node: &Node<'_>, size_hint: usize) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(size_hint);
    serde_json::to_writer(&mut out, node)?;
    Ok(out)
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

/// Builds a [`Node`] from whatever serde_json reads.
struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Node::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Node::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Node::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        // serde_json never yields a non-finite float (1e400 is an error);
        // `Value` would make one null, and so does this.
        Ok(Number::from_f64(value).map_or(Node::Null, Node::Number))
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Owned(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            let value: Node<'de> = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Node::Object(Object::from_entries(entries)))
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Builds a [`Key`] from a string.
struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(value)))
    }
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(value) => serializer.serialize_bool(*value),
            Node::Number(number) => number.serialize(serializer),
            Node::Str(text) => serializer.serialize_str(text),
            Node::Array(items) => serializer.collect_seq(items),
            Node::Object(object) => serializer.collect_map(object.iter()),
        }
    }
}

#[cfg(test)]
mod tests;
