//! The parsed body: an ordered JSON tree that borrows from the input bytes.
//!
//! Owns reading and writing JSON for the crate, with serde_json's behaviour
//! as the contract (tests compare the two on generated and mutated input):
//! - parsing accepts exactly what `serde_json::from_slice` accepts — RFC 8259
//!   with UTF-8 validated, escapes and surrogate pairs checked, nothing but
//!   whitespace after the value, and at most [`MAX_DEPTH`] nested arrays and
//!   objects (serde_json's recursion limit), so every walk of the tree is
//!   bounded;
//! - numbers convert as serde_json converts them (`float_roundtrip`: exact
//!   floats; integers beyond 64 bits become floats; beyond `f64` is an
//!   error), and are written by serde_json's own formatter;
//! - writing produces the bytes `serde_json::to_vec` would for the same
//!   value (same string escaping, compact).
//!
//! Compared with `serde_json::Value` under `preserve_order`, an object is a
//! plain vector of entries instead of a SipHash-indexed map, and a string or
//! key without escapes borrows the input instead of allocating (and is
//! written back without re-scanning). Keys are held decoded
//! (`"rel\u0069gion"` is `religion`), so every comparison sees the name a
//! JSON reader sees.
//!
//! Duplicate keys in one object behave as in `Value`: the last value wins and
//! takes the first key's position. Detecting them is a pairwise scan for small
//! objects and a sort for large ones, never quadratic in the object's size.

use std::borrow::Cow;
use std::ops::Deref;

use serde_json::Number;

/// One JSON value, borrowing unescaped strings from the input.
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
    /// Any other number, as serde_json reads it (`float_roundtrip`: exact
    /// floats; integers beyond 64 bits become floats).
    Number(Number),
    /// A string, decoded.
    Str(Text<'a>),
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

/// A JSON object: entries in input order.
///
/// INVARIANT: keys are unique (bytewise, decoded). Parsing merges duplicates;
/// the methods here never create one, and keys cannot be changed in place.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Object<'a> {
    entries: Vec<(Text<'a>, Node<'a>)>,
}

impl<'a> Object<'a> {
    /// Entries from `entries`, merging duplicate keys: the last value wins
    /// and takes the first key's position (as `serde_json::Map` does).
    pub(crate) fn from_entries(mut entries: Vec<(Text<'a>, Node<'a>)>) -> Self {
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
    pub(crate) fn insert(&mut self, key: &'static str, value: Node<'a>) {
        match self.get_mut(key) {
            Some(slot) => *slot = value,
            None => self.entries.push((Text::from_static(key), value)),
        }
    }

    /// Entries in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Node<'a>)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value))
    }

    /// Entries in order, values mutable.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Node<'a>)> {
        self.entries.iter_mut().map(|(key, value)| {
            // Keys are read-only: the no-duplicates invariant holds.
            let key: &Text<'a> = key;
            (key.as_str(), value)
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
fn has_duplicate_keys(entries: &[(Text<'_>, Node<'_>)]) -> bool {
    if entries.len() <= PAIRWISE_MAX {
        // Length and last byte first: most distinct keys differ there, and
        // the full comparison is a library call.
        let same = |a: &str, b: &str| {
            a.len() == b.len() && a.as_bytes().last() == b.as_bytes().last() && a == b
        };
        return entries.iter().enumerate().any(|(i, (key, _))| {
            entries
                .get(..i)
                .unwrap_or_default()
                .iter()
                .any(|(seen, _)| same(seen, key))
        });
    }
    let mut keys: Vec<&str> = entries.iter().map(|(key, _)| key.as_str()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|pair| pair[0] == pair[1])
}

/// Merges entries with equal keys: the first key's position, the last value.
/// O(n log n).
fn merge_duplicate_keys<'a>(entries: Vec<(Text<'a>, Node<'a>)>) -> Vec<(Text<'a>, Node<'a>)> {
    let len = entries.len();
    let mut order: Vec<usize> = (0..len).collect();
    // Stable: equal keys stay in input order, so a group runs first..last.
    order.sort_by(|&a, &b| entries[a].0.as_str().cmp(entries[b].0.as_str()));
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
pub(crate) fn parse(bytes: &[u8]) -> Result<Node<'_>, ParseError> {
    // Validating the whole body once lets every string borrow a slice of it.
    // Invalid UTF-8 anywhere is an error for serde_json too: outside a
    // string any byte above 0x7f is a syntax error.
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError {
        offset: e.valid_up_to(),
    })?;
    let mut parser = Parser {
        text,
        bytes,
        pos: 0,
        values: Vec::new(),
        keys: Vec::new(),
    };
    let parsed = parser.value(0).and_then(|()| {
        parser.skip_whitespace();
        if parser.pos == bytes.len() {
            parser.values.pop().ok_or(Fail)
        } else {
            Err(Fail)
        }
    });
    parsed.map_err(|Fail| ParseError { offset: parser.pos })
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
/// Every value read is pushed on `values` (object keys on `keys`); a
/// finished array or object moves its tail of the stacks into vectors of
/// exactly its size — one allocation per container, no growing.
struct Parser<'a> {
    /// The body, validated.
    text: &'a str,
    /// `text` as bytes.
    bytes: &'a [u8],
    /// Next byte to read.
    pos: usize,
    /// Values read and not yet placed in their container, innermost last.
    values: Vec<Node<'a>>,
    /// Keys of the objects being read, innermost last.
    keys: Vec<Text<'a>>,
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

    /// Reads one value, inside `depth` arrays and objects, onto `values`.
    fn value(&mut self, depth: usize) -> Result<(), Fail> {
        self.skip_whitespace();
        let node = match self.peek() {
            Some(b'{') => return self.object(depth + 1),
            Some(b'[') => return self.array(depth + 1),
            Some(b'"') => Node::Str(self.string()?),
            Some(b't') => self.literal(b"true", Node::True)?,
            Some(b'f') => self.literal(b"false", Node::False)?,
            Some(b'n') => self.literal(b"null", Node::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(Fail),
        };
        self.values.push(node);
        Ok(())
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

    /// An array starting at its `[`, at nesting level `depth`.
    fn array(&mut self, depth: usize) -> Result<(), Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail);
        }
        self.pos += 1;
        self.skip_whitespace();
        let start = self.values.len();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                self.value(depth)?;
                self.skip_whitespace();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(Fail),
                }
            }
        }
        let items = self.values.drain(start..).collect();
        self.values.push(Node::Array(items));
        Ok(())
    }

    /// An object starting at its `{`, at nesting level `depth`.
    fn object(&mut self, depth: usize) -> Result<(), Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail);
        }
        self.pos += 1;
        self.skip_whitespace();
        let start = self.values.len();
        let keys_start = self.keys.len();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_whitespace();
                if self.peek() != Some(b'"') {
                    return Err(Fail);
                }
                let key = self.string()?;
                self.keys.push(key);
                self.skip_whitespace();
                self.expect(b':')?;
                self.value(depth)?;
                self.skip_whitespace();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(Fail),
                }
            }
        }
        let entries = self
            .keys
            .drain(keys_start..)
            .zip(self.values.drain(start..))
            .collect();
        self.values
            .push(Node::Object(Object::from_entries(entries)));
        Ok(())
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
    fn string(&mut self) -> Result<Text<'a>, Fail> {
        self.pos += 1;
        let start = self.pos;
        self.skip_plain();
        if self.peek() == Some(b'"') {
            let text = self.slice(start, self.pos)?;
            self.pos += 1;
            return Ok(Text(Repr::Plain(text)));
        }
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
        let value: f64 = self.slice(start, self.pos)?.parse().map_err(|_| Fail)?;
        // Infinite (out of range) fails, as in serde_json.
        Number::from_f64(value).map(Node::Number).ok_or(Fail)
    }
}

/// Serialises `node` as compact JSON, reserving `size_hint` bytes up front.
///
/// Byte for byte what `serde_json::to_vec` writes for the same value:
/// strings escape `"`, `\` and control characters (`\b \f \n \r \t`, else
/// `\u00xx`) and nothing else; numbers are formatted by serde_json.
pub(crate) fn to_vec(node: &Node<'_>, size_hint: usize) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(size_hint);
    write(node, &mut out)?;
    Ok(out)
}

fn write(node: &Node<'_>, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    match node {
        Node::Null => out.extend_from_slice(b"null"),
        Node::True => out.extend_from_slice(b"true"),
        Node::False => out.extend_from_slice(b"false"),
        Node::Int(text) => out.extend_from_slice(text.as_bytes()),
        Node::Number(number) => serde_json::to_writer(&mut *out, number)?,
        Node::Str(text) => write_text(text, out),
        Node::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Node::Object(object) => {
            out.push(b'{');
            for (i, (key, value)) in object.entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_text(key, out);
                out.push(b':');
                write(value, out)?;
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
