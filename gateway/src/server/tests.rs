use super::*;

#[tokio::test]
async fn a_stalled_handshake_is_shed_only_while_the_listener_is_crowded() {
    let crowded = AtomicBool::new(true);
    let started = Instant::now();
    let stalled = std::future::pending::<std::io::Result<()>>();
    let r = handshake(stalled, Duration::from_secs(10), &crowded).await;
    assert!(matches!(r, Handshake::Shed));
    let took = started.elapsed();
    assert!(
        took >= SHED_GRACE && took < Duration::from_secs(3),
        "{took:?}"
    );

    crowded.store(false, Ordering::SeqCst);
    let started = Instant::now();
    let stalled = std::future::pending::<std::io::Result<()>>();
    let r = handshake(stalled, Duration::from_millis(1500), &crowded).await;
    assert!(matches!(r, Handshake::TimedOut));
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[tokio::test]
async fn a_finished_handshake_is_returned_even_when_crowded() {
    let crowded = AtomicBool::new(true);
    let r = handshake(async { Ok(7u8) }, Duration::from_secs(1), &crowded).await;
    assert!(matches!(r, Handshake::Done(b) if *b == 7));
    let refused = async { Err::<u8, _>(std::io::Error::other("bad certificate")) };
    let r = handshake(refused, Duration::from_secs(1), &crowded).await;
    assert!(matches!(r, Handshake::Refused(_)));
}

/// A gateway started in-process in a tempdir (dev PKI, conformance
/// policy, an upstream nobody answers on).
async fn gateway() -> (tempfile::TempDir, Running) {
    let dir = tempfile::tempdir().unwrap();
    certs::pki::init(&dir.path().join("pki")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance/policy.toml"),
        dir.path().join("policy.toml"),
    )
    .unwrap();
    let text = r#"[server]
listen = "127.0.0.1:0"
cert = "pki/server.pem"
key = "pki/server.key"
client_ca = "pki/ca.pem"
crl = ["pki/ca.crl"]

[identity]
officer_id = "subject.serialNumber"
name = "subject.CN"
unit = "subject.O"

[upstream]
url = "http://127.0.0.1:9"
timeout_ms = 1000

[audit]
store = "sqlite://audit/inquiries.db"
signing_key = "pki/audit-signing.pk8"
checkpoint_every = 10

[policy]
file = "policy.toml"
"#;
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let running = start(config).await.unwrap();
    (dir, running)
}

fn officer_conn() -> Arc<ConnInfo> {
    Arc::new(ConnInfo {
        identity: policy::Identity {
            officer_id: "HN-AMR-0001".into(),
            name: "Li Na".into(),
            unit: "AMR".into(),
            fingerprint: "00".into(),
        },
        identity_ok: true,
        leaf: None,
        doomed: AtomicBool::new(false),
        inflight: AtomicUsize::new(0),
        wire: Arc::default(),
        head_mark: std::sync::atomic::AtomicU64::new(0),
        last_active: Mutex::new(Instant::now()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_gets_a_logged_500() {
    let (_dir, running) = gateway().await;
    let shared = running.shared.clone();
    let head = RequestHead {
        method: "GET".into(),
        path: "/v1/subjects/x".into(),
        http1: true,
    };
    let boom = async {
        if std::hint::black_box(true) {
            panic!("handler bug");
        }
        error::failure_response(&error::Failure::NotFound, "").map(body::Body::from)
    };
    let resp = guarded(shared.clone(), officer_conn(), Plane::Data, head, boom).await;
    assert_eq!(resp.status(), 500);
    let id = resp.headers()["inquiry-id"].to_str().unwrap().to_string();
    let url = shared.config.audit_store_url.clone();
    let entries = audit::Reader::connect(&url)
        .await
        .unwrap()
        .query(&audit::Filter::default())
        .await
        .unwrap();
    let entry = entries
        .iter()
        .map(|e| &e.entry)
        .find(|e| e.inquiry_id == id)
        .expect("no entry for the panicked request");
    assert_eq!(entry.decision.as_str(), "error");
    assert_eq!(entry.reason, "internal_error");
    assert_eq!(entry.status, 500);
    assert_eq!(entry.officer_id, "HN-AMR-0001");
    assert_eq!(entry.path, "/v1/subjects/x");
    assert_eq!(entry.rule, "request handler panicked");

    let fine =
        async { error::failure_response(&error::Failure::NotFound, "abc").map(body::Body::from) };
    let head = RequestHead {
        method: "GET".into(),
        path: "/".into(),
        http1: false,
    };
    let resp = guarded(shared, officer_conn(), Plane::Data, head, fine).await;
    assert_eq!(resp.status(), 404);
    running.shutdown().await.unwrap();
}

/// One process-log line a second for connection-level events a client can
/// cause at will; the rest are counted into the next line.
#[test]
fn connection_log_lines_are_throttled_to_one_a_second() {
    let t = LogThrottle::default();
    assert_eq!(t.admit(100), Some(0));
    assert_eq!(t.admit(100), None);
    assert_eq!(t.admit(100), None);
    assert_eq!(t.admit(101), Some(2));
    assert_eq!(t.admit(101), None);
    assert_eq!(t.admit(105), Some(1));
}
