//! Issue 15, part 1: the refusal budget. A certificate flooding the gateway
//! with refused requests gets one entry per refusal up to its budget, then
//! 429 `rate_limited` answers accounted for in summary entries (at most one
//! per certificate per second); the log stays within the budget, every
//! attempt is counted, and other officers keep full service.

use std::collections::HashSet;
use std::time::Instant;

use tests::client::Proto;
use tests::env::{Env, LEGAL_PERSON};

const RATE: u64 = 5;
const BURST: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_flood_stays_within_the_budget_and_every_attempt_is_accounted_for() {
    let env = Env::new().await;
    env.write_config(&format!(
        "refusal_rate = \"{RATE}/second\"\nrefusal_burst = {BURST}"
    ));
    let subject = format!("/v1/subjects/{LEGAL_PERSON}");
    env.upstream.json(
        &subject,
        200,
        &serde_json::json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person", "name": "x"}}),
    );
    let gw = env.start().await;
    let addr = gw.data_addr();

    // The flood: four clients of one certificate, 150 unrouted requests each.
    let started = Instant::now();
    let mut flood = Vec::new();
    for _ in 0..4 {
        let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
        flood.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..150 {
                let r = client
                    .get(addr, "/nowhere", &[("Inquiry-Purpose", "x")])
                    .await
                    .unwrap();
                got.push((
                    r.status,
                    r.code(),
                    r.header("retry-after").map(str::to_owned),
                    r.header("inquiry-id").unwrap().to_owned(),
                ));
            }
            got
        }));
    }
    // Meanwhile another officer is served as usual.
    let officer = env.client(Some("CS-RATE-0007"), Proto::Http1);
    let headers = [
        ("Inquiry-Purpose", "credit_service"),
        ("Inquiry-Case", "LOAN-1"),
    ];
    for _ in 0..10 {
        let r = officer.get(addr, &subject, &headers).await.unwrap();
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let mut answers = Vec::new();
    for f in flood {
        answers.extend(f.await.unwrap());
    }
    let elapsed = started.elapsed();
    gw.shutdown().await.unwrap();

    let refused: Vec<_> = answers.iter().filter(|a| a.0 == 404).collect();
    let limited: Vec<_> = answers.iter().filter(|a| a.0 == 429).collect();
    assert_eq!(
        refused.len() + limited.len(),
        600,
        "other statuses in the flood"
    );
    for (_, code, retry_after, _) in &limited {
        assert_eq!(code.as_deref(), Some("rate_limited"));
        let secs: u64 = retry_after.as_deref().unwrap().parse().unwrap();
        assert!(secs >= 1, "Retry-After {secs}");
    }
    assert!(!limited.is_empty(), "the budget never ran out");

    let entries = env.entries().await;
    let flooder: Vec<_> = entries
        .iter()
        .filter(|e| e.entry.officer_id == "HN-AMR-0001")
        .collect();
    let singles: Vec<_> = flooder
        .iter()
        .filter(|e| e.entry.reason != "refusals_summarised")
        .collect();
    let summaries: Vec<_> = flooder
        .iter()
        .filter(|e| e.entry.reason == "refusals_summarised")
        .collect();
    // Every 404 answered is an entry of its own.
    let logged: HashSet<&str> = singles
        .iter()
        .map(|e| e.entry.inquiry_id.as_str())
        .collect();
    for (_, _, _, id) in &refused {
        assert!(logged.contains(id.as_str()), "404 {id} not logged");
    }
    assert_eq!(singles.len(), refused.len());
    // The 429s are in the summaries: counts add up, first/last are theirs.
    let limited_ids: HashSet<&str> = limited.iter().map(|a| a.3.as_str()).collect();
    let mut summarised = 0u64;
    for s in &summaries {
        assert_eq!(s.entry.decision, audit::Decision::Deny);
        assert_eq!(s.entry.status, 429);
        let rule = &s.entry.rule;
        let count: u64 = rule
            .strip_prefix("refusal budget exceeded: ")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unparseable summary rule: {rule}"));
        summarised += count;
        let (first, last) = rule
            .rsplit_once("inquiry ids ")
            .and_then(|(_, ids)| ids.split_once(".."))
            .unwrap();
        assert!(limited_ids.contains(first), "{rule}");
        assert!(limited_ids.contains(last), "{rule}");
    }
    assert_eq!(
        summarised,
        limited.len() as u64,
        "429s not all accounted for"
    );
    // Within the budget: burst + rate × time, and one summary a second.
    let secs = elapsed.as_secs_f64().ceil() as u64 + 2;
    assert!(
        singles.len() as u64 <= BURST + RATE * secs,
        "{} single refusals in {elapsed:?}",
        singles.len()
    );
    assert!(
        summaries.len() as u64 <= secs,
        "{} summaries in {elapsed:?}",
        summaries.len()
    );
    eprintln!(
        "flood of 600 in {elapsed:?}: {} logged one by one, {} answered 429 in {} summaries; log entries {}",
        singles.len(),
        limited.len(),
        summaries.len(),
        entries.len()
    );
    // Other officer: ten 200s, ten entries.
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.entry.officer_id == "CS-RATE-0007" && e.entry.status == 200)
            .count(),
        10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_refusal_rate_is_a_config_error() {
    let env = Env::new().await;
    env.write_config("refusal_rate = \"lots\"");
    let err = gateway::config::Config::load(&env.config_path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[server] refusal_rate"), "{err}");
    assert!(err.contains("gateway.toml:"), "{err}");
    env.write_config("refusal_burst = 0");
    let err = gateway::config::Config::load(&env.config_path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[server] refusal_burst"), "{err}");
}

/// Any certificate the CA issued may ask the admin plane for health, also
/// one naming no officer of the policy: each check is logged, so each
/// spends the certificate's refusal budget (an outside probe wrote 2 000
/// allowed entries a second with `/healthz`). Past it: 429 and summary
/// entries; a probe a second stays far below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_cannot_flood_the_log() {
    let env = Env::new().await;
    env.write_config(&format!(
        "refusal_rate = \"{RATE}/second\"\nrefusal_burst = {BURST}"
    ));
    let gw = env.start().await;
    let admin = gw.admin_addr().unwrap();
    let nobody = env.client(Some("ZZ-NOBODY-9"), Proto::Http1);
    let mut statuses = Vec::new();
    for i in 0..40 {
        let path = if i % 2 == 0 { "/healthz" } else { "/readyz" };
        statuses.push(nobody.get(admin, path, &[]).await.unwrap().status);
    }
    let served = statuses.iter().filter(|s| **s == 200).count() as u64;
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(served as usize + limited, 40, "{statuses:?}");
    assert!(
        (BURST..=BURST + 2 * RATE).contains(&served),
        "{served} served: {statuses:?}"
    );
    // The log holds the served checks and at most a few summaries.
    let logged = tests::env::eventually(5, || async {
        env.entries()
            .await
            .iter()
            .any(|e| e.entry.reason == "refusals_summarised")
    })
    .await;
    assert!(logged, "no summary entry");
    let entries = env.entries().await;
    let health = entries
        .iter()
        .filter(|e| e.entry.path == "/healthz" || e.entry.path == "/readyz")
        .count() as u64;
    assert_eq!(health, served);
    assert!(
        entries.len() as u64 <= served + 3,
        "{} entries",
        entries.len()
    );
    gw.shutdown().await.unwrap();
}
