//! Issue 13 end to end: each way of sidestepping redaction, tried through
//! the gateway (real TLS, the conformance policy), with several spellings
//! per class. Whatever the upstream writes, the officer never gets a
//! prohibited value, an unmasked resident id or mobile number, a record the
//! lifecycle rules withhold; and the inquiry log never holds those values.

use serde_json::{json, Value};
use tests::client::{Proto, Resp};
use tests::env::{Env, INSPECTOR_HEADERS, LEGAL_PERSON};
use time::macros::datetime;

/// A resident id with a valid check digit, and its `id_number` mask.
const RESIDENT_ID: &str = "430102198506123011";
const RESIDENT_ID_MASKED: &str = "430102********3011";
/// A mobile number, and its `phone` mask.
const MOBILE: &str = "13812345678";
const MOBILE_MASKED: &str = "138******78";

/// The time every test runs at (the conformance cases' "now").
const NOW: time::OffsetDateTime = datetime!(2026-11-22 00:00 UTC);

async fn start(env: &Env) -> gateway::server::Running {
    env.start_with_clock(gateway::server::Clock::manual(NOW))
        .await
}

fn subject_path() -> String {
    format!("/v1/subjects/{LEGAL_PERSON}")
}

fn records_path() -> String {
    format!("/v1/subjects/{LEGAL_PERSON}/records")
}

/// A legal person's answer with `extra` merged into the subject object.
fn subject_with(extra: Value) -> Value {
    let mut subject =
        json!({"id": LEGAL_PERSON, "type": "legal_person", "name": "长沙星辰建材有限公司"});
    if let (Some(s), Value::Object(extra)) = (subject.as_object_mut(), extra) {
        s.extend(extra);
    }
    json!({ "subject": subject })
}

/// Asks as the market inspector; asserts 200 and that the answer and the
/// log entry hold none of `never`.
async fn ask(env: &Env, gw: &gateway::server::Running, path: &str, never: &[&str]) -> Resp {
    let client = env.client(Some("HN-AMR-0001"), Proto::Http1);
    let r = client
        .get(gw.data_addr(), path, &INSPECTOR_HEADERS)
        .await
        .unwrap();
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    let text = String::from_utf8_lossy(&r.body);
    let entry = env.entry(r.header("inquiry-id").unwrap()).await;
    let logged = serde_json::to_string(&entry).unwrap();
    for value in never {
        assert!(!text.contains(value), "{value} released: {text}");
        assert!(!logged.contains(value), "{value} logged: {logged}");
    }
    r
}

/// Every key name in `v`, at any depth.
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                keys(x, out);
            }
        }
        Value::Array(xs) => xs.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prohibited_keys_in_any_spelling_are_removed() {
    let env = Env::new().await;
    let gw = start(&env).await;
    let spellings = [
        "religion ",
        " RELIGION",
        "Ｒｅｌｉｇｉｏｎ",
        "reli\u{200b}gion",
        "re\u{00ad}ligion",
        "Medical History",
        "medicalHistory",
        "MEDICAL-HISTORY",
        "medical.history",
        "ｍｅｄｉｃａｌ＿ｈｉｓｔｏｒｙ",
        "bloodType",
        "Blood\u{2060}_Type",
        "GeneticData",
        "ﬁngerprint",
        "İllness",
        "TaxPaid",
        "tax paid",
        // accents: marks are dropped after decomposition
        "Religión",
        "religio\u{0301}n",
        "MÉDICAL_HISTORY",
    ];
    for (i, key) in spellings.iter().enumerate() {
        let secret = format!("SECRET-SPELLING-{i}");
        // at the top of the subject and three levels down
        let body = subject_with(json!({
            *key: secret,
            "history": {"events": [{"detail": {*key: secret}}]}
        }));
        env.upstream.json(&subject_path(), 200, &body);
        let r = ask(&env, &gw, &subject_path(), &[&secret]).await;
        let mut names = Vec::new();
        keys(&r.json(), &mut names);
        assert!(!names.iter().any(|k| k == key), "{key:?} kept: {names:?}");
        let entry = env.entry(r.header("inquiry-id").unwrap()).await;
        // logged by name, format characters stripped (as for every
        // free text the log keeps)
        let logged: String = key
            .chars()
            .filter(|c| !matches!(c, '\u{200b}' | '\u{00ad}' | '\u{2060}'))
            .collect();
        assert!(
            entry.removed_keys.contains(&logged),
            "{key:?}: {:?}",
            entry.removed_keys
        );
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_inside_strings_is_redacted_as_json() {
    let env = Env::new().await;
    let gw = start(&env).await;
    let cases = [
        // an object in a string, prohibited key inside
        json!({"notes": r#"{"religion":"SECRET-EMB-1","ok":1}"#}),
        // an array in a string, with leading whitespace
        json!({"notes": " \n[{\"Medical History\":\"SECRET-EMB-2\"}]"}),
        // JSON in a string in JSON in a string
        json!({"notes": serde_json::to_string(&json!({"inner": r#"{"blood_type":"SECRET-EMB-3"}"#})).unwrap()}),
        // an id inside embedded JSON
        json!({"notes": format!(r#"{{"contact":"id {RESIDENT_ID}"}}"#)}),
    ];
    for (i, extra) in cases.into_iter().enumerate() {
        env.upstream
            .json(&subject_path(), 200, &subject_with(extra));
        let r = ask(&env, &gw, &subject_path(), &["SECRET-EMB", RESIDENT_ID]).await;
        let notes = r.json()["subject"]["notes"].clone();
        let notes = notes
            .as_str()
            .unwrap_or_else(|| panic!("case {i}: {notes}"));
        // what is left is still JSON
        assert!(
            serde_json::from_str::<Value>(notes).is_ok(),
            "case {i}: {notes}"
        );
        if i == 3 {
            assert!(notes.contains(RESIDENT_ID_MASKED), "case {i}: {notes}");
        }
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_and_mobiles_in_free_text_are_masked_wherever_they_are() {
    let env = Env::new().await;
    let gw = start(&env).await;
    let texts = [
        format!("法定代表人身份证号{RESIDENT_ID}，手机{MOBILE}。"),
        format!("id:{RESIDENT_ID} tel:{MOBILE}"),
        RESIDENT_ID.to_string(),
        format!("see {} and {MOBILE}", RESIDENT_ID.to_lowercase()),
        // an id glued to other digits is still an id
        format!("ref 77{RESIDENT_ID}"),
    ];
    for text in &texts {
        let body = subject_with(json!({
            "remarks": text,
            "deep": [{"x": {"y": text}}],
            // under a key nobody configured
            "联系方式": text,
        }));
        env.upstream.json(&subject_path(), 200, &body);
        let r = ask(&env, &gw, &subject_path(), &[RESIDENT_ID, MOBILE]).await;
        let v = r.json();
        for got in [
            &v["subject"]["remarks"],
            &v["subject"]["deep"][0]["x"]["y"],
            &v["subject"]["联系方式"],
        ] {
            let got = got.as_str().unwrap();
            assert!(got.contains(RESIDENT_ID_MASKED), "{text} -> {got}");
            if text.contains(MOBILE) {
                assert!(got.contains(MOBILE_MASKED), "{text} -> {got}");
            }
        }
    }
    // Numbers that are not ids or mobiles are left alone.
    let plain =
        "注册号12345678901234567，金额 2000000000，电话0731-84123456，订单430102198506123012";
    env.upstream.json(
        &subject_path(),
        200,
        &subject_with(json!({"remarks": plain})),
    );
    let r = ask(&env, &gw, &subject_path(), &[]).await;
    assert_eq!(r.json()["subject"]["remarks"], plain);
    // Other ways of writing them: any listed separator, 3-8, a first group
    // in parentheses, an X after a mobile, fullwidth ids.
    for (text, masked) in [
        ("手机１３８－１２３４－５６７８", "手机１３８－****－**７８"),
        ("tel 138\u{a0}1234\u{a0}5678", "tel 138\u{a0}****\u{a0}**78"),
        ("tel 138.1234.5678", "tel 138.****.**78"),
        ("tel 138 12345678", "tel 138 ******78"),
        ("tel (138) 1234 5678", "tel (138) **** **78"),
        ("tel 13812345678x", "tel 138******78x"),
        (
            "身份证号４３０１０２１９８５０６１２３０１１",
            "身份证号４３０１０２********３０１１",
        ),
        (
            "１１０１０５１９４９１２３１００２Ｘ",
            "１１０１０５********００２Ｘ",
        ),
    ] {
        env.upstream.json(
            &subject_path(),
            200,
            &subject_with(json!({"remarks": text})),
        );
        let r = ask(&env, &gw, &subject_path(), &[text]).await;
        assert_eq!(r.json()["subject"]["remarks"], masked, "{text}");
    }
    gw.shutdown().await.unwrap();
}

/// A records answer for the inspector: `records` plus the subject.
fn records_with(records: Value) -> Value {
    let mut body = subject_with(json!({}));
    body["records"] = records;
    body
}

fn penalty(id: &str, flags: Value) -> Value {
    let mut r = json!({"id": id, "item": "administrative_penalty", "decided_on": "2025-03-01",
                       "data": {"fine": 1}});
    if let (Some(r), Value::Object(flags)) = (r.as_object_mut(), flags) {
        r.extend(flags);
    }
    r
}

fn record_ids(v: &Value) -> Vec<String> {
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_flags_and_objections_fail_closed_in_any_spelling() {
    let env = Env::new().await;
    let gw = start(&env).await;
    // Set unless JSON false or absent: the record is withheld.
    let restored = [
        json!(true),
        json!("Y"),
        json!("true"),
        json!("false"),
        json!(1),
        json!(0),
        json!("no"),
        json!(null),
        json!([]),
        json!({}),
    ];
    let mut records: Vec<Value> = restored
        .iter()
        .enumerate()
        .map(|(i, v)| penalty(&format!("restored-{i}"), json!({"restored": v})))
        .collect();
    records.push(penalty("kept-false", json!({"restored": false})));
    records.push(penalty("kept-absent", json!({})));
    env.upstream
        .json(&records_path(), 200, &records_with(json!(records)));
    let r = ask(&env, &gw, &records_path(), &[]).await;
    assert_eq!(record_ids(&r.json()), ["kept-false", "kept-absent"]);
    let entry = env.entry(r.header("inquiry-id").unwrap()).await;
    assert_eq!(
        entry.records_suppressed.get("restored"),
        Some(&(restored.len() as u32))
    );
    assert_eq!(entry.records_returned, 2);

    // An objection other than none/empty labels the record.
    let objections = [
        ("PENDING", true),
        (" pending ", true),
        ("Pending", true),
        ("under review", true),
        ("异议处理中", true),
        ("none", false),
        (" NONE ", false),
        ("", false),
    ];
    let records: Vec<Value> = objections
        .iter()
        .enumerate()
        .map(|(i, (o, _))| penalty(&format!("obj-{i}"), json!({"objection": o})))
        .collect();
    env.upstream
        .json(&records_path(), 200, &records_with(json!(records)));
    let r = ask(&env, &gw, &records_path(), &[]).await;
    let v = r.json();
    for (i, (o, labelled)) in objections.iter().enumerate() {
        let rec = &v["records"][i];
        assert_eq!(rec["id"], format!("obj-{i}"));
        assert_eq!(
            rec.get("objection_notice").is_some(),
            *labelled,
            "objection {o:?}: {rec}"
        );
    }
    let entry = env.entry(r.header("inquiry-id").unwrap()).await;
    assert_eq!(entry.objection_labeled, 5);
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_outside_the_records_array_obey_the_record_rules() {
    let env = Env::new().await;
    let gw = start(&env).await;
    // Past its 1095-day inquiry period at NOW, restored, and one fine.
    let expired = json!({"id": "hidden-old", "item": "administrative_penalty",
                         "decided_on": "2020-01-01", "data": {"fine": "SECRET-OLD"}});
    let restored = penalty(
        "hidden-restored",
        json!({"restored": "yes", "data": {"fine": "SECRET-RESTORED"}}),
    );
    let ungranted = json!({"id": "hidden-item", "item": "commendation",
                           "decided_on": "2025-01-01", "data": {"title": "SECRET-ITEM"}});
    let fine = penalty("kept-elsewhere", json!({}));
    let placements = [
        json!({"cases": [expired, restored, ungranted, fine]}),
        json!({"history": {"old": {"list": [expired, restored, ungranted, fine]}}}),
        json!({"single": expired, "another": restored, "third": ungranted, "ok": fine}),
    ];
    for extra in placements {
        let mut body = records_with(json!([]));
        if let (Some(o), Value::Object(extra)) = (body["subject"].as_object_mut(), extra) {
            o.extend(extra);
        }
        env.upstream.json(&records_path(), 200, &body);
        let r = ask(&env, &gw, &records_path(), &["SECRET-"]).await;
        let text = String::from_utf8_lossy(&r.body).into_owned();
        assert!(!text.contains("hidden-"), "{text}");
        assert!(text.contains("kept-elsewhere"), "{text}");
        let entry = env.entry(r.header("inquiry-id").unwrap()).await;
        let suppressed: u32 = entry.records_suppressed.values().sum();
        assert_eq!(suppressed, 3, "{:?}", entry.records_suppressed);
        assert_eq!(entry.records_returned, 1);
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_routes_natural_person_id_is_masked_the_asked_one_is_not() {
    // Conformance case 11's officer and consent token (for the natural
    // person RESIDENT_ID), on the record route: the officer asked for a
    // record, so the subject's resident id in the answer is masked; on the
    // subject route the same id is what the officer asked for and stays.
    let case: Value = serde_json::from_slice(
        &std::fs::read(tests::conformance(
            "cases/11_credit_service_with_consent.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let token = case["request"]["headers"]["Subject-Consent"]
        .as_str()
        .unwrap();
    let headers = [
        ("Inquiry-Purpose", "credit_service"),
        ("Inquiry-Case", "LOAN-APP-7781"),
        ("Subject-Consent", token),
    ];
    let env = Env::new().await;
    let gw = start(&env).await;
    let client = env.client(Some("CS-RATE-0007"), Proto::Http1);
    let body = json!({
        "subject": {"id": RESIDENT_ID, "type": "natural_person", "name": "王强"},
        "records": [{"id": "r-201", "item": "administrative_penalty",
                     "decided_on": "2025-03-01", "data": {"fine": 200}}]
    });
    env.upstream.json("/v1/records/r-201", 200, &body);
    let r = client
        .get(gw.data_addr(), "/v1/records/r-201", &headers)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["subject"]["id"], RESIDENT_ID_MASKED);
    assert!(!String::from_utf8_lossy(&r.body).contains(RESIDENT_ID));
    // Two records for one record id: 502, and its entry says none was
    // returned (an outside probe's said 1 beside status 502).
    let mut two = body.clone();
    let second = json!({"id": "r-202", "item": "administrative_penalty",
                        "decided_on": "2025-03-02"});
    two["records"].as_array_mut().unwrap().push(second);
    env.upstream.json("/v1/records/r-202", 200, &two);
    let r = client
        .get(gw.data_addr(), "/v1/records/r-202", &headers)
        .await
        .unwrap();
    assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
    let entry = env.entry(r.header("inquiry-id").unwrap()).await;
    assert_eq!((entry.status, entry.records_returned), (502, 0));

    let path = format!("/v1/subjects/{RESIDENT_ID}");
    env.upstream
        .json(&path, 200, &json!({"subject": body["subject"]}));
    let r = client.get(gw.data_addr(), &path, &headers).await.unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["subject"]["id"], RESIDENT_ID);
    gw.shutdown().await.unwrap();
}
