//! Key rules: removal of prohibited and unconsented keys, masking of
//! sensitive keys, at any depth, compared normalised
//! ([`policy::keyname::normalise`]: NFKC, full case folding, NFKD, letters
//! and digits only, no marks, NFC).
//!
//! Owns the [`KeyRules`] table (the scope's effective action per normalised
//! key name) and the single recursive walk that applies it to a parsed body in
//! place. Key names that were acted on go into the [`Report`]; values never do.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use crate::detect::{Detector, Detectors};
use crate::mask::mask_leaf;
use crate::names::Names;
use crate::records::Judge;
use crate::tree::{self, Doc, Memo, Node, NodeId, Remembered, Text};
use crate::{RedactionError, Report};
use policy::keyname::normalise;
use policy::{Mask, Scope};

/// What happens to a key and everything under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Prohibited, or consent-required without consent: the key is removed.
    Remove,
    /// Every string/number leaf under the key is masked.
    Mask(Mask),
}

/// The effective key rules of one scope, as a sorted table of normalised
/// names ([`policy::keyname::normalise`]).
///
/// Built once per `apply` from [`policy::Rules`] and the scope's consent and
/// unmask grants; the table borrows the rule strings when they are already
/// normalised (as the policy loader stores them), so building it costs one
/// allocation.
#[derive(Debug)]
pub(crate) struct KeyRules<'a> {
    /// INVARIANT: sorted by [`by_length_then_bytes`], names unique and
    /// normalised.
    table: Vec<(Cow<'a, str>, Action)>,
    /// A Bloom filter of the ASCII names by length, first and last byte
    /// ([`ascii_bit`]): a key whose normalised form is ASCII and whose bit
    /// is clear cannot match and is skipped without comparing.
    ascii_bits: [u64; 4],
    /// Whether any name in the table is non-ASCII (only those can match a
    /// key whose normal form is non-ASCII).
    has_non_ascii: bool,
    /// The masks of the value detectors (`id_number`, `phone`), unless the
    /// scope sees that field unmasked.
    pub(crate) detectors: Detectors,
    /// The body's key names, normalised once each.
    names: Names,
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

/// Whether `set` holds `name` (normalised), comparing every entry
/// normalised so a grant spelled another way is still honoured.
pub(crate) fn contains_normalised(set: &BTreeSet<String>, name: &str) -> bool {
    set.contains(name) || set.iter().any(|entry| normalise(entry) == name)
}

/// The mask configured under `name` (normalised), comparing the configured
/// names normalised.
pub(crate) fn configured_mask(rules: &policy::Rules, name: &str) -> Option<Mask> {
    rules.mask.get(name).copied().or_else(|| {
        rules
            .mask
            .iter()
            .find(|(configured, _)| normalise(configured) == name)
            .map(|(_, mask)| *mask)
    })
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
            table.push((normalise(name), Action::Remove));
        }
        for name in &rules.consent_required {
            let name = normalise(name);
            if !contains_normalised(&scope.consent_fields, &name) {
                table.push((name, Action::Remove));
            }
        }
        for (name, mask) in &rules.mask {
            let name = normalise(name);
            if !contains_normalised(&scope.unmasked, &name) {
                table.push((name, Action::Mask(*mask)));
            }
        }
        // A name with no letter or digit would match every such key; the
        // policy loader refuses one, so it can only come from a hand-built
        // `Rules`, and is ignored.
        table.retain(|(name, _)| !name.is_empty());
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
        // The detectors mask with the `id_number` / `phone` masks, or the
        // usual 6/4 and 3/2 when the policy has none.
        let detector = |field: &str, keep_start, keep_end| {
            (!contains_normalised(&scope.unmasked, field)).then(|| {
                configured_mask(rules, field).unwrap_or(Mask {
                    keep_start,
                    keep_end,
                })
            })
        };
        KeyRules {
            table,
            ascii_bits,
            has_non_ascii,
            detectors: Detectors {
                resident_id: detector("idnumber", 6, 4),
                mobile: detector("phone", 3, 2),
            },
            names: Names::default(),
        }
    }

    /// The action for a key as spelled in the body, compared normalised;
    /// derived once per document for a key with a [`Memo`].
    pub(crate) fn lookup(&self, key: &str, memo: Option<&Memo>) -> Option<Action> {
        Remembered::get_or_find(
            memo.map(|memo| &memo.rule),
            |index| self.table.get(index).map(|(_, action)| *action),
            || self.find(key),
        )
    }

    /// The table index and action of the rule for `key`, if any.
    fn find(&self, key: &str) -> Option<(usize, Action)> {
        self.names.with_normal(key, |normal| {
            if normal.is_ascii() {
                let (word, bit) = ascii_bit(normal);
                if self.ascii_bits.get(word).is_none_or(|word| word & bit == 0) {
                    return None;
                }
            } else if !self.has_non_ascii {
                return None;
            }
            let index = self
                .table
                .binary_search_by(|(name, _)| by_length_then_bytes(name, normal))
                .ok()?;
            self.table.get(index).map(|(_, action)| (index, *action))
        })
    }

    /// Applies the rules to the whole of `doc`, in place, noting acted-on
    /// key names and detector counts in `report`: records found anywhere
    /// (other than the items of the `listed` top-level records arrays,
    /// already judged) obey the record rules before their keys are looked
    /// at; then key rules, value detectors on every string leaf, and JSON
    /// held in a string redacted as JSON — in one pass.
    pub(crate) fn redact(
        &self,
        doc: &mut Doc<'_>,
        judge: &Judge<'_>,
        listed: &[NodeId],
        asked_ids: &[NodeId],
        report: &mut Report,
    ) -> Result<(), RedactionError> {
        let mut walker = Walker {
            rules: self,
            judge,
            listed,
            asked_ids,
            report,
            embedded: 0,
            failed: None,
        };
        walker.walk(doc, doc.root(), None, true);
        walker.failed.map_or(Ok(()), Err)
    }
}

/// How many strings-holding-JSON deep redaction follows; a JSON string
/// nested deeper is removed (fail closed).
const MAX_EMBEDDED: u8 = 4;

/// One walk over a body: the rules and where to note what was done.
struct Walker<'w, 'a> {
    rules: &'w KeyRules<'a>,
    judge: &'w Judge<'w>,
    /// Top-level records arrays whose items are judged already.
    listed: &'w [NodeId],
    /// The answer's `subject.id` leaves (any spelling) that are the id the
    /// officer asked for: the detectors leave them alone (they repeat the
    /// request).
    asked_ids: &'w [NodeId],
    report: &'w mut Report,
    /// How many JSON-in-string levels this walk is inside.
    embedded: u8,
    /// The first record rule that could not be applied: the body (or the
    /// string holding it) is refused.
    failed: Option<RedactionError>,
}

/// Distinct key names a [`Report`] name set holds; past them, only
/// [`MORE_NAMES`] is added (a body of 80 000 masked keys made a log entry
/// of megabytes).
pub(crate) const MAX_NAMES: usize = 64;

/// The name noted once a name set is full ([`MAX_NAMES`]).
pub(crate) const MORE_NAMES: &str = "<more keys>";

/// Longest name noted, in bytes: a longer one is cut (at a character
/// boundary) and ends with `…`.
pub(crate) const MAX_NAME_BYTES: usize = 128;

/// The name a key masked for holding an id is reported under (never its
/// text: the name and digits around the id may be personal).
pub(crate) const KEY_ID: &str = "<key:id_number>";

/// The name a key masked for holding a mobile is reported under.
pub(crate) const KEY_PHONE: &str = "<key:phone>";

/// The name a key masked for holding a group of digits too long to read
/// is reported under.
pub(crate) const KEY_DIGITS: &str = "<key:digits>";

/// Adds `key` to `set` unless present (allocating only for a new name),
/// cut to [`MAX_NAME_BYTES`]; a full set ([`MAX_NAMES`]) gets
/// [`MORE_NAMES`] instead.
pub(crate) fn note(set: &mut BTreeSet<String>, key: &str) {
    let cut = if key.len() > MAX_NAME_BYTES {
        let mut end = MAX_NAME_BYTES;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        Cow::Owned(format!("{}…", key.get(..end).unwrap_or_default()))
    } else {
        Cow::Borrowed(key)
    };
    if set.contains(&*cut) {
        return;
    }
    if set.len() >= MAX_NAMES {
        if !set.contains(MORE_NAMES) {
            set.insert(MORE_NAMES.to_owned());
        }
        return;
    }
    set.insert(cut.into_owned());
}

/// Whether `text` might hold a JSON object or array, or a JSON string
/// (which may hold one in turn: JSON encoded twice), maybe after a byte
/// order mark (parsing decides).
fn may_hold_json(text: &str) -> bool {
    matches!(
        json_start(text).as_bytes().first(),
        Some(b'{' | b'[' | b'"')
    )
}

/// `text` without a leading byte order mark and JSON whitespace.
fn json_start(text: &str) -> &str {
    text.trim_start_matches(['\u{feff}', ' ', '\t', '\n', '\r'])
}

/// Longest member name [`quoted_names`] reads, in bytes.
const QUOTED_NAME_MAX: usize = 256;

/// The names `text` writes as JSON member names: for each `:`, the text
/// between the two `"` before it (whitespace between the last `"` and the
/// `:` allowed; each quote maybe escaped with backslashes), decoded
/// ([`decode_name`]).
fn quoted_names(text: &str) -> impl Iterator<Item = String> + '_ {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b':')
        .filter_map(move |(colon, _)| {
            let before = text.get(..colon)?;
            let before = before.trim_end();
            let inner = before.strip_suffix('"')?.trim_end_matches('\\');
            let from = inner.len().saturating_sub(QUOTED_NAME_MAX);
            let window = inner.get(from..).or_else(|| {
                // Not a character boundary: take a little less.
                (from..inner.len()).find_map(|at| inner.get(at..))
            })?;
            let open = window.rfind('"')?;
            let raw = window.get(open + 1..)?;
            Some(decode_name(raw))
        })
}

/// A member name as written between quotes, JSON escapes decoded
/// (`\u0069`, `\n`, ...; surrogate pairs joined, a lone surrogate
/// dropped), backslashes that escape nothing dropped (a name encoded twice
/// or more reads as the name).
fn decode_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    let mut high: Option<u32> = None;
    while let Some(c) = chars.next() {
        if c != '\\' {
            high = None;
            out.push(c);
            continue;
        }
        while chars.peek() == Some(&'\\') {
            chars.next();
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let Ok(unit) = u32::from_str_radix(&hex, 16) else {
                    continue;
                };
                match (high.take(), unit) {
                    (_, 0xD800..=0xDBFF) => high = Some(unit),
                    (Some(h), 0xDC00..=0xDFFF) => {
                        let code = 0x10000 + ((h - 0xD800) << 10) + (unit - 0xDC00);
                        out.extend(char::from_u32(code));
                    }
                    (None, 0xDC00..=0xDFFF) => {}
                    (_, unit) => out.extend(char::from_u32(unit)),
                }
            }
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// What became of a string that might hold JSON.
enum Embedded {
    /// Not a JSON object or array: an ordinary string.
    NotJson,
    /// Redacted JSON text to write back as the string.
    Redacted(String),
    /// JSON that could not be redacted: the leaf must go.
    Remove,
}

impl Walker<'_, '_> {
    /// Walks the value `id` names under the mask of the nearest enclosing
    /// mask key (if any). Returns whether a leaf was masked with that
    /// inherited mask.
    ///
    /// With `judge`, an object that is a record obeys the record rules
    /// first (and is gone if it may not be served).
    fn walk(
        &mut self,
        doc: &mut Doc<'_>,
        id: NodeId,
        inherited: Option<Mask>,
        judge: bool,
    ) -> bool {
        match doc.node(id) {
            Node::Object(span) => {
                let mut span = *span;
                if judge && self.judge.is_record(doc, span) {
                    self.report.records_elsewhere = self.report.records_elsewhere.saturating_add(1);
                    match self.judge.record(doc, id, self.report) {
                        Ok(true) => {}
                        Ok(false) => return false,
                        Err(error) => {
                            self.failed.get_or_insert(error);
                            return false;
                        }
                    }
                    self.report.records_returned_elsewhere =
                        self.report.records_returned_elsewhere.saturating_add(1);
                    // Labelling moves the entries.
                    let Node::Object(labelled) = *doc.node(id) else {
                        return false;
                    };
                    span = labelled;
                }
                let mut masked_any = false;
                // The object's live keys and their entries, built when a
                // first key is masked (one pass), kept up to date by the
                // renames: a clash is one lookup, not a scan of the object.
                let mut live_keys: Option<HashMap<String, usize>> = None;
                for index in span.indices() {
                    let Some((key, child)) = doc.entry(index) else {
                        continue;
                    };
                    let action = self.rules.lookup(key, doc.entry_memo(index));
                    // A key holding an id or a mobile (only a key without
                    // a rule can be one) is masked as a value would be;
                    // when the masked key is taken in this object, the
                    // member goes (fail closed). Reported under a fixed
                    // name ([`KEY_ID`], [`KEY_PHONE`]), never its text.
                    let memo = doc.entry_memo(index);
                    let masked_key = match action {
                        // A name found holding none is not scanned again.
                        // A key shorter than 11 bytes holds no 11 digits.
                        None if key.len() >= 11
                            && !memo.is_some_and(|memo| memo.no_number.get()) =>
                        {
                            let masked = self.detect_counted(key);
                            if let (None, Some(memo)) = (&masked, memo) {
                                memo.no_number.set(true);
                            }
                            masked
                        }
                        _ => None,
                    };
                    if let Some((masked, ids, mobiles)) = masked_key {
                        let reported = if ids > 0 {
                            KEY_ID
                        } else if mobiles > 0 {
                            KEY_PHONE
                        } else {
                            KEY_DIGITS
                        };
                        let live = live_keys.get_or_insert_with(|| {
                            span.indices()
                                .filter_map(|other| {
                                    doc.entry(other).map(|(name, _)| (name.to_owned(), other))
                                })
                                .collect()
                        });
                        let taken = live.get(&masked).is_some_and(|other| {
                            *other != index
                                && doc.entry(*other).is_some_and(|(name, _)| name == masked)
                        });
                        if taken {
                            doc.remove(child);
                            note(&mut self.report.removed_keys, reported);
                            continue;
                        }
                        doc.set_key(index, masked.clone());
                        live.insert(masked, index);
                        note(&mut self.report.masked_keys, reported);
                    }
                    let Some((key, child)) = doc.entry(index) else {
                        continue;
                    };
                    match action {
                        Some(Action::Remove) => {
                            note(&mut self.report.removed_keys, key);
                            doc.remove(child);
                        }
                        Some(Action::Mask(mask)) => {
                            if self.walk(doc, child, Some(mask), true) {
                                if let Some((key, _)) = doc.entry(index) {
                                    note(&mut self.report.masked_keys, key);
                                }
                            }
                        }
                        None => masked_any |= self.walk(doc, child, inherited, true),
                    }
                }
                masked_any
            }
            Node::Array(span) => {
                let span = *span;
                // Items of a top-level records array were judged already.
                let judge_items = !(self.embedded == 0 && self.listed.contains(&id));
                let mut masked_any = false;
                for index in span.indices() {
                    if let Some(item) = doc.item(index) {
                        masked_any |= self.walk(doc, item, inherited, judge_items);
                    }
                }
                masked_any
            }
            Node::Str(_) | Node::Int(_) | Node::Number(_) if inherited.is_some() => {
                match (inherited, doc.node_mut(id)) {
                    (Some(mask), Some(leaf)) => mask_leaf(leaf, mask),
                    _ => false,
                }
            }
            Node::Str(_) if self.embedded == 0 && self.asked_ids.contains(&id) => false,
            Node::Str(text) => {
                let text = text.as_str();
                let mut replaced = None;
                if may_hold_json(text) {
                    match self.embedded(text) {
                        Embedded::NotJson => {}
                        Embedded::Redacted(json) => replaced = Some(json),
                        Embedded::Remove => {
                            self.report.embedded_json_removed =
                                self.report.embedded_json_removed.saturating_add(1);
                            doc.remove(id);
                            return false;
                        }
                    }
                }
                // Text that is no JSON this walk could redact (trailing
                // text, JSON Lines, a lone surrogate escape, too deep, an
                // invisible prefix, ...) but quotes a field name the rules
                // remove or mask, followed by `:`, goes whole: it may be
                // JSON another reader reads.
                if replaced.is_none() {
                    if let Some(name) = self.quoted_ruled_name(text) {
                        note(&mut self.report.removed_keys, &name);
                        self.report.embedded_json_removed =
                            self.report.embedded_json_removed.saturating_add(1);
                        doc.remove(id);
                        return false;
                    }
                    // Such text with JSON escapes (`\u0031\u0033…`) may
                    // hold an id or a mobile another reader decodes: read
                    // decoded, and gone whole when one is found.
                    if may_hold_json(text) && text.contains('\\') {
                        let decoded = decode_name(text);
                        if decoded != text && self.detect(&decoded).is_some() {
                            self.report.embedded_json_removed =
                                self.report.embedded_json_removed.saturating_add(1);
                            doc.remove(id);
                            return false;
                        }
                    }
                }
                let scanned = replaced.as_deref().unwrap_or(text);
                if let Some(masked) = self.detect(scanned) {
                    replaced = Some(masked);
                }
                if let (Some(new), Some(leaf)) = (replaced, doc.node_mut(id)) {
                    *leaf = Node::Str(Text::owned(new));
                }
                false
            }
            // Detectors read string leaves only (as the contract says): an
            // 18-digit integer passes the checksum one time in eleven.
            Node::Int(_) | Node::Number(_) | Node::Null | Node::True | Node::False | Node::Gone => {
                false
            }
        }
    }

    /// The first name in `text` written as a JSON member name (`"name"`,
    /// then whitespace, then `:`; the quotes maybe escaped, as in JSON
    /// encoded again, and JSON escapes in the name decoded) that a key
    /// rule removes or masks under this scope.
    fn quoted_ruled_name(&self, text: &str) -> Option<String> {
        let bytes = text.as_bytes();
        // Most strings hold no `"` (and no `:`): one pass each.
        if !bytes.contains(&b'"') || !bytes.contains(&b':') {
            return None;
        }
        quoted_names(text).find(|name| self.rules.lookup(name, None).is_some())
    }

    /// `text` with detected ids and mobiles masked (counted in the report),
    /// or `None` when none was found.
    fn detect(&mut self, text: &str) -> Option<String> {
        self.detect_counted(text).map(|(masked, _, _)| masked)
    }

    /// [`Walker::detect`], with how many ids and mobiles it masked.
    fn detect_counted(&mut self, text: &str) -> Option<(String, u32, u32)> {
        let (masked, ids, mobiles) = self.rules.detectors.mask(text)?;
        for (detector, count) in [(Detector::ResidentId, ids), (Detector::Mobile, mobiles)] {
            if count > 0 {
                let total = self.report.detected.entry(detector).or_insert(0);
                *total = total.saturating_add(count);
            }
        }
        Some((masked, ids, mobiles))
    }

    /// Redacts `text` as JSON when it is a JSON object or array: record
    /// rules, key rules, detectors, recursively.
    fn embedded(&mut self, text: &str) -> Embedded {
        let Ok(mut inner) = tree::parse(json_start(text).as_bytes()) else {
            return Embedded::NotJson;
        };
        let held = match inner.node(inner.root()) {
            Node::Object(_) | Node::Array(_) => None,
            // JSON encoded twice: a JSON string whose text holds JSON.
            Node::Str(again) if may_hold_json(again) => Some(again.as_str().to_owned()),
            // A plain value encoded twice (`"\"138123\\u00345678\""`):
            // the detectors read it decoded, as a client decoding twice
            // would.
            Node::Str(again) => {
                return match self.detect(again.as_str()) {
                    Some(masked) => match serde_json::to_string(&masked) {
                        Ok(encoded) => Embedded::Redacted(encoded),
                        Err(_) => Embedded::Remove,
                    },
                    None => Embedded::NotJson,
                }
            }
            _ => return Embedded::NotJson,
        };
        if self.embedded >= MAX_EMBEDDED {
            return Embedded::Remove;
        }
        if let Some(again) = held {
            self.embedded = self.embedded.saturating_add(1);
            let inside = self.embedded(&again);
            self.embedded = self.embedded.saturating_sub(1);
            return match inside {
                Embedded::NotJson => Embedded::NotJson,
                Embedded::Remove => Embedded::Remove,
                // Encoded again as the JSON string it was.
                Embedded::Redacted(json) => match serde_json::to_string(&json) {
                    Ok(encoded) => Embedded::Redacted(encoded),
                    Err(_) => Embedded::Remove,
                },
            };
        }
        let root = inner.root();
        let mut walker = Walker {
            rules: self.rules,
            judge: self.judge,
            listed: &[],
            asked_ids: &[],
            report: &mut *self.report,
            embedded: self.embedded.saturating_add(1),
            failed: None,
        };
        // The embedded document's top-level value may be a record too.
        walker.walk(&mut inner, root, None, true);
        if walker.failed.is_some() || matches!(inner.node(root), Node::Gone) {
            return Embedded::Remove;
        }
        match tree::to_vec(&inner, text.len()).map(String::from_utf8) {
            Ok(Ok(json)) => Embedded::Redacted(json),
            _ => Embedded::Remove,
        }
    }
}

#[cfg(test)]
mod tests;
