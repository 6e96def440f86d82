//! Fuzz `redaction::apply`: arbitrary bytes as an upstream body under a fixed
//! scope (the conformance policy, market inspector, consent for `income`).
//!
//! Checks: `apply` never panics; when it succeeds the output is JSON, holds no
//! prohibited key and no unconsented consent-required key (any depth, names
//! compared normalised), no masked key reveals a leaf unchanged beyond its
//! kept characters, no string leaf holds a resident id or mobile number the
//! detectors would find, the report's record count matches the output
//! (records arrays found by their normalised key), and the same input
//! padded with whitespace past 8 KB (where the parser interns key names and
//! the passes remember each name's rules) is redacted identically.
#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use policy::keyname::normalise;
use policy::{Category, ItemRule, Rules, Scope};
use redaction::testing::{self, set};
use serde_json::Value;
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-22 00:00 UTC);

/// The conformance policy's prohibited fields, and one under a Chinese name.
static PROHIBITED: LazyLock<Vec<&str>> =
    LazyLock::new(|| [testing::PROHIBITED, &["宗教"]].concat());
const CONSENT: &[&str] = &["income", "savings", "tax_paid", "real_estate"];
const CONSENTED: &[&str] = &["income"];

static SCOPE: LazyLock<Scope> = LazyLock::new(|| {
    let item = |category, days| ItemRule {
        category,
        inquiry_period_days: days,
    };
    // The conformance policy's masks, record fields and offset.
    let rules = Rules {
        prohibited: set(&PROHIBITED),
        consent_required: set(CONSENT),
        items: BTreeMap::from([
            ("basic".to_owned(), item(Category::Basic, None)),
            (
                "administrative_penalty".to_owned(),
                item(Category::Untrustworthy, Some(1095)),
            ),
            ("commendation".to_owned(), item(Category::Positive, None)),
        ]),
        ..testing::rules()
    };
    Scope {
        // the conformance cases' legal person: its subject.id is left as asked
        asked_subject: Some("91430100MA4L0XXX1N".to_owned()),
        ..testing::scope_with(
            rules,
            &["basic", "administrative_penalty", "commendation"],
            CONSENTED,
        )
    }
});

/// Every key must be allowed; every leaf under a mask key must be masked.
fn check(value: &Value, under_mask: bool) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                // Names compare normalised (NFKC, case folded, letters and
                // digits only), as the redactor compares them.
                let key = normalise(key);
                let named = |names: &[&str]| names.iter().any(|n| normalise(n) == key);
                assert!(!named(&PROHIBITED), "prohibited key survived");
                assert!(
                    !named(CONSENT) || named(CONSENTED),
                    "unconsented key survived"
                );
                let masked = under_mask || named(&["id_number", "phone"]);
                check(child, masked);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| check(item, under_mask)),
        // A masked leaf is a string with at most 6 + 4 unstarred characters.
        Value::String(text) if under_mask => {
            assert!(
                text.chars().filter(|c| *c != '*').count() <= 10,
                "mask reveals too much"
            );
        }
        Value::Number(_) => assert!(!under_mask, "number under a mask key"),
        // No resident id or mobile number survives unmasked in any string.
        Value::String(text) => assert!(
            redaction::detect_values(text).is_empty(),
            "an id or mobile number survived in a string leaf"
        ),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    // Padded past 8 KB the parser interns key names and the passes keep
    // what they derived per name: it must change nothing (libFuzzer's
    // inputs stay under 4 KB by default, so the memo path runs here).
    let mut padded = data.to_vec();
    padded.resize(data.len() + 8 * 1024, b' ');
    let remembered = redaction::apply(&padded, &SCOPE, NOW).ok();
    let Ok((out, report)) = redaction::apply(data, &SCOPE, NOW) else {
        assert!(remembered.is_none(), "padding made the body redactable");
        return;
    };
    assert_eq!(
        remembered.as_ref(),
        Some(&(out.clone(), report.clone())),
        "the same body padded was redacted differently"
    );
    let value: Value = serde_json::from_slice(&out).expect("output is JSON");
    check(&value, false);
    let returned: usize = value
        .as_object()
        .expect("output is an object")
        .iter()
        .filter(|(key, _)| normalise(key) == "records")
        .filter_map(|(_, records)| records.as_array())
        .map(Vec::len)
        .sum();
    assert_eq!(report.records_returned as usize, returned);
});
