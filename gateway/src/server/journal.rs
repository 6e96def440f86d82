//! Turning one answered request into its inquiry-log entry and committing it
//! before the response is released: the draft collects what the request path
//! learned (identity, inquiry, decision, redaction report, upstream status),
//! [`commit`] appends it and waits for durability.

use std::collections::BTreeMap;
use std::time::Instant;

use policy::Identity;
use time::OffsetDateTime;

use super::Shared;

/// Longest free-text header value (purpose, case) copied into the log.
const MAX_LOGGED_TEXT: usize = 128;

/// Everything the log entry records about one request, filled in as the
/// request path proceeds.
#[derive(Debug, Clone)]
pub struct Draft {
    /// When the request arrived (the entry's time).
    pub at: OffsetDateTime,
    /// Monotonic start, for the latency field.
    pub started: Instant,
    /// Inquiry id (also sent to client and upstream).
    pub inquiry_id: String,
    /// `data` or `admin`.
    pub plane: &'static str,
    /// HTTP method.
    pub method: String,
    /// Request path with query.
    pub path: String,
    /// Declared purpose (as sent, truncated).
    pub purpose: Option<String>,
    /// Declared case (as sent, truncated).
    pub case: Option<String>,
    /// Consent token id (never the token).
    pub consent_id: Option<String>,
    /// Subject asked about.
    pub subject_id: Option<String>,
    /// Its type.
    pub subject_type: Option<String>,
    /// Items asked for (or granted, for an allowed records inquiry).
    pub items_requested: Vec<String>,
    /// Rule that decided.
    pub rule: Option<String>,
    /// Statutory basis, when past-period records may be served.
    pub statutory_basis: Option<String>,
    /// Records returned.
    pub records_returned: u32,
    /// Records suppressed, by reason.
    pub records_suppressed: BTreeMap<String, u32>,
    /// Key names removed.
    pub removed_keys: Vec<String>,
    /// Key names masked.
    pub masked_keys: Vec<String>,
    /// Records labelled as under objection.
    pub objection_labeled: u32,
    /// Upstream HTTP status, if it was asked.
    pub upstream_status: Option<u16>,
}

impl Draft {
    /// A draft for a request that just arrived at `at` (the gateway clock).
    pub fn new(
        plane: &'static str,
        inquiry_id: String,
        method: String,
        path: String,
        at: OffsetDateTime,
    ) -> Draft {
        Draft {
            at,
            started: Instant::now(),
            inquiry_id,
            plane,
            method,
            path,
            purpose: None,
            case: None,
            consent_id: None,
            subject_id: None,
            subject_type: None,
            items_requested: Vec::new(),
            rule: None,
            statutory_basis: None,
            records_returned: 0,
            records_suppressed: BTreeMap::new(),
            removed_keys: Vec::new(),
            masked_keys: Vec::new(),
            objection_labeled: 0,
            upstream_status: None,
        }
    }
}

/// Header text for the log: valid UTF-8 only, at most 128 characters.
pub fn loggable(bytes: Option<&[u8]>) -> Option<String> {
    let text = std::str::from_utf8(bytes?).ok()?;
    Some(text.chars().take(MAX_LOGGED_TEXT).collect())
}

/// Append the entry and wait until it is durable. `Err` means the client
/// must get 503 `audit_unavailable` and no data.
pub async fn commit(
    shared: &Shared,
    identity: &Identity,
    draft: Draft,
    decision: audit::Decision,
    reason: &str,
    status: u16,
) -> Result<(), audit::AuditError> {
    let time_ms = i64::try_from(draft.at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let latency_ms = u64::try_from(draft.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let entry = audit::NewEntry {
        time_ms,
        inquiry_id: draft.inquiry_id,
        plane: draft.plane.to_string(),
        officer_id: identity.officer_id.clone(),
        officer_name: identity.name.clone(),
        unit: identity.unit.clone(),
        cert_fingerprint: identity.fingerprint.clone(),
        purpose: draft.purpose,
        case: draft.case,
        consent_id: draft.consent_id,
        method: draft.method,
        path: draft.path,
        subject_id: draft.subject_id,
        subject_type: draft.subject_type,
        items_requested: draft.items_requested,
        decision,
        reason: reason.to_string(),
        rule: draft.rule.unwrap_or_default(),
        statutory_basis: draft.statutory_basis,
        status,
        records_returned: draft.records_returned,
        records_suppressed: draft.records_suppressed,
        removed_keys: draft.removed_keys,
        masked_keys: draft.masked_keys,
        objection_labeled: draft.objection_labeled,
        upstream_status: draft.upstream_status,
        latency_ms,
    };
    let append_started = Instant::now();
    let result = shared.audit.append(entry).await;
    shared
        .metrics
        .commit(append_started.elapsed(), result.is_ok());
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::error!(error = %e, "inquiry log append failed; answering 503");
            Err(e)
        }
    }
}

/// `allow` / `deny` / `error` as the metrics label.
pub fn decision_label(d: &audit::Decision) -> &'static str {
    d.as_str()
}

/// A fresh inquiry id: 128 random bits from ring, lowercase hex.
pub fn new_inquiry_id(rng: &ring::rand::SystemRandom) -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    if rng.fill(&mut bytes).is_err() {
        // The system RNG failing is not recoverable in a meaningful way;
        // fall back to time + counter so the id is still unique per process.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = OffsetDateTime::now_utc().unix_timestamp_nanos();
        return format!("{:016x}{:016x}", t as u64, n);
    }
    hex::encode(bytes)
}
