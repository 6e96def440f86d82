//! The load runner end to end against the built-in fixed-body server on
//! 127.0.0.1: plain and mTLS, keep-alive and handshake-per-request, closed
//! and open loop, and the failures it must count rather than hide.

// A failed set-up step is a failed test (clippy does not count these
// helpers as test code).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bench::cli::{self, Args, LoadPlan, Plan};
use bench::load;
use bench::serve::{self, Routes};
use bytes::Bytes;
use clap::Parser;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use tokio::net::TcpListener;

const SMALL: &[u8] = br#"{"subject":{"id":"91430100MA4L0XYZ1K","name":"x"},"records":[]}"#;

fn routes() -> Arc<Routes> {
    let large: Vec<u8> = std::iter::repeat_n(b'x', 64 * 1024).collect();
    Arc::new(Routes::new([
        ("/small".to_string(), Bytes::from_static(SMALL)),
        ("/large".to_string(), Bytes::from(large)),
    ]))
}

fn plan(args: &[String]) -> LoadPlan {
    let args = Args::try_parse_from(
        std::iter::once("credgate-load".to_string()).chain(args.iter().cloned()),
    )
    .unwrap();
    match cli::plan(&args).unwrap() {
        Plan::Load(p) => *p,
        Plan::Serve(_) => panic!("expected a load plan"),
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Start the plain fixed-body server; returns its URL.
async fn plain_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve::serve(listener, routes(), std::future::pending()));
    format!("http://{addr}")
}

fn write_paths(dir: &Path, lines: &str) -> PathBuf {
    let p = dir.join("paths.txt");
    std::fs::write(&p, lines).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_closed_loop_counts_every_response_and_byte() {
    let url = plain_server().await;
    let dir = tempfile::tempdir().unwrap();
    let paths = write_paths(dir.path(), "/small\n/large\n/missing\n");
    let mut a = strings(&[
        "--connections",
        "3",
        "--duration",
        "0.6",
        "--warmup",
        "0.2",
        "--url",
    ]);
    a.push(url);
    a.extend(strings(&[
        "--paths",
        paths.to_str().unwrap(),
        "--pid",
        &std::process::id().to_string(),
    ]));
    let r = load::run(plan(&a)).await.unwrap();

    assert!(r.requests > 30, "only {} requests", r.requests);
    assert_eq!(r.error_count(), 0, "{:?}", r.errors);
    assert_eq!(r.mode, "keep-alive");
    assert_eq!(r.loop_kind, "closed");
    // round-robin over three paths: statuses split roughly in thirds
    let ok = r.status.get(&200).copied().unwrap_or(0);
    let missing = r.status.get(&404).copied().unwrap_or(0);
    assert_eq!(ok + missing, r.requests);
    assert_eq!(r.ok, ok);
    assert!(
        missing * 3 >= r.requests / 2 && missing * 3 <= r.requests * 2,
        "{:?}",
        r.status
    );
    // bodies are counted in full: every ok answer is 74 or 65536 bytes
    assert!(
        r.body_bytes >= ok / 2 * 65_536,
        "{} bytes for {ok} ok",
        r.body_bytes
    );
    let l = &r.latency_us;
    assert!(l.p50.unwrap() <= l.p99.unwrap() && l.p99.unwrap() <= l.max.unwrap());
    assert!((r.rps - r.requests as f64 / 0.6).abs() < 1e-6);
    // the test process is the server: its CPU over the window is visible
    assert!(r.cpu[0].seconds.unwrap() > 0.0, "{:?}", r.cpu);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_holds_the_target_rate() {
    let url = plain_server().await;
    let mut a = strings(&[
        "--connections",
        "4",
        "--duration",
        "1",
        "--warmup",
        "0.2",
        "--rate",
        "200",
        "--url",
    ]);
    a.push(format!("{url}/small"));
    let r = load::run(plan(&a)).await.unwrap();
    assert_eq!(r.loop_kind, "open");
    // 200/s for 1 s; the schedule is exact, so allow only a request or two
    assert!((198..=202).contains(&r.requests), "{} requests", r.requests);
    assert_eq!(r.status.get(&200), Some(&r.requests));
    assert_eq!(r.error_count(), 0, "{:?}", r.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_counts_queueing_behind_a_too_small_pool() {
    let url = plain_server().await;
    // one connection, far more requests than it can finish: many never get
    // sent before the window closes and are reported as backlog
    let mut a = strings(&[
        "--connections",
        "1",
        "--duration",
        "0.5",
        "--warmup",
        "0",
        "--rate",
        "1000000",
        "--url",
    ]);
    a.push(format!("{url}/large"));
    let r = load::run(plan(&a)).await.unwrap();
    assert!(
        r.errors.get("backlog").copied().unwrap_or(0) > 1_000,
        "{:?}",
        r.errors
    );
    // latency counts from the schedule, so it grows to about the window
    assert!(r.latency_us.max.unwrap() > 100_000, "{:?}", r.latency_us);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_errors_not_results() {
    // bind then drop: the port is (almost certainly) closed now
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let a = strings(&[
        "--connections",
        "2",
        "--duration",
        "0.3",
        "--warmup",
        "0",
        "--url",
        &format!("http://127.0.0.1:{port}/small"),
    ]);
    let r = load::run(plan(&a)).await.unwrap();
    assert_eq!(r.requests, 0);
    assert!(
        r.errors.get("connect").copied().unwrap_or(0) > 0,
        "{:?}",
        r.errors
    );
    assert_eq!(r.latency_us.p50, None);
}

struct Pki {
    dir: tempfile::TempDir,
    server: Arc<rustls::ServerConfig>,
}

/// A CA, a server cert for 127.0.0.1, and an officer cert, on disk; the
/// server config requires a client cert from that CA.
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let mut sp = CertificateParams::new(Vec::new()).unwrap();
    sp.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().unwrap())];
    let server = sp.signed_by(&server_key, &ca, &ca_key).unwrap();

    let officer_key = KeyPair::generate().unwrap();
    let officer = CertificateParams::new(Vec::new())
        .unwrap()
        .signed_by(&officer_key, &ca, &ca_key)
        .unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("officer.pem"), officer.pem()).unwrap();
    std::fs::write(dir.path().join("officer.key"), officer_key.serialize_pem()).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der()).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![server.der().clone()], key)
        .unwrap();
    Pki {
        dir,
        server: Arc::new(server),
    }
}

/// Start an mTLS fixed-body server; returns its URL and the number of
/// completed handshakes so far.
async fn tls_server(
    config: Arc<rustls::ServerConfig>,
) -> (String, Arc<std::sync::atomic::AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let handshakes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = handshakes.clone();
    tokio::spawn(async move {
        let routes = routes();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let routes = routes.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    serve::serve_connection(tls, routes).await;
                }
            });
        }
    });
    (format!("https://{addr}/small"), handshakes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_keep_alive_reuses_connections_and_per_request_mode_does_not() {
    let pki = pki();
    let (url, handshakes) = tls_server(pki.server.clone()).await;
    let d = pki.dir.path();
    let tls_args = |extra: &[&str]| {
        let mut a = strings(&["--url", &url, "--ca"]);
        a.push(d.join("ca.pem").display().to_string());
        a.extend(strings(&[
            "--cert",
            d.join("officer.pem").to_str().unwrap(),
        ]));
        a.extend(strings(&["--key", d.join("officer.key").to_str().unwrap()]));
        a.extend(strings(&[
            "--duration",
            "0.5",
            "--warmup",
            "0.1",
            "--connections",
            "2",
        ]));
        a.extend(strings(extra));
        a
    };

    let r = load::run(plan(&tls_args(&[]))).await.unwrap();
    assert!(r.requests > 20, "{} requests", r.requests);
    assert_eq!(r.status.get(&200), Some(&r.requests));
    assert_eq!(r.error_count(), 0, "{:?}", r.errors);
    let kept = handshakes.swap(0, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(kept, 2, "keep-alive: one handshake per connection");

    let r = load::run(plan(&tls_args(&["--handshake-per-request"])))
        .await
        .unwrap();
    assert_eq!(r.mode, "handshake-per-request");
    assert!(r.requests > 5, "{} requests", r.requests);
    assert_eq!(r.error_count(), 0, "{:?}", r.errors);
    let fresh = handshakes.swap(0, std::sync::atomic::Ordering::Relaxed);
    assert!(
        fresh >= r.requests,
        "{fresh} handshakes for {} requests",
        r.requests
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_the_officer_cert_fails_the_handshake() {
    let pki = pki();
    let (url, _) = tls_server(pki.server.clone()).await;
    let ca = pki.dir.path().join("ca.pem");
    let a = strings(&[
        "--url",
        &url,
        "--ca",
        ca.to_str().unwrap(),
        "--duration",
        "0.3",
        "--warmup",
        "0",
        "--connections",
        "1",
        "--timeout-ms",
        "2000",
    ]);
    let r = load::run(plan(&a)).await.unwrap();
    assert_eq!(r.requests, 0, "{:?}", r.status);
    // TLS 1.3: the refusal arrives after the client's handshake completes,
    // so it surfaces on the first HTTP exchange
    let failures =
        r.errors.get("tls").copied().unwrap_or(0) + r.errors.get("http").copied().unwrap_or(0);
    assert!(failures > 0, "{:?}", r.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_run_ends_within_warmup_plus_duration_plus_timeout() {
    // a server that accepts and never answers
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let a = strings(&[
        "--url",
        &format!("http://{addr}/"),
        "--duration",
        "0.3",
        "--warmup",
        "0",
        "--connections",
        "4",
        "--timeout-ms",
        "400",
    ]);
    let started = std::time::Instant::now();
    let r = load::run(plan(&a)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.requests, 0);
    // requests time out after the window closes: not counted in it
    assert!(
        r.errors.is_empty() || r.errors.contains_key("timeout"),
        "{:?}",
        r.errors
    );
}
