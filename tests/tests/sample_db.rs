//! End-to-end tests of the sample credit database: a real SQLite file seeded
//! in a tempdir, served on 127.0.0.1:0, queried over HTTP/1.1.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use policy::SubjectType;
use redaction::testing::CONSENT_REQUIRED;
use sample::db::{self as sample_db, well_known};
use serde_json::Value;
use sqlx::{Row, SqlitePool};
use time::{Date, Duration as Days, OffsetDateTime, UtcOffset};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Every step of a test is bounded by this.
const BOUND: Duration = Duration::from_secs(20);

/// A seeded database served on an ephemeral port.
struct Served {
    addr: SocketAddr,
    pool: SqlitePool,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), sample_db::SampleDbError>>,
    _dir: tempfile::TempDir,
}

impl Served {
    async fn start(subjects: u32) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let pool = tokio::time::timeout(
            BOUND,
            sample_db::open_or_seed(&dir.path().join("credit.db"), subjects),
        )
        .await
        .expect("seeding took too long")
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(sample_db::serve(listener, pool.clone(), async move {
            let _ = rx.await;
        }));
        Served {
            addr,
            pool,
            stop: Some(tx),
            task,
            _dir: dir,
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (status, body) = request(self.addr, "GET", path, &[]).await;
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{path}: body is not JSON ({e})"));
        (status, json)
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(BOUND, &mut self.task)
            .await
            .expect("serve did not return after shutdown")
            .unwrap()
            .unwrap();
    }
}

/// One HTTP/1.1 request on a fresh connection: status and body bytes.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<u8>) {
    tokio::time::timeout(BOUND, async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = send
            .send_request(req.body(Empty::<Bytes>::new()).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if status == 200 {
            assert_eq!(
                resp.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("application/json")
            );
        }
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, body.to_vec())
    })
    .await
    .expect("request took too long")
}

fn today() -> Date {
    OffsetDateTime::now_utc()
        .to_offset(UtcOffset::from_hms(8, 0, 0).unwrap())
        .date()
}

fn date(v: &Value) -> Date {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(v.as_str().expect("a date string"), &fmt).unwrap()
}

fn record_ids(body: &Value) -> Vec<String> {
    body["records"]
        .as_array()
        .expect("records array")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Does `key` occur (case-insensitively) anywhere under `v`?
fn has_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(key) || has_key(v, key)),
        Value::Array(a) => a.iter().any(|v| has_key(v, key)),
        _ => false,
    }
}

#[tokio::test]
async fn every_subject_id_is_valid_and_typed() {
    let db = Served::start(50).await;
    let rows = sqlx::query("SELECT id, type, json FROM subjects")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let (mut natural, mut legal) = (0, 0);
    for row in &rows {
        let id: String = row.get(0);
        let kind: String = row.get(1);
        let json: Value = serde_json::from_str(row.get::<&str, _>(2)).unwrap();
        let classified = policy::subject::classify(&id)
            .unwrap_or_else(|e| panic!("seeded id `{id}` is invalid: {e}"));
        assert_eq!(classified.as_str(), kind, "{id}");
        assert_eq!(json["id"], id.as_str());
        assert_eq!(json["type"], kind.as_str());
        match classified {
            SubjectType::NaturalPerson => natural += 1,
            SubjectType::LegalPerson => {
                legal += 1;
                let rep = json["legal_representative"]["id_number"].as_str().unwrap();
                assert_eq!(
                    policy::subject::classify(rep),
                    Ok(SubjectType::NaturalPerson),
                    "representative of {id}"
                );
            }
        }
    }
    assert_eq!((natural, legal), (50, 50));
    let records: i64 = sqlx::query("SELECT COUNT(*) FROM records")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get(0);
    assert!(records > 50, "only {records} records for 100 subjects");
    db.stop().await;
}

#[tokio::test]
async fn subject_route_answers_the_spec_shape() {
    let db = Served::start(50).await;
    let wk = well_known();
    let (status, body) = db.get(&format!("/v1/subjects/{}", wk.legal_person)).await;
    assert_eq!(status, 200);
    let obj = body.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), vec!["subject"]);
    assert_eq!(body["subject"]["id"], wk.legal_person);
    assert_eq!(body["subject"]["type"], "legal_person");
    assert!(!body["subject"]["name"].as_str().unwrap().is_empty());

    let (status, body) = db.get(&format!("/v1/subjects/{}", wk.natural_person)).await;
    assert_eq!(status, 200);
    assert_eq!(body["subject"]["type"], "natural_person");
    assert_eq!(body["subject"]["id_number"], wk.natural_person);
    db.stop().await;
}

#[tokio::test]
async fn records_route_returns_all_or_only_the_listed_items() {
    let db = Served::start(50).await;
    let wk = well_known();
    let (status, all) = db
        .get(&format!("/v1/subjects/{}/records", wk.legal_person))
        .await;
    assert_eq!(status, 200);
    assert_eq!(all["subject"]["id"], wk.legal_person);
    let ids = record_ids(&all);
    for want in [
        wk.objection_pending_record,
        wk.expired_record,
        wk.extended_record,
        wk.restored_record,
        wk.enforcement_record,
        wk.commendation_record,
        wk.withheld_record,
        wk.basic_record,
    ] {
        assert!(ids.iter().any(|i| i == want), "{want} missing from {ids:?}");
    }
    for r in all["records"].as_array().unwrap() {
        assert!(r["item"].is_string() && r["decided_on"].is_string() && r["data"].is_object());
    }

    let (status, some) = db
        .get(&format!(
            "/v1/subjects/{}/records?items=commendation,basic",
            wk.legal_person
        ))
        .await;
    assert_eq!(status, 200);
    let mut ids = record_ids(&some);
    ids.sort();
    let mut want = vec![wk.commendation_record, wk.withheld_record, wk.basic_record];
    want.sort();
    assert_eq!(ids, want);

    // Percent-encoded comma, and an item the subject has none of.
    let (_, one) = db
        .get(&format!(
            "/v1/subjects/{}/records?items=court_enforcement%2Cno_such_item",
            wk.legal_person
        ))
        .await;
    let items: Vec<&str> = one["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["item"].as_str().unwrap())
        .collect();
    assert_eq!(items, vec!["court_enforcement", "court_enforcement"]);
    db.stop().await;
}

#[tokio::test]
async fn record_route_wraps_one_record_with_its_subject() {
    let db = Served::start(50).await;
    let wk = well_known();
    let (status, body) = db.get(&format!("/v1/records/{}", wk.restored_record)).await;
    assert_eq!(status, 200);
    assert_eq!(body["subject"]["id"], wk.legal_person);
    assert_eq!(record_ids(&body), vec![wk.restored_record.to_string()]);

    // Every generated record is reachable the same way.
    let row = sqlx::query("SELECT id, subject_id FROM records ORDER BY id DESC LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let (rid, sid): (String, String) = (row.get(0), row.get(1));
    let (status, body) = db.get(&format!("/v1/records/{rid}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["subject"]["id"], sid.as_str());
    assert_eq!(record_ids(&body), vec![rid]);
    db.stop().await;
}

#[tokio::test]
async fn unknown_subjects_records_and_routes_are_404_json() {
    let db = Served::start(50).await;
    // A valid id that is not in the data set.
    let absent = "91430100MA4L0XXX1N";
    assert!(policy::subject::classify(absent).is_ok());
    for path in [
        format!("/v1/subjects/{absent}"),
        format!("/v1/subjects/{absent}/records"),
        "/v1/records/r-9999999".to_string(),
        "/v1/subjects".to_string(),
        format!("/v1/subjects/{}/records/extra", well_known().legal_person),
        "/v2/records/r-0000001".to_string(),
        "/".to_string(),
    ] {
        let (status, body) = db.get(&path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
        assert!(!body.to_string().contains(absent), "{path} echoed the id");
    }
    let (status, _) = request(
        db.addr,
        "POST",
        &format!("/v1/subjects/{}", well_known().legal_person),
        &[],
    )
    .await;
    assert_eq!(status, 404);
    db.stop().await;
}

#[tokio::test]
async fn request_headers_are_never_echoed() {
    let db = Served::start(50).await;
    let (status, body) = request(
        db.addr,
        "GET",
        "/v1/records/r-0000001",
        &[
            ("Inquiry-Officer", "ECHO-CANARY-1"),
            ("X-Forwarded-For", "ECHO-CANARY-2"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(!text.contains("ECHO-CANARY"));
    db.stop().await;
}

#[tokio::test]
async fn well_known_records_have_the_promised_properties() {
    let db = Served::start(50).await;
    let wk = well_known();
    let today = today();
    let fetch = |id: &'static str| {
        let db = &db;
        async move {
            let (status, body) = db.get(&format!("/v1/records/{id}")).await;
            assert_eq!(status, 200, "{id}");
            body["records"][0].clone()
        }
    };

    let expired = fetch(wk.expired_record).await;
    assert_eq!(expired["item"], "administrative_penalty");
    assert!(expired.get("punishment_ends").is_none());
    assert!(date(&expired["decided_on"]) + Days::days(1095) <= today);

    let extended = fetch(wk.extended_record).await;
    assert_eq!(extended["item"], "administrative_penalty");
    assert!(date(&extended["decided_on"]) + Days::days(1095) <= today);
    assert!(date(&extended["punishment_ends"]) > today);

    let restored = fetch(wk.restored_record).await;
    assert_eq!(restored["item"], "court_enforcement");
    assert_eq!(restored["restored"], true);

    let withheld = fetch(wk.withheld_record).await;
    assert_eq!(withheld["item"], "commendation");
    assert_eq!(withheld["withheld_by_subject"], true);

    let shown = fetch(wk.commendation_record).await;
    assert_eq!(shown["withheld_by_subject"], false);

    let pending = fetch(wk.objection_pending_record).await;
    assert_eq!(pending["objection"], "pending");
    assert!(date(&pending["decided_on"]) + Days::days(1095) > today);
    assert!(pending["data"]["inspector_notes"]["medical_history"].is_string());
    assert!(pending["data"]["inspector_notes"]["witnesses"][0]["contact"]["id_number"].is_string());

    let live = fetch(wk.enforcement_record).await;
    assert!(date(&live["decided_on"]) + Days::days(1825) > today);
    assert_eq!(live["restored"], false);
    let rep = &live["data"]["debtor"]["representative"];
    assert!(rep["id_number"].is_string() && rep["contact"]["phone"].is_string());
    assert!(rep["health"]["illness"].is_string());

    // Subjects: prohibited, consent-required and masked keys at several depths.
    let (_, legal) = db.get(&format!("/v1/subjects/{}", wk.legal_person)).await;
    let s = &legal["subject"];
    assert!(s["legal_representative"]["id_number"].is_string());
    assert!(s["legal_representative"]["contact"]["phone"].is_string());
    assert!(has_key(&s["legal_representative"], "religion"));
    assert!(s["tax_paid"].is_number());
    assert_eq!(
        s["legal_representative"]["id_number"],
        wk.legal_representative
    );

    let (_, natural) = db.get(&format!("/v1/subjects/{}", wk.natural_person)).await;
    let s = &natural["subject"];
    // every consent-required field of the conformance policy, and two
    // prohibited ones
    for key in CONSENT_REQUIRED.iter().chain(&["religion", "blood_type"]) {
        assert!(s.get(key).is_some(), "natural person lacks {key}");
    }
    assert!(s["health"]["illness"].is_string() && s["health"]["medical_history"].is_string());
    assert!(s["contact"]["emergency_contact"]["id_number"].is_string());
    // the same kinds of field under Chinese names
    for key in [
        "宗教信仰",
        "血型",
        "指纹",
        "基因",
        "收入",
        "存款",
        "房产",
        "身份证号",
        "手机号码",
    ] {
        assert!(
            s["家庭情况"].get(key).is_some(),
            "natural person lacks {key}"
        );
    }

    let (_, rep) = db
        .get(&format!("/v1/subjects/{}", wk.legal_representative))
        .await;
    assert_eq!(rep["subject"]["type"], "natural_person");
    db.stop().await;
}

#[tokio::test]
async fn an_existing_database_is_reused_not_reseeded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/folder/credit.db");
    let count = |pool: SqlitePool| async move {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM subjects")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        pool.close().await;
        n
    };
    let first = sample_db::open_or_seed(&path, 20).await.unwrap();
    assert_eq!(count(first).await, 40);
    // A different size on reopen does not touch the existing data.
    let second = sample_db::open_or_seed(&path, 60).await.unwrap();
    assert_eq!(count(second).await, 40);
    assert!(Path::new(&path).exists());
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let db = Served::start(10).await;
    let addr = db.addr;
    let (status, _) = db.get("/v1/records/r-0000001").await;
    assert_eq!(status, 200);
    db.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn an_unusable_database_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_db = dir.path().join("notes.db");
    std::fs::write(&not_a_db, b"this is not a sqlite database, just some text").unwrap();
    let err = sample_db::open_or_seed(&not_a_db, 5).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("notes.db"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[tokio::test]
async fn the_sample_db_command_serves_until_sigterm() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_credgate-under-test"))
        .args([
            "sample-db",
            "--listen",
            "127.0.0.1:0",
            "--subjects",
            "20",
            "--db",
        ])
        .arg(&db)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(BOUND, lines.next_line())
        .await
        .expect("no listening line in time")
        .unwrap()
        .expect("stdout closed before the listening line");
    let addr: SocketAddr = line
        .strip_prefix("credgate sample-db: listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .parse()
        .unwrap();
    let (status, body) = request(
        addr,
        "GET",
        &format!("/v1/records/{}", well_known().withheld_record),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["records"][0]["withheld_by_subject"], true);

    let pid = child.id().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::time::timeout(BOUND, child.wait_with_output())
        .await
        .expect("sample-db did not exit after SIGTERM")
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("seeded"), "{stderr}");
    assert!(db.exists());
}
