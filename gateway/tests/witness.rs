//! The witness end to end: the real HTTPS server on 127.0.0.1 (real TLS,
//! its own SQLite file) driven by the real pinned client and by raw
//! requests. Logs are real Merkle trees (`audit::merkle`) with checkpoints
//! signed by a test log key; what is checked is what a gateway or an
//! auditor would notice: cosignatures that verify, refusals with the
//! protocol's statuses, and a `/latest` that never moves to a checkpoint
//! inconsistent with the one it showed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use audit::merkle::{self, CompactTree, Hash, NodeId};
use audit::note::{Note, NoteSigner, TreeHead, Verifier, COSIGNATURE_V1, ED25519};
use gateway::witness::config::Config;
use gateway::witness::init::{self, InitSpec};
use gateway::witness::{server, AddOutcome, Witness, WitnessClient, WitnessError};
use rand::{Rng as _, SeedableRng as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const WITNESS_NAME: &str = "witness.test/w1";
const LOG_NAME: &str = "credgate-audit";

/// A log: a Merkle tree with every perfect node kept, and its signing key.
#[derive(Clone)]
struct Log {
    origin: String,
    key: Arc<NoteSigner>,
    tree: CompactTree,
    nodes: BTreeMap<NodeId, Hash>,
    /// Makes the leaves of a fork differ from the original's.
    salt: u64,
}

impl Log {
    fn new(origin: &str, key: &Arc<NoteSigner>) -> Log {
        Log {
            origin: origin.to_owned(),
            key: Arc::clone(key),
            tree: CompactTree::new(),
            nodes: BTreeMap::new(),
            salt: 0,
        }
    }

    fn size(&self) -> u64 {
        self.tree.size()
    }

    /// Appends `n` leaves.
    fn grow(&mut self, n: u64) -> &mut Log {
        let mut done = Vec::new();
        for _ in 0..n {
            let seq = self.tree.size() + 1;
            let leaf = merkle::leaf_hash(format!("{}/{}/{seq}", self.origin, self.salt).as_bytes());
            self.tree.push(leaf, &mut done);
            for (level, h) in done.iter().enumerate() {
                let id = NodeId {
                    level: level as u8,
                    index: (seq >> level) - 1,
                };
                self.nodes.insert(id, *h);
            }
        }
        self
    }

    /// A copy whose next leaves differ from this log's.
    fn fork(&self, salt: u64) -> Log {
        let mut f = self.clone();
        f.salt = salt;
        f
    }

    fn text(&self) -> String {
        TreeHead {
            origin: self.origin.clone(),
            size: self.size(),
            root: self.tree.root(),
            extensions: vec![],
        }
        .to_text()
    }

    /// The signed checkpoint of the current tree.
    fn checkpoint(&self) -> String {
        let text = self.text();
        format!("{text}\n{}", self.key.sign_note(&text).unwrap())
    }

    /// Consistency proof from `old` to the current size.
    fn proof(&self, old: u64) -> Vec<Hash> {
        merkle::consistency_plan(old, self.size())
            .unwrap()
            .assemble(&self.nodes)
            .unwrap()
    }
}

fn log_key(name: &str) -> Arc<NoteSigner> {
    let pk8 = audit::generate_signing_key().unwrap();
    Arc::new(NoteSigner::from_pkcs8(name, ED25519, &pk8).unwrap())
}

/// A witness's folder made by `witness init`.
struct WitnessDir {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    vkey: String,
    pem: Vec<u8>,
    log_key: Arc<NoteSigner>,
}

fn witness_dir() -> WitnessDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let log_key = log_key(LOG_NAME);
    let done = init::init(
        &dir,
        &InitSpec {
            name: WITNESS_NAME.into(),
            listen: "127.0.0.1:0".into(),
            log_keys: vec![log_key.verifier().to_vkey()],
            origin_prefix: "credgate.local/".into(),
        },
    )
    .unwrap();
    let pem = std::fs::read(dir.join(init::CERT_FILE)).unwrap();
    WitnessDir {
        _tmp: tmp,
        dir,
        vkey: done.vkey,
        pem,
        log_key,
    }
}

/// A witness server running in this process.
struct Running {
    addr: SocketAddr,
    witness: Arc<Witness>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    async fn start(dir: &Path) -> Running {
        let config = Config::load(&dir.join(init::CONFIG_FILE)).unwrap();
        let tls = server::tls_config(&config.cert, &config.tls_key).unwrap();
        let witness = Arc::new(Witness::open(config).await.unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, tls, Arc::clone(&witness), async {
            let _ = stopped.await;
        }));
        Running {
            addr,
            witness,
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    fn client(&self, w: &WitnessDir) -> WitnessClient {
        WitnessClient::new("w1", &self.url(), &w.vkey, &w.pem).unwrap()
    }

    /// Stops the server and closes the state file.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        let witness = Arc::try_unwrap(self.witness).unwrap();
        witness.close().await.unwrap();
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Submits the log's current checkpoint from `old`; expects a cosignature
/// that verifies over exactly that checkpoint; returns it.
async fn cosign(client: &WitnessClient, log: &Log, old: u64, w: &WitnessDir) -> String {
    let outcome = client
        .add_checkpoint(old, &log.proof(old), &log.checkpoint())
        .await
        .unwrap();
    let AddOutcome::Cosigned { line, timestamp } = outcome else {
        panic!("{old} -> {} not cosigned: {outcome:?}", log.size());
    };
    let t = now();
    assert!(
        timestamp > 0 && timestamp + 60 >= t && timestamp <= t + 60,
        "timestamp {timestamp}"
    );
    let mut note = Note::parse(&log.checkpoint()).unwrap();
    note.add_sig_lines(&line).unwrap();
    let witness = Verifier::parse(&w.vkey).unwrap();
    assert_eq!(note.verify(&[witness]).unwrap(), vec![(0, Some(timestamp))]);
    line
}

/// Checks `/latest` shows the log's checkpoint at `size`/`root` with the
/// log's signature and the witness's cosignature, both valid.
async fn assert_latest(client: &WitnessClient, log: &Log, w: &WitnessDir) {
    let latest = client
        .latest(&log.origin)
        .await
        .unwrap()
        .expect("a latest checkpoint");
    let note = Note::parse(&latest).unwrap();
    assert_eq!(note.text, log.text(), "latest is the expected checkpoint");
    let witness = Verifier::parse(&w.vkey).unwrap();
    let verified = note.verify(&[log.key.verifier(), witness]).unwrap();
    let who: Vec<usize> = verified.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        who,
        vec![0, 1],
        "signed by the log and cosigned by the witness"
    );
}

/// One raw HTTP/1.1 request over pinned TLS: (status, content type, body).
async fn raw(
    addr: SocketAddr,
    pem: &[u8],
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, String, String) {
    let config = gateway::witness::client::pinned_tls_config(pem).unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: witness\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) and close before reading a large body.
    let _ = tls.write_all(body).await;
    let mut out = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        while let Ok(n) = tls.read(&mut buf).await {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("witness answered within 10 s");
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

fn refused_status(outcome: &AddOutcome) -> u16 {
    match outcome {
        AddOutcome::Refused { status, .. } => *status,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_growing_log_is_cosigned_at_every_step() {
    let w = witness_dir();
    let srv = Running::start(&w.dir).await;
    let client = srv.client(&w);
    let mut log = Log::new("credgate.local/chain-a", &w.log_key);
    assert_eq!(client.latest(&log.origin).await.unwrap(), None);
    // The empty tree first, then growth across powers of two, and a
    // resubmission of the same checkpoint (old == size, same root).
    let mut old = 0;
    cosign(&client, &log, old, &w).await;
    for grow in [1, 2, 1, 4, 5, 0, 19, 32, 1] {
        log.grow(grow);
        cosign(&client, &log, old, &w).await;
        assert_latest(&client, &log, &w).await;
        old = log.size();
    }
    assert_eq!(log.size(), 65);
    assert_eq!(client.origins().await.unwrap(), vec![log.origin.clone()]);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_old_size_gets_409_with_the_size_held() {
    let w = witness_dir();
    let srv = Running::start(&w.dir).await;
    let client = srv.client(&w);
    let mut log = Log::new("credgate.local/chain-b", &w.log_key);
    log.grow(5);
    cosign(&client, &log, 0, &w).await;
    log.grow(2);
    for stale in [0, 3, 6] {
        let got = client
            .add_checkpoint(stale, &log.proof(stale), &log.checkpoint())
            .await
            .unwrap();
        assert_eq!(got, AddOutcome::Conflict { size: 5 }, "old {stale}");
    }
    // The wire format: text/x.tlog.size, the size and a newline.
    let body = format!("old 3\n\n{}", log.checkpoint());
    let (status, ct, text) =
        raw(srv.addr, &w.pem, "POST", "/add-checkpoint", body.as_bytes()).await;
    assert_eq!(
        (status, ct.as_str(), text.as_str()),
        (409, "text/x.tlog.size", "5\n")
    );
    // An origin it never cosigned holds 0.
    let mut fresh = Log::new("credgate.local/chain-new", &w.log_key);
    fresh.grow(4);
    let got = client
        .add_checkpoint(2, &fresh.proof(2), &fresh.checkpoint())
        .await
        .unwrap();
    assert_eq!(got, AddOutcome::Conflict { size: 0 });
    // With the size it holds, the same checkpoint goes through.
    cosign(&client, &log, 5, &w).await;
    assert_latest(&client, &log, &w).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inconsistent_checkpoints_get_422_and_latest_stays() {
    let w = witness_dir();
    let srv = Running::start(&w.dir).await;
    let client = srv.client(&w);
    let mut log = Log::new("credgate.local/chain-c", &w.log_key);
    log.grow(6);
    cosign(&client, &log, 0, &w).await;

    // A wrong proof: every single hash altered.
    let mut next = log.clone();
    next.grow(7);
    let proof = next.proof(6);
    assert!(!proof.is_empty());
    for i in 0..proof.len() {
        let mut bad = proof.clone();
        bad[i][0] ^= 1;
        let got = client
            .add_checkpoint(6, &bad, &next.checkpoint())
            .await
            .unwrap();
        assert_eq!(refused_status(&got), 422, "altered hash {i}");
    }
    // A proof with a hash missing or one too many.
    let got = client
        .add_checkpoint(6, &proof[1..], &next.checkpoint())
        .await
        .unwrap();
    assert_eq!(refused_status(&got), 422);
    let mut longer = proof.clone();
    longer.push([0; 32]);
    let got = client
        .add_checkpoint(6, &longer, &next.checkpoint())
        .await
        .unwrap();
    assert_eq!(refused_status(&got), 422);

    // A fork of the same size: the last leaves rewritten, re-signed.
    let mut rewritten = Log::new(&log.origin, &w.log_key);
    rewritten.grow(4);
    let mut rewritten = rewritten.fork(1);
    rewritten.grow(2);
    assert_eq!(rewritten.size(), 6);
    assert_ne!(rewritten.tree.root(), log.tree.root());
    let got = client
        .add_checkpoint(6, &[], &rewritten.checkpoint())
        .await
        .unwrap();
    assert_eq!(refused_status(&got), 422);
    // ... and a larger tree grown from the fork, with its own valid proof.
    rewritten.grow(10);
    let got = client
        .add_checkpoint(6, &rewritten.proof(6), &rewritten.checkpoint())
        .await
        .unwrap();
    assert_eq!(refused_status(&got), 422);
    // A cut (the log shrunk) cannot even be stated: old > size is malformed.
    let mut cut = Log::new(&log.origin, &w.log_key);
    cut.grow(4);
    let got = client
        .add_checkpoint(6, &[], &cut.checkpoint())
        .await
        .unwrap();
    assert_eq!(refused_status(&got), 400);

    assert_latest(&client, &log, &w).await;
    assert!(
        srv.witness
            .state()
            .rejected_count(&log.origin)
            .await
            .unwrap()
            >= 3
    );

    // Edge rules on a fresh origin: size 0 must have the empty root, and
    // a proof from size 0 must be empty.
    let fresh = Log::new("credgate.local/chain-c0", &w.log_key);
    let text = format!(
        "{}\n0\n{}\n",
        fresh.origin, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    );
    let note = format!("{text}\n{}", w.log_key.sign_note(&text).unwrap());
    let got = client.add_checkpoint(0, &[], &note).await.unwrap();
    assert_eq!(refused_status(&got), 422);
    let mut fresh = fresh;
    fresh.grow(3);
    let got = client
        .add_checkpoint(0, &[[1; 32]], &fresh.checkpoint())
        .await
        .unwrap();
    assert_eq!(refused_status(&got), 422);
    assert_eq!(client.latest(&fresh.origin).await.unwrap(), None);

    // The honest extension still goes through.
    cosign(&client, &next, 6, &w).await;
    assert_latest(&client, &next, &w).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_origins_and_untrusted_keys_get_403() {
    let w = witness_dir();
    let srv = Running::start(&w.dir).await;
    let client = srv.client(&w);
    // The right key, an origin outside every configured prefix.
    let mut stranger = Log::new("other.example/chain", &w.log_key);
    stranger.grow(3);
    let got = client
        .add_checkpoint(0, &[], &stranger.checkpoint())
        .await
        .unwrap();
    assert_eq!(refused_status(&got), 403);
    // The right origin, another key (another name, or the same name).
    for key in [log_key("someone-else"), log_key(LOG_NAME)] {
        let mut forged = Log::new("credgate.local/chain-d", &key);
        forged.grow(3);
        let got = client
            .add_checkpoint(0, &[], &forged.checkpoint())
            .await
            .unwrap();
        assert_eq!(refused_status(&got), 403);
    }
    // The trusted key's line with a broken signature, beside a valid one
    // from an unknown key.
    let mut log = Log::new("credgate.local/chain-d", &w.log_key);
    log.grow(3);
    let mut note = Note::parse(&log.checkpoint()).unwrap();
    note.sigs[0].sig[10] ^= 1;
    let other = log_key("someone-else");
    note.add_sig_lines(&other.sign_note(&note.text).unwrap())
        .unwrap();
    let got = client
        .add_checkpoint(0, &[], &note.to_string())
        .await
        .unwrap();
    assert_eq!(refused_status(&got), 403);
    assert_eq!(client.latest(&log.origin).await.unwrap(), None);
    assert!(client.origins().await.unwrap().is_empty());
    // Extra signatures from unknown keys are ignored, not refused, and not
    // repeated in what the witness serves.
    let mut note = Note::parse(&log.checkpoint()).unwrap();
    note.add_sig_lines(&other.sign_note(&note.text).unwrap())
        .unwrap();
    let got = client
        .add_checkpoint(0, &[], &note.to_string())
        .await
        .unwrap();
    assert!(matches!(got, AddOutcome::Cosigned { .. }), "{got:?}");
    let latest = client.latest(&log.origin).await.unwrap().unwrap();
    assert_eq!(Note::parse(&latest).unwrap().sigs.len(), 2);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_4xx_never_5xx() {
    let w = witness_dir();
    let srv = Running::start(&w.dir).await;
    let client = srv.client(&w);
    let mut log = Log::new("credgate.local/chain-e", &w.log_key);
    log.grow(9);
    cosign(&client, &log, 0, &w).await;
    log.grow(4);
    let valid = format!(
        "old 9\n{}\n{}",
        log.proof(9)
            .iter()
            .map(|h| format!("{}\n", base64_encode(h)))
            .collect::<String>(),
        log.checkpoint()
    );

    let fixed: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"\n".to_vec(),
        b"old\n\n".to_vec(),
        b"old 9".to_vec(),
        b"old 9\n".to_vec(),
        b"old 9\n\n".to_vec(),
        b"old 9\n\nnot a checkpoint\n".to_vec(),
        b"old 09\n\n".to_vec(),
        b"old 99999999999999999999999\n\n".to_vec(),
        vec![0xff; 100],
        format!("old 9\n{}", "A\n".repeat(70)).into_bytes(),
        valid.replace("\n\n", "\n").into_bytes(),
        valid.replace('\n', "\r\n").into_bytes(),
        valid.replace("old 9", "old 14").into_bytes(),
        valid.replace("\u{2014}", "-").into_bytes(),
        valid.as_bytes()[..valid.len() - 1].to_vec(),
    ];
    for body in &fixed {
        let (status, _, text) = raw(srv.addr, &w.pem, "POST", "/add-checkpoint", body).await;
        assert_eq!(
            status,
            400,
            "{:?} -> {status} {text}",
            String::from_utf8_lossy(body)
        );
        assert!(text.starts_with("error: "), "{text}");
    }
    // Random bytes, and random mutations of the valid body: refused, never
    // a server error, never a cosignature.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    for round in 0..300 {
        let body: Vec<u8> = if round % 3 == 0 {
            let n = rng.gen_range(0..400);
            (0..n).map(|_| rng.gen()).collect()
        } else {
            let mut b = valid.as_bytes().to_vec();
            for _ in 0..rng.gen_range(1..4) {
                let i = rng.gen_range(0..b.len());
                match rng.gen_range(0..3) {
                    0 => b[i] ^= 1 << rng.gen_range(0..8),
                    1 => {
                        b.remove(i);
                    }
                    _ => b.insert(i, rng.gen()),
                }
            }
            b
        };
        if body == valid.as_bytes() {
            continue;
        }
        let (status, _, text) = raw(srv.addr, &w.pem, "POST", "/add-checkpoint", &body).await;
        assert!(
            (400..500).contains(&status),
            "round {round}: {status} {text} for {:?}",
            String::from_utf8_lossy(&body)
        );
    }
    // Oversized bodies, other routes, bad queries.
    let (status, _, _) = raw(
        srv.addr,
        &w.pem,
        "POST",
        "/add-checkpoint",
        &vec![b'a'; 70_000],
    )
    .await;
    assert_eq!(status, 413);
    for (method, path, want) in [
        ("GET", "/add-checkpoint", 404),
        ("POST", "/latest", 404),
        ("GET", "/", 404),
        ("GET", "/checkpoint", 404),
        ("GET", "/latest", 400),
        ("GET", "/latest?origin=", 400),
        ("GET", "/latest?origin=%zz", 400),
        ("GET", "/latest?origin=a&origin=b", 400),
        ("GET", "/latest?origin=nobody", 404),
    ] {
        let (status, _, _) = raw(srv.addr, &w.pem, method, path, b"").await;
        assert_eq!(status, want, "{method} {path}");
    }
    // Still serving, state untouched: the valid body goes through now.
    log.grow(0);
    let (status, ct, line) = raw(
        srv.addr,
        &w.pem,
        "POST",
        "/add-checkpoint",
        valid.as_bytes(),
    )
    .await;
    assert_eq!((status, ct.as_str()), (200, "text/plain; charset=utf-8"));
    assert!(line.starts_with(&format!("\u{2014} {WITNESS_NAME} ")) && line.ends_with('\n'));
    assert_latest(&client, &log, &w).await;
    srv.stop().await;
}

fn base64_encode(h: &Hash) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_conflicting_extensions_exactly_one_is_cosigned() {
    let w = witness_dir();
    let srv = Running::start(&w.dir).await;
    let mut log = Log::new("credgate.local/chain-f", &w.log_key);
    log.grow(3);
    cosign(&srv.client(&w), &log, 0, &w).await;
    for round in 0..12u64 {
        let old = log.size();
        // Eight forks extending the same cosigned tree, some to the same
        // size with different roots, some to other sizes.
        let forks: Vec<Log> = (0..8u64)
            .map(|i| {
                let mut f = log.fork(100 * round + i + 1);
                f.grow(1 + i % 3);
                f
            })
            .collect();
        let tasks: Vec<_> = forks
            .iter()
            .map(|f| {
                let client = srv.client(&w);
                let (proof, note) = (f.proof(old), f.checkpoint());
                tokio::spawn(async move { client.add_checkpoint(old, &proof, &note).await })
            })
            .collect();
        let mut winners = Vec::new();
        let mut conflicts = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap().unwrap() {
                AddOutcome::Cosigned { .. } => winners.push(i),
                AddOutcome::Conflict { size } => conflicts.push(size),
                other => panic!("round {round}: fork {i}: {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let winner = &forks[winners[0]];
        assert!(
            conflicts.iter().all(|s| *s == winner.size()),
            "{conflicts:?}"
        );
        assert_latest(&srv.client(&w), winner, &w).await;
        log = winner.clone();
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_witness_remembers_what_it_cosigned() {
    let w = witness_dir();
    let srv = Running::start(&w.dir).await;
    let mut a = Log::new("credgate.local/chain-g1", &w.log_key);
    let mut b = Log::new("credgate.local/chain-g0", &w.log_key);
    a.grow(6);
    b.grow(2);
    cosign(&srv.client(&w), &a, 0, &w).await;
    cosign(&srv.client(&w), &b, 0, &w).await;
    let before = srv.client(&w).latest(&a.origin).await.unwrap();
    srv.stop().await;

    let srv = Running::start(&w.dir).await;
    let client = srv.client(&w);
    assert_eq!(client.latest(&a.origin).await.unwrap(), before);
    assert_eq!(
        client.origins().await.unwrap(),
        vec![b.origin.clone(), a.origin.clone()]
    );
    // It still refuses to start over, and still refuses a fork.
    a.grow(3);
    assert_eq!(
        client
            .add_checkpoint(0, &[], &a.checkpoint())
            .await
            .unwrap(),
        AddOutcome::Conflict { size: 6 }
    );
    let mut fork = Log::new(&a.origin, &w.log_key).fork(9);
    fork.grow(9);
    let got = client
        .add_checkpoint(6, &fork.proof(6), &fork.checkpoint())
        .await
        .unwrap();
    assert_eq!(refused_status(&got), 422);
    cosign(&client, &a, 6, &w).await;
    assert_latest(&client, &a, &w).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_trusts_only_the_pinned_witness() {
    let w = witness_dir();
    let other = witness_dir();
    let srv = Running::start(&w.dir).await;
    let mut log = Log::new("credgate.local/chain-h", &w.log_key);
    log.grow(2);
    // Another certificate pinned: the handshake fails, nothing is sent.
    let wrong_pin = WitnessClient::new("w1", &srv.url(), &w.vkey, &other.pem).unwrap();
    let err = wrong_pin
        .add_checkpoint(0, &[], &log.checkpoint())
        .await
        .unwrap_err();
    assert!(matches!(err, WitnessError::Tls(_)), "{err:?}");
    assert!(matches!(
        wrong_pin.origins().await,
        Err(WitnessError::Tls(_))
    ));
    // The right certificate but another witness's key: the cosignature is
    // refused by the client.
    let wrong_key = WitnessClient::new("w1", &srv.url(), &other.vkey, &w.pem).unwrap();
    let err = wrong_key
        .add_checkpoint(0, &[], &log.checkpoint())
        .await
        .unwrap_err();
    assert!(matches!(err, WitnessError::BadCosignature(_)), "{err:?}");
    assert!(matches!(
        wrong_key.latest(&log.origin).await,
        Err(WitnessError::BadCosignature(_))
    ));
    // Construction refuses bad input.
    let log_vkey = w.log_key.verifier().to_vkey();
    assert!(matches!(
        WitnessClient::new("w1", &srv.url(), &log_vkey, &w.pem),
        Err(WitnessError::InvalidKey(_))
    ));
    assert!(matches!(
        WitnessClient::new("w1", &format!("http://{}", srv.addr), &w.vkey, &w.pem),
        Err(WitnessError::InvalidUrl(_))
    ));
    assert!(matches!(
        WitnessClient::new("w1", &srv.url(), &w.vkey, b"not pem"),
        Err(WitnessError::InvalidCertificate(_))
    ));
    // Pinning ignores names: a DNS name for the same address works. (The
    // witness did cosign size 2 above; only that client could not check it.)
    let by_name = format!("https://localhost:{}/", srv.addr.port());
    let right = WitnessClient::new("w1", &by_name, &w.vkey, &w.pem).unwrap();
    assert!(matches!(
        right
            .add_checkpoint(2, &[], &log.checkpoint())
            .await
            .unwrap(),
        AddOutcome::Cosigned { .. }
    ));
    assert_eq!(right.name(), "w1");
    assert_eq!(right.verifier().kind, COSIGNATURE_V1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_witness_times_out() {
    let w = witness_dir();
    // Accepts TCP connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let client = WitnessClient::new("w1", &format!("https://{addr}"), &w.vkey, &w.pem).unwrap();
    let started = std::time::Instant::now();
    let err = client.origins().await.unwrap_err();
    assert!(matches!(err, WitnessError::Timeout), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    hold.abort();
}
