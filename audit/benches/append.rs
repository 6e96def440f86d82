//! Durable appends/s on SQLite and PostgreSQL with 1, 16, 256 and 1024
//! concurrent appenders (the batch a group commit finds is at most that
//! many), entries/s verified: in memory (`verify_chain`), from an
//! export (`verify_export`) and from the SQLite store (`Reader::verify`);
//! and the time to build one inclusion proof from the SQLite store
//! (`Reader::inclusion_proof`: O(log n) row reads, checked against the
//! signed root before it is returned) at `STORE_N` entries, or at
//! `CREDGATE_BENCH_PROOF_N` entries when that is set (e.g. 10000000).
//! PostgreSQL runs only when `CREDGATE_TEST_POSTGRES_URL` is set; each run
//! uses a fresh schema, dropped afterwards.
//!
//! Appends are measured sustained, as a gateway under load makes them: each
//! of `conc` tasks appends one entry after another (the next as soon as its
//! previous one is durable), `iters` entries each, so one criterion
//! iteration is `conc` durable appends. Two workloads (see [`WORKLOADS`]):
//! one officer and one subject, and 64 officers with 10 000 subjects; the
//! second pays for index inserts spread over the B-trees.
//!
//! The mimalloc allocator, as in the `credgate` binary.
//!
//! Small samples and short measurement times: the machine is shared.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use audit::entry::{entry_hashes, GENESIS_HASH};
use audit::merkle::CompactTree;
use audit::tree_head::{Checkpoint, CheckpointSigner, Kind};
use audit::verify::verify_chain;
use audit::{
    generate_signing_key, verify_export, AuditConfig, AuditLog, Entry, Filter, NewEntry,
    VerifyReport,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sqlx::Connection;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

const CONCURRENCY: [usize; 4] = [1, 16, 256, 1024];
const VERIFY_N: u64 = 100_000;
/// Entries in the store for the store and export verify benches.
const STORE_N: u64 = 100_000;

/// `audit::testing::sample` with the bench's own inquiry id, unit, case,
/// path, suppression, masked keys and latency.
fn sample(i: u64) -> NewEntry {
    NewEntry {
        inquiry_id: format!("01J0000000000000000000{i:06}"),
        unit: "Hunan Administration for Market Regulation".into(),
        case: Some("XZXK-2026-000123".into()),
        path: "/v1/subjects/91350100M000100Y43/records?items=basic".into(),
        records_suppressed: BTreeMap::from([("inquiry_period_expired".to_owned(), 1)]),
        masked_keys: vec!["id_number".into(), "phone".into()],
        latency_ms: 7,
        ..audit::testing::sample(i)
    }
}

/// An entry as the gateway makes it under load: its time is the clock at
/// request start, so the time-ordered indexes grow at their end, as in
/// production. (Until 2026-11-27 the bench gave each appender its own
/// distant time range, so every index took its inserts all over the
/// B-tree: 11-13 k appends/s measured the bench, not the log.)
///
/// Its inquiry id starts with that time too, as the gateway's do
/// (`gateway::server::journal::new_inquiry_id`: 48 bits of milliseconds,
/// then randomness), so the index on inquiry ids also grows at its end.
fn live_sample(i: u64) -> NewEntry {
    let mut e = sample(i);
    e.time_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    e.inquiry_id = format!(
        "{:012x}{:020x}",
        e.time_ms,
        i.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    );
    e
}

/// [`live_sample`] from one of 64 officers about one of 10 000 subjects:
/// the officer and subject indexes take each batch's inserts all over
/// their B-trees, as a production log's do.
fn spread_sample(i: u64) -> NewEntry {
    let mut e = live_sample(i);
    e.officer_id = format!("HN-AMR-{:04}", i % 64);
    let subject = i.wrapping_mul(2_654_435_761) % 10_000;
    let subject = format!("91350100M{subject:09}");
    e.path = format!("/v1/subjects/{subject}/records?items=basic");
    e.subject_id = Some(subject);
    e
}

/// Makes the entry of one append from its index.
type MakeEntry = fn(u64) -> NewEntry;

/// The two workloads: every entry about the same subject by the same
/// officer (each index grows at its end: the cost of the log itself), and
/// spread over officers and subjects (the cost a production log pays).
const WORKLOADS: [(&str, MakeEntry); 2] = [
    ("one-subject", live_sample),
    ("10k-subjects", spread_sample),
];

struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    fn create(rt: &Runtime) -> Option<(PgSchema, String)> {
        let base = std::env::var("CREDGATE_TEST_POSTGRES_URL").ok()?;
        let name = format!("cg_bench_{}", std::process::id());
        rt.block_on(async {
            let mut c = sqlx::PgConnection::connect(&base).await.ok()?;
            sqlx::raw_sql(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .execute(&mut c)
            .await
            .ok()
        })?;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{name}");
        Some((PgSchema { base, name }, url))
    }

    fn drop_with(self, rt: &Runtime) {
        rt.block_on(async {
            if let Ok(mut c) = sqlx::PgConnection::connect(&self.base).await {
                let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
                    .execute(&mut c)
                    .await;
            }
        });
    }
}

fn bench_store(c: &mut Criterion, rt: &Runtime, label: &str, url: &str, make: fn(u64) -> NewEntry) {
    let key = generate_signing_key().unwrap();
    let log = rt
        .block_on(AuditLog::open(&AuditConfig {
            store_url: url.to_owned(),
            signing_key_pkcs8: key,
            ..AuditConfig::default()
        }))
        .unwrap();
    let mut g = c.benchmark_group(format!("append/{label}"));
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for conc in CONCURRENCY {
        g.throughput(Throughput::Elements(conc as u64));
        g.bench_with_input(BenchmarkId::from_parameter(conc), &conc, |b, &conc| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    let mut set = JoinSet::new();
                    for t in 0..conc as u64 {
                        let log = log.clone();
                        set.spawn(async move {
                            for i in 0..iters {
                                log.append(make(t * iters + i)).await?;
                            }
                            Ok::<(), audit::AuditError>(())
                        });
                    }
                    while let Some(r) = set.join_next().await {
                        r.unwrap().unwrap();
                    }
                    start.elapsed()
                })
            })
        });
    }
    g.finish();
    rt.block_on(log.shutdown()).unwrap();
}

fn appends(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    for (workload, make) in WORKLOADS {
        // A fresh store per workload: the index sizes are part of the cost.
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/bench.db", dir.path().display());
        bench_store(c, &rt, &format!("sqlite/{workload}"), &url, make);
        match PgSchema::create(&rt) {
            Some((schema, url)) => {
                bench_store(c, &rt, &format!("postgres/{workload}"), &url, make);
                schema.drop_with(&rt);
            }
            None => eprintln!("NOTICE: CREDGATE_TEST_POSTGRES_URL unset or unreachable: PostgreSQL append bench skipped"),
        }
    }
}

/// A valid in-memory chain with a checkpoint every 1000 entries.
fn chain(n: u64) -> (Vec<Entry>, Vec<Checkpoint>) {
    let signer = CheckpointSigner::new("credgate-audit", &generate_signing_key().unwrap()).unwrap();
    let origin = "credgate.local/bench";
    let mut prev = GENESIS_HASH;
    let mut scratch = Vec::new();
    let mut tree = CompactTree::new();
    let mut done = Vec::new();
    let mut entries = Vec::new();
    let mut cps = vec![signer
        .sign(origin, 0, &tree.root(), Kind::Genesis, 1, &[])
        .unwrap()];
    for seq in 1..=n {
        let e = sample(seq);
        let (h, leaf) = entry_hashes(&mut scratch, &prev, "bench", seq, &e);
        tree.push(leaf, &mut done);
        if seq.checked_rem(1000) == Some(0) {
            cps.push(
                signer
                    .sign(origin, seq, &tree.root(), Kind::Periodic, 1, &[])
                    .unwrap(),
            );
        }
        entries.push(Entry {
            chain_id: "bench".into(),
            seq,
            prev_hash: hex::encode(prev),
            hash: hex::encode(h),
            entry: e,
        });
        prev = h;
    }
    (entries, cps)
}

fn verification(c: &mut Criterion) {
    let mut g = c.benchmark_group("verify");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(VERIFY_N));

    let (entries, cps) = chain(VERIFY_N);
    g.bench_function("in_memory", |b| {
        b.iter(|| {
            let r = verify_chain("bench", &entries, &cps);
            assert!(matches!(r, VerifyReport::Intact { .. }));
        })
    });

    // A SQLite store with STORE_N entries, and its export.
    g.throughput(Throughput::Elements(STORE_N));
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/verify.db", dir.path().display());
    let log = rt
        .block_on(AuditLog::open(&AuditConfig {
            store_url: url,
            signing_key_pkcs8: generate_signing_key().unwrap(),
            ..AuditConfig::default()
        }))
        .unwrap();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for t in 0..200u64 {
            let log = log.clone();
            set.spawn(async move {
                for i in 0..STORE_N / 200 {
                    log.append(sample(t * 1_000_000 + i)).await.unwrap();
                }
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        log.shutdown().await.unwrap();
    });
    let reader = log.reader();
    let store_pk = log.public_key();
    g.bench_function("sqlite_store", |b| {
        b.iter(|| {
            let r = rt.block_on(reader.verify(&store_pk)).unwrap();
            assert!(matches!(r, VerifyReport::Intact { .. }));
        })
    });
    let mut export = Vec::new();
    rt.block_on(reader.export(&Filter::default(), &mut export))
        .unwrap();
    g.bench_function("export_file", |b| {
        b.iter(|| {
            let r = verify_export(&export[..], &store_pk).unwrap();
            assert!(matches!(r, VerifyReport::Intact { .. }));
        })
    });
    g.finish();
    drop(dir);
}

/// One inclusion proof from a SQLite store of `n` entries (a random entry
/// each time: the rows a proof reads are spread over the whole tree).
fn proofs(c: &mut Criterion) {
    let n: u64 = std::env::var("CREDGATE_BENCH_PROOF_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(STORE_N);
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/proof.db", dir.path().display());
    let log = rt
        .block_on(AuditLog::open(&AuditConfig {
            store_url: url,
            signing_key_pkcs8: generate_signing_key().unwrap(),
            checkpoint_every: 100_000,
            ..AuditConfig::default()
        }))
        .unwrap();
    // Ids in commit order, as the gateway's time-first ids are.
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let id = |k: u64| format!("{k:032x}");
    let started = Instant::now();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..256u64 {
            let log = log.clone();
            let next = next.clone();
            set.spawn(async move {
                for _ in 0..n / 256 {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let mut e = live_sample(k);
                    e.inquiry_id = id(k);
                    log.append(e).await.unwrap();
                }
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        log.shutdown().await.unwrap();
    });
    let total = n / 256 * 256;
    eprintln!(
        "proof store: {total} entries appended in {:.1?}",
        started.elapsed()
    );
    let reader = log.reader();
    let mut g = c.benchmark_group("proof");
    g.sample_size(50).measurement_time(Duration::from_secs(4));
    let mut k = 0u64;
    g.bench_function(BenchmarkId::new("sqlite_inclusion", n), |b| {
        b.iter(|| {
            // Spread over the tree: a prime stride through the entries.
            k = (k + 7_919) % total;
            rt.block_on(reader.inclusion_proof(&id(k))).unwrap();
        })
    });
    g.finish();
    drop(dir);
}

criterion_group!(benches, appends, verification, proofs);
criterion_main!(benches);
