//! Console search speed (issue 16, SPEC "Compliance console": p95 ≤ 200 ms
//! over 1 000 000 entries): fills a store with `N` realistic entries
//! (default 1 000 000; 200 officers in 20 units, 100 000 subjects, 5
//! purposes, 50 000 case numbers, 6 % refused under 4 reasons, spread over
//! 365 days), then runs each console search filter — the first page of
//! 51 newest-first entries and the page after it (keyset cursor) — on
//! random values and prints p50 / p95 / max per filter.
//!
//! ```text
//! cargo run --release -p audit --example search_bench -- [N] [STORE_URL]
//! ```
//! Without `STORE_URL` a SQLite store in a temporary folder; a
//! `postgres://` URL must name an empty database or schema.

use std::time::{Duration, Instant};

use audit::{AuditConfig, AuditLog, Cursor, Decision, Filter, NewEntry};

/// A small deterministic generator (no dependency).
#[derive(Clone)]
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

const START_MS: i64 = 1_750_000_000_000;
const SPAN_MS: i64 = 365 * 86_400_000;
const REASONS: [&str; 4] = [
    "purpose_not_granted",
    "item_not_granted",
    "subject_type_not_granted",
    "rate_limited",
];
const PURPOSES: [&str; 5] = [
    "administrative_inspection",
    "administrative_permit",
    "credit_service",
    "public_procurement",
    "honours_review",
];

fn entry(i: u64, n: u64) -> NewEntry {
    let mut r = Lcg(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xdead_beef);
    let officer = r.next(200);
    let refused = r.next(100) < 6;
    NewEntry {
        time_ms: START_MS + (i as i64) * SPAN_MS / (n as i64).max(1),
        inquiry_id: format!("bench-{i:010}"),
        plane: "data".into(),
        officer_id: format!("OFF-{officer:04}"),
        officer_name: format!("Officer {officer}"),
        unit: format!("Unit {:02}", officer % 20),
        cert_fingerprint: format!("{officer:064x}"),
        purpose: Some(PURPOSES[r.next(5) as usize].into()),
        case: Some(format!("CASE-{:06}", r.next(50_000))),
        consent_id: None,
        method: "GET".into(),
        path: "/v1/subjects/x".into(),
        subject_id: Some(format!("SUBJ{:014}", r.next(100_000))),
        subject_type: Some("legal_person".into()),
        items_requested: vec!["basic".into()],
        decision: if refused {
            Decision::Deny
        } else {
            Decision::Allow
        },
        reason: if refused {
            REASONS[r.next(4) as usize].into()
        } else {
            "ok".into()
        },
        rule: "role:bench".into(),
        statutory_basis: None,
        status: if refused { 403 } else { 200 },
        records_returned: 1,
        records_suppressed: Default::default(),
        removed_keys: vec![],
        masked_keys: vec![],
        objection_labeled: 0,
        upstream_status: Some(200),
        latency_ms: 3,
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir()?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}/bench.db", tmp.path().display()));
    let log = AuditLog::open(&AuditConfig {
        store_url: url.clone(),
        signing_key_pkcs8: audit::generate_signing_key()?,
        checkpoint_every: 10_000,
        ..Default::default()
    })
    .await?;
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..256 {
        let (log, next) = (log.clone(), next.clone());
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, audit::AuditError>(());
                }
                log.append(entry(i, n)).await?;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    let fill = started.elapsed();
    println!(
        "filled {n} entries in {:.1} s ({:.0} entries/s, 256 appenders)",
        fill.as_secs_f64(),
        n as f64 / fill.as_secs_f64()
    );
    let reader = log.reader();
    let mut r = Lcg(42);
    type Make = fn(&mut Lcg) -> Filter;
    let kinds: [(&str, Make); 10] = [
        ("officer", |r| Filter {
            officer: Some(format!("OFF-{:04}", r.next(200))),
            ..Filter::default()
        }),
        ("unit", |r| Filter {
            unit: Some(format!("Unit {:02}", r.next(20))),
            ..Filter::default()
        }),
        ("subject", |r| Filter {
            subject: Some(format!("SUBJ{:014}", r.next(100_000))),
            ..Filter::default()
        }),
        ("purpose", |r| Filter {
            purpose: Some(PURPOSES[r.next(5) as usize].into()),
            ..Filter::default()
        }),
        ("case", |r| Filter {
            case: Some(format!("CASE-{:06}", r.next(50_000))),
            ..Filter::default()
        }),
        ("decision=deny", |_| Filter {
            decision: Some(Decision::Deny),
            ..Filter::default()
        }),
        ("reason", |r| Filter {
            reason: Some(REASONS[r.next(4) as usize].into()),
            ..Filter::default()
        }),
        ("from/to (one day)", |r| {
            let from = START_MS + (r.next(364) as i64) * 86_400_000;
            Filter {
                from_ms: Some(from),
                to_ms: Some(from + 86_400_000),
                ..Filter::default()
            }
        }),
        ("officer + month", |r| {
            let from = START_MS + (r.next(335) as i64) * 86_400_000;
            Filter {
                officer: Some(format!("OFF-{:04}", r.next(200))),
                from_ms: Some(from),
                to_ms: Some(from + 30 * 86_400_000),
                ..Filter::default()
            }
        }),
        ("none", |_| Filter::default()),
    ];
    println!(
        "{:<20} {:>10} {:>10} {:>10}   (first page + next page, 51 rows each)",
        "filter", "p50 ms", "p95 ms", "max ms"
    );
    for (name, make) in kinds {
        let mut times = Vec::new();
        for _ in 0..40 {
            let mut f = make(&mut r);
            f.newest_first = true;
            f.limit = Some(51);
            let t = Instant::now();
            let page = reader.query(&f).await?;
            times.push(t.elapsed());
            if let Some(last) = page.get(49) {
                f.after = Some(Cursor::of(last));
                let t = Instant::now();
                reader.query(&f).await?;
                times.push(t.elapsed());
            }
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name:<20} {:>10.1} {:>10.1} {:>10.1}",
            ms(pct(&times, 0.5)),
            ms(pct(&times, 0.95)),
            ms(*times.last().unwrap_or(&Duration::ZERO))
        );
    }
    // The overview's aggregates over the last 30 days of the data.
    let start = START_MS + SPAN_MS - 30 * 86_400_000;
    let t = Instant::now();
    let days = reader.daily_counts("data", start, 30).await?;
    let daily = t.elapsed();
    let t = Instant::now();
    let refusals = reader.refusal_counts(start).await?;
    println!(
        "overview: inquiries per day and unit over 30 days {:.1} ms ({} rows), refusals by reason {:.1} ms ({} rows)",
        daily.as_secs_f64() * 1000.0,
        days.len(),
        t.elapsed().as_secs_f64() * 1000.0,
        refusals.len()
    );
    log.shutdown().await?;
    Ok(())
}
