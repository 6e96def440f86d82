//! The shared vocabulary between the policy, the redactor and the gateway.
//!
//! These types are the contract between crates: `gateway` builds an
//! [`Identity`] and an [`Inquiry`], `policy::decide` answers a [`Decision`],
//! and on allow the [`Scope`] (with its [`Rules`]) is all `redaction::apply`
//! needs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Who is asking, as read from the TLS client certificate (never from headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Officer id per the `[identity] officer_id` mapping.
    pub officer_id: String,
    /// Display name per `[identity] name` (may be empty).
    pub name: String,
    /// Unit per `[identity] unit` (may be empty).
    pub unit: String,
    /// Lowercase hex SHA-256 of the leaf certificate DER.
    pub fingerprint: String,
}

/// Kind of credit subject, derived from the identifier's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SubjectType {
    /// 18-character resident identity number, GB 11643.
    NaturalPerson,
    /// 18-character unified social credit code, GB 32100.
    LegalPerson,
}

impl SubjectType {
    /// The spelling used in policy files and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectType::NaturalPerson => "natural_person",
            SubjectType::LegalPerson => "legal_person",
        }
    }
}

/// A fronted data-plane route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/subjects/{subject_id}`
    Subject {
        /// The validated subject identifier.
        subject_id: String,
        /// Its type, from the identifier format.
        subject_type: SubjectType,
    },
    /// `GET /v1/subjects/{subject_id}/records?items=a,b`
    SubjectRecords {
        /// The validated subject identifier.
        subject_id: String,
        /// Its type, from the identifier format.
        subject_type: SubjectType,
        /// Items named by the client; `None` when `items` was absent.
        items: Option<Vec<String>>,
    },
    /// `GET /v1/records/{record_id}`
    Record {
        /// Opaque record id (validated charset: `[A-Za-z0-9._-]`, ≤ 128).
        record_id: String,
    },
}

/// One parsed data-plane request: what the officer asks and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inquiry {
    /// Which route and subject.
    pub route: Route,
    /// `Inquiry-Purpose` header: a purpose code.
    pub purpose: String,
    /// `Inquiry-Case` header: case or file number (≤ 128 chars).
    pub case: String,
    /// `Subject-Consent` header, raw token text, if sent.
    pub consent: Option<String>,
}

/// Category of an information item (Beijing Art. 11 catalogue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Basic information.
    Basic,
    /// Untrustworthiness information: has an inquiry period.
    Untrustworthy,
    /// Positive information (commendations, ...): the subject may withhold it.
    Positive,
}

/// What the redactor needs to know about one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRule {
    /// The item's category.
    pub category: Category,
    /// For untrustworthy items: days from `decided_on` the record may be served.
    pub inquiry_period_days: Option<u32>,
}

/// Partial masking of a key's string/number leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mask {
    /// Characters kept at the start.
    pub keep_start: usize,
    /// Characters kept at the end.
    pub keep_end: usize,
}

/// Names of the record fields the lifecycle rules read (configurable for
/// upstreams that spell them differently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFields {
    /// Array of records at the top level of the body (default `records`).
    pub records: String,
    /// Item code of a record (default `item`).
    pub item: String,
    /// Decision date, `YYYY-MM-DD` (default `decided_on`).
    pub decided_on: String,
    /// End of punishment, `YYYY-MM-DD` (default `punishment_ends`).
    pub punishment_ends: String,
    /// Credit restored flag (default `restored`).
    pub restored: String,
    /// Objection state; `"pending"` labels the record (default `objection`).
    pub objection: String,
    /// Subject withheld a positive record (default `withheld_by_subject`).
    pub withheld_by_subject: String,
}

impl Default for RecordFields {
    fn default() -> Self {
        RecordFields {
            records: "records".into(),
            item: "item".into(),
            decided_on: "decided_on".into(),
            punishment_ends: "punishment_ends".into(),
            restored: "restored".into(),
            objection: "objection".into(),
            withheld_by_subject: "withheld_by_subject".into(),
        }
    }
}

/// The policy-wide rules the redactor applies; compiled once per policy load
/// and shared by every [`Scope`] through an `Arc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Prohibited keys, normalised ([`crate::keyname::normalise`], once per
    /// policy load): removed for everyone.
    pub prohibited: BTreeSet<String>,
    /// Consent-required keys, normalised: removed unless the scope's
    /// `consent_fields` contains them.
    pub consent_required: BTreeSet<String>,
    /// Masked keys, normalised.
    pub mask: BTreeMap<String, Mask>,
    /// The item catalogue.
    pub items: BTreeMap<String, ItemRule>,
    /// Record field names used by lifecycle rules.
    pub record_fields: RecordFields,
    /// Platform time zone offset in seconds east of UTC (default +08:00).
    pub utc_offset_seconds: i32,
}

/// What an allowed inquiry may see. Built by `decide`, applied by the redactor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Items the officer may see in this inquiry (role ∩ request ∩ consent).
    /// The upstream is asked for exactly these when the route lists records.
    pub items: BTreeSet<String>,
    /// Subject types the officer may see (checked again on `/v1/records/{id}`
    /// once the upstream names the subject).
    pub subject_types: BTreeSet<SubjectType>,
    /// Consent-required keys (normalised, [`crate::keyname`]) the officer may see.
    pub consent_fields: BTreeSet<String>,
    /// Masked keys the officer may see unmasked (normalised); usually empty.
    pub unmasked: BTreeSet<String>,
    /// `Some(basis)` when records past their inquiry period may be seen.
    /// The redactor applies it to every untrustworthy item of the scope, so
    /// `decide` sets it only when EVERY contributing role carries
    /// `beyond_inquiry_period` (differing statutory bases joined with `; `);
    /// one contributing role without a basis makes it `None` (fail closed).
    pub beyond_inquiry_period: Option<String>,
    /// For `credit_service` identities: the subject the consent token names
    /// (a `/v1/records/{id}` answer about anyone else is refused).
    pub consent_subject: Option<String>,
    /// The subject id the officer asked for on a subject route (`None` on
    /// `/v1/records/{id}`, where the upstream names the subject). The
    /// answer's `subject.id` equal to it (ASCII case aside) is not masked
    /// by the value detectors: it repeats what the officer sent.
    pub asked_subject: Option<String>,
    /// True when any contributing role is a `credit_service` role, so a
    /// natural person's data needs a consent token (`decide_fetched_record`
    /// decides `/v1/records/{id}` per role once the upstream names the
    /// subject).
    pub natural_person_needs_consent: bool,
    /// Policy-wide field and item rules.
    pub rules: Arc<Rules>,
}

/// Why an inquiry was refused. `code()` is the stable error code; the HTTP
/// status each reason is answered with is the gateway's business
/// (`gateway::server::error`), not this crate's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// 400: malformed subject id, missing/oversized purpose or case, bad query.
    InvalidRequest,
    /// 403: certificate valid but the officer is not in the policy.
    UnknownOfficer,
    /// 403: outside `valid_from` / `valid_until`.
    OfficerNotValid,
    /// 403: purpose not in any of the officer's roles.
    PurposeNotGranted,
    /// 403: an item asked for is not granted.
    ItemNotGranted,
    /// 403: subject type not granted.
    SubjectTypeNotGranted,
    /// 403: consent needed and not sent.
    ConsentRequired,
    /// 403: consent expired, mis-addressed, altered or too long.
    ConsentInvalid,
    /// 403: compliance identity on the data plane or data identity on admin.
    RoleForbidden,
    /// 403: a misuse alert with `action = "suspend"` suspended the officer.
    OfficerSuspended,
}

impl Reason {
    /// Stable error code (the spec's table).
    pub fn code(self) -> &'static str {
        match self {
            Reason::InvalidRequest => "invalid_request",
            Reason::UnknownOfficer => "unknown_officer",
            Reason::OfficerNotValid => "officer_not_valid",
            Reason::PurposeNotGranted => "purpose_not_granted",
            Reason::ItemNotGranted => "item_not_granted",
            Reason::SubjectTypeNotGranted => "subject_type_not_granted",
            Reason::ConsentRequired => "consent_required",
            Reason::ConsentInvalid => "consent_invalid",
            Reason::RoleForbidden => "role_forbidden",
            Reason::OfficerSuspended => "officer_suspended",
        }
    }
}

/// A refusal: the reason and a human-readable rule explanation (never data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    /// The stable reason.
    pub reason: Reason,
    /// Which rule decided, e.g. `role market_inspector: purposes`.
    pub rule: String,
}

/// An allowed inquiry: its scope and what it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// What the redactor applies.
    pub scope: Scope,
    /// Roles that granted the inquiry (for the log).
    pub roles: Vec<String>,
    /// Identifier of the consent token used (hex SHA-256 prefix), never the token.
    pub consent_id: Option<String>,
    /// Statutory basis recorded when `beyond_inquiry_period` applies.
    pub statutory_basis: Option<String>,
}

/// The answer of `decide`: deny by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The inquiry may proceed within the scope.
    Allow(Box<Allow>),
    /// The inquiry is refused.
    Deny(Deny),
}
