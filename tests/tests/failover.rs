//! Issue 17: a PostgreSQL failover drill. The gateway reaches PostgreSQL
//! through a TCP relay the test controls; under load the relay drops every
//! connection and refuses new ones for a few seconds (the primary gone
//! while another is promoted), then lets connections through again.
//!
//! During the gap every inquiry is refused `503 audit_unavailable` within
//! the store timeout (no hang, no answer without its entry); afterwards
//! the same gateway serves again without a restart, every inquiry answered
//! 200 is in the store, and the log verifies intact.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tests::client::Proto;
use tests::env::{Env, PgSchema, INSPECTOR_HEADERS, LEGAL_PERSON};
use tokio::net::{TcpListener, TcpStream};

/// A TCP relay to `target` that can be cut: while down, live connections
/// are closed and new ones are accepted and closed at once.
struct Relay {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    /// While set, relayed connections stay open but forward nothing (a
    /// server that stopped answering mid-statement).
    hung: Arc<AtomicBool>,
    /// Bumped on every cut: relayed connections of an older generation end.
    generation: tokio::sync::watch::Sender<u64>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let hung = Arc::new(AtomicBool::new(false));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let relay = Relay {
            addr,
            up: up.clone(),
            hung: hung.clone(),
            generation: generation.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if !up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cut = generation.subscribe();
                let hung = hung.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::select! {
                        _ = pump(cr, sw, hung.clone()) => {}
                        _ = pump(sr, cw, hung) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        relay
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    fn hang(&self, hung: bool) {
        self.hung.store(hung, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, dropping what arrives while `hung` is set.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    hung: Arc<AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if hung.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// `url` with its `host:port` replaced by `addr`.
fn via(url: &str, addr: SocketAddr) -> String {
    let at = url
        .find('@')
        .map_or_else(|| url.find("://").unwrap() + 3, |i| i + 1);
    let end = at + url[at..].find('/').unwrap();
    format!("{}{addr}{}", &url[..at], &url[end..])
}

/// The host:port of a postgres URL.
fn target_of(url: &str) -> SocketAddr {
    let at = url
        .find('@')
        .map_or_else(|| url.find("://").unwrap() + 3, |i| i + 1);
    let end = at + url[at..].find('/').unwrap();
    let hostport = &url[at..end];
    let hostport = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&hostport)
        .unwrap()
        .next()
        .unwrap()
}

/// Makes the test upstream answer for [`LEGAL_PERSON`]; its path.
fn answer_a_legal_person(env: &Env) -> String {
    let path = format!("/v1/subjects/{LEGAL_PERSON}");
    env.upstream.json(
        &path,
        200,
        &serde_json::json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person", "name": "x"}}),
    );
    path
}

/// One answer: when it was asked, status, error code, inquiry id, how long
/// it took.
type Answer = (Instant, u16, Option<String>, String, Duration);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_gone_for_seconds_gives_503_then_serves_again_without_restart() {
    let Some(pg) = PgSchema::create("failover").await else {
        return;
    };
    let relay = Relay::start(target_of(&pg.url)).await;
    let env = Env::with_store(Some(&via(&pg.url, relay.addr))).await;
    // The drill is about the store, not the officer's rate limit.
    env.write_policy(&Env::conformance_policy().replacen(
        "rate = \"120/minute\"",
        "rate = \"60000/minute\"",
        1,
    ));
    let path = answer_a_legal_person(&env);
    let gw = env.start().await;
    let addr = gw.data_addr();

    // Four clients ask without pause for 9 s; the primary is gone from
    // second 2 to second 5.
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
        let (stop, seen, path) = (stop.clone(), seen.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                match client.get(addr, &path, &INSPECTOR_HEADERS).await {
                    Ok(r) => {
                        let id = r.header("inquiry-id").unwrap_or_default().to_owned();
                        seen.lock().unwrap().push((
                            started,
                            r.status,
                            r.code(),
                            id,
                            started.elapsed(),
                        ));
                    }
                    Err(e) => panic!("the gateway dropped a request instead of answering: {e:?}"),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    relay.down();
    let gap = Instant::now();
    let auditor = env.client(Some("CMP-0001"), Proto::Http1);
    let admin = gw.admin_addr().unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Not ready while the store is gone: a load balancer takes it out.
    let ready_in_gap = auditor.get(admin, "/readyz", &[]).await.unwrap().status;
    tokio::time::sleep(gap + Duration::from_secs(3) - Instant::now()).await;
    relay.up();
    let back = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let ready_after = auditor.get(admin, "/readyz", &[]).await.unwrap().status;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();

    let mut by_status: BTreeMap<(u16, Option<String>), usize> = BTreeMap::new();
    for (_, status, code, _, _) in &seen {
        *by_status.entry((*status, code.clone())).or_default() += 1;
    }
    eprintln!("failover drill over {:?}: {by_status:?}", t0.elapsed());
    // Only two answers exist: served, or refused because the log cannot
    // be written.
    for (status, code) in by_status.keys() {
        assert!(
            *status == 200 || (*status == 503 && code.as_deref() == Some("audit_unavailable")),
            "unexpected answer {status} {code:?}: {by_status:?}"
        );
    }
    // Refused while the primary was gone (asked and answered within the
    // gap; one asked near its end may be served once the store is back),
    // each within the store timeout (2 s) plus slack — no hang.
    let during: Vec<_> = seen
        .iter()
        .filter(|(at, _, _, _, took)| *at > gap + Duration::from_millis(300) && *at + *took < back)
        .collect();
    assert!(!during.is_empty());
    assert!(
        during.iter().all(|(_, status, ..)| *status == 503),
        "served while PostgreSQL was unreachable: {by_status:?}"
    );
    let slowest = seen.iter().map(|s| s.4).max().unwrap();
    assert!(
        slowest < Duration::from_secs(5),
        "an answer took {slowest:?}"
    );
    // Served again after it came back, without a restart.
    let after: Vec<_> = seen
        .iter()
        .filter(|(at, ..)| *at > back + Duration::from_secs(2))
        .collect();
    assert!(
        !after.is_empty() && after.iter().all(|(_, status, ..)| *status == 200),
        "not serving 2 s after PostgreSQL returned: {by_status:?}"
    );
    assert!(seen.iter().any(|(at, s, ..)| *at < gap && *s == 200));
    assert_ne!(ready_in_gap, 200, "/readyz ready while PostgreSQL was gone");
    assert_eq!(
        ready_after, 200,
        "/readyz not ready after PostgreSQL returned"
    );

    gw.shutdown().await.unwrap();
    // Every inquiry answered 200 is in the store, and the log verifies.
    let reader = audit::Reader::connect(&pg.url).await.unwrap();
    let stored: std::collections::BTreeSet<String> = reader
        .query(&audit::Filter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.inquiry_id)
        .collect();
    let served: Vec<&String> = seen.iter().filter(|s| s.1 == 200).map(|s| &s.3).collect();
    assert!(served.len() > 10);
    for id in served {
        assert!(stored.contains(id), "answered 200 without an entry: {id}");
    }
    let report = reader.verify(&env.audit_public_key()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    reader.close().await;
    pg.drop_now().await;
}

/// A failover can hand a live gateway's chain to another process: while
/// the first gateway is cut off, a gateway starting up finds the chain's
/// lock free, verifies the chain and seals it. When the first one
/// reconnects it must not write another entry on the sealed chain (that
/// is what `audit verify` reports as tampering): its appends fail as
/// unavailable from then on, and the log stays intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_sealed_by_another_process_during_a_failover_is_not_written_again() {
    let Some(pg) = PgSchema::create("takeover").await else {
        return;
    };
    let relay = Relay::start(target_of(&pg.url)).await;
    let env = Env::with_store(Some(&via(&pg.url, relay.addr))).await;
    let mut cfg = env.config().audit_config().unwrap();
    cfg.checkpoint_every = 2;
    cfg.store_timeout_ms = 500;
    let first = audit::AuditLog::open(&cfg).await.unwrap();
    for i in 0..3 {
        first.append(tests::env::filler_entry(i)).await.unwrap();
    }
    let first_chain = first.chain_id().to_owned();

    // The first gateway loses PostgreSQL; its session (and lock) ends.
    relay.down();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Another gateway starts on the database directly: it seals the chain
    // nobody holds.
    let mut direct = cfg.clone();
    direct.store_url = pg.url.clone();
    let second = audit::AuditLog::open(&direct).await.unwrap();
    let reader = audit::Reader::connect(&pg.url).await.unwrap();
    let sealed: i64 = {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&pg.url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM notes WHERE chain_id = $1 AND kind = 'sealed'")
            .bind(&first_chain)
            .fetch_one(&mut c)
            .await
            .unwrap()
    };
    assert_eq!(sealed, 1, "the second gateway did not seal the first chain");

    // The first gateway's connection comes back: it must not append.
    relay.up();
    let mut refused = 0;
    for i in 3..6 {
        match first.append(tests::env::filler_entry(i)).await {
            Ok(r) => panic!("appended seq {} on a chain another process sealed", r.seq),
            Err(e) => {
                assert!(matches!(e, audit::AuditError::Unavailable(_)), "{e:?}");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 3);
    let _ = first.close().await;
    second.close().await.unwrap();
    let report = reader.verify(&env.audit_public_key()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    reader.close().await;
    pg.drop_now().await;
}

/// A PostgreSQL that stops answering mid-statement (the connection open,
/// nothing coming back): every inquiry is answered 503 within the store
/// timeout, none waits for the store to come back (an outside probe: the
/// shared rate-limit statement held one request 748 s, then served it),
/// and the gateway serves again once it answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_that_stops_answering_gives_503_within_the_timeout() {
    let Some(pg) = PgSchema::create("hang").await else {
        return;
    };
    let relay = Relay::start(target_of(&pg.url)).await;
    let env = Env::with_store(Some(&via(&pg.url, relay.addr))).await;
    let path = answer_a_legal_person(&env);
    let gw = env.start().await;
    let addr = gw.data_addr();
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let r = client.get(addr, &path, &INSPECTOR_HEADERS).await.unwrap();
    assert_eq!(r.status, 200);
    relay.hang(true);
    // Enough inquiries that the officer's locally leased rate tokens run
    // out and the shared bucket is asked.
    for i in 0..6 {
        let started = Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(20),
            client.get(addr, &path, &INSPECTOR_HEADERS),
        )
        .await
        .unwrap_or_else(|_| panic!("inquiry {i} still waiting after 20 s"))
        .unwrap();
        assert_eq!(
            (r.status, r.code().as_deref()),
            (503, Some("audit_unavailable")),
            "inquiry {i}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "inquiry {i} took {:?}",
            started.elapsed()
        );
    }
    relay.hang(false);
    relay.down();
    relay.up();
    let served = tests::env::eventually(15, || async {
        client
            .get(addr, &path, &INSPECTOR_HEADERS)
            .await
            .is_ok_and(|r| r.status == 200)
    })
    .await;
    assert!(served, "not serving after PostgreSQL answered again");
    gw.shutdown().await.unwrap();
    pg.drop_now().await;
}
