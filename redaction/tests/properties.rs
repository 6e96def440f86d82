//! Property tests of `apply`: on random nested bodies no prohibited key
//! survives, consent keys survive exactly when consented, masking is by
//! character and reveals no more than it keeps, and records are never added
//! or reordered; keys written with `\u` escapes are redacted exactly like
//! plain ones; and on bodies with a byte changed, `apply` accepts what
//! serde_json accepts and whatever it returns is JSON.

use std::collections::BTreeSet;

use policy::keyname::normalise;
use policy::{Mask, Scope};
use proptest::prelude::*;
use redaction::testing::{self, CONSENT_REQUIRED as CONSENT, PROHIBITED};
use redaction::{apply, RedactionError};
use serde_json::{Map, Value};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-22 00:00 UTC);

const MASKED: &[&str] = &["id_number", "phone"];

/// `name` with each ASCII letter upper- or lowercased at random.
fn random_case(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        prop::sample::select(names),
        prop::collection::vec(any::<bool>(), 32),
    )
        .prop_map(|(name, upper)| {
            name.chars()
                .zip(upper.iter().cycle())
                .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
                .collect()
        })
}

/// `name` in random case with a combining mark (Mn, Mc or Me; some compose
/// with a Latin letter under NFKC, as U+0301 after `e` is `é`) inserted at
/// a random place.
fn marked(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    const MARKS: &[char] = &[
        '\u{0363}', '\u{05b0}', '\u{1dd3}', '\u{0903}', '\u{20dd}', '\u{0301}', '\u{0308}',
        '\u{030c}',
    ];
    (
        random_case(names),
        any::<prop::sample::Index>(),
        prop::sample::select(MARKS),
    )
        .prop_map(|(name, at, mark)| {
            let mut chars: Vec<char> = name.chars().collect();
            chars.insert(at.index(chars.len() + 1), mark);
            chars.into_iter().collect()
        })
}

/// Keys: plain names (Latin and Chinese) and rule names in random case,
/// some with a combining mark.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z_]{1,8}".prop_filter("records is the records key", |k| normalise(k) != "records"),
        1 => "[姓名称地址电话]{1,4}",
        2 => random_case(PROHIBITED),
        1 => random_case(CONSENT),
        1 => random_case(MASKED),
        1 => marked(PROHIBITED),
        1 => marked(CONSENT),
        1 => marked(MASKED),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,24}"
            .prop_filter("no detector or JSON", |t| plain(t))
            .prop_map(Value::String),
        "[长沙星辰建材有限公司王强0-9]{0,20}"
            .prop_filter("no detector or JSON", |t| plain(t))
            .prop_map(Value::String),
    ]
}

/// Whether no value rule (detectors, JSON in a string) applies to `text`,
/// so the key-rule model below stays exact: the detectors find nothing (a
/// mobile may be grouped or fullwidth, so ask them) and no `{`/`[` first.
/// The value rules have properties of their own (`tests/evasion.rs`, and
/// below).
fn plain(text: &str) -> bool {
    redaction::detect_values(text).is_empty()
        && !matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['))
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn body() -> impl Strategy<Value = Value> {
    prop::collection::vec((key(), json()), 0..8)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>()))
}

fn run(body: &Value, scope: &Scope) -> Value {
    let bytes = serde_json::to_vec(body).unwrap();
    let (out, _) = apply(&bytes, scope, NOW).unwrap();
    serde_json::from_slice(&out).unwrap()
}

/// Whether the normalised `key` names one of `names`.
fn listed(names: &[&str], key: &str) -> bool {
    names.iter().any(|name| normalise(name) == key)
}

/// Every key of `value`, normalised.
fn all_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(normalise(k).into_owned());
                all_keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| all_keys(v, out)),
        _ => {}
    }
}

/// Every key of `value`, as spelled.
fn raw_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                raw_keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| raw_keys(v, out)),
        _ => {}
    }
}

/// The obviously-correct model of the key rules: allocate freely, normalise
/// every key, mask via `Vec<char>`.
fn model(value: &Value, scope: &Scope, inherited: Option<Mask>) -> Value {
    let rules = &scope.rules;
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let lower = normalise(k).into_owned();
                let has = |set: &BTreeSet<String>| set.iter().any(|n| normalise(n) == lower);
                if has(&rules.prohibited)
                    || (has(&rules.consent_required) && !has(&scope.consent_fields))
                {
                    continue;
                }
                let mask = rules
                    .mask
                    .iter()
                    .find(|(n, _)| normalise(n) == lower)
                    .map(|(_, m)| *m)
                    .or(inherited);
                out.insert(k.clone(), model(v, scope, mask));
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| model(v, scope, inherited)).collect())
        }
        Value::String(s) => inherited.map_or(value.clone(), |m| Value::String(model_mask(s, m))),
        Value::Number(n) => inherited.map_or(value.clone(), |m| {
            Value::String(model_mask(&n.to_string(), m))
        }),
        Value::Null | Value::Bool(_) => value.clone(),
    }
}

fn model_mask(s: &str, m: Mask) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= m.keep_start + m.keep_end {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < m.keep_start || i >= chars.len() - m.keep_end {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

/// `value` as JSON text with each key character written as a `\\u` escape
/// where `escape` says so (the rest as serde_json writes it).
fn write_with_escaped_keys(
    value: &Value,
    escape: &mut impl Iterator<Item = bool>,
    out: &mut String,
) {
    match value {
        Value::Object(map) => {
            out.push('{');
            for (i, (key, child)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                for c in key.chars() {
                    if escape.next().unwrap_or(false) {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    } else {
                        let quoted = serde_json::to_string(&c.to_string()).unwrap();
                        out.push_str(&quoted[1..quoted.len() - 1]);
                    }
                }
                out.push_str("\":");
                write_with_escaped_keys(child, escape, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_with_escaped_keys(item, escape, out);
            }
            out.push(']');
        }
        leaf => out.push_str(&serde_json::to_string(leaf).unwrap()),
    }
}

fn consent_subset() -> impl Strategy<Value = Vec<&'static str>> {
    prop::sample::subsequence(CONSENT, 0..=CONSENT.len())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_prohibited_key_survives(body in body()) {
        let out = run(&body, &testing::inspector());
        let mut keys = Vec::new();
        all_keys(&out, &mut keys);
        for key in keys {
            prop_assert!(!listed(PROHIBITED, &key), "{key} survived");
        }
        // Judged without `normalise` too: the generated keys are ASCII
        // letters and `_` (and marks), or Chinese, so a key whose ASCII
        // letters, lowercased, spell a prohibited name is one.
        let mut raw = Vec::new();
        raw_keys(&out, &mut raw);
        for key in raw {
            let letters: String = key
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            prop_assert!(
                !PROHIBITED.iter().any(|name| name.replace('_', "") == letters),
                "{key:?} survived"
            );
        }
    }

    #[test]
    fn consent_keys_survive_only_when_consented(body in body(), consented in consent_subset()) {
        let scope = testing::scope_with(testing::rules(), &[], &consented);
        let out = run(&body, &scope);
        let mut keys = Vec::new();
        all_keys(&out, &mut keys);
        for key in &keys {
            if listed(CONSENT, key) {
                prop_assert!(listed(&consented, key), "{key} not consented");
            }
        }
        // ... and a consented key is kept wherever its ancestors are kept. The
        // model runs on the body as parsed from its bytes (serde_json does not
        // round-trip every f64 exactly).
        let parsed: Value = serde_json::from_slice(&serde_json::to_vec(&body).unwrap()).unwrap();
        prop_assert_eq!(out, model(&parsed, &scope, None));
    }

    #[test]
    fn escaped_keys_are_redacted_like_plain_ones(
        body in body(),
        escape in prop::collection::vec(any::<bool>(), 1..64),
    ) {
        let plain = serde_json::to_vec(&body).unwrap();
        let mut escaped = String::new();
        write_with_escaped_keys(&body, &mut escape.iter().copied().cycle(), &mut escaped);
        let scope = testing::inspector();
        let (from_plain, plain_report) = apply(&plain, &scope, NOW).unwrap();
        let (from_escaped, escaped_report) = apply(escaped.as_bytes(), &scope, NOW).unwrap();
        // Keys are decoded before any rule sees them and written decoded.
        prop_assert_eq!(&from_escaped, &from_plain);
        prop_assert_eq!(escaped_report, plain_report);
        let out: Value = serde_json::from_slice(&from_escaped).unwrap();
        let mut keys = Vec::new();
        all_keys(&out, &mut keys);
        for key in keys {
            prop_assert!(!listed(PROHIBITED, &key), "{key} survived");
        }
    }

    #[test]
    fn output_is_json_whenever_apply_succeeds(
        body in body(),
        at in any::<prop::sample::Index>(),
        byte in prop_oneof![
            prop::sample::select(&b"{}[]\",:\\u0e-9tfn \x00\x1f\xc3\xff"[..]),
            any::<u8>(),
        ],
        how in 0u8..3,
    ) {
        // A valid body with one byte changed, inserted or removed.
        let mut bytes = serde_json::to_vec(&body).unwrap();
        let i = at.index(bytes.len() + 1);
        match how {
            0 if i < bytes.len() => bytes[i] = byte,
            1 if i < bytes.len() => {
                bytes.remove(i);
            }
            _ => bytes.insert(i, byte),
        }
        let scope = testing::inspector();
        let serde = serde_json::from_slice::<Value>(&bytes);
        match apply(&bytes, &scope, NOW) {
            Ok((out, _)) => {
                prop_assert!(serde.is_ok(), "apply read what serde_json refuses");
                let out: Value = serde_json::from_slice(&out).unwrap();
                prop_assert!(out.is_object());
                let mut keys = Vec::new();
                all_keys(&out, &mut keys);
                for key in keys {
                    prop_assert!(!listed(PROHIBITED, &key), "{key} survived");
                    prop_assert!(!listed(CONSENT, &key), "{key} survived");
                }
            }
            Err(RedactionError::NotJson) => {
                prop_assert!(serde.is_err(), "apply refused what serde_json reads");
            }
            Err(other) => prop_assert!(serde.is_ok(), "{other}"),
        }
    }

    #[test]
    fn masking_reveals_at_most_what_it_keeps(
        text in "\\PC{0,40}",
        number in any::<i64>(),
        keep_start in 0usize..12,
        keep_end in 0usize..12,
    ) {
        let mut rules = testing::rules();
        let mask = Mask { keep_start, keep_end };
        rules.mask.insert("secret".to_owned(), mask);
        let scope = testing::scope_with(rules, &[], &[]);
        let body = serde_json::json!({"SECRET": [text, number]});
        let out = run(&body, &scope);
        for (original, masked) in [text.clone(), number.to_string()].iter().zip(out["SECRET"].as_array().unwrap()) {
            let masked = masked.as_str().unwrap();
            let original: Vec<char> = original.chars().collect();
            let masked: Vec<char> = masked.chars().collect();
            prop_assert_eq!(masked.len(), original.len());
            let revealed = masked
                .iter()
                .zip(&original)
                .enumerate()
                .filter(|(i, (m, o))| {
                    // A position reveals when it is not a mask star.
                    let starred = **m == '*' && (original.len() <= keep_start + keep_end
                        || (*i >= keep_start && *i < original.len() - keep_end));
                    !starred && m == o
                })
                .count();
            prop_assert!(revealed <= keep_start + keep_end);
            if original.len() <= keep_start + keep_end {
                prop_assert!(masked.iter().all(|c| *c == '*'));
            } else {
                prop_assert_eq!(&masked[..keep_start], &original[..keep_start]);
                prop_assert_eq!(&masked[masked.len() - keep_end..], &original[original.len() - keep_end..]);
                prop_assert!(masked[keep_start..masked.len() - keep_end].iter().all(|c| *c == '*'));
            }
        }
    }

    #[test]
    fn records_are_never_added_or_reordered(
        records in prop::collection::vec(record(), 0..40),
        beyond in any::<bool>(),
    ) {
        let records: Vec<Value> = records
            .into_iter()
            .enumerate()
            .map(|(i, mut r)| {
                r["id"] = Value::from(format!("r-{i}"));
                r
            })
            .collect();
        let ids_in: Vec<String> = records.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        let mut scope = testing::inspector();
        if beyond {
            scope.beyond_inquiry_period = Some("statute".to_owned());
        }
        let body = serde_json::json!({"subject": {"id": "S"}, "records": records});
        let (out, report) = apply(&serde_json::to_vec(&body).unwrap(), &scope, NOW).unwrap();
        let out: Value = serde_json::from_slice(&out).unwrap();
        let ids_out: Vec<String> = out["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        let mut rest = ids_in.iter();
        for id in &ids_out {
            prop_assert!(rest.any(|i| i == id), "{id} added or out of order");
        }
        let unique: BTreeSet<&String> = ids_out.iter().collect();
        prop_assert_eq!(unique.len(), ids_out.len());
        prop_assert_eq!(report.records_returned as usize, ids_out.len());
        let suppressed: u32 = report.records_suppressed.values().sum();
        prop_assert_eq!(ids_out.len() + suppressed as usize, ids_in.len());
        let labeled = out["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r.get("objection_notice").is_some())
            .count();
        prop_assert_eq!(report.objection_labeled as usize, labeled);
        // Whatever is served is granted.
        for r in out["records"].as_array().unwrap() {
            prop_assert!(scope.items.contains(r["item"].as_str().unwrap()));
        }
    }
}

/// `record` with its keys respelled (case, `_` or `-`) by `how`.
fn respell(record: Value, how: &[u8]) -> Value {
    let Value::Object(map) = record else {
        return record;
    };
    let mut out = Map::new();
    for (i, (key, value)) in map.into_iter().enumerate() {
        let spelled = match how.get(i).copied().unwrap_or(0) % 4 {
            0 => key,
            1 => key.to_uppercase(),
            2 => key.replace('_', "-"),
            _ => key
                .split('_')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect::<Vec<_>>()
                .join("_"),
        };
        out.insert(spelled, value);
    }
    Value::Object(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// A body of at least 8 KB has its repeated key names interned and
    /// their rules remembered per name: padding a body with whitespace
    /// past that size must change nothing in what `apply` returns.
    #[test]
    fn a_body_redacts_alike_with_and_without_remembered_key_names(
        records in prop::collection::vec((record(), prop::collection::vec(any::<u8>(), 8)), 0..24),
        extra in body(),
        before in any::<bool>(),
    ) {
        let records: Vec<Value> = records
            .into_iter()
            .enumerate()
            .map(|(i, (mut r, how))| {
                r["id"] = Value::from(format!("r-{i}"));
                respell(r, &how)
            })
            .collect();
        let mut body = extra;
        body["records"] = Value::Array(records);
        let bytes = serde_json::to_vec(&body).unwrap();
        // Unpadded, no memos: the comparison is memo against none (a rare
        // generated body past 8 KB would compare memo with memo: skipped).
        prop_assume!(bytes.len() < 8 * 1024);
        let pad = vec![b' '; 9 * 1024];
        let padded = if before {
            [pad.as_slice(), bytes.as_slice()].concat()
        } else {
            [bytes.as_slice(), pad.as_slice()].concat()
        };
        for scope in [testing::inspector(), testing::rating_agency_with_consent()] {
            let plain = apply(&bytes, &scope, NOW);
            let remembered = apply(&padded, &scope, NOW);
            match (plain, remembered) {
                (Ok(plain), Ok(remembered)) => prop_assert_eq!(plain, remembered),
                // The same error (a parse error's offset moves with leading
                // padding; generated bodies are JSON, so only shape errors).
                (Err(plain), Err(remembered)) => prop_assert_eq!(plain, remembered),
                (plain, remembered) => prop_assert!(
                    false, "{:?} against {:?}", plain.map(|_| ()), remembered.map(|_| ())
                ),
            }
        }
    }
}

fn record() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(
            &[
                "basic",
                "administrative_penalty",
                "court_enforcement",
                "commendation",
                "mystery",
            ][..],
        ),
        prop_oneof![
            (2015i32..2030, 1u8..13, 1u8..29)
                .prop_map(|(y, m, d)| Value::from(format!("{y:04}-{m:02}-{d:02}"))),
            Just(Value::from("not a date")),
            Just(Value::Null),
        ],
        prop::option::of((2020i32..2032, 1u8..13, 1u8..29)),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(&["pending", "resolved", ""][..]),
    )
        .prop_map(|(item, decided, ends, restored, withheld, objection)| {
            let mut r = serde_json::json!({
                "item": item,
                "decided_on": decided,
                "restored": restored,
                "withheld_by_subject": withheld,
                "objection": objection,
                "data": {"religion": "x", "phone": "13812345678"},
            });
            if let Some((y, m, d)) = ends {
                r["punishment_ends"] = Value::from(format!("{y:04}-{m:02}-{d:02}"));
            }
            r
        })
}
