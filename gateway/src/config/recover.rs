//! Reading `gateway.toml` past its serde errors, so that one run reports
//! every error of the file (SPEC: `policy check` reports every error).
//!
//! serde stops at the first value of the wrong type or the first missing
//! required key. On such an error the error is recorded (with the message
//! and position it always had) and the text is edited so that the next
//! deserialisation gets further:
//!
//! * a value of the wrong type: its whole `key = value` is blanked out
//!   (every byte but newlines becomes a space), so every other byte keeps
//!   its offset and the spans of the next round are positions in the
//!   original file (when the key was required, the next round finds it
//!   missing: a placeholder is added as below, and that second error about
//!   the same key is not reported);
//! * a missing required key: a placeholder is inserted (`key = ""`, or
//!   `url = "https://…"` so the https-only checks of its neighbours do not
//!   speak about a URL nobody wrote, or an empty `[table]` for a missing
//!   top-level table). The insertions are remembered in an [`OffsetMap`]:
//!   a position after one is moved back, and a diagnostic *inside* one (a
//!   placeholder's own semantic errors, a key missing from a placeholder
//!   table) is dropped, since the missing key was already reported.
//!
//! Every edit is checked: the edited text must parse to exactly the
//! previous document with that one key removed (or added). When an error
//! cannot be handled that way (a syntax error, no span, a key in an inline
//! table that goes missing, a placeholder of the wrong type, too many
//! rounds), recovery stops and only the errors found so far are reported.
//! A document that was edited never becomes a `Config`: the errors that
//! caused the edits are always reported.

use std::ops::Range;

use policy::diag::{from_toml_error, Diagnostic};
use serde::de::DeserializeOwned;
use toml_edit::{Item, TableLike, Value};

use super::toml_keys::{key_steps, KeyStep};

/// Rounds of deserialisation before giving up (one per error found).
const MAX_ROUNDS: usize = 64;

/// Where the placeholders inserted into a text are, to move a position of
/// the edited text back to the original one.
#[derive(Debug, Default)]
pub(super) struct OffsetMap {
    /// `(at, len)`: `len` bytes inserted at offset `at` of the text as it
    /// was then, in the order they were inserted.
    inserted: Vec<(usize, usize)>,
}

impl OffsetMap {
    /// The original offset of `offset` of the edited text; `None` inside a
    /// placeholder.
    pub(super) fn to_original(&self, offset: usize) -> Option<usize> {
        let mut o = offset;
        for &(at, len) in self.inserted.iter().rev() {
            if o >= at.saturating_add(len) {
                o -= len;
            } else if o >= at {
                return None;
            }
        }
        Some(o)
    }
}

/// What deserialising (with recovery) gave.
pub(super) struct Recovered<T> {
    /// The model, unless recovery had to stop.
    pub(super) raw: Option<T>,
    /// The text `raw` was read from (its spans are positions in it).
    pub(super) text: String,
    /// The unknown keys of `text`.
    pub(super) unknown: Vec<Vec<KeyStep>>,
    /// The serde errors, positioned in the original text.
    pub(super) diags: Vec<Diagnostic>,
    /// From positions of `text` to positions of the original.
    pub(super) map: OffsetMap,
    /// Whether `text` differs from the original.
    pub(super) edited: bool,
}

/// Deserialise `text` as `T`, collecting unknown keys; on a serde error,
/// record it, edit the text and try again (see the module docs).
pub(super) fn deserialize<T: DeserializeOwned>(file: &str, text: &str) -> Recovered<T> {
    let mut current = text.to_owned();
    let mut map = OffsetMap::default();
    let mut diags = Vec::new();
    let mut edited = false;
    // The keys removed so far (their values were of the wrong type).
    let mut removed: Vec<Vec<KeyStep>> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let mut unknown = Vec::new();
        let parsed: Result<T, _> =
            serde_ignored::deserialize(toml::Deserializer::new(&current), |p| {
                unknown.push(key_steps(&p));
            });
        let err = match parsed {
            Ok(raw) => {
                return Recovered {
                    raw: Some(raw),
                    text: current,
                    unknown,
                    diags,
                    map,
                    edited,
                }
            }
            Err(e) => e,
        };
        let message = from_toml_error(file, &current, &err).message;
        let step = next_step(&current, &err);
        let Some(step) = step else {
            // Recovery stops here: report this error too, if it is in the
            // file (an error inside a placeholder is not the user's) and
            // is not a key missing where an earlier round removed one.
            let offset = err.span().map_or(0, |s| s.start);
            let consequence = edited && missing_field(err.message()).is_some();
            if let (Some(o), false) = (map.to_original(offset), consequence) {
                diags.push(Diagnostic::at(file, text, o, message));
            }
            break;
        };
        match (map.to_original(step.report_at), &step.edit) {
            // A key missing because an earlier round removed it (its value
            // was of the wrong type): already reported.
            (Some(_), Edit::Insert { path, .. }) if removed.contains(path) => {}
            (Some(o), _) => diags.push(Diagnostic::at(file, text, o, message)),
            // A key missing from a placeholder table: a consequence of the
            // missing table, already reported.
            (None, Edit::Insert { .. }) => {}
            // A placeholder of the wrong type: stop.
            (None, Edit::Remove { .. }) => break,
        }
        let Some(next) = step.edit.apply(&current) else {
            break;
        };
        match step.edit {
            Edit::Insert { at, text: t, .. } => map.inserted.push((at, t.len())),
            Edit::Remove { path, .. } => removed.push(path),
        }
        current = next;
        edited = true;
    }
    diags.sort_by_key(|d| (d.line, d.column));
    Recovered {
        raw: None,
        text: current,
        unknown: Vec::new(),
        diags,
        map,
        edited,
    }
}

/// How the text is changed to get past one error.
enum Edit {
    /// Blank out `range` (the key of `path` and its value).
    Remove {
        range: Range<usize>,
        path: Vec<KeyStep>,
    },
    /// Insert `text` at `at`: the key `path` with `value`.
    Insert {
        at: usize,
        text: String,
        path: Vec<KeyStep>,
        value: toml::Value,
    },
}

impl Edit {
    /// The edited text, if it parses to the document before minus (plus)
    /// exactly that key.
    fn apply(&self, current: &str) -> Option<String> {
        let mut expected = toml::Value::Table(toml::from_str::<toml::Table>(current).ok()?);
        let next = match self {
            Edit::Remove { range, path } => {
                let (last, parent) = path.split_last()?;
                let KeyStep::Key(last) = last else {
                    return None;
                };
                walk(&mut expected, parent)?.as_table_mut()?.remove(last)?;
                let mut bytes = current.as_bytes().to_vec();
                for b in bytes.get_mut(range.clone())? {
                    if *b != b'\n' {
                        *b = b' ';
                    }
                }
                String::from_utf8(bytes).ok()?
            }
            Edit::Insert {
                at,
                text,
                path,
                value,
            } => {
                let (last, parent) = path.split_last()?;
                let KeyStep::Key(last) = last else {
                    return None;
                };
                let table = walk(&mut expected, parent)?.as_table_mut()?;
                if table.insert(last.clone(), value.clone()).is_some() {
                    return None;
                }
                let mut next = current.get(..*at)?.to_owned();
                next.push_str(text);
                next.push_str(current.get(*at..)?);
                next
            }
        };
        let got = toml::Value::Table(toml::from_str::<toml::Table>(&next).ok()?);
        (got == expected).then_some(next)
    }
}

/// The value at `path` below `v`.
fn walk<'a>(mut v: &'a mut toml::Value, path: &[KeyStep]) -> Option<&'a mut toml::Value> {
    for step in path {
        v = match step {
            KeyStep::Key(k) => v.as_table_mut()?.get_mut(k)?,
            KeyStep::Index(i) => v.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(v)
}

/// Where one error is reported (in the edited text) and the edit that
/// gets past it.
struct Step {
    report_at: usize,
    edit: Edit,
}

/// How to get past `err` in `current`, if it can be done.
fn next_step(current: &str, err: &toml::de::Error) -> Option<Step> {
    // A syntax error: nothing to recover from.
    let doc = toml_edit::ImDocument::parse(current).ok()?;
    let root = doc.as_table();
    if let Some(field) = missing_field(err.message()) {
        let span = err.span().filter(|s| !s.is_empty());
        let Some(span) = span else {
            // A top-level table is missing: an empty one at the end.
            return Some(Step {
                report_at: 0,
                edit: Edit::Insert {
                    at: current.len(),
                    text: format!("\n[{field}]\n"),
                    path: vec![KeyStep::Key(field.to_owned())],
                    value: toml::Value::Table(toml::Table::new()),
                },
            });
        };
        // A key is missing from the table with that span (one with a
        // `[header]`: the placeholder goes on the line after it).
        let mut path = Vec::new();
        if !header_table(root, &span, &mut path) {
            return None;
        }
        let at = match current.get(span.start..)?.find('\n') {
            Some(i) => span.start + i + 1,
            None => current.len(),
        };
        let value = if field == "url" {
            "https://placeholder.invalid"
        } else {
            ""
        };
        let newline = if at == current.len() { "\n" } else { "" };
        path.push(KeyStep::Key(field.to_owned()));
        return Some(Step {
            report_at: span.start,
            edit: Edit::Insert {
                at,
                text: format!("{newline}{field} = \"{value}\"\n"),
                path,
                value: toml::Value::String(value.to_owned()),
            },
        });
    }
    // A value of the wrong type: remove its key.
    let span = err.span()?;
    let mut path = Vec::new();
    let range = value_key(current, root, span.start, &Place::Standard, &mut path)?;
    Some(Step {
        report_at: span.start,
        edit: Edit::Remove { range, path },
    })
}

/// `missing field `name`` → `name` (a bare key only).
fn missing_field(message: &str) -> Option<&str> {
    let name = message.strip_prefix("missing field `")?.strip_suffix('`')?;
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    bare.then_some(name)
}

/// Find the `[header]` or `[[header]]` table whose span is `span`; `path`
/// is left as its path.
fn header_table(table: &toml_edit::Table, span: &Range<usize>, path: &mut Vec<KeyStep>) -> bool {
    for (k, item) in table.iter() {
        path.push(KeyStep::Key(k.to_owned()));
        let found = match item {
            Item::Table(t) => {
                (!t.is_dotted() && t.span().as_ref() == Some(span)) || header_table(t, span, path)
            }
            Item::ArrayOfTables(a) => find_indexed(a.iter(), path, |t, path| {
                (t.span().as_ref() == Some(span) || header_table(t, span, path)).then_some(())
            })
            .is_some(),
            Item::None | Item::Value(_) => false,
        };
        if found {
            return true;
        }
        path.pop();
    }
    false
}

/// Where a key-value is written, for the range to blank.
enum Place {
    /// In a `[header]` table or at the top level: one per line.
    Standard,
    /// Under a dotted key (`a.b = 1`): the key-value starts where that
    /// dotted key does.
    Dotted { start: usize, inline: bool },
    /// In an inline table (`{ a = 1, b = 2 }`).
    Inline,
}

/// The key whose value holds byte `at` (the innermost), as its path (left
/// in `path`) and the range of text that is that key-value.
fn value_key(
    text: &str,
    table: &dyn TableLike,
    at: usize,
    place: &Place,
    path: &mut Vec<KeyStep>,
) -> Option<Range<usize>> {
    for (k, item) in table.iter() {
        let key_start = table.key(k).and_then(toml_edit::Key::span).map(|s| s.start);
        let start_of_pair = match place {
            Place::Dotted { start, .. } => Some(*start),
            Place::Standard | Place::Inline => key_start,
        };
        let inline = matches!(place, Place::Inline | Place::Dotted { inline: true, .. });
        path.push(KeyStep::Key(k.to_owned()));
        let found = match item {
            Item::Value(v) if v.span().is_some_and(|s| s.contains(&at)) => {
                // The innermost key: look inside an inline table (or an
                // array of them) first.
                let deeper = match v {
                    Value::InlineTable(t) => {
                        let place =
                            nested_place(t.is_dotted(), start_of_pair, inline, Place::Inline)?;
                        value_key(text, t, at, &place, path)
                    }
                    Value::Array(a) => find_indexed(a.iter(), path, |e, path| {
                        value_key(text, e.as_inline_table()?, at, &Place::Inline, path)
                    }),
                    _ => None,
                };
                match deeper {
                    Some(r) => Some(r),
                    None => {
                        let end = v.span()?.end;
                        pair_range(text, start_of_pair?, end, inline)
                    }
                }
            }
            Item::Value(_) | Item::None => None,
            Item::Table(t) => {
                let place = nested_place(t.is_dotted(), start_of_pair, inline, Place::Standard)?;
                value_key(text, t, at, &place, path)
            }
            Item::ArrayOfTables(a) => find_indexed(a.iter(), path, |t, path| {
                value_key(text, t, at, &Place::Standard, path)
            }),
        };
        if found.is_some() {
            return found;
        }
        path.pop();
    }
    None
}

/// Where a nested table's own key-values are written: under its dotted
/// key (which starts at `start_of_pair`; `None` when that is unknown) if
/// it is dotted, else `otherwise`.
fn nested_place(
    dotted: bool,
    start_of_pair: Option<usize>,
    inline: bool,
    otherwise: Place,
) -> Option<Place> {
    Some(if dotted {
        Place::Dotted {
            start: start_of_pair?,
            inline,
        }
    } else {
        otherwise
    })
}

/// `find` on each item with its index pushed onto `path`: the index stays
/// for the item `find` answers for, and is popped for the others.
fn find_indexed<'a, T: 'a, R>(
    items: impl Iterator<Item = &'a T>,
    path: &mut Vec<KeyStep>,
    mut find: impl FnMut(&'a T, &mut Vec<KeyStep>) -> Option<R>,
) -> Option<R> {
    for (i, item) in items.enumerate() {
        path.push(KeyStep::Index(i));
        if let Some(found) = find(item, path) {
            return Some(found);
        }
        path.pop();
    }
    None
}

/// The text of a key-value from `start` (its first key) to `end` (its
/// value's end): from the start of its line in a standard table, with one
/// neighbouring comma in an inline table.
fn pair_range(text: &str, start: usize, end: usize, inline: bool) -> Option<Range<usize>> {
    let before = text.get(..start)?;
    if !inline {
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        return Some(line_start..end);
    }
    let after = text.get(end..)?;
    let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
    if after.get(gap..)?.starts_with(',') {
        return Some(start..end + gap + 1);
    }
    let trimmed = before.trim_end_matches([' ', '\t']);
    if trimmed.ends_with(',') {
        return Some(trimmed.len() - 1..end);
    }
    Some(start..end)
}
