//! # redaction — nothing prohibited leaves, nothing expired is served
//!
//! Transforms one upstream JSON document under a [`policy::Scope`]: removes
//! prohibited and unconsented keys, masks sensitive values by character,
//! drops records that may not be served (ungranted item, inquiry period over,
//! restored, withheld), labels records under objection, and reports what it
//! did as counts and key names.
//!
//! ## What this crate must never do
//! - log, print or return a removed or masked *value* (the [`Report`] holds
//!   key names and counts only);
//! - do I/O, read the clock (time is a parameter), or know about HTTP.
#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use policy::Scope;
use time::OffsetDateTime;

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

    /// Error code and HTTP status when a single-record fetch is refused.
    pub fn refusal(self) -> (u16, &'static str) {
        match self {
            Suppression::Expired => (451, "inquiry_period_expired"),
            Suppression::Restored => (451, "credit_restored"),
            Suppression::Withheld => (451, "withheld_by_subject"),
            Suppression::NotGranted => (403, "item_not_granted"),
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
    /// Key names removed (as spelled in the body).
    pub removed_keys: BTreeSet<String>,
    /// Key names masked (as spelled in the body).
    pub masked_keys: BTreeSet<String>,
    /// Records that gained `objection_notice`.
    pub objection_labeled: u32,
    /// `subject.id` of the body, if present and a string.
    pub subject_id: Option<String>,
    /// `subject.type` of the body, if present and a string.
    pub subject_type: Option<String>,
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

/// Transform `body` under `scope` at instant `now`.
///
/// Parse once, transform in place, serialise once.
pub fn apply(
    body: &[u8],
    scope: &Scope,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, Report), RedactionError> {
    let _ = (body, scope, now);
    todo!("redaction::apply")
}
