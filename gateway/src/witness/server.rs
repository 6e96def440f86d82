//! The witness's HTTPS listener: rustls (ring provider, TLS 1.2/1.3, the
//! gateway's suites, no client certificates, ALPN `http/1.1`) and HTTP/1.1
//! via hyper, with a handshake timeout, a header-read timeout, a body-read
//! timeout, a 64 KiB body limit and a cap on open connections.
//!
//! Routes (C2SP tlog-witness, with this project's status codes):
//! - `POST /add-checkpoint` → 200 `text/plain` cosignature line, or the
//!   refusal's status ([`Refusal::status`]); 409 carries
//!   `Content-Type: text/x.tlog.size` and `<size>\n`;
//! - `GET /latest?origin=O` → 200 `text/plain` cosigned checkpoint, 404;
//! - `GET /origins` → 200 `text/plain`, one origin per line;
//! - anything else → 404.
//!
//! Error bodies are one line of text (`error: …`) naming the problem, never
//! echoing the request.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use super::protocol;
use super::service::{Refusal, Witness};
use crate::tls::TlsError;

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// Time allowed for the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed to send the request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed to send the request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections served at once; more are closed on accept.
const MAX_CONNECTIONS: usize = 256;
/// How long open connections get to finish after shutdown is asked.
const DRAIN: Duration = Duration::from_secs(5);

/// The witness's TLS server configuration from its certificate and key.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = crate::tls::pem_certs(cert)?;
    let key_der = crate::tls::pem_key(key)?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(crate::tls::crypto_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|_| TlsError::KeyMismatch {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `witness` on `listener` with `tls` until `shutdown` resolves; then
/// stops accepting and lets open connections finish (up to 5 s).
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    witness: Arc<Witness>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let connect = move |stream: tokio::net::TcpStream, stop| {
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!("witness: too many connections; closing a new one");
            return None;
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let witness = Arc::clone(&witness);
        Some(async move {
            connection(stream, acceptor, witness, stop).await;
            drop(slot);
        })
    };
    crate::conn::accept_until(listener, shutdown, DRAIN, "witness", connect).await;
}

/// One TLS connection carrying HTTP/1.1 requests.
async fn connection(
    stream: tokio::net::TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    witness: Arc<Witness>,
    stop: watch::Receiver<bool>,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "witness: tls handshake failed");
            return;
        }
        Err(_) => return,
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(64 * 1024);
    let serve = move |req: Request<Incoming>| {
        let witness = Arc::clone(&witness);
        async move { handle(&witness, req).await }
    };
    crate::conn::serve_until_stopped(&builder, tls, serve, stop, "witness").await;
}

/// What a request gets, before it becomes an HTTP response.
enum Answer {
    /// 200 with a `text/plain` body.
    Text(String),
    /// A refused `add-checkpoint`.
    Refused(Refusal),
    /// Another error: status and a constant message.
    Error(StatusCode, &'static str),
}

async fn handle(witness: &Witness, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let answer = route(witness, req).await;
    respond(answer)
}

async fn route(witness: &Witness, req: Request<Incoming>) -> Answer {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    match (req.method(), path.as_str()) {
        (&Method::POST, "/add-checkpoint") => match read_body(req).await {
            Ok(body) => match witness.add_checkpoint(&body).await {
                Ok(line) => Answer::Text(line),
                Err(refusal) => Answer::Refused(refusal),
            },
            Err(answer) => answer,
        },
        (&Method::GET, "/latest") => {
            let origin = match protocol::query_param(query.as_deref(), "origin") {
                Ok(Some(o)) if !o.is_empty() => o,
                Ok(_) => {
                    return Answer::Error(
                        StatusCode::BAD_REQUEST,
                        "query parameter `origin` is required",
                    )
                }
                Err(()) => {
                    return Answer::Error(
                        StatusCode::BAD_REQUEST,
                        "query parameter `origin` is badly encoded or repeated",
                    )
                }
            };
            match witness.latest(&origin).await {
                Ok(Some(note)) => Answer::Text(note),
                Ok(None) => Answer::Error(
                    StatusCode::NOT_FOUND,
                    "no checkpoint cosigned for this origin",
                ),
                Err(e) => {
                    tracing::error!(error = %e, "witness: state read failed");
                    Answer::Error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "witness state unavailable",
                    )
                }
            }
        }
        (&Method::GET, "/origins") => match witness.origins().await {
            Ok(list) => Answer::Text(list.iter().map(|o| format!("{o}\n")).collect()),
            Err(e) => {
                tracing::error!(error = %e, "witness: state read failed");
                Answer::Error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "witness state unavailable",
                )
            }
        },
        _ => Answer::Error(StatusCode::NOT_FOUND, "no such endpoint"),
    }
}

/// The request body, at most [`MAX_BODY`] bytes, within [`BODY_TIMEOUT`].
async fn read_body(req: Request<Incoming>) -> Result<Bytes, Answer> {
    let too_large = Answer::Error(StatusCode::PAYLOAD_TOO_LARGE, "body is larger than 64 KiB");
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large);
    }
    let body = Limited::new(req.into_body(), MAX_BODY);
    match tokio::time::timeout(BODY_TIMEOUT, body.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large),
        Ok(Err(_)) => Err(Answer::Error(
            StatusCode::BAD_REQUEST,
            "request body could not be read",
        )),
        Err(_) => Err(Answer::Error(
            StatusCode::REQUEST_TIMEOUT,
            "request body took too long",
        )),
    }
}

/// Turns an [`Answer`] into the HTTP response: the only place statuses and
/// bodies are chosen.
fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match answer {
        Answer::Text(body) => (StatusCode::OK, "text/plain; charset=utf-8", body),
        Answer::Refused(Refusal::Conflict { size }) => (
            StatusCode::CONFLICT,
            "text/x.tlog.size",
            format!("{size}\n"),
        ),
        Answer::Refused(r) => {
            if r.status() >= 500 {
                tracing::error!(error = %r, source = ?r, "witness: cannot answer add-checkpoint");
            }
            let status =
                StatusCode::from_u16(r.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, "text/plain; charset=utf-8", format!("error: {r}\n"))
        }
        Answer::Error(status, msg) => (
            status,
            "text/plain; charset=utf-8",
            format!("error: {msg}\n"),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
