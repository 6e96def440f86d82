//! Search latency on a large store: SQLite, and PostgreSQL partitioned by
//! month (issue 16: a console search over 1 000 000 entries within 200 ms
//! p95; issue 17: a subject's report on 10 000 000 within 100 ms p95).
//!
//! Fills a fresh store with `CREDGATE_BENCH_SEARCH_N` entries (default
//! 1 000 000; 10 000 000 takes some minutes and ~12 GB) spread evenly over
//! twelve months, 1 000 officers in 50 units, 100 000 subjects (≈ N/100 000
//! entries per subject), 4 purposes, 100 000 cases, one in ten refused,
//! then times, from a [`Reader`] as `audit subject-report`, the admin API
//! and the console use it:
//! - `subject_report`: every inquiry about one random subject;
//! - `officer_day`: one random officer's entries over one day;
//! - `time_hour`: every entry of one hour, at most 1 000;
//! - `console_*`: the console's search — the newest 50 entries matching
//!   one filter (officer, unit, subject, purpose, case, reason, decision,
//!   one day, none), then the next 50 through the keyset cursor.
//!
//! Prints p50 / p95 / max per query (200 runs each, random arguments) as a
//! table per store. The writer creates the schema (and on PostgreSQL the
//! month partitions: one real entry per month appended through
//! [`AuditLog`]); the bulk rows are written by `INSERT … SELECT` over a
//! generated series on a chain of their own (their hashes are not a valid
//! chain: this measures search, not verification). SQLite runs in a temp
//! folder; PostgreSQL only with `CREDGATE_TEST_POSTGRES_URL`, in a schema
//! dropped afterwards unless `CREDGATE_BENCH_KEEP=1`. `CREDGATE_BENCH_STORES`
//! picks (`sqlite,postgres`, the default).

use std::time::{Duration, Instant};

use audit::reader::Cursor;
use audit::{generate_signing_key, AuditConfig, AuditLog, Decision, Filter, NewEntry, Reader};
use sqlx::Connection;

/// 2026-01-01T00:00:00Z.
const START_MS: i64 = 1_767_225_600_000;
const YEAR_MS: i64 = 365 * 86_400_000;
const OFFICERS: i64 = 1_000;
const SUBJECTS: i64 = 100_000;
const RUNS: usize = 200;
const PURPOSES: [&str; 4] = [
    "administrative_inspection",
    "administrative_permit",
    "credit_service",
    "recruitment",
];

fn main() {
    let n: i64 = std::env::var("CREDGATE_BENCH_SEARCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let stores =
        std::env::var("CREDGATE_BENCH_STORES").unwrap_or_else(|_| "sqlite,postgres".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if stores.contains("sqlite") {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("search.db").display());
        rt.block_on(run("SQLite", &url, n, &SQLITE_BULK));
    }
    if stores.contains("postgres") {
        match std::env::var("CREDGATE_TEST_POSTGRES_URL") {
            Ok(base) => rt.block_on(postgres(&base, n)),
            Err(_) => eprintln!(
                "search bench: CREDGATE_TEST_POSTGRES_URL not set; PostgreSQL not measured"
            ),
        }
    }
}

fn subject(i: i64) -> String {
    format!("91430100SUBJ{i:06}")
}

fn officer(i: i64) -> String {
    format!("HN-OFF-{i:04}")
}

async fn postgres(base: &str, n: i64) {
    let schema = format!("credgate_search_bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(base).await.expect("connect");
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
    run("PostgreSQL (partitioned by month)", &url, n, &PG_BULK).await;
    if std::env::var("CREDGATE_BENCH_KEEP").as_deref() != Ok("1") {
        sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut admin)
            .await
            .expect("drop schema");
    } else {
        println!("kept schema {schema}");
    }
}

/// How one store writes the generated rows `{from}..={to}` (`g` the row
/// number; `{step}` ms between rows).
struct Bulk {
    sql: &'static str,
}

const COLUMNS: &str = "chain_id, seq, prev_hash, hash, time_ms, inquiry_id, plane, \
     officer_id, officer_name, unit, cert_fingerprint, purpose, inquiry_case, consent_id, \
     method, path, subject_id, subject_type, items_requested, decision, reason, rule, \
     statutory_basis, status, records_returned, records_suppressed, removed_keys, \
     masked_keys, objection_labeled, upstream_status, latency_ms, tree_nodes";

const PG_BULK: Bulk = Bulk {
    sql: "SELECT 'bulk', g, md5(g::text), md5((g + 1)::text), {START} + g * {step}, \
     lpad(to_hex({START} + g * {step}), 12, '0') || md5(g::text), 'data', \
     'HN-OFF-' || lpad(((g * 7919) % {OFFICERS})::text, 4, '0'), 'Officer', \
     'Unit ' || ((g * 7919) % {OFFICERS} % 50), repeat('ab', 32), \
     (ARRAY['administrative_inspection','administrative_permit','credit_service','recruitment'])[1 + g % 4], \
     'HN-2026-' || (g % 100000), NULL, 'GET', \
     '/v1/subjects/91430100SUBJ' || lpad(((g * 104729) % {SUBJECTS})::text, 6, '0'), \
     '91430100SUBJ' || lpad(((g * 104729) % {SUBJECTS})::text, 6, '0'), 'legal_person', \
     '[\"basic\"]', CASE WHEN g % 10 = 0 THEN 'deny' ELSE 'allow' END, \
     CASE WHEN g % 10 = 0 THEN 'purpose_not_granted' ELSE 'ok' END, \
     'role:market_inspector', NULL, CASE WHEN g % 10 = 0 THEN 403 ELSE 200 END, 1, \
     '{}', '[]', '[\"phone\"]', 0, 200, 3, NULL \
     FROM generate_series({from}::bigint, {to}::bigint) AS g",
};

const SQLITE_BULK: Bulk = Bulk {
    sql: "WITH RECURSIVE s(g) AS (SELECT {from} UNION ALL SELECT g + 1 FROM s WHERE g < {to}) \
     SELECT 'bulk', g, printf('%064d', g), printf('%064d', g + 1), {START} + g * {step}, \
     printf('%012x%020d', {START} + g * {step}, g), 'data', \
     printf('HN-OFF-%04d', (g * 7919) % {OFFICERS}), 'Officer', \
     'Unit ' || ((g * 7919) % {OFFICERS} % 50), 'abababababababababababababababababababababababababababababababab', \
     CASE g % 4 WHEN 0 THEN 'administrative_inspection' WHEN 1 THEN 'administrative_permit' \
       WHEN 2 THEN 'credit_service' ELSE 'recruitment' END, \
     'HN-2026-' || (g % 100000), NULL, 'GET', \
     printf('/v1/subjects/91430100SUBJ%06d', (g * 104729) % {SUBJECTS}), \
     printf('91430100SUBJ%06d', (g * 104729) % {SUBJECTS}), 'legal_person', \
     '[\"basic\"]', CASE WHEN g % 10 = 0 THEN 'deny' ELSE 'allow' END, \
     CASE WHEN g % 10 = 0 THEN 'purpose_not_granted' ELSE 'ok' END, \
     'role:market_inspector', NULL, CASE WHEN g % 10 = 0 THEN 403 ELSE 200 END, 1, \
     '{}', '[]', '[\"phone\"]', 0, 200, 3, NULL FROM s",
};

async fn run(store: &str, url: &str, n: i64, bulk: &Bulk) {
    // The schema (and PostgreSQL's month partitions) by the writer itself.
    let key = generate_signing_key().expect("key");
    let cfg = AuditConfig {
        store_url: url.to_owned(),
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
    log.close().await.expect("close");

    let started = Instant::now();
    let step = YEAR_MS / n.max(1);
    let mut from = 1i64;
    // In slices of a million, with a progress line each.
    let slice = 1_000_000i64;
    let fill = |from: i64, to: i64| {
        format!(
            "INSERT INTO entries ({COLUMNS}) {}",
            bulk.sql
                .replace("{START}", &START_MS.to_string())
                .replace("{step}", &step.to_string())
                .replace("{OFFICERS}", &OFFICERS.to_string())
                .replace("{SUBJECTS}", &SUBJECTS.to_string())
                .replace("{from}", &from.to_string())
                .replace("{to}", &to.to_string())
        )
    };
    let mut conn = Raw::connect(url).await;
    while from <= n {
        let to = (from + slice - 1).min(n);
        conn.exec(&fill(from, to)).await;
        eprintln!(
            "search bench ({store}): {to} of {n} entries written ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
        from = to + 1;
    }
    conn.exec("ANALYZE").await;
    let filled = started.elapsed();
    drop(conn);

    let reader = Reader::connect(url).await.expect("reader");
    // A cheap deterministic sequence of arguments (no rand dependency).
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |m: i64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        i64::try_from(x % u64::try_from(m).unwrap_or(1)).unwrap_or(0)
    };
    let mut rows: Vec<(String, usize, Vec<Duration>)> = Vec::new();
    let mut time = |name: &str, per: usize, t: Vec<Duration>| rows.push((name.to_owned(), per, t));

    let (mut found, mut t) = (0usize, Vec::with_capacity(RUNS));
    for _ in 0..RUNS {
        let s = subject(next(SUBJECTS));
        let q = Instant::now();
        found += reader.subject_report(&s).await.expect("report").len();
        t.push(q.elapsed());
    }
    time("subject_report", found / RUNS, t);
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
    time("officer_day", found / RUNS, t);
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
    time("time_hour", found / RUNS, t);

    // The console: newest 50 for one filter, then the next 50.
    type MakeFilter = Box<dyn FnMut(&mut dyn FnMut(i64) -> i64) -> Filter>;
    let consoles: Vec<(&str, MakeFilter)> = vec![
        (
            "console_officer",
            Box::new(|r| Filter {
                officer: Some(officer(r(OFFICERS))),
                ..Filter::default()
            }),
        ),
        (
            "console_unit",
            Box::new(|r| Filter {
                unit: Some(format!("Unit {}", r(50))),
                ..Filter::default()
            }),
        ),
        (
            "console_subject",
            Box::new(|r| Filter {
                subject: Some(subject(r(SUBJECTS))),
                ..Filter::default()
            }),
        ),
        (
            "console_purpose",
            Box::new(|r| {
                let i = usize::try_from(r(4)).unwrap_or(0);
                Filter {
                    purpose: Some(PURPOSES[i].to_owned()),
                    ..Filter::default()
                }
            }),
        ),
        (
            "console_case",
            Box::new(|r| Filter {
                case: Some(format!("HN-2026-{}", r(100_000))),
                ..Filter::default()
            }),
        ),
        (
            "console_reason",
            Box::new(|_| Filter {
                reason: Some("purpose_not_granted".into()),
                ..Filter::default()
            }),
        ),
        (
            "console_decision",
            Box::new(|_| Filter {
                decision: Some(Decision::Deny),
                ..Filter::default()
            }),
        ),
        (
            "console_day",
            Box::new(|r| {
                let day = START_MS + r(364) * 86_400_000;
                Filter {
                    from_ms: Some(day),
                    to_ms: Some(day + 86_400_000 - 1),
                    ..Filter::default()
                }
            }),
        ),
        ("console_none", Box::new(|_| Filter::default())),
    ];
    for (name, mut make) in consoles {
        let (mut found, mut t) = (0usize, Vec::with_capacity(RUNS));
        for _ in 0..RUNS / 2 {
            let mut f = make(&mut next);
            f.newest_first = true;
            f.limit = Some(50);
            let q = Instant::now();
            let page = reader.query(&f).await.expect("console page");
            t.push(q.elapsed());
            found += page.len();
            if let Some(last) = page.last() {
                f.after = Some(Cursor::of(last));
                let q = Instant::now();
                found += reader.query(&f).await.expect("console next page").len();
                t.push(q.elapsed());
            }
        }
        time(name, found / t.len().max(1), t);
    }

    println!(
        "\nsearch on {store}, {n} entries over 12 months, filled in {:.0} s",
        filled.as_secs_f64()
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
}

/// A raw connection to either store, for the bulk fill.
enum Raw {
    Pg(sqlx::PgConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl Raw {
    async fn connect(url: &str) -> Raw {
        if url.starts_with("sqlite://") {
            Raw::Sqlite(sqlx::SqliteConnection::connect(url).await.expect("sqlite"))
        } else {
            Raw::Pg(sqlx::PgConnection::connect(url).await.expect("postgres"))
        }
    }

    async fn exec(&mut self, sql: &str) {
        match self {
            Raw::Pg(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
            Raw::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
        }
        .expect("bulk statement");
    }
}

/// `audit::testing::sample` as officer 0 of unit 0 about subject 0 at
/// `START_MS`: one item, one record, nothing suppressed, removed or masked.
fn sample() -> NewEntry {
    NewEntry {
        time_ms: START_MS,
        inquiry_id: String::new(),
        officer_id: officer(0),
        officer_name: "Officer".into(),
        unit: "Unit 0".into(),
        purpose: Some("administrative_inspection".into()),
        case: Some("HN-2026-1".into()),
        path: format!("/v1/subjects/{}", subject(0)),
        subject_id: Some(subject(0)),
        items_requested: vec!["basic".into()],
        records_returned: 1,
        records_suppressed: Default::default(),
        removed_keys: vec![],
        masked_keys: vec![],
        objection_labeled: 0,
        latency_ms: 3,
        ..audit::testing::sample(0)
    }
}
