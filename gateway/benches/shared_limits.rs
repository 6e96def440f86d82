//! What the cluster-wide rate limit costs an inquiry (issue 17): one
//! admission through the in-process limiter (SQLite store, one gateway)
//! against one through the shared buckets in PostgreSQL, for a fast rate
//! (leases of 64 tokens: one statement per 64 inquiries) and for a slow
//! rate (leases of one token: one statement per inquiry, the worst case).
//! A timed loop, printed as µs per inquiry; the PostgreSQL part needs
//! `CREDGATE_TEST_POSTGRES_URL` and is skipped without it.
//!
//! `cargo bench -p gateway --bench shared_limits`

use std::hint::black_box;
use std::time::{Duration, Instant};

use gateway::server::limiter::Limiter;
use gateway::server::shared_buckets::{rate_key, BucketRate, SharedBuckets};
use sqlx::Connection;

const N: u32 = 20_000;

fn report(what: &str, n: u32, took: Duration) {
    println!(
        "{what:<58} {:>9.2} µs per inquiry ({n} inquiries)",
        took.as_secs_f64() * 1e6 / f64::from(n)
    );
}

async fn shared(base: &str) -> Result<(), Box<dyn std::error::Error>> {
    let schema = format!("credgate_bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(base).await?;
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await?;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
    let buckets = SharedBuckets::connect(&url, Duration::from_secs(2)).await?;
    // Burst 10 000 → leases of 64 tokens; refilled fast enough never to refuse.
    let fast = BucketRate {
        rate_per_sec: 1e9,
        burst: 10_000,
    };
    // 30 a minute: after the burst, every inquiry is refused locally.
    let empty = BucketRate::new(30, Duration::from_secs(60), 30);
    // Slow burst (31 → leases of 1) with a refill fast enough never to refuse.
    let slow = BucketRate {
        rate_per_sec: 1e9,
        burst: 31,
    };
    for (what, rate, n) in [
        ("shared buckets, lease 64 (fast rate)", fast, N),
        (
            "shared buckets, lease 1 (slow rate, worst case)",
            slow,
            N / 10,
        ),
        (
            "shared buckets, 30/minute, past the limit (refused)",
            empty,
            N,
        ),
    ] {
        let key = rate_key("market_inspector", what);
        let t = Instant::now();
        let mut admitted = 0u32;
        for _ in 0..n {
            if black_box(buckets.take(&key, rate).await?).is_ok() {
                admitted += 1;
            }
        }
        report(what, n, t.elapsed());
        println!("  {admitted} of {n} admitted");
    }
    buckets.close().await;
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await?;
    Ok(())
}

fn main() {
    let limiter = Limiter::default();
    let t = Instant::now();
    for _ in 0..N {
        let _ = black_box(limiter.check(
            "market_inspector",
            600_000,
            Duration::from_secs(60),
            "HN-AMR-0001",
        ));
    }
    report("in-process limiter (governor)", N, t.elapsed());
    let Ok(base) = std::env::var("CREDGATE_TEST_POSTGRES_URL") else {
        println!("CREDGATE_TEST_POSTGRES_URL not set: shared buckets not measured");
        return;
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            println!("no runtime: {e}");
            return;
        }
    };
    if let Err(e) = rt.block_on(shared(&base)) {
        println!("shared buckets not measured: {e}");
    }
}
