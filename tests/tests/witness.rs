//! The gateway and an independent witness, end to end: every checkpoint is
//! submitted and cosigned off the request path, cosignatures ride along in
//! `/audit/checkpoints/latest` and proof bundles, and — the attack only a
//! witness catches — the newest entries cut together with their
//! checkpoints, then a restart, is refused by the witness (conflict metric,
//! alert entry) and fails `audit verify --require-witness`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use gateway::witness::client::WitnessClient;
use gateway::witness::config::Config as WitnessConfig;
use gateway::witness::init::{self, InitSpec};
use gateway::witness::server;
use gateway::witness::service::Witness;
use tests::client::Proto;
use tests::env::{admin, data, eventually, Env, PgSchema, INSPECTOR_HEADERS, LEGAL_PERSON};
use tests::process::run;
use tokio::sync::oneshot;

const BIN: &str = env!("CARGO_BIN_EXE_credgate-under-test");

/// A witness running in this process on its own folder.
struct RunningWitness {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    witness: Arc<Witness>,
}

impl RunningWitness {
    async fn start(dir: &Path) -> RunningWitness {
        let config = WitnessConfig::load(&dir.join(init::CONFIG_FILE)).unwrap();
        let tls = server::tls_config(&config.cert, &config.tls_key).unwrap();
        let witness = Arc::new(Witness::open(config).await.unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, tls, Arc::clone(&witness), async {
            let _ = stopped.await;
        }));
        RunningWitness {
            addr,
            stop: Some(stop),
            task: Some(task),
            witness,
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
        if let Ok(w) = Arc::try_unwrap(self.witness) {
            w.close().await.unwrap();
        }
    }
}

/// The gateway's audit key as a signed-note verifier key.
fn audit_vkey(env: &Env) -> String {
    let pk8 = std::fs::read(env.pki.join("audit-signing.pk8")).unwrap();
    audit::tree_head::CheckpointSigner::new("credgate-audit", &pk8)
        .unwrap()
        .verifier()
        .to_vkey()
}

async fn inquire(env: &Env, running: &gateway::server::Running, n: usize) {
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    for _ in 0..n {
        let r = c
            .get(
                data(running),
                &format!("/v1/subjects/{LEGAL_PERSON}"),
                &INSPECTOR_HEADERS,
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
    }
}

/// Runs SQL on the store as an attacker with write access would; `?N`
/// placeholders become `$N` on PostgreSQL.
/// The latest checkpoint note of `chain`, as the admin API serves it.
async fn latest_checkpoint(
    auditor: &tests::client::Client,
    running: &gateway::server::Running,
    chain: &str,
) -> String {
    let r = auditor
        .get(
            admin(running),
            &format!("/audit/checkpoints/latest?chain={chain}"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    String::from_utf8(r.body.to_vec()).unwrap()
}

async fn tamper(store_url: &str, sql: &str, chain: &str, n: i64) {
    use sqlx::Connection;
    if let Some(file) = store_url.strip_prefix("sqlite://") {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{file}"))
            .await
            .unwrap();
        sqlx::query(sql)
            .bind(chain)
            .bind(n)
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(store_url).await.unwrap();
        let sql = sql.replace("?1", "$1").replace("?2", "$2");
        sqlx::query(&sql)
            .bind(chain)
            .bind(n)
            .execute(&mut c)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_cosigns_every_checkpoint_and_catches_a_cut_log_sqlite() {
    cosigned_then_cut(Env::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_cosigns_every_checkpoint_and_catches_a_cut_log_postgres() {
    let Some(pg) = PgSchema::create("witness").await else {
        return;
    };
    cosigned_then_cut(Env::with_store(Some(&pg.url)).await).await;
    pg.drop_now().await;
}

/// A witness `witness.local/w1` for the env's log, running, and the
/// env's config naming it `w1`; with a client to ask it, the log's and the
/// witness's verifier keys.
async fn witnessed(env: &Env) -> (RunningWitness, WitnessClient, String, String) {
    let wdir = env.tmp.path().join("witness");
    let vkey = audit_vkey(env);
    let done = init::init(
        &wdir,
        &InitSpec {
            name: "witness.local/w1".into(),
            listen: "127.0.0.1:0".into(),
            log_keys: vec![vkey.clone()],
            origin_prefix: "credgate.local/".into(),
        },
    )
    .unwrap();
    env.upstream.json(
        &format!("/v1/subjects/{LEGAL_PERSON}"),
        200,
        &serde_json::json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person"}}),
    );
    let w = RunningWitness::start(&wdir).await;
    let url = format!("https://{}", w.addr);
    env.write_config("");
    let mut text = std::fs::read_to_string(&env.config_path).unwrap();
    text.push_str(&format!(
        "\n[[audit.witnesses]]\nname = \"w1\"\nurl = \"{url}\"\nkey = \"{}\"\nca = \"{}\"\n",
        done.vkey,
        wdir.join(init::CERT_FILE).display()
    ));
    std::fs::write(&env.config_path, text).unwrap();
    let pem = std::fs::read(wdir.join(init::CERT_FILE)).unwrap();
    let client = WitnessClient::new("w1", &url, &done.vkey, &pem).unwrap();
    (w, client, vkey, done.vkey)
}

/// `audit verify --require-witness w1` on the env's config: (exit, out+err).
async fn require_witness(env: &Env) -> (Option<i32>, String) {
    let config = env.config_path.to_str().unwrap();
    let (code, out, err) = run(
        BIN,
        &[
            "audit",
            "verify",
            "--config",
            config,
            "--require-witness",
            "w1",
        ],
    )
    .await;
    (code, format!("{out}{err}"))
}

/// An outside probe: `credgate audit lift` writes its own chain, which no
/// gateway submits (each submits its own), so `--require-witness` failed
/// (exit 1, as for tampering) on an honest log until the next gateway
/// start. The command submits its chain itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lift_is_cosigned_by_the_witnesses_without_a_gateway() {
    let env = Env::new().await;
    let (w, client, _, _) = witnessed(&env).await;
    env.write_policy(&format!(
        "{}\n[[alerts]]\nname = \"probing\"\nkind = \"refusals\"\nthreshold = 1\nwindow = \"10m\"\naction = \"suspend\"\nsuspend_for = \"1h\"\n",
        Env::conformance_policy()
    ));
    let running = env.start().await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let refused = [("Inquiry-Purpose", "gossip"), ("Inquiry-Case", "x")];
    let path = format!("/v1/subjects/{LEGAL_PERSON}");
    let r = c.get(data(&running), &path, &refused).await.unwrap();
    assert_eq!(r.status, 403);
    let suspended = eventually(10, || async {
        let r = c
            .get(data(&running), &path, &INSPECTOR_HEADERS)
            .await
            .unwrap();
        r.code().as_deref() == Some("officer_suspended")
    })
    .await;
    assert!(suspended, "the officer was not suspended");
    running.shutdown().await.unwrap();
    let (code, out) = require_witness(&env).await;
    assert_eq!(code, Some(0), "{out}");

    let config = env.config_path.to_str().unwrap();
    let (code, out, err) = run(
        BIN,
        &[
            "audit",
            "lift",
            "--config",
            config,
            "--officer",
            "HN-AMR-0001",
            "--reason",
            "test",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!err.contains("warning"), "{err}");
    let (code, out) = require_witness(&env).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("witness w1: every chain"), "{out}");
    drop(client);
    w.stop().await;
}

async fn cosigned_then_cut(env: Env) {
    let (w, client, vkey, witness_vkey) = witnessed(&env).await;
    // 1. Serving: 25 inquiries (checkpoint_every = 10) get cosigned.
    let running = env.start().await;
    inquire(&env, &running, 25).await;
    let chain = env.entries().await[0].chain_id.clone();
    let origin = format!("credgate.local/{chain}");
    let cosigned_25 = eventually(10, || async {
        match client.latest(&origin).await.unwrap() {
            Some(note) => note.lines().nth(1) == Some("25"),
            None => false,
        }
    })
    .await;
    assert!(cosigned_25, "the witness did not cosign size 25");
    // The latest checkpoint and a proof bundle carry the cosignature.
    let auditor = env.client(Some("CMP-0001"), Proto::Http1);
    let note = latest_checkpoint(&auditor, &running, &chain).await;
    assert!(note.contains("\n— witness.local/w1 "), "{note}");
    let metrics = auditor.get(admin(&running), "/metrics", &[]).await.unwrap();
    let metrics = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(
        metrics.contains("credgate_witness_cosigned_size{witness=\"w1\"} 25"),
        "{metrics}"
    );
    assert!(metrics.contains("credgate_witness_conflicts_total{witness=\"w1\"} 0"));
    // The console's overview shows the latest checkpoint's cosignature by
    // w1 (the name the gateway knows the witness under), verified with its
    // key. Each view is an entry, so the latest checkpoint moves on: look
    // again after the next checkpoint has had time to be cosigned.
    let mut shown = false;
    for _ in 0..10 {
        let page = auditor
            .get(admin(&running), "/console/?lang=en", &[])
            .await
            .unwrap();
        let body = String::from_utf8(page.body.to_vec()).unwrap();
        if body.contains("w1: <span class=\"ok\">cosignature verified</span>") {
            shown = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    }
    assert!(shown, "the console shows w1's verified cosignature");
    running.shutdown().await.unwrap();

    // The final checkpoint went to the witness before the gateway stopped.
    let config = env.config_path.to_str().unwrap();
    let (code, out) = require_witness(&env).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("witness w1: every chain"), "{out}");

    // A proof bundle checks with the witness key.
    let inquiry = env.entries().await[3].entry.inquiry_id.clone();
    let bundle = env.tmp.path().join("bundle.json");
    let (code, out, err) = run(
        BIN,
        &[
            "audit",
            "prove",
            "--config",
            config,
            "--inquiry",
            &inquiry,
            "--out",
            bundle.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(
        BIN,
        &[
            "audit",
            "verify-proof",
            bundle.to_str().unwrap(),
            "--public-key",
            &vkey,
            "--witness-key",
            &witness_vkey,
        ],
    )
    .await;
    assert_eq!(
        code,
        Some(0),
        "{out}{err}{}",
        std::fs::read_to_string(&bundle).unwrap()
    );
    assert!(out.contains("cosigned by witness.local/w1"), "{out}");

    // 2. The attack: the newest 5 entries cut together with every
    //    checkpoint above the cut (the final one included), by someone
    //    with write access to the store.
    let store = env.store_url();
    let last = env
        .entries()
        .await
        .iter()
        .filter(|e| e.chain_id == chain)
        .map(|e| e.seq)
        .max()
        .unwrap() as i64;
    assert!(last >= 25);
    let cut = last - 5;
    for sql in [
        "DELETE FROM entries WHERE chain_id = ?1 AND seq > ?2",
        "DELETE FROM notes WHERE chain_id = ?1 AND size > ?2",
        "DELETE FROM notes WHERE chain_id = ?1 AND kind = 'final' AND size >= ?2",
        "DELETE FROM cosignatures WHERE chain_id = ?1 AND size >= ?2",
    ] {
        tamper(&store, sql, &chain, cut).await;
    }
    // Without a witness the cut chain looks like one a crash left open.
    let (code, out, _) = run(BIN, &["audit", "verify", "--config", config]).await;
    assert_eq!(code, Some(0), "{out}");

    // ... then a restart: the new writer asks the witnesses what they
    // cosigned of the open chain before sealing it; w1 cosigned more than
    // the store holds, so the cut chain is not sealed (the key signs
    // nothing over it), and the conflict is counted and logged as an alert
    // (before, the chain was sealed and the witness objected only after).
    let running = env.start().await;
    let conflict = eventually(10, || async {
        let m = auditor.get(admin(&running), "/metrics", &[]).await.unwrap();
        String::from_utf8_lossy(&m.body)
            .contains("credgate_witness_conflicts_total{witness=\"witnesses\"} 1")
    })
    .await;
    assert!(conflict, "no witness conflict counted");
    let latest = latest_checkpoint(&auditor, &running, &chain).await;
    assert!(latest.contains("\nkind periodic\n"), "{latest}");
    let alerts: Vec<audit::Entry> = env
        .entries()
        .await
        .into_iter()
        .filter(|e| e.entry.plane == "alert" && e.entry.reason == "witness_conflict")
        .collect();
    assert_eq!(alerts.len(), 1, "one alert entry for the conflict");
    assert!(alerts[0].entry.path.contains(&chain));
    running.shutdown().await.unwrap();
    // `audit alerts` says which witness refused which chain, and why.
    let (code, out, err) = run(
        BIN,
        &[
            "audit",
            "alerts",
            "--config",
            config,
            "--rule",
            "witness_conflict",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!(
            "witness_conflict  witness:witnesses: chain {chain} at size "
        )),
        "{out}"
    );
    assert!(out.contains("a witness cosigned at size"), "{out}");

    // The witness still holds the uncut size, and verify against it fails.
    let held = client.latest(&origin).await.unwrap().unwrap();
    assert_eq!(held.lines().nth(1), Some(last.to_string().as_str()));
    let (code, out) = require_witness(&env).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("cut?"), "{out}");

    // 3. A stored cosignature that does not verify (its signature altered:
    //    what a checkpoint rewritten and re-signed looks like against the
    //    cosignature it had) is shown as failing on the console, not as "no
    //    key configured" (an outside probe): the restarted gateway's chain,
    //    whose final checkpoint w1 cosigned.
    tamper(
        &env.store_url(),
        "UPDATE cosignatures SET line = substr(line, 1, length(line) - 12) || 'AAAAAAAAAAAA' \
         WHERE chain_id <> ?1 AND size >= ?2",
        &chain,
        0,
    )
    .await;
    let running = env.start().await;
    let page = auditor
        .get(admin(&running), "/console/?lang=en", &[])
        .await
        .unwrap();
    let body = String::from_utf8(page.body.to_vec()).unwrap();
    assert!(
        body.contains("w1: <span class=\"bad\">cosignature does NOT verify"),
        "{body}"
    );
    running.shutdown().await.unwrap();
    w.stop().await;
}
