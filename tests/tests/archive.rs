//! Issue 17: `credgate audit archive --before YYYY-MM --out DIR` writes each
//! whole month as a bracketed export, verified, with SHA256SUMS — on SQLite
//! and on PostgreSQL (whose entries table is partitioned by month).

use std::collections::BTreeSet;
use std::path::Path;

use tests::env::{filler_entry, Env, PgSchema};
use tests::process::run;

const EXE: &str = env!("CARGO_BIN_EXE_credgate-under-test");

/// 2026-01-01T00:00:00Z .. 2026-04-01T00:00:00Z in milliseconds.
const JAN: i64 = 1_767_225_600_000;
const FEB: i64 = 1_769_904_000_000;
const MAR: i64 = 1_772_323_200_000;
const APR: i64 = 1_775_001_600_000;

/// Appends entries spread over January to March 2026 (seq order = time
/// order, checkpoints every 7 entries so that some fall mid-month), closes
/// the log; the inquiry ids per month.
async fn fill_three_months(env: &Env) -> [BTreeSet<String>; 3] {
    let mut cfg = gateway::config::Config::load(&env.config_path)
        .unwrap()
        .audit_config()
        .unwrap();
    cfg.checkpoint_every = 7;
    let log = audit::AuditLog::open(&cfg).await.unwrap();
    let mut months: [BTreeSet<String>; 3] = Default::default();
    let bounds = [JAN, FEB, MAR, APR];
    let mut i = 0u64;
    for (m, pair) in bounds.windows(2).enumerate() {
        // 20 entries per month, the last one in its final second.
        for k in 0..20i64 {
            let mut e = filler_entry(i);
            e.time_ms = if k == 19 {
                pair[1] - 1
            } else {
                pair[0] + k * 3_600_000
            };
            e.inquiry_id = format!("arch-{i:04}");
            months[m].insert(e.inquiry_id.clone());
            log.append(e).await.unwrap();
            i += 1;
        }
    }
    log.close().await.unwrap();
    months
}

/// Inquiry ids of the entry lines of an export file, with their times.
fn entries_in(file: &Path) -> Vec<(String, i64)> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["type"] == "entry").then(|| {
                (
                    v["entry"]["inquiry_id"].as_str().unwrap().to_owned(),
                    v["entry"]["time_ms"].as_i64().unwrap(),
                )
            })
        })
        .collect()
}

/// `credgate audit archive --before BEFORE --out OUT`: (exit, stdout, stderr).
async fn archive(config: &str, before: &str, out: &str) -> (Option<i32>, String, String) {
    run(
        EXE,
        &[
            "audit", "archive", "--config", config, "--before", before, "--out", out,
        ],
    )
    .await
}

async fn archive_months(env: &Env) {
    let months = fill_three_months(env).await;
    let config = env.config_path.to_str().unwrap();
    let out = env.tmp.path().join("archive");
    let out_s = out.to_str().unwrap();

    // A month that is not over cannot be archived: invalid input, exit 1,
    // nothing written.
    let (code, _, stderr) = archive(config, "2999-01", out_s).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("not over yet"), "{stderr}");
    assert!(!out.exists());

    let (code, stdout, stderr) = archive(config, "2026-03", out_s).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("2 month(s) archived"), "{stdout}");
    let jan = out.join("credgate-audit-2026-01.jsonl");
    let feb = out.join("credgate-audit-2026-02.jsonl");
    assert!(jan.exists() && feb.exists());
    assert!(!out.join("credgate-audit-2026-03.jsonl").exists());

    for (file, month, (lo, hi)) in [
        (&jan, &months[0], (JAN, FEB)),
        (&feb, &months[1], (FEB, MAR)),
    ] {
        // Every entry of the month is in its file; any other entry in it
        // is there only to reach a signed checkpoint.
        let got = entries_in(file);
        let in_month: BTreeSet<String> = got
            .iter()
            .filter(|(_, t)| (lo..hi).contains(t))
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(&in_month, month, "{}", file.display());
        assert!(
            got.len() < month.len() + 14,
            "brackets reach one checkpoint each side"
        );
        // And it verifies offline with the trusted key.
        let (code, stdout, stderr) = run(
            EXE,
            &[
                "audit",
                "verify",
                "--export",
                file.to_str().unwrap(),
                "--config",
                config,
            ],
        )
        .await;
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        assert!(stdout.starts_with("intact"), "{stdout}");
    }

    // SHA256SUMS names both files with their digests, as sha256sum -c reads.
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 2, "{sums}");
    let check = std::process::Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // Run again one month further: January and February are kept (checked
    // again, not rewritten), March is added.
    let (code, stdout, stderr) = archive(config, "2026-04", out_s).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("1 month(s) archived, 2 kept"), "{stdout}");
    let mar = out.join("credgate-audit-2026-03.jsonl");
    let in_march: BTreeSet<String> = entries_in(&mar)
        .into_iter()
        .filter(|(_, t)| (MAR..APR).contains(t))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(in_march, months[2]);
    assert_eq!(
        std::fs::read_to_string(out.join("SHA256SUMS"))
            .unwrap()
            .lines()
            .count(),
        3
    );

    // An archive file edited afterwards (one entry's officer changed) is
    // caught when the archive runs again: exit 1, the month named.
    let text = std::fs::read_to_string(&feb).unwrap();
    let edited = text.replacen(
        "\"officer_id\":\"HN-AMR-0001\"",
        "\"officer_id\":\"HN-AMR-0002\"",
        1,
    );
    assert_ne!(text, edited);
    std::fs::write(&feb, edited).unwrap();
    let (code, stdout, _) = archive(config, "2026-04", out_s).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("2026-02: NOT archived"), "{stdout}");
    // SHA256SUMS still vouches for the file as archived, not as edited.
    let check = std::process::Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(
        !check.status.success(),
        "SHA256SUMS now vouches for the edited file"
    );

    // An edit that leaves every entry and checkpoint as it was (a space in
    // the header line) is caught too: the export's end line seals every
    // byte of the lines before it (and SHA256SUMS would catch it next).
    std::fs::write(&feb, &text).unwrap();
    let jan_text = std::fs::read_to_string(&jan).unwrap();
    let spaced = jan_text.replacen("{\"type\":\"header\"", "{ \"type\":\"header\"", 1);
    assert_ne!(jan_text, spaced);
    std::fs::write(&jan, spaced).unwrap();
    let (code, stdout, _) = archive(config, "2026-04", out_s).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("2026-01: NOT archived"), "{stdout}");
    assert!(
        stdout.contains("the file: the lines before the end line are not the ones exported"),
        "{stdout}"
    );
    // A file that is no export at all: that month is not archived (exit
    // 1), the run goes on.
    std::fs::write(&jan, "hello\n").unwrap();
    let (code, stdout, stderr) = archive(config, "2026-04", out_s).await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("2026-01: NOT archived"), "{stdout}");
    assert!(stdout.contains("2026-02:"), "{stdout}");
    // One that still verifies (a blank line added: lines are what is
    // sealed) is caught by the file's digest.
    let blank = jan_text.replacen('\n', "\n\n", 1);
    std::fs::write(&jan, blank).unwrap();
    let (code, stdout, _) = archive(config, "2026-04", out_s).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("2026-01: NOT archived"), "{stdout}");
    assert!(stdout.contains("SHA-256"), "{stdout}");
}

/// A month whose last entries no signed checkpoint covers yet (a chain a
/// crash left open) verifies intact as an export but is not whole: it is
/// not archived (exit 1, no file), and the month is named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_not_wholly_under_signed_checkpoints_is_not_archived() {
    let env = Env::new().await;
    let mut cfg = gateway::config::Config::load(&env.config_path)
        .unwrap()
        .audit_config()
        .unwrap();
    cfg.checkpoint_every = 7;
    cfg.checkpoint_interval_ms = 3_600_000;
    let log = audit::AuditLog::open(&cfg).await.unwrap();
    for i in 0..20u64 {
        let mut e = filler_entry(i);
        e.time_ms = JAN + i64::try_from(i).unwrap() * 60_000;
        log.append(e).await.unwrap();
    }
    // A crash: no final checkpoint; entries 15..20 are under none.
    std::mem::forget(log);
    let config = env.config_path.to_str().unwrap();
    let out = env.tmp.path().join("archive");
    let (code, stdout, stderr) = archive(config, "2026-02", out.to_str().unwrap()).await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("2026-01: NOT archived") && stdout.contains("14 of the month's 20"),
        "{stdout}"
    );
    assert!(!out.join("credgate-audit-2026-01.jsonl").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_writes_each_whole_month_verified_sqlite() {
    let env = Env::new().await;
    archive_months(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_writes_each_whole_month_verified_postgres() {
    let Some(pg) = PgSchema::create("archive").await else {
        return;
    };
    let env = Env::with_store(Some(&pg.url)).await;
    archive_months(&env).await;
    pg.drop_now().await;
}
