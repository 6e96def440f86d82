//! Record lifecycle: which records of a body may be served.
//!
//! Owns the per-record checks — item granted, credit restored, inquiry period
//! over (Hunan Art. 35/36), withheld by the subject (Beijing Art. 36) — and
//! the objection label (Hunan Art. 32). Records are only ever dropped or
//! labelled: never added, reordered or otherwise changed here.
//!
//! Field names come from [`policy::RecordFields`] and are compared
//! normalised ([`policy::keyname::normalise`]). Where a record spells a lifecycle field more than once
//! (`restored` and `Restored`, or `restored` twice: the values a duplicate
//! key hides count too), the reading that serves less wins.

use std::borrow::Cow;

use policy::{Category, RecordFields, Scope};
use time::{Date, Duration, Month, OffsetDateTime};

use crate::names::Names;
use crate::tree::{Doc, Memo, Node, NodeId, Remembered, Span, Text};
use crate::{RedactionError, Report, Suppression};
use policy::keyname::normalise;

/// The label a record under objection gains.
pub(crate) const OBJECTION_NOTICE_KEY: &str = "objection_notice";
/// The text of that label.
pub(crate) const OBJECTION_NOTICE: &str = "under objection review";

/// Whether `key` names `field`: equal once both are normalised
/// ([`policy::keyname::normalise`]).
pub(crate) fn key_matches(key: &str, field: &str) -> bool {
    crate::names::normal_key(key) == normalise(field)
}

/// Drops the records of the top-level records array(s) that may not be
/// served, labels those under objection, and counts suppressions into
/// `report`. Returns the ids of those arrays: their items are judged here,
/// so the later walk that judges records found anywhere else
/// ([`Judge`], from the key walk) does not judge them twice.
///
/// Records are:
/// - every item of a top-level key spelled like `record_fields.records`
///   (compared normalised), which must be an array of objects;
/// - and any other object anywhere in the document that carries the
///   `item` field and the `decided_on` field, a set `restored` /
///   `withheld_by_subject` flag or an objection (records under another
///   key, or nested in another record's data, obey the same rules; one
///   without a date is served by no inquiry period). The top-level
///   object itself is no record: if it carries both fields the body is
///   refused ([`RedactionError::Shape`]) rather than served or emptied.
pub(crate) fn filter(
    doc: &mut Doc<'_>,
    body: Span,
    judge: &Judge<'_>,
    report: &mut Report,
) -> Result<Vec<NodeId>, RedactionError> {
    if judge.is_record(doc, body) {
        return Err(RedactionError::Shape("the body itself is a record"));
    }
    let mut listed = Vec::new();
    for index in body.indices() {
        let Some((key, value)) = doc.entry(index) else {
            continue;
        };
        if !key_matches(key, &judge.scope.rules.record_fields.records) {
            continue;
        }
        report.records_present = true;
        let Node::Array(records) = *doc.node(value) else {
            return Err(RedactionError::Shape("records field is not an array"));
        };
        if !doc
            .items(records)
            .all(|record| matches!(doc.node(record), Node::Object(_)))
        {
            return Err(RedactionError::Shape("a record is not a JSON object"));
        }
        listed.push(value);
        for record_index in records.indices() {
            if let Some(record) = doc.item(record_index) {
                judge.record(doc, record, report)?;
            }
        }
    }
    Ok(listed)
}

/// The lifecycle rules of one body, applied record by record.
pub(crate) struct Judge<'j> {
    names: FieldNames<'j>,
    scope: &'j Scope,
    now: OffsetDateTime,
}

impl<'j> Judge<'j> {
    /// The rules of `scope` at `now`; field names normalised once.
    pub(crate) fn new(scope: &'j Scope, now: OffsetDateTime) -> Self {
        Judge {
            names: FieldNames::new(&scope.rules.record_fields),
            scope,
            now,
        }
    }

    /// Whether the object `span` is a record wherever it sits
    /// ([`Facts::is_record`]). Smaller objects are decided without
    /// reading their keys.
    pub(crate) fn is_record(&self, doc: &Doc<'_>, span: Span) -> bool {
        span.indices().len() >= 2 && Facts::read(doc, span, &self.names).is_record()
    }

    /// Applies the rules to the record `record` (an object): drops it or
    /// labels it. Returns whether it stays.
    pub(crate) fn record(
        &self,
        doc: &mut Doc<'_>,
        record: NodeId,
        report: &mut Report,
    ) -> Result<bool, RedactionError> {
        let Node::Object(record_fields) = *doc.node(record) else {
            return Ok(false);
        };
        let facts = Facts::read(doc, record_fields, &self.names);
        let (objection, notice) = (facts.objection, facts.notice);
        match verdict(&facts, self.scope, self.now) {
            Some(reason) => {
                let count = report.records_suppressed.entry(reason).or_insert(0);
                *count = count.saturating_add(1);
                doc.remove(record);
                Ok(false)
            }
            None => {
                // The label is the gateway's word alone: one the upstream
                // wrote (any spelling) goes, whether or not the record is
                // under objection (an outside probe: `"objection": "none"`
                // with `"objection_notice": "under objection review"` was
                // served as written).
                if notice {
                    let written: Vec<NodeId> = doc
                        .entries(record_fields)
                        .filter(|(key, _)| key_matches(key, OBJECTION_NOTICE_KEY))
                        .map(|(_, value)| value)
                        .collect();
                    for value in written {
                        doc.remove(value);
                    }
                }
                if objection {
                    let notice = Node::Str(Text::from_static(OBJECTION_NOTICE));
                    if !doc.insert(record, OBJECTION_NOTICE_KEY, notice) {
                        // Only past 2^32 values: refuse rather than serve
                        // the record unlabelled.
                        return Err(RedactionError::Shape("body too large to label"));
                    }
                    report.objection_labeled = report.objection_labeled.saturating_add(1);
                }
                Ok(true)
            }
        }
    }
}

/// Records left under the records key(s) of the object `body`.
pub(crate) fn count(doc: &Doc<'_>, body: Span, fields: &RecordFields) -> u32 {
    doc.entries(body)
        .filter(|(key, _)| key_matches(key, &fields.records))
        .filter_map(|(_, value)| match doc.node(value) {
            Node::Array(records) => Some(doc.items(*records).count()),
            _ => None,
        })
        .map(|records| u32::try_from(records).unwrap_or(u32::MAX))
        .fold(0u32, u32::saturating_add)
}

/// What the lifecycle rules read from one record, in one pass, without
/// allocating.
#[derive(Debug, Default)]
struct Facts<'r> {
    /// The `item` value, when spelled exactly once.
    item: Option<&'r Node<'r>>,
    /// How many spellings of `item` the record has.
    item_count: u32,
    /// Earliest `decided_on`; `Err` once any spelling is missing a date.
    decided_on: DecidedOn,
    /// Earliest parseable `punishment_ends`.
    punishment_ends: Option<Date>,
    /// Whether any `decided_on` spelling was seen (with `item`, it makes an
    /// object a record wherever it sits).
    has_decided_on: bool,
    /// Any `restored` is set ([`is_set`]).
    restored: bool,
    /// Any `withheld_by_subject` is set ([`is_set`]).
    withheld: bool,
    /// Any `objection` raises one ([`raises_objection`]).
    objection: bool,
    /// An `objection_notice` the upstream wrote (any spelling).
    notice: bool,
}

/// The `decided_on` reading of one record.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum DecidedOn {
    /// No `decided_on` field.
    #[default]
    Missing,
    /// A field that is not a `YYYY-MM-DD` date.
    Invalid,
    /// The earliest date among the spellings.
    Date(Date),
}

impl DecidedOn {
    /// The date, when every spelling is a valid date.
    fn date(self) -> Option<Date> {
        match self {
            DecidedOn::Date(date) => Some(date),
            DecidedOn::Missing | DecidedOn::Invalid => None,
        }
    }

    /// Folds in one more spelling of the field.
    fn add(self, value: &Node<'_>) -> Self {
        match (self, parse_date(value)) {
            (DecidedOn::Invalid, _) | (_, None) => DecidedOn::Invalid,
            (DecidedOn::Missing, Some(date)) => DecidedOn::Date(date),
            (DecidedOn::Date(seen), Some(date)) => DecidedOn::Date(seen.min(date)),
        }
    }
}

/// A lifecycle flag present in a record counts as set unless it is JSON
/// `false` (fail closed: `true`, `"true"`, `"false"`, `1`, `0`, `"yes"`,
/// `null`, `{}` all count as set).
fn is_set(value: &Node<'_>) -> bool {
    !matches!(value, Node::False)
}

/// An `objection` value raises an objection unless it is `null`, `false`,
/// or a string that, trimmed and case folded, is empty or `none` (fail
/// closed: `"pending"`, `"PENDING "`, `"yes"`, `true`, `1`, `{}` all do).
fn raises_objection(value: &Node<'_>) -> bool {
    match value {
        Node::Null | Node::False => false,
        Node::Str(text) => {
            let text = text.trim();
            if text.is_ascii() {
                !(text.is_empty() || text.eq_ignore_ascii_case("none"))
            } else {
                let folded = caseless::default_case_fold_str(text);
                !(folded.is_empty() || folded == "none")
            }
        }
        _ => true,
    }
}

impl<'r> Facts<'r> {
    /// One pass over the record's keys.
    fn read(doc: &'r Doc<'_>, record: Span, names: &FieldNames<'_>) -> Self {
        let mut facts = Facts::default();
        // Every value of a key spelled twice counts (the hidden ones too):
        // `"restored":true,"restored":false` is restored.
        let entries = record
            .indices()
            .filter_map(|index| Some((doc.entry(index)?, doc.entry_memo(index))))
            .chain(doc.shadowed(record).map(|entry| (entry, None)));
        for ((key, value), memo) in entries {
            let value = doc.node(value);
            match names.field(key, memo) {
                Some(Field::Item) => {
                    facts.item = Some(value);
                    facts.item_count = facts.item_count.saturating_add(1);
                }
                Some(Field::DecidedOn) => {
                    facts.has_decided_on = true;
                    facts.decided_on = facts.decided_on.add(value);
                }
                Some(Field::PunishmentEnds) => {
                    // Unparseable: ignored (it could only extend the period).
                    if let Some(date) = parse_date(value) {
                        facts.punishment_ends =
                            Some(facts.punishment_ends.map_or(date, |seen| seen.min(date)));
                    }
                }
                Some(Field::Restored) => facts.restored |= is_set(value),
                Some(Field::Withheld) => facts.withheld |= is_set(value),
                Some(Field::Objection) => facts.objection |= raises_objection(value),
                Some(Field::Notice) => facts.notice = true,
                None => {}
            }
        }
        facts
    }

    /// Whether the object these facts were read from is a record wherever
    /// it sits: it carries `item` and `decided_on` — or `item` and a set
    /// `restored` / `withheld_by_subject` flag or an objection, fail closed
    /// (an outside probe: a restored penalty and a withheld commendation
    /// without a date, nested under the subject, were served).
    fn is_record(&self) -> bool {
        self.item_count > 0
            && (self.has_decided_on || self.restored || self.withheld || self.objection)
    }
}

/// A lifecycle field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Item,
    DecidedOn,
    PunishmentEnds,
    Restored,
    Withheld,
    Objection,
    /// The gateway's own label, [`OBJECTION_NOTICE_KEY`].
    Notice,
}

/// The lifecycle field names, normalised once per body.
struct FieldNames<'f> {
    /// In match order; first match wins.
    names: [(Cow<'f, str>, Field); 7],
    /// The body's key names, normalised once each.
    normals: Names,
}

impl<'f> FieldNames<'f> {
    fn new(fields: &'f RecordFields) -> Self {
        FieldNames {
            names: [
                (normalise(&fields.item), Field::Item),
                (normalise(&fields.decided_on), Field::DecidedOn),
                (normalise(&fields.punishment_ends), Field::PunishmentEnds),
                (normalise(&fields.restored), Field::Restored),
                (normalise(&fields.withheld_by_subject), Field::Withheld),
                (normalise(&fields.objection), Field::Objection),
                (normalise(OBJECTION_NOTICE_KEY), Field::Notice),
            ],
            normals: Names::default(),
        }
    }

    /// Which field `key` names, compared normalised; derived once per
    /// document for a key with a [`Memo`].
    fn field(&self, key: &str, memo: Option<&Memo>) -> Option<Field> {
        Remembered::get_or_find(
            memo.map(|memo| &memo.field),
            |index| self.names.get(index).map(|(_, field)| *field),
            || self.find(key),
        )
    }

    /// The index in `names` and the field `key` names, if any.
    fn find(&self, key: &str) -> Option<(usize, Field)> {
        self.normals.with_normal(key, |normal| {
            self.names
                .iter()
                .enumerate()
                .find(|(_, (name, _))| !name.is_empty() && name.as_bytes() == normal)
                .map(|(index, (_, field))| (index, *field))
        })
    }
}

/// Why the record may not be served, or `None` to keep it. Checks in order:
/// not granted, restored, expired, withheld.
fn verdict(facts: &Facts<'_>, scope: &Scope, now: OffsetDateTime) -> Option<Suppression> {
    // Exactly one item, a string the scope grants and the catalogue knows.
    let item = match (facts.item_count, facts.item.and_then(Node::as_str)) {
        (1, Some(item)) => item,
        _ => return Some(Suppression::NotGranted),
    };
    let rule = match scope.rules.items.get(item) {
        Some(rule) if scope.items.contains(item) => rule,
        _ => return Some(Suppression::NotGranted),
    };
    match rule.category {
        Category::Basic => None,
        Category::Untrustworthy => {
            if facts.restored {
                return Some(Suppression::Restored);
            }
            if scope.beyond_inquiry_period.is_some() {
                return None;
            }
            let served = period_end(
                facts.decided_on.date(),
                facts.punishment_ends,
                rule.inquiry_period_days.unwrap_or(0),
            )
            .is_some_and(|end| now < period_end_instant(end, scope.rules.utc_offset_seconds));
            if served {
                None
            } else {
                Some(Suppression::Expired)
            }
        }
        Category::Positive => facts.withheld.then_some(Suppression::Withheld),
    }
}

/// A `YYYY-MM-DD` calendar date, if `value` is exactly one.
fn parse_date(value: &Node<'_>) -> Option<Date> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = value.as_str()?.as_bytes() else {
        return None;
    };
    let digit = |b: u8| b.is_ascii_digit().then(|| b - b'0');
    let two = |hi: u8, lo: u8| Some(digit(hi)? * 10 + digit(lo)?);
    let year = i32::from(two(y0, y1)?) * 100 + i32::from(two(y2, y3)?);
    let month = Month::try_from(two(m0, m1)?).ok()?;
    Date::from_calendar_date(year, month, two(d0, d1)?).ok()
}

/// The day the inquiry period ends: the later of `decided_on + days` and
/// `punishment_ends`. `None` (serve nothing) when `decided_on` is missing or
/// unparseable.
pub(crate) fn period_end(
    decided_on: Option<Date>,
    punishment_ends: Option<Date>,
    inquiry_period_days: u32,
) -> Option<Date> {
    let by_period = decided_on?
        .checked_add(Duration::days(i64::from(inquiry_period_days)))
        .unwrap_or(Date::MAX);
    Some(match punishment_ends {
        Some(ends) => by_period.max(ends),
        None => by_period,
    })
}

/// The instant the period ending on `day` ends: 00:00 of `day` in the zone
/// `utc_offset_seconds` east of UTC, saturating at the representable range.
pub(crate) fn period_end_instant(day: Date, utc_offset_seconds: i32) -> OffsetDateTime {
    let midnight_as_utc = day.midnight().assume_utc();
    midnight_as_utc
        .checked_sub(Duration::seconds(i64::from(utc_offset_seconds)))
        .unwrap_or(if utc_offset_seconds > 0 {
            // Before the earliest representable instant: already over.
            OffsetDateTime::UNIX_EPOCH.replace_date(Date::MIN)
        } else {
            OffsetDateTime::UNIX_EPOCH.replace_date(Date::MAX)
        })
}

#[cfg(test)]
mod tests;
