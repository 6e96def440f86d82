//! Misuse alerts end to end (issue 16): each kind fires exactly at its
//! threshold and not one below, as one `alert` entry on the chain, counted
//! in `credgate_alerts_total{rule}`, listed by `GET /audit/alerts` and
//! `credgate audit alerts`; `action = "suspend"` refuses the officer with a
//! logged 403 `officer_suspended` until `suspend_for` ends or `credgate
//! audit lift` lifts it; a window's count and a suspension survive a
//! restart.

use std::time::Duration;

use serde_json::json;
use tests::client::{Client, Proto};
use tests::env::{admin, Env, INSPECTOR_HEADERS, LEGAL_PERSON};
use tests::process::run;
use time::OffsetDateTime;

const BIN: &str = env!("CARGO_BIN_EXE_credgate-under-test");

/// Friday 2026-12-04 10:00 in the platform zone (+08:00): working hours.
const FRIDAY_10: OffsetDateTime = time::macros::datetime!(2026-12-04 02:00 UTC);

const RATER_HEADERS: [(&str, &str); 2] = [
    ("Inquiry-Purpose", "credit_service"),
    ("Inquiry-Case", "CR-2026-7"),
];

/// The `n`th valid unified social credit code (GB 32100).
fn legal(n: u32) -> String {
    let first17 = format!("91430100MA4L0XX{:02}", n % 100);
    let check = policy::gb32100_check_char(&first17).unwrap();
    format!("{first17}{check}")
}

/// Start a gateway at `at` with the conformance policy plus `alerts`; the
/// upstream answers subjects 0..20 and [`LEGAL_PERSON`].
async fn gateway(
    env: &Env,
    alerts: &str,
    at: OffsetDateTime,
) -> (gateway::server::Running, gateway::server::Clock) {
    env.write_policy(&format!("{}\n{alerts}", Env::conformance_policy()));
    for n in 0..20 {
        answer(env, &legal(n));
    }
    answer(env, LEGAL_PERSON);
    let clock = gateway::server::Clock::manual(at);
    (env.start_with_clock(clock.clone()).await, clock)
}

fn answer(env: &Env, id: &str) {
    env.upstream.json(
        &format!("/v1/subjects/{id}"),
        200,
        &json!({"subject": {"id": id, "type": "legal_person"}}),
    );
}

async fn ask(
    client: &Client,
    gw: &gateway::server::Running,
    subject: &str,
    headers: &[(&str, &str)],
) -> tests::client::Resp {
    client
        .get(gw.data_addr(), &format!("/v1/subjects/{subject}"), headers)
        .await
        .unwrap()
}

/// `credgate audit lift`: (exit, stdout, stderr).
async fn lift_cli(config: &str, officer: &str, reason: &str) -> (Option<i32>, String, String) {
    run(
        BIN,
        &[
            "audit",
            "lift",
            "--config",
            config,
            "--officer",
            officer,
            "--reason",
            reason,
        ],
    )
    .await
}

async fn alert_entries(env: &Env) -> Vec<audit::NewEntry> {
    env.entries()
        .await
        .into_iter()
        .map(|e| e.entry)
        .filter(|e| e.plane == "alert" && e.reason == "alert")
        .collect()
}

/// Waits for `n` alert entries, then a little longer to see no more come.
async fn expect_alerts(env: &Env, n: usize) -> Vec<audit::NewEntry> {
    if n > 0 {
        let reached =
            tests::env::eventually(10, || async { alert_entries(env).await.len() >= n }).await;
        assert!(reached, "fewer than {n} alert entries");
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let found = alert_entries(env).await;
    assert_eq!(found.len(), n, "{found:#?}");
    found
}

async fn metrics(env: &Env, gw: &gateway::server::Running) -> String {
    let c = env.client(Some("CMP-0001"), Proto::Http1);
    let r = c.get(admin(gw), "/metrics", &[]).await.unwrap();
    assert_eq!(r.status, 200);
    String::from_utf8(r.body.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_subjects_fires_at_its_threshold_and_is_listed() {
    let env = Env::new().await;
    let rules = r#"
[[alerts]]
name = "bulk-lookup"
kind = "distinct_subjects"
threshold = 3
window = "1h"
"#;
    let (gw, clock) = gateway(&env, rules, FRIDAY_10).await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let first = ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await;
    assert_eq!(first.status, 200);
    // A repeated subject and a refused inquiry do not count.
    assert_eq!(
        ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await.status,
        200
    );
    let refused = [("Inquiry-Purpose", "gossip"), ("Inquiry-Case", "x")];
    assert_eq!(ask(&c, &gw, &legal(9), &refused).await.status, 403);
    clock.set(FRIDAY_10 + time::Duration::minutes(30));
    assert_eq!(
        ask(&c, &gw, &legal(2), &INSPECTOR_HEADERS).await.status,
        200
    );
    expect_alerts(&env, 0).await;
    assert!(metrics(&env, &gw)
        .await
        .contains("credgate_alerts_total{rule=\"bulk-lookup\"} 0"));

    let third = ask(&c, &gw, &legal(3), &INSPECTOR_HEADERS).await;
    assert_eq!(third.status, 200);
    let found = expect_alerts(&env, 1).await;
    let a = &found[0];
    assert_eq!(a.officer_id, "HN-AMR-0001");
    assert_eq!(a.path, "/alerts/bulk-lookup");
    let first_id = first.header("inquiry-id").unwrap();
    let third_id = third.header("inquiry-id").unwrap();
    assert_eq!(
        a.rule,
        format!("bulk-lookup: distinct_subjects 3 within 1h, inquiries {first_id}..{third_id}, action alert")
    );
    assert!(metrics(&env, &gw)
        .await
        .contains("credgate_alerts_total{rule=\"bulk-lookup\"} 1"));

    // Listed over HTTP (compliance identity) and by the CLI.
    let cmp = env.client(Some("CMP-0001"), Proto::Http1);
    let r = cmp
        .get(
            admin(&gw),
            "/audit/alerts?rule=bulk-lookup&from=2026-12-04",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    let list = r.json()["alerts"].clone();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["kind"], "distinct_subjects");
    assert_eq!(list[0]["count"], 3);
    assert_eq!(list[0]["officer"], "HN-AMR-0001");
    assert_eq!(list[0]["first_inquiry"], first_id);
    assert_eq!(list[0]["last_inquiry"], third_id);
    assert_eq!(list[0]["action"], "alert");
    let none = cmp
        .get(admin(&gw), "/audit/alerts?rule=probing", &[])
        .await
        .unwrap();
    assert_eq!(none.json()["alerts"], json!([]));
    let data = env.client(Some("HN-AMR-0001"), Proto::Http1);
    assert_eq!(
        data.get(admin(&gw), "/audit/alerts", &[])
            .await
            .unwrap()
            .status,
        403
    );
    let config = env.config_path.to_str().unwrap();
    let (code, out, err) = run(BIN, &["audit", "alerts", "--config", config]).await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("bulk-lookup  distinct_subjects  officer=HN-AMR-0001"),
        "{out}"
    );
    assert!(
        out.contains(&format!("inquiries={first_id}..{third_id}")),
        "{out}"
    );
    let (code, out, _) = run(
        BIN,
        &["audit", "alerts", "--config", config, "--rule", "other"],
    )
    .await;
    assert_eq!((code, out.as_str()), (Some(0), ""));

    // Counted anew from the firing: two more subjects are not enough.
    assert_eq!(
        ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await.status,
        200
    );
    assert_eq!(
        ask(&c, &gw, &legal(2), &INSPECTOR_HEADERS).await.status,
        200
    );
    expect_alerts(&env, 1).await;
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_fire_at_their_threshold() {
    let env = Env::new().await;
    let rules = r#"
[[alerts]]
name = "probing"
kind = "refusals"
threshold = 3
window = "10m"
"#;
    let (gw, _clock) = gateway(&env, rules, FRIDAY_10).await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let refused = [("Inquiry-Purpose", "gossip"), ("Inquiry-Case", "x")];
    assert_eq!(ask(&c, &gw, &legal(1), &refused).await.status, 403);
    assert_eq!(
        ask(&c, &gw, &legal(2), &INSPECTOR_HEADERS).await.status,
        200
    );
    assert_eq!(ask(&c, &gw, &legal(2), &refused).await.status, 403);
    expect_alerts(&env, 0).await;
    let last = ask(&c, &gw, &legal(3), &refused).await;
    assert_eq!(last.status, 403);
    let found = expect_alerts(&env, 1).await;
    assert!(found[0]
        .rule
        .starts_with("probing: refusals 3 within 10m, inquiries "));
    assert!(found[0].rule.ends_with(&format!(
        "..{}, action alert",
        last.header("inquiry-id").unwrap()
    )));
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_hours_fires_on_an_inquiry_outside_the_working_time() {
    let env = Env::new().await;
    let rules = r#"
[[alerts]]
name = "night-work"
kind = "off_hours"
hours = "08:00-20:00"
days = "mon-fri"
"#;
    let (gw, clock) = gateway(&env, rules, FRIDAY_10).await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    assert_eq!(
        ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await.status,
        200
    );
    // 19:59 Friday local: still working time.
    clock.set(FRIDAY_10 + time::Duration::minutes(9 * 60 + 59));
    assert_eq!(
        ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await.status,
        200
    );
    expect_alerts(&env, 0).await;
    // Saturday 10:00 local.
    clock.set(FRIDAY_10 + time::Duration::days(1));
    let sat = ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await;
    assert_eq!(sat.status, 200);
    let found = expect_alerts(&env, 1).await;
    let id = sat.header("inquiry-id").unwrap();
    assert_eq!(
        found[0].rule,
        format!("night-work: off_hours 1 within 1h, inquiries {id}..{id}, action alert")
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_units_fires_when_enough_units_ask_about_one_subject() {
    let env = Env::new().await;
    let rules = r#"
[[alerts]]
name = "hotspot"
kind = "subject_units"
threshold = 2
window = "24h"
"#;
    let (gw, _clock) = gateway(&env, rules, FRIDAY_10).await;
    let inspector = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let rater = env.client(Some("CS-RATE-0007"), Proto::Http1);
    // One unit, twice; another unit about another subject.
    assert_eq!(
        ask(&inspector, &gw, LEGAL_PERSON, &INSPECTOR_HEADERS)
            .await
            .status,
        200
    );
    assert_eq!(
        ask(&inspector, &gw, LEGAL_PERSON, &INSPECTOR_HEADERS)
            .await
            .status,
        200
    );
    assert_eq!(
        ask(&rater, &gw, &legal(4), &RATER_HEADERS).await.status,
        200
    );
    expect_alerts(&env, 0).await;
    assert_eq!(
        ask(&rater, &gw, LEGAL_PERSON, &RATER_HEADERS).await.status,
        200
    );
    let found = expect_alerts(&env, 1).await;
    assert_eq!(found[0].subject_id.as_deref(), Some(LEGAL_PERSON));
    assert_eq!(found[0].officer_id, "CS-RATE-0007");
    // The window as the policy spells it (`24h`, not `1d`).
    assert!(
        found[0]
            .rule
            .starts_with("hotspot: subject_units 2 within 24h"),
        "{}",
        found[0].rule
    );
    gw.shutdown().await.unwrap();
}

const SUSPEND: &str = r#"
[[alerts]]
name = "bulk-lookup"
kind = "distinct_subjects"
threshold = 2
window = "1h"
action = "suspend"
suspend_for = "4h"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_refuses_until_lifted_or_over() {
    let env = Env::new().await;
    let (gw, clock) = gateway(&env, SUSPEND, FRIDAY_10).await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let other = env.client(Some("CS-RATE-0007"), Proto::Http1);
    assert_eq!(
        ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await.status,
        200
    );
    assert_eq!(
        ask(&c, &gw, &legal(2), &INSPECTOR_HEADERS).await.status,
        200
    );
    let found = expect_alerts(&env, 1).await;
    assert!(
        found[0]
            .rule
            .ends_with("action suspend until 2026-12-04T06:00:00Z"),
        "{}",
        found[0].rule
    );
    assert_eq!(found[0].status, 403);

    let refused = ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.code().as_deref(), Some("officer_suspended"));
    let logged = env.entry(refused.header("inquiry-id").unwrap()).await;
    assert_eq!(logged.reason, "officer_suspended");
    assert_eq!(logged.decision, audit::Decision::Deny);
    assert!(logged.rule.contains("bulk-lookup"), "{}", logged.rule);
    assert!(
        logged.rule.contains("2026-12-04T06:00:00"),
        "{}",
        logged.rule
    );
    // Only that officer.
    assert_eq!(
        ask(&other, &gw, &legal(1), &RATER_HEADERS).await.status,
        200
    );
    // The console shows the end in the platform's zone, and says which (an
    // outside probe: a bare time next to UTC ones elsewhere).
    let auditor = env.client(Some("CMP-0001"), Proto::Http1);
    for path in ["/console/officers/HN-AMR-0001?lang=en", "/console/?lang=en"] {
        let page = auditor.get(admin(&gw), path, &[]).await.unwrap();
        let page = String::from_utf8(page.body.to_vec()).unwrap();
        assert!(
            page.contains("2026-12-04 14:00:00 (UTC+08:00)"),
            "{path}: {page}"
        );
    }

    // A compliance officer lifts it; the gateway notices within a second.
    let config = env.config_path.to_str().unwrap();
    let (code, out, err) = lift_cli(
        config,
        "HN-AMR-0001",
        "bulk checks ordered by case HN-2026-00123",
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    let lifted = tests::env::eventually(10, || async {
        ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await.status == 200
    })
    .await;
    assert!(lifted, "still suspended after the lift");
    // The officer's console page lists the lift: when, by whom, why (an
    // outside probe: it showed only as a row of the search).
    let page = auditor
        .get(admin(&gw), "/console/officers/HN-AMR-0001?lang=en", &[])
        .await
        .unwrap();
    let page = String::from_utf8(page.body.to_vec()).unwrap();
    let lifts = page.split("Suspensions lifted").nth(1).unwrap_or_default();
    assert!(
        lifts.contains("bulk checks ordered by case HN-2026-00123") && lifts.contains("operator "),
        "{page}"
    );
    let lift = env
        .entries()
        .await
        .into_iter()
        .map(|e| e.entry)
        .find(|e| e.reason == "lift")
        .unwrap();
    assert_eq!(lift.plane, "alert");
    assert_eq!(lift.officer_id, "HN-AMR-0001");
    // Who lifted it, as the machine knows them: the process's user id.
    let uid = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").unwrap().uid()
    };
    assert!(lift.unit.starts_with("operator "), "{}", lift.unit);
    assert!(lift.unit.contains(&format!("uid {uid}")), "{}", lift.unit);
    assert_eq!(
        lift.rule,
        "lift officer HN-AMR-0001: bulk checks ordered by case HN-2026-00123"
    );
    // Lifted already (and never suspended, for another officer): nothing to
    // lift, exit 1, no second lift entry.
    for officer in ["HN-AMR-0001", "CS-RATE-0007"] {
        let (code, _, err) = lift_cli(config, officer, "again").await;
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("is not suspended"), "{err}");
    }
    let lifts = env
        .entries()
        .await
        .into_iter()
        .filter(|e| e.entry.reason == "lift")
        .count();
    assert_eq!(lifts, 1);
    let (code, _, err) = lift_cli(config, "HN-AMR-0001", " ").await;
    assert_eq!(code, Some(1), "{err}");

    // Counted anew from the lift (the inquiry served above is the first):
    // fires again at the second subject, and this suspension ends with
    // `suspend_for`.
    assert_eq!(
        ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await.status,
        200
    );
    expect_alerts(&env, 1).await;
    assert_eq!(
        ask(&c, &gw, &legal(6), &INSPECTOR_HEADERS).await.status,
        200
    );
    expect_alerts(&env, 2).await;
    assert_eq!(
        ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await.status,
        403
    );
    clock.set(FRIDAY_10 + time::Duration::hours(4) + time::Duration::seconds(1));
    assert_eq!(
        ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await.status,
        200
    );
    // The lift was written by another process while this gateway was
    // writing its chain: it must not have sealed that live chain (every
    // later entry of a sealed chain reads as tampering).
    let (code, out, err) = run(BIN, &["audit", "verify", "--config", config]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("intact"), "{out}{err}");
    gw.shutdown().await.unwrap();
    let (code, out, err) = run(BIN, &["audit", "verify", "--config", config]).await;
    assert_eq!(code, Some(0), "after shutdown: {out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_and_suspensions_survive_a_restart() {
    let env = Env::new().await;
    let rules = r#"
[[alerts]]
name = "bulk-lookup"
kind = "distinct_subjects"
threshold = 3
window = "1h"
action = "suspend"
suspend_for = "4h"
"#;
    let (gw, _clock) = gateway(&env, rules, FRIDAY_10).await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let first = ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        ask(&c, &gw, &legal(2), &INSPECTOR_HEADERS).await.status,
        200
    );
    gw.shutdown().await.unwrap();

    // Restarted in the middle of the window: the third subject fires.
    let later = FRIDAY_10 + time::Duration::minutes(20);
    let clock = gateway::server::Clock::manual(later);
    let gw = env.start_with_clock(clock.clone()).await;
    let third = ask(&c, &gw, &legal(3), &INSPECTOR_HEADERS).await;
    assert_eq!(third.status, 200);
    let found = expect_alerts(&env, 1).await;
    assert_eq!(
        found[0].rule,
        format!(
            "bulk-lookup: distinct_subjects 3 within 1h, inquiries {}..{}, action suspend until 2026-12-04T06:20:00Z",
            first.header("inquiry-id").unwrap(),
            third.header("inquiry-id").unwrap()
        )
    );
    assert_eq!(
        ask(&c, &gw, &legal(4), &INSPECTOR_HEADERS).await.status,
        403
    );
    gw.shutdown().await.unwrap();

    // And the suspension survives the next restart.
    let clock = gateway::server::Clock::manual(later + time::Duration::minutes(1));
    let gw = env.start_with_clock(clock.clone()).await;
    let r = ask(&c, &gw, &legal(4), &INSPECTOR_HEADERS).await;
    assert_eq!(r.code().as_deref(), Some("officer_suspended"));
    // The refusals while suspended did not start a new window of subjects,
    // and no firing was repeated by the rebuilds.
    expect_alerts(&env, 1).await;
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_come_and_go_with_a_policy_reload() {
    let env = Env::new().await;
    let (gw, _clock) = gateway(&env, "", FRIDAY_10).await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let refused = [("Inquiry-Purpose", "gossip"), ("Inquiry-Case", "x")];
    for n in 0..3 {
        assert_eq!(ask(&c, &gw, &legal(n), &refused).await.status, 403);
    }
    expect_alerts(&env, 0).await;
    env.write_policy(&format!(
        "{}\n[[alerts]]\nname = \"probing\"\nkind = \"refusals\"\nthreshold = 2\nwindow = \"10m\"\n",
        Env::conformance_policy()
    ));
    gw.reload_async().await.unwrap();
    // Refusals from before the rules existed were not counted.
    assert_eq!(ask(&c, &gw, &legal(1), &refused).await.status, 403);
    expect_alerts(&env, 0).await;
    assert_eq!(ask(&c, &gw, &legal(2), &refused).await.status, 403);
    expect_alerts(&env, 1).await;
    // A bad rule is refused with its line; the running rules stay.
    env.write_policy(&format!(
        "{}\n[[alerts]]\nname = \"probing\"\nkind = \"refusals\"\nthreshold = 0\nwindow = \"10m\"\n",
        Env::conformance_policy()
    ));
    let err = gw.reload_async().await.unwrap_err().to_string();
    assert!(
        err.contains("alert `probing`: `threshold` must be"),
        "{err}"
    );
    // Monitoring sees that the gateway runs on its previous policy (an
    // outside probe: only the process log said so).
    let text = metrics(&env, &gw).await;
    assert!(
        text.contains("credgate_reload_last_ok{what=\"policy\"} 0")
            && text.contains("credgate_reload_failures_total{what=\"policy\"} 1"),
        "{text}"
    );
    assert_eq!(ask(&c, &gw, &legal(1), &refused).await.status, 403);
    assert_eq!(ask(&c, &gw, &legal(2), &refused).await.status, 403);
    expect_alerts(&env, 2).await;
    gw.shutdown().await.unwrap();
}

/// A rule added by a reload acts from then on, whichever gateway evaluates
/// it later: the rebuild at the next start (or a cluster's new alert
/// leader) counts the log's window, but writes late only the firings of
/// the log's last two minutes (the crash gap), never the ones no gateway fired
/// because the rule did not exist yet. (It wrote one alert entry per
/// threshold's worth of the window's refusals, backdated.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_added_by_a_reload_fires_no_backdated_alerts_at_the_next_start() {
    let env = Env::new().await;
    let (gw, clock) = gateway(&env, "", FRIDAY_10).await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let refused = [("Inquiry-Purpose", "gossip"), ("Inquiry-Case", "x")];
    // Nine refusals a minute apart, no rule yet.
    for n in 0..9 {
        clock.set(FRIDAY_10 + time::Duration::minutes(n));
        assert_eq!(ask(&c, &gw, &legal(n as u32), &refused).await.status, 403);
    }
    env.write_policy(&format!(
        "{}\n[[alerts]]\nname = \"probing\"\nkind = \"refusals\"\nthreshold = 3\nwindow = \"10m\"\n",
        Env::conformance_policy()
    ));
    gw.reload_async().await.unwrap();
    // One more, 3 minutes later: the new rule's window holds it alone.
    clock.set(FRIDAY_10 + time::Duration::minutes(11));
    assert_eq!(ask(&c, &gw, &legal(9), &refused).await.status, 403);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(alert_entries(&env).await.is_empty());
    gw.shutdown().await.unwrap();

    // The replay (window: minutes 2 to 12) reproduces firings at the 3rd
    // and 6th refusal it sees, minutes 4 and 7: further back than the log's
    // last two minutes, so they were no crash's loss.
    let clock = gateway::server::Clock::manual(FRIDAY_10 + time::Duration::minutes(12));
    let gw = env.start_with_clock(clock).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let found = alert_entries(&env).await;
    assert!(
        found.is_empty(),
        "backdated: {:?}",
        found.iter().map(|e| &e.rule).collect::<Vec<_>>()
    );
    gw.shutdown().await.unwrap();
}

/// The outside probe of 2026-12-06: three refusals, then a `suspend` rule
/// added by a reload (the officer is not suspended: the rule counts from
/// its adoption), then a restart within two minutes. The rebuild counted
/// the three refusals, found a firing the log lacked and wrote it late,
/// suspending the officer — a firing no gateway made. A clean shutdown
/// evaluated everything it committed: nothing is written late for its
/// chain. Likewise a lifted officer stays lifted across the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_a_clean_shutdown_fires_nothing_the_running_gateway_did_not() {
    let env = Env::new().await;
    let (gw, clock) = gateway(&env, "", FRIDAY_10).await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let refused = [("Inquiry-Purpose", "gossip"), ("Inquiry-Case", "x")];
    for n in 0..3 {
        assert_eq!(ask(&c, &gw, &legal(n), &refused).await.status, 403);
    }
    let probing = "\n[[alerts]]\nname = \"probing\"\nkind = \"refusals\"\nthreshold = 3\nwindow = \"10m\"\naction = \"suspend\"\nsuspend_for = \"1h\"\n";
    env.write_policy(&format!("{}{probing}", Env::conformance_policy()));
    gw.reload_async().await.unwrap();
    clock.set(FRIDAY_10 + time::Duration::seconds(20));
    assert_eq!(
        ask(&c, &gw, &legal(5), &INSPECTOR_HEADERS).await.status,
        200
    );
    gw.shutdown().await.unwrap();

    let clock = gateway::server::Clock::manual(FRIDAY_10 + time::Duration::seconds(30));
    let gw = env.start_with_clock(clock.clone()).await;
    let r = ask(&c, &gw, &legal(6), &INSPECTOR_HEADERS).await;
    assert_eq!(r.status, 200, "{:?}", r.code());
    expect_alerts(&env, 0).await;

    // Now the rule fires live (three refusals after its adoption), the
    // officer is lifted, and a restart keeps the lift.
    for n in 0..3 {
        assert_eq!(ask(&c, &gw, &legal(n), &refused).await.status, 403);
    }
    expect_alerts(&env, 1).await;
    assert_eq!(
        ask(&c, &gw, &legal(7), &INSPECTOR_HEADERS)
            .await
            .code()
            .as_deref(),
        Some("officer_suspended")
    );
    let (code, _, err) = lift_cli(
        env.config_path.to_str().unwrap(),
        "HN-AMR-0001",
        "probe test",
    )
    .await;
    assert_eq!(code, Some(0), "{err}");
    let lifted = tests::env::eventually(10, || async {
        ask(&c, &gw, &legal(8), &INSPECTOR_HEADERS).await.status == 200
    })
    .await;
    assert!(lifted, "the lift did not reach the gateway");
    gw.shutdown().await.unwrap();
    let gw = env.start_with_clock(clock).await;
    let r = ask(&c, &gw, &legal(9), &INSPECTOR_HEADERS).await;
    assert_eq!(r.status, 200, "{:?}", r.code());
    expect_alerts(&env, 1).await;
    gw.shutdown().await.unwrap();
}

/// The final outside probe of 2026-12-06 (twice): four refusals, a
/// `suspend` rule (five refusals) added by a reload, one refusal. Live, the
/// rule had counted one; the rebuild at the next start counted all five and
/// the next refusal suspended the officer. The reload's adoption is in the
/// log now, and the rebuild counts from it as the running gateway did: the
/// officer is suspended at the fifth refusal after the reload, not before,
/// with or without a restart in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_added_by_a_reload_counts_the_same_inquiries_after_a_restart() {
    let env = Env::new().await;
    let (gw, clock) = gateway(&env, "", FRIDAY_10).await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let refused = [("Inquiry-Purpose", "gossip"), ("Inquiry-Case", "x")];
    for n in 0..4 {
        assert_eq!(ask(&c, &gw, &legal(n), &refused).await.status, 403);
    }
    let probing = "\n[[alerts]]\nname = \"probing\"\nkind = \"refusals\"\nthreshold = 5\nwindow = \"10m\"\naction = \"suspend\"\nsuspend_for = \"1h\"\n";
    env.write_policy(&format!("{}{probing}", Env::conformance_policy()));
    gw.reload_async().await.unwrap();
    clock.set(FRIDAY_10 + time::Duration::seconds(20));
    assert_eq!(ask(&c, &gw, &legal(4), &refused).await.status, 403);
    // The adoption is logged, once, as an alert-plane entry that is no alert.
    let adoptions = || async {
        env.entries()
            .await
            .into_iter()
            .map(|e| e.entry)
            .filter(|e| e.reason == "rule_adopted")
            .collect::<Vec<_>>()
    };
    tests::env::eventually(10, || async { !adoptions().await.is_empty() }).await;
    let adopted = adoptions().await;
    assert_eq!(adopted.len(), 1, "{adopted:?}");
    assert_eq!(adopted[0].plane, "alert");
    assert_eq!(adopted[0].path, "/alerts/probing");
    gw.shutdown().await.unwrap();

    // Restarted within the window: the rule has counted one refusal.
    let clock = gateway::server::Clock::manual(FRIDAY_10 + time::Duration::seconds(30));
    let gw = env.start_with_clock(clock.clone()).await;
    for n in 5..8 {
        assert_eq!(ask(&c, &gw, &legal(n), &refused).await.status, 403);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let r = ask(&c, &gw, &legal(1), &INSPECTOR_HEADERS).await;
    assert_eq!(r.status, 200, "suspended early: {:?}", r.code());
    expect_alerts(&env, 0).await;
    // The fifth refusal since the reload fires, and suspends.
    assert_eq!(ask(&c, &gw, &legal(8), &refused).await.status, 403);
    let found = expect_alerts(&env, 1).await;
    assert!(
        found[0].rule.starts_with("probing: refusals 5"),
        "{}",
        found[0].rule
    );
    let suspended = tests::env::eventually(10, || async {
        ask(&c, &gw, &legal(2), &INSPECTOR_HEADERS)
            .await
            .code()
            .as_deref()
            == Some("officer_suspended")
    })
    .await;
    assert!(suspended, "not suspended at the fifth refusal");
    gw.shutdown().await.unwrap();
}

/// The state is rebuilt at start page by page (4 096 entries a page): a
/// window whose count crosses the threshold only in its last page still
/// fires. 4 500 inquiries about one subject, then 199 about other ones,
/// all within the hour, written while no gateway ran: the restart's replay
/// sees 200 distinct subjects and writes the firing it finds missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_is_rebuilt_across_pages_of_the_log() {
    let env = Env::new().await;
    let rules = r#"
[[alerts]]
name = "bulk-lookup"
kind = "distinct_subjects"
threshold = 200
window = "1h"
"#;
    env.write_policy(&format!("{}\n{rules}", Env::conformance_policy()));
    let start_ms = FRIDAY_10.unix_timestamp() * 1000;
    {
        let cfg = env.config().audit_config().unwrap();
        let log = audit::AuditLog::open(&cfg).await.unwrap();
        let subject = |n: u32| {
            // Valid codes, distinct for n in 0..200.
            let first17 = format!("91430100MA4L{:05}", n);
            let check = policy::gb32100_check_char(&first17).unwrap();
            format!("{first17}{check}")
        };
        for i in 0..4_699u32 {
            let mut e = tests::env::filler_entry(u64::from(i));
            e.time_ms = start_ms + i64::from(i) * 100;
            e.subject_id = Some(if i < 4_500 {
                subject(0)
            } else {
                subject(i - 4_499)
            });
            e.path = format!("/v1/subjects/{}", e.subject_id.as_deref().unwrap());
            log.append(e).await.unwrap();
        }
        log.close().await.unwrap();
    }
    // As if its gateway was killed before evaluating them: no final
    // checkpoint (a clean shutdown evaluates everything it committed, and
    // the rebuild writes late firings only for a crash's chain).
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&env.store_url())
            .await
            .unwrap();
        let done = sqlx::query("DELETE FROM notes WHERE kind = 'final'")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
        conn.close().await.unwrap();
    }
    assert!(alert_entries(&env).await.is_empty());
    // Started 10 minutes after the first of them: all in the window.
    let clock = gateway::server::Clock::manual(FRIDAY_10 + time::Duration::minutes(10));
    let gw = env.start_with_clock(clock).await;
    let found = expect_alerts(&env, 1).await;
    assert!(
        found[0]
            .rule
            .starts_with("bulk-lookup: distinct_subjects 200 within 1h, inquiries fill-000000000000..fill-000000004698"),
        "{}",
        found[0].rule
    );
    gw.shutdown().await.unwrap();
}

/// An outside probe: a suspended officer's requests refused before the
/// suspension is looked at (a missing `Inquiry-Purpose`) still counted
/// for `refusals`, fired it again and pushed the suspension's end out
/// (four alerts in 20 s). A suspended officer's attempts count for no
/// rule, live and in the rebuild at the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_officer_cannot_extend_the_suspension_by_trying() {
    let env = Env::new().await;
    let rules = "[[alerts]]\nname = \"probing\"\nkind = \"refusals\"\nthreshold = 2\nwindow = \"10m\"\naction = \"suspend\"\nsuspend_for = \"1h\"\n";
    let (gw, clock) = gateway(&env, rules, FRIDAY_10).await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let refused = [("Inquiry-Purpose", "gossip"), ("Inquiry-Case", "x")];
    for n in 0..2 {
        assert_eq!(ask(&c, &gw, &legal(n), &refused).await.status, 403);
    }
    let first = expect_alerts(&env, 1).await;
    // Malformed attempts while suspended, a few seconds apart.
    let no_purpose = [("Inquiry-Case", "x")];
    for n in 0..6 {
        clock.set(FRIDAY_10 + time::Duration::seconds(10 * (n + 1)));
        assert_eq!(ask(&c, &gw, &legal(2), &no_purpose).await.status, 400);
    }
    let found = expect_alerts(&env, 1).await;
    assert_eq!(found[0].rule, first[0].rule);
    gw.shutdown().await.unwrap();
    // The rebuild skips them too.
    let clock = gateway::server::Clock::manual(FRIDAY_10 + time::Duration::minutes(2));
    let gw = env.start_with_clock(clock).await;
    let r = ask(&c, &gw, &legal(3), &INSPECTOR_HEADERS).await;
    assert_eq!(r.code().as_deref(), Some("officer_suspended"));
    expect_alerts(&env, 1).await;
    gw.shutdown().await.unwrap();
}
