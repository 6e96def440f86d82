//! Misuse alerts (`[[alerts]]` in `policy.toml`): the validated rule types
//! and the pure evaluator that counts inquiries in exact sliding windows.
//!
//! This module owns:
//! - [`AlertRule`] (read and validated by [`crate::file`], with file:line
//!   errors) and its duration / hours / days grammar;
//! - [`Evaluator`]: fed one [`AlertEvent`] per committed data-plane entry,
//!   it answers the [`Firing`]s the event caused. Per rule and key (the
//!   officer, or the subject for `subject_units`) it keeps a deque of the
//!   events still inside the window plus a count per distinct value, so
//!   memory is bounded by the inquiries inside one window per key (which
//!   the role rate limits bound) and every event costs amortised O(1).
//!   A rule fires when its count reaches its threshold; the key's window
//!   then restarts empty ("counted from that moment"), and [`Evaluator::lift`]
//!   restarts an officer's windows;
//! - the text of an alert entry's `rule` field ([`Firing::rule_text`]) and
//!   its parser ([`AlertRecord::parse`]), so the log can be read back.
//!
//! What it must never do: read the clock (times are event parameters),
//! touch the inquiry log or any I/O, or panic on any input.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Longest `window` or `suspend_for` a rule may have (bounds the log read
/// that rebuilds state at start).
pub const MAX_SPAN: Duration = Duration::from_secs(30 * 86_400);

/// What a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// Per officer: distinct subjects of allowed inquiries within the window.
    DistinctSubjects,
    /// Per officer: refused inquiries (`decision = deny`) within the window.
    Refusals,
    /// Per officer: inquiries outside the working hours / days.
    OffHours,
    /// Per subject: distinct units whose allowed inquiries asked about it.
    SubjectUnits,
}

impl AlertKind {
    /// The spelling used in policy files and alert entries.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::DistinctSubjects => "distinct_subjects",
            AlertKind::Refusals => "refusals",
            AlertKind::OffHours => "off_hours",
            AlertKind::SubjectUnits => "subject_units",
        }
    }

    /// Parse the policy-file spelling.
    pub fn parse(text: &str) -> Option<AlertKind> {
        Some(match text {
            "distinct_subjects" => AlertKind::DistinctSubjects,
            "refusals" => AlertKind::Refusals,
            "off_hours" => AlertKind::OffHours,
            "subject_units" => AlertKind::SubjectUnits,
            _ => return None,
        })
    }

    /// True when the rule's key is a subject (else an officer).
    pub fn per_subject(self) -> bool {
        self == AlertKind::SubjectUnits
    }

    /// True when the count is of distinct values (subjects, units).
    fn distinct(self) -> bool {
        matches!(self, AlertKind::DistinctSubjects | AlertKind::SubjectUnits)
    }
}

/// What a firing does besides being logged and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    /// Log and count only.
    Alert,
    /// Also refuse the officer's data-plane inquiries for this long.
    Suspend(Duration),
}

/// Working hours and days of an `off_hours` rule, in the platform zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingTime {
    /// Start, minutes after local midnight (inclusive).
    pub start_min: u32,
    /// End, minutes after local midnight (exclusive); before `start_min`
    /// for hours that span midnight (`22:00-06:00`).
    pub end_min: u32,
    /// Working days, Monday first.
    pub days: [bool; 7],
}

impl WorkingTime {
    /// Parse `HH:MM-HH:MM` (start ≠ end).
    pub fn parse_hours(text: &str) -> Option<(u32, u32)> {
        let (a, b) = text.trim().split_once('-')?;
        let hm = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let h: u32 = h.parse().ok()?;
            let m: u32 = m.parse().ok()?;
            // 24:00 is the end of the day.
            if (h < 24 && m < 60) || (h == 24 && m == 0) {
                Some(h * 60 + m)
            } else {
                None
            }
        };
        let (s, e) = (hm(a)?, hm(b)?);
        (s != e && s < 24 * 60).then_some((s, e))
    }

    /// Parse `mon-fri`, `sat,sun`, `mon-wed,sat` (ranges may wrap: `fri-mon`).
    pub fn parse_days(text: &str) -> Option<[bool; 7]> {
        const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let day = |t: &str| NAMES.iter().position(|n| *n == t.trim());
        let mut out = [false; 7];
        for part in text.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (mut i, j) = (day(a)?, day(b)?);
                    loop {
                        *out.get_mut(i)? = true;
                        if i == j {
                            break;
                        }
                        i = (i + 1) % 7;
                    }
                }
                None => *out.get_mut(day(part)?)? = true,
            }
        }
        Some(out)
    }

    /// True when `time_ms` (UTC) lies outside the working hours and days
    /// in the zone `utc_offset_seconds` east of UTC.
    pub fn outside(&self, time_ms: i64, utc_offset_seconds: i32) -> bool {
        let local = time_ms.div_euclid(1000) + i64::from(utc_offset_seconds);
        let days = local.div_euclid(86_400);
        let minute = u32::try_from(local.rem_euclid(86_400) / 60).unwrap_or(0);
        // 1970-01-01 was a Thursday (index 3, Monday first).
        let weekday = usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0);
        let working_day = self.days.get(weekday).copied().unwrap_or(false);
        let in_hours = if self.start_min < self.end_min {
            (self.start_min..self.end_min).contains(&minute)
        } else {
            minute >= self.start_min || minute < self.end_min
        };
        !(working_day && in_hours)
    }
}

/// One validated `[[alerts]]` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRule {
    /// Unique name (`[a-z0-9_-]`, ≤ 64): the metric label and `/alerts/<name>`.
    pub name: String,
    /// What it counts.
    pub kind: AlertKind,
    /// Count at which it fires (≥ 1).
    pub threshold: u32,
    /// The sliding window.
    pub window: Duration,
    /// The window as the policy spells it (`24h` stays `24h`, not `1d`):
    /// what alert entries and listings show.
    pub window_text: String,
    /// Log only, or suspend.
    pub action: AlertAction,
    /// `off_hours` only: the working time.
    pub working: Option<WorkingTime>,
}

/// Parse a duration `N` + `s|m|h|d` with N ≥ 1 (`30s`, `10m`, `1h`, `7d`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let unit = t.chars().last()?;
    let n = t.get(..t.len().checked_sub(1)?)?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = n.parse().ok().filter(|n| *n >= 1)?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    n.checked_mul(secs).map(Duration::from_secs)
}

/// The shortest spelling [`parse_duration`] reads back (`3600s` → `1h`).
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, size) in [('d', 86_400), ('h', 3600), ('m', 60)] {
        if s >= size && s.is_multiple_of(size) {
            return format!("{}{unit}", s / size);
        }
    }
    format!("{s}s")
}

/// How a counted inquiry was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventDecision {
    /// Allowed (data released).
    Allow,
    /// Refused.
    Deny,
    /// Failed (no data released, not a refusal).
    Error,
}

/// One committed data-plane inquiry, as the evaluator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertEvent {
    /// Officer id (never empty: the caller drops anonymous entries).
    pub officer: String,
    /// The officer's unit (may be empty).
    pub unit: String,
    /// Subject asked about, if known.
    pub subject: Option<String>,
    /// How it was decided.
    pub decision: EventDecision,
    /// Entry time, UTC unix milliseconds.
    pub time_ms: i64,
    /// The entry's inquiry id.
    pub inquiry_id: String,
    /// How many inquiries it stands for: 1, or a refusal summary's count
    /// (refusals past a certificate's budget, one entry a second): counting
    /// rules (`refusals`, `off_hours`) add it, distinct ones ignore it.
    pub weight: u32,
}

/// A rule that fired: everything its alert entry records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    /// Rule name.
    pub rule: String,
    /// Rule kind.
    pub kind: AlertKind,
    /// The officer of the inquiry that made it fire.
    pub officer: String,
    /// That inquiry's unit.
    pub unit: String,
    /// For `subject_units`: the subject.
    pub subject: Option<String>,
    /// The count reached (the threshold).
    pub count: u32,
    /// The rule's window.
    pub window: Duration,
    /// The rule's window as the policy spells it.
    pub window_text: String,
    /// Oldest inquiry inside the window.
    pub first_inquiry: String,
    /// The inquiry that made it fire.
    pub last_inquiry: String,
    /// Time of that inquiry.
    pub time_ms: i64,
    /// `Some(until)` (UTC ms) for `action = "suspend"`.
    pub suspend_until_ms: Option<i64>,
}

/// RFC 3339 of UTC milliseconds (whole seconds), or the number.
fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

impl Firing {
    /// The alert entry's `rule` text, e.g. `bulk-lookup: distinct_subjects
    /// 200 within 1h, inquiries FIRST..LAST, action suspend until
    /// 2026-12-04T15:00:00Z` ([`AlertRecord::parse`] reads it back).
    pub fn rule_text(&self) -> String {
        let action = match self.suspend_until_ms {
            Some(until) => format!("suspend until {}", rfc3339(until)),
            None => "alert".to_owned(),
        };
        format!(
            "{}: {} {} within {}, inquiries {}..{}, action {action}",
            self.rule,
            self.kind.as_str(),
            self.count,
            self.window_text,
            self.first_inquiry,
            self.last_inquiry,
        )
    }
}

/// An alert entry's `rule` text, parsed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    /// Rule name.
    pub rule: String,
    /// Rule kind.
    pub kind: AlertKind,
    /// Count reached.
    pub count: u32,
    /// Window, as written (`1h`).
    pub window: String,
    /// Oldest inquiry in the window.
    pub first_inquiry: String,
    /// Inquiry that made it fire.
    pub last_inquiry: String,
    /// `Some(until)` (UTC ms) when it suspended the officer.
    pub suspend_until_ms: Option<i64>,
}

impl AlertRecord {
    /// Parse [`Firing::rule_text`]; `None` for any other text.
    pub fn parse(text: &str) -> Option<AlertRecord> {
        let (rule, rest) = text.split_once(": ")?;
        let (head, rest) = rest.split_once(", inquiries ")?;
        let (ids, action) = rest.split_once(", action ")?;
        let mut words = head.split(' ');
        let kind = AlertKind::parse(words.next()?)?;
        let count = words.next()?.parse().ok()?;
        if words.next()? != "within" {
            return None;
        }
        let window = words.next()?.to_owned();
        if words.next().is_some() || parse_duration(&window).is_none() {
            return None;
        }
        let (first, last) = ids.split_once("..")?;
        let suspend_until_ms = match action {
            "alert" => None,
            other => {
                let at = other.strip_prefix("suspend until ")?;
                let t = OffsetDateTime::parse(at, &Rfc3339).ok()?;
                Some(t.unix_timestamp().checked_mul(1000)?)
            }
        };
        Some(AlertRecord {
            rule: rule.to_owned(),
            kind,
            count,
            window,
            first_inquiry: first.to_owned(),
            last_inquiry: last.to_owned(),
            suspend_until_ms,
        })
    }
}

/// The `rule` text of a lift entry: `lift officer ID: REASON`.
pub fn lift_text(officer: &str, reason: &str) -> String {
    format!("lift officer {officer}: {reason}")
}

/// The officer a lift entry's `rule` text names.
pub fn parse_lift(text: &str) -> Option<(&str, &str)> {
    text.strip_prefix("lift officer ")?.split_once(": ")
}

/// One key's sliding window.
#[derive(Debug, Default)]
struct Window {
    /// (time, counted value, inquiry id, weight), oldest first.
    events: VecDeque<(i64, String, String, u32)>,
    /// Occurrences per value inside the window (distinct kinds only).
    values: HashMap<String, u32>,
    /// The weights of the events inside the window, summed.
    total: u64,
}

impl Window {
    /// Drop events at or before `now - window`.
    fn expire(&mut self, now_ms: i64, window_ms: i64) {
        let edge = now_ms.saturating_sub(window_ms);
        while self.events.front().is_some_and(|(t, ..)| *t <= edge) {
            if let Some((_, value, _, weight)) = self.events.pop_front() {
                self.total = self.total.saturating_sub(u64::from(weight));
                if let Some(n) = self.values.get_mut(&value) {
                    *n -= 1;
                    if *n == 0 {
                        self.values.remove(&value);
                    }
                }
            }
        }
    }

    fn count(&self, distinct: bool) -> usize {
        if distinct {
            self.values.len()
        } else {
            usize::try_from(self.total).unwrap_or(usize::MAX)
        }
    }
}

/// The per-rule, per-key sliding windows (see the module docs).
#[derive(Debug, Default)]
pub struct Evaluator {
    rules: Vec<AlertRule>,
    utc_offset_seconds: i32,
    /// Rule name → key → window.
    windows: HashMap<String, HashMap<String, Window>>,
    /// Rule name → when a policy reload adopted it (UTC ms): the rule
    /// counts no inquiry made before ([`Evaluator::adopted_at`]).
    adopted: HashMap<String, i64>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Evaluator {
    /// An evaluator of `rules` in the zone `utc_offset_seconds` east of UTC.
    pub fn new(rules: Vec<AlertRule>, utc_offset_seconds: i32) -> Evaluator {
        let mut e = Evaluator::default();
        e.set_rules(rules, utc_offset_seconds);
        e
    }

    /// Replace the rules (a policy reload): windows of rules that are
    /// unchanged (same name and definition) are kept, the others dropped.
    pub fn set_rules(&mut self, rules: Vec<AlertRule>, utc_offset_seconds: i32) {
        let keep = |name: &str| {
            self.rules.iter().find(|r| r.name == name) == rules.iter().find(|r| r.name == name)
                && self.utc_offset_seconds == utc_offset_seconds
        };
        let kept: HashMap<String, HashMap<String, Window>> = std::mem::take(&mut self.windows)
            .into_iter()
            .filter(|(name, _)| keep(name))
            .collect();
        self.windows = kept;
        self.rules = rules;
        self.utc_offset_seconds = utc_offset_seconds;
    }

    /// The rules evaluated.
    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// Rules present in `rules` but not (with the same definition, in the
    /// same zone) among the rules evaluated now: what [`Evaluator::set_rules`]
    /// with them would start afresh. Every rule when none is evaluated yet.
    pub fn new_in(&self, rules: &[AlertRule], utc_offset_seconds: i32) -> Vec<String> {
        rules
            .iter()
            .filter(|r| {
                self.utc_offset_seconds != utc_offset_seconds
                    || !self.rules.iter().any(|kept| kept == *r)
            })
            .map(|r| r.name.clone())
            .collect()
    }

    /// A policy reload adopted `rule` at `time_ms` (UTC ms): from now on it
    /// counts only inquiries made at or after then, live and when the
    /// windows are rebuilt from the log (which records the adoption), so a
    /// rule never acts on what was logged before it. The later of two
    /// adoptions stands.
    pub fn adopted_at(&mut self, rule: &str, time_ms: i64) {
        let at = self.adopted.entry(rule.to_owned()).or_insert(time_ms);
        *at = (*at).max(time_ms);
    }

    /// Count one committed inquiry; the rules it made fire.
    pub fn observe(&mut self, e: &AlertEvent) -> Vec<Firing> {
        let mut out = Vec::new();
        for rule in &self.rules {
            if self
                .adopted
                .get(&rule.name)
                .is_some_and(|adopted| e.time_ms < *adopted)
            {
                continue;
            }
            let counted = match rule.kind {
                AlertKind::DistinctSubjects => match (&e.subject, e.decision) {
                    (Some(s), EventDecision::Allow) => Some((e.officer.as_str(), s.as_str())),
                    _ => None,
                },
                AlertKind::Refusals => {
                    (e.decision == EventDecision::Deny).then_some((e.officer.as_str(), ""))
                }
                AlertKind::OffHours => rule
                    .working
                    .is_some_and(|w| w.outside(e.time_ms, self.utc_offset_seconds))
                    .then_some((e.officer.as_str(), "")),
                AlertKind::SubjectUnits => match (&e.subject, e.decision) {
                    (Some(s), EventDecision::Allow) if !e.unit.is_empty() => {
                        Some((s.as_str(), e.unit.as_str()))
                    }
                    _ => None,
                },
            };
            let Some((key, value)) = counted else {
                continue;
            };
            let per_rule = self.windows.entry(rule.name.clone()).or_default();
            let window = per_rule.entry(key.to_owned()).or_default();
            window.expire(e.time_ms, millis(rule.window));
            let weight = e.weight.max(1);
            window
                .events
                .push_back((e.time_ms, value.to_owned(), e.inquiry_id.clone(), weight));
            window.total = window.total.saturating_add(u64::from(weight));
            if rule.kind.distinct() {
                *window.values.entry(value.to_owned()).or_default() += 1;
            }
            let count = window.count(rule.kind.distinct());
            if count < usize::try_from(rule.threshold).unwrap_or(usize::MAX) {
                continue;
            }
            let first_inquiry = window
                .events
                .front()
                .map(|(_, _, id, _)| id.clone())
                .unwrap_or_default();
            // Fired: counted anew from this moment.
            per_rule.remove(key);
            out.push(Firing {
                rule: rule.name.clone(),
                kind: rule.kind,
                officer: e.officer.clone(),
                unit: e.unit.clone(),
                subject: rule.kind.per_subject().then(|| key.to_owned()),
                count: u32::try_from(count).unwrap_or(u32::MAX),
                window: rule.window,
                window_text: rule.window_text.clone(),
                first_inquiry,
                last_inquiry: e.inquiry_id.clone(),
                time_ms: e.time_ms,
                suspend_until_ms: match rule.action {
                    // Whole seconds, rounded up: the entry's text (RFC 3339
                    // to the second) then says exactly when it ends, and a
                    // restart that reads it back agrees with the gateway
                    // that fired (an outside probe saw `…11.652Z` in the
                    // refusal, `…11.000Z` everywhere else).
                    AlertAction::Suspend(d) => {
                        let until = e.time_ms.saturating_add(millis(d));
                        Some(
                            until
                                .saturating_add(999)
                                .div_euclid(1000)
                                .saturating_mul(1000),
                        )
                    }
                    AlertAction::Alert => None,
                },
            });
        }
        out
    }

    /// Restart every per-officer window of `officer` (a lift).
    pub fn lift(&mut self, officer: &str) {
        for rule in &self.rules {
            if !rule.kind.per_subject() {
                if let Some(per_rule) = self.windows.get_mut(&rule.name) {
                    per_rule.remove(officer);
                }
            }
        }
    }

    /// Restart one rule's window of one key (an alert entry of that rule
    /// and key seen in the log).
    pub fn restart(&mut self, rule: &str, key: &str) {
        if let Some(per_rule) = self.windows.get_mut(rule) {
            per_rule.remove(key);
        }
    }

    /// Expire every window at `now_ms` and forget empty ones (bounds memory
    /// to the keys active within their window).
    pub fn sweep(&mut self, now_ms: i64) {
        for rule in &self.rules {
            if let Some(per_rule) = self.windows.get_mut(&rule.name) {
                let w = millis(rule.window);
                per_rule.retain(|_, window| {
                    window.expire(now_ms, w);
                    !window.events.is_empty()
                });
            }
        }
        self.windows.retain(|_, per_rule| !per_rule.is_empty());
    }

    /// Current count of one rule's window for one key (for tests and
    /// diagnostics).
    pub fn count(&self, rule: &str, key: &str) -> usize {
        let distinct = self
            .rules
            .iter()
            .find(|r| r.name == rule)
            .is_some_and(|r| r.kind.distinct());
        self.windows
            .get(rule)
            .and_then(|m| m.get(key))
            .map_or(0, |w| w.count(distinct))
    }

    /// Number of (rule, key) windows held.
    pub fn tracked(&self) -> usize {
        self.windows.values().map(HashMap::len).sum()
    }

    /// Longest window of any rule (how far back a rebuild reads).
    pub fn longest_window(&self) -> Duration {
        self.rules
            .iter()
            .map(|r| r.window)
            .max()
            .unwrap_or_default()
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
