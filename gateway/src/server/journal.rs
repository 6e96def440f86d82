//! Turning one answered request into its inquiry-log entry and committing it
//! before the response is released: the draft collects what the request path
//! learned (identity, inquiry, decision, redaction report, upstream status),
//! [`commit`] appends it and waits for durability, then hands a data-plane
//! entry to the misuse alerts ([`super::alerts`]) without waiting.
//!
//! Whatever a client, a certificate or the upstream can put into an entry's
//! text goes through [`clean`] on the way in: control characters (C0, DEL,
//! C1 — e.g. a NUL PostgreSQL would refuse, or a newline forging a line in
//! a log viewer) are stripped and every text field is cut to
//! [`MAX_ENTRY_TEXT`] bytes on a character boundary, so the store never
//! rejects an entry because of what a client sent.

use std::collections::BTreeMap;
use std::time::Instant;

use policy::Identity;
use time::OffsetDateTime;

use super::Shared;

/// Longest free-text header value (purpose, case) copied into the log, in
/// characters (then [`clean`] applies).
const MAX_LOGGED_TEXT: usize = 128;

/// Longest text, in bytes, any entry field keeps (path, purpose, case,
/// rule, names, key names ...); longer text is cut on a character boundary.
pub const MAX_ENTRY_TEXT: usize = 512;

/// `text` without control or format characters, cut to at most [`MAX_ENTRY_TEXT`]
/// bytes on a character boundary.
pub fn clean(text: &str) -> String {
    // Most entry text (ids, paths, purposes, names of ASCII keys) is short
    // printable ASCII: nothing to strip or cut.
    if text.len() <= MAX_ENTRY_TEXT && text.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len().min(MAX_ENTRY_TEXT));
    // Controls, format characters (bidi, zero-width) and line separators
    // would reorder, hide or split what a reader of the log sees.
    for c in text
        .chars()
        .filter(|c| !policy::inquiry::is_hidden_char(*c))
    {
        if out.len() + c.len_utf8() > MAX_ENTRY_TEXT {
            break;
        }
        out.push(c);
    }
    out
}

fn clean_all(list: Vec<String>) -> Vec<String> {
    list.iter().map(|t| clean(t)).collect()
}

/// Everything the log entry records about one request, filled in as the
/// request path proceeds.
#[derive(Debug, Clone)]
pub struct Draft {
    /// When the request arrived (the entry's time).
    pub at: OffsetDateTime,
    /// Monotonic start, for the latency field.
    pub started: Instant,
    /// `data` or `admin` (also the metrics label).
    pub plane: &'static str,
    /// The entry as far as the request path knows it: inquiry id, method,
    /// path with query, declaration, subject, items, rule (empty: none),
    /// what was served. Text is kept as sent and cleaned by [`commit`],
    /// which also fills in the time, identity, decision, reason, status and
    /// latency.
    pub entry: audit::NewEntry,
    /// Counts against the certificate's refusal budget although it is
    /// not refused: a health check (any certificate may ask one) and a
    /// request its client abandoned ([`CLIENT_CLOSED`]).
    pub budgeted: bool,
}

/// The reason code of a request whose client closed the connection (or
/// reset the stream) before its answer: nothing was released.
pub const CLIENT_CLOSED: &str = "client_closed";

/// The status its entry records (nginx's "client closed request").
pub const CLIENT_CLOSED_STATUS: u16 = 499;

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
            plane,
            // Time, decision, reason and status are the commit's.
            entry: audit::NewEntry {
                method,
                path,
                ..own_entry(0, inquiry_id, plane, audit::Decision::Error, "", 0)
            },
            budgeted: false,
        }
    }

    /// A draft for `req`, which just arrived at `at` (the gateway clock):
    /// its method, and its path with the query when there is one.
    pub fn for_request<B>(
        plane: &'static str,
        inquiry_id: String,
        req: &http::Request<B>,
        at: OffsetDateTime,
    ) -> Draft {
        Draft::new(
            plane,
            inquiry_id,
            req.method().as_str().to_string(),
            req.uri().path_and_query().map_or_else(
                || req.uri().path().to_string(),
                |pq| pq.as_str().to_string(),
            ),
            at,
        )
    }
}

/// Header text for the log: valid UTF-8 only, at most 128 characters,
/// control characters stripped.
pub fn loggable(bytes: Option<&[u8]>) -> Option<String> {
    let text = std::str::from_utf8(bytes?).ok()?;
    let short: String = text.chars().take(MAX_LOGGED_TEXT).collect();
    Some(clean(&short))
}

/// What became of a request's entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Logged {
    /// Committed: the answer may be released.
    Entry,
    /// A refusal past its certificate's refusal budget: no entry of its
    /// own, counted into the certificate's next summary entry. The client
    /// gets 429 `rate_limited` with this `Retry-After` instead of the
    /// refusal.
    Summarised {
        /// Seconds until the budget has room again.
        retry_after_secs: u64,
    },
}

/// Append the entry and wait until it is durable. `Err` means the client
/// must get 503 `audit_unavailable` and no data. A refusal (`deny`) first
/// spends its certificate's refusal budget; past it, the entry is not
/// appended but summarised ([`Logged::Summarised`]).
/// The one "commit the entry, then answer" step of every request, on both
/// planes and for the refusals the gateway writes itself: the entry of
/// `draft` is committed with `decision`, `reason` and `status`, and only
/// then is the answer built —
/// - the entry could not be committed: 503 `audit_unavailable`, nothing
///   else leaves (closing the connection where the refusal would have);
/// - a refusal past its certificate's refusal budget (summarised, no entry
///   of its own): 429 with `Retry-After`, closing the connection where the
///   refusal would have;
/// - committed: `answer(value)` for a served request, the failure's own
///   answer (closing where it must) for a refused or failed one.
///
/// `inquiry_id` is the draft's (the caller holds it already). The request
/// is counted in the metrics with the status that left.
#[allow(clippy::too_many_arguments)]
pub async fn log_then_respond<T, R>(
    shared: &Shared,
    identity: &Identity,
    draft: Draft,
    inquiry_id: &str,
    http1: bool,
    logged_as: (audit::Decision, &str, u16),
    outcome: Result<T, super::error::Failure>,
    answer: impl FnOnce(T) -> http::Response<R>,
) -> http::Response<R>
where
    R: From<http_body_util::Full<bytes::Bytes>>,
{
    use super::error::{close_if_needed, failure_response, over_budget_response, Failure};
    let (decision, reason, status) = logged_as;
    let plane = draft.plane;
    let label = decision_label(&decision);
    let committed = commit(shared, identity, draft, decision, reason, status).await;
    let (resp, sent) = match (committed, outcome) {
        (Err(_), outcome) => {
            shared.metrics.request(plane, "error", 503);
            let mut resp = failure_response(&Failure::AuditUnavailable, inquiry_id);
            if let Err(f) = &outcome {
                // A request refused for its framing still closes.
                close_if_needed(&mut resp, f, http1);
            }
            return resp.map(R::from);
        }
        (Ok(Logged::Summarised { retry_after_secs }), outcome) => {
            let refused = outcome.as_ref().err();
            let resp = over_budget_response(retry_after_secs, refused, inquiry_id, http1);
            (resp.map(R::from), 429)
        }
        (Ok(Logged::Entry), Ok(value)) => (answer(value), status),
        (Ok(Logged::Entry), Err(f)) => {
            let mut resp = failure_response(&f, inquiry_id);
            close_if_needed(&mut resp, &f, http1);
            (resp.map(R::from), status)
        }
    };
    shared.metrics.request(plane, label, sent);
    resp
}

/// Commits, on a task of its own, the entry of a request its client
/// abandoned before the gateway took it up (the connection closed or the
/// stream was reset while hyper held the request): `decision = error`,
/// [`CLIENT_CLOSED`], status 499, counted against the certificate's
/// refusal budget. Nothing was released. Without a runtime (the process
/// is ending) nothing can be logged.
pub(super) fn log_abandoned(
    shared: std::sync::Arc<Shared>,
    conn: std::sync::Arc<super::ConnInfo>,
    mut draft: Draft,
) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    draft.budgeted = true;
    draft.entry.rule =
        "the client closed the connection (or reset the stream) before the request was taken up"
            .into();
    // A bounded number commit at once (each may ask the store for the
    // budget, then commit); past it the request is accounted in its
    // certificate's next refusal summary, as a refusal past the budget is.
    let Ok(permit) = std::sync::Arc::clone(&shared.abandoned).try_acquire_owned() else {
        let time_ms =
            i64::try_from(draft.at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        shared.refusals.summarise(
            &conn.identity,
            draft.plane,
            &clean(&draft.entry.inquiry_id),
            time_ms,
        );
        shared.metrics.refusal_summarised();
        return;
    };
    runtime.spawn(async move {
        let _permit = permit;
        let committed = commit(
            &shared,
            &conn.identity,
            draft,
            audit::Decision::Error,
            CLIENT_CLOSED,
            CLIENT_CLOSED_STATUS,
        )
        .await;
        if let Err(e) = committed {
            tracing::warn!(error = %e, "an abandoned request's entry could not be committed");
        }
    });
}

/// One plane's part of answering a request; [`answer`] is the rest, the
/// same on both planes.
pub(super) trait PlaneHandler {
    /// `data` or `admin`: the entry's plane, the span's and the metrics'.
    const PLANE: &'static str;
    /// What a served request answers with.
    type Answer;
    /// The response body.
    type Body: From<http_body_util::Full<bytes::Bytes>>;

    /// Notes in `draft` what the plane logs of the request as sent, before
    /// anything is checked (nothing, unless the plane says).
    fn declare<B>(_req: &http::Request<B>, _draft: &mut Draft) {}

    /// The request path after the hygiene check, up to (not including) the
    /// log commit, noting in the draft what it learns.
    async fn run<B: hyper::body::Body>(
        cx: Ctx<'_, B>,
    ) -> Result<Self::Answer, super::error::Failure>;

    /// The decision, reason code and status the entry of a served request
    /// records.
    fn logged_as(answer: &Self::Answer) -> (audit::Decision, &'static str, u16);

    /// The response of a served request, once its entry is committed.
    fn respond(answer: Self::Answer, inquiry_id: &str) -> http::Response<Self::Body>;
}

/// What a plane's request path works with.
pub(super) struct Ctx<'a, B> {
    /// The gateway's state.
    pub(super) shared: &'a Shared,
    /// The connection (identity, protocol).
    pub(super) conn: &'a super::ConnInfo,
    /// The request (its body unread).
    pub(super) req: &'a http::Request<B>,
    /// The entry so far.
    pub(super) draft: &'a mut Draft,
}

/// Answers one request on plane `P`: a fresh inquiry id and draft, the
/// plane's declaration, the hygiene check, the plane's request path, the
/// entry committed ([`log_then_respond`]), then the answer released and
/// traced ([`trace_answer`]).
pub(super) async fn answer<P: PlaneHandler, B: hyper::body::Body>(
    shared: std::sync::Arc<Shared>,
    conn: std::sync::Arc<super::ConnInfo>,
    req: http::Request<B>,
) -> http::Response<P::Body> {
    use tracing::Instrument;
    let inquiry_id = new_inquiry_id(&shared.rng);
    // A span only at `debug`: at the default level the request costs the
    // process log one line (`trace_answer`), not a span per poll.
    let span = tracing::debug_span!("inquiry", id = %inquiry_id, plane = P::PLANE);
    async move {
        let mut draft = Draft::for_request(P::PLANE, inquiry_id.clone(), &req, shared.clock.now());
        P::declare(&req, &mut draft);
        let http1 = req.version() < http::Version::HTTP_2;
        let outcome = match super::hygiene::check(&req, &shared.config.server.limits) {
            Err(v) => {
                draft.entry.rule = v.rule().into();
                Err(v.failure())
            }
            Ok(()) => {
                let cx = Ctx {
                    shared: &shared,
                    conn: &conn,
                    req: &req,
                    draft: &mut draft,
                };
                P::run(cx).await
            }
        };
        let logged_as = match &outcome {
            Ok(answer) => P::logged_as(answer),
            Err(f) => (f.audit_decision(), f.code(), f.status()),
        };
        let reason = logged_as.1;
        let response = log_then_respond(
            &shared,
            &conn.identity,
            draft,
            &inquiry_id,
            http1,
            logged_as,
            outcome,
            |answer| P::respond(answer, &inquiry_id),
        )
        .await;
        trace_answer(&inquiry_id, P::PLANE, response.status().as_u16(), reason);
        response
    }
    .instrument(span)
    .await
}

/// Commits the entry of `draft` (see [`log_then_respond`], which every
/// request goes through).
pub async fn commit(
    shared: &Shared,
    identity: &Identity,
    draft: Draft,
    decision: audit::Decision,
    reason: &str,
    status: u16,
) -> Result<Logged, audit::AuditError> {
    let time_ms = i64::try_from(draft.at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    if decision == audit::Decision::Deny || draft.budgeted {
        let admitted = match &shared.buckets {
            // A PostgreSQL store: the budget is the cluster's. Unreachable
            // is unavailable, as the commit would be.
            Some(b) => {
                let rate = super::shared_buckets::BucketRate::new(
                    shared.config.server.refusal_rate.count,
                    shared.config.server.refusal_rate.per,
                    shared.config.server.refusal_burst,
                );
                let key = super::shared_buckets::refusal_key(&identity.fingerprint);
                b.take(&key, rate)
                    .await
                    .map_err(|e| audit::AuditError::Unavailable(e.to_string()))?
            }
            None => shared
                .refusals
                .admit(&identity.fingerprint, std::time::Instant::now()),
        };
        if let Err(retry_after_secs) = admitted {
            shared.refusals.summarise(
                identity,
                draft.plane,
                &clean(&draft.entry.inquiry_id),
                time_ms,
            );
            shared.metrics.refusal_summarised();
            return Ok(Logged::Summarised { retry_after_secs });
        }
    }
    let latency_ms = u64::try_from(draft.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let text = |t: Option<String>| t.as_deref().map(clean);
    let d = draft.entry;
    let entry = audit::NewEntry {
        time_ms,
        inquiry_id: clean(&d.inquiry_id),
        plane: d.plane,
        officer_id: clean(&identity.officer_id),
        officer_name: clean(&identity.name),
        unit: clean(&identity.unit),
        cert_fingerprint: clean(&identity.fingerprint),
        purpose: text(d.purpose),
        case: text(d.case),
        consent_id: text(d.consent_id),
        method: clean(&d.method),
        path: clean(&d.path),
        subject_id: text(d.subject_id),
        subject_type: text(d.subject_type),
        items_requested: clean_all(d.items_requested),
        decision,
        reason: clean(reason),
        rule: clean(&d.rule),
        statutory_basis: text(d.statutory_basis),
        status,
        // Records reach the client only with a successful answer: a 502
        // for an answer with two records, or a 451, returned none (an
        // outside probe's entry said 1 beside status 502).
        records_returned: if (200..300).contains(&status) {
            d.records_returned
        } else {
            0
        },
        records_suppressed: d
            .records_suppressed
            .into_iter()
            .map(|(k, v)| (clean(&k), v))
            .collect(),
        removed_keys: clean_all(d.removed_keys),
        masked_keys: clean_all(d.masked_keys),
        objection_labeled: d.objection_labeled,
        upstream_status: d.upstream_status,
        latency_ms,
    };
    // Only data-plane entries are counted, and only while rules exist.
    let event = if shared.policy.load().alerts().is_empty() {
        None
    } else {
        super::alerts::event_of(&entry)
    };
    let append_started = Instant::now();
    let result =
        match tokio::time::timeout(shared.audit.append_bound(), shared.audit.append(entry)).await {
            Ok(result) => result,
            Err(_) => Err(audit::AuditError::Unavailable(
                "the inquiry log store did not answer within its timeout".into(),
            )),
        };
    shared
        .metrics
        .commit(append_started.elapsed(), result.is_ok());
    match result {
        Ok(_) => {
            if let Some(event) = event {
                if !shared.alerts.offer(event) {
                    shared.metrics.alert_event_dropped();
                    tracing::warn!("misuse alert queue full: an inquiry was not evaluated");
                }
            }
            Ok(Logged::Entry)
        }
        Err(e) => {
            tracing::error!(error = %e, "inquiry log append failed; answering 503");
            Err(e)
        }
    }
}

/// The process log's line for an answered request: one event naming the
/// inquiry id (SPEC: process logs carry it), without a span around the
/// request — at the default level the request's `debug` span is disabled,
/// so a served inquiry costs the process log this one line and nothing
/// per poll. Warnings on the request path name the inquiry id themselves.
pub fn trace_answer(inquiry_id: &str, plane: &'static str, status: u16, reason: &str) {
    tracing::info!(inquiry_id, plane, status, reason, "inquiry answered");
}

/// `allow` / `deny` / `error` as the metrics label.
pub fn decision_label(d: &audit::Decision) -> &'static str {
    d.as_str()
}

/// A fresh inquiry id: 128 random bits from ring, lowercase hex.
pub fn new_inquiry_id(rng: &ring::rand::SystemRandom) -> String {
    use ring::rand::SecureRandom;
    // 48 bits of UTC milliseconds, then 80 random bits (like a UUIDv7):
    // ids sort by time, so the inquiry log's index on them grows at its end
    // instead of taking inserts all over its B-tree.
    let ms =
        u64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut bytes = [0u8; 16];
    if let Some(prefix) = bytes.get_mut(..6) {
        prefix.copy_from_slice(&ms.to_be_bytes()[2..]);
    }
    if rng.fill(&mut bytes[6..]).is_err() {
        // The system RNG failing is not recoverable in a meaningful way;
        // fall back to a counter so the id is still unique per process.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        bytes[8..].copy_from_slice(&n.to_be_bytes());
    }
    hex::encode(bytes)
}

/// Commits the pending refusal summaries every second until `stop` (the
/// shutdown flushes the last ones with [`flush_refusals`] after draining).
pub async fn summarise_refusals(
    shared: std::sync::Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                flush_refusals(&shared).await;
                shared.refusals.shrink(std::time::Instant::now());
                if let Some(b) = &shared.buckets {
                    b.sweep().await;
                }
            }
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
}

/// Commits one summary entry per certificate with refusals past its budget
/// since the last flush; a summary that cannot be committed is kept for the
/// next flush (nothing counted is dropped).
pub async fn flush_refusals(shared: &Shared) {
    for pending in shared.refusals.take() {
        let entry = summary_entry(&pending, new_inquiry_id(&shared.rng));
        // The refusals it stands for count for the misuse alerts too.
        let event = if shared.policy.load().alerts().is_empty() {
            None
        } else {
            super::alerts::event_of(&entry)
        };
        match shared.audit.append(entry).await {
            Ok(_) => {
                shared.metrics.refusal_summary();
                if let Some(event) = event {
                    if !shared.alerts.offer(event) {
                        shared.metrics.alert_event_dropped();
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, refusals = pending.count, "refusal summary not logged; kept for the next second");
                shared.refusals.restore(pending);
            }
        }
    }
}

/// An entry the gateway writes of its own accord (refusal summaries,
/// alerts, suspension lifts, witness conflicts) rather than for a request:
/// no officer, no declaration, nothing asked for or served, no latency.
/// The base (`..`) of those entries, which fill in who, what and why, and
/// of a request's [`Draft`] (its commit fills in the rest).
pub(crate) fn own_entry(
    time_ms: i64,
    inquiry_id: String,
    plane: &str,
    decision: audit::Decision,
    reason: &str,
    status: u16,
) -> audit::NewEntry {
    audit::NewEntry {
        time_ms,
        inquiry_id,
        plane: plane.to_owned(),
        officer_id: String::new(),
        officer_name: String::new(),
        unit: String::new(),
        cert_fingerprint: String::new(),
        purpose: None,
        case: None,
        consent_id: None,
        method: String::new(),
        path: String::new(),
        subject_id: None,
        subject_type: None,
        items_requested: Vec::new(),
        decision,
        reason: reason.to_owned(),
        rule: String::new(),
        statutory_basis: None,
        status,
        records_returned: 0,
        records_suppressed: BTreeMap::new(),
        removed_keys: Vec::new(),
        masked_keys: Vec::new(),
        objection_labeled: 0,
        upstream_status: None,
        latency_ms: 0,
    }
}

/// The summary entry of a certificate's refusals past its budget.
fn summary_entry(p: &super::refusals::Pending, inquiry_id: String) -> audit::NewEntry {
    audit::NewEntry {
        officer_id: clean(&p.identity.officer_id),
        officer_name: clean(&p.identity.name),
        unit: clean(&p.identity.unit),
        cert_fingerprint: clean(&p.identity.fingerprint),
        rule: p.rule(),
        ..own_entry(
            p.last_ms,
            inquiry_id,
            p.plane,
            audit::Decision::Deny,
            super::refusals::SUMMARY_REASON,
            429,
        )
    }
}

#[cfg(test)]
mod tests;
