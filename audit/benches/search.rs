//! Search latency on a large PostgreSQL store partitioned by month (issue
//! 17: a subject's report on a 10 000 000-entry store within 100 ms p95).
//!
//! Fills a fresh schema with `CREDGATE_BENCH_SEARCH_N` entries (default
//! 1 000 000; 10 000 000 takes some minutes and ~12 GB) spread evenly over
//! twelve months, 1 000 officers and 100 000 subjects (≈ N/100 000
//! entries per subject), then times, from a [`Reader`] as `audit
//! subject-report` and the admin API use it:
//! - `subject_report`: every inquiry about one random subject;
//! - `officer_day`: one random officer's entries over one day;
//! - `time_hour`: every entry of one hour, at most 1 000.
//!
//! Prints p50 / p95 / max per query (200 runs each, random arguments) as a
//! table. The month partitions are made by the product's own writer (one
//! real entry per month appended through [`AuditLog`]); the bulk rows are
//! written by one `INSERT … SELECT generate_series` on a chain of their
//! own (their hashes are not a valid chain: this measures search, not
//! verification). Runs only with `CREDGATE_TEST_POSTGRES_URL`; the schema
//! is dropped afterwards unless `CREDGATE_BENCH_KEEP=1`.

use std::time::{Duration, Instant};

use audit::{generate_signing_key, AuditConfig, AuditLog, Filter, NewEntry, Reader};
use sqlx::Connection;

/// 2026-01-01T00:00:00Z.
const START_MS: i64 = 1_767_225_600_000;
const YEAR_MS: i64 = 365 * 86_400_000;
const OFFICERS: i64 = 1_000;
const SUBJECTS: i64 = 100_000;
const RUNS: usize = 200;

fn main() {
    let Ok(base) = std::env::var("CREDGATE_TEST_POSTGRES_URL") else {
        eprintln!("search bench: CREDGATE_TEST_POSTGRES_URL not set; nothing measured");
        return;
    };
    // `cargo bench` passes `--bench`; any other argument filters nothing.
    let n: i64 = std::env::var("CREDGATE_BENCH_SEARCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(&base, n));
}

fn subject(i: i64) -> String {
    format!("91430100SUBJ{i:06}")
}

fn officer(i: i64) -> String {
    format!("HN-OFF-{i:04}")
}

async fn run(base: &str, n: i64) {
    let schema = format!("credgate_search_bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(base).await.expect("connect");
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");

    // The schema and one month partition per month, by the writer itself.
    let key = generate_signing_key().expect("key");
    let cfg = AuditConfig {
        store_url: url.clone(),
        signing_key_pkcs8: key,
        checkpoint_every: 1000,
        ..AuditConfig::default()
    };
    let log = AuditLog::open(&cfg).await.expect("open");
    for m in 0..12 {
        let mut e = sample();
        e.time_ms = START_MS + m * (YEAR_MS / 12) + 1;
        e.inquiry_id = format!("month-{m}");
        log.append(e).await.expect("append");
    }
    log.shutdown().await.expect("shutdown");

    let started = Instant::now();
    let mut pg = sqlx::PgConnection::connect(&url).await.expect("connect");
    let step = YEAR_MS / n.max(1);
    // In slices of a million, with a progress line each.
    let slice = 1_000_000i64;
    let mut from = 1i64;
    while from <= n {
        let to = (from + slice - 1).min(n);
        sqlx::query(&format!(
            "INSERT INTO entries (chain_id, seq, prev_hash, hash, time_ms, inquiry_id, plane, \
             officer_id, officer_name, unit, cert_fingerprint, purpose, inquiry_case, consent_id, \
             method, path, subject_id, subject_type, items_requested, decision, reason, rule, \
             statutory_basis, status, records_returned, records_suppressed, removed_keys, \
             masked_keys, objection_labeled, upstream_status, latency_ms, tree_nodes) \
             SELECT 'bulk', g, md5(g::text), md5((g + 1)::text), {START_MS} + g * {step}, \
             lpad(to_hex({START_MS} + g * {step}), 12, '0') || md5(g::text), 'data', \
             'HN-OFF-' || lpad(((g * 7919) % {OFFICERS})::text, 4, '0'), 'Officer', \
             'Unit ' || ((g * 7919) % {OFFICERS} % 50), repeat('ab', 32), \
             'administrative_inspection', 'HN-2026-' || (g % 100000), NULL, 'GET', \
             '/v1/subjects/91430100SUBJ' || lpad(((g * 104729) % {SUBJECTS})::text, 6, '0'), \
             '91430100SUBJ' || lpad(((g * 104729) % {SUBJECTS})::text, 6, '0'), 'legal_person', \
             '[\"basic\"]', CASE WHEN g % 10 = 0 THEN 'deny' ELSE 'allow' END, \
             CASE WHEN g % 10 = 0 THEN 'purpose_not_granted' ELSE 'ok' END, \
             'role:market_inspector', NULL, CASE WHEN g % 10 = 0 THEN 403 ELSE 200 END, 1, \
             '{{}}', '[]', '[\"phone\"]', 0, 200, 3, NULL \
             FROM generate_series({from}::bigint, {to}::bigint) AS g"
        ))
        .execute(&mut pg)
        .await
        .expect("bulk insert");
        eprintln!(
            "search bench: {to} of {n} entries written ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
        from = to + 1;
    }
    sqlx::raw_sql("ANALYZE entries")
        .execute(&mut pg)
        .await
        .expect("analyze");
    let fill = started.elapsed();
    let partitions: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_inherits WHERE inhparent = to_regclass('entries')",
    )
    .fetch_one(&mut pg)
    .await
    .expect("partitions");
    let in_default: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM entries_default")
        .fetch_one(&mut pg)
        .await
        .expect("default");

    let reader = Reader::connect(&url).await.expect("reader");
    // A cheap deterministic sequence of arguments (no rand dependency).
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |m: i64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        i64::try_from(x % u64::try_from(m).unwrap_or(1)).unwrap_or(0)
    };
    let mut rows = Vec::new();
    let mut found = 0usize;
    let mut t = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let s = subject(next(SUBJECTS));
        let q = Instant::now();
        found += reader.subject_report(&s).await.expect("report").len();
        t.push(q.elapsed());
    }
    rows.push(("subject_report", found / RUNS, t));
    let (mut found, mut t) = (0usize, Vec::with_capacity(RUNS));
    for _ in 0..RUNS {
        let day = START_MS + next(364) * 86_400_000;
        let f = Filter {
            officer: Some(officer(next(OFFICERS))),
            from_ms: Some(day),
            to_ms: Some(day + 86_400_000 - 1),
            ..Filter::default()
        };
        let q = Instant::now();
        found += reader.query(&f).await.expect("query").len();
        t.push(q.elapsed());
    }
    rows.push(("officer_day", found / RUNS, t));
    let (mut found, mut t) = (0usize, Vec::with_capacity(RUNS));
    for _ in 0..RUNS {
        let hour = START_MS + next(364 * 24) * 3_600_000;
        let f = Filter {
            from_ms: Some(hour),
            to_ms: Some(hour + 3_600_000 - 1),
            limit: Some(1000),
            ..Filter::default()
        };
        let q = Instant::now();
        found += reader.query(&f).await.expect("query").len();
        t.push(q.elapsed());
    }
    rows.push(("time_hour", found / RUNS, t));

    println!(
        "\nsearch on PostgreSQL, {n} entries over 12 months ({partitions} partitions, {in_default} rows in entries_default), filled in {:.0} s",
        fill.as_secs_f64()
    );
    println!("| query | rows/answer | p50 ms | p95 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, per, mut t) in rows {
        t.sort();
        let pct = |p: f64| -> Duration {
            let i = ((t.len() as f64 - 1.0) * p).round() as usize;
            t[i.min(t.len() - 1)]
        };
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {name} | {per} | {:.2} | {:.2} | {:.2} |",
            ms(pct(0.5)),
            ms(pct(0.95)),
            ms(*t.last().unwrap_or(&Duration::ZERO))
        );
    }
    reader.close().await;
    if std::env::var("CREDGATE_BENCH_KEEP").as_deref() != Ok("1") {
        sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut admin)
            .await
            .expect("drop schema");
    } else {
        println!("kept schema {schema}");
    }
}

fn sample() -> NewEntry {
    NewEntry {
        time_ms: START_MS,
        inquiry_id: String::new(),
        plane: "data".into(),
        officer_id: officer(0),
        officer_name: "Officer".into(),
        unit: "Unit 0".into(),
        cert_fingerprint: "ab".repeat(32),
        purpose: Some("administrative_inspection".into()),
        case: Some("HN-2026-1".into()),
        consent_id: None,
        method: "GET".into(),
        path: format!("/v1/subjects/{}", subject(0)),
        subject_id: Some(subject(0)),
        subject_type: Some("legal_person".into()),
        items_requested: vec!["basic".into()],
        decision: audit::Decision::Allow,
        reason: "ok".into(),
        rule: "role:market_inspector".into(),
        statutory_basis: None,
        status: 200,
        records_returned: 1,
        records_suppressed: Default::default(),
        removed_keys: vec![],
        masked_keys: vec![],
        objection_labeled: 0,
        upstream_status: Some(200),
        latency_ms: 3,
    }
}
