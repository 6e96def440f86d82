//! No redacted value ever reaches a log: every conformance case runs through
//! the real binary with JSON process logs at debug level; then the captured
//! stderr, the SQLite store's files byte for byte, every column of every
//! table read through SQL, and the admin plane's entries and export are
//! searched for every value the redaction removed, masked or suppressed, and
//! for every consent token (whole or in parts). None may appear.

use std::collections::BTreeSet;

use serde_json::Value;
use sqlx::{Connection, Row};
use tests::client::Proto;
use tests::env::Env;
use tests::process::Proc;

const EXE: &str = env!("CARGO_BIN_EXE_credgate-under-test");

/// Record fields the log legitimately names (item codes, ids, lifecycle
/// flags): their values are structure, not content.
const STRUCTURAL: [&str; 8] = [
    "id",
    "item",
    "type",
    "decided_on",
    "punishment_ends",
    "restored",
    "objection",
    "withheld_by_subject",
];

/// Values that must be found by the automatic collection below (a guard
/// against the collection silently finding nothing).
const MUST_COLLECT: [&str; 6] = [
    "hypertension",
    "XYZ",
    "13812345678",
    "none declared",
    "Volunteer of the year",
    "Changsha Intermediate People's Court",
];

fn cases() -> Vec<Value> {
    tests::conformance_cases()
}

fn leaf_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Every string or number leaf under `v`, skipping structural record keys.
fn leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if !STRUCTURAL.contains(&k.to_lowercase().as_str()) {
                    leaves(child, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| leaves(c, out)),
        other => out.extend(leaf_text(other)),
    }
}

/// Every leaf under a key in `keys` (case-insensitive), at any depth.
fn leaves_under(v: &Value, keys: &BTreeSet<String>, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if keys.contains(&k.to_lowercase()) {
                    let mut all = Vec::new();
                    all_leaves(child, &mut all);
                    out.extend(all);
                } else {
                    leaves_under(child, keys, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| leaves_under(c, keys, out)),
        _ => {}
    }
}

fn all_leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.values().for_each(|c| all_leaves(c, out)),
        Value::Array(a) => a.iter().for_each(|c| all_leaves(c, out)),
        other => out.extend(leaf_text(other)),
    }
}

fn record_ids(body: &Value) -> BTreeSet<String> {
    body["records"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Values the redaction removed or masked (the originals), leaves of
/// suppressed records, and raw non-JSON bodies — minus anything some case
/// legitimately releases or sends in a request, and values too short to be
/// told apart from noise (dates, small numbers).
fn secrets(cases: &[Value]) -> BTreeSet<String> {
    let mut released = Vec::new();
    let mut requested = Vec::new();
    let mut found = Vec::new();
    for case in cases {
        requested.push(case["request"]["path"].as_str().unwrap().to_string());
        let expect = &case["expect"];
        if let Some(body) = expect.get("body") {
            all_leaves(body, &mut released);
        }
        let Some(up) = case["upstream"].as_object() else {
            continue;
        };
        if let Some(raw) = up.get("raw").and_then(Value::as_str) {
            found.push(raw.to_string());
            found.push("buddhist".to_string());
            continue;
        }
        let body = &up["body"];
        let audit = &expect["audit"];
        let keys: BTreeSet<String> = ["removed_keys", "masked_keys"]
            .iter()
            .filter_map(|k| audit.get(*k).and_then(Value::as_array))
            .flatten()
            .filter_map(|k| k.as_str().map(str::to_lowercase))
            .collect();
        leaves_under(body, &keys, &mut found);
        let kept = expect.get("body").map(record_ids).unwrap_or_default();
        for record in body["records"].as_array().into_iter().flatten() {
            if !kept.contains(record["id"].as_str().unwrap_or_default()) {
                leaves(record, &mut found);
            }
        }
    }
    let out: BTreeSet<String> = found
        .into_iter()
        // Three letters, or a number of six digits or more: shorter values
        // ("n/a", a fine of 20000) could turn up in timestamps or by chance.
        .filter(|s| {
            s.chars().filter(|c| c.is_alphabetic()).count() >= 3
                || (s.len() >= 6 && s.chars().all(|c| c.is_ascii_digit()))
        })
        .filter(|s| !released.contains(s))
        .filter(|s| !requested.iter().any(|p| p.contains(s.as_str())))
        .collect();
    for must in MUST_COLLECT {
        assert!(out.contains(must), "`{must}` not collected from the cases");
    }
    out
}

/// Every consent token the cases send, whole and as its two segments.
fn consent_texts(cases: &[Value]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for case in cases {
        if let Some(token) = case["request"]["headers"]
            .get("Subject-Consent")
            .and_then(Value::as_str)
        {
            out.insert(token.to_string());
            out.extend(
                token
                    .split('.')
                    .filter(|p| p.len() >= 16)
                    .map(str::to_string),
            );
        }
    }
    assert!(out.len() >= 3, "no consent token in the cases");
    out
}

/// Every table of the SQLite store, every column cast to text.
async fn sqlite_text(file: &std::path::Path) -> String {
    let url = format!("sqlite://{}?mode=ro", file.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert!(tables.iter().any(|t| t == "entries"), "{tables:?}");
    let mut text = String::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(&mut conn)
                .await
                .unwrap();
        for column in columns {
            let sql = format!("SELECT CAST(\"{column}\" AS BLOB) FROM \"{table}\"");
            for row in sqlx::query(&sql).fetch_all(&mut conn).await.unwrap() {
                let bytes: Option<Vec<u8>> = row.try_get(0).unwrap();
                text.push_str(&String::from_utf8_lossy(&bytes.unwrap_or_default()));
                text.push('\n');
            }
        }
    }
    text
}

fn assert_absent(haystack: &str, needles: &BTreeSet<String>, place: &str) {
    for needle in needles {
        assert!(
            !contains_value(haystack, needle),
            "a value the gateway must never record appears in {place}: `{}`",
            needle.chars().take(24).collect::<String>()
        );
    }
}

/// Whether `needle` occurs in `haystack`; a number only as a whole number
/// (not inside a longer run of digits: a timestamp's digits such as
/// `1796349150000` hold `150000`, an income, by chance — the test failed
/// once that way).
fn contains_value(haystack: &str, needle: &str) -> bool {
    if !needle.bytes().all(|b| b.is_ascii_digit()) {
        return haystack.contains(needle);
    }
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].bytes().next_back();
        let after = haystack[at + needle.len()..].bytes().next();
        !before.is_some_and(|b| b.is_ascii_digit()) && !after.is_some_and(|b| b.is_ascii_digit())
    })
}

#[test]
fn a_number_counts_only_as_a_whole_number() {
    assert!(contains_value("income 150000 yuan", "150000"));
    assert!(contains_value("150000", "150000"));
    assert!(!contains_value("t=1796349150000123", "150000"));
    assert!(contains_value("x1500001 and 150000", "150000"));
    assert!(contains_value("hypertension", "hypertension"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_redacted_value_or_consent_token_reaches_any_log() {
    let cases = cases();
    let secrets = secrets(&cases);
    let tokens = consent_texts(&cases);
    let env = Env::new().await;
    // The cases hold at their own `now`: the binary runs at it (test-only
    // `danger_fixed_clock`), so the expected statuses hold in any year.
    let now = cases[0]["now"].as_str().unwrap();
    assert!(
        cases.iter().all(|c| c["now"] == now),
        "cases differ in `now`"
    );
    env.write_config(&format!("danger_fixed_clock = \"{now}\""));
    // `env` runs the binary with RUST_LOG set for it alone (it execs, so the
    // child's pid stays the gateway's and signals reach it).
    let exe = EXE.to_string();
    let mut p = Proc::serve_args(
        "env",
        &["RUST_LOG=debug", &exe, "--log-format", "json"],
        &["--danger-fixed-clock"],
        &env.config_path,
    )
    .await;

    let mut answered = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let r = env.send_case(p.data, case).await;
        // The case did what it says, so the redaction really ran.
        assert_eq!(
            u64::from(r.status),
            case["expect"]["status"].as_u64().unwrap(),
            "{name}"
        );
        assert_absent(
            &String::from_utf8_lossy(&r.body),
            &secrets,
            &format!("the response of `{name}`"),
        );
        answered.push(r.header("inquiry-id").unwrap().to_string());
    }

    // The binary decided and logged at the cases' `now`.
    let now_ms = time::OffsetDateTime::parse(now, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
        * 1000;
    let logged = env.entries().await;
    for id in &answered {
        let e = logged
            .iter()
            .find(|e| &e.entry.inquiry_id == id)
            .unwrap_or_else(|| panic!("no entry for {id}"));
        assert_eq!(e.entry.time_ms, now_ms, "entry {id} not at the cases' now");
    }

    // The admin plane's view of the log carries no value either.
    let admin = p.admin.expect("admin plane not reported");
    let compliance = env.client(Some("CMP-0001"), Proto::Http1);
    for path in ["/audit/entries", "/audit/export"] {
        let r = compliance.get(admin, path, &[]).await.unwrap();
        assert_eq!(r.status, 200, "{path}");
        let text = String::from_utf8_lossy(&r.body).into_owned();
        for id in &answered {
            assert!(text.contains(id.as_str()), "{path} lacks inquiry {id}");
        }
        assert_absent(&text, &secrets, path);
        assert_absent(&text, &tokens, path);
    }

    p.signal("TERM");
    assert_eq!(p.wait().await, Some(0), "stderr:\n{}", p.stderr());

    let stderr = p.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() > cases.len(),
        "too few process log lines: {}",
        lines.len()
    );
    assert!(
        lines.iter().any(|l| l.contains("\"level\":\"DEBUG\"")),
        "debug level was not on"
    );
    for line in &lines {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
    for id in &answered {
        assert!(stderr.contains(id.as_str()), "no log line names {id}");
    }
    assert_absent(&stderr, &secrets, "the process log");
    assert_absent(&stderr, &tokens, "the process log");

    // The store's files, byte for byte (database, WAL, anything beside it).
    let db = env.sqlite_file();
    let dir = db.parent().unwrap();
    let mut scanned = 0;
    for file in std::fs::read_dir(dir).unwrap() {
        let path = file.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        scanned += bytes.len();
        let text = String::from_utf8_lossy(&bytes);
        let place = format!("store file {}", path.display());
        assert_absent(&text, &secrets, &place);
        assert_absent(&text, &tokens, &place);
    }
    assert!(scanned > 0, "no store file found in {}", dir.display());

    // And every column of every table, read through SQL.
    let text = sqlite_text(&db).await;
    for id in &answered {
        assert!(text.contains(id.as_str()), "the store lacks inquiry {id}");
    }
    assert_absent(&text, &secrets, "the store's columns");
    assert_absent(&text, &tokens, "the store's columns");
}
