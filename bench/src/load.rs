//! The load runner: connections, request loops, timing and measurement window.
//!
//! This module owns sending HTTP/1.1 requests (hyper 1 client connections,
//! over tokio-rustls for https) in one of four shapes:
//!
//! - keep-alive, closed loop: each connection sends its next request as soon
//!   as the previous answer is read (peak throughput);
//! - keep-alive, open loop (`--rate`): requests are scheduled at fixed
//!   intervals, and latency counts from the scheduled time, so a server that
//!   falls behind shows its queueing (no coordinated omission);
//! - handshake-per-request, either loop: a new TCP + TLS connection per
//!   request, closed after the answer.
//!
//! Every run is bounded: no request starts after the window ends, every
//! request has a timeout, and workers still busy past `end + timeout + 1 s`
//! are aborted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use thiserror::Error;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use crate::cli::{LoadPlan, Scheme};
use crate::histogram::Histogram;
use crate::procstat;
use crate::report::{CpuUsage, Latency, Report};
use crate::tls;

/// Why a run could not start (failures during the run are counted, not raised).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The TLS client configuration could not be built.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// `--server-name` (or the URL host) is not a valid TLS server name.
    #[error("`{0}` is not a valid tls server name")]
    ServerName(String),
    /// The `--record` file could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Record {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The kinds of failure a run counts, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Failure {
    /// TCP connect refused or failed.
    Connect,
    /// TLS handshake failed (bad cert, no client cert, closed by peer).
    Tls,
    /// HTTP exchange failed after the connection was up.
    Http,
    /// The request did not finish within `--timeout-ms`.
    Timeout,
    /// Open loop only: the request's scheduled time passed the end of the
    /// window before a connection was free to send it.
    Backlog,
}

impl Failure {
    fn name(self) -> &'static str {
        match self {
            Failure::Connect => "connect",
            Failure::Tls => "tls",
            Failure::Http => "http",
            Failure::Timeout => "timeout",
            Failure::Backlog => "backlog",
        }
    }
}

/// What one worker measured.
#[derive(Debug, Default)]
struct WorkerStats {
    hist: Histogram,
    status: BTreeMap<u16, u64>,
    /// With `--record`: (status, inquiry id) of every response.
    answers: Vec<(u16, Option<String>)>,
    failures: BTreeMap<Failure, u64>,
    body_bytes: u64,
}

impl WorkerStats {
    fn merge(&mut self, other: WorkerStats) {
        self.hist.merge(&other.hist);
        self.answers.extend(other.answers);
        for (k, v) in other.status {
            *self.status.entry(k).or_default() += v;
        }
        for (k, v) in other.failures {
            *self.failures.entry(k).or_default() += v;
        }
        self.body_bytes += other.body_bytes;
    }

    fn fail(&mut self, f: Failure) {
        *self.failures.entry(f).or_default() += 1;
    }
}

/// State shared by all workers of one run.
struct Shared {
    plan: LoadPlan,
    /// `Some` for https targets.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// Value of the `Host` header.
    host_header: http::HeaderValue,
    /// Load starts (warm-up begins).
    start: Instant,
    /// Measured window opens.
    measure_from: Instant,
    /// Measured window closes; no request starts after it.
    stop_at: Instant,
    /// Next request number: picks the path, and (open loop) the schedule slot.
    next: AtomicU64,
}

impl Shared {
    /// The path of request number `n`.
    fn path(&self, n: u64) -> &str {
        let len = self.plan.paths.len().max(1) as u64;
        self.plan
            .paths
            .get((n % len) as usize)
            .map_or("/", String::as_str)
    }

    /// Open-loop schedule: when request number `n` is due.
    fn due(&self, n: u64, rate: f64) -> Instant {
        self.start + Duration::from_secs_f64(n as f64 / rate)
    }

    fn request(&self, path: &str, close: bool) -> Option<Request<Empty<Bytes>>> {
        let mut b = Request::get(path).header(header::HOST, self.host_header.clone());
        for (name, value) in &self.plan.headers {
            b = b.header(name, value);
        }
        if close {
            b = b.header(header::CONNECTION, "close");
        }
        b.body(Empty::new()).ok()
    }
}

/// A live HTTP/1.1 client connection.
type Sender = SendRequest<Empty<Bytes>>;

/// Open a connection (TCP, then TLS if https) and start its HTTP/1.1 driver.
async fn connect(shared: &Shared) -> Result<Sender, Failure> {
    let tcp = TcpStream::connect(&shared.plan.authority)
        .await
        .map_err(|_| Failure::Connect)?;
    let _ = tcp.set_nodelay(true);
    match &shared.tls {
        Some((connector, name)) => {
            let stream = connector
                .connect(name.clone(), tcp)
                .await
                .map_err(|_| Failure::Tls)?;
            handshake(TokioIo::new(stream)).await
        }
        None => handshake(TokioIo::new(tcp)).await,
    }
}

async fn handshake<T>(io: T) -> Result<Sender, Failure>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|_| Failure::Http)?;
    tokio::spawn(async move {
        // Ends when the peer closes or the sender is dropped; its error was
        // already seen by the request that failed.
        let _ = conn.await;
    });
    Ok(sender)
}

/// An exchange's outcome: status, body bytes, the `Inquiry-Id` header.
type Exchanged = (u16, u64, Option<String>);

/// Send one request on `sender` and read the whole body.
async fn exchange(sender: &mut Sender, req: Request<Empty<Bytes>>) -> Result<Exchanged, Failure> {
    sender.ready().await.map_err(|_| Failure::Http)?;
    let resp = sender.send_request(req).await.map_err(|_| Failure::Http)?;
    let status = resp.status().as_u16();
    let id = resp
        .headers()
        .get("inquiry-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = resp.into_body();
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Failure::Http)?;
        if let Some(data) = frame.data_ref() {
            bytes += data.len() as u64;
        }
    }
    Ok((status, bytes, id))
}

/// One connection's (or, per-request mode, one slot's) request loop.
async fn worker(shared: Arc<Shared>) -> WorkerStats {
    let mut stats = WorkerStats::default();
    let plan = &shared.plan;
    let per_request = plan.handshake_per_request;
    let mut conn: Option<Sender> = None;
    loop {
        if plan.rate.is_none() && Instant::now() >= shared.stop_at {
            break;
        }
        let n = shared.next.fetch_add(1, Ordering::Relaxed);
        // When the request counts from, and whether it is measured.
        let (t0, open_measured) = match plan.rate {
            Some(rate) => {
                let due = shared.due(n, rate);
                if due >= shared.stop_at {
                    break;
                }
                if Instant::now() >= shared.stop_at {
                    // Due inside the window but no connection was free in time.
                    if due >= shared.measure_from {
                        stats.fail(Failure::Backlog);
                    }
                    continue;
                }
                tokio::time::sleep_until(due).await;
                (due, Some(due >= shared.measure_from))
            }
            None => (Instant::now(), None),
        };
        let measured = |done: Instant| {
            open_measured.unwrap_or(done >= shared.measure_from && done <= shared.stop_at)
        };
        let Some(req) = shared.request(shared.path(n), per_request) else {
            stats.fail(Failure::Http);
            break;
        };
        let outcome = tokio::time::timeout(plan.timeout, async {
            // A kept connection the server has meanwhile closed is replaced
            // without counting a failure: only the new one's errors count.
            let kept = match conn.take() {
                Some(mut s) if !s.is_closed() => s.ready().await.is_ok().then_some(s),
                _ => None,
            };
            let mut sender = match kept {
                Some(s) => s,
                None => connect(&shared).await?,
            };
            let result = exchange(&mut sender, req).await;
            if result.is_ok() && !per_request {
                conn = Some(sender);
            }
            result
        })
        .await;
        let done = Instant::now();
        match outcome {
            Ok(Ok((status, bytes, id))) => {
                if plan.record.is_some() {
                    stats.answers.push((status, id));
                }
                if measured(done) {
                    stats
                        .hist
                        .record(done.duration_since(t0).as_micros() as u64);
                    *stats.status.entry(status).or_default() += 1;
                    stats.body_bytes += bytes;
                }
            }
            Ok(Err(f)) => {
                if measured(done) {
                    stats.fail(f);
                }
                if matches!(f, Failure::Connect | Failure::Tls) && plan.rate.is_none() {
                    // Do not spin on a refusing server in closed loop.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Err(_) => {
                conn = None;
                if measured(done) {
                    stats.fail(Failure::Timeout);
                }
            }
        }
    }
    stats
}

/// CPU seconds of each pid tree, `None` where unreadable.
fn cpu_sample(pids: &[u32]) -> Vec<Option<f64>> {
    pids.iter()
        .map(|&p| procstat::tree_cpu_seconds(p).ok())
        .collect()
}

/// Run the plan to completion on the current tokio runtime.
pub async fn run(plan: LoadPlan) -> Result<Report, LoadError> {
    let tls = match plan.scheme {
        Scheme::Https => {
            let ca = plan.ca.clone().unwrap_or_default();
            let auth = plan
                .client_auth
                .as_ref()
                .map(|(c, k)| (c.as_path(), k.as_path()));
            let config = tls::client_config(&ca, auth, plan.tls_resumption)?;
            let name = ServerName::try_from(plan.server_name.clone())
                .map_err(|_| LoadError::ServerName(plan.server_name.clone()))?;
            Some((TlsConnector::from(config), name))
        }
        Scheme::Http => None,
    };
    let host_header = http::HeaderValue::from_str(&plan.authority)
        .map_err(|_| LoadError::ServerName(plan.authority.clone()))?;
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let stop_at = measure_from + plan.duration;
    let hard_stop = stop_at + plan.timeout + Duration::from_secs(1);
    let connections = plan.connections;
    let shared = Arc::new(Shared {
        plan,
        tls,
        host_header,
        start,
        measure_from,
        stop_at,
        next: AtomicU64::new(0),
    });

    let mut workers = JoinSet::new();
    for _ in 0..connections {
        workers.spawn(worker(shared.clone()));
    }

    let me = std::process::id();
    let mut watched = shared.plan.pids.clone();
    watched.push(me);
    tokio::time::sleep_until(measure_from).await;
    let before = cpu_sample(&watched);
    let machine_before = procstat::machine_busy_seconds();
    let window_start = Instant::now();
    tokio::time::sleep_until(stop_at).await;
    let after = cpu_sample(&watched);
    let machine_after = procstat::machine_busy_seconds();
    let window_s = window_start.elapsed().as_secs_f64();
    let machine_busy_cores = machine_after
        .zip(machine_before)
        .filter(|_| window_s > 0.0)
        .map(|(a, b)| (a - b).max(0.0) / window_s);

    let mut total = WorkerStats::default();
    let mut aborted = 0u64;
    loop {
        match tokio::time::timeout_at(hard_stop, workers.join_next()).await {
            Ok(Some(Ok(stats))) => total.merge(stats),
            Ok(Some(Err(_))) => aborted += 1,
            Ok(None) => break,
            Err(_) => {
                aborted += workers.len() as u64;
                workers.abort_all();
                break;
            }
        }
    }

    if let Some(path) = &shared.plan.record {
        let mut text = String::with_capacity(total.answers.len() * 40);
        for (status, id) in &total.answers {
            text.push_str(&format!("{status} {}\n", id.as_deref().unwrap_or("-")));
        }
        std::fs::write(path, text).map_err(|source| LoadError::Record {
            path: path.clone(),
            source,
        })?;
    }
    let requests = total.hist.count();
    let mut cpu: Vec<CpuUsage> = watched
        .iter()
        .zip(before.iter().zip(&after))
        .map(|(&pid, (b, a))| {
            let delta = a.zip(*b).map(|(a, b)| (a - b).max(0.0));
            CpuUsage::new(pid, delta, window_s, requests)
        })
        .collect();
    let loadgen_cpu = cpu
        .pop()
        .unwrap_or_else(|| CpuUsage::new(me, None, window_s, requests));
    let mut errors: BTreeMap<String, u64> = total
        .failures
        .iter()
        .map(|(k, v)| (k.name().to_string(), *v))
        .collect();
    if aborted > 0 {
        errors.insert("aborted_workers".to_string(), aborted);
    }
    let plan = &shared.plan;
    Ok(Report {
        label: plan.label.clone(),
        mode: if plan.handshake_per_request {
            "handshake-per-request"
        } else {
            "keep-alive"
        },
        loop_kind: if plan.rate.is_some() {
            "open"
        } else {
            "closed"
        },
        connections: plan.connections,
        target_rate: plan.rate,
        window_s: plan.duration.as_secs_f64(),
        requests,
        rps: requests as f64 / plan.duration.as_secs_f64(),
        ok: total
            .status
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, v)| v)
            .sum(),
        body_bytes: total.body_bytes,
        latency_us: Latency::from_histogram(&total.hist),
        status: total.status,
        errors,
        cpu,
        loadgen_cpu,
        machine_busy_cores,
    })
}
