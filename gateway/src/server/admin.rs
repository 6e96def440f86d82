//! The admin plane (compliance): `/healthz`, `/readyz`, `/metrics`, the
//! inquiry-log API under `/audit/` (served by [`crate::audit_api`]) and
//! the compliance console under `/console/` (HTML, served by
//! [`crate::console`]; an identity without a compliance role gets its 403
//! page, logged like any refusal). Every
//! admin request is itself logged (plane `admin`) before it is answered.
//! Everything but the health probes needs a compliance identity (`policy::decide_admin`); a data
//! identity gets 403 `role_forbidden`.
//!
//! `/audit/export` and `/audit/verify` take one of the `[admin]
//! max_concurrent_exports` permits ([`super::Shared::exports`]) first; none
//! free is a logged 429 `rate_limited` with `Retry-After: 1`. A
//! verification holds its permit while it walks the store (in pages); an
//! export is streamed ([`crate::audit_api::export_stream`]) and its permit
//! is held by the task producing it, until the stream ends or the client
//! goes away. The export's log entry is committed before its first byte is
//! released, like every other answer's.

use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response};
use http_body_util::Full;
use policy::Reason;

use super::body::Body;
use super::error::Failure;
use super::journal::{self, Draft};
use super::{ConnInfo, Shared};

/// The body of an admin answer.
enum AnswerBody {
    /// Built in memory (small, or bounded by a `limit`).
    Full(Vec<u8>),
    /// A streamed export.
    Export(crate::audit_api::ExportStream),
    /// Built in memory, holding an export permit until sent.
    Held(Vec<u8>, tokio::sync::OwnedSemaphorePermit),
}

/// A successful admin answer before it is released.
struct Answer {
    content_type: &'static str,
    body: AnswerBody,
    status: u16,
    retry_after: Option<u64>,
    /// The reason code its log entry records, when the status alone does
    /// not say it (console pages: `role_forbidden`, `not_found` ...).
    reason: Option<&'static str>,
    /// A console answer: sent with the console's security headers.
    console: bool,
}

impl Answer {
    /// A 200 with a body built in memory.
    fn ok(content_type: &'static str, body: Vec<u8>) -> Answer {
        Answer {
            content_type,
            body: AnswerBody::Full(body),
            status: 200,
            retry_after: None,
            reason: None,
            console: false,
        }
    }

    /// An answer of the inquiry-log API (its subject, if any, is the
    /// caller's to log).
    fn api(a: crate::audit_api::AuditApiResponse) -> Answer {
        Answer {
            content_type: a.content_type,
            body: AnswerBody::Full(a.body),
            status: a.status,
            retry_after: a.retry_after,
            reason: None,
            console: false,
        }
    }

    /// A console page.
    fn page(p: crate::console::Page) -> Answer {
        Answer {
            content_type: p.content_type,
            body: AnswerBody::Full(p.body),
            status: p.status,
            retry_after: None,
            reason: Some(p.reason),
            console: true,
        }
    }
}

/// Answer one admin-plane request.
pub async fn handle<B: hyper::body::Body>(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    req: Request<B>,
) -> Response<Body> {
    journal::answer::<AdminPlane, B>(shared, conn, req).await
}

/// The admin plane's part of a request.
struct AdminPlane;

impl journal::PlaneHandler for AdminPlane {
    const PLANE: &'static str = "admin";
    type Answer = Answer;
    type Body = Body;

    async fn run<B: hyper::body::Body>(cx: journal::Ctx<'_, B>) -> Result<Answer, Failure> {
        run(cx).await
    }

    fn logged_as(answer: &Answer) -> (audit::Decision, &'static str, u16) {
        match answer {
            Answer {
                reason: Some(reason),
                status,
                ..
            } => {
                let decision = match status {
                    0..400 => audit::Decision::Allow,
                    400..500 => audit::Decision::Deny,
                    _ => audit::Decision::Error,
                };
                (decision, *reason, *status)
            }
            a if a.status < 400 => (audit::Decision::Allow, "ok", a.status),
            a if a.status == 409 => (audit::Decision::Deny, "proof_pending", a.status),
            // The log API's own refusals: 400 `invalid_request` (a bad
            // filter) and 503 `audit_unavailable` (the store failed).
            a if a.status < 500 => (audit::Decision::Deny, "invalid_request", a.status),
            a => (audit::Decision::Error, "audit_unavailable", a.status),
        }
    }

    fn respond(a: Answer, inquiry_id: &str) -> Response<Body> {
        let mut resp = Response::new(match a.body {
            AnswerBody::Full(bytes) if a.status >= 400 && a.content_type == "application/json" => {
                Body::Full(Full::new(Bytes::from(with_inquiry_id(bytes, inquiry_id))))
            }
            AnswerBody::Full(bytes) => Body::Full(Full::new(Bytes::from(bytes))),
            AnswerBody::Export(stream) => Body::Export(stream),
            AnswerBody::Held(bytes, permit) => {
                Body::Held(super::body::Held::new(Bytes::from(bytes), permit))
            }
        });
        *resp.status_mut() =
            http::StatusCode::from_u16(a.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(a.content_type),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(v) = HeaderValue::from_str(inquiry_id) {
            h.insert("inquiry-id", v);
        }
        if let Some(secs) = a.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if a.console {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(crate::console::CSP),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
        resp
    }
}

/// A JSON error body of the log API (`{"error": {"code", "message"}}`,
/// built where the inquiry id is not known) with the inquiry id added, as
/// every error body carries it (SPEC: data plane, errors). A body of
/// another shape is left as it is.
fn with_inquiry_id(body: Vec<u8>, inquiry_id: &str) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    match v.get_mut("error").and_then(|e| e.as_object_mut()) {
        Some(error) if !error.contains_key("inquiry_id") => {
            error.insert("inquiry_id".into(), inquiry_id.into());
        }
        _ => return body,
    }
    serde_json::to_vec(&v).unwrap_or(body)
}

async fn run<B: hyper::body::Body>(cx: journal::Ctx<'_, B>) -> Result<Answer, Failure> {
    let journal::Ctx {
        shared,
        conn,
        req,
        draft,
    } = cx;
    let path = req.uri().path();
    let console = crate::console::is_console(path);
    if !conn.identity_ok {
        if console {
            draft.entry.rule = "certificate does not name an officer".into();
            return Ok(Answer::page(crate::console::forbidden(
                req.uri().query(),
                Reason::UnknownOfficer.code(),
            )));
        }
        return Err(Failure::Denied(Reason::UnknownOfficer));
    }
    // HEAD as well on the console's pages (a browser or a link checker
    // asks; hyper sends the head without the body). The API stays GET.
    if req.method() != Method::GET && !(console && req.method() == Method::HEAD) {
        return Err(Failure::MethodNotAllowed);
    }
    if path == crate::console::STYLESHEET_PATH {
        // Public text, needed by the 403 page too: served before the role
        // check (still logged, like every admin request).
        return Ok(Answer::page(crate::console::stylesheet()));
    }
    // Any certificate may ask for health (a load balancer's probe names
    // no officer in the policy): each check still spends the
    // certificate's refusal budget, so health checks cannot flood the log
    // (an outside probe wrote 2 000 entries a second with them). A probe a
    // second is far below the budget.
    if matches!(path, "/healthz" | "/readyz") {
        draft.budgeted = true;
    }
    match path {
        "/healthz" => return Ok(Answer::ok("text/plain; charset=utf-8", b"ok\n".to_vec())),
        "/readyz" => {
            // The policy is loaded (start refuses to run without one) and the
            // audit writer is alive when this request's own entry commits,
            // which happens before this answer is released.
            return Ok(Answer::ok("text/plain; charset=utf-8", b"ready\n".to_vec()));
        }
        _ => {}
    }
    let policy = shared.policy.load_full();
    match policy::decide_admin(&conn.identity, &policy, draft.at) {
        Ok(roles) => draft.entry.rule = format!("roles {}", roles.join(",")),
        Err(d) => {
            draft.entry.rule = d.rule.clone();
            if console {
                return Ok(Answer::page(crate::console::forbidden(
                    req.uri().query(),
                    d.reason.code(),
                )));
            }
            return Err(Failure::Refused(d.reason, d.rule));
        }
    }
    if console {
        return console_page(shared, &conn.identity.officer_id, req.uri(), draft).await;
    }
    if path == "/metrics" {
        return Ok(Answer::ok(
            "text/plain; version=0.0.4",
            shared
                .metrics
                .render(shared.audit.store_free_bytes())
                .into_bytes(),
        ));
    }
    if !path.starts_with("/audit/") {
        return Err(Failure::NotFound);
    }
    // Exports and verifications read the whole log, and a search's answer
    // (up to 10 000 entries, ~10 MB, several times that while built) is
    // held in memory until its client reads it: a bounded number at once,
    // the rest are told to come back (an outside probe held 760 MB with
    // ten searches its HTTP/2 window never let out).
    let held = path == "/audit/entries" || path.starts_with("/audit/subjects/");
    let permit = if held {
        Some(permit_of(
            &shared.searches,
            draft,
            "log searches held at once reached (4 per [admin] max_concurrent_exports)",
        )?)
    } else if matches!(path, "/audit/export" | "/audit/verify") {
        Some(export_permit(shared, draft)?)
    } else {
        None
    };
    let reader = shared.audit.reader();
    if path == "/audit/export" {
        // A live export reaches everything committed so far: bracket it
        // with a checkpoint now rather than leave out the last second.
        if let Err(e) = shared.audit.checkpoint().await {
            tracing::warn!(error = %e, "checkpoint before an export failed");
        }
        return match crate::audit_api::export_stream(reader, req.uri().query(), permit).await {
            Ok(started) => {
                if let Some(subject) = started.subject_id {
                    draft.entry.subject_id = Some(subject);
                }
                Ok(Answer {
                    content_type: "application/x-ndjson",
                    body: AnswerBody::Export(started.body),
                    status: 200,
                    retry_after: None,
                    reason: None,
                    console: false,
                })
            }
            Err(answer) => Ok(Answer::api(answer)),
        };
    }
    let mut answer =
        crate::audit_api::handle(&reader, &shared.audit_public_key, path, req.uri().query()).await;
    if let Some(subject) = answer.subject_id.take() {
        draft.entry.subject_id = Some(subject);
    }
    if answer.status == 404 {
        return Err(Failure::NotFound);
    }
    let mut answer = Answer::api(answer);
    match (held, permit) {
        // The search's answer keeps its permit until it is sent (a refusal
        // is small, and gets its inquiry id added as a whole body).
        (true, Some(permit)) if answer.status < 400 => {
            if let AnswerBody::Full(bytes) =
                std::mem::replace(&mut answer.body, AnswerBody::Full(Vec::new()))
            {
                answer.body = AnswerBody::Held(bytes, permit);
            }
        }
        (_, permit) => drop(permit),
    }
    Ok(answer)
}

/// A console page for a compliance identity (see [`crate::console`]).
/// `/console/verify` walks the whole store: it takes an export permit
/// like `/audit/verify`.
async fn console_page(
    shared: &Shared,
    viewer: &str,
    uri: &http::Uri,
    draft: &mut Draft,
) -> Result<Answer, Failure> {
    let path = uri.path();
    let permit = if path == "/console/verify" {
        Some(export_permit(shared, draft)?)
    } else {
        None
    };
    let reader = shared.audit.reader();
    let witnesses: Vec<(String, audit::note::Verifier)> = shared
        .config
        .witnesses
        .iter()
        .filter_map(|w| {
            audit::note::Verifier::parse(&w.key)
                .ok()
                .map(|v| (w.name.clone(), v))
        })
        .collect();
    let now_ms = i64::try_from(draft.at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let ctx = crate::console::Context {
        reader: &reader,
        public_key: &shared.audit_public_key,
        witnesses: &witnesses,
        now_ms,
        utc_offset_seconds: shared.config.server.utc_offset_seconds,
        chain_id: shared.audit.chain_id(),
        viewer,
        suspensions: shared.alerts.active(now_ms),
        state: &shared.console,
    };
    let page = crate::console::handle(&ctx, path, uri.query()).await;
    drop(permit);
    if let Some(subject) = &page.subject_id {
        draft.entry.subject_id = Some(subject.clone());
    }
    Ok(Answer::page(page))
}

/// One of the `[admin] max_concurrent_exports` slots for a request that
/// reads the whole log (export, verify), held until its answer is done;
/// none free: 429 with `Retry-After: 1`.
fn export_permit(
    shared: &Shared,
    draft: &mut Draft,
) -> Result<tokio::sync::OwnedSemaphorePermit, Failure> {
    permit_of(
        &shared.exports,
        draft,
        "[admin] max_concurrent_exports reached",
    )
}

/// A permit of `pool` (exports, or searches held in memory); none free is
/// 429 `rate_limited`, `Retry-After: 1`.
fn permit_of(
    pool: &Arc<tokio::sync::Semaphore>,
    draft: &mut Draft,
    rule: &str,
) -> Result<tokio::sync::OwnedSemaphorePermit, Failure> {
    Arc::clone(pool).try_acquire_owned().map_err(|_| {
        draft.entry.rule = rule.into();
        Failure::RateLimited {
            retry_after_secs: 1,
            limit: super::error::RateLimit::Exports,
        }
    })
}
