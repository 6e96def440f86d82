//! The compliance console (issue 16) end to end, over real TLS: every page
//! answers a compliance certificate with HTML under a strict CSP, in
//! Chinese by default and English with `?lang=en`; an officer's
//! certificate gets the 403 page; every view is an entry on the chain;
//! search filters filter and keyset paging neither repeats nor skips; the
//! inquiry page checks the entry's inclusion proof; stored markup comes
//! out escaped and the CSV export is formula-safe.

use std::collections::HashSet;

use serde_json::json;
use tests::client::{Client, Proto, Resp};
use tests::env::{admin, eventually, Env, INSPECTOR_HEADERS, LEGAL_PERSON};

/// The `n`th valid unified social credit code (GB 32100).
fn legal(n: u32) -> String {
    let first17 = format!("91430100MA4L0XX{:02}", n % 100);
    let check = policy::gb32100_check_char(&first17).unwrap();
    format!("{first17}{check}")
}

fn answer(env: &Env, id: &str) {
    env.upstream.json(
        &format!("/v1/subjects/{id}"),
        200,
        &json!({"subject": {"id": id, "type": "legal_person"}}),
    );
}

/// One data-plane inquiry; returns its inquiry id.
async fn ask(
    env: &Env,
    gw: &gateway::server::Running,
    officer: &str,
    subject: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let c = env.client(Some(officer), Proto::Http1);
    let r = c
        .get(gw.data_addr(), &format!("/v1/subjects/{subject}"), headers)
        .await
        .unwrap();
    (r.status, r.header("inquiry-id").unwrap().to_string())
}

async fn view(c: &Client, gw: &gateway::server::Running, path: &str) -> (Resp, String) {
    let r = c.get(admin(gw), path, &[]).await.unwrap();
    let body = String::from_utf8(r.body.to_vec()).unwrap();
    (r, body)
}

/// A console answer: the status, HTML with the CSP, no script anywhere.
fn assert_page(r: &Resp, body: &str, status: u16, path: &str) {
    assert_eq!(r.status, status, "{path}: {body}");
    assert_eq!(
        r.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{path}"
    );
    let csp = r.header("content-security-policy").unwrap_or("");
    assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{path}");
    assert!(body.starts_with("<!DOCTYPE html>"), "{path}");
    assert!(!body.contains("<script"), "{path}: no script");
    assert!(!body.contains(" style="), "{path}: no inline style");
    assert!(
        !body.contains(" src=") && !body.contains("href=\"http") && !body.contains("href=\"//"),
        "{path}: nothing from elsewhere"
    );
}

/// The inquiry ids the entry table links to, in order.
fn linked_ids(body: &str) -> Vec<String> {
    body.split("href=\"/console/entries/")
        .skip(1)
        .map(|s| s.split(['"', '?']).next().unwrap().to_string())
        .collect()
}

/// The `rel="next"` link, unescaped.
fn next_link(body: &str) -> Option<String> {
    let at = body.find("rel=\"next\" href=\"")? + "rel=\"next\" href=\"".len();
    let end = body[at..].find('"')?;
    Some(body[at..at + end].replace("&amp;", "&"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_answers_the_compliance_officer_and_is_logged() {
    let env = Env::new().await;
    answer(&env, LEGAL_PERSON);
    let gw = env.start().await;
    let (status, allowed) = ask(&env, &gw, "HN-AMR-0001", LEGAL_PERSON, &INSPECTOR_HEADERS).await;
    assert_eq!(status, 200);
    let gossip = [("Inquiry-Purpose", "gossip"), ("Inquiry-Case", "x")];
    let (status, _) = ask(&env, &gw, "HN-AMR-0001", LEGAL_PERSON, &gossip).await;
    assert_eq!(status, 403);

    let cmp = env.client(Some("CMP-0001"), Proto::Http1);
    let pages = [
        "/console/".to_string(),
        "/console/entries".to_string(),
        "/console/entries?officer=HN-AMR-0001&decision=deny".to_string(),
        format!("/console/entries/{allowed}"),
        "/console/officers/HN-AMR-0001".to_string(),
        format!("/console/subjects/{LEGAL_PERSON}"),
        "/console/alerts".to_string(),
        "/console/verify".to_string(),
    ];
    for path in &pages {
        let (r, body) = view(&cmp, &gw, path).await;
        assert_page(&r, &body, 200, path);
        assert!(
            body.contains("<html lang=\"zh-CN\">"),
            "{path}: zh-CN by default"
        );
        assert!(body.contains("合规审查台"), "{path}");
        let id = r.header("inquiry-id").unwrap();
        let logged = env.entry(id).await;
        assert_eq!(logged.plane, "admin", "{path}");
        assert_eq!(logged.path, *path, "the entry names the console path");
        assert_eq!(logged.officer_id, "CMP-0001");
        assert_eq!(logged.decision, audit::Decision::Allow);
        assert_eq!(logged.reason, "ok");

        let en = if path.contains('?') {
            format!("{path}&lang=en")
        } else {
            format!("{path}?lang=en")
        };
        let (r, body) = view(&cmp, &gw, &en).await;
        assert_page(&r, &body, 200, &en);
        assert!(body.contains("<html lang=\"en\">"), "{en}");
        assert!(body.contains("compliance console"), "{en}");
        assert!(!body.contains("合规审查台"), "{en}: English only");
    }
    // The overview tells what was verified, when and by whom (the verify
    // page just ran), and draws the chart.
    let (_, body) = view(&cmp, &gw, "/console/?lang=en").await;
    assert!(body.contains("intact"), "{body}");
    assert!(body.contains("CMP-0001"));
    assert!(body.contains("<svg class=\"chart\""));
    assert!(body.contains("purpose_not_granted"), "refusals by reason");
    // The subject report names the subject in its log entry, and prints.
    let (r, body) = view(&cmp, &gw, &format!("/console/subjects/{LEGAL_PERSON}")).await;
    assert_eq!(
        env.entry(r.header("inquiry-id").unwrap())
            .await
            .subject_id
            .as_deref(),
        Some(LEGAL_PERSON)
    );
    assert!(body.contains("Hunan Administration for Market Regulation"));
    let (r, css) = view(&cmp, &gw, "/console/static/console.css").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.contains("@media print"));

    // The inquiry page checks the inclusion proof (once a checkpoint
    // covers the entry: at most checkpoint_interval_ms).
    let path = format!("/console/entries/{allowed}?lang=en");
    let proved = eventually(10, || async {
        view(&cmp, &gw, &path)
            .await
            .1
            .contains("id=\"proof-verified\"")
    })
    .await;
    assert!(proved, "the proof is shown verified");
    let (_, body) = view(&cmp, &gw, &path).await;
    for field in [
        "cert_fingerprint",
        "HN-2026-00123",
        "latency_ms",
        "records_suppressed",
    ] {
        assert!(body.contains(field), "{field}: every field is shown");
    }
    assert!(body.contains("administrative_inspection"));

    // An officer's certificate gets the 403 page, logged.
    let officer = env.client(Some("HN-AMR-0001"), Proto::Http1);
    for path in ["/console/", "/console/entries?lang=en", "/console/alerts"] {
        let (r, body) = view(&officer, &gw, path).await;
        assert_page(&r, &body, 403, path);
        let logged = env.entry(r.header("inquiry-id").unwrap()).await;
        assert_eq!(logged.decision, audit::Decision::Deny);
        assert_eq!(logged.reason, "role_forbidden");
        assert_eq!(logged.plane, "admin");
        assert_eq!(logged.path, path);
    }

    // Bad parameters: 400 naming the parameter, never echoing the value;
    // an unknown inquiry: 404.
    let secret = "91430100MA4L0XXX1A"; // a subject id with a wrong check character
    for (path, name, value) in [
        (
            "/console/entries?decision=maybe-secret".to_string(),
            "decision",
            "maybe-secret",
        ),
        (
            format!("/console/entries?subject={secret}"),
            "subject",
            secret,
        ),
        (
            "/console/entries?from=secret-2026".to_string(),
            "from",
            "secret-2026",
        ),
        (
            "/console/entries?page=secret.x".to_string(),
            "page",
            "secret.x",
        ),
        (
            format!("/console/subjects/{secret}?lang=en"),
            "subject",
            secret,
        ),
        (
            "/console/alerts?colour=red".to_string(),
            "colour",
            "colour=red",
        ),
    ] {
        let (r, body) = view(&cmp, &gw, &path).await;
        assert_page(&r, &body, 400, &path);
        assert!(
            body.contains(&format!("<code>{name}</code>")),
            "{path}: {body}"
        );
        assert!(!body.contains(value), "{path}: the value is not echoed");
        let logged = env.entry(r.header("inquiry-id").unwrap()).await;
        assert_eq!(logged.reason, "invalid_request");
        assert_eq!(logged.decision, audit::Decision::Deny);
    }
    for path in ["/console/entries/no-such-inquiry", "/console/elsewhere"] {
        let (r, body) = view(&cmp, &gw, path).await;
        assert_page(&r, &body, 404, path);
        assert_eq!(
            env.entry(r.header("inquiry-id").unwrap()).await.reason,
            "not_found"
        );
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_pages_and_exports_safely() {
    search_case(&Env::new().await).await;
}

/// The same on PostgreSQL (its SQL for the new filters, the keyset and
/// the overview's counts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_pages_and_exports_safely_on_postgres() {
    let Some(pg) = tests::env::PgSchema::create("console").await else {
        return;
    };
    search_case(&Env::with_store(Some(&pg.url)).await).await;
    pg.drop_now().await;
}

async fn search_case(env: &Env) {
    for n in 0..5 {
        answer(env, &legal(n));
    }
    let gw = env.start().await;
    let mut mine = Vec::new();
    for i in 0..55u32 {
        let (s, id) = ask(env, &gw, "HN-AMR-0001", &legal(i % 5), &INSPECTOR_HEADERS).await;
        assert_eq!(s, 200);
        mine.push(id);
    }
    let gossip = [("Inquiry-Purpose", "gossip"), ("Inquiry-Case", "HN-9")];
    for _ in 0..50 {
        let (s, id) = ask(env, &gw, "HN-AMR-0001", &legal(1), &gossip).await;
        assert_eq!(s, 403);
        mine.push(id);
    }
    let script = [
        ("Inquiry-Purpose", "administrative_inspection"),
        ("Inquiry-Case", "<script>alert(1)</script>"),
    ];
    let (s, id) = ask(env, &gw, "HN-AMR-0001", &legal(2), &script).await;
    assert_eq!(s, 200);
    mine.push(id);
    let formula = [
        ("Inquiry-Purpose", "administrative_inspection"),
        ("Inquiry-Case", "=HYPERLINK(\"http://evil\",\"x\")"),
    ];
    let (s, id) = ask(env, &gw, "HN-AMR-0001", &legal(3), &formula).await;
    assert_eq!(s, 200);
    mine.push(id);
    let rater = [
        ("Inquiry-Purpose", "administrative_inspection"),
        ("Inquiry-Case", "CR-1"),
    ];
    let (s, rater_id) = ask(env, &gw, "CS-RATE-0007", &legal(4), &rater).await;
    assert_eq!(s, 403);

    let cmp = env.client(Some("CMP-0001"), Proto::Http1);
    let count = |path: String| {
        let cmp = cmp.clone();
        let gw = &gw;
        async move {
            let (r, body) = view(&cmp, gw, &path).await;
            assert_page(&r, &body, 200, &path);
            linked_ids(&body)
        }
    };
    // Each filter filters.
    assert_eq!(
        count("/console/entries?officer=CS-RATE-0007".into()).await,
        vec![rater_id.clone()]
    );
    assert_eq!(
        count("/console/entries?unit=Xiangjiang+Credit+Rating+Co.%2C+Ltd.".into()).await,
        vec![rater_id.clone()]
    );
    assert_eq!(
        count("/console/entries?case=HN-9&officer=HN-AMR-0001".into())
            .await
            .len(),
        50
    );
    assert_eq!(
        count("/console/entries?reason=purpose_not_granted".into())
            .await
            .len(),
        50,
        "50 a page"
    );
    assert_eq!(
        count("/console/entries?reason=purpose_not_granted&officer=CS-RATE-0007".into()).await,
        vec![rater_id.clone()]
    );
    assert_eq!(
        count(format!(
            "/console/entries?subject={}&decision=allow",
            legal(4)
        ))
        .await
        .len(),
        11
    );
    assert_eq!(
        count("/console/entries?purpose=gossip".into()).await.len(),
        50
    );
    assert!(
        count("/console/entries?officer=HN-AMR-0001&to=2020-01-01".into())
            .await
            .is_empty()
    );
    assert_eq!(
        count("/console/entries?officer=HN-AMR-0001&decision=allow&from=2020-01-01".into())
            .await
            .len(),
        50
    );

    // Keyset paging: newest first, 50 a page, no repeat and no gap.
    let mut seen: Vec<String> = Vec::new();
    let mut path = Some("/console/entries?officer=HN-AMR-0001&lang=en".to_string());
    let mut pages = 0;
    while let Some(p) = path {
        let (r, body) = view(&cmp, &gw, &p).await;
        assert_page(&r, &body, 200, &p);
        let ids = linked_ids(&body);
        assert!(ids.len() <= 50);
        seen.extend(ids);
        path = next_link(&body);
        if let Some(next) = &path {
            assert!(
                next.contains("officer=HN-AMR-0001") && next.contains("lang=en"),
                "{next}"
            );
        }
        pages += 1;
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no repeats");
    let mut expected = mine.clone();
    expected.reverse();
    assert_eq!(seen, expected, "every entry once, newest first");

    // Stored markup comes out escaped.
    let (_, body) = view(&cmp, &gw, "/console/entries?officer=HN-AMR-0001").await;
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!body.contains("<script>"));

    // Export links for the current search: JSON Lines and CSV.
    let (_, body) = view(&cmp, &gw, "/console/entries?officer=HN-AMR-0001&case=HN-9").await;
    assert!(
        body.contains("href=\"/audit/export?officer=HN-AMR-0001&amp;case=HN-9\""),
        "{body}"
    );
    let csv_link = "/audit/entries?officer=HN-AMR-0001&case=HN-9&format=csv&limit=10000";
    assert!(body.contains(&csv_link.replace('&', "&amp;")));
    let r = cmp.get(admin(&gw), csv_link, &[]).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let csv = String::from_utf8(r.body.to_vec()).unwrap();
    assert_eq!(csv.lines().count(), 51, "a header and 50 rows");
    let r = cmp
        .get(
            admin(&gw),
            "/audit/export?officer=HN-AMR-0001&case=HN-9",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let exported = String::from_utf8(r.body.to_vec()).unwrap();
    assert_eq!(
        exported.matches("\"case\":\"HN-9\"").count(),
        50,
        "the export takes the same filter"
    );
    let (r, body) = view(&cmp, &gw, "/console/?lang=en").await;
    assert_page(&r, &body, 200, "/console/");
    assert!(body.contains("<rect class=\"s0\""), "today's bar is drawn");
    assert!(
        body.contains("Hunan Administration for Market Regulation"),
        "in the legend"
    );
    assert!(
        body.contains("purpose_not_granted</code></a></td><td class=\"num\">51<"),
        "{body}"
    );
    // The formula is neutralised, quoting is doubled.
    let r = cmp
        .get(
            admin(&gw),
            "/audit/entries?officer=HN-AMR-0001&format=csv",
            &[],
        )
        .await
        .unwrap();
    let csv = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
        "{csv}"
    );
    for line in csv.lines() {
        for field in line.split("\",\"") {
            let field = field.trim_start_matches('"');
            assert!(!field.starts_with(['=', '+', '-', '@']), "{field}");
        }
    }
    gw.shutdown().await.unwrap();
}

/// An outside probe: an officer id holding `/` (as `san.uri:` mappings
/// make) was linked as `/console/officers/HN%2FAMR%2F0009`, which the
/// path check refuses (encoded separator): no URL reached the page. Such
/// ids are linked as `/console/officers?id=…`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_id_holding_a_slash_has_a_reachable_page() {
    let env = Env::new().await;
    env.write_config("");
    {
        let cfg = env.config().audit_config().unwrap();
        let log = audit::AuditLog::open(&cfg).await.unwrap();
        let mut e = tests::env::filler_entry(1);
        e.officer_id = "HN/AMR/0009".into();
        log.append(e).await.unwrap();
        log.close().await.unwrap();
    }
    let gw = env.start().await;
    let c = env.client(Some("CMP-0001"), Proto::Http1);
    let (r, body) = view(&c, &gw, "/console/entries?lang=en").await;
    assert_page(&r, &body, 200, "search");
    let want = "href=\"/console/officers?id=HN%2FAMR%2F0009&amp;lang=en\"";
    assert!(body.contains(want), "{body}");
    let (r, body) = view(&c, &gw, "/console/officers?id=HN%2FAMR%2F0009&lang=en").await;
    assert_page(&r, &body, 200, "officer");
    assert!(body.contains("HN/AMR/0009"), "{body}");
    // Its entry is listed there.
    assert_eq!(linked_ids(&body).len(), 1, "{body}");
    // A missing or empty id is a bad parameter, not a page.
    for bad in ["/console/officers", "/console/officers?id="] {
        let (r, body) = view(&c, &gw, bad).await;
        assert_page(&r, &body, 400, bad);
    }
    gw.shutdown().await.unwrap();
}

/// An outside probe: a hand-made page position (`page=1.x.1`) showed "no
/// entries match" while entries did match; one no entry can have
/// (`-1.x.1`) gave the same. The first is an empty page past a position,
/// said so; the second is a bad parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_position_past_every_entry_says_so() {
    let env = Env::new().await;
    let gw = env.start().await;
    let c = env.client(Some("CMP-0001"), Proto::Http1);
    let (r, body) = view(&c, &gw, "/console/entries?page=1.abc.1&lang=en").await;
    assert_page(&r, &body, 200, "past");
    assert!(
        body.contains("No more matching entries past this page position"),
        "{body}"
    );
    let (r, body) = view(&c, &gw, "/console/entries?page=-1.abc.1&lang=en").await;
    assert_page(&r, &body, 400, "negative");
    gw.shutdown().await.unwrap();
}

/// An outside probe: HEAD on a console page was 405 (HTTP asks
/// general-purpose servers to support it). The head of the GET answer,
/// without its body; still logged; the API stays GET only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_on_a_console_page_is_the_get_answer_without_a_body() {
    let env = Env::new().await;
    let gw = env.start().await;
    let before = env.entries().await.len();
    for proto in [Proto::Http2, Proto::Http1] {
        let c = env.client(Some("CMP-0001"), proto);
        let r = c
            .request("HEAD", admin(&gw), "/console/?lang=en", &[])
            .await
            .unwrap_or_else(|e| panic!("{proto:?}: {e:?}"));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(r.body.is_empty(), "{:?}", r.body);
        let r = c
            .request("HEAD", admin(&gw), "/audit/entries", &[])
            .await
            .unwrap();
        assert_eq!(r.status, 405);
    }
    let logged = eventually(10, || async { env.entries().await.len() >= before + 4 }).await;
    assert!(logged, "every HEAD is an entry");
    gw.shutdown().await.unwrap();
}

/// An outside probe: error pages named the parameter but not what was
/// wrong ("has an invalid value"), garbled the range ("Parameter from
/// `from` lies after `to`") and answered an unknown page with "The log
/// holds no such entry".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_pages_say_what_a_value_must_look_like() {
    let env = Env::new().await;
    let gw = env.start().await;
    let c = env.client(Some("CMP-0001"), Proto::Http1);
    for (path, status, says) in [
        (
            "/console/entries?from=2026-13-01&lang=en",
            400,
            "Expected a date YYYY-MM-DD",
        ),
        (
            "/console/entries?decision=maybe&lang=en",
            400,
            "Expected allow, deny or error.",
        ),
        (
            "/console/alerts?to=2026-12-01&from=2026-12-31&lang=en",
            400,
            "<code>from</code> lies after `to`",
        ),
        (
            "/console/nothing?lang=en",
            404,
            "The console has no such page.",
        ),
        (
            "/console/entries/0123?lang=en",
            404,
            "The log holds no such entry.",
        ),
    ] {
        let (r, body) = view(&c, &gw, path).await;
        assert_page(&r, &body, status, path);
        assert!(body.contains(says), "{path}: {body}");
    }
    gw.shutdown().await.unwrap();
}
