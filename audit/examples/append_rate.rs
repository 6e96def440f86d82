//! Durable appends per second through the public API only, so the same
//! file builds against an older revision of the crate for an A/B (issue
//! 12's "within 5 % of today's figures"): a fresh store, N appenders, one
//! second of warm-up, then a fixed measuring window.
//!
//! ```text
//! cargo run --release -p audit --example append_rate -- \
//!     [sqlite|postgres] [one-subject|10k-subjects] N SECONDS
//! ```
//!
//! Prints one JSON line: `{"store", "workload", "appenders", "seconds",
//! "appends", "per_s"}`. PostgreSQL reads `CREDGATE_TEST_POSTGRES_URL`
//! and appends into a schema of its own, dropped at the end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use audit::{generate_signing_key, AuditConfig, AuditLog, Decision, NewEntry};
use sqlx::Connection;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// An entry as the gateway makes it under load: the clock at request start,
/// an inquiry id that starts with that time (48 bits of milliseconds, then
/// randomness), one officer and one subject (every index grows at its end)
/// or one of 64 officers and one of 10 000 subjects (`spread`).
fn entry(i: u64, spread: bool) -> NewEntry {
    let time_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let (officer, subject) = if spread {
        let s = i.wrapping_mul(2_654_435_761) % 10_000;
        (format!("HN-AMR-{:04}", i % 64), format!("91350100M{s:09}"))
    } else {
        ("HN-AMR-0001".to_owned(), "91350100M000100Y43".to_owned())
    };
    let mut suppressed = BTreeMap::new();
    suppressed.insert("inquiry_period_expired".to_owned(), 1);
    NewEntry {
        time_ms,
        inquiry_id: format!(
            "{time_ms:012x}{:020x}",
            i.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ),
        plane: "data".into(),
        officer_id: officer,
        officer_name: "Li Na".into(),
        unit: "Hunan Administration for Market Regulation".into(),
        cert_fingerprint: "ab".repeat(32),
        purpose: Some("administrative_permit".into()),
        case: Some("XZXK-2026-000123".into()),
        consent_id: None,
        method: "GET".into(),
        path: format!("/v1/subjects/{subject}/records?items=basic"),
        subject_id: Some(subject),
        subject_type: Some("legal_person".into()),
        items_requested: vec!["basic".into(), "administrative_penalty".into()],
        decision: Decision::Allow,
        reason: "ok".into(),
        rule: "role:market_inspector".into(),
        statutory_basis: None,
        status: 200,
        records_returned: 3,
        records_suppressed: suppressed,
        removed_keys: vec!["religion".into()],
        masked_keys: vec!["id_number".into(), "phone".into()],
        objection_labeled: 1,
        upstream_status: Some(200),
        latency_ms: 7,
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [store, workload, n, seconds] = args.as_slice() else {
        return Err("usage: append_rate sqlite|postgres one-subject|10k-subjects N SECONDS".into());
    };
    let spread = match workload.as_str() {
        "one-subject" => false,
        "10k-subjects" => true,
        other => return Err(format!("unknown workload `{other}`").into()),
    };
    let n: u64 = n.parse()?;
    let window = Duration::from_secs_f64(seconds.parse()?);
    let dir = tempfile::tempdir()?;
    let mut schema = None;
    let url = match store.as_str() {
        "sqlite" => format!("sqlite://{}", dir.path().join("log.db").display()),
        "postgres" => {
            let base = std::env::var("CREDGATE_TEST_POSTGRES_URL")?;
            let name = format!("cg_rate_{}", std::process::id());
            let mut c = sqlx::PgConnection::connect(&base).await?;
            sqlx::raw_sql(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .execute(&mut c)
            .await?;
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-csearch_path%3D{name}");
            schema = Some((c, name));
            url
        }
        other => return Err(format!("unknown store `{other}`").into()),
    };
    let log = AuditLog::open(&AuditConfig {
        store_url: url,
        signing_key_pkcs8: generate_signing_key()?,
        ..AuditConfig::default()
    })
    .await?;
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for t in 0..n {
        let (log, counting, stop, count) =
            (log.clone(), counting.clone(), stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = t << 32;
            while !stop.load(Ordering::Relaxed) {
                log.append(entry(i, spread)).await?;
                i += 1;
                if counting.load(Ordering::Relaxed) {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok::<(), audit::AuditError>(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    counting.store(true, Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(window).await;
    let appends = count.load(Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    log.shutdown().await?;
    if let Some((mut c, name)) = schema {
        sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
            .execute(&mut c)
            .await?;
    }
    println!(
        "{{\"store\":\"{store}\",\"workload\":\"{workload}\",\"appenders\":{n},\
         \"seconds\":{elapsed:.3},\"appends\":{appends},\"per_s\":{:.0}}}",
        appends as f64 / elapsed
    );
    Ok(())
}
