//! Record lifecycle: which records of a body may be served.
//!
//! Owns the per-record checks — item granted, credit restored, inquiry period
//! over (Hunan Art. 35/36), withheld by the subject (Beijing Art. 36) — and
//! the objection label (Hunan Art. 32). Records are only ever dropped or
//! labelled: never added, reordered or otherwise changed here.
//!
//! Field names come from [`policy::RecordFields`] and are compared
//! case-insensitively. Where a record spells a lifecycle field more than once
//! (`restored` and `Restored`), the reading that serves less wins.

use std::borrow::Cow;

use policy::{Category, RecordFields, Scope};
use time::{Date, Duration, Month, OffsetDateTime};

use crate::keys::lowered;
use crate::tree::{Doc, Node, Span, Text};
use crate::{RedactionError, Report, Suppression};

/// The label a record under objection gains.
pub(crate) const OBJECTION_NOTICE_KEY: &str = "objection_notice";
/// The text of that label.
pub(crate) const OBJECTION_NOTICE: &str = "under objection review";

/// Whether `key` equals `field`, ignoring case (in any script).
pub(crate) fn key_matches(key: &str, field: &str) -> bool {
    if key.is_ascii() && field.is_ascii() {
        key.eq_ignore_ascii_case(field)
    } else {
        key.to_lowercase() == field.to_lowercase()
    }
}

/// Drops the records of `body` that may not be served, labels those under
/// objection, and counts suppressions into `report`.
///
/// Every top-level key spelled like `record_fields.records` (any case) is a
/// records array; each must be an array of objects.
pub(crate) fn filter(
    doc: &mut Doc<'_>,
    body: Span,
    scope: &Scope,
    now: OffsetDateTime,
    report: &mut Report,
) -> Result<(), RedactionError> {
    let fields = &scope.rules.record_fields;
    let names = FieldNames::new(fields);
    for index in body.indices() {
        let Some((key, value)) = doc.entry(index) else {
            continue;
        };
        if !key_matches(key, &fields.records) {
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
        let mut labeled = 0u32;
        for record_index in records.indices() {
            let Some(record) = doc.item(record_index) else {
                continue;
            };
            let Node::Object(record_fields) = *doc.node(record) else {
                // Checked above: every record is an object.
                continue;
            };
            let facts = Facts::read(doc, record_fields, &names);
            let objection_pending = facts.objection_pending;
            match verdict(&facts, scope, now) {
                Some(reason) => {
                    let count = report.records_suppressed.entry(reason).or_insert(0);
                    *count = count.saturating_add(1);
                    doc.remove(record);
                }
                None => {
                    if objection_pending {
                        let notice = Node::Str(Text::from_static(OBJECTION_NOTICE));
                        if !doc.insert(record, OBJECTION_NOTICE_KEY, notice) {
                            // Only past 2^32 values: refuse rather than serve
                            // the record unlabelled.
                            return Err(RedactionError::Shape("body too large to label"));
                        }
                        labeled = labeled.saturating_add(1);
                    }
                }
            }
        }
        report.objection_labeled = report.objection_labeled.saturating_add(labeled);
    }
    Ok(())
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
    /// Any `restored` reads true.
    restored: bool,
    /// Any `withheld_by_subject` reads true.
    withheld: bool,
    /// Any `objection` reads `pending`.
    objection_pending: bool,
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

/// A flag field reads true: JSON `true`, or the string `true` in any case.
fn is_true(value: &Node<'_>) -> bool {
    match value {
        Node::True => true,
        Node::Str(text) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

impl<'r> Facts<'r> {
    /// One pass over the record's keys.
    fn read(doc: &'r Doc<'_>, record: Span, names: &FieldNames<'_>) -> Self {
        let mut facts = Facts::default();
        for (key, value) in doc.entries(record) {
            let value = doc.node(value);
            match names.field(key) {
                Some(Field::Item) => {
                    facts.item = Some(value);
                    facts.item_count = facts.item_count.saturating_add(1);
                }
                Some(Field::DecidedOn) => facts.decided_on = facts.decided_on.add(value),
                Some(Field::PunishmentEnds) => {
                    // Unparseable: ignored (it could only extend the period).
                    if let Some(date) = parse_date(value) {
                        facts.punishment_ends =
                            Some(facts.punishment_ends.map_or(date, |seen| seen.min(date)));
                    }
                }
                Some(Field::Restored) => facts.restored |= is_true(value),
                Some(Field::Withheld) => facts.withheld |= is_true(value),
                Some(Field::Objection) => {
                    facts.objection_pending |= value
                        .as_str()
                        .is_some_and(|state| state.eq_ignore_ascii_case("pending"));
                }
                None => {}
            }
        }
        facts
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
}

/// The lifecycle field names, lowercased once per body.
struct FieldNames<'f> {
    /// In match order; first match wins.
    names: [(Cow<'f, str>, Field); 6],
}

impl<'f> FieldNames<'f> {
    fn new(fields: &'f RecordFields) -> Self {
        FieldNames {
            names: [
                (lowered(&fields.item), Field::Item),
                (lowered(&fields.decided_on), Field::DecidedOn),
                (lowered(&fields.punishment_ends), Field::PunishmentEnds),
                (lowered(&fields.restored), Field::Restored),
                (lowered(&fields.withheld_by_subject), Field::Withheld),
                (lowered(&fields.objection), Field::Objection),
            ],
        }
    }

    /// Which field `key` names, ignoring case (lowercasing only non-ASCII keys).
    fn field(&self, key: &str) -> Option<Field> {
        let found = if key.is_ascii() {
            self.names
                .iter()
                .find(|(name, _)| key.eq_ignore_ascii_case(name))
        } else {
            let lower = key.to_lowercase();
            self.names.iter().find(|(name, _)| **name == *lower)
        };
        found.map(|(_, field)| *field)
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
