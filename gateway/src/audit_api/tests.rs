use super::*;

const LEGAL: &str = "91430100MA4L0XXX1N";
const OTHER: &str = "91110000100000000R";

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("a%20b+c").as_deref(), Some("a b c"));
    assert_eq!(
        percent_decode("%E4%B8%AD%e6%96%87").as_deref(),
        Some("中文")
    );
    assert_eq!(
        percent_decode("HN-AMR-0001").as_deref(),
        Some("HN-AMR-0001")
    );
    assert_eq!(percent_decode("%zz"), None);
    assert_eq!(percent_decode("%4"), None);
    assert_eq!(percent_decode("%ff"), None, "not UTF-8");
}

#[test]
fn time_bounds() {
    assert_eq!(parse_time_bound("2026-03-01", false), Ok(1_772_323_200_000));
    assert_eq!(
        parse_time_bound("2026-03-01", true),
        Ok(1_772_323_200_000 + 86_400_000 - 1)
    );
    assert_eq!(
        parse_time_bound("2026-03-01T08:00:00+08:00", false),
        Ok(1_772_323_200_000)
    );
    assert_eq!(
        parse_time_bound("2026-03-01T00:00:00.250Z", true),
        Ok(1_772_323_200_250),
        "an exact instant is not widened"
    );
    // `+08:00` sent unencoded in a query string arrives as ` 08:00`.
    assert_eq!(
        parse_time_bound("2026-03-01T08:00:00 08:00", false),
        Ok(1_772_323_200_000)
    );
    for bad in [
        "yesterday",
        "2026-13-01",
        "2026-03-01 10:00",
        "",
        "2026-03-01T08:00:00 8:00",
        "2026-03-01T08:00:00 ab:cd",
        " 08:00",
    ] {
        assert!(parse_time_bound(bad, false).is_err(), "{bad}");
    }
    assert_eq!(format_ms(1_772_323_200_250), "2026-03-01T00:00:00.250Z");
}

#[test]
fn filter_query_parsing() {
    let f = parse_filter_query(
        Some("officer=HN%2DAMR-0001&subject=91430100MA4L0XXX1N&from=2026-03-01&to=2026-03-02&decision=deny"),
        true,
    )
    .unwrap();
    assert_eq!(f.officer.as_deref(), Some("HN-AMR-0001"));
    assert_eq!(f.subject.as_deref(), Some(LEGAL));
    assert_eq!(f.from_ms, Some(1_772_323_200_000));
    assert_eq!(f.to_ms, Some(1_772_323_200_000 + 2 * 86_400_000 - 1));
    assert_eq!(f.decision, Some(audit::Decision::Deny));
    assert_eq!(f.limit, Some(DEFAULT_LIMIT));

    assert_eq!(
        parse_filter_query(None, true).unwrap().limit,
        Some(DEFAULT_LIMIT)
    );
    assert_eq!(
        parse_filter_query(Some("limit=10000"), true).unwrap().limit,
        Some(MAX_LIMIT)
    );
    assert_eq!(parse_filter_query(None, false).unwrap().limit, None);
    let refused = [
        (Some("limit=10001"), true),
        (Some("limit=0"), true),
        (Some("limit=ten"), true),
        (Some("limit=5"), false),
        (Some("officer=a&officer=b"), true),
        (Some("colour=red"), true),
        (Some("subject=123"), true),
        (Some("decision=maybe"), true),
        (Some("from=2026-03-02&to=2026-03-01"), true),
        (Some("officer=%zz"), true),
    ];
    for (query, with_limit) in refused {
        assert!(parse_filter_query(query, with_limit).is_err(), "{query:?}");
    }
}

/// A refused query's message names the parameter and shows a short plain
/// value, never control characters, markup or a long value (an outside
/// probe had a 7 KB `limit` with escape codes and line breaks echoed whole).
#[test]
fn refusals_do_not_repeat_what_is_not_plain() {
    let long = "A".repeat(7000);
    for (query, kept, hidden) in [
        ("limit=ten".to_owned(), Some("`ten`"), None),
        ("decision=maybe".to_owned(), Some("`maybe`"), None),
        (
            format!("limit=%1B%5B31m%0D%0A%E2%80%A8{long}"),
            None,
            Some("\u{1b}"),
        ),
        ("from=%3Cscript%3E".to_owned(), None, Some("<script>")),
        (
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E=1".to_owned(),
            None,
            Some("<script>"),
        ),
        (format!("from={long}"), None, Some("AAAA")),
    ] {
        let Err(e) = parse_filter_query(Some(&query), true) else {
            panic!("{query} accepted");
        };
        let message = e.to_string();
        assert!(message.len() < 200, "{message}");
        if let Some(kept) = kept {
            assert!(message.contains(kept), "{message}");
        }
        if let Some(hidden) = hidden {
            assert!(!message.contains(hidden), "{message}");
            assert!(message.contains("not repeated"), "{message}");
        }
    }
}

/// Ms of an RFC 3339 instant.
fn ms(text: &str) -> i64 {
    parse_time_bound(text, false).unwrap()
}

/// `audit::testing::sample` as `officer`'s inquiry about `subject` at
/// `time`, with `decision`: no items, no records, nothing suppressed,
/// removed or masked.
fn new_entry(
    time: &str,
    officer: &str,
    subject: &str,
    decision: audit::Decision,
) -> audit::NewEntry {
    audit::NewEntry {
        time_ms: ms(time),
        inquiry_id: format!("inq-{}", ms(time)),
        officer_id: officer.into(),
        cert_fingerprint: "00".repeat(32),
        purpose: Some("administrative_inspection".into()),
        case: Some("HN-1".into()),
        path: format!("/v1/subjects/{subject}"),
        subject_id: Some(subject.into()),
        items_requested: vec![],
        decision,
        rule: "test".into(),
        records_returned: 0,
        records_suppressed: Default::default(),
        removed_keys: vec![],
        masked_keys: vec![],
        objection_labeled: 0,
        latency_ms: 1,
        ..audit::testing::sample(0)
    }
}

/// A real SQLite log with four entries; returns (tempdir, reader, public key, store url).
async fn store() -> (tempfile::TempDir, audit::Reader, Vec<u8>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let url = format!("sqlite://{}", tmp.path().join("audit.db").display());
    let cfg = audit::AuditConfig {
        store_url: url.clone(),
        signing_key_pkcs8: pkcs8.as_ref().to_vec(),
        checkpoint_every: 2,
        ..Default::default()
    };
    let log = audit::AuditLog::open(&cfg).await.unwrap();
    for e in [
        new_entry(
            "2026-03-01T09:00:00Z",
            "HN-AMR-0001",
            LEGAL,
            audit::Decision::Allow,
        ),
        new_entry(
            "2026-03-01T10:00:00Z",
            "HN-AMR-0001",
            OTHER,
            audit::Decision::Deny,
        ),
        new_entry(
            "2026-03-02T09:00:00Z",
            "CS-RATE-0007",
            LEGAL,
            audit::Decision::Allow,
        ),
        new_entry(
            "2026-03-03T09:00:00Z",
            "HN-AMR-0001",
            LEGAL,
            audit::Decision::Allow,
        ),
    ] {
        log.append(e).await.unwrap();
    }
    let public = log.public_key();
    log.shutdown().await.unwrap();
    let reader = audit::Reader::connect(&url)
        .await
        .unwrap()
        .with_signing_key(pkcs8.as_ref())
        .unwrap();
    (tmp, reader, public, url)
}

/// [`handle`] (named for the export cap these tests once bypassed).
async fn handle_big(
    reader: &audit::Reader,
    key: &[u8],
    path: &str,
    query: Option<&str>,
) -> AuditApiResponse {
    handle(reader, key, path, query).await
}

/// A streamed export read whole, or the refusal.
async fn export_whole(
    reader: &audit::Reader,
    query: Option<&str>,
) -> Result<(Vec<u8>, Option<String>), AuditApiResponse> {
    let started = export_stream(reader.clone(), query, ()).await?;
    let body = started.body.collect().await.unwrap();
    Ok((body, started.subject_id))
}

fn body_json(resp: &AuditApiResponse) -> Value {
    serde_json::from_slice(&resp.body).unwrap()
}

fn error_code(resp: &AuditApiResponse) -> String {
    body_json(resp)["error"]["code"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn entries_are_filtered_and_limited() {
    let (_tmp, reader, key, _) = store().await;
    let count = |q: &'static str| {
        let reader = reader.clone();
        let key = key.clone();
        async move {
            let resp = handle_big(&reader, &key, "/audit/entries", Some(q)).await;
            assert_eq!(resp.status, 200, "{q}");
            assert_eq!(resp.content_type, "application/json");
            body_json(&resp)["entries"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("").await, 4);
    assert_eq!(count("officer=HN-AMR-0001").await, 3);
    assert_eq!(count("decision=deny").await, 1);
    assert_eq!(count("to=2026-03-01").await, 2);
    assert_eq!(count("from=2026-03-02T00%3A00%3A00Z").await, 2);
    assert_eq!(count("limit=1").await, 1);
    let resp = handle_big(&reader, &key, "/audit/entries", Some("limit=4")).await;
    assert_eq!(
        body_json(&resp)["truncated"],
        true,
        "as many as the limit: maybe more"
    );
    let resp = handle_big(&reader, &key, "/audit/entries", Some("limit=5")).await;
    assert_eq!(body_json(&resp)["truncated"], false);
    let resp = handle_big(
        &reader,
        &key,
        "/audit/entries",
        Some(&format!("subject={LEGAL}")),
    )
    .await;
    assert_eq!(body_json(&resp)["entries"].as_array().unwrap().len(), 3);
    assert_eq!(resp.subject_id.as_deref(), Some(LEGAL));
    let first = &body_json(&resp)["entries"][0];
    assert_eq!(first["time"], "2026-03-01T09:00:00.000Z");
    assert_eq!(first["entry"]["officer_id"], "HN-AMR-0001");

    for bad in ["subject=123", "limit=20000", "colour=red", "decision=maybe"] {
        let resp = handle_big(&reader, &key, "/audit/entries", Some(bad)).await;
        assert_eq!(resp.status, 400, "{bad}");
        assert_eq!(error_code(&resp), "invalid_request");
    }
}

#[test]
fn csv_fields_are_quoted_and_formulas_neutralised() {
    let mut out = String::new();
    for (text, want) in [
        ("plain", "\"plain\""),
        ("=1+2", "\"'=1+2\""),
        ("+1", "\"'+1\""),
        ("-1", "\"'-1\""),
        ("@SUM(A1)", "\"'@SUM(A1)\""),
        ("\tx", "\"'\tx\""),
        ("a \"b\", c\nd", "\"a \"\"b\"\", c\nd\""),
        ("", "\"\""),
    ] {
        out.clear();
        csv_field(&mut out, text);
        assert_eq!(out, want, "{text:?}");
    }
}

#[tokio::test]
async fn entries_as_csv_take_the_same_filter() {
    let (_tmp, reader, key, _) = store().await;
    let resp = handle_big(
        &reader,
        &key,
        "/audit/entries",
        Some("officer=HN-AMR-0001&unit=Hunan+AMR&format=csv"),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.content_type, "text/csv; charset=utf-8");
    let text = String::from_utf8(resp.body).unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "a header and 3 rows: {text}");
    assert!(lines[0].starts_with("\"time\",\"inquiry_id\""));
    for bad in ["format=xml", "unit=x&unit=y"] {
        let resp = handle_big(&reader, &key, "/audit/entries", Some(bad)).await;
        assert_eq!(resp.status, 400, "{bad}");
    }
    let resp = handle_big(&reader, &key, "/audit/entries", Some("reason=nope")).await;
    assert_eq!(body_json(&resp)["entries"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn verify_reports_intact_and_a_wrong_key() {
    let (_tmp, reader, key, _) = store().await;
    let resp = handle_big(&reader, &key, "/audit/verify", None).await;
    assert_eq!(resp.status, 200);
    let report = body_json(&resp);
    assert_eq!(report["result"], "intact");
    assert_eq!(report["entries"], 4);

    let rng = ring::rand::SystemRandom::new();
    let other = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let other = ring::signature::Ed25519KeyPair::from_pkcs8(other.as_ref()).unwrap();
    let other_key = ring::signature::KeyPair::public_key(&other)
        .as_ref()
        .to_vec();
    let resp = handle_big(&reader, &other_key, "/audit/verify", None).await;
    assert_eq!(body_json(&resp)["result"], "tampered");
}

#[tokio::test]
async fn export_verifies_offline() {
    let (_tmp, reader, key, _) = store().await;
    let (body, subject) = export_whole(&reader, None).await.unwrap();
    assert_eq!(subject, None);
    let report = audit::verify_export(std::io::Cursor::new(&body), &key).unwrap();
    assert!(
        matches!(report, audit::VerifyReport::Intact { entries: 4, .. }),
        "{report:?}"
    );
    let resp = export_whole(&reader, Some("limit=3")).await.unwrap_err();
    assert_eq!(resp.status, 400);
    assert_eq!(
        handle_big(&reader, &key, "/audit/export", None)
            .await
            .status,
        404,
        "exports are only served streamed"
    );
}

/// The streamed export is the export `audit::Reader::export`
/// writes (what the admin plane built in memory before issue 15), byte
/// for byte, filtered or not; the permit is given back when the stream
/// ends or its reader goes away.
#[tokio::test]
async fn the_streamed_export_is_the_in_memory_export() {
    let (_tmp, reader, _key, _) = store().await;
    for query in [
        None,
        Some(format!("subject={LEGAL}&to=2026-03-01")),
        Some("officer=CS-RATE-0007".to_string()),
    ] {
        let filter = parse_filter_query(query.as_deref(), false).unwrap();
        let mut in_memory = Vec::new();
        reader.export(&filter, &mut in_memory).await.unwrap();
        let (streamed, subject) = export_whole(&reader, query.as_deref()).await.unwrap();
        assert_eq!(streamed, in_memory, "{query:?}");
        assert_eq!(subject, filter.subject);
    }
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
    let permit = permits.clone().try_acquire_owned().unwrap();
    let started = export_stream(reader.clone(), None, permit).await.unwrap();
    // (Held while the export streams: tests/tests/export_stream.rs,
    // with an export larger than the queue.)
    started.body.collect().await.unwrap();
    let freed = tokio::time::timeout(std::time::Duration::from_secs(5), permits.acquire())
        .await
        .is_ok();
    assert!(freed, "released when the stream ended");
    let permit = permits.clone().try_acquire_owned().unwrap();
    let started = export_stream(reader.clone(), None, permit).await.unwrap();
    drop(started);
    let freed = tokio::time::timeout(std::time::Duration::from_secs(5), permits.acquire())
        .await
        .is_ok();
    assert!(freed, "released when the client went away");
}

#[tokio::test]
async fn subject_report_lists_who_looked() {
    let (_tmp, reader, key, _) = store().await;
    let path = format!("/audit/subjects/{LEGAL}");
    let resp = handle_big(&reader, &key, &path, None).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.subject_id.as_deref(), Some(LEGAL));
    let report = body_json(&resp);
    assert_eq!(report["subject"], LEGAL);
    assert_eq!(report["subject_type"], "legal_person");
    let rows = report["inquiries"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["unit"], "Hunan AMR");
    assert_eq!(rows[0]["purpose"], "administrative_inspection");
    assert_eq!(rows[0]["decision"], "allow");
    assert_eq!(rows[1]["officer_id"], "CS-RATE-0007");

    let resp = handle_big(&reader, &key, "/audit/subjects/91430100MA4L0XXX1A", None).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.subject_id, None);
    let resp = handle_big(&reader, &key, "/audit/elsewhere", None).await;
    assert_eq!(resp.status, 404);
    assert_eq!(error_code(&resp), "not_found");
}

#[tokio::test]
async fn the_subject_report_is_limited_and_pages_on_with_from() {
    let (_tmp, reader, key, _) = store().await;
    let path = format!("/audit/subjects/{LEGAL}");
    let resp = handle_big(&reader, &key, &path, Some("limit=2")).await;
    assert_eq!(resp.status, 200);
    let report = body_json(&resp);
    assert_eq!(report["inquiries"].as_array().unwrap().len(), 2);
    assert_eq!(report["truncated"], true);
    let resp = handle_big(&reader, &key, &path, Some("from=2026-03-03&limit=2")).await;
    let report = body_json(&resp);
    let rows = report["inquiries"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["time"], "2026-03-03T09:00:00.000Z");
    assert_eq!(report["truncated"], false);
    let resp = handle_big(&reader, &key, &path, None).await;
    assert_eq!(body_json(&resp)["truncated"], false);
    for bad in ["limit=0", "limit=10001", "officer=x"] {
        let resp = handle_big(&reader, &key, &path, Some(bad)).await;
        assert_eq!(resp.status, 400, "{bad}");
    }
}

#[tokio::test]
async fn a_broken_store_is_503() {
    let (_tmp, reader, key, url) = store().await;
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("DROP TABLE entries")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let resp = handle_big(&reader, &key, "/audit/entries", None).await;
    assert_eq!(resp.status, 503);
    let refused = export_whole(&reader, None).await.unwrap_err();
    assert_eq!(
        refused.status, 503,
        "an export that cannot start is refused"
    );
    assert_eq!(error_code(&refused), "audit_unavailable");
    assert_eq!(error_code(&resp), "audit_unavailable");
    assert!(
        !String::from_utf8_lossy(&resp.body).contains("entries"),
        "no store detail leaks"
    );
}

#[test]
fn verify_reports_as_json_byte_for_byte() {
    let intact = audit::VerifyReport::Intact {
        entries: 1,
        checkpoints: 2,
        chains: 3,
        open_chains: 4,
        unsigned_entries: 5,
    };
    assert_eq!(
        verify_json(&intact).to_string(),
        r#"{"result":"intact","entries":1,"checkpoints":2,"chains":3,"open_chains":4,"unsigned_entries":5}"#
    );
    let tampered = audit::VerifyReport::Tampered {
        chain_id: "c-1".into(),
        first_bad_seq: 7,
        why: "hash \"mismatch\"".into(),
    };
    assert_eq!(
        verify_json(&tampered).to_string(),
        r#"{"result":"tampered","chain_id":"c-1","first_bad_seq":7,"why":"hash \"mismatch\""}"#
    );
}

/// `e` as chain `c1` stores it at `seq` (hashes not computed: for the
/// JSON views, which show them as they are).
fn stored(e: audit::NewEntry, seq: u64) -> audit::Entry {
    audit::Entry {
        chain_id: "c1".into(),
        seq,
        prev_hash: "00".repeat(32),
        hash: "11".repeat(32),
        entry: e,
    }
}

/// `/audit/entries` and `audit query --format json`: the entry's fields at
/// the top level as well as under `entry`; a refusal summary's count and
/// first and last inquiry ids as fields.
#[test]
fn entry_json_has_the_fields_at_the_top_and_reads_summaries_back() {
    let mut e = new_entry(
        "2026-03-01T10:00:00Z",
        "HN-AMR-0001",
        "91430100MA4L0XXX1N",
        audit::Decision::Deny,
    );
    e.reason = "refusals_summarised".into();
    e.rule = "refusal budget exceeded: 97 refused requests answered 429, inquiry ids aa..bb".into();
    let entry = stored(e, 3);
    let v = entry_json(&entry);
    assert_eq!(v["seq"], 3);
    assert_eq!(v["chain_id"], "c1");
    assert_eq!(v["reason"], "refusals_summarised");
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["officer_id"], "HN-AMR-0001");
    assert_eq!(v["entry"]["reason"], "refusals_summarised");
    assert_eq!(v["count"], 97);
    assert_eq!(v["first_inquiry"], "aa");
    assert_eq!(v["last_inquiry"], "bb");
    // Other entries get no summary fields.
    let mut plain = entry;
    plain.entry.reason = "ok".into();
    let v = entry_json(&plain);
    assert!(v.get("count").is_none(), "{v}");
    assert_eq!(v["reason"], "ok");
}

/// A witness conflict is an alert entry (SPEC): `/audit/alerts`, `audit
/// alerts` and the console list it beside the rule firings; a lift is not.
#[test]
fn witness_conflicts_are_listed_as_alerts() {
    let mut e = new_entry(
        "2026-03-01T10:00:00Z",
        "credgate",
        "91430100MA4L0XXX1N",
        audit::Decision::Error,
    );
    e.plane = "alert".into();
    e.reason = "witness_conflict".into();
    e.rule = "witness:w1: the witness holds size 12, beyond this chain's 10".into();
    let entry = stored(e, 7);
    let a = alert_json(&entry).expect("listed");
    assert_eq!(a["kind"], "witness_conflict");
    assert_eq!(a["rule"], "witness_conflict");
    assert!(a["message"].as_str().unwrap().contains("w1"), "{a}");
    assert_eq!(a["seq"], 7);
    let mut lift = entry;
    lift.entry.reason = "lift".into();
    assert!(alert_json(&lift).is_none());
}

/// The subject's report lists inquiries — the data plane's entries about
/// them — as the console's subject page does: a compliance officer's read
/// of the log that names the subject, or an alert naming it, is no
/// inquiry about them (`/audit/subjects/{id}` and `audit subject-report`
/// listed both).
#[tokio::test]
async fn the_subject_report_lists_data_plane_inquiries_only() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("audit.db").display());
    let log = audit::AuditLog::open(&audit::AuditConfig {
        store_url: url.clone(),
        signing_key_pkcs8: audit::generate_signing_key().unwrap(),
        ..Default::default()
    })
    .await
    .unwrap();
    let inquiry = new_entry(
        "2026-03-01T09:00:00Z",
        "HN-AMR-0001",
        LEGAL,
        audit::Decision::Allow,
    );
    assert_eq!(inquiry.plane, "data");
    log.append(inquiry).await.unwrap();
    for (plane, time) in [
        ("admin", "2026-03-01T10:00:00Z"),
        ("alert", "2026-03-01T11:00:00Z"),
    ] {
        let mut e = new_entry(time, "CMP-0001", LEGAL, audit::Decision::Allow);
        e.plane = plane.into();
        log.append(e).await.unwrap();
    }
    let reader = log.reader();
    let resp = handle_big(&reader, &[], &format!("/audit/subjects/{LEGAL}"), None).await;
    let rows = body_json(&resp)["inquiries"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["officer_id"], "HN-AMR-0001");
    let listed = reader.subject_report(LEGAL).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].entry.plane, "data");
    // The log itself still holds all three.
    let all = reader
        .query(&audit::Filter {
            subject: Some(LEGAL.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    log.shutdown().await.unwrap();
}

/// An outside probe: `/audit/subjects/430102198506123012` (a resident id
/// with a wrong check digit) repeated the whole id in its 400, which is
/// also kept in the inquiry log. The data plane never did.
#[test]
fn an_invalid_subject_id_is_not_repeated_in_the_error() {
    for bad in ["430102198506123012", "13812345678", "9143010MA4L0XX0"] {
        let err = parse_subject(bad).unwrap_err().to_string();
        assert!(err.starts_with("invalid subject id: "), "{err}");
        assert!(!err.contains(bad), "{err}");
    }
}
