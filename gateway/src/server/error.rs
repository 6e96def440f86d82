//! The one place every refusal and failure becomes HTTP: status, stable
//! code, a generic message (never upstream text, never a value from a body),
//! who is at fault, and the decision the inquiry log records.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use policy::Reason;
use redaction::Suppression;

/// The HTTP status of a policy refusal: 400 for a malformed request, 403
/// for everything the officer is not allowed.
fn reason_status(r: Reason) -> u16 {
    match r {
        Reason::InvalidRequest => 400,
        Reason::UnknownOfficer
        | Reason::OfficerNotValid
        | Reason::PurposeNotGranted
        | Reason::ItemNotGranted
        | Reason::SubjectTypeNotGranted
        | Reason::ConsentRequired
        | Reason::ConsentInvalid
        | Reason::RoleForbidden
        | Reason::OfficerSuspended => 403,
    }
}

/// Status and stable code of a single record that may not be served
/// (Hunan Art. 35/36, Beijing Art. 36: 451; an item not granted: 403).
fn suppression_answer(s: Suppression) -> (u16, &'static str) {
    match s {
        Suppression::Expired => (451, "inquiry_period_expired"),
        Suppression::Restored => (451, "credit_restored"),
        Suppression::Withheld => (451, "withheld_by_subject"),
        Suppression::NotGranted => (403, "item_not_granted"),
    }
}

/// Which rate a 429 is about: its message names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// The inquiry rate of the officer's role (`rate` in the policy).
    Role,
    /// The certificate's refusal budget (`[server] refusal_rate`, `refusal_burst`).
    RefusalBudget,
    /// The admin plane's concurrent exports and verifications
    /// (`[admin] max_concurrent_exports`).
    Exports,
}

/// Who caused a failure (for process logs and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The client asked for something it may not have or sent a bad request.
    Client,
    /// The upstream credit database misbehaved.
    Upstream,
    /// The gateway itself (e.g. the inquiry log) could not do its part.
    Gateway,
}

/// Everything that ends a request without upstream data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Refused by policy (400 / 403), with a generic message.
    Denied(Reason),
    /// Refused by policy (400 / 403); the message is the rule that decided
    /// (`policy::Deny::rule`: names the header, purpose, item, role or
    /// officer at fault, never a value from an upstream).
    Refused(Reason, String),
    /// A data-plane request the parser refused (400 `invalid_request`); the
    /// message names the header, parameter or path part at fault and never
    /// repeats its value (`policy::inquiry` builds it from fixed text).
    Invalid(String),
    /// Route not fronted, or the upstream has no such thing (404).
    NotFound,
    /// Anything but GET (405).
    MethodNotAllowed,
    /// Framing, target or headers break request hygiene (400
    /// `invalid_request`), with the rule broken; see [`super::hygiene`].
    Malformed(&'static str),
    /// The request carries a body; neither plane takes one (413).
    PayloadTooLarge,
    /// The request target is longer than `max_uri_bytes` (414).
    UriTooLong,
    /// More header fields than `max_headers` (431).
    HeadersTooLarge,
    /// Over a rate (429) with a `Retry-After` in seconds.
    RateLimited {
        /// Seconds until the next request would be admitted.
        retry_after_secs: u64,
        /// Which rate.
        limit: RateLimit,
    },
    /// A single record that may not be served (451, or 403 for an item
    /// not granted), for the reason the redactor found.
    Suppressed(Suppression),
    /// Upstream answered something that is not the JSON it must be (502).
    UpstreamInvalid,
    /// Upstream too slow (504).
    UpstreamTimeout,
    /// Upstream refused or dropped the connection before answering (502
    /// `upstream_unavailable`).
    UpstreamUnavailable,
    /// The inquiry log could not commit (503): no data released.
    AuditUnavailable,
    /// The cluster's shared rate limit could not be checked in the store
    /// (503 `audit_unavailable`, as the store it needs: fail closed). The
    /// inquiry's own entry may still be committed.
    RateStoreUnavailable,
    /// The connection's client certificate was revoked after the handshake
    /// (a reloaded CRL names it): 403 `certificate_revoked`, and the
    /// connection is closed.
    CertificateRevoked,
    /// The connection's client certificate passed its notAfter after the
    /// handshake: 403 `certificate_expired`, and the connection is closed.
    CertificateExpired,
    /// The gateway failed in a way it did not foresee (500).
    Internal,
}

impl Failure {
    /// HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Failure::Denied(r) | Failure::Refused(r, _) => reason_status(*r),
            Failure::Invalid(_) => 400,
            Failure::NotFound => 404,
            Failure::MethodNotAllowed => 405,
            Failure::Malformed(_) => 400,
            Failure::PayloadTooLarge => 413,
            Failure::UriTooLong => 414,
            Failure::HeadersTooLarge => 431,
            Failure::RateLimited { .. } => 429,
            Failure::Suppressed(s) => suppression_answer(*s).0,
            Failure::UpstreamInvalid => 502,
            Failure::UpstreamTimeout => 504,
            Failure::UpstreamUnavailable => 502,
            Failure::AuditUnavailable | Failure::RateStoreUnavailable => 503,
            Failure::CertificateRevoked | Failure::CertificateExpired => 403,
            Failure::Internal => 500,
        }
    }

    /// Stable error code (the spec's table).
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Denied(r) | Failure::Refused(r, _) => r.code(),
            Failure::Invalid(_) => "invalid_request",
            Failure::NotFound => "not_found",
            Failure::MethodNotAllowed => "method_not_allowed",
            Failure::Malformed(_) | Failure::UriTooLong | Failure::HeadersTooLarge => {
                "invalid_request"
            }
            Failure::PayloadTooLarge => "payload_too_large",
            Failure::RateLimited { .. } => "rate_limited",
            Failure::Suppressed(s) => suppression_answer(*s).1,
            Failure::UpstreamInvalid => "upstream_invalid_response",
            Failure::UpstreamTimeout => "upstream_timeout",
            Failure::UpstreamUnavailable => "upstream_unavailable",
            Failure::AuditUnavailable | Failure::RateStoreUnavailable => "audit_unavailable",
            Failure::CertificateRevoked => "certificate_revoked",
            Failure::CertificateExpired => "certificate_expired",
            Failure::Internal => "internal_error",
        }
    }

    /// Human-readable message: generic, or what the request parser named.
    pub fn message(&self) -> &str {
        match self {
            Failure::Invalid(why) | Failure::Refused(_, why) => why,
            Failure::Denied(Reason::InvalidRequest) => "the request is malformed",
            Failure::Denied(Reason::UnknownOfficer) => "the certificate names no known officer",
            Failure::Denied(Reason::OfficerNotValid) => {
                "the officer's authority is not valid at this time"
            }
            Failure::Denied(Reason::PurposeNotGranted) => "the declared purpose is not granted",
            Failure::Denied(Reason::ItemNotGranted) => {
                "an information item asked for is not granted"
            }
            Failure::Denied(Reason::SubjectTypeNotGranted) => {
                "this kind of credit subject is not granted"
            }
            Failure::Denied(Reason::ConsentRequired) => "the subject's consent is required",
            Failure::Denied(Reason::ConsentInvalid) => "the consent token is not valid",
            Failure::Denied(Reason::RoleForbidden) => "this identity may not use this plane",
            Failure::Denied(Reason::OfficerSuspended) => {
                "the officer is suspended by a misuse alert"
            }
            Failure::NotFound => "no such resource",
            Failure::MethodNotAllowed => "only GET is supported",
            Failure::Malformed(rule) => rule,
            Failure::PayloadTooLarge => "requests may not carry a body",
            Failure::UriTooLong => "the request target is too long",
            Failure::HeadersTooLarge => {
                "the request head is over `[server] max_header_bytes` or has more header fields than `max_headers`"
            }
            Failure::RateLimited {
                limit: RateLimit::Role,
                ..
            } => {
                "over the inquiry rate of the officer's role (`rate` in the policy's role); retry after `Retry-After` seconds"
            }
            Failure::RateLimited {
                limit: RateLimit::RefusalBudget,
                ..
            } => {
                "this certificate's requests are refused faster than its refusal budget (`[server] refusal_rate`, `refusal_burst`) allows; refused requests are now answered 429 and summarised in the log; retry after `Retry-After` seconds"
            }
            Failure::RateLimited {
                limit: RateLimit::Exports,
                ..
            } => {
                "as many exports and verifications run as `[admin] max_concurrent_exports` allows; retry after `Retry-After` seconds"
            }
            Failure::Suppressed(Suppression::Expired) => {
                "the record's inquiry period is over (the item's `inquiry_period_days` from `decided_on`, or `punishment_ends`): it may no longer be served"
            }
            Failure::Suppressed(Suppression::Restored) => {
                "the subject's credit was restored for this record (`restored`): it may no longer be served"
            }
            Failure::Suppressed(Suppression::Withheld) => {
                "the subject withheld this record (`withheld_by_subject`): it may not be served"
            }
            Failure::Suppressed(Suppression::NotGranted) => {
                "the record's item is not granted to the officer's roles"
            }
            Failure::UpstreamInvalid => "the credit database answered with an invalid response",
            Failure::UpstreamTimeout => "the credit database did not answer in time",
            Failure::UpstreamUnavailable => {
                "the credit database refused or dropped the connection before answering"
            }
            Failure::RateStoreUnavailable => {
                "the officer's rate across the cluster could not be checked in the inquiry log's store; no data was released"
            }
            Failure::AuditUnavailable => {
                "the inquiry log could not record this inquiry; no data was released"
            }
            Failure::CertificateRevoked => "the client certificate has been revoked",
            Failure::CertificateExpired => "the client certificate has expired",
            Failure::Internal => "the gateway failed; no data was released",
        }
    }

    /// True when an HTTP/1 connection must close after this answer: the
    /// request's framing cannot be trusted, so nothing after its head may be
    /// read as another request, or the connection's certificate no longer
    /// admits any request.
    pub fn closes_connection(&self) -> bool {
        matches!(
            self,
            Failure::CertificateRevoked
                | Failure::CertificateExpired
                | Failure::MethodNotAllowed
                | Failure::Malformed(_)
                | Failure::PayloadTooLarge
                | Failure::UriTooLong
                | Failure::HeadersTooLarge
        )
    }

    /// Who is at fault.
    pub fn fault(&self) -> Fault {
        match self {
            Failure::UpstreamInvalid | Failure::UpstreamTimeout | Failure::UpstreamUnavailable => {
                Fault::Upstream
            }
            Failure::AuditUnavailable | Failure::RateStoreUnavailable | Failure::Internal => {
                Fault::Gateway
            }
            _ => Fault::Client,
        }
    }

    /// What the inquiry log records: `deny` for refusals of the client's
    /// request, `error` when the upstream or the gateway failed.
    pub fn audit_decision(&self) -> audit::Decision {
        match self.fault() {
            Fault::Client => audit::Decision::Deny,
            Fault::Upstream | Fault::Gateway => audit::Decision::Error,
        }
    }
}

/// JSON error body `{"error":{"code","message","inquiry_id"}}`.
pub fn error_body(f: &Failure, inquiry_id: &str) -> Vec<u8> {
    let v = serde_json::json!({
        "error": {"code": f.code(), "message": f.message(), "inquiry_id": inquiry_id}
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

/// A JSON response with the gateway's standard headers.
pub fn json_response(status: u16, inquiry_id: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !inquiry_id.is_empty() {
        if let Ok(v) = HeaderValue::from_str(inquiry_id) {
            h.insert("inquiry-id", v);
        }
    }
    resp
}

/// The response for a failure: status, JSON body, `Retry-After` when rate limited.
pub fn failure_response(f: &Failure, inquiry_id: &str) -> Response<Full<Bytes>> {
    let mut resp = json_response(f.status(), inquiry_id, error_body(f, inquiry_id));
    if let Failure::RateLimited {
        retry_after_secs, ..
    } = f
    {
        if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    if matches!(f, Failure::MethodNotAllowed) {
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
    }
    resp
}

/// Add `Connection: close` to an HTTP/1 answer when `f` leaves the
/// connection's framing in doubt (hygiene refusals, 405): nothing queued
/// behind the refused request on that connection is ever read.
pub fn close_if_needed(resp: &mut Response<Full<Bytes>>, f: &Failure, http1: bool) {
    if f.closes_connection() && http1 {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

/// The answer to a refusal past its certificate's refusal budget: 429
/// `rate_limited` with `Retry-After`, closing the HTTP/1 connection where
/// the refusal it replaces (`refused`) would have.
pub fn over_budget_response(
    retry_after_secs: u64,
    refused: Option<&Failure>,
    inquiry_id: &str,
    http1: bool,
) -> Response<Full<Bytes>> {
    let mut resp = failure_response(
        &Failure::RateLimited {
            retry_after_secs,
            limit: RateLimit::RefusalBudget,
        },
        inquiry_id,
    );
    if let Some(f) = refused {
        close_if_needed(&mut resp, f, http1);
    }
    resp
}

#[cfg(test)]
mod tests;
