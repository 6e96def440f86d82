//! `policy.toml`: the raw model (read with spans, every unknown key,
//! mistyped value and missing key reported; the keys each table may hold
//! declared once, in `file/keys.rs`) and
//! its conversion into a typed, validated [`Policy`].
//!
//! Validation collects every problem it can find in one pass (unknown
//! references, missing inquiry periods, Beijing Art. 15's three-year limit,
//! duplicate names, bad rates, bad dates, ...) and reports each with file,
//! line and column. A [`Policy`] that exists is internally consistent:
//! `decide` never has to handle a dangling reference.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use std::ops::Range;

use time::Date;

use crate::alerts::{self, AlertRule};
use crate::consent::parse_public_key;
use crate::diag::{from_toml_error, Diagnostic, PolicyErrors};
use crate::model::{Category, ItemRule, Mask, RecordFields, Rules, SubjectType};

/// Longest inquiry period (days) an untrustworthy item may have without a
/// `statutory_basis` (Beijing Art. 15: three years unless law provides otherwise).
pub const MAX_PERIOD_WITHOUT_BASIS: i64 = 1095;

/// Settings from the gateway configuration that shape a policy load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Consent authority public key (raw 32 bytes, SPKI DER or PEM); `None`
    /// means every consent token is refused.
    pub consent_public_key: Option<Vec<u8>>,
    /// Longest consent a token may grant, in days from the inquiry.
    pub consent_max_days: u32,
    /// Platform time zone, seconds east of UTC (officer validity dates and
    /// record dates are calendar dates in this zone).
    pub utc_offset_seconds: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            consent_public_key: None,
            consent_max_days: 365,
            utc_offset_seconds: 8 * 3600,
        }
    }
}

/// A role's rate limit: `count` requests per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per period (≥ 1).
    pub count: u32,
    /// The period.
    pub per: Duration,
}

impl Rate {
    /// Parse `N/second|minute|hour|day` with N ≥ 1.
    pub fn parse(text: &str) -> Option<Rate> {
        let (n, unit) = text.trim().split_once('/')?;
        let n = n.trim();
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let count: u32 = n.parse().ok().filter(|c| *c >= 1)?;
        let secs = match unit.trim() {
            "second" => 1,
            "minute" => 60,
            "hour" => 3600,
            "day" => 86_400,
            _ => return None,
        };
        Some(Rate {
            count,
            per: Duration::from_secs(secs),
        })
    }
}

/// What a role is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleKind {
    /// A state organ querying for a lawful duty.
    StateOrgan,
    /// An approved credit service establishment (needs consent for natural persons).
    CreditService,
    /// Reads the inquiry log on the admin plane; never queries credit data.
    Compliance,
}

impl RoleKind {
    /// The spelling used in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::StateOrgan => "state_organ",
            RoleKind::CreditService => "credit_service",
            RoleKind::Compliance => "compliance",
        }
    }
}

/// One validated role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Unique role name.
    pub name: String,
    /// Kind of role.
    pub kind: RoleKind,
    /// Items granted (all in the catalogue).
    pub items: BTreeSet<String>,
    /// Purposes granted (all declared in `[purposes]`).
    pub purposes: BTreeSet<String>,
    /// Subject types granted.
    pub subject_types: BTreeSet<SubjectType>,
    /// May see consent-required fields the consent token covers.
    pub consent_fields: bool,
    /// Masked keys (normalised, [`crate::keyname`]) this role sees unmasked.
    pub unmasked: BTreeSet<String>,
    /// `Some(basis)` when the role may see records past their inquiry period.
    pub beyond_inquiry_period: Option<String>,
    /// Rate limit, if any.
    pub rate: Option<Rate>,
}

/// One validated officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Officer {
    /// Officer id as carried by the client certificate.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Role names (all defined).
    pub roles: Vec<String>,
    /// First calendar day of validity (platform zone), if bounded.
    pub valid_from: Option<Date>,
    /// Last calendar day of validity, inclusive, if bounded.
    pub valid_until: Option<Date>,
}

/// A validated policy, ready for [`crate::decide()`].
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) rules: Arc<Rules>,
    pub(crate) purposes: BTreeMap<String, String>,
    pub(crate) roles: HashMap<String, Role>,
    pub(crate) officers: HashMap<String, Officer>,
    pub(crate) consent_public_key: Option<Vec<u8>>,
    pub(crate) consent_max_days: u32,
    pub(crate) utc_offset_seconds: i32,
    pub(crate) alerts: Vec<AlertRule>,
}

impl Policy {
    /// Parse and validate policy text. `file` names the file in diagnostics.
    pub fn parse(text: &str, file: &str, settings: &Settings) -> Result<Policy, PolicyErrors> {
        let doc = match toml_edit::ImDocument::parse(text) {
            Ok(doc) => doc,
            Err(_) => {
                // Not TOML at all: nothing further can be read. `toml`'s own
                // error (same parser) carries the message and position.
                let diag = match toml::from_str::<toml::Table>(text) {
                    Err(e) => from_toml_error(file, text, &e),
                    Ok(_) => Diagnostic::file_level(file, "invalid toml syntax"),
                };
                return Err(PolicyErrors(vec![diag]));
            }
        };
        let mut reader = Reader {
            file,
            text,
            errors: Vec::new(),
        };
        let raw = reader.policy(doc.as_table());
        let mut v = Validator {
            file,
            text,
            errors: reader.errors,
        };
        let policy = v.convert(raw, settings);
        if v.errors.is_empty() {
            Ok(policy)
        } else {
            let mut errors = v.errors;
            errors.sort_by_key(|d| (d.line, d.column));
            Err(PolicyErrors(errors))
        }
    }

    /// Read and validate a policy file. An unreadable file is one diagnostic
    /// naming it.
    pub fn load(path: &Path, settings: &Settings) -> Result<Policy, PolicyErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            PolicyErrors(vec![Diagnostic {
                file: file.clone(),
                line: 1,
                column: 1,
                message: format!("cannot read policy file: {}", e.kind()),
            }])
        })?;
        Self::parse(&text, &file, settings)
    }

    /// Field and item rules shared by every scope of this policy.
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }

    /// Rate limit of a role, if it has one.
    pub fn rate(&self, role_name: &str) -> Option<Rate> {
        self.roles.get(role_name).and_then(|r| r.rate)
    }

    /// An officer by id.
    pub fn officer(&self, id: &str) -> Option<&Officer> {
        self.officers.get(id)
    }

    /// Number of officers.
    pub fn officer_count(&self) -> usize {
        self.officers.len()
    }

    /// Declared purposes: code → description.
    pub fn purposes(&self) -> &BTreeMap<String, String> {
        &self.purposes
    }

    /// A role by name.
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.get(name)
    }

    /// All roles, in no particular order.
    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        self.roles.values()
    }

    /// The consent authority key (raw 32 bytes), if configured.
    pub fn consent_public_key(&self) -> Option<&[u8]> {
        self.consent_public_key.as_deref()
    }

    /// Longest consent a token may grant, in days.
    pub fn consent_max_days(&self) -> u32 {
        self.consent_max_days
    }

    /// Platform time zone, seconds east of UTC.
    pub fn utc_offset_seconds(&self) -> i32 {
        self.utc_offset_seconds
    }

    /// The misuse alert rules (`[[alerts]]`), in file order.
    pub fn alerts(&self) -> &[AlertRule] {
        &self.alerts
    }
}

// ---------------------------------------------------------------- raw model
//
// The raw model is read from a `toml_edit` document (which keeps the span of
// every key and value) rather than through serde: serde stops at the first
// mistyped value, and `policy check` must report every error of every kind in
// one run. The reader reports mistyped values and missing required keys,
// drops what it cannot use, and hands the rest to the validator, which adds
// the semantic errors. The keys the reader asks for are each table's known
// keys, named once: any other key of a table it read is reported as unknown
// (`Reader::done`).

/// A value with the byte range of the text it was read from.
#[derive(Debug, Clone)]
struct Spanned<T> {
    span: Range<usize>,
    value: T,
}

impl<T> Spanned<T> {
    fn new(span: Range<usize>, value: T) -> Self {
        Spanned { span, value }
    }

    fn get_ref(&self) -> &T {
        &self.value
    }

    fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    fn into_inner(self) -> T {
        self.value
    }
}

#[derive(Debug, Default)]
struct RawPolicy {
    items: BTreeMap<String, Spanned<RawItem>>,
    purposes: BTreeMap<String, Spanned<String>>,
    fields: RawFields,
    roles: Vec<Spanned<RawRole>>,
    officers: Vec<Spanned<RawOfficer>>,
    record_fields: Option<RawRecordFields>,
    alerts: Vec<Spanned<RawAlert>>,
}

#[derive(Debug)]
struct RawAlert {
    name: Spanned<String>,
    kind: Spanned<String>,
    threshold: Option<Spanned<i64>>,
    window: Option<Spanned<String>>,
    action: Option<Spanned<String>>,
    suspend_for: Option<Spanned<String>>,
    hours: Option<Spanned<String>>,
    days: Option<Spanned<String>>,
    /// Keys present with a value of the wrong type (already reported).
    mistyped: BTreeSet<&'static str>,
}

#[derive(Debug)]
struct RawItem {
    category: Spanned<String>,
    inquiry_period_days: Option<Spanned<i64>>,
    /// `inquiry_period_days` was present with the wrong type (already reported).
    period_mistyped: bool,
    statutory_basis: Option<String>,
}

#[derive(Debug, Default)]
struct RawFields {
    prohibited: Vec<Spanned<String>>,
    consent_required: Vec<Spanned<String>>,
    mask: BTreeMap<String, Spanned<RawMask>>,
}

#[derive(Debug)]
struct RawMask {
    keep_start: Spanned<i64>,
    keep_end: Spanned<i64>,
}

#[derive(Debug)]
struct RawRole {
    name: Spanned<String>,
    kind: Spanned<String>,
    items: Option<Vec<Spanned<String>>>,
    purposes: Option<Vec<Spanned<String>>>,
    subject_types: Option<Vec<Spanned<String>>>,
    consent_fields: Option<Spanned<bool>>,
    unmasked: Option<Vec<Spanned<String>>>,
    beyond_inquiry_period: Option<Spanned<bool>>,
    statutory_basis: Option<Spanned<String>>,
    rate: Option<Spanned<String>>,
    /// Keys present with a value of the wrong type (already reported): the
    /// validator does not also call them missing.
    mistyped: BTreeSet<&'static str>,
}

#[derive(Debug)]
struct RawOfficer {
    id: Spanned<String>,
    name: Option<String>,
    unit: Option<String>,
    roles: Spanned<Vec<Spanned<String>>>,
    /// Date text (a string or a TOML local date); `None` for any other type.
    valid_from: Option<Spanned<Option<String>>>,
    valid_until: Option<Spanned<Option<String>>>,
}

#[derive(Debug)]
struct RawRecordFields {
    records: Option<Spanned<String>>,
    item: Option<Spanned<String>>,
    decided_on: Option<Spanned<String>>,
    punishment_ends: Option<Spanned<String>>,
    restored: Option<Spanned<String>>,
    objection: Option<Spanned<String>>,
    withheld_by_subject: Option<Spanned<String>>,
}

/// "a string", "an integer", ... for messages.
fn with_article(type_name: &str) -> String {
    let article = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {type_name}")
}

/// Reads the raw model out of a parsed document, collecting every
/// structural problem (unknown key, wrong type, missing required key).
struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<Diagnostic>,
}

/// One table of the document, with where it is and how to name it.
struct Tbl<'d> {
    table: &'d dyn toml_edit::TableLike,
    /// Offset used for problems of the table as a whole (a missing key).
    at: usize,
    /// How messages name the table (`` `items.basic` ``, `a [[roles]] entry`).
    place: String,
    /// The keys the reader asked for: the known keys of this table (every
    /// other key is unknown, see [`Reader::done`]).
    read: RefCell<BTreeSet<String>>,
}

impl<'d> Tbl<'d> {
    fn new(table: &'d dyn toml_edit::TableLike, at: usize, place: String) -> Self {
        Tbl {
            table,
            at,
            place,
            read: RefCell::default(),
        }
    }

    /// The item under `key`, if any; `key` is known from now on.
    fn get(&self, key: &str) -> Option<&'d toml_edit::Item> {
        self.read.borrow_mut().insert(key.to_owned());
        self.table.get(key)
    }

    /// Offset of `key`'s value, or of the key, or of the table.
    fn pos(&self, key: &str, item: &toml_edit::Item) -> Range<usize> {
        item.span()
            .or_else(|| self.table.key(key).and_then(toml_edit::Key::span))
            .unwrap_or(self.at..self.at)
    }

    fn key_pos(&self, key: &str) -> usize {
        self.table
            .key(key)
            .and_then(toml_edit::Key::span)
            .map_or(self.at, |s| s.start)
    }
}

impl Reader<'_> {
    fn err(&mut self, offset: usize, message: impl Into<String>) {
        self.errors
            .push(Diagnostic::at(self.file, self.text, offset, message));
    }

    fn mistyped(&mut self, t: &Tbl<'_>, key: &str, item: &toml_edit::Item, expected: &str) {
        let at = t.pos(key, item).start;
        self.err(
            at,
            format!(
                "`{key}` in {} must be {expected}, not {}",
                t.place,
                with_article(item.type_name())
            ),
        );
    }

    /// The table under `key` (a `[table]` or an inline table).
    fn table<'d>(&mut self, parent: &Tbl<'d>, key: &str, place: String) -> Option<Tbl<'d>> {
        let item = parent.get(key)?;
        match item.as_table_like() {
            Some(table) => Some(Tbl::new(table, parent.key_pos(key), place)),
            None => {
                self.mistyped(parent, key, item, "a table");
                None
            }
        }
    }

    /// The tables under `key` given as `[[key]]` or an array of inline tables.
    fn table_array<'d>(&mut self, parent: &Tbl<'d>, key: &str, place: &str) -> Vec<Tbl<'d>> {
        let Some(item) = parent.get(key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(aot) = item.as_array_of_tables() {
            for t in aot.iter() {
                let at = t.span().map_or(parent.key_pos(key), |s| s.start);
                out.push(Tbl::new(t, at, place.to_owned()));
            }
        } else if let Some(arr) = item.as_array() {
            for v in arr.iter() {
                let at = v.span().map_or(parent.key_pos(key), |s| s.start);
                match v.as_inline_table() {
                    Some(t) => out.push(Tbl::new(t, at, place.to_owned())),
                    None => self.err(
                        at,
                        format!(
                            "each entry of `{key}` must be a table, not {}",
                            with_article(v.type_name())
                        ),
                    ),
                }
            }
        } else {
            self.mistyped(parent, key, item, "an array of tables");
        }
        out
    }

    fn string(&mut self, t: &Tbl<'_>, key: &str) -> Option<Spanned<String>> {
        self.scalar(t, key, "a string", |item| item.as_str().map(str::to_owned))
    }

    fn integer(&mut self, t: &Tbl<'_>, key: &str) -> Option<Spanned<i64>> {
        self.scalar(t, key, "an integer", toml_edit::Item::as_integer)
    }

    fn boolean(&mut self, t: &Tbl<'_>, key: &str) -> Option<Spanned<bool>> {
        self.scalar(t, key, "a boolean", toml_edit::Item::as_bool)
    }

    /// The value under `key` as `read` takes it; another type is reported
    /// as not `expected`.
    fn scalar<T>(
        &mut self,
        t: &Tbl<'_>,
        key: &str,
        expected: &str,
        read: impl FnOnce(&toml_edit::Item) -> Option<T>,
    ) -> Option<Spanned<T>> {
        let item = t.get(key)?;
        match read(item) {
            Some(v) => Some(Spanned::new(t.pos(key, item), v)),
            None => {
                self.mistyped(t, key, item, expected);
                None
            }
        }
    }

    /// An array of strings; a non-string element is reported and skipped.
    fn strings(&mut self, t: &Tbl<'_>, key: &str) -> Option<Spanned<Vec<Spanned<String>>>> {
        let item = t.get(key)?;
        let Some(arr) = item.as_array() else {
            self.mistyped(t, key, item, "an array of strings");
            return None;
        };
        let whole = t.pos(key, item);
        let mut out = Vec::new();
        for v in arr.iter() {
            let span = v.span().unwrap_or(whole.clone());
            match v.as_str() {
                Some(s) => out.push(Spanned::new(span, s.to_owned())),
                None => self.err(
                    span.start,
                    format!(
                        "each entry of `{key}` in {} must be a string, not {}",
                        t.place,
                        with_article(v.type_name())
                    ),
                ),
            }
        }
        Some(Spanned::new(whole, out))
    }

    /// A calendar date: a string or a TOML local date (checked by the
    /// validator); any other type is kept as `None` for it to report.
    fn date(&mut self, t: &Tbl<'_>, key: &str) -> Option<Spanned<Option<String>>> {
        let item = t.get(key)?;
        let text = match (item.as_str(), item.as_datetime()) {
            (Some(s), _) => Some(s.to_owned()),
            (None, Some(d)) if d.time.is_none() && d.offset.is_none() => Some(d.to_string()),
            _ => None,
        };
        Some(Spanned::new(t.pos(key, item), text))
    }

    /// Reports every key of `t` the reader did not ask for, at the key.
    /// (`[items]`, `[purposes]` and `[fields.mask]` need none: each of
    /// their keys is a name the reader reads.)
    fn done(&mut self, t: &Tbl<'_>) {
        let read = t.read.borrow();
        for (key, _) in t.table.iter() {
            if !read.contains(key) {
                let message = format!("unknown key `{key}` in {}", t.place);
                self.err(t.key_pos(key), message);
            }
        }
    }

    fn required<T>(&mut self, t: &Tbl<'_>, key: &str, v: Option<T>) -> Option<T> {
        if v.is_none() && !t.table.contains_key(key) {
            self.err(t.at, format!("{} needs `{key}`", t.place));
        }
        v
    }

    fn policy(&mut self, root: &dyn toml_edit::TableLike) -> RawPolicy {
        let root = Tbl::new(root, 0, "the policy".to_owned());
        let mut raw = RawPolicy::default();
        if let Some(items) = self.table(&root, "items", "`items`".to_owned()) {
            for (code, _) in items.table.iter() {
                let Some(t) = self.table(&items, code, format!("`items.{code}`")) else {
                    continue;
                };
                let category = self.string(&t, "category");
                let inquiry_period_days = self.integer(&t, "inquiry_period_days");
                let statutory_basis = self.string(&t, "statutory_basis").map(Spanned::into_inner);
                let _ = self.string(&t, "name");
                let _ = self.string(&t, "description");
                self.done(&t);
                if let Some(category) = self.required(&t, "category", category) {
                    let at = items.key_pos(code);
                    raw.items.insert(
                        code.to_owned(),
                        Spanned::new(
                            at..at,
                            RawItem {
                                category,
                                period_mistyped: inquiry_period_days.is_none()
                                    && t.table.contains_key("inquiry_period_days"),
                                inquiry_period_days,
                                statutory_basis,
                            },
                        ),
                    );
                }
            }
        }
        if let Some(purposes) = self.table(&root, "purposes", "`purposes`".to_owned()) {
            for (code, _) in purposes.table.iter() {
                if let Some(desc) = self.string(&purposes, code) {
                    raw.purposes.insert(code.to_owned(), desc);
                }
            }
        }
        if let Some(fields) = self.table(&root, "fields", "`fields`".to_owned()) {
            raw.fields.prohibited = self
                .strings(&fields, "prohibited")
                .map(Spanned::into_inner)
                .unwrap_or_default();
            raw.fields.consent_required = self
                .strings(&fields, "consent_required")
                .map(Spanned::into_inner)
                .unwrap_or_default();
            if let Some(masks) = self.table(&fields, "mask", "`fields.mask`".to_owned()) {
                for (name, _) in masks.table.iter() {
                    let Some(t) = self.table(&masks, name, format!("`fields.mask.{name}`")) else {
                        continue;
                    };
                    let keep_start = self.integer(&t, "keep_start");
                    let keep_start = self.required(&t, "keep_start", keep_start);
                    let keep_end = self.integer(&t, "keep_end");
                    let keep_end = self.required(&t, "keep_end", keep_end);
                    self.done(&t);
                    if let (Some(keep_start), Some(keep_end)) = (keep_start, keep_end) {
                        let at = masks.key_pos(name);
                        raw.fields.mask.insert(
                            name.to_owned(),
                            Spanned::new(
                                at..at,
                                RawMask {
                                    keep_start,
                                    keep_end,
                                },
                            ),
                        );
                    }
                }
            }
            self.done(&fields);
        }
        for t in self.table_array(&root, "roles", "a `[[roles]]` entry") {
            let role = self.role(&t);
            self.done(&t);
            if let Some(role) = role {
                raw.roles.push(Spanned::new(t.at..t.at, role));
            }
        }
        for t in self.table_array(&root, "officers", "an `[[officers]]` entry") {
            let officer = self.officer(&t);
            self.done(&t);
            if let Some(officer) = officer {
                raw.officers.push(Spanned::new(t.at..t.at, officer));
            }
        }
        for t in self.table_array(&root, "alerts", "an `[[alerts]]` entry") {
            let alert = self.alert(&t);
            self.done(&t);
            if let Some(alert) = alert {
                raw.alerts.push(Spanned::new(t.at..t.at, alert));
            }
        }
        if let Some(t) = self.table(&root, "record_fields", "`record_fields`".to_owned()) {
            raw.record_fields = Some(RawRecordFields {
                records: self.string(&t, "records"),
                item: self.string(&t, "item"),
                decided_on: self.string(&t, "decided_on"),
                punishment_ends: self.string(&t, "punishment_ends"),
                restored: self.string(&t, "restored"),
                objection: self.string(&t, "objection"),
                withheld_by_subject: self.string(&t, "withheld_by_subject"),
            });
            self.done(&t);
        }
        self.done(&root);
        raw
    }

    fn role(&mut self, t: &Tbl<'_>) -> Option<RawRole> {
        let name = self.string(t, "name");
        let kind = self.string(t, "kind");
        let mut mistyped = BTreeSet::new();
        let mut list = |me: &mut Self, key: &'static str| {
            let v = me.strings(t, key).map(Spanned::into_inner);
            if v.is_none() && t.table.contains_key(key) {
                mistyped.insert(key);
            }
            v
        };
        let items = list(self, "items");
        let purposes = list(self, "purposes");
        let subject_types = list(self, "subject_types");
        let unmasked = list(self, "unmasked");
        let consent_fields = self.boolean(t, "consent_fields");
        let beyond_inquiry_period = self.boolean(t, "beyond_inquiry_period");
        let statutory_basis = self.string(t, "statutory_basis");
        let rate = self.string(t, "rate");
        let _ = self.string(t, "description");
        let name = self.required(t, "name", name);
        let kind = self.required(t, "kind", kind);
        Some(RawRole {
            name: name?,
            kind: kind?,
            items,
            purposes,
            subject_types,
            consent_fields,
            unmasked,
            beyond_inquiry_period,
            statutory_basis,
            rate,
            mistyped,
        })
    }

    fn alert(&mut self, t: &Tbl<'_>) -> Option<RawAlert> {
        let mut mistyped = BTreeSet::new();
        let name = self.string(t, "name");
        let kind = self.string(t, "kind");
        let threshold = self.integer(t, "threshold");
        if threshold.is_none() && t.table.contains_key("threshold") {
            mistyped.insert("threshold");
        }
        let mut text = |me: &mut Self, key: &'static str| {
            let v = me.string(t, key);
            if v.is_none() && t.table.contains_key(key) {
                mistyped.insert(key);
            }
            v
        };
        let window = text(self, "window");
        let action = text(self, "action");
        let suspend_for = text(self, "suspend_for");
        let hours = text(self, "hours");
        let days = text(self, "days");
        let _ = self.string(t, "description");
        let name = self.required(t, "name", name);
        let kind = self.required(t, "kind", kind);
        Some(RawAlert {
            name: name?,
            kind: kind?,
            threshold,
            window,
            action,
            suspend_for,
            hours,
            days,
            mistyped,
        })
    }

    fn officer(&mut self, t: &Tbl<'_>) -> Option<RawOfficer> {
        let id = self.string(t, "id");
        let name = self.string(t, "name").map(Spanned::into_inner);
        let unit = self.string(t, "unit").map(Spanned::into_inner);
        let roles = self.strings(t, "roles");
        let valid_from = self.date(t, "valid_from");
        let valid_until = self.date(t, "valid_until");
        let id = self.required(t, "id", id);
        let roles = self.required(t, "roles", roles);
        Some(RawOfficer {
            id: id?,
            name,
            unit,
            roles: roles?,
            valid_from,
            valid_until,
        })
    }
}

// --------------------------------------------------------------- validation

struct Validator<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn err<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        self.errors.push(Diagnostic::at(
            self.file,
            self.text,
            at.span().start,
            message,
        ));
    }

    fn err_file(&mut self, message: impl Into<String>) {
        self.errors.push(Diagnostic::file_level(self.file, message));
    }

    fn convert(&mut self, raw: RawPolicy, settings: &Settings) -> Policy {
        let items = self.items(&raw.items);
        let purposes: BTreeMap<String, String> = raw
            .purposes
            .iter()
            .map(|(k, v)| (k.clone(), v.get_ref().clone()))
            .collect();
        for (code, desc) in &raw.purposes {
            if !is_code(code) {
                self.err(
                    desc,
                    format!("purpose code `{code}` must be `a-z0-9_`, at most 64 characters"),
                );
            }
        }
        let (prohibited, consent_required, mask) = self.fields(&raw.fields);
        let record_fields = self.record_fields(raw.record_fields);
        let roles = self.roles(&raw.roles, &items, &purposes, &mask);
        let officers = self.officers(&raw.officers, &roles);
        let alerts = self.alerts(&raw.alerts);

        let consent_public_key = match &settings.consent_public_key {
            Some(bytes) => match parse_public_key(bytes) {
                Ok(k) => Some(k),
                Err(e) => {
                    self.err_file(e.to_string());
                    None
                }
            },
            None => None,
        };
        if !(-86_399..=86_399).contains(&settings.utc_offset_seconds) {
            self.err_file("platform time zone offset must be within ±24 hours");
        }

        Policy {
            rules: Arc::new(Rules {
                prohibited,
                consent_required,
                mask,
                items,
                record_fields,
                utc_offset_seconds: settings.utc_offset_seconds,
            }),
            purposes,
            roles,
            officers,
            consent_public_key,
            consent_max_days: settings.consent_max_days,
            utc_offset_seconds: settings.utc_offset_seconds,
            alerts,
        }
    }

    fn alerts(&mut self, raw: &[Spanned<RawAlert>]) -> Vec<AlertRule> {
        let mut out: Vec<AlertRule> = Vec::new();
        let mut names = BTreeSet::new();
        for spanned in raw {
            let a = spanned.get_ref();
            let name = a.name.get_ref().clone();
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            let fresh = names.insert(name.clone());
            if !name_ok {
                self.err(
                    &a.name,
                    format!("alert name `{name}` must be `a-z0-9_-`, at most 64 characters"),
                );
            } else if !fresh {
                self.err(&a.name, format!("duplicate alert name `{name}`"));
            }
            let duration = |me: &mut Self, v: &Spanned<String>, key: &str| {
                match alerts::parse_duration(v.get_ref()) {
                    Some(d) if d <= alerts::MAX_SPAN => Some(d),
                    Some(_) => {
                        me.err(
                            v,
                            format!(
                                "alert `{name}`: `{key}` = `{}` is longer than 30d",
                                v.get_ref()
                            ),
                        );
                        None
                    }
                    None => {
                        me.err(v, format!("alert `{name}`: bad `{key}` `{}` (expected N followed by s, m, h or d, such as 30s, 10m, 1h, 7d, with N ≥ 1)", v.get_ref()));
                        None
                    }
                }
            };
            let threshold_value =
                |me: &mut Self, t: &Spanned<i64>| match u32::try_from(*t.get_ref()) {
                    Ok(n) if n >= 1 => Some(n),
                    _ => {
                        me.err(
                            t,
                            format!(
                                "alert `{name}`: `threshold` must be a whole number from 1 to {}",
                                u32::MAX
                            ),
                        );
                        None
                    }
                };
            let hours_value = |me: &mut Self, h: &Spanned<String>| {
                let parsed = alerts::WorkingTime::parse_hours(h.get_ref());
                if parsed.is_none() {
                    me.err(h, format!("alert `{name}`: bad `hours` `{}` (expected HH:MM-HH:MM, such as 08:00-20:00)", h.get_ref()));
                }
                parsed
            };
            let days_value = |me: &mut Self, d: &Spanned<String>| {
                let parsed = alerts::WorkingTime::parse_days(d.get_ref());
                if parsed.is_none() {
                    me.err(d, format!("alert `{name}`: bad `days` `{}` (expected day names mon..sun as ranges or lists, such as mon-fri or sat,sun)", d.get_ref()));
                }
                parsed
            };
            let Some(kind) = alerts::AlertKind::parse(a.kind.get_ref()) else {
                self.err(
                    &a.kind,
                    format!("alert `{name}`: unknown kind `{}` (expected distinct_subjects, refusals, off_hours or subject_units)", a.kind.get_ref()),
                );
                // Every other value is still checked: one run names every
                // error.
                if let Some(t) = &a.threshold {
                    threshold_value(self, t);
                }
                for (v, key) in [(&a.window, "window"), (&a.suspend_for, "suspend_for")] {
                    if let Some(v) = v {
                        duration(self, v, key);
                    }
                }
                if let Some(h) = &a.hours {
                    hours_value(self, h);
                }
                if let Some(d) = &a.days {
                    days_value(self, d);
                }
                if let Some(act) = a
                    .action
                    .as_ref()
                    .filter(|s| !matches!(s.get_ref().as_str(), "alert" | "suspend"))
                {
                    self.err(
                        act,
                        format!(
                            "alert `{name}`: unknown action `{}` (expected alert or suspend)",
                            act.get_ref()
                        ),
                    );
                }
                continue;
            };
            let mut ok = name_ok && fresh;
            let off_hours = kind == alerts::AlertKind::OffHours;
            let threshold = match &a.threshold {
                Some(t) => threshold_value(self, t),
                // `off_hours`: every inquiry outside the working time.
                None if off_hours => Some(1),
                None => {
                    if !a.mistyped.contains("threshold") {
                        self.err(
                            &a.kind,
                            format!("alert `{name}`: kind `{kind}` needs a `threshold`"),
                        );
                    }
                    None
                }
            };
            let window = match &a.window {
                Some(w) => duration(self, w, "window"),
                None if off_hours => Some(Duration::from_secs(3600)),
                None => {
                    if !a.mistyped.contains("window") {
                        self.err(
                            &a.kind,
                            format!("alert `{name}`: kind `{kind}` needs a `window`"),
                        );
                    }
                    None
                }
            };
            let suspend_for = a
                .suspend_for
                .as_ref()
                .map(|s| (s, duration(self, s, "suspend_for")));
            let action = match a.action.as_ref().map(|s| (s, s.get_ref().as_str())) {
                // `suspend_for` beside `action = "alert"` is accepted and
                // has no effect (SPEC's own example writes it so, to show
                // the key); it must still be a valid duration (above).
                None | Some((_, "alert")) => match &suspend_for {
                    Some((_, None)) => None,
                    _ => Some(alerts::AlertAction::Alert),
                },
                Some((s, "suspend")) => {
                    if kind.per_subject() {
                        self.err(s, format!("alert `{name}`: kind `{kind}` counts per subject and cannot suspend an officer"));
                        None
                    } else {
                        match suspend_for {
                            Some((_, Some(d))) => Some(alerts::AlertAction::Suspend(d)),
                            Some((_, None)) => None,
                            None => {
                                if !a.mistyped.contains("suspend_for") {
                                    self.err(s, format!("alert `{name}`: `action = \"suspend\"` needs `suspend_for`"));
                                }
                                None
                            }
                        }
                    }
                }
                Some((s, other)) => {
                    self.err(
                        s,
                        format!(
                            "alert `{name}`: unknown action `{other}` (expected alert or suspend)"
                        ),
                    );
                    None
                }
            };
            let mut working = None;
            if off_hours {
                let hours = match &a.hours {
                    Some(h) => hours_value(self, h),
                    None => {
                        if !a.mistyped.contains("hours") {
                            self.err(
                                &a.kind,
                                format!("alert `{name}`: kind `off_hours` needs `hours`"),
                            );
                        }
                        None
                    }
                };
                let days = match &a.days {
                    Some(d) => days_value(self, d),
                    None => Some([true; 7]),
                };
                if let (Some((start_min, end_min)), Some(days)) = (hours, days) {
                    working = Some(alerts::WorkingTime {
                        start_min,
                        end_min,
                        days,
                    });
                } else {
                    ok = false;
                }
            } else {
                for (v, key) in [(&a.hours, "hours"), (&a.days, "days")] {
                    if let Some(v) = v {
                        self.err(
                            v,
                            format!(
                                "alert `{name}`: `{key}` is only meaningful with kind `off_hours`"
                            ),
                        );
                        ok = false;
                    }
                }
                // ... and a value that could not be one is named too.
                if let Some(h) = &a.hours {
                    hours_value(self, h);
                }
                if let Some(d) = &a.days {
                    days_value(self, d);
                }
            }
            if let (true, Some(threshold), Some(window), Some(action)) =
                (ok, threshold, window, action)
            {
                // A spelling `parse_duration` read is one word: kept as
                // written, so listings show the policy's own `24h`.
                let window_text = a
                    .window
                    .as_ref()
                    .map(|w| w.get_ref().trim().to_owned())
                    .unwrap_or_else(|| alerts::format_duration(window));
                out.push(AlertRule {
                    name,
                    kind,
                    threshold,
                    window,
                    window_text,
                    action,
                    working,
                });
            }
        }
        out
    }

    fn items(&mut self, raw: &BTreeMap<String, Spanned<RawItem>>) -> BTreeMap<String, ItemRule> {
        let mut out = BTreeMap::new();
        for (code, item) in raw {
            let it = item.get_ref();
            if !is_code(code) {
                self.err(
                    item,
                    format!("item code `{code}` must be `a-z0-9_`, at most 64 characters"),
                );
            }
            let category = match it.category.get_ref().as_str() {
                "basic" => Category::Basic,
                "untrustworthy" => Category::Untrustworthy,
                "positive" => Category::Positive,
                other => {
                    self.err(
                        &it.category,
                        format!("item `{code}`: unknown category `{other}` (expected basic, untrustworthy or positive)"),
                    );
                    continue;
                }
            };
            let mut period = None;
            match (&it.inquiry_period_days, category) {
                (None, Category::Untrustworthy) if !it.period_mistyped => self.err(
                    &it.category,
                    format!("untrustworthy item `{code}` needs `inquiry_period_days`"),
                ),
                (Some(p), Category::Untrustworthy) => {
                    let days = *p.get_ref();
                    if days < 1 || days > i64::from(u32::MAX) {
                        self.err(
                            p,
                            format!("item `{code}`: `inquiry_period_days` must be at least 1"),
                        );
                    } else if days > MAX_PERIOD_WITHOUT_BASIS
                        && it
                            .statutory_basis
                            .as_deref()
                            .is_none_or(|b| b.trim().is_empty())
                    {
                        self.err(
                            p,
                            format!("item `{code}`: `inquiry_period_days` = {days} exceeds 1095 (Beijing Art. 15) without a `statutory_basis`"),
                        );
                    } else {
                        period = u32::try_from(days).ok();
                    }
                }
                (Some(p), _) => self.err(
                    p,
                    format!("item `{code}`: only untrustworthy items have `inquiry_period_days`"),
                ),
                (None, _) => {}
            }
            out.insert(
                code.clone(),
                ItemRule {
                    category,
                    inquiry_period_days: period,
                },
            );
        }
        out
    }

    fn field_list(&mut self, list: &[Spanned<String>], what: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for f in list {
            // Compared normalised (NFKC, case folded, letters and digits
            // only), so two spellings of one name are one name.
            let name = crate::keyname::normalise(f.get_ref()).into_owned();
            if name.is_empty() {
                self.err(
                    f,
                    format!(
                        "field name `{}` in `fields.{what}` has no letter or digit",
                        f.get_ref()
                    ),
                );
            } else if !out.insert(name) {
                self.err(
                    f,
                    format!("field `{}` listed twice in `fields.{what}`", f.get_ref()),
                );
            }
        }
        out
    }

    fn fields(
        &mut self,
        raw: &RawFields,
    ) -> (BTreeSet<String>, BTreeSet<String>, BTreeMap<String, Mask>) {
        let prohibited = self.field_list(&raw.prohibited, "prohibited");
        let consent_required = self.field_list(&raw.consent_required, "consent_required");
        for f in &raw.consent_required {
            if prohibited.contains(crate::keyname::normalise(f.get_ref()).as_ref()) {
                self.err(
                    f,
                    format!(
                        "field `{}` is both prohibited and consent_required",
                        f.get_ref()
                    ),
                );
            }
        }
        let mut mask = BTreeMap::new();
        for (key, m) in &raw.mask {
            let lower = crate::keyname::normalise(key).into_owned();
            let mm = m.get_ref();
            let (Ok(keep_start), Ok(keep_end)) = (
                usize::try_from(*mm.keep_start.get_ref()),
                usize::try_from(*mm.keep_end.get_ref()),
            ) else {
                self.err(
                    m,
                    format!("mask of `{key}`: `keep_start` and `keep_end` must not be negative"),
                );
                continue;
            };
            if mask
                .insert(
                    lower,
                    Mask {
                        keep_start,
                        keep_end,
                    },
                )
                .is_some()
            {
                self.err(
                    m,
                    format!("mask of `{key}` given twice (names are compared normalised: case, width, `_`, `-`, spaces ignored)"),
                );
            }
        }
        (prohibited, consent_required, mask)
    }

    fn record_fields(&mut self, raw: Option<RawRecordFields>) -> RecordFields {
        let mut out = RecordFields::default();
        let Some(raw) = raw else {
            return out;
        };
        let slots: [(Option<Spanned<String>>, &mut String); 7] = [
            (raw.records, &mut out.records),
            (raw.item, &mut out.item),
            (raw.decided_on, &mut out.decided_on),
            (raw.punishment_ends, &mut out.punishment_ends),
            (raw.restored, &mut out.restored),
            (raw.objection, &mut out.objection),
            (raw.withheld_by_subject, &mut out.withheld_by_subject),
        ];
        let mut bad = Vec::new();
        for (value, slot) in slots {
            if let Some(v) = value {
                if v.get_ref().trim().is_empty() {
                    bad.push(v);
                } else {
                    *slot = v.into_inner();
                }
            }
        }
        for v in bad {
            self.err(&v, "`record_fields` names must not be empty");
        }
        out
    }

    fn roles(
        &mut self,
        raw: &[Spanned<RawRole>],
        items: &BTreeMap<String, ItemRule>,
        purposes: &BTreeMap<String, String>,
        mask: &BTreeMap<String, Mask>,
    ) -> HashMap<String, Role> {
        let mut out: HashMap<String, Role> = HashMap::new();
        for spanned in raw {
            let r = spanned.get_ref();
            let name = r.name.get_ref().clone();
            if name.trim().is_empty() {
                self.err(&r.name, "role name must not be empty");
                continue;
            }
            let kind = match r.kind.get_ref().as_str() {
                "state_organ" => RoleKind::StateOrgan,
                "credit_service" => RoleKind::CreditService,
                "compliance" => RoleKind::Compliance,
                other => {
                    self.err(
                        &r.kind,
                        format!("role `{name}`: unknown kind `{other}` (expected state_organ, credit_service or compliance)"),
                    );
                    continue;
                }
            };
            let mut role = Role {
                name: name.clone(),
                kind,
                items: BTreeSet::new(),
                purposes: BTreeSet::new(),
                subject_types: BTreeSet::new(),
                consent_fields: r.consent_fields.as_ref().is_some_and(|c| *c.get_ref()),
                unmasked: BTreeSet::new(),
                beyond_inquiry_period: None,
                rate: None,
            };
            if kind == RoleKind::Compliance {
                let data_keys = [
                    r.items.is_some(),
                    r.purposes.is_some(),
                    r.subject_types.is_some(),
                    r.consent_fields.is_some(),
                    r.beyond_inquiry_period.is_some(),
                    r.unmasked.is_some(),
                ];
                if data_keys.iter().any(|b| *b) {
                    self.err(
                        &r.kind,
                        format!("compliance role `{name}` may not carry data grants (items, purposes, subject_types, consent_fields, unmasked, beyond_inquiry_period)"),
                    );
                }
            } else {
                role.items = self.refs(r, &r.items, "items", |i| items.contains_key(i), "item");
                role.purposes = self.refs(
                    r,
                    &r.purposes,
                    "purposes",
                    |p| purposes.contains_key(p),
                    "purpose",
                );
                let types = self.refs(
                    r,
                    &r.subject_types,
                    "subject_types",
                    |t| t == "natural_person" || t == "legal_person",
                    "subject type",
                );
                role.subject_types = types
                    .iter()
                    .map(|t| {
                        if t == "natural_person" {
                            SubjectType::NaturalPerson
                        } else {
                            SubjectType::LegalPerson
                        }
                    })
                    .collect();
                if let Some(list) = &r.unmasked {
                    for u in list {
                        let lower = crate::keyname::normalise(u.get_ref()).into_owned();
                        if !mask.contains_key(&lower) {
                            self.err(u, format!("role `{name}`: `unmasked` names `{}`, which is not a masked field", u.get_ref()));
                        }
                        role.unmasked.insert(lower);
                    }
                }
            }
            let basis = r
                .statutory_basis
                .as_ref()
                .map(|b| b.get_ref().trim().to_owned())
                .filter(|b| !b.is_empty());
            match &r.beyond_inquiry_period {
                Some(b) if *b.get_ref() => match &basis {
                    Some(basis) => role.beyond_inquiry_period = Some(basis.clone()),
                    None => self.err(
                        b,
                        format!("role `{name}`: `beyond_inquiry_period = true` needs a `statutory_basis`"),
                    ),
                },
                _ => {
                    if let Some(b) = &r.statutory_basis {
                        self.err(b, format!("role `{name}`: `statutory_basis` is only meaningful with `beyond_inquiry_period = true`"));
                    }
                }
            }
            if let Some(rate) = &r.rate {
                match Rate::parse(rate.get_ref()) {
                    Some(parsed) => role.rate = Some(parsed),
                    None => self.err(
                        rate,
                        format!("role `{name}`: bad rate `{}` (expected N/second, N/minute, N/hour or N/day with N ≥ 1)", rate.get_ref()),
                    ),
                }
            }
            if out.contains_key(&name) {
                self.err(&r.name, format!("duplicate role name `{name}`"));
                continue;
            }
            out.insert(name, role);
        }
        out
    }

    /// Validate a list of references (items, purposes, subject types) of a
    /// data role: present, non-empty, no duplicates, all known.
    fn refs(
        &mut self,
        r: &RawRole,
        list: &Option<Vec<Spanned<String>>>,
        key: &str,
        known: impl Fn(&str) -> bool,
        what: &str,
    ) -> BTreeSet<String> {
        let (at, role) = (&r.name, r.name.get_ref());
        let mut out = BTreeSet::new();
        let Some(list) = list else {
            if !r.mistyped.contains(key) {
                self.err(at, format!("data role `{role}` must list `{key}`"));
            }
            return out;
        };
        if list.is_empty() {
            self.err(at, format!("data role `{role}` has an empty `{key}` list"));
        }
        for entry in list {
            let v = entry.get_ref();
            if !known(v) {
                self.err(entry, format!("role `{role}`: unknown {what} `{v}`"));
            } else if !out.insert(v.clone()) {
                self.err(entry, format!("role `{role}`: {what} `{v}` listed twice"));
            }
        }
        out
    }

    fn date(&mut self, v: &Spanned<Option<String>>, officer: &str, key: &str) -> Option<Date> {
        let text = v.get_ref().as_deref().unwrap_or_default();
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        match Date::parse(text, &fmt) {
            Ok(d) => Some(d),
            Err(_) => {
                self.err(
                    v,
                    format!("officer `{officer}`: `{key}` must be a date `YYYY-MM-DD`"),
                );
                None
            }
        }
    }

    fn officers(
        &mut self,
        raw: &[Spanned<RawOfficer>],
        roles: &HashMap<String, Role>,
    ) -> HashMap<String, Officer> {
        let mut out: HashMap<String, Officer> = HashMap::new();
        for spanned in raw {
            let o = spanned.get_ref();
            let id = o.id.get_ref().clone();
            if id.trim().is_empty() || id.chars().any(char::is_control) {
                self.err(&o.id, "officer id must be non-empty printable text");
                continue;
            }
            let mut officer_roles = Vec::new();
            if o.roles.get_ref().is_empty() {
                self.err(&o.roles, format!("officer `{id}` has no roles"));
            }
            for r in o.roles.get_ref() {
                let name = r.get_ref();
                if !roles.contains_key(name) {
                    self.err(r, format!("officer `{id}`: unknown role `{name}`"));
                } else if officer_roles.contains(name) {
                    self.err(r, format!("officer `{id}`: role `{name}` listed twice"));
                } else {
                    officer_roles.push(name.clone());
                }
            }
            // Separation of duties: whoever checks the log must not be one
            // of those whose inquiries it records.
            let compliance = officer_roles.iter().find(|n| {
                roles
                    .get(*n)
                    .is_some_and(|r| r.kind == RoleKind::Compliance)
            });
            let data = officer_roles.iter().find(|n| {
                roles
                    .get(*n)
                    .is_some_and(|r| r.kind != RoleKind::Compliance)
            });
            if let (Some(c), Some(d)) = (compliance, data) {
                self.err(
                    &o.roles,
                    format!("officer `{id}` holds compliance role `{c}` and data role `{d}`: compliance and data roles must go to different officers (separation of duties)"),
                );
            }
            let valid_from = o
                .valid_from
                .as_ref()
                .and_then(|v| self.date(v, &id, "valid_from"));
            let valid_until = o
                .valid_until
                .as_ref()
                .and_then(|v| self.date(v, &id, "valid_until"));
            if let (Some(f), Some(u), Some(at)) = (valid_from, valid_until, o.valid_from.as_ref()) {
                if f > u {
                    self.err(
                        at,
                        format!("officer `{id}`: `valid_from` {f} is after `valid_until` {u}"),
                    );
                }
            }
            if out.contains_key(&id) {
                self.err(&o.id, format!("duplicate officer id `{id}`"));
                continue;
            }
            out.insert(
                id.clone(),
                Officer {
                    id,
                    name: o.name.clone().unwrap_or_default(),
                    unit: o.unit.clone().unwrap_or_default(),
                    roles: officer_roles,
                    valid_from,
                    valid_until,
                },
            );
        }
        out
    }
}

/// True for a non-empty code of `[a-z0-9_]`, at most 64 bytes.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests;
