//! Several gateways, one PostgreSQL store (issue 17): three real `credgate
//! serve` processes on distinct ports share one PostgreSQL schema.
//!
//! - Under concurrent load one is killed with `kill -9`; the others keep
//!   serving. `credgate audit verify` then exits 0 and reports the dead
//!   gateway's chain open (its unsigned tail counted), never tampered, and
//!   every inquiry id a client got a complete answer for is in the store.
//!   A new gateway seals the dead chain after verifying it, and verify
//!   still exits 0.
//! - Search, export, the subject report and verify through any one
//!   gateway's admin plane cover every chain.
//!
//! PostgreSQL from `CREDGATE_TEST_POSTGRES_URL`; with `CI` set and no URL
//! the test fails (see `PgSchema::create`).

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sqlx::Connection;
use tests::client::{Client, Proto};
use tests::env::{Env, PgSchema, INSPECTOR_HEADERS, LEGAL_PERSON};
use tests::process::{run, Proc};

const EXE: &str = env!("CARGO_BIN_EXE_credgate-under-test");

/// Client tasks per gateway.
const TASKS: usize = 3;

/// A copy of the env's `gateway.toml` for gateway `name` (its own stderr
/// file; listeners on port 0, so every gateway gets its own ports).
fn config_for(env: &Env, name: &str) -> PathBuf {
    let path = env.tmp.path().join(format!("gateway-{name}.toml"));
    std::fs::copy(&env.config_path, &path).unwrap();
    path
}

/// The policy with the inspector's rate raised out of the way (this test
/// is about availability, not limits).
fn unlimited_policy(env: &Env) {
    let policy =
        Env::conformance_policy().replace("rate = \"120/minute\"", "rate = \"1000000/minute\"");
    env.write_policy(&policy);
}

/// One request of the mix: path, headers, who asks (0 inspector, 1
/// unknown), expected status.
type Kind = (String, Vec<(&'static str, &'static str)>, usize, u16);

fn mix() -> Vec<Kind> {
    let subject = format!("/v1/subjects/{LEGAL_PERSON}");
    vec![
        (subject.clone(), INSPECTOR_HEADERS.to_vec(), 0, 200),
        (subject.clone(), vec![("Inquiry-Case", "C-1")], 0, 400),
        (subject, INSPECTOR_HEADERS.to_vec(), 1, 403),
    ]
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    /// Inquiry id → (gateway index, status) of every complete response.
    acked: HashMap<String, (usize, u16)>,
    /// Requests without a complete response, per gateway.
    broken: HashMap<usize, usize>,
}

/// Starts `TASKS` client tasks per gateway address, until `stop`.
fn load(
    addrs: &[SocketAddr],
    clients: &Arc<Vec<Client>>,
    seen: &Arc<Mutex<Seen>>,
    stop: &Arc<AtomicBool>,
    first: usize,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for (g, addr) in addrs.iter().copied().enumerate() {
        let g = g + first;
        for t in 0..TASKS {
            let (clients, seen, stop) = (clients.clone(), seen.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mix = mix();
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let (path, headers, who, want) = &mix[i % mix.len()];
                    i += 1;
                    match clients[*who].get(addr, path, headers).await {
                        Ok(r) => {
                            assert_eq!(r.status, *want, "gateway {g} {path}: {:?}", r.body);
                            let id = r.header("inquiry-id").expect("no Inquiry-Id").to_string();
                            let mut s = seen.lock().unwrap();
                            assert!(s.acked.insert(id, (g, r.status)).is_none(), "duplicate id");
                        }
                        Err(_) => {
                            *seen.lock().unwrap().broken.entry(g).or_default() += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }));
        }
    }
    tasks
}

/// Answers per gateway so far.
fn answered(seen: &Mutex<Seen>) -> HashMap<usize, usize> {
    let mut out = HashMap::new();
    for (g, _) in seen.lock().unwrap().acked.values() {
        *out.entry(*g).or_default() += 1;
    }
    out
}

/// The kinds of checkpoint notes stored for a chain.
async fn note_kinds(pg_url: &str, chain_id: &str) -> BTreeSet<String> {
    let mut conn = sqlx::PgConnection::connect(pg_url).await.unwrap();
    sqlx::query_scalar("SELECT kind FROM notes WHERE chain_id = $1")
        .bind(chain_id)
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn verify(config: &std::path::Path) -> String {
    let (code, out, err) = run(
        EXE,
        &["audit", "verify", "--config", config.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, Some(0), "audit verify:\n{out}\n{err}");
    assert!(out.starts_with("intact:"), "{out}");
    out
}

/// The number `N` in `..., N <what>` of verify's output line.
fn count_before(out: &str, what: &str) -> u64 {
    let at = out
        .find(what)
        .unwrap_or_else(|| panic!("no `{what}` in {out}"));
    out[..at]
        .trim_end()
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count before `{what}` in {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_gateways_one_killed_the_others_serve_and_the_log_stays_verifiable() {
    let Some((pg, env)) = unthrottled(
        "cluster",
        json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person", "name": "长沙星辰建材有限公司"}}),
    )
    .await
    else {
        return;
    };
    let configs: Vec<PathBuf> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| config_for(&env, n))
        .collect();
    let mut gateways = Vec::new();
    for c in &configs[..3] {
        gateways.push(Proc::serve(EXE, c).await);
    }
    // The second and third start on tables the first created: PostgreSQL's
    // notices about them ("already exists, skipping") stay out of the
    // process log.
    for g in &gateways {
        let err = g.stderr();
        assert!(!err.contains("already exists"), "{err}");
    }
    let addrs: Vec<SocketAddr> = gateways.iter().map(|p| p.data).collect();
    assert_eq!(
        addrs
            .iter()
            .map(|a| a.port())
            .collect::<BTreeSet<_>>()
            .len(),
        3,
        "distinct ports"
    );
    let clients: Arc<Vec<Client>> = Arc::new(vec![
        env.client(Some("HN-AMR-0001"), Proto::Http1),
        env.client(Some("ZZ-NOBODY-9"), Proto::Http2),
    ]);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = load(&addrs, &clients, &seen, &stop, 0);

    // Every gateway answers; then gateway 0 dies mid-load.
    let all_serving = tests::env::eventually(20, || {
        let seen = seen.clone();
        async move { answered(&seen).values().filter(|n| **n >= 20).count() == 3 }
    })
    .await;
    assert!(
        all_serving,
        "not every gateway answered: {:?}",
        answered(&seen)
    );
    gateways[0].signal("KILL");
    assert_eq!(gateways[0].wait().await, None, "gateway 0 exited by itself");
    let at_kill = answered(&seen);

    // The others keep serving, without a broken request.
    let kept = tests::env::eventually(20, || {
        let (seen, at_kill) = (seen.clone(), at_kill.clone());
        async move {
            let now = answered(&seen);
            (1..3).all(|g| {
                now.get(&g).copied().unwrap_or(0) >= at_kill.get(&g).copied().unwrap_or(0) + 30
            })
        }
    })
    .await;
    assert!(
        kept,
        "the other gateways stopped serving: {:?} → {:?}",
        at_kill,
        answered(&seen)
    );
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let per_gateway = answered(&seen);
    {
        let s = seen.lock().unwrap();
        for g in 1..3 {
            assert_eq!(
                s.broken.get(&g).copied().unwrap_or(0),
                0,
                "gateway {g} broke requests"
            );
        }
        eprintln!(
            "answers per gateway: {per_gateway:?}, broken: {:?}",
            s.broken
        );
    }

    // Every answered inquiry is in the store; find the dead chain.
    let entries = env.entries().await;
    let logged: HashMap<&str, (&str, u16)> = entries
        .iter()
        .map(|e| {
            (
                e.entry.inquiry_id.as_str(),
                (e.chain_id.as_str(), e.entry.status),
            )
        })
        .collect();
    assert_eq!(logged.len(), entries.len(), "an inquiry id logged twice");
    let mut chain_of: HashMap<usize, BTreeSet<&str>> = HashMap::new();
    {
        let s = seen.lock().unwrap();
        for (id, (g, status)) in &s.acked {
            let Some((chain, st)) = logged.get(id.as_str()) else {
                panic!("inquiry {id} answered by gateway {g} is not in the log");
            };
            assert_eq!(st, status, "{id}");
            chain_of.entry(*g).or_default().insert(chain);
        }
    }
    for g in 0..3 {
        assert_eq!(
            chain_of[&g].len(),
            1,
            "gateway {g} wrote one chain: {:?}",
            chain_of[&g]
        );
    }
    let dead = chain_of[&0].iter().next().unwrap().to_string();
    let live: Vec<String> = (1..3)
        .map(|g| chain_of[&g].iter().next().unwrap().to_string())
        .collect();
    assert!(!live.contains(&dead));

    // verify: intact; the dead chain is open (no final checkpoint), not tampered.
    let out = verify(&configs[1]).await;
    eprintln!("after the kill: {out}");
    assert!(out.contains("3 chains"), "{out}");
    assert_eq!(
        count_before(&out, "open"),
        3,
        "dead + two live chains open: {out}"
    );
    let kinds = note_kinds(&pg.url, &dead).await;
    assert!(
        !kinds.contains("final") && !kinds.contains("sealed"),
        "{kinds:?}"
    );

    // A new gateway seals the dead chain (after verifying it); the live
    // chains stay open for their writers.
    let fourth = Proc::serve(EXE, &configs[3]).await;
    let kinds = note_kinds(&pg.url, &dead).await;
    assert!(
        kinds.contains("sealed"),
        "the dead chain was not sealed: {kinds:?}\n{}",
        fourth.stderr()
    );
    assert!(
        fourth.stderr().contains("verified and sealed"),
        "{}",
        fourth.stderr()
    );
    for l in &live {
        let kinds = note_kinds(&pg.url, l).await;
        assert!(
            !kinds.contains("sealed") && !kinds.contains("final"),
            "a live chain was closed: {kinds:?}"
        );
    }
    let out = verify(&configs[1]).await;
    eprintln!("after the seal: {out}");
    assert!(out.contains("4 chains"), "{out}");
    assert_eq!(
        count_before(&out, "open"),
        3,
        "two live + the new gateway's: {out}"
    );

    // (b) every admin plane reads every chain.
    let compliance = env.client(Some("CMP-0001"), Proto::Http1);
    let key = env.audit_public_key();
    let admins: Vec<SocketAddr> = [&gateways[1], &gateways[2], &fourth]
        .iter()
        .map(|p| p.admin.unwrap())
        .collect();
    let acked_by: HashMap<usize, BTreeSet<String>> = {
        let s = seen.lock().unwrap();
        let mut m: HashMap<usize, BTreeSet<String>> = HashMap::new();
        for (id, (g, status)) in &s.acked {
            if *status == 200 {
                m.entry(*g).or_default().insert(id.clone());
            }
        }
        m
    };
    for admin in admins {
        let r = compliance
            .get(
                admin,
                &format!("/audit/entries?subject={LEGAL_PERSON}&limit=10000"),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let body = r.json();
        let chains: BTreeSet<&str> = body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["chain_id"].as_str())
            .collect();
        assert!(
            chains.contains(dead.as_str()),
            "search via {admin} misses the dead chain"
        );
        for l in &live {
            assert!(
                chains.contains(l.as_str()),
                "search via {admin} misses chain {l}"
            );
        }

        let r = compliance
            .get(
                admin,
                &format!("/audit/subjects/{LEGAL_PERSON}?limit=10000"),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let ids: BTreeSet<String> = r.json()["inquiries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["inquiry_id"].as_str().map(str::to_owned))
            .collect();
        for g in 0..3 {
            let missing = acked_by[&g].difference(&ids).count();
            assert_eq!(
                missing, 0,
                "the report via {admin} misses {missing} answers of gateway {g}"
            );
        }

        let r = compliance.get(admin, "/audit/export", &[]).await.unwrap();
        assert_eq!(r.status, 200);
        let report = audit::verify_export(std::io::Cursor::new(&r.body), &key).unwrap();
        assert!(report.is_intact(), "{report:?}");
        let exported: BTreeSet<String> = r
            .body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
            .filter(|v| v["type"] == "entry")
            .filter_map(|v| v["entry"]["inquiry_id"].as_str().map(str::to_owned))
            .collect();
        for g in 0..3 {
            // The dead chain was sealed: all of it is covered. The live
            // chains' newest entries may wait for their next checkpoint.
            let missing = acked_by[&g].difference(&exported).count();
            if g == 0 {
                assert_eq!(
                    missing, 0,
                    "the export via {admin} misses answers of the dead gateway"
                );
            }
        }
        for chain in std::iter::once(&dead).chain(live.iter()) {
            assert!(
                r.body.windows(chain.len()).any(|w| w == chain.as_bytes()),
                "the export via {admin} has no line of chain {chain}"
            );
        }

        let r = compliance.get(admin, "/audit/verify", &[]).await.unwrap();
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v["result"], "intact", "{v}");
        assert_eq!(v["chains"], 4, "{v}");
    }

    // Orderly shutdown of the rest: every chain closed, nothing open.
    for mut p in [gateways.remove(2), gateways.remove(1), fourth] {
        p.signal("TERM");
        assert_eq!(p.wait().await, Some(0), "{}", p.stderr());
    }
    let out = verify(&configs[1]).await;
    assert!(!out.contains("open"), "{out}");
    pg.drop_now().await;
}

/// A fresh schema and an environment on it for load that must meet no
/// limit: refusals never summarised (they are part of the mix), no rate
/// limit, and the upstream answering `subject` for the legal person.
/// None where `PgSchema::create` skips.
async fn unthrottled(label: &str, subject: serde_json::Value) -> Option<(PgSchema, Env)> {
    let pg = PgSchema::create(label).await?;
    let env = Env::with_store(Some(&pg.url)).await;
    env.write_config("refusal_rate = \"100000/second\"\nrefusal_burst = 100000");
    unlimited_policy(&env);
    env.upstream
        .json(&format!("/v1/subjects/{LEGAL_PERSON}"), 200, &subject);
    Some((pg, env))
}

/// Starts `n` gateways on the env's config (each its own copy).
async fn start_gateways(env: &Env, n: usize, label: &str) -> Vec<Proc> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(Proc::serve(EXE, &config_for(env, &format!("{label}{i}"))).await);
    }
    out
}

async fn stop_gateways(gateways: Vec<Proc>) {
    for mut p in gateways {
        p.signal("TERM");
        assert_eq!(p.wait().await, Some(0), "{}", p.stderr());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_limited_to_30_a_minute_gets_30_across_three_gateways_not_90() {
    let Some(pg) = PgSchema::create("cluster_rate").await else {
        return;
    };
    let env = Env::with_store(Some(&pg.url)).await;
    env.write_policy(
        &Env::conformance_policy().replace("rate = \"120/minute\"", "rate = \"30/minute\""),
    );
    env.upstream.json(
        &format!("/v1/subjects/{LEGAL_PERSON}"),
        200,
        &json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person", "name": "长沙星辰建材有限公司"}}),
    );
    let gateways = start_gateways(&env, 3, "rate").await;
    let inspector = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let path = format!("/v1/subjects/{LEGAL_PERSON}");
    let (mut allowed, mut limited) = (0, 0);
    // 90 inquiries, spread evenly, three at a time (one per gateway).
    for _ in 0..30 {
        let (a, b, c) = tokio::join!(
            inspector.get(gateways[0].data, &path, &INSPECTOR_HEADERS),
            inspector.get(gateways[1].data, &path, &INSPECTOR_HEADERS),
            inspector.get(gateways[2].data, &path, &INSPECTOR_HEADERS),
        );
        for r in [a, b, c] {
            let r = r.unwrap();
            match r.status {
                200 => allowed += 1,
                429 => {
                    assert_eq!(r.code().as_deref(), Some("rate_limited"));
                    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
                    assert!((1..=60).contains(&retry), "Retry-After {retry}");
                    limited += 1;
                }
                other => panic!("unexpected {other}: {:?}", r.body),
            }
        }
    }
    eprintln!("30/minute over three gateways: {allowed} allowed, {limited} limited");
    // The bucket holds 30 and refills one every 2 s while the test runs.
    assert!(
        (30..=33).contains(&allowed),
        "{allowed} allowed of 90 (each process alone would allow up to 90)"
    );
    assert_eq!(allowed + limited, 90);

    // PostgreSQL not answering for the buckets: closed (503), not open.
    let mut lock = sqlx::PgConnection::connect(&pg.url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE credgate_buckets IN ACCESS EXCLUSIVE MODE")
        .execute(&mut lock)
        .await
        .unwrap();
    let other = env.client(Some("CS-RATE-0007"), Proto::Http1);
    let r = other
        .get(
            gateways[1].data,
            &format!("/v1/subjects/{LEGAL_PERSON}"),
            &[
                ("Inquiry-Purpose", "credit_service"),
                ("Inquiry-Case", "C-9"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 503, "{:?}", r.body);
    assert_eq!(r.code().as_deref(), Some("audit_unavailable"));
    sqlx::raw_sql("ROLLBACK").execute(&mut lock).await.unwrap();
    let r = other
        .get(
            gateways[1].data,
            &format!("/v1/subjects/{LEGAL_PERSON}"),
            &[
                ("Inquiry-Purpose", "credit_service"),
                ("Inquiry-Case", "C-9"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    stop_gateways(gateways).await;
    pg.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refusal_budget_holds_across_two_gateways() {
    let Some(pg) = PgSchema::create("cluster_budget").await else {
        return;
    };
    let env = Env::with_store(Some(&pg.url)).await;
    // 10 refusals logged one by one per hour-long budget, whichever gateway.
    env.write_config("refusal_rate = \"1/hour\"\nrefusal_burst = 10");
    let gateways = start_gateways(&env, 2, "budget").await;
    let nobody = env.client(Some("ZZ-NOBODY-9"), Proto::Http1);
    let path = format!("/v1/subjects/{LEGAL_PERSON}");
    let (mut logged, mut summarised) = (0, 0);
    for i in 0..40 {
        let r = nobody
            .get(gateways[i % 2].data, &path, &INSPECTOR_HEADERS)
            .await
            .unwrap();
        match r.status {
            403 => logged += 1,
            429 => summarised += 1,
            other => panic!("unexpected {other}"),
        }
    }
    eprintln!("refusal budget 10 over two gateways: {logged} logged, {summarised} summarised");
    assert_eq!(logged, 10, "each gateway alone would log 10");
    assert_eq!(summarised, 30);
    stop_gateways(gateways).await;
    // Every refusal is accounted for: 10 entries + summaries counting 30.
    let entries = env.entries().await;
    let own = entries
        .iter()
        .filter(|e| e.entry.officer_id == "ZZ-NOBODY-9" && e.entry.reason != "refusals_summarised")
        .count();
    let counted: u64 = entries
        .iter()
        .filter(|e| e.entry.reason == "refusals_summarised")
        .filter_map(|e| {
            e.entry
                .rule
                .split("exceeded: ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert_eq!((own, counted), (10, 30));
    pg.drop_now().await;
}

/// The `n`th valid unified social credit code (GB 32100).
fn legal(n: u32) -> String {
    let first17 = format!("91430100MA4L0XX{:02}", n % 100);
    let check = policy::gb32100_check_char(&first17).unwrap();
    format!("{first17}{check}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_lookup_spread_over_two_gateways_fires_once_and_suspends_on_both() {
    let Some(pg) = PgSchema::create("cluster_alerts").await else {
        return;
    };
    let env = Env::with_store(Some(&pg.url)).await;
    env.write_policy(&format!(
        "{}\n{}",
        Env::conformance_policy(),
        r#"
[[alerts]]
name = "bulk-lookup"
kind = "distinct_subjects"
threshold = 6
window = "1h"
action = "suspend"
suspend_for = "1h"
"#
    ));
    for n in 0..6 {
        let id = legal(n);
        env.upstream.json(
            &format!("/v1/subjects/{id}"),
            200,
            &json!({"subject": {"id": id, "type": "legal_person"}}),
        );
    }
    let gateways = start_gateways(&env, 2, "alerts").await;
    let inspector = env.client(Some("HN-AMR-0001"), Proto::Http1);
    // Three distinct subjects through each gateway: neither alone reaches 6.
    for n in 0..6u32 {
        let r = inspector
            .get(
                gateways[(n % 2) as usize].data,
                &format!("/v1/subjects/{}", legal(n)),
                &INSPECTOR_HEADERS,
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let alerts = || async {
        env.entries()
            .await
            .into_iter()
            .filter(|e| e.entry.plane == "alert" && e.entry.reason == "alert")
            .collect::<Vec<_>>()
    };
    let fired = tests::env::eventually(15, || async { !alerts().await.is_empty() }).await;
    assert!(fired, "no alert for 6 subjects spread over two gateways");
    let path = format!("/v1/subjects/{LEGAL_PERSON}");
    for g in &gateways {
        let suspended = tests::env::eventually(10, || async {
            let r = inspector
                .get(g.data, &path, &INSPECTOR_HEADERS)
                .await
                .unwrap();
            r.status == 403 && r.code().as_deref() == Some("officer_suspended")
        })
        .await;
        assert!(suspended, "the officer is not suspended on {}", g.data);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let found = alerts().await;
    assert_eq!(found.len(), 1, "one firing for the cluster: {found:?}");
    assert!(
        found[0].entry.rule.contains("bulk-lookup"),
        "{}",
        found[0].entry.rule
    );
    stop_gateways(gateways).await;
    pg.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_session_dropped_then_a_gateway_starts_the_live_chain_is_not_sealed_under_its_writer()
{
    let Some(pg) = PgSchema::create("cluster_sessions").await else {
        return;
    };
    let env = Env::with_store(Some(&pg.url)).await;
    env.upstream.json(
        &format!("/v1/subjects/{LEGAL_PERSON}"),
        200,
        &json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person"}}),
    );
    let first = Proc::serve(EXE, &config_for(&env, "s0")).await;
    let inspector = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let path = format!("/v1/subjects/{LEGAL_PERSON}");
    let r = inspector
        .get(first.data, &path, &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    // What a PostgreSQL restart does to the gateway: every session ends,
    // and with them the advisory locks that mark its chain live.
    let ended = pg.terminate_sessions().await;
    assert!(ended > 0, "no session of the gateway was ended");
    // A gateway starting now finds the first one's chain open.
    let second = Proc::serve(EXE, &config_for(&env, "s1")).await;
    // The first gateway recovers (no restart) or refuses; it never writes
    // after a checkpoint that closed its chain.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = inspector
            .get(first.data, &path, &INSPECTOR_HEADERS)
            .await
            .unwrap();
        statuses.push(r.status);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = inspector
        .get(second.data, &path, &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    eprintln!("first gateway after the sessions ended: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    let cfg = config_for(&env, "verify");
    let (code, out, err) = run(EXE, &["audit", "verify", "--config", cfg.to_str().unwrap()]).await;
    assert_eq!(
        code,
        Some(0),
        "audit verify:\n{out}\n{err}\nfirst:\n{}\nsecond:\n{}",
        first.stderr(),
        second.stderr()
    );
    stop_gateways(vec![second]).await;
    let mut first = first;
    first.signal("TERM");
    let _ = first.wait().await;
    pg.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_session_dropped_three_times_the_gateways_recover_without_a_restart() {
    let Some((pg, env)) = unthrottled(
        "cluster_drop",
        json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person"}}),
    )
    .await
    else {
        return;
    };
    let gateways = start_gateways(&env, 2, "drop").await;
    let inspector = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let path = format!("/v1/subjects/{LEGAL_PERSON}");
    let mut answered = Vec::new();
    let mut unavailable = 0;
    for round in 0..3 {
        // What a PostgreSQL restart or failover does to the gateways: every
        // session ends (locks, prepared statements and all).
        let ended = pg.terminate_sessions().await;
        assert!(
            ended > 0,
            "round {round}: no session of the gateways was ended"
        );
        let mut recovered = false;
        for _ in 0..40 {
            let mut ok = 0;
            for g in &gateways {
                let r = inspector
                    .get(g.data, &path, &INSPECTOR_HEADERS)
                    .await
                    .unwrap();
                match r.status {
                    200 => {
                        ok += 1;
                        answered.push(r.header("inquiry-id").unwrap().to_string());
                    }
                    503 => {
                        assert_eq!(r.code().as_deref(), Some("audit_unavailable"));
                        unavailable += 1;
                    }
                    other => panic!("round {round}: {other} {:?}", r.body),
                }
            }
            if ok == gateways.len() {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(
            recovered,
            "round {round}: the gateways did not recover without a restart"
        );
    }
    eprintln!(
        "sessions dropped 3 times: {} answered, {unavailable} answered 503",
        answered.len()
    );
    let cfg = config_for(&env, "verify");
    let (code, out, err) = run(EXE, &["audit", "verify", "--config", cfg.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "audit verify:\n{out}\n{err}");
    let logged: BTreeSet<String> = env
        .entries()
        .await
        .into_iter()
        .map(|e| e.entry.inquiry_id)
        .collect();
    for id in &answered {
        assert!(
            logged.contains(id),
            "answered inquiry {id} is not in the log"
        );
    }
    stop_gateways(gateways).await;
    pg.drop_now().await;
}
