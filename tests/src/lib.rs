//! Test support for credgate's end-to-end tests: PKI fixtures, TLS clients,
//! a spawned gateway on 127.0.0.1:0.
//!
//! ## Layout
//! - [`env`]: one test environment — a dev PKI in a tempdir, officer
//!   certificates for the conformance officers, the conformance policy, a
//!   `gateway.toml` writer, an in-process or spawned gateway, and the
//!   inquiry log reader;
//! - [`client`]: a TLS client (HTTP/1.1 or HTTP/2, optional client cert);
//! - [`upstream`]: a scripted upstream answering canned bodies per path and
//!   recording what it received;
//! - [`process`]: running the real binary and reading its listen lines;
//! - [`hostile`]: a raw TCP upstream playing byte-level scripts;
//! - [`raw`]: hand-written HTTP/1 bytes over TLS and hand-built
//!   ClientHellos, for the adversarial and TLS tests.
//!
//! Unlike the product crates (which deny `unwrap`/`expect` outside tests),
//! helpers here unwrap: their inputs are the tests' own fixtures, a panic
//! is a failed test with its location, and nothing here ships.
#![warn(missing_docs)]

pub mod client;
pub mod env;
pub mod hostile;
pub mod process;
pub mod raw;
pub mod upstream;

/// Path of a file in the repository's conformance folder.
pub fn conformance(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance")).join(rel)
}

/// Every conformance case (`conformance/cases/*.json`), in file order.
pub fn conformance_cases() -> Vec<serde_json::Value> {
    let mut files: Vec<_> = std::fs::read_dir(conformance("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 18, "conformance cases missing");
    files
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
        .collect()
}

/// Asserts that one conformance case's answer (`status`, `body`) and its
/// log entry are what the case expects: status, error code, body, the
/// entry stamped at the case's `now` with the expected decision, status,
/// officer, record counts and key names, and no removed value or consent
/// token in the entry.
pub fn assert_case_answer(
    case: &serde_json::Value,
    status: u16,
    body: &[u8],
    entry: &audit::NewEntry,
) {
    use serde_json::Value;
    use std::collections::BTreeSet;
    let name = case["name"].as_str().unwrap();
    let expect = &case["expect"];
    assert_eq!(
        u64::from(status),
        expect["status"].as_u64().unwrap(),
        "{name}: {}",
        String::from_utf8_lossy(body)
    );
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(code) = expect["code"].as_str() {
        let got = json
            .as_ref()
            .and_then(|j| j["error"]["code"].as_str().map(str::to_owned));
        assert_eq!(got.as_deref(), Some(code), "{name}");
    }
    if let Some(want) = expect.get("body") {
        assert_eq!(json.as_ref(), Some(want), "{name}");
    }
    let now = time::OffsetDateTime::parse(
        case["now"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        i128::from(entry.time_ms),
        now.unix_timestamp_nanos() / 1_000_000,
        "{name}: the entry is not stamped at the case's `now`"
    );
    let audit = &expect["audit"];
    assert_eq!(
        entry.decision.as_str(),
        audit["decision"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(u64::from(entry.status), u64::from(status), "{name}");
    assert_eq!(
        entry.officer_id,
        case["officer"].as_str().unwrap(),
        "{name}"
    );
    if let Some(n) = audit.get("records_returned") {
        assert_eq!(
            u64::from(entry.records_returned),
            n.as_u64().unwrap(),
            "{name}"
        );
    }
    if let Some(m) = audit.get("records_suppressed") {
        let got: Value = serde_json::to_value(&entry.records_suppressed).unwrap();
        assert_eq!(&got, m, "{name}");
    }
    let lower = |v: &[String]| -> BTreeSet<String> { v.iter().map(|s| s.to_lowercase()).collect() };
    for (key, got) in [
        ("removed_keys", &entry.removed_keys),
        ("masked_keys", &entry.masked_keys),
    ] {
        if let Some(v) = audit.get(key) {
            let want: Vec<String> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(lower(got), lower(&want), "{name}: {key}");
        }
    }
    if let Some(n) = audit.get("objection_labeled") {
        assert_eq!(
            u64::from(entry.objection_labeled),
            n.as_u64().unwrap(),
            "{name}"
        );
    }
    // No removed value, no consent token in the log entry.
    let logged = serde_json::to_string(entry).unwrap();
    assert!(
        !logged.contains("none declared"),
        "{name}: a removed value was logged"
    );
    if let Some(token) = case["request"]["headers"]
        .get("Subject-Consent")
        .and_then(Value::as_str)
    {
        assert!(!logged.contains(token), "{name}: consent token logged");
        // Which token it was is logged by its id, refused or not (an
        // expired one, one naming another subject, a tampered one).
        assert_eq!(
            entry.consent_id.as_deref(),
            Some(policy::consent::token_id(token).as_str()),
            "{name}: consent id"
        );
    }
}
