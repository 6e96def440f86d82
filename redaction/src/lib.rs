//! # redaction — nothing prohibited leaves, nothing expired is served
//!
//! Transforms one upstream JSON document under a [`policy::Scope`]: removes
//! prohibited and unconsented keys, masks sensitive values by character,
//! drops records that may not be served (ungranted item, inquiry period over,
//! restored, withheld), labels records under objection, and reports what it
//! did as counts and key names.
//!
//! ## Layout
//! - [`apply`] (here): parse once, run the passes below in place, serialise
//!   once;
//! - `records`: record lifecycle — drop ungranted, restored, expired and
//!   withheld records, label records under objection; a record is any item
//!   of the records array and any object anywhere carrying `item` and
//!   `decided_on`;
//! - `keys`: the one walk over the body — records found outside the records
//!   array judged, key rules at any depth compared normalised
//!   ([`policy::keyname`]: NFKC, full case folding, letters and digits only;
//!   and, stricter than the SPEC's wording, a body key's default-ignorable
//!   code points dropped too: Hangul fillers such as U+3164 are letters to
//!   Unicode but invisible, so `relig\u{3164}ion` is `religion`)
//!   removing prohibited and unconsented keys and masking sensitive ones,
//!   value detectors on every string leaf, JSON held in a string redacted
//!   as JSON;
//! - `detect`: the value detectors (GB 11643 resident ids with their
//!   checksum, mainland mobile numbers) and their in-place masking;
//! - `mask`: masking one leaf by character;
//! - `names`: the normal form of the body's key names, each non-ASCII
//!   spelling normalised once per body (what a key's rule or record field
//!   is, once derived, is kept in its name's memo in the document, see
//!   `tree`);
//! - `tree`: the parsed body — an ordered JSON document in a few flat
//!   vectors, borrowing unescaped strings from the input; its own parser and
//!   writer accept and produce exactly what serde_json would (tested against
//!   it), without serde_json's per-value allocations.
//!
//! Lifecycle rules read the record fields as the upstream sent them, before
//! key rules touch that record; key rules then apply to the whole body,
//! records included.
//!
//! ## Decisions where the spec is silent (all fail closed)
//! - A record spelling a lifecycle field twice (`restored` / `Restored`):
//!   any set flag counts, the earliest date counts, two `item` fields mean
//!   not granted. Every top-level key spelled like the records field is
//!   filtered.
//! - Lifecycle flags: `restored` / `withheld_by_subject` are set unless JSON
//!   `false` (`null`, `"false"`, `0` count as set); `objection` is raised
//!   unless `null`, `false`, or a string that trimmed and case folded is
//!   empty or `none`.
//! - The top-level object carrying `item` and `decided_on` is refused
//!   ([`RedactionError::Shape`]); inside a string holding JSON, such a
//!   top-level record that may not be served removes the string.
//! - Detectors read string leaves and object keys (an 18-digit JSON
//!   integer passes the checksum one time in eleven, so numbers are not
//!   read). A key holding an id or a mobile is masked in place (reported
//!   in [`Report::detected`] and, under the fixed name `<key:id_number>`
//!   or `<key:phone>` — never its text, masked or not: the name and the
//!   digits around the value may be personal — in
//!   [`Report::masked_keys`]); when the masked key is already a key of
//!   that object, the member is removed (reported in
//!   [`Report::removed_keys`] under the same fixed name); JSON held in a string is followed at
//!   most 4 strings deep, a deeper one is removed. A string that does not
//!   parse as JSON here (trailing text, JSON Lines, a lone surrogate
//!   escape, `1e999`, nesting past the limit, an invisible prefix, a
//!   control character) but writes a quoted name followed by `:`
//!   (`"name"\s*:`, quotes maybe escaped, JSON escapes in the name
//!   decoded) that a key rule removes or masks for this scope, is removed
//!   whole (counted in [`Report::embedded_json_removed`], the name in
//!   [`Report::removed_keys`]): another reader may read it as JSON. Other
//!   text stays free text (still scanned by the detectors). The redacted JSON is
//!   written back compact, and the detectors run over that text too.
//! - `subject` and its `id` / `type` are read in any spelling (keys
//!   normalised as the field rules compare them). Every id is reported
//!   ([`Report::subject_ids`]); the body names one subject only when all
//!   are strings that agree, ASCII case aside. A `subject` that is neither
//!   an object nor `null` is reported as an id that cannot be read (the
//!   gateway refuses it on the subject routes).
//! - An untrustworthy item without `inquiry_period_days` has a period of 0
//!   days (only `punishment_ends` can keep its records).
//! - A mask key under another mask key masks its leaves with its own mask;
//!   a key the scope may see unmasked still gets an enclosing key's mask.
//! - A body nested deeper than serde_json's limit (128, i.e. 127 nested
//!   arrays/objects at most) is [`RedactionError::NotJson`], as is anything
//!   else serde_json refuses; so the recursive walks are bounded.
//! - A key spelled twice in one object (after decoding escapes): the last
//!   value is written, at the first key's position — as `serde_json::Value`
//!   reads it, and what the client gets is that one entry; but the record
//!   rules read every value (the hidden ones too), so `"restored":true,
//!   "restored":false` is restored, the earliest `decided_on` decides, a
//!   raised `objection` counts and two `item` values mean not granted. Keys are always
//!   compared decoded: `"rel\u0069gion"` is `religion`.
//! - Numbers come out exactly as the upstream wrote them (`-0`, `1E2`,
//!   `1e-400`, `123456789012345678901234567890`: never through `f64`); a
//!   masked number is masked in that text. A number beyond `f64` range
//!   (`1e400`) is refused as serde_json refuses it
//!   ([`RedactionError::NotJson`]).
//!
//! ## What this crate must never do
//! - log, print or return a removed or masked *value* (the [`Report`] holds
//!   key names and counts only);
//! - do I/O, read the clock (time is a parameter), or know about HTTP.
// No unwrap/expect outside tests (clippy.toml allows them in tests): every
// failure a client, upstream, file or operator can cause is an error value.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![warn(missing_docs)]

mod detect;
mod keys;
mod mask;
mod names;
mod records;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(test)]
mod testutil;
mod tree;

use std::collections::{BTreeMap, BTreeSet};

use policy::Scope;
use time::OffsetDateTime;

use crate::tree::Node;

pub use crate::detect::{count as detect_values, Detector};

/// Why a record was suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Suppression {
    /// Untrustworthy record whose inquiry period has ended (Hunan Art. 35).
    Expired,
    /// Untrustworthy record with credit restored (Hunan Art. 36).
    Restored,
    /// Positive record the subject withheld (Beijing Art. 36).
    Withheld,
    /// Record of an item the officer is not granted.
    NotGranted,
}

impl Suppression {
    /// Name used in the inquiry log (`records_suppressed` keys).
    pub fn as_str(self) -> &'static str {
        match self {
            Suppression::Expired => "expired",
            Suppression::Restored => "restored",
            Suppression::Withheld => "withheld",
            Suppression::NotGranted => "not_granted",
        }
    }
}

/// What `apply` did. Key names and counts — never values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Records left in the body.
    pub records_returned: u32,
    /// Records removed, by reason.
    pub records_suppressed: BTreeMap<Suppression, u32>,
    /// Key names removed (as spelled in the body; a key removed for
    /// holding an id or a mobile by a fixed name, `<key:id_number>` /
    /// `<key:phone>`). At most 64 distinct names, each cut to 128 bytes
    /// (ending `…`); past 64, `<more keys>` is added instead.
    pub removed_keys: BTreeSet<String>,
    /// Key names masked (as spelled in the body; a key masked for holding
    /// an id or a mobile by a fixed name, `<key:id_number>` /
    /// `<key:phone>`, never its text). Capped as
    /// [`Report::removed_keys`].
    pub masked_keys: BTreeSet<String>,
    /// Values the detectors masked in string leaves, by detector
    /// ([`Detector::as_str`]: `resident_id`, `mobile`) — counts only.
    pub detected: BTreeMap<Detector, u32>,
    /// String leaves that held JSON which could not be redacted, removed.
    pub embedded_json_removed: u32,
    /// Records that gained `objection_notice`.
    pub objection_labeled: u32,
    /// `subject.id` of the body (keys compared normalised: `Subject`,
    /// `ID`, ...), when the body names exactly one subject: every id found
    /// ([`Report::subject_ids`]) is a string, and they are equal ASCII case
    /// aside (the first is reported). `None` otherwise.
    pub subject_id: Option<String>,
    /// `subject.type` of the body (keys compared normalised), the first
    /// that is a string.
    pub subject_type: Option<String>,
    /// Every `id` of every top-level `subject` object, keys compared
    /// normalised (`{"Subject": {"ID": ..}}`, two spellings of either give
    /// two ids), in order: the string, or `None` for an id that is not a
    /// string, and for a `subject` that is neither an object nor `null`.
    /// Empty when the body names no subject. The gateway compares each with
    /// the subject asked.
    pub subject_ids: Vec<Option<String>>,
    /// Records found outside the records array (objects anywhere carrying
    /// the `item` and `decided_on` fields), kept or suppressed; they are
    /// also counted in `records_suppressed` when dropped.
    pub records_elsewhere: u32,
    /// Of `records_elsewhere`, how many were kept (not counted in
    /// `records_returned`, which counts the records array only).
    pub records_returned_elsewhere: u32,
    /// Whether the body had a records array (`record_fields.records`, any
    /// case). The gateway refuses a records answer without one: records
    /// under another key would escape the lifecycle rules.
    pub records_present: bool,
}

/// Why a body could not be transformed (the client gets 502).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedactionError {
    /// The body is not valid JSON.
    #[error("upstream body is not valid JSON")]
    NotJson,
    /// The JSON is not of the expected shape.
    #[error("upstream body has an unexpected shape: {0}")]
    Shape(&'static str),
}

impl Report {
    /// For a single-record fetch (`GET /v1/records/{id}`): why the answer must
    /// be refused, when no record is left and at least one was suppressed.
    ///
    /// With several suppressed records the first reason in check order wins
    /// (not granted, restored, expired, withheld). The gateway maps it to
    /// its answer (status and error code).
    pub fn single_record_refusal(&self) -> Option<Suppression> {
        if self.records_returned != 0 {
            return None;
        }
        [
            Suppression::NotGranted,
            Suppression::Restored,
            Suppression::Expired,
            Suppression::Withheld,
        ]
        .into_iter()
        .find(|reason| self.records_suppressed.get(reason).is_some_and(|n| *n > 0))
    }
}

/// Transform `body` under `scope` at instant `now`.
///
/// Parse once, transform in place, serialise once:
/// 1. the body must be a JSON object ([`RedactionError::NotJson`],
///    [`RedactionError::Shape`]);
/// 2. `subject.id` / `subject.type` are noted for the report (keys compared
///    normalised; every spelling of the id in [`Report::subject_ids`]);
/// 3. records (`body[record_fields.records]`, an array of objects) that may
///    not be served are dropped, records under objection labelled;
/// 4. without a granted item of category `basic`, the `subject` object (any
///    spelling) is cut down to its `id` and `type` (basic information is an
///    item too);
/// 5. one walk over the whole body: records elsewhere (objects carrying
///    `item` and `decided_on`) judged like those of step 3, key rules
///    (prohibited, consent-required, mask; names compared normalised), value
///    detectors on every string leaf, JSON inside strings redacted as JSON.
///
/// The output never holds a removed value or the unmasked text of a masked
/// one; the [`Report`] holds only names and counts.
pub fn apply(
    body: &[u8],
    scope: &Scope,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, Report), RedactionError> {
    parse(body)?.apply(scope, now)
}

/// An upstream body parsed once: what it says about its subject can be read
/// before the scope to redact it under is decided (the record route learns
/// the subject only from the answer), then [`Parsed::apply`] redacts the
/// same parse.
pub struct Parsed<'a> {
    body: &'a [u8],
    doc: tree::Doc<'a>,
}

impl std::fmt::Debug for Parsed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the body's values.
        f.debug_struct("Parsed")
            .field("bytes", &self.body.len())
            .finish()
    }
}

/// Parses an upstream body (it must be a JSON object).
pub fn parse(body: &[u8]) -> Result<Parsed<'_>, RedactionError> {
    let doc = tree::parse(body).map_err(|_| RedactionError::NotJson)?;
    let Node::Object(_) = *doc.node(doc.root()) else {
        return Err(RedactionError::Shape("body is not a JSON object"));
    };
    Ok(Parsed { body, doc })
}

impl Parsed<'_> {
    /// The top-level `subject.id` (keys compared normalised) when the body
    /// names exactly one subject, as [`Report::subject_id`] would report it:
    /// `None` when two spellings disagree or an id is not a string.
    pub fn subject_id(&self) -> Option<String> {
        let doc = &self.doc;
        let Node::Object(root) = *doc.node(doc.root()) else {
            return None;
        };
        SubjectFacts::of(doc, root).id()
    }

    /// Redacts the parsed body under `scope` (see [`apply`]).
    pub fn apply(
        self,
        scope: &Scope,
        now: OffsetDateTime,
    ) -> Result<(Vec<u8>, Report), RedactionError> {
        let Parsed { body, mut doc } = self;
        let Node::Object(root) = *doc.node(doc.root()) else {
            return Err(RedactionError::Shape("body is not a JSON object"));
        };
        redact_doc(body, &mut doc, root, scope, now)
    }
}

fn redact_doc(
    body: &[u8],
    doc: &mut tree::Doc<'_>,
    root: tree::Span,
    scope: &Scope,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, Report), RedactionError> {
    let mut report = Report::default();
    let subject = SubjectFacts::of(doc, root);
    report.subject_id = subject.id();
    // The id leaves that repeat the id asked for.
    let asked_ids: Vec<tree::NodeId> = subject
        .ids
        .iter()
        .filter_map(|(leaf, id)| match (leaf, id, &scope.asked_subject) {
            (Some(leaf), Some(id), Some(asked)) if asked.eq_ignore_ascii_case(id) => Some(*leaf),
            _ => None,
        })
        .collect();
    let SubjectFacts {
        objects: subject_objects,
        ids,
        types,
    } = subject;
    report.subject_type = types.into_iter().next();
    report.subject_ids = ids.into_iter().map(|(_, id)| id).collect();
    let judge = records::Judge::new(scope, now);
    let listed = records::filter(doc, root, &judge, &mut report)?;
    if !grants_basic(scope) {
        for object in &subject_objects {
            for index in object.indices() {
                let Some((key, id)) = doc.entry(index) else {
                    continue;
                };
                if !(normal_is(key, "id") || normal_is(key, "type")) {
                    keys::note(&mut report.removed_keys, key);
                    doc.remove(id);
                }
            }
        }
    }
    keys::KeyRules::new(scope).redact(doc, &judge, &listed, &asked_ids, &mut report)?;
    report.records_returned = records::count(doc, root, &scope.rules.record_fields);
    let out = tree::to_vec(doc, body.len())
        .map_err(|_| RedactionError::Shape("body could not be serialised"))?;
    Ok((out, report))
}

/// What a body says about its subject, read before any pass changes it.
/// Keys are compared normalised ([`policy::keyname::normalise`]), as the
/// field rules compare them: an upstream spelling `Subject` or `ID` names
/// the subject all the same, and two spellings are two claims.
#[derive(Debug, Default)]
struct SubjectFacts {
    /// The objects under top-level keys that normalise to `subject`.
    objects: Vec<tree::Span>,
    /// Every value under a key that normalises to `id` in those objects:
    /// its leaf and its text (`None` when not a string); and `(None,
    /// None)` for a `subject` that is neither an object nor `null` (it
    /// names someone, in a form that cannot be checked).
    ids: Vec<(Option<tree::NodeId>, Option<String>)>,
    /// The string values under keys that normalise to `type` there.
    types: Vec<String>,
}

impl SubjectFacts {
    fn of(doc: &tree::Doc<'_>, root: tree::Span) -> Self {
        let mut facts = SubjectFacts::default();
        for (key, value) in doc.entries(root) {
            if !normal_is(key, "subject") {
                continue;
            }
            match doc.node(value) {
                Node::Object(object) => {
                    facts.objects.push(*object);
                    for (key, value) in doc.entries(*object) {
                        let text = || doc.node(value).as_str().map(str::to_owned);
                        if normal_is(key, "id") {
                            facts.ids.push((Some(value), text()));
                        } else if normal_is(key, "type") {
                            facts.types.extend(text());
                        }
                    }
                }
                Node::Null => {}
                _ => facts.ids.push((None, None)),
            }
        }
        facts
    }

    /// The subject's id when the body names exactly one: at least one id,
    /// every id a string, all equal ASCII case aside (the first).
    fn id(&self) -> Option<String> {
        let mut ids = self.ids.iter().map(|(_, id)| id.as_deref());
        let first = ids.next()??;
        ids.all(|id| id.is_some_and(|id| id.eq_ignore_ascii_case(first)))
            .then(|| first.to_owned())
    }
}

/// Whether `key` normalises to `want` (a short lowercase ASCII name),
/// without allocating for an ASCII key: the subject's keys are compared on
/// every answer.
fn normal_is(key: &str, want: &str) -> bool {
    let mut buffer = [0u8; 16];
    match policy::keyname::normal_ascii(key.as_bytes(), &mut buffer) {
        Some(normal) => normal == want.as_bytes(),
        // ASCII whose normal form is longer than the buffer cannot be
        // `want`; anything else takes the full normalisation.
        None => !key.is_ascii() && names::normal_key(key) == want,
    }
}

/// Whether the scope grants an item of category `basic`.
fn grants_basic(scope: &Scope) -> bool {
    scope.items.iter().any(|item| {
        scope
            .rules
            .items
            .get(item)
            .is_some_and(|rule| rule.category == policy::Category::Basic)
    })
}

#[cfg(test)]
mod tests;
