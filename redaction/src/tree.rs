//! The parsed body: an ordered JSON document that borrows from the input.
//!
//! Owns reading and writing JSON for the crate, with serde_json's behaviour
//! as the contract (tests compare the two on generated and mutated input):
//! - parsing accepts what `serde_json::from_slice` accepts — RFC 8259
//!   with UTF-8 validated, escapes and surrogate pairs checked, nothing but
//!   whitespace after the value, and at most [`MAX_DEPTH`] nested arrays and
//!   objects (serde_json's recursion limit), so every walk of the document is
//!   bounded; numbers beyond `f64` range (`1e999`) are refused as
//!   serde_json refuses them;
//! - every number keeps its input text, checked against the JSON grammar
//!   and written back exactly as written (`-0`, `1E2`, `1e-400`,
//!   `123456789012345678901234567890`), never through `f64`;
//! - writing produces the bytes `serde_json::to_vec` would for the same
//!   value, numbers aside (same string escaping, compact).
//!
//! The document is a handful of vectors instead of one allocation per array,
//! object and string: values live in [`Doc`]'s node list, and an array or
//! object is a span of its children's ids. A string or key without escapes
//! borrows the input (and is written back without re-scanning). Keys are
//! held decoded (`"rel\u0069gion"` is `religion`), so every comparison sees
//! the name a JSON reader sees.
//!
//! Removing a value marks its node [`Node::Gone`]: the accessors here skip
//! gone values, so no other module sees one, and nothing under a gone node is
//! reachable any more.
//!
//! In a body of 8 KB or more the parser interns the plain key names of up
//! to 64 bytes (a table by their first 16 bytes and length; at most 1 024
//! per body) and gives each such name a [`Memo`], where the passes keep what they derived from the name (its key
//! rule, its record field): a 66 KB answer spells 60 names 2 511 times, and
//! comparing every occurrence with the rules, normalised, cost more than
//! interning it (−12 % of a 64 KB body's `apply`). The memo is a cache:
//! a key without one is derived at each occurrence, with the same result.
//!
//! Duplicate keys in one object behave as in `serde_json::Value`: the last
//! value wins and takes the first key's position. Detecting them is a
//! pairwise scan for small objects and a sort for large ones, never
//! quadratic in the object's size.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::{Deref, Range};

/// One JSON value; containers refer to their children in the [`Doc`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node<'a> {
    /// `null`.
    Null,
    /// `true`.
    True,
    /// `false`.
    False,
    /// An integer that serde_json reads as `u64` or `i64`, as its input
    /// text — which is also how serde_json writes it (no leading zeros, no
    /// `+`, no `-0`).
    Int(&'a str),
    /// Any other number (a fraction, an exponent, `-0`, an integer beyond
    /// 64 bits), as its input text: written back exactly as the upstream
    /// wrote it, never through `f64` (which would turn
    /// `123456789012345678901234567890` into `1.2345678901234568e+29`).
    /// The parser checked it against the JSON grammar. A borrowed slice,
    /// as [`Node::Int`] (an owned text would make every node larger, and
    /// parsing slower).
    Number(&'a str),
    /// A string, decoded.
    Str(Text<'a>),
    /// An array: item ids in [`Doc`].
    Array(Span),
    /// An object: entries (key, value id) in [`Doc`].
    Object(Span),
    /// A removed value: skipped by every accessor and by the writer.
    Gone,
}

impl Node<'_> {
    /// The text of a string node.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(text) => Some(text),
            _ => None,
        }
    }
}

/// Where the children of one array or object are in the [`Doc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

impl Span {
    /// The children's positions, for [`Doc::item`] / [`Doc::entry`].
    pub(crate) fn indices(self) -> Range<usize> {
        let start = self.start as usize;
        start..start + self.len as usize
    }
}

/// Names one node of a [`Doc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeId(u32);

/// What an id that names no node reads as (never happens: ids come from the
/// document itself).
const NO_NODE: &Node<'static> = &Node::Gone;

/// A parsed JSON document.
///
/// INVARIANTS: every id in `items`, `entries` and `root` names a node of
/// `nodes`; a node reachable from `root` is the child of exactly one
/// reachable container; the keys of one object's live entries are unique
/// (bytewise, decoded); nesting is at most [`MAX_DEPTH`] deep (parsing
/// refuses deeper, and nothing here nests); an entry's memo slot is
/// [`NO_SLOT`] or below `memos.len()`, and entries sharing a slot have
/// equal keys.
///
/// Not `Clone`: its memos hold what one scope's passes derived, and must
/// not reach another scope's.
#[derive(Debug)]
pub(crate) struct Doc<'a> {
    /// Every value (parsed children before their container), reachable or
    /// not.
    nodes: Vec<Node<'a>>,
    /// The items of every array, each array's contiguous.
    items: Vec<NodeId>,
    /// The entries of every object, each object's contiguous.
    entries: Vec<Entry<'a>>,
    /// One per key name the parser interned ([`Memo`]).
    memos: Vec<Memo>,
    /// The values of keys spelled more than once in one object that the
    /// last value hides, by the object's first entry position: never
    /// written, but the record rules read them ([`Doc::shadowed`]).
    shadowed: BTreeMap<u32, Vec<(Text<'a>, NodeId)>>,
    /// The top-level value.
    root: NodeId,
}

/// What the passes over a document derived from one key name, kept for the
/// name's other occurrences: a body of records spells the same few dozen
/// keys thousands of times, and comparing each occurrence with the rules
/// (normalised) cost more than parsing it.
///
/// Each cell belongs to one pass, which keeps there the index of what it
/// found in its own table ([`Remembered::get_or_find`]); a pass must use
/// one set of rules per document (a document is redacted once, under one
/// scope). The parser gives the
/// keys it interned (plain keys, without escapes, of at most
/// [`MAX_INTERNED_BYTES`] bytes; at most [`MAX_INTERNED`] memos) a memo;
/// other keys (and keys added later) have none, and are derived at every
/// occurrence, as before. A name usually has one memo, sometimes two (a
/// name the table lost when it grew gets a second one); a memo never
/// serves two names. Which key has a memo never changes what a pass
/// derives, only how often.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    /// The key rules' (`keys`).
    pub(crate) rule: Remembered,
    /// The record rules' (`records`).
    pub(crate) field: Remembered,
    /// Set once the value detectors found no id or mobile in the name
    /// (`keys`: a key is scanned like a value).
    pub(crate) no_number: Cell<bool>,
}

/// One pass's cell of a [`Memo`]: `0` not derived yet, `1` derived and
/// nothing found, `2 + i` found at index `i` of the pass's table.
#[derive(Debug, Default)]
pub(crate) struct Remembered(Cell<u32>);

impl Remembered {
    /// What `find` derives for the name, derived once: `find` gives the
    /// index in the pass's table and the item there, `at` reads the table
    /// by index. A kept index `at` does not resolve is derived again
    /// (never read as "nothing found"), and without a cell every call
    /// derives.
    pub(crate) fn get_or_find<T>(
        cell: Option<&Remembered>,
        at: impl FnOnce(usize) -> Option<T>,
        find: impl FnOnce() -> Option<(usize, T)>,
    ) -> Option<T> {
        let Some(Remembered(cell)) = cell else {
            return find().map(|(_, item)| item);
        };
        match cell.get() {
            1 => None,
            code => match (code as usize).checked_sub(2).and_then(at) {
                Some(item) => Some(item),
                None => {
                    let found = find();
                    // An index past u32 (never: tables are small) stays 0.
                    let code = found.as_ref().map_or(Some(1), |(index, _)| {
                        u32::try_from(*index).ok()?.checked_add(2)
                    });
                    cell.set(code.unwrap_or(0));
                    found.map(|(_, item)| item)
                }
            },
        }
    }

    /// Whether a pass has derived the name (for tests).
    #[cfg(test)]
    pub(crate) fn is_derived(&self) -> bool {
        self.0.get() != 0
    }
}

/// Memos (interned key names) per document, at most. A body of records
/// spells a few dozen names; the cap bounds what the interner adds to a
/// document whatever the body: a table of at most 2 048 entries of 32
/// bytes plus 24 bytes per memo, ~88 KB.
pub(crate) const MAX_INTERNED: usize = 1024;

/// Bodies shorter than this intern no keys: a small body spells few keys
/// more than once, and setting up the table cost more than it saved
/// (1.7 KB body: +7 %).
const INTERN_FROM_BYTES: usize = 8 * 1024;

/// Longest key name interned, in bytes.
pub(crate) const MAX_INTERNED_BYTES: usize = 64;

/// Slots probed for a name before it goes without a memo: bounds the work
/// a body crafted for colliding hashes can cause.
const MAX_PROBES: usize = 8;

/// The memo slot of a key without one.
const NO_SLOT: u32 = u32::MAX;

/// One object entry: its key, its value, the key's memo slot in
/// [`Doc::memos`] ([`NO_SLOT`]: none).
type Entry<'a> = (Text<'a>, NodeId, u32);

impl<'a> Doc<'a> {
    /// The top-level value.
    pub(crate) fn root(&self) -> NodeId {
        self.root
    }

    /// The node `id` names.
    pub(crate) fn node(&self, id: NodeId) -> &Node<'a> {
        self.nodes.get(id.0 as usize).unwrap_or(NO_NODE)
    }

    /// The node `id` names, to change a leaf in place. Making a container of
    /// it is not supported (only [`Doc::insert`] adds values).
    pub(crate) fn node_mut(&mut self, id: NodeId) -> Option<&mut Node<'a>> {
        self.nodes.get_mut(id.0 as usize)
    }

    /// Removes the value `id` names (and so everything under it).
    pub(crate) fn remove(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.get_mut(id.0 as usize) {
            *node = Node::Gone;
        }
    }

    fn is_live(&self, id: NodeId) -> bool {
        !matches!(self.node(id), Node::Gone)
    }

    /// The array item at `index` of a [`Span`], unless removed.
    pub(crate) fn item(&self, index: usize) -> Option<NodeId> {
        self.items
            .get(index)
            .copied()
            .filter(|id| self.is_live(*id))
    }

    /// The object entry at `index` of a [`Span`], unless removed.
    pub(crate) fn entry(&self, index: usize) -> Option<(&str, NodeId)> {
        self.entries
            .get(index)
            .filter(|(_, id, _)| self.is_live(*id))
            .map(|(key, id, _)| (key.as_str(), *id))
    }

    /// The memo of the key of the object entry at `index` of a [`Span`],
    /// if the parser interned that key.
    pub(crate) fn entry_memo(&self, index: usize) -> Option<&Memo> {
        self.memos.get(self.entries.get(index)?.2 as usize)
    }

    /// The live items of an array.
    pub(crate) fn items(&self, span: Span) -> impl Iterator<Item = NodeId> + '_ {
        span.indices().filter_map(|index| self.item(index))
    }

    /// The live entries of an object, in order.
    pub(crate) fn entries(&self, span: Span) -> impl Iterator<Item = (&str, NodeId)> + '_ {
        span.indices().filter_map(|index| self.entry(index))
    }

    /// Sets the key of the object entry at `index` to `key`. The caller
    /// makes sure no other live entry of the object has that key (the
    /// key walk keeps the object's live keys in a map: one lookup each).
    pub(crate) fn set_key(&mut self, index: usize, key: String) {
        if let Some(entry) = self.entries.get_mut(index) {
            entry.0 = Text::owned(key);
            // The memo belongs to the old name.
            entry.2 = NO_SLOT;
        }
    }

    /// The entries of an object that a later spelling of the same key
    /// hides (duplicate keys: the last value is the object's, as
    /// serde_json reads it; the record rules read these too, to fail
    /// closed). Never written.
    pub(crate) fn shadowed(&self, object: Span) -> impl Iterator<Item = (&str, NodeId)> + '_ {
        self.shadowed
            .get(&object.start)
            .into_iter()
            .flatten()
            .map(|(key, id)| (key.as_str(), *id))
    }

    /// The value under `key` (exact, case-sensitive) in an object.
    pub(crate) fn get(&self, object: Span, key: &str) -> Option<NodeId> {
        self.entries(object)
            .find(|(name, _)| *name == key)
            .map(|(_, id)| id)
    }

    /// Sets `key` to `value` in the object `object` names: in place when the
    /// key is there, else appended (the object's entries are copied to the
    /// end, its old span left unreachable). Returns whether it was set: not
    /// when `object` is no object or the document is full (`u32` ids).
    #[must_use]
    pub(crate) fn insert(&mut self, object: NodeId, key: &'static str, value: Node<'a>) -> bool {
        let Node::Object(span) = *self.node(object) else {
            return false;
        };
        if let Some(id) = self.get(span, key) {
            return self.node_mut(id).map(|node| *node = value).is_some();
        }
        let start = self.entries.len();
        let (Ok(new_start), Some(new_len)) = (u32::try_from(start), span.len.checked_add(1)) else {
            return false;
        };
        let Some(value) = self.push(value) else {
            return false;
        };
        for index in span.indices() {
            if let Some(entry) = self.entries.get(index).cloned() {
                self.entries.push(entry);
            }
        }
        self.entries.push((Text::from_static(key), value, NO_SLOT));
        if let Some(shadowed) = self.shadowed.remove(&span.start) {
            self.shadowed.insert(new_start, shadowed);
        }
        let span = Span {
            start: new_start,
            len: new_len,
        };
        self.node_mut(object)
            .map(|node| *node = Node::Object(span))
            .is_some()
    }

    /// Adds a node, returning its id (`None` past `u32` ids).
    ///
    /// Inlined, as [`Parser::string`] is: a node passed by reference was
    /// written as words and copied as a 16-byte move (a store-forwarding
    /// stall, ~5 % of a 66 KB body's `apply`).
    #[inline(always)]
    fn push(&mut self, node: Node<'a>) -> Option<NodeId> {
        let id = NodeId(u32::try_from(self.nodes.len()).ok()?);
        self.nodes.push(node);
        Some(id)
    }

    /// A document of `root` and the values it is built from, for tests.
    #[cfg(test)]
    pub(crate) fn build(build: impl FnOnce(&mut Builder<'a>) -> NodeId) -> Self {
        let mut builder = Builder(Doc {
            nodes: Vec::new(),
            items: Vec::new(),
            entries: Vec::new(),
            memos: Vec::new(),
            shadowed: BTreeMap::new(),
            root: NodeId(0),
        });
        let root = build(&mut builder);
        let mut doc = builder.0;
        doc.root = root;
        doc
    }
}

/// Builds a [`Doc`] bottom-up, for tests.
#[cfg(test)]
pub(crate) struct Builder<'a>(Doc<'a>);

#[cfg(test)]
impl<'a> Builder<'a> {
    /// A leaf (not `Array`/`Object`).
    pub(crate) fn leaf(&mut self, node: Node<'a>) -> NodeId {
        self.0.push(node).unwrap()
    }

    /// An array of `items`.
    pub(crate) fn array(&mut self, items: Vec<NodeId>) -> NodeId {
        let start = u32::try_from(self.0.items.len()).unwrap();
        let len = u32::try_from(items.len()).unwrap();
        self.0.items.extend(items);
        self.0.push(Node::Array(Span { start, len })).unwrap()
    }

    /// An object of `entries` (duplicate keys merged as in parsing).
    pub(crate) fn object(&mut self, entries: Vec<(Text<'a>, NodeId)>) -> NodeId {
        let (entries, shadowed) = merge_duplicate_keys(
            entries
                .into_iter()
                .map(|(key, id)| (key, id, NO_SLOT))
                .collect(),
        );
        let start = u32::try_from(self.0.entries.len()).unwrap();
        if !shadowed.is_empty() {
            self.0.shadowed.insert(start, shadowed);
        }
        let len = u32::try_from(entries.len()).unwrap();
        self.0.entries.extend(entries);
        self.0.push(Node::Object(Span { start, len })).unwrap()
    }
}

/// A decoded JSON string or object key.
///
/// INVARIANT: a `Plain` text is a slice of the input holding no character
/// JSON requires escaped (`"`, `\`, control characters), so it is written
/// out as is; only the parser makes one.
#[derive(Debug, Clone)]
pub(crate) struct Text<'a>(Repr<'a>);

#[derive(Debug, Clone)]
enum Repr<'a> {
    /// Input text that needs no escaping.
    Plain(&'a str),
    /// Any text: escaped when written.
    Decoded(Cow<'a, str>),
}

impl<'a> Text<'a> {
    /// An owned text.
    pub(crate) fn owned(text: String) -> Self {
        Text(Repr::Decoded(Cow::Owned(text)))
    }

    /// A constant text.
    pub(crate) fn from_static(text: &'static str) -> Self {
        Text(Repr::Decoded(Cow::Borrowed(text)))
    }

    /// The decoded text.
    pub(crate) fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Plain(text) => text,
            Repr::Decoded(text) => text,
        }
    }

    /// Whether this borrows input text that needs no escaping.
    #[cfg(test)]
    pub(crate) fn is_plain(&self) -> bool {
        matches!(self.0, Repr::Plain(_))
    }
}

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// Objects up to this many entries are checked for duplicate keys pairwise
/// (at most 120 comparisons, no allocation); larger ones by sorting.
const PAIRWISE_MAX: usize = 16;

/// Whether two entries share a key. O(n log n) at worst.
fn has_duplicate_keys(entries: &[Entry<'_>]) -> bool {
    if entries.len() <= PAIRWISE_MAX {
        // Length and last byte first: most distinct keys differ there, and
        // the full comparison is a library call.
        let same = |a: &str, b: &str| {
            a.len() == b.len() && a.as_bytes().last() == b.as_bytes().last() && a == b
        };
        return entries.iter().enumerate().any(|(i, (key, _, _))| {
            entries
                .get(..i)
                .unwrap_or_default()
                .iter()
                .any(|(seen, _, _)| same(seen, key))
        });
    }
    let mut keys: Vec<&str> = entries.iter().map(|(key, _, _)| key.as_str()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|pair| pair[0] == pair[1])
}

/// `entries` with equal keys merged: the first key's position, the last
/// value (as `serde_json::Map` does). O(n log n). The values the merge
/// hides are returned too ([`Doc::shadowed`]).
fn merge_duplicate_keys<'a>(entries: Vec<Entry<'a>>) -> (Vec<Entry<'a>>, Vec<(Text<'a>, NodeId)>) {
    if !has_duplicate_keys(&entries) {
        return (entries, Vec::new());
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    // Stable: equal keys stay in input order, so a group runs first..last.
    order.sort_by(|&a, &b| entries[a].0.as_str().cmp(entries[b].0.as_str()));
    // For each kept position, the index whose value it takes.
    let mut source: Vec<Option<usize>> = vec![None; entries.len()];
    for group in order.chunk_by(|&a, &b| entries[a].0 == entries[b].0) {
        if let (Some(&first), Some(&last)) = (group.first(), group.last()) {
            source[first] = Some(last);
        }
    }
    let values: Vec<NodeId> = entries.iter().map(|(_, id, _)| *id).collect();
    let mut shadowed = Vec::new();
    for group in order.chunk_by(|&a, &b| entries[a].0 == entries[b].0) {
        for &hidden in group.iter().take(group.len().saturating_sub(1)) {
            if let (Some(entry), Some(id)) = (entries.get(hidden), values.get(hidden)) {
                shadowed.push((entry.0.clone(), *id));
            }
        }
    }
    let merged = entries
        .into_iter()
        .zip(source)
        .filter_map(|((key, _, slot), source)| Some((key, *values.get(source?)?, slot)))
        .collect();
    (merged, shadowed)
}

/// Gives each distinct plain key name of a document one [`Memo`]: an
/// open-addressing table (linear probing, at most half full) of memo slots
/// by the name's first 16 bytes and length, which decide equality for the
/// usual short names without a byte comparison.
#[derive(Debug, Default)]
struct Interner<'a> {
    /// [`Probe`]s, with a slot plus one (`0`: a free entry).
    table: Vec<(Probe, u32)>,
    /// The name of each slot.
    names: Vec<&'a str>,
}

/// A name's first 16 bytes (zero beyond its end) and its length: equal
/// probes are equal names when the length is at most 16.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Probe {
    head: [u64; 2],
    len: u64,
}

impl Probe {
    /// The probe of `name`, which starts at `at` in `input` (read as two
    /// words when 16 bytes are there to read).
    fn of(name: &str, input: &[u8], at: usize) -> Probe {
        let len = name.len();
        let head = match input.get(at..at.saturating_add(16)) {
            Some(&[a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7]) => {
                let keep = |word: u64, bytes: usize| match bytes {
                    0 => 0,
                    1..=7 => word & ((1u64 << (8 * bytes)) - 1),
                    _ => word,
                };
                [
                    keep(u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]), len),
                    keep(
                        u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
                        len.saturating_sub(8),
                    ),
                ]
            }
            _ => {
                let mut bytes = [0u8; 16];
                for (to, from) in bytes.iter_mut().zip(name.bytes()) {
                    *to = from;
                }
                let (a, b) = bytes.split_at(8);
                let word = |half: &[u8]| {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(half);
                    u64::from_le_bytes(word)
                };
                [word(a), word(b)]
            }
        };
        Probe {
            head,
            len: len as u64,
        }
    }

    /// Where in a table of `2^bits` entries this probe starts.
    fn start(self, bits: u32) -> usize {
        let mixed = (self.head[0] ^ self.head[1].rotate_left(29) ^ self.len)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> (64 - bits)) as usize
    }
}

impl<'a> Interner<'a> {
    /// The memo slot of `name` (a plain key starting at `at` in `input`; a
    /// new slot in `memos` for a name not seen before), or [`NO_SLOT`] when
    /// it gets none: too long, past [`MAX_INTERNED`], or past
    /// [`MAX_PROBES`].
    fn intern(&mut self, name: &'a str, input: &[u8], at: usize, memos: &mut Vec<Memo>) -> u32 {
        if name.len() > MAX_INTERNED_BYTES {
            return NO_SLOT;
        }
        let probe = Probe::of(name, input, at);
        let full = self.table.len() < 2 * (self.names.len() + 1) && !self.grow();
        let bits = self.table.len().trailing_zeros();
        let mask = self.table.len().wrapping_sub(1);
        let mut index = if bits == 0 { 0 } else { probe.start(bits) };
        for _ in 0..MAX_PROBES {
            let Some(entry) = self.table.get_mut(index) else {
                break;
            };
            match *entry {
                (_, 0) if full => break,
                (_, 0) => {
                    let Ok(slot) = u32::try_from(self.names.len()) else {
                        break;
                    };
                    *entry = (probe, slot + 1);
                    self.names.push(name);
                    memos.push(Memo::default());
                    return slot;
                }
                (stored, plus_one) if stored == probe => {
                    let slot = plus_one - 1;
                    if name.len() <= 16 || self.names.get(slot as usize) == Some(&name) {
                        return slot;
                    }
                }
                _ => {}
            }
            index = (index + 1) & mask;
        }
        NO_SLOT
    }

    /// Doubles the table (64 entries at first), unless that would intern
    /// more than [`MAX_INTERNED`] names. A name that no longer fits within
    /// [`MAX_PROBES`] of its place loses nothing but its later hits.
    fn grow(&mut self) -> bool {
        let size = (self.table.len() * 2).max(64);
        if size / 2 > MAX_INTERNED {
            return false;
        }
        let mut table = vec![(Probe::default(), 0u32); size];
        let bits = size.trailing_zeros();
        let mask = size - 1;
        for (probe, plus_one) in self.table.drain(..).filter(|(_, slot)| *slot != 0) {
            let mut index = probe.start(bits);
            for _ in 0..MAX_PROBES {
                match table.get_mut(index) {
                    Some(entry @ (_, 0)) => {
                        *entry = (probe, plus_one);
                        break;
                    }
                    Some(_) => index = (index + 1) & mask,
                    None => break,
                }
            }
        }
        self.table = table;
        true
    }
}

/// Why a body is not JSON: where reading stopped, as a byte offset (never
/// any of the body's text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not valid JSON at byte {offset}")]
pub(crate) struct ParseError {
    offset: usize,
}

/// Deepest nesting of arrays and objects accepted: serde_json's recursion
/// limit of 128 also stops at the 128th level.
pub(crate) const MAX_DEPTH: usize = 127;

/// Parses `bytes` as one JSON document (RFC 8259; nothing but whitespace
/// after it), accepting exactly what `serde_json::from_slice` accepts.
pub(crate) fn parse(bytes: &[u8]) -> Result<Doc<'_>, ParseError> {
    // Validating the whole body once lets every string borrow a slice of it.
    // Invalid UTF-8 anywhere is an error for serde_json too: outside a
    // string any byte above 0x7f is a syntax error. simdutf8 accepts and
    // refuses exactly what `std::str::from_utf8` does (and reports the same
    // `valid_up_to`), several times faster on Chinese text, where std's
    // check was a tenth of a 64 KB body's redaction.
    let text = simdutf8::compat::from_utf8(bytes).map_err(|e| ParseError {
        offset: e.valid_up_to(),
    })?;
    let mut parser = Parser {
        text,
        bytes,
        pos: 0,
        // Typical record bodies hold a value per ~20 bytes and an object
        // entry per ~25; growing past the guess only costs a copy.
        doc: Doc {
            nodes: Vec::with_capacity(bytes.len() / 16),
            items: Vec::new(),
            entries: Vec::with_capacity(bytes.len() / 32),
            memos: Vec::new(),
            shadowed: BTreeMap::new(),
            root: NodeId(0),
        },
        ids: Vec::new(),
        entries: Vec::new(),
        interner: Interner::default(),
    };
    let parsed = parser.value(0).and_then(|root| {
        parser.skip_whitespace();
        if parser.pos == bytes.len() {
            Ok(root)
        } else {
            Err(Fail)
        }
    });
    match parsed {
        Ok(root) => {
            parser.doc.root = root;
            Ok(parser.doc)
        }
        Err(Fail) => Err(ParseError { offset: parser.pos }),
    }
}

/// Parsing failed at the parser's position.
struct Fail;

/// Bytes that end the plain run of a string: `"`, `\` and control
/// characters (which JSON requires escaped).
const STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The index of the first of the eight bytes of `word` (little-endian) in
/// [`STRING_STOP`] — a control character (below 0x20), `"` or `\\` — if any.
///
/// The classic "has a byte less than n" / "has a zero byte" bit tricks: a
/// flag can be wrong only above a true one (a borrow carries upward), so the
/// lowest flag is exact.
fn first_stop(word: u64) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES * 0x80;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let flags = below(word, 0x20) | below(quote, 1) | below(backslash, 1);
    // At most 63 / 8 = 7: the cast cannot truncate.
    (flags != 0).then(|| (flags.trailing_zeros() / 8) as usize)
}

/// A recursive-descent reader over a UTF-8-validated body.
///
/// Every value read goes into `doc.nodes`; the ids of the items (and the
/// entries) of the containers being read wait on `ids` (and `entries`),
/// innermost last, until their container ends and moves them into `doc`.
struct Parser<'a> {
    /// The body, validated.
    text: &'a str,
    /// `text` as bytes.
    bytes: &'a [u8],
    /// Next byte to read.
    pos: usize,
    /// What has been read.
    doc: Doc<'a>,
    /// Ids of values read and not yet placed in their container.
    ids: Vec<NodeId>,
    /// Entries of the objects being read, innermost last.
    entries: Vec<Entry<'a>>,
    /// The distinct key names read so far.
    interner: Interner<'a>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Consumes `byte` or fails.
    fn expect(&mut self, byte: u8) -> Result<(), Fail> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Fail)
        }
    }

    /// `text[start..end]`, failing instead of panicking off a boundary.
    fn slice(&self, start: usize, end: usize) -> Result<&'a str, Fail> {
        self.text.get(start..end).ok_or(Fail)
    }

    /// Reads one value, inside `depth` arrays and objects, into the document.
    fn value(&mut self, depth: usize) -> Result<NodeId, Fail> {
        self.skip_whitespace();
        let node = match self.peek() {
            Some(b'{') => self.object(depth + 1)?,
            Some(b'[') => self.array(depth + 1)?,
            Some(b'"') => Node::Str(self.string()?),
            Some(b't') => self.literal(b"true", Node::True)?,
            Some(b'f') => self.literal(b"false", Node::False)?,
            Some(b'n') => self.literal(b"null", Node::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(Fail),
        };
        self.doc.push(node).ok_or(Fail)
    }

    fn literal(&mut self, word: &[u8], node: Node<'a>) -> Result<Node<'a>, Fail> {
        let end = self.pos.saturating_add(word.len());
        if self.bytes.get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(node)
        } else {
            Err(Fail)
        }
    }

    /// The members of an array or object, after its opening byte and up
    /// to and including `close`: none, or `item` (which reads one) then
    /// more after each comma.
    fn items(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), Fail>,
    ) -> Result<(), Fail> {
        self.skip_whitespace();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Fail),
            }
        }
    }

    /// An array starting at its `[`, at nesting level `depth`.
    fn array(&mut self, depth: usize) -> Result<Node<'a>, Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail);
        }
        self.pos += 1;
        let pending = self.ids.len();
        self.items(b']', |p| {
            let item = p.value(depth)?;
            p.ids.push(item);
            Ok(())
        })?;
        let start = u32::try_from(self.doc.items.len()).map_err(|_| Fail)?;
        let len = u32::try_from(self.ids.len() - pending).map_err(|_| Fail)?;
        self.doc.items.extend(self.ids.drain(pending..));
        Ok(Node::Array(Span { start, len }))
    }

    /// An object starting at its `{`, at nesting level `depth`.
    fn object(&mut self, depth: usize) -> Result<Node<'a>, Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail);
        }
        self.pos += 1;
        let pending = self.entries.len();
        self.items(b'}', |p| {
            p.skip_whitespace();
            if p.peek() != Some(b'"') {
                return Err(Fail);
            }
            let at = p.pos + 1;
            let key = p.string()?;
            let slot = match key.0 {
                Repr::Plain(name) if p.bytes.len() >= INTERN_FROM_BYTES => {
                    p.interner.intern(name, p.bytes, at, &mut p.doc.memos)
                }
                _ => NO_SLOT,
            };
            // The value's id is set once it is read (nested objects push and
            // take their own entries above this one meanwhile).
            p.entries.push((key, NodeId(0), slot));
            p.skip_whitespace();
            p.expect(b':')?;
            let value = p.value(depth)?;
            if let Some(entry) = p.entries.last_mut() {
                entry.1 = value;
            }
            Ok(())
        })?;
        let start = u32::try_from(self.doc.entries.len()).map_err(|_| Fail)?;
        self.doc.entries.extend(self.entries.drain(pending..));
        let new = self.doc.entries.get(start as usize..).unwrap_or_default();
        if has_duplicate_keys(new) {
            let (merged, shadowed) =
                merge_duplicate_keys(self.doc.entries.split_off(start as usize));
            self.doc.entries.extend(merged);
            self.doc.shadowed.insert(start, shadowed);
        }
        let len = u32::try_from(self.doc.entries.len() - start as usize).map_err(|_| Fail)?;
        Ok(Node::Object(Span { start, len }))
    }

    /// Advances past bytes that need no decoding in a string.
    fn skip_plain(&mut self) {
        // Eight bytes at a time while at least eight are left.
        while let Some(chunk) = self.bytes.get(self.pos..self.pos.saturating_add(8)) {
            let Ok(chunk) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            match first_stop(u64::from_le_bytes(chunk)) {
                Some(offset) => {
                    self.pos += offset;
                    return;
                }
                None => self.pos += 8,
            }
        }
        while let Some(&b) = self.bytes.get(self.pos) {
            if STRING_STOP[usize::from(b)] {
                return;
            }
            self.pos += 1;
        }
    }

    /// A string starting at its `"`: borrowed when it has no escapes.
    ///
    /// Inlined: returned through memory, the 24-byte text was written as
    /// words and read back as a 16-byte move, a store-forwarding stall that
    /// cost ~4 % of a 66 KB body's `apply`; strings with escapes take the
    /// out-of-line path.
    #[inline(always)]
    fn string(&mut self) -> Result<Text<'a>, Fail> {
        self.pos += 1;
        let start = self.pos;
        self.skip_plain();
        if self.peek() == Some(b'"') {
            let text = self.slice(start, self.pos)?;
            self.pos += 1;
            return Ok(Text(Repr::Plain(text)));
        }
        self.escaped_string(start)
    }

    /// The rest of a string from its first escape (or the control character
    /// or end of body that makes it invalid), the plain run from `start`
    /// already read.
    #[inline(never)]
    fn escaped_string(&mut self, start: usize) -> Result<Text<'a>, Fail> {
        let mut owned = String::from(self.slice(start, self.pos)?);
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Text::owned(owned));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    owned.push(self.escape()?);
                }
                // A control character, or the end of the body.
                _ => return Err(Fail),
            }
            let run = self.pos;
            self.skip_plain();
            owned.push_str(self.slice(run, self.pos)?);
        }
    }

    /// The character of the escape after a `\`. A `\u` escape of a UTF-16
    /// surrogate must be a high one followed by a `\u` low one.
    fn escape(&mut self) -> Result<char, Fail> {
        let kind = self.peek().ok_or(Fail)?;
        self.pos += 1;
        let c = match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = match first {
                    0xD800..=0xDBFF => {
                        self.expect(b'\\')?;
                        self.expect(b'u')?;
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(Fail);
                        }
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    }
                    _ => first,
                };
                // `None` for a lone low surrogate.
                char::from_u32(code).ok_or(Fail)?
            }
            _ => return Err(Fail),
        };
        Ok(c)
    }

    /// Four hex digits (either case).
    fn hex4(&mut self) -> Result<u32, Fail> {
        let end = self.pos.saturating_add(4);
        let digits = self.bytes.get(self.pos..end).ok_or(Fail)?;
        let mut code = 0u32;
        for &digit in digits {
            code = code * 16 + char::from(digit).to_digit(16).ok_or(Fail)?;
        }
        self.pos = end;
        Ok(code)
    }

    fn skip_digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number, converted as serde_json converts it: an integer fitting
    /// `u64` (non-negative) or `i64` (negative) stays an integer ([`Node::Int`]),
    /// anything else — a fraction, an exponent, `-0`, a bigger integer —
    /// becomes the nearest `f64` (correctly rounded, as with
    /// `float_roundtrip`); beyond `f64` range is an error.
    fn number(&mut self) -> Result<Node<'a>, Fail> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        match self.peek() {
            // A leading zero stands alone: `01` leaves `1` for the caller,
            // which then fails as serde_json does.
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.skip_digits();
            }
            _ => return Err(Fail),
        }
        let digits_end = self.pos;
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.skip_digits() == 0 {
                return Err(Fail);
            }
            integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.skip_digits() == 0 {
                return Err(Fail);
            }
            integer = false;
        }
        if integer {
            let digits = self.slice(digits_start, digits_end)?;
            // Up to 18 digits always fit; `-0` is the float -0.0, as in
            // serde_json.
            let fits = if negative {
                digits != "0"
                    && (digits.len() <= 18
                        || digits
                            .parse::<u64>()
                            .is_ok_and(|magnitude| magnitude <= 1 << 63))
            } else {
                digits.len() <= 18 || digits.parse::<u64>().is_ok()
            };
            if fits {
                return Ok(Node::Int(self.slice(start, self.pos)?));
            }
        }
        // Kept as written (`1e-400`, `-0`, `1E2`, big integers): the
        // grammar was checked above. Its value is computed only to refuse
        // one beyond `f64` range (`1e400`), as serde_json does (the
        // gateway's clients, its tests and the fuzz target read the answer
        // with serde_json); it was computed for every such number before.
        let text = self.slice(start, self.pos)?;
        let value: f64 = text.parse().map_err(|_| Fail)?;
        if value.is_finite() {
            Ok(Node::Number(text))
        } else {
            Err(Fail)
        }
    }
}

/// Serialises `doc` as compact JSON, reserving `size_hint` bytes up front.
///
/// Byte for byte what `serde_json::to_vec` writes for the same value:
/// strings escape `"`, `\\` and control characters (`\b \f \n \r \t`, else
/// `\u00xx`) and nothing else; numbers are formatted by serde_json.
pub(crate) fn to_vec(doc: &Doc<'_>, size_hint: usize) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(size_hint);
    write(doc, doc.root, &mut out)?;
    Ok(out)
}

fn write(doc: &Doc<'_>, id: NodeId, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    match doc.node(id) {
        // Only a removed top-level value is written here (as `null`, as a
        // removed `Value` would be); removed children are skipped below.
        Node::Null | Node::Gone => out.extend_from_slice(b"null"),
        Node::True => out.extend_from_slice(b"true"),
        Node::False => out.extend_from_slice(b"false"),
        Node::Int(text) => out.extend_from_slice(text.as_bytes()),
        Node::Number(text) => out.extend_from_slice(text.as_bytes()),
        Node::Str(text) => write_text(text, out),
        Node::Array(span) => {
            out.push(b'[');
            for (i, item) in doc.items(*span).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(doc, item, out)?;
            }
            out.push(b']');
        }
        Node::Object(span) => {
            out.push(b'{');
            let mut first = true;
            for index in span.indices() {
                let Some((key, value, _)) = doc.entries.get(index) else {
                    continue;
                };
                if !doc.is_live(*value) {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                write_text(key, out);
                out.push(b':');
                write(doc, *value, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// How serde_json escapes each byte: 0 for none, `u` for `\u00xx`, else the
/// letter after the backslash.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

fn write_text(text: &Text<'_>, out: &mut Vec<u8>) {
    match &text.0 {
        Repr::Plain(text) => {
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        }
        Repr::Decoded(text) => write_str(text, out),
    }
}

/// Writes `text` as a JSON string, escaped as serde_json escapes it.
fn write_str(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.push(b'"');
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(b)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(bytes.get(plain..i).unwrap_or_default());
        if escape == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.push(b'\\');
            out.push(escape);
        }
        plain = i + 1;
    }
    out.extend_from_slice(bytes.get(plain..).unwrap_or_default());
    out.push(b'"');
}

#[cfg(test)]
mod tests;
