//! Key rules: removal of prohibited and unconsented keys, masking of
//! sensitive keys, at any depth, compared case-insensitively.
//!
//! Owns the [`KeyRules`] table (the scope's effective action per lowercased
//! key name) and the single recursive walk that applies it to a parsed body in
//! place. Key names that were acted on go into the [`Report`]; values never do.

use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::mask::mask_leaf;
use crate::tree::{Doc, Node, NodeId};
use crate::Report;
use policy::{Mask, Scope};

/// What happens to a key and everything under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Prohibited, or consent-required without consent: the key is removed.
    Remove,
    /// Every string/number leaf under the key is masked.
    Mask(Mask),
}

/// The effective key rules of one scope, as a sorted table of lowercase names.
///
/// Built once per `apply` from [`policy::Rules`] and the scope's consent and
/// unmask grants; the table borrows the rule strings when they are already
/// lowercase (as policy compiles them), so building it costs one allocation.
#[derive(Debug)]
pub(crate) struct KeyRules<'a> {
    /// INVARIANT: sorted by [`by_length_then_bytes`], names unique and
    /// lowercase.
    table: Vec<(Cow<'a, str>, Action)>,
    /// A Bloom filter of the ASCII names by length, first and last byte
    /// ([`ascii_bit`]): an ASCII key whose bit is clear cannot match and is
    /// skipped without comparing.
    ascii_bits: [u64; 4],
    /// Whether any name in the table is non-ASCII (only those can match a
    /// non-ASCII key, which then needs a lowercased copy).
    has_non_ascii: bool,
}

/// The word and bit of the ASCII Bloom filter for `name` (ASCII, any case):
/// a mix of its length and its lowercased first and last bytes.
fn ascii_bit(name: &[u8]) -> (usize, u64) {
    let first = name.first().map_or(0, u8::to_ascii_lowercase);
    let last = name.last().map_or(0, u8::to_ascii_lowercase);
    // Only the low byte of the length counts; any mix is sound, this one
    // spreads short names with shared letters.
    let mixed = (name.len() as u32 & 0xff)
        .wrapping_mul(0x9e37_79b9)
        .wrapping_add(u32::from(first).wrapping_mul(0x85eb_ca6b))
        .wrapping_add(u32::from(last).wrapping_mul(0xc2b2_ae35));
    let index = (mixed >> 24) as usize;
    (index / 64, 1u64 << (index % 64))
}

/// The table's order: shorter names first, then bytewise — most probes are
/// decided by the length, without comparing bytes.
fn by_length_then_bytes(name: &str, other: &[u8]) -> std::cmp::Ordering {
    name.len()
        .cmp(&other.len())
        .then_with(|| name.as_bytes().cmp(other))
}

/// ASCII keys up to this many bytes are lowercased on the stack for lookup.
const LOWER_BUFFER: usize = 64;

/// `name` lowercased, borrowed when it already is.
pub(crate) fn lowered(name: &str) -> Cow<'_, str> {
    if name.chars().flat_map(char::to_lowercase).eq(name.chars()) {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(name.to_lowercase())
    }
}

/// Whether `set` (of names meant to be lowercase) contains `name` (lowercase),
/// comparing case-insensitively so a mis-cased grant is still honoured.
fn contains_lowered(set: &BTreeSet<String>, name: &str) -> bool {
    set.contains(name) || set.iter().any(|entry| lowered(entry) == name)
}

impl<'a> KeyRules<'a> {
    /// The effective key rules for `scope`.
    ///
    /// Precedence for one name: prohibited → remove; consent-required and not
    /// in `scope.consent_fields` → remove; masked and not in `scope.unmasked`
    /// → mask; otherwise no rule.
    pub(crate) fn new(scope: &'a Scope) -> Self {
        let rules = &*scope.rules;
        let mut table: Vec<(Cow<'a, str>, Action)> = Vec::with_capacity(
            rules.prohibited.len() + rules.consent_required.len() + rules.mask.len(),
        );
        for name in &rules.prohibited {
            table.push((lowered(name), Action::Remove));
        }
        for name in &rules.consent_required {
            let name = lowered(name);
            if !contains_lowered(&scope.consent_fields, &name) {
                table.push((name, Action::Remove));
            }
        }
        for (name, mask) in &rules.mask {
            let name = lowered(name);
            if !contains_lowered(&scope.unmasked, &name) {
                table.push((name, Action::Mask(*mask)));
            }
        }
        // Stable sort keeps the first (strongest) action for a duplicated name.
        table.sort_by(|a, b| by_length_then_bytes(&a.0, b.0.as_bytes()));
        table.dedup_by(|later, earlier| later.0 == earlier.0);

        let mut ascii_bits = [0u64; 4];
        let mut has_non_ascii = false;
        for (name, _) in &table {
            if name.is_ascii() {
                let (word, bit) = ascii_bit(name.as_bytes());
                if let Some(word) = ascii_bits.get_mut(word) {
                    *word |= bit;
                }
            } else {
                has_non_ascii = true;
            }
        }
        KeyRules {
            table,
            ascii_bits,
            has_non_ascii,
        }
    }

    /// The action for a key as spelled in the body, compared case-insensitively.
    pub(crate) fn lookup(&self, key: &str) -> Option<Action> {
        let found = if key.is_ascii() {
            let (word, bit) = ascii_bit(key.as_bytes());
            if self.ascii_bits.get(word).is_none_or(|word| word & bit == 0) {
                return None;
            }
            // Compare the key lowercased, without allocating: in a buffer
            // on the stack, or on the fly when longer.
            let mut buffer = [0u8; LOWER_BUFFER];
            match buffer.get_mut(..key.len()) {
                Some(lower) => {
                    lower.copy_from_slice(key.as_bytes());
                    lower.make_ascii_lowercase();
                    let lower = &*lower;
                    self.table
                        .binary_search_by(|(name, _)| by_length_then_bytes(name, lower))
                }
                None => {
                    let lower = || key.bytes().map(|b| b.to_ascii_lowercase());
                    self.table.binary_search_by(|(name, _)| {
                        name.len()
                            .cmp(&key.len())
                            .then_with(|| name.bytes().cmp(lower()))
                    })
                }
            }
        } else {
            if !self.has_non_ascii && !key.chars().any(has_ascii_lowercase) {
                return None;
            }
            let lower = key.to_lowercase();
            self.table
                .binary_search_by(|(name, _)| by_length_then_bytes(name, lower.as_bytes()))
        };
        let index = found.ok()?;
        self.table.get(index).map(|(_, action)| *action)
    }

    /// Applies the rules to the whole of `doc`, in place,
    /// noting acted-on key names in `report`.
    pub(crate) fn redact(&self, doc: &mut Doc<'_>, report: &mut Report) {
        let mut walker = Walker {
            rules: self,
            removed: &mut report.removed_keys,
            masked: &mut report.masked_keys,
        };
        walker.walk(doc, doc.root(), None);
    }
}

/// Whether lowercasing `c` (a non-ASCII char) can give an ASCII character,
/// e.g. KELVIN SIGN → `k`: such a key may still match an ASCII rule name.
fn has_ascii_lowercase(c: char) -> bool {
    !c.is_ascii() && c.to_lowercase().any(|l| l.is_ascii())
}

/// One walk over a body: the rules and where to note key names.
struct Walker<'w, 'a> {
    rules: &'w KeyRules<'a>,
    removed: &'w mut BTreeSet<String>,
    masked: &'w mut BTreeSet<String>,
}

/// Adds `key` to `set` unless present (allocating only for a new name).
fn note(set: &mut BTreeSet<String>, key: &str) {
    if !set.contains(key) {
        set.insert(key.to_owned());
    }
}

impl Walker<'_, '_> {
    /// Walks the value `id` names under the mask of the nearest enclosing
    /// mask key (if any). Returns whether a leaf was masked with that
    /// inherited mask.
    fn walk(&mut self, doc: &mut Doc<'_>, id: NodeId, inherited: Option<Mask>) -> bool {
        match doc.node(id) {
            Node::Object(span) => {
                let span = *span;
                let mut masked_any = false;
                for index in span.indices() {
                    let Some((key, child)) = doc.entry(index) else {
                        continue;
                    };
                    match self.rules.lookup(key) {
                        Some(Action::Remove) => {
                            note(self.removed, key);
                            doc.remove(child);
                        }
                        Some(Action::Mask(mask)) => {
                            if self.walk(doc, child, Some(mask)) {
                                if let Some((key, _)) = doc.entry(index) {
                                    note(self.masked, key);
                                }
                            }
                        }
                        None => masked_any |= self.walk(doc, child, inherited),
                    }
                }
                masked_any
            }
            Node::Array(span) => {
                let span = *span;
                let mut masked_any = false;
                for index in span.indices() {
                    if let Some(item) = doc.item(index) {
                        masked_any |= self.walk(doc, item, inherited);
                    }
                }
                masked_any
            }
            Node::Str(_) | Node::Int(_) | Node::Number(_) => match inherited {
                Some(mask) => doc.node_mut(id).is_some_and(|leaf| mask_leaf(leaf, mask)),
                None => false,
            },
            Node::Null | Node::True | Node::False | Node::Gone => false,
        }
    }
}

#[cfg(test)]
mod tests;
