//! The data plane, one straight line per request:
//! identity (from the connection) → inquiry id → GET only → parse →
//! suspended by a misuse alert? (one map lookup) → decide →
//! rate limit → forward (rebuilt query, gateway-built headers only) →
//! redact → inquiry-log commit → response. Every request, allowed or not,
//! gets exactly one log entry, committed before anything is sent.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use http_body_util::Full;
use policy::inquiry::{InquiryError, RawRequest};
use policy::{Decision, Inquiry, Reason, Route, Scope};
use time::OffsetDateTime;

use super::error::{json_response, Failure};
use super::journal::{self, Draft};
use super::upstream::UpstreamError;
use super::{ConnInfo, Shared};

/// Answer one data-plane request.
pub async fn handle<B: hyper::body::Body>(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    req: Request<B>,
) -> Response<Full<Bytes>> {
    journal::answer::<DataPlane, B>(shared, conn, req).await
}

/// The data plane's part of a request: `Ok` is the body to release.
struct DataPlane;

impl journal::PlaneHandler for DataPlane {
    const PLANE: &'static str = "data";
    type Answer = Vec<u8>;
    type Body = Full<Bytes>;

    /// The declared purpose and case, as sent.
    fn declare<B>(req: &Request<B>, draft: &mut Draft) {
        let headers = req.headers();
        draft.entry.purpose =
            journal::loggable(headers.get("inquiry-purpose").map(HeaderValue::as_bytes));
        draft.entry.case =
            journal::loggable(headers.get("inquiry-case").map(HeaderValue::as_bytes));
    }

    async fn run<B: hyper::body::Body>(cx: journal::Ctx<'_, B>) -> Result<Vec<u8>, Failure> {
        let now = cx.draft.at;
        run(cx.shared, cx.conn, cx.req, now, cx.draft).await
    }

    fn logged_as(_: &Vec<u8>) -> (audit::Decision, &'static str, u16) {
        (audit::Decision::Allow, "ok", 200)
    }

    fn respond(body: Vec<u8>, inquiry_id: &str) -> Response<Full<Bytes>> {
        json_response(200, inquiry_id, body)
    }
}

/// The request path after the hygiene check, up to (not including) the log
/// commit. `Ok` is the body to release.
async fn run<B: hyper::body::Body>(
    shared: &Shared,
    conn: &ConnInfo,
    req: &Request<B>,
    now: OffsetDateTime,
    draft: &mut Draft,
) -> Result<Vec<u8>, Failure> {
    if !conn.identity_ok {
        draft.entry.rule = "certificate names no officer".into();
        return Err(Failure::Denied(Reason::UnknownOfficer));
    }
    if req.method() != Method::GET {
        return Err(Failure::MethodNotAllowed);
    }
    // Who asks is settled before what is asked: an unknown, expired or
    // compliance identity gets its 403 whatever headers it sent.
    let policy = shared.policy.load_full();
    if let Err(d) = policy::check_officer(&conn.identity, &policy, now) {
        note_subject(req.uri().path(), draft);
        draft.entry.rule = d.rule.clone();
        return Err(Failure::Refused(d.reason, d.rule));
    }
    let headers = req.headers();
    // Each inquiry header once: with two, which one the gateway, the
    // upstream or a reader of the log believes is anybody's guess.
    let once = |name: &str| {
        let mut all = headers.get_all(name).iter();
        let first = all.next().map(HeaderValue::as_bytes);
        match all.next() {
            None => Ok(first),
            Some(_) => Err(format!("`{name}` is given more than once")),
        }
    };
    let raw = match (
        once("Inquiry-Purpose"),
        once("Inquiry-Case"),
        once("Subject-Consent"),
    ) {
        (Ok(purpose), Ok(case), Ok(consent)) => RawRequest {
            path: req.uri().path(),
            query: req.uri().query(),
            purpose,
            case,
            consent,
        },
        (Err(why), ..) | (_, Err(why), _) | (.., Err(why)) => {
            note_subject(req.uri().path(), draft);
            draft.entry.rule = why.clone();
            return Err(Failure::Invalid(why));
        }
    };
    let inquiry = match policy::inquiry::parse(&raw) {
        Ok(i) => i,
        Err(InquiryError::NotFound) => return Err(Failure::NotFound),
        Err(InquiryError::Invalid(why)) => {
            note_subject(req.uri().path(), draft);
            draft.entry.rule = why.clone();
            return Err(Failure::Invalid(why));
        }
        Err(_) => {
            note_subject(req.uri().path(), draft);
            return Err(Failure::Denied(Reason::InvalidRequest));
        }
    };
    describe_route(&inquiry.route, draft);

    // A misuse alert's suspension: one map lookup.
    let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    if let Some(s) = shared.alerts.suspended(&conn.identity.officer_id, now_ms) {
        let rule = format!(
            "alert {}: officer suspended until {}",
            s.rule,
            crate::audit_api::format_ms(s.until_ms)
        );
        draft.entry.rule = rule.clone();
        return Err(Failure::Refused(Reason::OfficerSuspended, rule));
    }

    let allow = admit(
        draft,
        inquiry.consent.as_deref(),
        policy::decide(&conn.identity, &inquiry, &policy, now),
    )?;

    for role in &allow.roles {
        if let Some(rate) = policy.rate(role) {
            let officer = &conn.identity.officer_id;
            let checked = match &shared.buckets {
                // A PostgreSQL store: the officer's rate across the cluster;
                // the store unreachable fails closed, as the log does.
                Some(b) => {
                    let bucket =
                        super::shared_buckets::BucketRate::new(rate.count, rate.per, rate.count);
                    let key = super::shared_buckets::rate_key(role, officer);
                    b.take(&key, bucket).await.map_err(|e| {
                        tracing::error!(error = %e, "shared rate limit not checked; answering 503");
                        Failure::RateStoreUnavailable
                    })?
                }
                None => shared.limiter.check(role, rate.count, rate.per, officer),
            };
            if let Err(retry_after_secs) = checked {
                return Err(Failure::RateLimited {
                    retry_after_secs,
                    limit: super::error::RateLimit::Role,
                });
            }
        }
    }

    let scope = &allow.scope;
    let target = upstream_target(&inquiry, scope);
    if let Route::SubjectRecords { .. } = inquiry.route {
        draft.entry.items_requested = scope.items.iter().cloned().collect();
    }
    let up_headers = upstream_headers(&draft.entry.inquiry_id, conn, &inquiry);
    let upstream = match shared.upstream.get(&target, up_headers).await {
        Ok(r) => r,
        Err(UpstreamError::Timeout) => return Err(Failure::UpstreamTimeout),
        Err(e @ UpstreamError::Unavailable(_)) => {
            tracing::warn!(inquiry_id = %draft.entry.inquiry_id, error = %e, "upstream unavailable");
            return Err(Failure::UpstreamUnavailable);
        }
        Err(e) => {
            draft.entry.upstream_status = e.upstream_status();
            tracing::warn!(inquiry_id = %draft.entry.inquiry_id, error = %e, "upstream exchange failed");
            return Err(Failure::UpstreamInvalid);
        }
    };
    draft.entry.upstream_status = Some(upstream.status);
    match upstream.status {
        200 => {}
        404 => return Err(Failure::NotFound),
        other => {
            tracing::warn!(
                inquiry_id = %draft.entry.inquiry_id,
                upstream_status = other,
                "upstream answered an unexpected status"
            );
            return Err(Failure::UpstreamInvalid);
        }
    }
    let Route::Record { .. } = inquiry.route else {
        let (body, report) = redact(&upstream.body, scope, now)?;
        if let Route::Subject { subject_id, .. } | Route::SubjectRecords { subject_id, .. } =
            &inquiry.route
        {
            if !answers_about(subject_id, &report.subject_ids) {
                // Never log what the upstream put there.
                draft.entry.rule = "upstream answered about another subject".into();
                tracing::warn!(inquiry_id = %draft.entry.inquiry_id, "upstream answer names another subject than the one asked");
                return Err(Failure::UpstreamInvalid);
            }
        }
        // Only an answer about the subject asked is recorded as returned.
        record_report(draft, &report);
        if matches!(inquiry.route, Route::SubjectRecords { .. }) && !report.records_present {
            // Records under some other key would escape the lifecycle rules.
            tracing::warn!(inquiry_id = %draft.entry.inquiry_id, "upstream records answer has no records array");
            return Err(Failure::UpstreamInvalid);
        }
        return Ok(body);
    };

    // `/v1/records/{id}`: the subject is known only now. Decide for that
    // subject (per-role subject types, consent naming this subject, items =
    // role ∩ token) and redact the same parse under that scope.
    let parsed = redaction::parse(&upstream.body).map_err(rejected)?;
    let Some(subject_id) = parsed.subject_id() else {
        tracing::warn!(inquiry_id = %draft.entry.inquiry_id, "upstream record names no subject");
        return Err(Failure::UpstreamInvalid);
    };
    let Ok(subject_type) = policy::subject::classify(&subject_id) else {
        // Never log what the upstream put there: it is not an identifier.
        tracing::warn!(inquiry_id = %draft.entry.inquiry_id, "upstream record names an invalid subject id");
        return Err(Failure::UpstreamInvalid);
    };
    draft.entry.subject_id = Some(subject_id.clone());
    draft.entry.subject_type = Some(subject_type.as_str().to_string());
    let fetched = admit(
        draft,
        inquiry.consent.as_deref(),
        policy::decide_fetched_record(&conn.identity, &inquiry, &subject_id, &policy, now),
    )?;
    let (body, report) = parsed.apply(&fetched.scope, now).map_err(rejected)?;
    record_report(draft, &report);
    let seen = report
        .records_suppressed
        .values()
        .fold(report.records_returned, |n, m| n.saturating_add(*m));
    if !report.records_present || seen != 1 {
        tracing::warn!(
            inquiry_id = %draft.entry.inquiry_id,
            records = seen,
            "upstream answered a record fetch without exactly one record"
        );
        return Err(Failure::UpstreamInvalid);
    }
    if let Some(reason) = report.single_record_refusal() {
        return Err(Failure::Suppressed(reason));
    }
    Ok(body)
}

/// Does the upstream's answer concern the subject that was asked? Every
/// `subject.id` it holds (`answered`: read by the redactor before any
/// masking, keys compared normalised as the field rules compare them, so
/// `Subject` / `ID` count, and two spellings are two ids) must equal the
/// requested id, ASCII case aside (a resident id may end in `X` or `x`).
/// One that differs, or is not a string (`None`, also for a `subject` that
/// is neither an object nor null), fails; so do two spellings that
/// disagree. An answer without a `subject.id` names no one and passes.
pub(crate) fn answers_about(requested: &str, answered: &[Option<String>]) -> bool {
    answered.iter().all(|id| {
        id.as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(requested))
    })
}

/// An upstream body the redactor refused: 502, its kind (never its
/// content) in the process log.
fn rejected(e: redaction::RedactionError) -> Failure {
    tracing::warn!(error = %e, "upstream body rejected");
    Failure::UpstreamInvalid
}

/// `redaction::apply`, with a body it cannot transform as a 502.
fn redact(
    body: &[u8],
    scope: &Scope,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, redaction::Report), Failure> {
    redaction::apply(body, scope, now).map_err(rejected)
}

/// What the redactor did, for the log (names and counts only). Records
/// kept outside the records array count as returned. (What the value
/// detectors masked is in the redactor's report, by detector, but not yet
/// in the log entry: `masked_keys` holds key names, as the conformance
/// cases expect, and a new entry field changes the hashed format.)
fn record_report(draft: &mut Draft, report: &redaction::Report) {
    draft.entry.records_returned = report
        .records_returned
        .saturating_add(report.records_returned_elsewhere);
    draft.entry.records_suppressed = report
        .records_suppressed
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), *v))
        .collect();
    draft.entry.removed_keys = report.removed_keys.iter().cloned().collect();
    draft.entry.masked_keys = report.masked_keys.iter().cloned().collect();
    draft.entry.objection_labeled = report.objection_labeled;
}

/// Whom a request refused before its route was parsed was about, read from
/// the path alone, so its log entry names the subject (a subject's report
/// lists every attempt about them). An accepted request is described from
/// its parsed route instead ([`describe_route`]): the path is read once.
fn note_subject(path: &str, draft: &mut Draft) {
    if let Some((subject_id, subject_type)) = policy::inquiry::route_subject(path) {
        draft.entry.subject_id = Some(subject_id);
        draft.entry.subject_type = Some(subject_type.as_str().to_string());
    }
}

/// Subject and items of the parsed route, for the log.
fn describe_route(route: &Route, draft: &mut Draft) {
    match route {
        Route::Subject {
            subject_id,
            subject_type,
        } => {
            draft.entry.subject_id = Some(subject_id.clone());
            draft.entry.subject_type = Some(subject_type.as_str().to_string());
        }
        Route::SubjectRecords {
            subject_id,
            subject_type,
            items,
        } => {
            draft.entry.subject_id = Some(subject_id.clone());
            draft.entry.subject_type = Some(subject_type.as_str().to_string());
            draft.entry.items_requested = items.clone().unwrap_or_default();
        }
        Route::Record { .. } => {}
    }
}

/// Path and query sent upstream: the same path; for a records route the
/// query is rebuilt from the scope's items (nothing else the client sent).
pub fn upstream_target(inquiry: &Inquiry, scope: &Scope) -> String {
    match &inquiry.route {
        Route::Subject { subject_id, .. } => format!("/v1/subjects/{subject_id}"),
        Route::SubjectRecords { subject_id, .. } => {
            let items: Vec<&str> = scope.items.iter().map(String::as_str).collect();
            format!(
                "/v1/subjects/{subject_id}/records?items={}",
                items.join(",")
            )
        }
        Route::Record { record_id } => format!("/v1/records/{record_id}"),
    }
}

/// The only headers the upstream sees (client headers are never copied).
fn upstream_headers(inquiry_id: &str, conn: &ConnInfo, inquiry: &Inquiry) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
            h.insert(name, v);
        }
    };
    put("inquiry-id", inquiry_id);
    put("inquiry-officer", &conn.identity.officer_id);
    put("inquiry-unit", &conn.identity.unit);
    put("inquiry-purpose", &inquiry.purpose);
    put("inquiry-case", &inquiry.case);
    h
}

/// What a policy decision lets through, with its rule (the roles), consent
/// and statutory basis noted in the draft; a refusal's rule is noted too,
/// with the id of the consent token the request carried (an expired one,
/// one naming another subject or grantee, a bad signature: which token it
/// was; an allowed inquiry's comes from the decision, which verified it).
fn admit(
    draft: &mut Draft,
    consent: Option<&str>,
    decision: Decision,
) -> Result<Box<policy::Allow>, Failure> {
    match decision {
        Decision::Deny(d) => {
            draft.entry.rule = d.rule.clone();
            draft.entry.consent_id = consent.map(policy::consent::token_id);
            Err(Failure::Refused(d.reason, d.rule))
        }
        Decision::Allow(a) => {
            draft.entry.rule = format!("roles {}", a.roles.join(","));
            draft.entry.consent_id = a.consent_id.clone();
            draft.entry.statutory_basis = a.statutory_basis.clone();
            Ok(a)
        }
    }
}

#[cfg(test)]
mod tests;
