//! Wiring: policy, redaction and the inquiry log end to end over real TLS —
//! every conformance case at its own `now` (a manual gateway clock), one log entry per request, rate
//! limits, policy reload, an unavailable store, and the planes' role checks.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use tests::client::Proto;
use tests::env::{Env, PgSchema, INSPECTOR_HEADERS, LEGAL_PERSON};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn subject_path() -> String {
    format!("/v1/subjects/{LEGAL_PERSON}")
}

fn subject_body() -> Value {
    json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person", "name": "长沙星辰建材有限公司",
                       "religion": "none", "id_number": "430102198506123011"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conformance_case_end_to_end() {
    let env = Env::new().await;
    let clock = gateway::server::Clock::manual(OffsetDateTime::UNIX_EPOCH);
    let gw = env.start_with_clock(clock.clone()).await;
    let mut files: Vec<_> = std::fs::read_dir(tests::conformance("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 18);
    for file in files {
        let case: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let name = case["name"].as_str().unwrap();
        let now = OffsetDateTime::parse(case["now"].as_str().unwrap(), &Rfc3339).unwrap();
        clock.set(now);
        let req = &case["request"];
        let path = req["path"].as_str().unwrap();
        let route = path.split('?').next().unwrap();
        env.upstream.clear_seen();
        if let Some(up) = case["upstream"].as_object() {
            let status = up["status"].as_u64().unwrap() as u16;
            let body = match up.get("raw") {
                Some(raw) => raw.as_str().unwrap().as_bytes().to_vec(),
                None => serde_json::to_vec(&up["body"]).unwrap(),
            };
            env.upstream.raw(route, status, body, Duration::ZERO);
        }
        let headers: Vec<(&str, &str)> = req["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        let client = env.client(Some(case["officer"].as_str().unwrap()), Proto::Http1);
        let resp = client
            .request(
                req["method"].as_str().unwrap(),
                gw.data_addr(),
                path,
                &headers,
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        if case["upstream"].is_null() {
            assert!(env.upstream.seen().is_empty(), "{name}: upstream was asked");
        }
        let id = resp
            .header("inquiry-id")
            .unwrap_or_else(|| panic!("{name}: no Inquiry-Id"));
        let entry = env.entry(id).await;
        tests::assert_case_answer(&case, resp.status, &resp.body, &entry);
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_follow_the_gateway_clock_not_the_wall_clock() {
    // HN-AMR-0002's authority runs 2024-01-01..=2025-12-31: the same request
    // is served inside that period and refused after it.
    let env = Env::new().await;
    let clock = gateway::server::Clock::manual(time::macros::datetime!(2025-06-01 00:00 UTC));
    let gw = env.start_with_clock(clock.clone()).await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    let client = env.client(Some("HN-AMR-0002"), Proto::Http1);
    let r = client
        .request("GET", gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    clock.set(time::macros::datetime!(2026-01-01 00:00 UTC));
    let r = client
        .request("GET", gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert_eq!(r.code().as_deref(), Some("officer_not_valid"));
    let entry = env.entry(r.header("inquiry-id").unwrap()).await;
    assert_eq!(entry.time_ms, 1_767_225_600_000);
    gw.shutdown().await.unwrap();
}

/// One request of a scripted sequence: client, method, address, path, headers.
type Step<'a> = (
    &'a tests::client::Client,
    &'static str,
    std::net::SocketAddr,
    String,
    Vec<(&'static str, &'static str)>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_mixed_requests_give_exactly_n_entries() {
    let env = Env::new().await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    env.upstream
        .raw("/v1/records/r-9", 200, b"not json".to_vec(), Duration::ZERO);
    let gw = env.start().await;
    let inspector = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let inspector2 = env.client(Some("HN-AMR-0001"), Proto::Http2);
    let unknown = env.client(Some("ZZ-NOBODY-9"), Proto::Http1);
    let auditor = env.client(Some("CMP-0001"), Proto::Http1);
    let addr = gw.data_addr();
    let admin = gw.admin_addr().unwrap();
    let mut ids = Vec::new();
    let mut statuses = Vec::new();
    let plan: Vec<Step> = vec![
        (
            &inspector,
            "GET",
            addr,
            subject_path(),
            INSPECTOR_HEADERS.to_vec(),
        ),
        (
            &inspector2,
            "GET",
            addr,
            subject_path(),
            INSPECTOR_HEADERS.to_vec(),
        ),
        (
            &inspector,
            "POST",
            addr,
            subject_path(),
            INSPECTOR_HEADERS.to_vec(),
        ),
        (
            &inspector,
            "GET",
            addr,
            "/v2/elsewhere".into(),
            INSPECTOR_HEADERS.to_vec(),
        ),
        (&inspector, "GET", addr, subject_path(), vec![]),
        (
            &inspector,
            "GET",
            addr,
            "/v1/records/r-9".into(),
            INSPECTOR_HEADERS.to_vec(),
        ),
        (
            &unknown,
            "GET",
            addr,
            subject_path(),
            INSPECTOR_HEADERS.to_vec(),
        ),
        (
            &auditor,
            "GET",
            addr,
            subject_path(),
            INSPECTOR_HEADERS.to_vec(),
        ),
        (&auditor, "GET", admin, "/healthz".into(), vec![]),
        (
            &auditor,
            "GET",
            admin,
            "/audit/entries?officer=HN-AMR-0001".into(),
            vec![],
        ),
        (&inspector, "GET", admin, "/audit/entries".into(), vec![]),
    ];
    let n = plan.len();
    for (client, method, a, path, headers) in &plan {
        let resp = client.request(method, *a, path, headers).await.unwrap();
        ids.push(resp.header("inquiry-id").unwrap().to_string());
        statuses.push(resp.status);
    }
    assert_eq!(
        statuses,
        vec![200, 200, 405, 404, 400, 502, 403, 403, 200, 200, 403]
    );
    let entries = env.entries().await;
    assert_eq!(entries.len(), n);
    let logged: BTreeSet<_> = entries.iter().map(|e| e.entry.inquiry_id.clone()).collect();
    for id in &ids {
        assert!(logged.contains(id), "inquiry {id} not in the log");
    }
    let admin_entries = entries.iter().filter(|e| e.entry.plane == "admin").count();
    assert_eq!(admin_entries, 3);
    let bad = entries.iter().find(|e| e.entry.status == 502).unwrap();
    assert_eq!(bad.entry.decision, audit::Decision::Error);
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_hits_recovers_and_spares_other_officers() {
    let env = Env::new().await;
    let policy = Env::conformance_policy().replace("rate = \"120/minute\"", "rate = \"2/second\"")
        + r#"
[[officers]]
id = "HN-AMR-0003"
name = "Wang Fang"
unit = "Hunan Administration for Market Regulation"
roles = ["market_inspector"]
valid_from = "2026-01-01"
valid_until = "2027-12-31"
"#;
    env.write_policy(&policy);
    let now = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let spec = certs::pki::OfficerSpec::for_days("HN-AMR-0003", "Wang Fang", "Hunan AMR", 30, now);
    let issued = certs::pki::issue(&env.pki, &spec, &env.pki.join("HN-AMR-0003")).unwrap();
    env.upstream.json(&subject_path(), 200, &subject_body());
    let gw = env.start().await;
    let a = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let b = env.client_with(&issued.cert, &issued.key, Proto::Http1);
    let addr = gw.data_addr();
    let path = subject_path();
    let mut limited = None;
    for _ in 0..4 {
        let r = a.get(addr, &path, &INSPECTOR_HEADERS).await.unwrap();
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 200);
    }
    let limited = limited.expect("never rate limited");
    assert_eq!(limited.code().as_deref(), Some("rate_limited"));
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let entry = env.entry(limited.header("inquiry-id").unwrap()).await;
    assert_eq!(entry.reason, "rate_limited");
    assert_eq!(entry.decision, audit::Decision::Deny);

    // Another officer of the same role is unaffected.
    let r = b.get(addr, &path, &INSPECTOR_HEADERS).await.unwrap();
    assert_eq!(r.status, 200);

    tokio::time::sleep(Duration::from_secs(retry)).await;
    let r = a.get(addr, &path, &INSPECTOR_HEADERS).await.unwrap();
    assert_eq!(r.status, 200, "not recovered after Retry-After");
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_reload_narrows_and_a_broken_file_changes_nothing() {
    let env = Env::new().await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    let gw = env.start().await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let addr = gw.data_addr();
    let path = subject_path();
    assert_eq!(
        c.get(addr, &path, &INSPECTOR_HEADERS).await.unwrap().status,
        200
    );

    let narrower = Env::conformance_policy().replace(
        "purposes = [\"administrative_permit\", \"administrative_inspection\"]",
        "purposes = [\"administrative_permit\"]",
    );
    assert_ne!(narrower, Env::conformance_policy());
    env.write_policy(&narrower);
    let narrowed = tests::env::eventually(5, || async {
        c.get(addr, &path, &INSPECTOR_HEADERS)
            .await
            .unwrap()
            .code()
            .as_deref()
            == Some("purpose_not_granted")
    })
    .await;
    assert!(narrowed, "file change was not picked up");

    env.write_policy(&narrower.replace("[[roles]]", "[[roles]\nbroken"));
    assert!(gw.reload().is_err(), "a broken policy was accepted");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let r = c.get(addr, &path, &INSPECTOR_HEADERS).await.unwrap();
    assert_eq!(
        r.code().as_deref(),
        Some("purpose_not_granted"),
        "{:?}",
        r.body
    );
    let r = c
        .get(
            addr,
            &path,
            &[
                ("Inquiry-Purpose", "administrative_permit"),
                ("Inquiry-Case", "C-1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_store_gives_503_without_data_then_recovers() {
    use sqlx::Connection;
    let env = Env::new().await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    let gw = env.start().await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let addr = gw.data_addr();
    let path = subject_path();
    assert_eq!(
        c.get(addr, &path, &INSPECTOR_HEADERS).await.unwrap().status,
        200
    );

    let url = format!("sqlite://{}", env.sqlite_file().display());
    let mut lock = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut lock)
        .await
        .unwrap();
    let r = c.get(addr, &path, &INSPECTOR_HEADERS).await.unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.code().as_deref(), Some("audit_unavailable"));
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        !text.contains("长沙"),
        "data released without a log entry: {text}"
    );
    assert!(r.header("inquiry-id").is_some());
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    drop(lock);

    let r = c.get(addr, &path, &INSPECTOR_HEADERS).await.unwrap();
    assert_eq!(r.status, 200, "did not recover: {:?}", r.body);
    let id = r.header("inquiry-id").unwrap().to_string();
    assert_eq!(env.entry(&id).await.status, 200);
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_plane_refuses_the_other_planes_identities() {
    let env = Env::new().await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    let gw = env.start().await;
    let auditor = env.client(Some("CMP-0001"), Proto::Http1);
    let inspector = env.client(Some("HN-AMR-0001"), Proto::Http1);

    let r = auditor
        .get(gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(r.code().as_deref(), Some("role_forbidden"));
    // Who asks is settled before what is asked: without the inquiry
    // headers (a compliance officer has no purpose to send) still 403, and
    // the log names the subject asked about.
    let r = auditor
        .get(gw.data_addr(), &subject_path(), &[])
        .await
        .unwrap();
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert_eq!(r.code().as_deref(), Some("role_forbidden"));
    let e = env.entry(r.header("inquiry-id").unwrap()).await;
    assert_eq!(e.subject_id.as_deref(), Some(LEGAL_PERSON));
    // A data officer's request refused for its headers names the subject
    // in the log too (a subject's report lists every attempt about them).
    let r = inspector
        .get(gw.data_addr(), &subject_path(), &[])
        .await
        .unwrap();
    assert_eq!(r.status, 400, "{:?}", r.body);
    let e = env.entry(r.header("inquiry-id").unwrap()).await;
    assert_eq!(e.subject_id.as_deref(), Some(LEGAL_PERSON));
    assert_eq!(e.subject_type.as_deref(), Some("legal_person"));

    let admin = gw.admin_addr().unwrap();
    for path in ["/audit/entries", "/audit/verify", "/metrics"] {
        let r = inspector.get(admin, path, &[]).await.unwrap();
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.code().as_deref(), Some("role_forbidden"), "{path}");
    }

    let r = auditor.get(admin, "/audit/verify", &[]).await.unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = auditor
        .get(admin, "/audit/entries?decision=maybe", &[])
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    // The log API's own error bodies carry the inquiry id too, as every
    // error body does.
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["error"]["code"], "invalid_request", "{body}");
    assert_eq!(
        body["error"]["inquiry_id"].as_str(),
        r.header("inquiry-id"),
        "{body}"
    );
    let e = env.entry(r.header("inquiry-id").unwrap()).await;
    assert_eq!(
        (e.decision, e.reason.as_str()),
        (audit::Decision::Deny, "invalid_request")
    );
    let r = auditor
        .get(admin, "/audit/nothing-here", &[])
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.code().as_deref(), Some("not_found"));
    let r = auditor.get(admin, "/metrics", &[]).await.unwrap();
    assert_eq!(r.status, 200);
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        // the two refusals of the compliance identity above
        text.contains("credgate_requests_total{plane=\"data\",decision=\"deny\",status=\"403\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("credgate_audit_commit_seconds_count "),
        "{text}"
    );
    assert!(
        text.contains("# TYPE credgate_audit_commit_seconds histogram"),
        "{text}"
    );
    let r = auditor
        .get(admin, &format!("/audit/subjects/{LEGAL_PERSON}"), &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("CMP-0001"));
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_timeout_is_504_and_logged_as_error() {
    let env = Env::new().await;
    env.upstream.raw(
        &subject_path(),
        200,
        serde_json::to_vec(&subject_body()).unwrap(),
        Duration::from_secs(4),
    );
    let gw = env.start().await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let r = c
        .get(gw.data_addr(), &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 504);
    assert_eq!(r.code().as_deref(), Some("upstream_timeout"));
    let e = env.entry(r.header("inquiry-id").unwrap()).await;
    assert_eq!(e.decision, audit::Decision::Error);
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_end_to_end() {
    let Some(pg) = PgSchema::create("e2e").await else {
        return;
    };
    let env = Env::with_store(Some(&pg.url)).await;
    env.upstream.json(&subject_path(), 200, &subject_body());
    let gw = env.start().await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let mut ids = Vec::new();
    for headers in [INSPECTOR_HEADERS.to_vec(), vec![]] {
        let r = c
            .get(gw.data_addr(), &subject_path(), &headers)
            .await
            .unwrap();
        ids.push((r.header("inquiry-id").unwrap().to_string(), r.status));
    }
    gw.shutdown().await.unwrap();
    assert_eq!(ids[0].1, 200);
    assert_eq!(ids[1].1, 400);
    for (id, status) in ids {
        assert_eq!(env.entry(&id).await.status, status);
    }
    assert_eq!(env.entries().await.len(), 2);
    pg.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_never_pass_upstream_bytes_through() {
    let env = Env::new().await;
    let gw = env.start().await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let addr = gw.data_addr();

    // An error page with a secret in it: 502, none of its text.
    env.upstream.raw(
        &subject_path(),
        500,
        b"stack trace: religion=buddhist at db.rs:12".to_vec(),
        Duration::ZERO,
    );
    let r = c
        .get(addr, &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 502);
    assert_eq!(r.code().as_deref(), Some("upstream_invalid_response"));
    assert!(!String::from_utf8_lossy(&r.body).contains("buddhist"));
    let e = env.entry(r.header("inquiry-id").unwrap()).await;
    assert_eq!(e.upstream_status, Some(500));
    assert_eq!(e.decision, audit::Decision::Error);

    // Larger than the 8 MiB default cap: 502.
    let mut big =
        br#"{"subject":{"id":"91430100MA4L0XXX1N","type":"legal_person","name":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 9 * 1024 * 1024));
    big.extend(br#""}}"#);
    env.upstream.raw(&subject_path(), 200, big, Duration::ZERO);
    let r = c
        .get(addr, &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 502);
    assert_eq!(r.code().as_deref(), Some("upstream_invalid_response"));

    // The upstream does not know the subject: 404 not_found.
    env.upstream
        .raw(&subject_path(), 404, b"{}".to_vec(), Duration::ZERO);
    let r = c
        .get(addr, &subject_path(), &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.code().as_deref(), Some("not_found"));
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_are_served_and_logged() {
    let env = Env::new().await;
    let gw = env.start().await;
    let c = env.client(Some("HN-AMR-0001"), Proto::Http2);
    let admin = gw.admin_addr().unwrap();
    let r = c.get(admin, "/healthz", &[]).await.unwrap();
    assert_eq!(r.status, 200);
    let r = c.get(admin, "/readyz", &[]).await.unwrap();
    assert_eq!(r.status, 200);
    let entries = env.entries().await;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.entry.plane == "admin"));
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_text_reaches_the_log_without_control_characters_and_capped() {
    let env = Env::new().await;
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let long_path = format!("/v1/subjects/{}", "9".repeat(3000));
    let headers = [
        ("Inquiry-Purpose", "administrative_inspection"),
        ("Inquiry-Case", "HN-2026\t00123"),
    ];
    let r = client
        .request("GET", gw.data_addr(), &long_path, &headers)
        .await
        .unwrap();
    assert_eq!(r.status, 400, "{:?}", r.body);
    let entry = env.entry(r.header("inquiry-id").unwrap()).await;
    assert_eq!(entry.case.as_deref(), Some("HN-202600123"));
    assert_eq!(entry.path.len(), 512, "path not capped");
    assert!(long_path.starts_with(&entry.path));
    gw.shutdown().await.unwrap();
}
