//! Issue 15: "Forty parallel `/audit/export` requests took the gateway
//! from 51 MB to 1.39 GB." Exports are streamed now: parallel exports of a
//! 100 000-entry log keep the gateway's peak RSS increase under 300 MB.
//!
//! The gateway runs in this test's process, alone in this test binary (so
//! no other test's memory is counted): the RSS is this process's, read from
//! `/proc/self/status` — sampled every 20 ms during the exports, and its
//! `VmHWM` (peak) reset just before them. The log is filled by another
//! process (this binary again, running [`fill_helper`]), so the memory the
//! filling took and the allocator kept does not hide what the exports take.
//! Heap (`RssAnon`) and file-backed pages (`RssFile`) are printed too: the
//! SQLite readers do not map the store file (a map per connection would
//! count in the RSS once per connection, up to 4 x 256 MiB), so the
//! file-backed part stays flat. Measured: about +35 MB for 25 000 entries
//! and +38 MB for 100 000 — constant in the size of the log.

use std::io::Write as _;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use tests::client::Proto;
use tests::env::{admin, reset_peak_rss, rss_kib, Env};

const ENTRIES: u64 = 100_000;
const CLIENTS: usize = 8;
const MAX_CONCURRENT: usize = 4;
const LIMIT_MB: u64 = 300;
/// The heap's share: a page, a few chunks and the connections' buffers per
/// running export, and the test's own clients (measured: about 38 MB for 4
/// exports at once).
const HEAP_LIMIT_MB: u64 = 100;

/// Names the gateway config whose log [`fill_helper`] fills.
const FILL_CONFIG: &str = "CREDGATE_TEST_FILL_CONFIG";

/// Run by the memory test in a process of its own: fills the log of the
/// config [`FILL_CONFIG`] names with [`ENTRIES`] entries (nothing without it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a helper the memory test runs in a process of its own"]
async fn fill_helper() {
    if let Some(config) = std::env::var_os(FILL_CONFIG) {
        tests::env::fill_log_at(std::path::Path::new(&config), ENTRIES).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_exports_of_a_100k_entry_log_keep_peak_rss_under_300_mb() {
    let env = Env::new().await;
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(
        &env.config_path,
        text.replace(
            "[admin]\nlisten = \"127.0.0.1:0\"",
            &format!(
                "[admin]\nlisten = \"127.0.0.1:0\"\nmax_concurrent_exports = {MAX_CONCURRENT}"
            ),
        ),
    )
    .unwrap();
    let filled = Instant::now();
    let status = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fill_helper", "--ignored", "--nocapture"])
        .env(FILL_CONFIG, &env.config_path)
        .status()
        .await
        .unwrap();
    assert!(status.success(), "filling the log failed");
    eprintln!("filled {ENTRIES} entries in {:.1?}", filled.elapsed());
    let pk8 = std::fs::read(env.pki.join("audit-signing.pk8")).unwrap();
    let key = audit::tree_head::CheckpointSigner::new("credgate-audit", &pk8)
        .unwrap()
        .verifier()
        .public_key
        .to_vec();
    let running = env.start().await;
    let addr = admin(&running);
    // Warm up the admin path (TLS, policy, the log's connection pool).
    let warm = env
        .client(Some("CMP-0001"), Proto::Http1)
        .get(addr, "/audit/entries?limit=1", &[])
        .await
        .unwrap();
    assert_eq!(warm.status, 200);

    let before = rss_kib();
    let baseline = before.now;
    let peak_reset = reset_peak_rss();
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let (mut max, mut anon, mut file) = (0, 0, 0);
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                let r = rss_kib();
                max = max.max(r.now);
                anon = anon.max(r.anon);
                file = file.max(r.file);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (max, anon, file)
        })
    };

    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for i in 0..CLIENTS {
        let proto = if i % 2 == 0 {
            Proto::Http1
        } else {
            Proto::Http2
        };
        let client = env.client(Some("CMP-0001"), proto);
        let file = dir.path().join(format!("export-{i}.jsonl"));
        clients.spawn(async move {
            let mut refused = 0u32;
            loop {
                let resp = client
                    .open("GET", addr, "/audit/export", &[])
                    .await
                    .unwrap();
                if resp.status() == 429 {
                    refused += 1;
                    assert_eq!(resp.headers()["retry-after"], "1");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                assert_eq!(resp.status(), 200);
                let t = Instant::now();
                // Read the stream to its end, a frame at a time, pausing
                // now and then (a client slower than the gateway); the
                // first client's into a file (to verify it), nothing here
                // holds an export in memory.
                let mut out = (i == 0)
                    .then(|| std::io::BufWriter::new(std::fs::File::create(&file).unwrap()));
                let mut body = resp.into_body();
                let (mut bytes, mut frames) = (0u64, 0u64);
                while let Some(frame) = body.frame().await {
                    if let Ok(data) = frame.unwrap().into_data() {
                        bytes += data.len() as u64;
                        if let Some(out) = out.as_mut() {
                            out.write_all(&data).unwrap();
                        }
                    }
                    frames += 1;
                    if frames.is_multiple_of(64) {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
                if let Some(mut out) = out {
                    out.flush().unwrap();
                }
                return (i, refused, bytes, t.elapsed(), file);
            }
        });
    }
    let mut results = Vec::new();
    while let Some(r) = clients.join_next().await {
        results.push(r.unwrap());
    }
    let total = started.elapsed();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let (sampled_peak, anon_peak, file_peak) = sampler.await.unwrap();
    let hwm = rss_kib().peak;
    let peak = if peak_reset {
        sampled_peak.max(hwm)
    } else {
        sampled_peak
    };
    let increase_mb = peak.saturating_sub(baseline) / 1024;
    results.sort_by_key(|r| r.0);
    for (i, refused, bytes, took, _) in &results {
        eprintln!(
            "export {i}: {:.1} MB in {took:.1?} after {refused} x 429",
            *bytes as f64 / 1e6
        );
    }
    eprintln!(
        "RSS: baseline {} MB, peak {} MB (sampled {} MB, VmHWM {} MB{}), increase {increase_mb} MB; {CLIENTS} exports ({MAX_CONCURRENT} at once) of {ENTRIES} entries in {total:.1?}",
        baseline / 1024,
        peak / 1024,
        sampled_peak / 1024,
        hwm / 1024,
        if peak_reset { "" } else { ", not reset: not counted" },
    );
    eprintln!(
        "  of which heap (RssAnon) {} -> {} MB peak, file-backed (RssFile, the mapped store) {} -> {} MB peak",
        before.anon / 1024,
        anon_peak / 1024,
        before.file / 1024,
        file_peak / 1024,
    );
    assert_eq!(results.len(), CLIENTS);
    assert!(
        results.iter().any(|r| r.1 > 0),
        "more clients than permits: some were told to come back"
    );
    let sizes: Vec<u64> = results.iter().map(|r| r.2).collect();
    assert!(sizes.iter().all(|s| *s > 50_000_000), "{sizes:?}");
    assert!(increase_mb < LIMIT_MB, "RSS grew by {increase_mb} MB");
    let heap_mb = anon_peak.saturating_sub(before.anon) / 1024;
    assert!(
        heap_mb < HEAP_LIMIT_MB,
        "the heap grew by {heap_mb} MB: something holds exports in memory"
    );
    // One of the files, read back from disk, verifies offline.
    let file = std::io::BufReader::new(std::fs::File::open(&results[0].4).unwrap());
    let report = audit::verify_export(file, &key).unwrap();
    assert!(
        matches!(report, audit::VerifyReport::Intact { entries, .. } if entries >= ENTRIES),
        "{report:?}"
    );
    running.shutdown().await.unwrap();
}
