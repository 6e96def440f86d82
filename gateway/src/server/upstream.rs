//! The upstream credit database client: hyper-util's pooled HTTP/1.1
//! client, for `https://` upstreams through hyper-rustls (ring provider, the
//! configured CA, optionally the gateway's client certificate). Both have a
//! connect timeout (TCP and, for HTTPS, the TLS handshake), a response
//! timeout covering headers and body, and a byte cap on the body. Only the
//! headers the gateway builds are sent; nothing the client sent is copied.
//!
//! ## What counts as a usable answer
//! The upstream is not trusted. A response head over [`MAX_HEAD_BYTES`] or
//! with more than [`MAX_HEADERS`] fields, a body that breaks off before its
//! declared end, is over `[upstream] max_body_bytes`, or arrives after the
//! timeout is refused as a whole — no byte of it is kept. A success (2xx)
//! answer must also be one the gateway can read as JSON:
//! - `Content-Type`, when present, is one `application/json` or
//!   `application/*+json` type (parameters such as `charset` are ignored);
//!   anything else, or two, is refused even when the body happens to parse
//!   as JSON, because an upstream that labels JSON as HTML is misconfigured
//!   or compromised. An answer with no `Content-Type` at all (a minimal
//!   server that does not label its bodies) is taken if its body parses as
//!   JSON, like every answer must — garbage without a label is still 502;
//! - the gateway asks for `Accept-Encoding: identity`, so any
//!   `Content-Encoding` other than `identity` (e.g. `gzip`), or a
//!   `Transfer-Encoding` other than `chunked`, is refused rather than decoded.
//!
//! Non-2xx answers are read (within the cap) but only their status is used by
//! the caller, so their content type is not checked.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Incoming;
use hyper::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::config::{UpstreamConfig, UpstreamTls};
use crate::tls::TlsError;

/// Idle upstream connections kept for reuse.
const MAX_IDLE: usize = 64;

/// Largest upstream response head (status line + header fields) accepted.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Most header fields accepted in an upstream response head.
pub const MAX_HEADERS: usize = 100;

/// Why the upstream exchange failed (the client sees only the code).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamError {
    /// No complete answer within the timeout.
    #[error("upstream did not answer in time")]
    Timeout,
    /// The upstream refused the connection (or could not be reached within
    /// the connect timeout, or the TLS handshake failed), or dropped it
    /// before sending any response head: it did not answer at all.
    #[error("upstream unavailable: {0}")]
    Unavailable(&'static str),
    /// Could not connect, or no parseable response head arrived (garbage,
    /// closed or reset before answering, head too large).
    #[error("upstream exchange failed: {0}")]
    Invalid(&'static str),
    /// The upstream sent a response head with `status`, but the answer as a
    /// whole is unusable (`why`): body broken off or over the cap, not JSON
    /// by its content type, or encoded.
    #[error("upstream answered {status} but {why}")]
    Refused {
        /// The status line's code.
        status: u16,
        /// What was wrong (a constant, never upstream text).
        why: &'static str,
    },
}

impl UpstreamError {
    /// The upstream's HTTP status, when a response head arrived.
    pub fn upstream_status(&self) -> Option<u16> {
        match self {
            UpstreamError::Refused { status, .. } => Some(*status),
            UpstreamError::Timeout | UpstreamError::Invalid(_) | UpstreamError::Unavailable(_) => {
                None
            }
        }
    }
}

/// A complete upstream answer.
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    /// HTTP status.
    pub status: u16,
    /// Body bytes (at most `max_body_bytes`).
    pub body: Bytes,
}

/// How requests reach the upstream.
enum Transport {
    /// Plain HTTP.
    Plain(Box<Client<HttpConnector, Empty<Bytes>>>),
    /// HTTPS (optionally mTLS), the connect timeout covering the handshake.
    Tls(Box<Client<Bounded<HttpsConnector<HttpConnector>>, Empty<Bytes>>>),
}

/// The connect timeout elapsed (TCP connect, or the TLS handshake too).
#[derive(Debug)]
struct ConnectTimedOut;

impl std::fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connect timed out")
    }
}

impl std::error::Error for ConnectTimedOut {}

/// A connector whose whole connect — TCP and the TLS handshake — must end
/// within a time (hyper-util's `HttpConnector` bounds only the TCP part).
#[derive(Clone)]
struct Bounded<C> {
    inner: C,
    timeout: Duration,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<C> tower_service::Service<Uri> for Bounded<C>
where
    C: tower_service::Service<Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connect = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connect).await {
                Ok(r) => r.map_err(Into::into),
                Err(_) => Err(Box::new(ConnectTimedOut) as BoxError),
            }
        })
    }
}

/// How long an idle upstream connection is kept: below the keep-alive
/// timeouts servers commonly use (5 s and up), so the gateway lets a
/// connection go before the upstream does rather than racing it.
const POOL_IDLE: Duration = Duration::from_secs(4);

/// Client for the configured upstream.
pub struct Upstream {
    transport: Transport,
    scheme_authority: String,
    prefix: String,
    host: String,
    timeout: Duration,
    max_body: usize,
    /// Requests sent a second time (`credgate_upstream_retries_total`).
    retries: Arc<AtomicU64>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("upstream", &self.scheme_authority)
            .finish_non_exhaustive()
    }
}

fn tls_config(tls: &UpstreamTls) -> Result<rustls::ClientConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in crate::tls::pem_certs(&tls.ca)? {
        roots.add(ca).map_err(|_| TlsError::Content {
            path: tls.ca.clone(),
            what: "holds a certificate that is not a usable CA",
        })?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_root_certificates(roots);
    let config = match &tls.identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(crate::tls::pem_certs(cert)?, crate::tls::pem_key(key)?)
            .map_err(|_| TlsError::KeyMismatch {
                cert: cert.clone(),
                key: key.clone(),
            })?,
    };
    // No ALPN here: hyper-rustls sets `http/1.1` itself (and refuses a
    // config that already names protocols).
    Ok(config)
}

impl Upstream {
    /// Build the client. `timeout` bounds each exchange (headers + body).
    pub fn new(cfg: &UpstreamConfig, timeout: Duration) -> Result<Upstream, TlsError> {
        let host = cfg
            .url
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        let scheme = cfg.url.scheme_str().unwrap_or("http");
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(cfg.connect_timeout));
        connector.set_nodelay(true);
        let mut client = Client::builder(TokioExecutor::new());
        client
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(MAX_IDLE)
            .http1_max_buf_size(MAX_HEAD_BYTES)
            .http1_max_headers(MAX_HEADERS);
        let transport = match &cfg.tls {
            None => Transport::Plain(Box::new(client.build(connector))),
            Some(tls) => {
                connector.enforce_http(false);
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(tls_config(tls)?)
                    .https_only()
                    .enable_http1()
                    .wrap_connector(connector);
                Transport::Tls(Box::new(client.build(Bounded {
                    inner: https,
                    timeout: cfg.connect_timeout,
                })))
            }
        };
        Ok(Upstream {
            transport,
            scheme_authority: format!("{scheme}://{host}"),
            prefix: cfg.url.path().trim_end_matches('/').to_string(),
            host,
            timeout,
            max_body: cfg.max_body_bytes,
            retries: Arc::default(),
        })
    }

    /// Count retries in `counter` (the gateway's metrics).
    pub fn counting_retries(mut self, counter: Arc<AtomicU64>) -> Upstream {
        self.retries = counter;
        self
    }

    /// The `Host` header value sent upstream.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `GET path_and_query` with exactly `headers` (plus `Host`).
    pub async fn get(
        &self,
        path_and_query: &str,
        headers: HeaderMap,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let target = format!("{}{}", self.prefix, path_and_query);
        // The retry (see `exchange`) must end before the answer's deadline,
        // so that an upstream that refused twice is still 502, not 504.
        let retry_by = tokio::time::Instant::now() + self.timeout.mul_f32(0.9);
        match tokio::time::timeout(self.timeout, self.exchange(&target, headers, retry_by)).await {
            Ok(r) => r,
            Err(_) => Err(UpstreamError::Timeout),
        }
    }

    async fn exchange(
        &self,
        target: &str,
        mut headers: HeaderMap,
        retry_by: tokio::time::Instant,
    ) -> Result<UpstreamResponse, UpstreamError> {
        if let Ok(v) = http::HeaderValue::from_str(&self.host) {
            headers.insert(http::header::HOST, v);
        }
        // Encoded bodies are refused (see the module docs), so ask for none.
        headers.insert(
            http::header::ACCEPT_ENCODING,
            http::HeaderValue::from_static("identity"),
        );
        // A pooled connection the upstream closed while it sat idle (its
        // keep-alive timeout) fails the request that takes it before any
        // answer: the request is a GET, so it is sent once more — on a new
        // connection unless another idle one is left. (The one clone of
        // the headers per inquiry is what that costs.)
        let resp = match self.send(self.request(target, headers.clone())?).await {
            Err(e) if e == CLOSED_BEFORE_ANSWER || e == RESET_BEFORE_ANSWER => {
                self.retries.fetch_add(1, Ordering::Relaxed);
                let again = self.request(target, headers)?;
                match tokio::time::timeout_at(retry_by, self.send(again)).await {
                    Ok(answer) => answer?,
                    // Out of time for a second try: the first failure stands.
                    Err(_) => return Err(e),
                }
            }
            other => other?,
        };
        self.collect(resp).await
    }

    /// `GET target` with exactly `headers`.
    fn request(
        &self,
        target: &str,
        headers: HeaderMap,
    ) -> Result<Request<Empty<Bytes>>, UpstreamError> {
        let mut req = Request::get(format!("{}{}", self.scheme_authority, target))
            .body(Empty::<Bytes>::new())
            .map_err(|_| UpstreamError::Invalid("request could not be built"))?;
        *req.headers_mut() = headers;
        Ok(req)
    }

    async fn send(&self, req: Request<Empty<Bytes>>) -> Result<Response<Incoming>, UpstreamError> {
        let sent = match &self.transport {
            Transport::Plain(client) => client.request(req).await,
            Transport::Tls(client) => client.request(req).await,
        };
        sent.map_err(|e| {
            if e.is_connect() {
                connect_failure(&e)
            } else {
                exchange_failure(&e)
            }
        })
    }

    async fn collect(&self, resp: Response<Incoming>) -> Result<UpstreamResponse, UpstreamError> {
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            if let Err(why) = acceptable_success(resp.headers()) {
                return Err(UpstreamError::Refused { status, why });
            }
        }
        let body = Limited::new(resp.into_body(), self.max_body)
            .collect()
            .await
            .map_err(|_| UpstreamError::Refused {
                status,
                why: "the body broke off or was over the size cap",
            })?
            .to_bytes();
        Ok(UpstreamResponse { status, body })
    }
}

/// Classifies a failed connect: the timeout, the upstream's TLS, or the
/// address.
fn connect_failure(e: &(dyn std::error::Error + 'static)) -> UpstreamError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<ConnectTimedOut>() {
            return UpstreamError::Unavailable("connect timed out");
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return UpstreamError::Unavailable("connect timed out");
            }
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                return UpstreamError::Unavailable("tls handshake with the upstream failed");
            }
        }
        if err.is::<rustls::Error>() {
            return UpstreamError::Unavailable("tls handshake with the upstream failed");
        }
        source = err.source();
    }
    UpstreamError::Unavailable("connection refused or unreachable")
}

/// Exchanges that failed because the connection closed or was reset
/// before any answer: sent once more (see `Upstream::exchange`).
const CLOSED_BEFORE_ANSWER: UpstreamError =
    UpstreamError::Unavailable("the connection closed before an answer");
const RESET_BEFORE_ANSWER: UpstreamError =
    UpstreamError::Unavailable("the connection was reset before an answer");

/// Classifies a failed exchange before any response head arrived: bytes
/// that are not an HTTP response are an invalid answer; a connection
/// closed or reset with nothing parseable is an upstream that did not
/// answer.
fn exchange_failure(e: &(dyn std::error::Error + 'static)) -> UpstreamError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_parse() || h.is_parse_status() || h.is_parse_too_large() {
                return UpstreamError::Invalid("the answer is not an HTTP response");
            }
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                return CLOSED_BEFORE_ANSWER;
            }
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            // The upstream's TLS refused us (e.g. it wants a client
            // certificate we do not have): with TLS 1.3 that alert arrives
            // with the first read, not at the handshake.
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                return UpstreamError::Unavailable("the upstream's tls refused the connection");
            }
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) {
                return RESET_BEFORE_ANSWER;
            }
        }
        source = err.source();
    }
    UpstreamError::Invalid("connection failed")
}

/// Whether the head of a 2xx answer promises an unencoded JSON body.
fn acceptable_success(headers: &HeaderMap) -> Result<(), &'static str> {
    // At most one Content-Type: with two, which one a reader believes is
    // anybody's guess. None leaves the body to prove itself JSON.
    let mut content_types = headers.get_all(http::header::CONTENT_TYPE).iter();
    match (content_types.next(), content_types.next()) {
        (None, _) => {}
        (Some(v), None) if v.to_str().is_ok_and(is_json_media_type) => {}
        _ => return Err("its content type is not JSON"),
    }
    for value in headers.get_all(http::header::CONTENT_ENCODING) {
        let Ok(text) = value.to_str() else {
            return Err("its content encoding is not identity");
        };
        if !tokens(text).all(|t| t.eq_ignore_ascii_case("identity")) {
            return Err("its content encoding is not identity");
        }
    }
    for value in headers.get_all(http::header::TRANSFER_ENCODING) {
        let Ok(text) = value.to_str() else {
            return Err("its transfer encoding is not chunked");
        };
        if !tokens(text).all(|t| t.eq_ignore_ascii_case("chunked")) {
            return Err("its transfer encoding is not chunked");
        }
    }
    Ok(())
}

/// The non-empty comma-separated tokens of a header value.
fn tokens(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|t| !t.is_empty())
}

/// `application/json` or `application/*+json`, parameters ignored.
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    if !kind.trim().eq_ignore_ascii_case("application") {
        return false;
    }
    let subtype = subtype.trim().to_ascii_lowercase();
    subtype == "json" || (subtype.len() > "+json".len() && subtype.ends_with("+json"))
}

#[cfg(test)]
mod tests;
