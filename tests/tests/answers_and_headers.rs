//! Issue 13, gateway side: the upstream must answer about the subject that
//! was asked (502 `upstream_invalid_response` otherwise, nothing released),
//! and free-text headers the gateway logs refuse Unicode format characters
//! (400 `invalid_request` naming the header, never repeating its value).

use std::time::Duration;

use serde_json::{json, Value};
use tests::client::Proto;
use tests::env::{Env, INSPECTOR_HEADERS, LEGAL_PERSON};
use tests::raw;

const BOUND: Duration = Duration::from_secs(5);

/// Appears in every upstream answer about the wrong subject: it must never
/// reach the client.
const MARKER: &str = "其他主体的数据-LEAK";

fn subject_path() -> String {
    format!("/v1/subjects/{LEGAL_PERSON}")
}

fn records_path() -> String {
    format!("/v1/subjects/{LEGAL_PERSON}/records")
}

fn subject_answer(id: &Value) -> Value {
    json!({"subject": {"id": id, "type": "legal_person", "name": MARKER}})
}

fn records_answer(id: &Value) -> Value {
    json!({"subject": {"id": id, "type": "legal_person", "name": MARKER},
           "records": [{"id": "r-1", "item": "basic", "decided_on": "2025-01-01",
                        "data": {"note": MARKER}}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_about_another_subject_is_502() {
    let env = Env::new().await;
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let others = [
        json!("91110000100000000Q"),
        json!("110105194912310021"),
        json!(format!(" {LEGAL_PERSON}")),
        json!(""),
        json!(91430100),
        Value::Null,
        json!([LEGAL_PERSON]),
    ];
    let mut entries = 0;
    for (path, answer) in [
        (subject_path(), subject_answer as fn(&Value) -> Value),
        (records_path(), records_answer),
    ] {
        for other in &others {
            env.upstream.json(&path, 200, &answer(other));
            let r = client
                .get(gw.data_addr(), &path, &INSPECTOR_HEADERS)
                .await
                .unwrap();
            entries += 1;
            assert_eq!(r.status, 502, "{path} {other}: {:?}", r.body);
            assert_eq!(r.code().as_deref(), Some("upstream_invalid_response"));
            let v = r.json();
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["error"], "{v}");
            let text = String::from_utf8_lossy(&r.body);
            assert!(!text.contains(MARKER), "{text}");
            let entry = env.entry(r.header("inquiry-id").unwrap()).await;
            assert_eq!(entry.decision, audit::Decision::Error);
            assert_eq!(entry.reason, "upstream_invalid_response");
            assert_eq!(entry.status, 502);
            assert_eq!(entry.upstream_status, Some(200));
            // logged under the subject asked, never the one answered
            assert_eq!(entry.subject_id.as_deref(), Some(LEGAL_PERSON));
            assert_eq!(entry.records_returned, 0);
        }

        // the same id, in either case, is the subject asked
        for same in [LEGAL_PERSON.to_owned(), LEGAL_PERSON.to_lowercase()] {
            env.upstream.json(&path, 200, &answer(&json!(same)));
            let r = client
                .get(gw.data_addr(), &path, &INSPECTOR_HEADERS)
                .await
                .unwrap();
            entries += 1;
            assert_eq!(r.status, 200, "{path} {same}: {:?}", r.body);
            assert_eq!(r.json()["subject"]["id"], json!(same));
        }
    }
    assert_eq!(env.entries().await.len(), entries);
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_about_another_subject_is_502_in_any_spelling_of_subject_and_id() {
    let env = Env::new().await;
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let other = "91110000100000000Q";
    // `subject` / `id` as the field rules compare keys (NFKC, case folded,
    // letters and digits only).
    let spelled = |subject: &str, id: &str, value: &str| {
        json!({subject: {id: value, "type": "legal_person", "name": MARKER},
               "records": [{"id": "r-1", "item": "basic", "decided_on": "2025-01-01",
                            "data": {"note": MARKER}}]})
    };
    let mut wrong = Vec::new();
    for (subject, id) in [
        ("subject", "ID"),
        ("subject", "Id"),
        ("Subject", "id"),
        ("SUBJECT", "ID"),
        ("subject_", "i-d"),
        ("ｓｕｂｊｅｃｔ", "ｉｄ"),
        ("sub\u{200b}ject", "id\u{0363}"),
    ] {
        wrong.push(spelled(subject, id, other));
    }
    // Two spellings that disagree: the one asked and another.
    wrong.push(
        json!({"subject": {"id": LEGAL_PERSON, "ID": other, "name": MARKER},
                      "records": []}),
    );
    wrong.push(
        json!({"subject": {"id": LEGAL_PERSON}, "Subject": {"id": other, "name": MARKER},
                      "records": []}),
    );
    wrong.push(json!({"Subject": {"Id": other, "name": MARKER},
                      "subject": {"id": LEGAL_PERSON}, "records": []}));
    // A subject that is no object names someone who cannot be checked.
    wrong.push(json!({"subject": other, "records": [], "name": MARKER}));
    let mut entries = 0;
    for path in [subject_path(), records_path()] {
        for answer in &wrong {
            env.upstream.json(&path, 200, answer);
            let r = client
                .get(gw.data_addr(), &path, &INSPECTOR_HEADERS)
                .await
                .unwrap();
            entries += 1;
            assert_eq!(r.status, 502, "{path} {answer}: {:?}", r.body);
            assert_eq!(r.code().as_deref(), Some("upstream_invalid_response"));
            let text = String::from_utf8_lossy(&r.body);
            assert!(!text.contains(MARKER), "{text}");
            let entry = env.entry(r.header("inquiry-id").unwrap()).await;
            assert_eq!(entry.reason, "upstream_invalid_response");
            assert_eq!(entry.subject_id.as_deref(), Some(LEGAL_PERSON));
            assert_eq!(entry.records_returned, 0);
        }
        // The subject asked, spelled so, either case: answered.
        for answer in [
            spelled("Subject", "ID", LEGAL_PERSON),
            spelled("subject", "Id", &LEGAL_PERSON.to_lowercase()),
            json!({"subject": {"id": LEGAL_PERSON, "ID": LEGAL_PERSON.to_lowercase()},
                   "records": []}),
        ] {
            env.upstream.json(&path, 200, &answer);
            let r = client
                .get(gw.data_addr(), &path, &INSPECTOR_HEADERS)
                .await
                .unwrap();
            entries += 1;
            assert_eq!(r.status, 200, "{path} {answer}: {:?}", r.body);
        }
    }
    assert_eq!(env.entries().await.len(), entries);
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_characters_in_inquiry_case_are_refused() {
    let env = Env::new().await;
    env.upstream
        .json(&subject_path(), 200, &subject_answer(&json!(LEGAL_PERSON)));
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let request = |case: &str| {
        format!(
            "GET {} HTTP/1.0\r\nInquiry-Purpose: administrative_inspection\r\nInquiry-Case: {case}\r\n\r\n",
            subject_path()
        )
    };
    for hidden in [
        "\u{202E}",
        "\u{202A}",
        "\u{2066}",
        "\u{2069}",
        "\u{200B}",
        "\u{200D}",
        "\u{200F}",
        "\u{FEFF}",
        "\u{2028}",
        "\u{2029}",
        "\u{00AD}",
        "\u{0085}",
        "\u{E0041}",
    ] {
        for case in [
            format!("HN-2026{hidden}-00123"),
            format!("HN-2026-00123{hidden}"),
        ] {
            let got =
                raw::exchange(&client, gw.data_addr(), request(&case).as_bytes(), BOUND).await;
            assert_eq!(got.status(), Some(400), "{hidden:?}: {}", got.text());
            let text = got.text();
            let body = text.split_once("\r\n\r\n").unwrap().1;
            let v: Value = serde_json::from_str(body).unwrap();
            assert_eq!(v["error"]["code"], "invalid_request", "{v}");
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.contains("`Inquiry-Case`"), "{message}");
            assert!(!message.contains("HN-2026"), "{message}");
            assert!(!body.contains(hidden), "{hidden:?} echoed");
            let id = got.header("inquiry-id").unwrap();
            let entry = env.entry(&id).await;
            assert_eq!(entry.decision, audit::Decision::Deny);
            assert_eq!(entry.reason, "invalid_request");
            // the log keeps the visible text only
            let logged = entry.case.unwrap();
            assert_eq!(logged, "HN-2026-00123", "{hidden:?}");
        }
    }
    assert!(
        env.upstream.seen().is_empty(),
        "a refused request reached the upstream"
    );

    // case numbers in Chinese, with full-width punctuation and spaces, pass
    let case = "（2026）湘01行初123号 第2卷";
    let got = raw::exchange(&client, gw.data_addr(), request(case).as_bytes(), BOUND).await;
    assert_eq!(got.status(), Some(200), "{}", got.text());
    let entry = env.entry(&got.header("inquiry-id").unwrap()).await;
    assert_eq!(entry.case.as_deref(), Some(case));
    gw.shutdown().await.unwrap();
}

/// SPEC "Messages that say what is wrong": a refusal's message names the
/// header, parameter or rule at fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_say_what_is_wrong() {
    let env = Env::new().await;
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            vec![("Inquiry-Case", "C-1")],
            400,
            "invalid_request",
            vec!["Inquiry-Purpose"],
        ),
        (
            vec![("Inquiry-Purpose", "administrative_inspection")],
            400,
            "invalid_request",
            vec!["Inquiry-Case"],
        ),
        (
            vec![("Inquiry-Purpose", "recruitment"), ("Inquiry-Case", "C-1")],
            403,
            "purpose_not_granted",
            vec!["recruitment", "market_inspector"],
        ),
    ];
    for (headers, status, code, named) in cases {
        let r = client
            .get(gw.data_addr(), &subject_path(), &headers)
            .await
            .unwrap();
        assert_eq!(r.status, status, "{headers:?}");
        assert_eq!(r.code().as_deref(), Some(code));
        let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
        for n in named {
            assert!(
                message.contains(n),
                "{headers:?}: {message:?} does not name {n}"
            );
        }
    }
    // A request the hygiene checks refuse names the rule broken.
    let r = client
        .get(
            gw.data_addr(),
            &format!("/v1/subjects/%2e%2e/{LEGAL_PERSON}"),
            &INSPECTOR_HEADERS,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("dot segment"), "{message}");
    gw.shutdown().await.unwrap();
}

/// A subject id asked in lower case (a resident id's check character `x`,
/// a credit code's letters) is the id in capitals: asked of the upstream,
/// logged and answered as such; it was refused 400 as malformed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_id_in_lower_case_is_asked_and_logged_in_capitals() {
    let env = Env::new().await;
    let canonical = format!("/v1/subjects/{LEGAL_PERSON}");
    env.upstream.json(
        &canonical,
        200,
        &json!({"subject": {"id": LEGAL_PERSON, "type": "legal_person", "name": "n"}}),
    );
    let gw = env.start().await;
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let lower = format!("/v1/subjects/{}", LEGAL_PERSON.to_lowercase());
    assert_ne!(lower, canonical);
    let r = client
        .get(gw.data_addr(), &lower, &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json()["subject"]["id"], json!(LEGAL_PERSON));
    let seen = env.upstream.seen();
    assert_eq!(
        seen.last().map(|s| s.target.as_str()),
        Some(canonical.as_str())
    );
    let entry = env.entry(r.header("inquiry-id").unwrap()).await;
    assert_eq!(entry.subject_id.as_deref(), Some(LEGAL_PERSON));
    gw.shutdown().await.unwrap();
}
