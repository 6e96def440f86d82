//! Crash safety: the real binary under concurrent mixed load is `kill -9`ed
//! at a random moment, several rounds on the same store. Afterwards
//! `credgate audit verify` exits 0 and every inquiry id a client received in
//! a complete response is in the store — on SQLite and on PostgreSQL.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tests::client::{Client, Proto};
use tests::env::{Env, PgSchema, INSPECTOR_HEADERS, LEGAL_PERSON};
use tests::process::{run, Proc};

const EXE: &str = env!("CARGO_BIN_EXE_credgate-under-test");

/// Concurrent client tasks per round.
const TASKS: usize = 8;
/// Kill-and-restart rounds.
const ROUNDS: usize = 5;

/// A random number in `0..n` (std's per-process random hasher keys).
fn random_below(n: u64) -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    h.finish() % n.max(1)
}

/// One request kind of the mix: path, headers, expected status.
type Kind = (String, Vec<(&'static str, &'static str)>, u16);

fn mix() -> Vec<(usize, Kind)> {
    let subject = format!("/v1/subjects/{LEGAL_PERSON}");
    vec![
        // allowed
        (0, (subject.clone(), INSPECTOR_HEADERS.to_vec(), 200)),
        // purpose missing: 400
        (0, (subject.clone(), vec![("Inquiry-Case", "C-1")], 400)),
        // purpose not granted: 403
        (
            0,
            (
                subject.clone(),
                vec![("Inquiry-Purpose", "recruitment"), ("Inquiry-Case", "C-2")],
                403,
            ),
        ),
        // unknown officer: 403
        (1, (subject, INSPECTOR_HEADERS.to_vec(), 403)),
    ]
}

/// What the clients saw across all rounds.
#[derive(Default)]
struct Seen {
    /// Inquiry id → status of every complete response.
    acked: HashMap<String, u16>,
    /// Requests that got no complete response (killed mid-flight).
    broken: usize,
}

/// Run `ROUNDS` rounds of load + `kill -9` against `env`'s config; then
/// check the store. Returns (complete responses, broken requests, entries).
async fn crash_rounds(env: &Env) -> (usize, usize, usize) {
    // This test is about crash safety, not limits: on PostgreSQL the rate
    // limits and the refusal budget are shared and outlive a process, so
    // five rounds of load would run into them.
    env.write_config("refusal_rate = \"100000/second\"\nrefusal_burst = 100000");
    env.write_policy(
        &Env::conformance_policy().replace("rate = \"120/minute\"", "rate = \"1000000/minute\""),
    );
    env.upstream.json(
        &format!("/v1/subjects/{LEGAL_PERSON}"),
        200,
        &json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person", "name": "长沙星辰建材有限公司"}}),
    );
    let clients: Arc<Vec<Client>> = Arc::new(vec![
        env.client(Some("HN-AMR-0001"), Proto::Http1),
        env.client(Some("ZZ-NOBODY-9"), Proto::Http2),
    ]);
    let seen = Arc::new(Mutex::new(Seen::default()));
    for round in 0..ROUNDS {
        let mut p = Proc::serve(EXE, &env.config_path).await;
        let addr = p.data;
        let stop = Arc::new(AtomicBool::new(false));
        let before = seen.lock().unwrap().acked.len();
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let (clients, seen, stop) = (clients.clone(), seen.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mix = mix();
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let (who, (path, headers, want)) = &mix[i % mix.len()];
                    i += 1;
                    match clients[*who].get(addr, path, headers).await {
                        Ok(r) => {
                            assert_eq!(r.status, *want, "{path}: {:?}", r.body);
                            let id = r.header("inquiry-id").expect("no Inquiry-Id").to_string();
                            let mut s = seen.lock().unwrap();
                            assert!(s.acked.insert(id, r.status).is_none(), "duplicate id");
                        }
                        Err(_) => {
                            seen.lock().unwrap().broken += 1;
                            // The gateway is gone; wait for the next round.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }));
        }
        // Once this round has answered something, kill at a random moment.
        let progressed = tests::env::eventually(10, || {
            let seen = seen.clone();
            async move { seen.lock().unwrap().acked.len() > before }
        })
        .await;
        assert!(progressed, "round {round}: nothing answered in 10 s");
        let delay = random_below(1000);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        p.signal("KILL");
        let code = p.wait().await;
        assert_eq!(code, None, "round {round}: gateway exited by itself");
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        let after = seen.lock().unwrap().acked.len();
        eprintln!(
            "round {round}: killed {delay} ms after the first answer, {} complete responses",
            after - before
        );
        assert!(
            after > before,
            "round {round}: no request completed before the kill; stderr:\n{}",
            p.stderr()
        );
    }

    let config = env.config_path.to_str().unwrap();
    let (code, out, err) = run(EXE, &["audit", "verify", "--config", config]).await;
    assert_eq!(code, Some(0), "audit verify after crashes:\n{out}\n{err}");

    let entries = env.entries().await;
    let logged: HashMap<&str, u16> = entries
        .iter()
        .map(|e| (e.entry.inquiry_id.as_str(), e.entry.status))
        .collect();
    assert_eq!(logged.len(), entries.len(), "an inquiry id logged twice");
    let seen = seen.lock().unwrap();
    let missing: BTreeSet<&String> = seen
        .acked
        .keys()
        .filter(|id| !logged.contains_key(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered inquiries are not in the log, e.g. {:?}",
        missing.len(),
        seen.acked.len(),
        missing.iter().next()
    );
    for (id, status) in &seen.acked {
        assert_eq!(logged.get(id.as_str()), Some(status), "{id}");
    }
    let statuses: BTreeSet<u16> = seen.acked.values().copied().collect();
    assert!(
        statuses.len() >= 3,
        "the mix was not exercised: {statuses:?}"
    );
    (seen.acked.len(), seen.broken, entries.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_answered_inquiry_sqlite() {
    let env = Env::new().await;
    let (answered, broken, entries) = crash_rounds(&env).await;
    eprintln!(
        "sqlite: {ROUNDS} rounds, {answered} complete responses, {broken} broken requests, {entries} entries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_answered_inquiry_postgres() {
    let Some(pg) = PgSchema::create("crash").await else {
        return;
    };
    let env = Env::with_store(Some(&pg.url)).await;
    let (answered, broken, entries) = crash_rounds(&env).await;
    eprintln!(
        "postgres: {ROUNDS} rounds, {answered} complete responses, {broken} broken requests, {entries} entries"
    );
    pg.drop_now().await;
}
