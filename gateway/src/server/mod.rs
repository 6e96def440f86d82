//! The `credgate serve` process: binds the data and admin listeners, runs
//! the accept loops (at most `max_connections` per listener, shedding
//! handshaking and idle connections while another waits for a slot; TLS
//! handshake with a bound, identity read once per connection, HTTP/1.1 + HTTP/2 via hyper-util's auto builder), reloads
//! policy and TLS material, and drains on shutdown with a final checkpoint.
//!
//! Every request on a connection re-checks the connection's client
//! certificate against the current CRLs and the clock: once revoked (a CRL
//! reload) or past its notAfter, each request gets a logged 403
//! `certificate_revoked` / `certificate_expired` (`Connection: close` on
//! HTTP/1) and the connection is shut down gracefully (GOAWAY on HTTP/2).
//!
//! Each request's handler runs as its own task; if it panics, the request
//! still gets a committed `error` / `internal_error` entry before its 500.
//!
//! ## Layout
//! - [`service`]: the data-plane request path;
//! - [`admin`]: health, metrics and the inquiry-log API;
//! - [`body`]: the response body (whole, or a streamed export);
//! - [`alerts`]: misuse alerts (evaluated off the request path) and
//!   officer suspensions;
//! - [`upstream`]: the pooled upstream client;
//! - [`error`]: the one mapping from failures to HTTP;
//! - [`hygiene`]: request checks against hostile clients (framing,
//!   smuggling, path games, size limits) before routing;
//! - [`journal`]: building and committing each request's log entry, and
//!   the frame both planes answer a request in (`journal::answer`: id,
//!   draft, hygiene check, the plane's path, commit, answer);
//! - [`limiter`]: per-role, per-officer rate limits (in process);
//! - [`shared_buckets`]: the same limits and the refusal budget across
//!   every gateway on one PostgreSQL store;
//! - [`metrics`]: Prometheus counters;
//! - [`reload`]: SIGHUP / file-change reload;
//! - [`clock`]: the one source of "now" (system, or manual in tests).

pub mod admin;
pub mod alerts;
pub mod body;
pub mod clock;
pub mod error;
pub mod harness;
pub mod hygiene;
pub mod journal;
pub mod limiter;
pub mod metrics;
pub mod refusals;
pub mod reload;
pub mod service;
pub mod shared_buckets;
pub mod upstream;
mod wire;
mod witness_feed;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore, TryAcquireError};
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError};
use crate::tls::{TlsError, TlsHandle};
pub use clock::Clock;

/// HTTP/2 receive window per stream (bytes); no request has a body.
const H2_STREAM_WINDOW: u32 = 16 * 1024;
/// HTTP/2 receive window per connection (bytes).
const H2_CONNECTION_WINDOW: u32 = 64 * 1024;
/// Streams a client may reset before the server accepted them, at once.
const H2_MAX_PENDING_RESETS: usize = 20;
/// Streams the server may reset for a client's protocol errors before it
/// closes the connection.
const H2_MAX_ERROR_RESETS: usize = 256;

/// While a connection waits for a slot (`max_connections` reached), a
/// connection still handshaking or idle for this long gives its slot up.
const SHED_GRACE: Duration = Duration::from_secs(1);
/// How often a connection checks its idle clock.
const SHED_CHECK: Duration = Duration::from_millis(250);

/// How a TLS handshake ended.
enum Handshake<S> {
    Done(Box<S>),
    Refused(std::io::Error),
    TimedOut,
    Shed,
}

/// Drive a handshake to completion within `bound`; give up early, after
/// [`SHED_GRACE`], while `crowded` says another connection waits for a slot.
async fn handshake<S, F>(accept: F, bound: Duration, crowded: &AtomicBool) -> Handshake<S>
where
    F: std::future::Future<Output = std::io::Result<S>>,
{
    let started = tokio::time::Instant::now();
    let deadline = started + bound;
    let mut accept = std::pin::pin!(accept);
    let mut check = tokio::time::interval(SHED_CHECK);
    loop {
        tokio::select! {
            r = accept.as_mut() => return match r {
                Ok(s) => Handshake::Done(Box::new(s)),
                Err(e) => Handshake::Refused(e),
            },
            _ = tokio::time::sleep_until(deadline) => return Handshake::TimedOut,
            _ = check.tick() => {
                if crowded.load(Ordering::SeqCst) && started.elapsed() >= SHED_GRACE {
                    return Handshake::Shed;
                }
            }
        }
    }
}

/// How long shutdown waits for in-flight requests before giving up on them.
const DRAIN_BOUND: Duration = Duration::from_secs(30);

/// Why the gateway could not start, reload or stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Config, policy or key files.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// TLS material.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The inquiry log could not be opened or closed.
    #[error("inquiry log: {0}")]
    Audit(audit::AuditError),
    /// A listener could not be bound.
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A reload task panicked or was cancelled; the previous material stays.
    #[error("reload aborted before it finished; previous policy and tls material kept")]
    ReloadAborted,
    /// A `[[audit.witnesses]]` entry could not be set up.
    #[error("witness `{name}`: {why}")]
    Witness {
        /// The witness's name.
        name: String,
        /// What was wrong.
        why: String,
    },
}

/// What every request handler shares.
pub struct Shared {
    /// The loaded config.
    pub config: Config,
    /// The current policy (swapped whole on reload).
    pub policy: ArcSwap<policy::Policy>,
    /// The current TLS configuration.
    pub tls: TlsHandle,
    /// The inquiry log.
    pub audit: audit::AuditLog,
    /// Public half of the audit signing key (for `/audit/verify`).
    pub audit_public_key: Vec<u8>,
    /// The upstream client.
    pub upstream: upstream::Upstream,
    /// Rate limiters (in process: a SQLite store, one gateway).
    pub limiter: limiter::Limiter,
    /// On a PostgreSQL store: the rate limits and refusal budget shared by
    /// every gateway on it (instead of `limiter` and `refusals`' buckets).
    pub buckets: Option<shared_buckets::SharedBuckets>,
    /// Counters.
    pub metrics: metrics::Metrics,
    /// Randomness for inquiry ids.
    pub rng: ring::rand::SystemRandom,
    /// Where "now" comes from (the system clock outside tests).
    pub clock: Clock,
    /// Admin-plane exports and verifications running at once: `[admin]
    /// max_concurrent_exports` permits; none free is 429 `rate_limited`.
    pub exports: Arc<Semaphore>,
    /// Admin-plane log searches (`/audit/entries`, `/audit/subjects/…`)
    /// whose answers are held in memory at once, until sent: four per
    /// export permit ([`SEARCHES_PER_EXPORT`]); none free is 429.
    pub searches: Arc<Semaphore>,
    /// Entries of abandoned requests committing at once
    /// ([`journal::log_abandoned`]); past it they are summarised.
    pub abandoned: Arc<Semaphore>,
    /// Process-log lines of connection-level events ([`LogThrottle`]).
    pub conn_log: LogThrottle,
    /// The refusal budget per certificate and its pending summaries.
    pub refusals: refusals::RefusalBudget,
    /// Misuse alerts: the event hand-off and the suspended officers.
    pub alerts: alerts::Alerts,
    /// The compliance console's kept state (its last verification).
    pub console: crate::console::ConsoleState,
    /// Serialises reloads (SIGHUP and the file watcher).
    reload_lock: Mutex<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    /// Re-read the policy (and consent key) off to the side; swap on success.
    /// Counted in `/metrics` either way.
    pub fn reload_policy(&self) -> Result<(), ServeError> {
        let _guard = self.reload_lock.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = self.config.load_policy();
        self.metrics.reload("policy", fresh.is_ok());
        self.policy.store(Arc::new(fresh?));
        tracing::info!(file = %self.config.policy_file.display(), "policy reloaded");
        Ok(())
    }

    /// Re-read server cert, key, client CA and CRLs; swap on success.
    /// Counted in `/metrics` either way.
    pub fn reload_tls(&self) -> Result<(), ServeError> {
        let _guard = self.reload_lock.lock().unwrap_or_else(|p| p.into_inner());
        let reloaded = self.tls.reload(&self.config.server);
        self.metrics.reload("tls", reloaded.is_ok());
        reloaded?;
        self.metrics.crl_next_update(self.tls.crl_next_update());
        tracing::info!("tls material reloaded");
        Ok(())
    }
}

/// What the handlers know about one connection (computed once, at handshake).
#[derive(Debug)]
pub struct ConnInfo {
    /// The officer, from the verified client certificate.
    pub identity: policy::Identity,
    /// False when the certificate names no officer per `[identity]`.
    pub identity_ok: bool,
    /// Issuer, serial and notAfter of the client certificate (re-checked on
    /// every request); `None` only if it could not be parsed.
    pub leaf: Option<crate::tls::LeafFacts>,
    /// Set once a request was refused for the certificate: the connection
    /// is then shut down.
    doomed: AtomicBool,
    /// Requests in flight on this connection.
    inflight: AtomicUsize,
    /// What the connection's stream saw below hyper ([`wire`]).
    wire: Arc<wire::WireLog>,
    /// Bytes read from the client when the latest request head was
    /// complete: more than that at a header-read timeout means part of a
    /// request had arrived.
    head_mark: std::sync::atomic::AtomicU64,
    /// When the last request finished (for the idle timeout).
    last_active: Mutex<Instant>,
}

impl ConnInfo {
    /// The connection facts of a client certificate (DER): the officer per
    /// `[identity]` (or, when it names none, an empty identity that every
    /// plane refuses), and what is re-checked on every request.
    fn of_certificate(shared: &Shared, der: &[u8], peer: Option<SocketAddr>) -> ConnInfo {
        let (identity, identity_ok) =
            match certs::identity::identity_from_der(der, &shared.config.identity) {
                Ok(id) => (id, true),
                Err(e) => {
                    tracing::warn!(?peer, error = %e, "client certificate names no officer");
                    (
                        policy::Identity {
                            officer_id: String::new(),
                            name: String::new(),
                            unit: String::new(),
                            fingerprint: crate::tls::fingerprint(der),
                        },
                        false,
                    )
                }
            };
        ConnInfo {
            identity,
            identity_ok,
            leaf: crate::tls::leaf_facts(der),
            doomed: AtomicBool::new(false),
            inflight: AtomicUsize::new(0),
            wire: Arc::default(),
            head_mark: std::sync::atomic::AtomicU64::new(0),
            last_active: Mutex::new(Instant::now()),
        }
    }
}

/// The status hyper answered a request it could not parse with, if the
/// connection ended that way.
fn unparsed_status(err: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<u16> {
    let e = err.downcast_ref::<hyper::Error>()?;
    if !e.is_parse() {
        return None;
    }
    // hyper answers 414 for a target over its own bound and 431 for a head
    // over `max_buf_size` or `max_headers`; both count as "too large", and
    // the error's text is the only public way to tell them apart.
    Some(if !e.is_parse_too_large() {
        400
    } else if e.to_string().contains("URI too long") {
        414
    } else {
        431
    })
}

/// Whether the connection ended at the header-read timeout with part of a
/// request head received (an idle keep-alive connection is not a request).
fn head_timed_out(err: &(dyn std::error::Error + Send + Sync + 'static), conn: &ConnInfo) -> bool {
    err.downcast_ref::<hyper::Error>()
        .is_some_and(hyper::Error::is_timeout)
        && conn.wire.bytes_read() > conn.head_mark.load(Ordering::Relaxed)
}

/// Logs the rejections the connection's stream saw below hyper (HTTP/2
/// streams refused before a handler, connection errors): one entry each.
async fn log_wire_events(shared: &Shared, conn: &ConnInfo, plane: Plane) {
    let (events, dropped) = conn.wire.take();
    for event in events {
        log_unparsed_request(shared, conn, plane, 400, &event.rule()).await;
    }
    if dropped > 0 {
        let rule = format!("{dropped} more HTTP/2 streams refused on this connection");
        log_unparsed_request(shared, conn, plane, 400, &rule).await;
    }
}

/// HTTP/2 streams the client opened and abandoned before hyper took them
/// up ([`wire::WireLog::abandoned_streams`]): an entry each, as a request
/// its client abandoned ([`journal::log_abandoned`]: `client_closed`,
/// counted against the refusal budget), at most [`MAX_ABANDONED_LOGGED`]
/// per connection (h2 ends a connection after a few hundred resets).
fn log_abandoned_streams(shared: &Arc<Shared>, conn: &Arc<ConnInfo>, plane: Plane) {
    let n = conn.wire.abandoned_streams().min(MAX_ABANDONED_LOGGED);
    for _ in 0..n {
        let draft = journal::Draft::new(
            plane.name(),
            journal::new_inquiry_id(&shared.rng),
            String::new(),
            String::new(),
            shared.clock.now(),
        );
        journal::log_abandoned(Arc::clone(shared), Arc::clone(conn), draft);
    }
}

/// See [`log_abandoned_streams`].
const MAX_ABANDONED_LOGGED: u64 = 1024;

/// A request hyper refused before it reached a handler (malformed, or a
/// head over `max_header_bytes`) still gets its inquiry-log entry.
async fn log_unparsed_request(
    shared: &Shared,
    conn: &ConnInfo,
    plane: Plane,
    status: u16,
    rule: &str,
) {
    let plane = match plane {
        Plane::Data => "data",
        Plane::Admin => "admin",
    };
    // The id the client was sent in place of hyper's bare refusal, if any.
    let id = conn
        .wire
        .take_unparsed_id()
        .unwrap_or_else(|| journal::new_inquiry_id(&shared.rng));
    let mut draft =
        journal::Draft::new(plane, id, String::new(), String::new(), shared.clock.now());
    draft.entry.rule = rule.to_owned();
    let committed = journal::commit(
        shared,
        &conn.identity,
        draft,
        audit::Decision::Deny,
        "invalid_request",
        status,
    )
    .await;
    if committed.is_ok() {
        shared.metrics.request(plane, "deny", status);
    }
}

/// Why the connection's certificate no longer admits requests, if it
/// does not.
fn certificate_failure(shared: &Shared, conn: &ConnInfo) -> Option<error::Failure> {
    let leaf = conn.leaf.as_ref()?;
    if shared.tls.is_revoked(leaf) {
        Some(error::Failure::CertificateRevoked)
    } else if leaf.not_after < shared.clock.now() {
        Some(error::Failure::CertificateExpired)
    } else {
        None
    }
}

/// One request: the certificate re-check, then the plane's handler.
///
/// Boxed: the handler's future is ~12 KB, and unboxed it was copied whole
/// at each move (into the service future, into hyper's dispatcher, into the
/// spawned task's cell): ~6 % of an inquiry's CPU was that `memcpy`
/// (issue 18, BENCHMARKS.md).
fn dispatch<B: hyper::body::Body>(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    plane: Plane,
    req: http::Request<B>,
) -> std::pin::Pin<Box<impl std::future::Future<Output = http::Response<body::Body>>>> {
    Box::pin(dispatch_unboxed(shared, conn, plane, req))
}

async fn dispatch_unboxed<B: hyper::body::Body>(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    plane: Plane,
    req: http::Request<B>,
) -> http::Response<body::Body> {
    // A HEAD answer has no body: HTTP/1 drops it itself, HTTP/2 would send
    // it (and a client then fails reading a body it may not get).
    let head = req.method() == http::Method::HEAD;
    let answer = if let Some(failure) = certificate_failure(&shared, &conn) {
        conn.doomed.store(true, Ordering::SeqCst);
        refuse_certificate(&shared, &conn, plane, &req, &failure)
            .await
            .map(body::Body::from)
    } else {
        match plane {
            Plane::Data => service::handle(shared, conn, req)
                .await
                .map(body::Body::from),
            Plane::Admin => admin::handle(shared, conn, req).await,
        }
    };
    if head {
        answer.map(|_| body::Body::from(http_body_util::Full::new(bytes::Bytes::new())))
    } else {
        answer
    }
}

/// Method, target and protocol of a request, kept before its handler takes
/// the request (for entries the gateway writes on the handler's behalf).
#[derive(Debug, Clone)]
struct RequestHead {
    method: String,
    path: String,
    http1: bool,
}

impl RequestHead {
    fn of<B>(req: &http::Request<B>) -> RequestHead {
        RequestHead {
            method: req.method().as_str().to_string(),
            path: req.uri().path_and_query().map_or_else(
                || req.uri().path().to_string(),
                |pq| pq.as_str().to_string(),
            ),
            http1: req.version() < http::Version::HTTP_2,
        }
    }
}

impl Plane {
    fn name(self) -> &'static str {
        match self {
            Plane::Data => "data",
            Plane::Admin => "admin",
        }
    }
}

/// Commit the entry of a request the gateway refuses or fails on its own
/// (not through a plane handler) and build the answer: the failure, or 503
/// `audit_unavailable` if the entry could not be committed.
async fn answer_failure(
    shared: &Shared,
    conn: &ConnInfo,
    plane: Plane,
    head: RequestHead,
    rule: &str,
    failure: &error::Failure,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    let id = journal::new_inquiry_id(&shared.rng);
    let http1 = head.http1;
    let mut draft = journal::Draft::new(
        plane.name(),
        id.clone(),
        head.method,
        head.path,
        shared.clock.now(),
    );
    draft.entry.rule = rule.to_string();
    // These are rare (a certificate revoked or expired on a live
    // connection, a handler that failed): each gets its line, with the
    // inquiry id the client was given.
    tracing::warn!(
        inquiry_id = %id,
        officer = %conn.identity.officer_id,
        code = failure.code(),
        status = failure.status(),
        "request refused by the gateway itself: {rule}"
    );
    let logged_as = (failure.audit_decision(), failure.code(), failure.status());
    journal::log_then_respond(
        shared,
        &conn.identity,
        draft,
        &id,
        http1,
        logged_as,
        Err::<std::convert::Infallible, _>(failure.clone()),
        |never| match never {},
    )
    .await
}

/// The logged 403 for a request on a connection whose certificate was
/// revoked or expired since the handshake.
async fn refuse_certificate<B>(
    shared: &Shared,
    conn: &ConnInfo,
    plane: Plane,
    req: &http::Request<B>,
    failure: &error::Failure,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    let rule = match failure {
        error::Failure::CertificateExpired => "client certificate expired after the handshake",
        _ => "client certificate revoked after the handshake",
    };
    answer_failure(shared, conn, plane, RequestHead::of(req), rule, failure).await
}

/// Run a request's handler as its own task (a client that goes away
/// mid-request cannot cancel it, so its log entry is still committed). If
/// the handler panics, the request gets a committed `error` /
/// `internal_error` entry and a 500 (the panic's message is not logged: it
/// could quote a value).
async fn guarded<F>(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    plane: Plane,
    head: RequestHead,
    handler: F,
) -> http::Response<body::Body>
where
    F: std::future::Future<Output = http::Response<body::Body>> + Send + 'static,
{
    match tokio::spawn(handler).await {
        Ok(resp) => resp,
        Err(e) => {
            let rule = if e.is_panic() {
                tracing::error!(
                    plane = plane.name(),
                    "request handler panicked; answering 500"
                );
                "request handler panicked"
            } else {
                tracing::error!(
                    plane = plane.name(),
                    "request handler was cancelled; answering 500"
                );
                "request handler was cancelled"
            };
            // Boxed: a cold path, kept out of every request's future.
            Box::pin(answer_failure(
                &shared,
                &conn,
                plane,
                head,
                rule,
                &error::Failure::Internal,
            ))
            .await
            .map(body::Body::from)
        }
    }
}

/// A request hyper handed over that no handler task has taken up yet; see
/// [`journal::log_abandoned`].
struct Abandoned {
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    plane: Plane,
    /// The request as sent and when it arrived; `None` once taken up.
    head: Option<(RequestHead, time::OffsetDateTime)>,
}

impl Abandoned {
    fn new<B>(
        shared: &Arc<Shared>,
        conn: &Arc<ConnInfo>,
        plane: Plane,
        req: &http::Request<B>,
    ) -> Abandoned {
        Abandoned {
            shared: Arc::clone(shared),
            conn: Arc::clone(conn),
            plane,
            head: Some((RequestHead::of(req), shared.clock.now())),
        }
    }

    /// The handler takes the request up: nothing to log on drop.
    fn taken_up(mut self) -> RequestHead {
        match self.head.take() {
            Some((head, _)) => head,
            None => RequestHead {
                method: String::new(),
                path: String::new(),
                http1: false,
            },
        }
    }
}

impl Drop for Abandoned {
    fn drop(&mut self) {
        let Some((head, at)) = self.head.take() else {
            return;
        };
        let id = journal::new_inquiry_id(&self.shared.rng);
        let draft = journal::Draft::new(self.plane.name(), id, head.method, head.path, at);
        journal::log_abandoned(Arc::clone(&self.shared), Arc::clone(&self.conn), draft);
    }
}

/// Marks a request in flight on a connection; on drop (also when the client
/// goes away mid-request) the connection's idle clock restarts.
struct Busy<'a>(&'a ConnInfo);

impl<'a> Busy<'a> {
    fn new(conn: &'a ConnInfo) -> Busy<'a> {
        conn.inflight.fetch_add(1, Ordering::SeqCst);
        Busy(conn)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        *self.0.last_active.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// At most one process-log line a second for events any client can cause
/// at will before it has an identity (a connection shed past
/// `max_connections`, a TLS handshake refused, timed out or shed); the
/// others are counted into the next line (an outside probe grew stderr
/// without bound with a connect flood).
#[derive(Debug, Default)]
pub struct LogThrottle {
    /// The UTC second of the last line written.
    second: std::sync::atomic::AtomicU64,
    /// Events since, not written.
    suppressed: std::sync::atomic::AtomicU64,
}

impl LogThrottle {
    /// `Some(n)`: write a line now, `n` events were left out since the last
    /// one; `None`: leave this one out.
    pub fn admit(&self, now_s: u64) -> Option<u64> {
        let last = self.second.load(Ordering::Relaxed);
        if last != now_s
            && self
                .second
                .compare_exchange(last, now_s, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// The current UTC second (for [`LogThrottle`]).
fn unix_second() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Abandoned requests' entries committing at once.
const ABANDONED_AT_ONCE: usize = 64;

/// Log searches held in memory at once per `[admin]
/// max_concurrent_exports` (a search's answer is at most 10 000 entries,
/// about 10 MB: the default 2 exports allow 8 searches, ~80 MB).
pub const SEARCHES_PER_EXPORT: usize = 4;

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plane {
    Data,
    Admin,
}

/// A running gateway.
#[derive(Debug)]
pub struct Running {
    shared: Arc<Shared>,
    data_addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Submits checkpoints to the witnesses; ends after the final one.
    witness_feed: Option<JoinHandle<()>>,
    /// Commits the refusal summaries each second; flushes at shutdown.
    summaries: JoinHandle<()>,
    /// Evaluates misuse alerts; stopped once requests have drained.
    alert_task: JoinHandle<()>,
    drain_tx: mpsc::Sender<()>,
    drain_rx: mpsc::Receiver<()>,
}

/// Load policy, TLS and the inquiry log, bind the listeners and start serving.
///
/// `[server] danger_fixed_clock` (test only) starts it with a manual clock
/// standing at that instant.
pub async fn start(config: Config) -> Result<Running, ServeError> {
    let clock = match config.server.danger_fixed_clock {
        Some(at) => Clock::manual(at),
        None => Clock::system(),
    };
    start_with_clock(config, clock).await
}

/// As [`start`], with decisions and log times read from `clock` instead of
/// the system clock. For in-process tests that must run at a given instant
/// (a manual clock is logged as a warning at start).
pub async fn start_with_clock(config: Config, clock: Clock) -> Result<Running, ServeError> {
    if !clock.is_system() {
        tracing::warn!(
            now = %clock.now(),
            "DANGER: serving with a manual clock; decisions and log times do not follow real time"
        );
    }
    // Listeners first: a port that is taken fails before the store is
    // touched (no chain is started for nothing).
    let data_listener = TcpListener::bind(config.server.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.server.listen,
            source,
        })?;
    let admin_listener = match config.admin_listen {
        None => None,
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Bind { addr, source })?,
        ),
    };
    let (shared, alert_rx, witnesses) = open_shared(config, clock).await?;
    let local = |l: &TcpListener, fallback: SocketAddr| l.local_addr().unwrap_or(fallback);
    let data_addr = local(&data_listener, shared.config.server.listen);
    let admin_addr = admin_listener
        .as_ref()
        .zip(shared.config.admin_listen)
        .map(|(l, a)| local(l, a));
    let mut alert_task = alerts::AlertTask::new(shared.clone(), alert_rx);
    if shared.buckets.is_some() {
        alert_task = alert_task.clustered(&shared.config.audit_store_url);
    }
    alert_task.prepare().await;
    let alert_task = tokio::spawn(alert_task.run());
    let (stop, stop_rx) = watch::channel(false);
    let (drain_tx, drain_rx) = mpsc::channel(1);
    let mut tasks = vec![tokio::spawn(accept_loop(
        data_listener,
        shared.clone(),
        Plane::Data,
        stop_rx.clone(),
        drain_tx.clone(),
    ))];
    if let Some(l) = admin_listener {
        tasks.push(tokio::spawn(accept_loop(
            l,
            shared.clone(),
            Plane::Admin,
            stop_rx.clone(),
            drain_tx.clone(),
        )));
    }
    tasks.push(tokio::spawn(reload::watch_files(
        shared.clone(),
        stop_rx.clone(),
    )));
    let summaries = tokio::spawn(journal::summarise_refusals(shared.clone(), stop_rx));
    let witness_feed = witness_feed::WitnessFeed::new(shared.clone(), witnesses)
        .map(|feed| tokio::spawn(feed.run()));
    tracing::info!(%data_addr, ?admin_addr, "credgate serving");
    Ok(Running {
        shared,
        data_addr,
        admin_addr,
        stop,
        tasks,
        witness_feed,
        summaries,
        alert_task,
        drain_tx,
        drain_rx,
    })
}

impl Running {
    /// The bound data-plane address.
    pub fn data_addr(&self) -> SocketAddr {
        self.data_addr
    }

    /// The bound admin-plane address, if enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Reload policy and TLS material (SIGHUP). Whatever fails keeps its
    /// previous version; the first error is returned. Called on a
    /// multi-threaded runtime, the blocking file work is announced with
    /// [`tokio::task::block_in_place`] so other tasks move off this worker;
    /// prefer [`Running::reload_async`], which runs it on the blocking pool.
    pub fn reload(&self) -> Result<(), ServeError> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let work = || both_reloads(&self.shared);
        match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(work)
            }
            _ => work(),
        }
    }

    /// [`Running::reload`] with the file reading and parsing on tokio's
    /// blocking pool instead of a runtime worker.
    pub async fn reload_async(&self) -> Result<(), ServeError> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || both_reloads(&shared))
            .await
            .unwrap_or(Err(ServeError::ReloadAborted))
    }

    /// Stop accepting, let in-flight requests finish (bounded), write the
    /// final checkpoint.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        let shared = self.shared;
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        drop(self.drain_tx);
        let drained = tokio::time::timeout(DRAIN_BOUND, self.drain_rx.recv())
            .await
            .is_ok();
        // The last summaries of refusals past the budget, before the final
        // checkpoint (the task flushes once more when told to stop).
        let _ = self.summaries.await;
        journal::flush_refusals(&shared).await;
        // Alerts of the last requests that were not written yet are found
        // by the next start's rebuild.
        self.alert_task.abort();
        let _ = self.alert_task.await;
        let closed = shared.audit.shutdown().await.map_err(ServeError::Audit);
        if let Some(feed) = self.witness_feed {
            // The final checkpoint goes to the witnesses too (bounded; the
            // feed reads its consistency proof from the store).
            if tokio::time::timeout(WITNESS_BOUND, feed).await.is_err() {
                tracing::warn!("witnesses did not answer the final checkpoint in time");
            }
        }
        // Every connection to the store closed before shutdown returns: the
        // operator may unmount, move or check the store right after.
        let _ = shared.audit.close().await;
        if let Some(b) = &shared.buckets {
            b.close().await;
        }
        if !drained {
            // A client that stops reading its answer (an HTTP/2 window
            // kept at 0) holds its connection forever: it is cut at exit.
            // Every answer it was sending was logged before it started, and
            // the final checkpoint is written: the drain did what it must,
            // so the exit is 0 (an outside probe got exit 2 from one
            // stalled client).
            tracing::warn!(
                bound_secs = DRAIN_BOUND.as_secs(),
                "shutdown: connections still open after the drain bound are closed; every answer sent on them was logged first"
            );
        }
        closed
    }
}

/// What the configured witnesses cosigned last for each chain of the
/// store a crash left open (no final or sealed checkpoint): the log opens
/// with them and seals such a chain only if its tree has each (a re-probe:
/// a store writer without the key deleted a crashed chain's checkpoints
/// between two multiples of `checkpoint_every`, rewrote an entry under
/// them, and the next start sealed it; the witness objected only after).
/// Best effort, bounded: a witness that does not answer within 5 s, or a
/// store not there yet, adds nothing (the seal then rests on the chain
/// alone, as without witnesses).
async fn witnessed_heads(
    cfg: &audit::AuditConfig,
    witnesses: &[crate::witness::client::WitnessClient],
) -> Vec<audit::tree_head::Link> {
    let mut out = Vec::new();
    if witnesses.is_empty() {
        return out;
    }
    let Ok(signer) = audit::tree_head::CheckpointSigner::new(&cfg.key_name, &cfg.signing_key_pkcs8)
    else {
        return out;
    };
    let Ok(key) = audit::tree_head::LogKey::raw(&signer.verifier().public_key) else {
        return out;
    };
    let Ok(reader) = audit::Reader::connect(&cfg.store_url).await else {
        return out;
    };
    // A witness that failed once is not asked again: the start waits at
    // most 5 s per witness, however many chains are open.
    let mut failed = vec![false; witnesses.len()];
    for chain_id in reader.chains().await.unwrap_or_default() {
        let Ok(status) = reader.chain_status(&chain_id).await else {
            continue;
        };
        let closed = status
            .latest
            .as_ref()
            .and_then(|(_, _, note)| key.open(note).ok())
            .is_some_and(|cp| cp.kind.closes());
        if closed {
            continue;
        }
        let origin = audit::tree_head::origin_for(&cfg.origin, &chain_id);
        for (w, failed) in witnesses.iter().zip(failed.iter_mut()) {
            if *failed {
                continue;
            }
            match tokio::time::timeout(Duration::from_secs(5), w.latest(&origin)).await {
                Ok(Ok(Some(note))) => match key.open(&note) {
                    Ok(cp) if cp.origin == origin => out.push(audit::tree_head::Link {
                        origin: origin.clone(),
                        size: cp.size,
                        root: cp.root,
                    }),
                    _ => {
                        tracing::warn!(witness = w.name(), %origin, "a witness's latest checkpoint is not this log's; not used before sealing")
                    }
                },
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    *failed = true;
                    tracing::warn!(witness = w.name(), error = %e, "witness not asked before sealing a crashed chain")
                }
                Err(_) => {
                    *failed = true;
                    tracing::warn!(
                        witness = w.name(),
                        "witness did not answer within 5 s before sealing a crashed chain"
                    )
                }
            }
        }
    }
    reader.close().await;
    out
}

/// Everything a gateway serves with but its listeners: policy, TLS
/// material, upstream client, witnesses and the inquiry log opened (a new
/// chain started); the alert task's queue and the witness clients for the
/// caller to start.
async fn open_shared(
    config: Config,
    clock: Clock,
) -> Result<
    (
        Arc<Shared>,
        mpsc::Receiver<policy::alerts::AlertEvent>,
        Vec<crate::witness::client::WitnessClient>,
    ),
    ServeError,
> {
    let policy = config.load_policy()?;
    let tls = TlsHandle::load(&config.server)?;
    let audit_cfg = config.audit_config()?;
    let request_timeout = config
        .server
        .limits
        .request_timeout
        .min(config.upstream.timeout);
    let metrics = metrics::Metrics::default();
    let upstream = upstream::Upstream::new(&config.upstream, request_timeout)?
        .counting_retries(metrics.upstream_retries());
    if let Some(file) = config.audit_store_url.strip_prefix("sqlite://") {
        let file = file.split('?').next().unwrap_or(file);
        if let Some(parent) = std::path::Path::new(file).parent() {
            let _ = std::fs::create_dir_all(parent);
        }
    }
    let mut witnesses = Vec::with_capacity(config.witnesses.len());
    for w in &config.witnesses {
        let bad = |why: String| ServeError::Witness {
            name: w.name.clone(),
            why,
        };
        witnesses.push(w.client().map_err(bad)?);
    }
    let mut audit_cfg = audit_cfg;
    audit_cfg.witnessed = witnessed_heads(&audit_cfg, &witnesses).await;
    let audit = audit::AuditLog::open(&audit_cfg)
        .await
        .map_err(ServeError::Audit)?;
    // A crashed chain left unsealed because a witness cosigned more of it
    // (or another root) than the store holds is a witness conflict, seen
    // where conflicts are seen: an alert entry and the metric.
    for (chain, seq, why) in audit.unsealed_at_open() {
        if !why.contains("witness cosigned") {
            continue;
        }
        let entry = witness_feed::conflict_entry(
            "witnesses",
            chain,
            *seq,
            &format!("not sealed at start: {why}"),
        );
        if let Err(e) = audit.append(entry).await {
            tracing::error!(error = %e, "witness conflict found before sealing not logged");
        }
        metrics.witness_conflict("witnesses");
    }
    let audit_public_key = audit.public_key();
    let buckets = if is_postgres(&audit_cfg.store_url) {
        let timeout = Duration::from_millis(audit_cfg.store_timeout_ms.max(1));
        Some(
            shared_buckets::SharedBuckets::connect(&audit_cfg.store_url, timeout)
                .await
                .map_err(|e| ServeError::Audit(audit::AuditError::Unavailable(e.to_string())))?,
        )
    } else {
        None
    };
    let (alerts, alert_rx) = alerts::Alerts::new(alerts::QUEUE);
    let shared = Arc::new(Shared {
        alerts,
        console: crate::console::ConsoleState::default(),
        policy: ArcSwap::from_pointee(policy),
        tls,
        audit,
        audit_public_key,
        upstream,
        limiter: limiter::Limiter::default(),
        buckets,
        metrics,
        rng: ring::rand::SystemRandom::new(),
        clock,
        exports: Arc::new(Semaphore::new(config.admin_max_concurrent_exports)),
        abandoned: Arc::new(Semaphore::new(ABANDONED_AT_ONCE)),
        conn_log: LogThrottle::default(),
        searches: Arc::new(Semaphore::new(
            config
                .admin_max_concurrent_exports
                .saturating_mul(SEARCHES_PER_EXPORT)
                .max(1),
        )),
        refusals: refusals::RefusalBudget::new(
            config.server.refusal_rate.count,
            config.server.refusal_rate.per,
            config.server.refusal_burst,
        ),
        reload_lock: Mutex::new(()),
        config,
    });
    shared.metrics.crl_next_update(shared.tls.crl_next_update());
    Ok((shared, alert_rx, witnesses))
}

/// Whether the store URL names PostgreSQL (the cluster-wide limits apply).
fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// How long shutdown waits for the witnesses to cosign the final checkpoint.
const WITNESS_BOUND: Duration = Duration::from_secs(10);

/// Reload policy, then TLS material; log each failure; the first error.
fn both_reloads(shared: &Shared) -> Result<(), ServeError> {
    let policy = shared.reload_policy();
    let tls = shared.reload_tls();
    if let Err(e) = &policy {
        tracing::error!(error = %e, "policy reload rejected; previous policy kept");
    }
    if let Err(e) = &tls {
        tracing::error!(error = %e, "tls reload rejected; previous material kept");
    }
    policy.and(tls)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    plane: Plane,
    mut stop: watch::Receiver<bool>,
    drain: mpsc::Sender<()>,
) {
    let limits = shared.config.server.limits.clone();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Four times the head limit and twice the field count, as for
        // HTTP/2 below: heads in between reach `hygiene` and get their 431
        // after the entry commits; only larger ones are answered by hyper
        // (and logged once the connection ends).
        .max_buf_size(limits.max_header_bytes.saturating_mul(4).max(8192))
        .max_headers(limits.max_headers.saturating_mul(2))
        // A request followed at once by the client's end of the stream
        // (a shutdown of its write side, or a close) is still taken up,
        // logged and answered as far as the socket allows: hyper's
        // default drops it unseen (an outside probe: a complete request
        // closed within 20 ms left no entry).
        .half_close(true)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        // Neither plane reads request bodies: a small receive window bounds
        // what a client's DATA frames can make a connection buffer.
        .initial_stream_window_size(H2_STREAM_WINDOW)
        .initial_connection_window_size(H2_CONNECTION_WINDOW)
        // Rapid-reset and error-reset floods end the connection.
        .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
        .max_local_error_reset_streams(H2_MAX_ERROR_RESETS)
        // Four times the head limit: lists in between reach `hygiene` and
        // get a logged 431; only larger ones are refused by h2 unlogged.
        .max_header_list_size(
            u32::try_from(limits.max_header_bytes.saturating_mul(4)).unwrap_or(u32::MAX),
        )
        .keep_alive_interval(limits.idle_timeout)
        .keep_alive_timeout(Duration::from_secs(20));
    let builder = Arc::new(builder);
    // Set while an accepted connection waits for a permit: connections that
    // are only holding a slot (handshake not done, or idle between
    // requests) for longer than `SHED_GRACE` then give it up.
    let crowded = Arc::new(AtomicBool::new(false));
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::Closed) => break,
            Err(TryAcquireError::NoPermits) => {
                crowded.store(true, Ordering::SeqCst);
                if let Some(left_out) = shared.conn_log.admit(unix_second()) {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        left_out,
                        "connection limit reached; shedding idle and handshaking connections"
                    );
                }
                let p = tokio::select! {
                    _ = stop.changed() => break,
                    p = permits.clone().acquire_owned() => p,
                };
                crowded.store(false, Ordering::SeqCst);
                match p {
                    Ok(p) => p,
                    Err(_) => break,
                }
            }
        };
        let shared = shared.clone();
        let builder = builder.clone();
        let stop = stop.clone();
        let drain = drain.clone();
        let crowded = crowded.clone();
        tokio::spawn(async move {
            serve_connection(tcp, peer, shared, plane, builder, stop, crowded).await;
            drop(permit);
            drop(drain);
        });
    }
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    plane: Plane,
    builder: Arc<auto::Builder<TokioExecutor>>,
    mut stop: watch::Receiver<bool>,
    crowded: Arc<AtomicBool>,
) {
    let _ = tcp.set_nodelay(true);
    let limits = &shared.config.server.limits;
    let acceptor = tokio_rustls::TlsAcceptor::from(shared.tls.current());
    let tls = match handshake(acceptor.accept(tcp), limits.handshake_timeout, &crowded).await {
        Handshake::Done(s) => *s,
        Handshake::Refused(e) => {
            if let Some(left_out) = shared.conn_log.admit(unix_second()) {
                tracing::info!(%peer, error = %e, left_out, "tls handshake refused");
            }
            return;
        }
        Handshake::TimedOut => {
            if let Some(left_out) = shared.conn_log.admit(unix_second()) {
                tracing::info!(%peer, left_out, "tls handshake timed out");
            }
            return;
        }
        Handshake::Shed => {
            if let Some(left_out) = shared.conn_log.admit(unix_second()) {
                tracing::info!(%peer, left_out, "tls handshake shed: connection limit reached");
            }
            return;
        }
    };
    let conn_info = {
        let der = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.as_ref().to_vec())
            .unwrap_or_default();
        Arc::new(ConnInfo::of_certificate(&shared, &der, Some(peer)))
    };
    let svc_shared = shared.clone();
    let svc_conn = conn_info.clone();
    // Handlers running for this connection, at most `max_concurrent_streams`
    // — also counting those whose HTTP/2 stream the client reset: a handler
    // outlives its stream (to commit its entry), so without this bound a
    // client resetting streams would get unbounded concurrency.
    let handlers = Arc::new(Semaphore::new(
        usize::try_from(limits.max_concurrent_streams).unwrap_or(100),
    ));
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let shared = svc_shared.clone();
        let conn = svc_conn.clone();
        let handlers = handlers.clone();
        // Armed from the moment hyper hands the request over: dropped
        // before the handler's task takes the request up (hyper drops this
        // future unpolled when the client closes right after sending), it
        // logs the request as abandoned.
        let abandoned = Abandoned::new(&shared, &conn, plane, &req);
        conn.wire.dispatched();
        async move {
            let _busy = Busy::new(&conn);
            conn.head_mark
                .store(conn.wire.bytes_read(), Ordering::Relaxed);
            // Closed only if the semaphore were closed, which it never is.
            let permit = handlers.acquire_owned().await.ok();
            // The handler runs as its own task so a client that goes away
            // mid-request cannot cancel it: its log entry is still committed.
            let handler = dispatch(shared.clone(), conn.clone(), plane, req);
            let handler = async move {
                let resp = handler.await;
                drop(permit);
                resp
            };
            // No await between here and the spawn in `guarded`'s first poll.
            let head = abandoned.taken_up();
            let resp = guarded(shared, conn.clone(), plane, head, handler).await;
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let watched = wire::Watched::new(tls, conn_info.wire.clone());
    let conn = builder.serve_connection(TokioIo::new(watched), service);
    let mut conn = std::pin::pin!(conn);
    let idle = limits.idle_timeout;
    let mut tick = tokio::time::interval(SHED_CHECK.min(idle));
    let mut closing = *stop.borrow();
    if closing {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                    if let Some(status) = unparsed_status(e.as_ref()) {
                        log_unparsed_request(&shared, &conn_info, plane, status, "request could not be parsed").await;
                    } else if head_timed_out(e.as_ref(), &conn_info) {
                        log_unparsed_request(
                            &shared,
                            &conn_info,
                            plane,
                            408,
                            "request head not complete within header_read_timeout_ms",
                        )
                        .await;
                    }
                }
                log_wire_events(&shared, &conn_info, plane).await;
                log_abandoned_streams(&shared, &conn_info, plane);
                break;
            }
            _ = conn_info.wire.notify.notified() => {
                log_wire_events(&shared, &conn_info, plane).await;
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick(), if !closing => {
                // Idle past the idle timeout, or past the grace while another
                // connection waits for this one's slot.
                let bound = if crowded.load(Ordering::SeqCst) {
                    SHED_GRACE.min(idle)
                } else {
                    idle
                };
                if conn_info.doomed.load(Ordering::SeqCst) {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                    continue;
                }
                let quiet = conn_info.inflight.load(Ordering::SeqCst) == 0
                    && conn_info
                        .last_active
                        .lock()
                        .map(|t| t.elapsed() >= bound)
                        .unwrap_or(false);
                if quiet {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
