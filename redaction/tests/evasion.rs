//! Issue 13, "redaction that cannot be sidestepped": one table per evasion
//! class, each row a spelling an upstream might send, all through
//! `redaction::apply` with the conformance policy.

use policy::gb11643_check_char;
use redaction::{apply, testing, Detector, Report, Suppression};
use serde_json::{json, Value};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-22 00:00 UTC);

fn run_with(scope: &policy::Scope, body: &Value) -> (Value, Report) {
    let bytes = serde_json::to_vec(body).unwrap();
    let (out, report) = apply(&bytes, scope, NOW).unwrap();
    (serde_json::from_slice(&out).unwrap(), report)
}

fn run(body: &Value) -> (Value, Report) {
    run_with(&testing::inspector(), body)
}

/// A valid resident id (checksum computed) with the given first 17 digits.
fn id(first17: &str) -> String {
    format!("{first17}{}", gb11643_check_char(first17).unwrap())
}

/// `text` with its ASCII digits and `X`/`x` written fullwidth.
fn wide(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' | 'X' | 'x' => char::from_u32(u32::from(c) + 0xFEE0).unwrap(),
            c => c,
        })
        .collect()
}

fn detected(report: &Report, detector: Detector) -> u32 {
    report.detected.get(&detector).copied().unwrap_or(0)
}

#[test]
fn prohibited_key_spellings_are_removed() {
    let spellings = [
        // trailing / leading space
        "medical_history ",
        " religion",
        // fullwidth
        "ｍｅｄｉｃａｌ＿ｈｉｓｔｏｒｙ",
        "ＲＥＬＩＧＩＯＮ",
        // zero-width and other format characters inside
        "medical\u{200b}history",
        "reli\u{200d}gion",
        "blood\u{feff}_type",
        "genetic\u{202e}_data",
        // camelCase, PascalCase
        "medicalHistory",
        "BloodType",
        "religiousFaith",
        // kebab, dot, spaced
        "medical-history",
        "blood.type",
        "genetic data",
        // combining marks (no letters, even those Unicode calls Alphabetic)
        "religio\u{0363}n",
        "relig\u{05b0}ion",
        "fingerprint\u{1dd3}",
        "\u{0903}illness",
        "medical\u{20dd}_history",
        "ＢＬＯＯＤ\u{0363}ＴＹＰＥ",
        // accents, precomposed or not (dropped after decomposition)
        "religión",
        "RELIGIÓN",
        "religio\u{0301}n",
        "médical_history",
        "fingërprint",
        "ｒｅｌｉｇｉóｎ",
        // escaped in the JSON text is covered by properties.rs
    ];
    for key in spellings {
        let body = json!({"subject": {"id": "x", "name": "n", key: "secret"}});
        let (out, report) = run(&body);
        assert_eq!(out, json!({"subject": {"id": "x", "name": "n"}}), "{key:?}");
        assert!(report.removed_keys.contains(key), "{key:?}");
    }
}

#[test]
fn chinese_field_names_from_the_policy_are_honoured() {
    let mut rules = testing::rules();
    for name in ["宗教信仰", "病史", "血型"] {
        rules.prohibited.insert(name.to_owned());
    }
    rules.consent_required.insert("收入".to_owned());
    rules.mask.insert(
        "手机号码".to_owned(),
        policy::Mask {
            keep_start: 3,
            keep_end: 2,
        },
    );
    let scope = testing::scope_with(rules, &["basic"], &[]);
    let body = json!({"subject": {
        "宗教信仰": "x", " 病史 ": "x", "血型\u{200b}": "x", "收入_": 1,
        "手机号码": "+86 138 1234 5678", "姓名": "王强"
    }});
    let (out, _) = run_with(&scope, &body);
    assert_eq!(
        out,
        json!({"subject": {"手机号码": "+86************78", "姓名": "王强"}})
    );
}

#[test]
fn consent_and_mask_names_are_normalised_too() {
    let body = json!({"subject": {"id": "x", "Tax-Paid": 1, "REAL ESTATE": [1],
        "ID_NUMBER ": "abcdefghijkl", "Phone\u{200b}": "0731-8888"}});
    let (out, report) = run(&body);
    assert_eq!(
        out,
        json!({"subject": {"id": "x", "ID_NUMBER ": "abcdef**ijkl", "Phone\u{200b}": "073****88"}})
    );
    assert!(report.masked_keys.contains("ID_NUMBER "));
}

#[test]
fn json_inside_a_string_is_redacted_as_json() {
    let valid = id("43010219850612301");
    let rows: Vec<(Value, Value)> = vec![
        (
            json!(r#"{"religion":"x","name":"n"}"#),
            json!(r#"{"name":"n"}"#),
        ),
        (
            json!(r#"  [{"Medical_History":"x"},{"ok":1}]"#),
            json!(r#"[{},{"ok":1}]"#),
        ),
        (
            json!(format!(r#"{{"note":"id {valid}"}}"#)),
            json!(r#"{"note":"id 430102********"#.to_owned() + &valid[14..] + r#""}"#),
        ),
        // JSON in a string in a string.
        (
            json!(serde_json::to_string(&json!({"inner": r#"{"religion":1,"a":2}"#})).unwrap()),
            json!(r#"{"inner":"{\"a\":2}"}"#),
        ),
        // JSON encoded twice (a JSON string holding JSON), and three times:
        // redacted, and encoded again as it was.
        (
            json!(serde_json::to_string(r#"{"medical_history":"S63","a":1}"#).unwrap()),
            json!(serde_json::to_string(r#"{"a":1}"#).unwrap()),
        ),
        (
            json!(serde_json::to_string(
                &serde_json::to_string(r#"[{"Religion":"x","b":2}]"#).unwrap()
            )
            .unwrap()),
            json!(serde_json::to_string(&serde_json::to_string(r#"[{"b":2}]"#).unwrap()).unwrap()),
        ),
        // A plain value encoded twice, an escape inside: read decoded.
        (json!("\"138123\\u00345678\""), json!("\"138******78\"")),
        // After a byte order mark.
        (
            json!("\u{feff}{\"religion\":1,\"a\":2}"),
            json!(r#"{"a":2}"#),
        ),
        // Not JSON: left alone.
        (json!("{not json"), json!("{not json")),
        (json!("\"{not json\""), json!("\"{not json\"")),
        (json!("[1, 2"), json!("[1, 2")),
        (json!("\"quoted\""), json!("\"quoted\"")),
    ];
    for (remark, expected) in rows {
        let body = json!({"remark": remark});
        let (out, _) = run(&body);
        assert_eq!(out, json!({"remark": expected}), "{remark}");
    }
}

#[test]
fn json_inside_a_long_string_is_redacted_as_json_row_by_row() {
    // Over 8 KB of JSON in a string: parsed as a document of its own, whose
    // repeated key names the parser interns (each name's rule derived once
    // for that document). Every row must come out alike, under each scope.
    let row = |i: usize| {
        json!({"religion": "x", "Phone": "13812345678", "RELIGION": "y",
               "name": format!("n{i}"), "income": 1, "real_estate": {"id_number": "abc"}})
    };
    let rows: Vec<Value> = (0..120).map(row).collect();
    let inner = serde_json::to_string(&json!({"rows": rows})).unwrap();
    assert!(inner.len() > 8 * 1024, "{}", inner.len());
    let body = json!({"remark": inner, "religion": "z"});
    for (scope, consented) in [
        (testing::inspector(), false),
        (testing::rating_agency_with_consent(), true),
    ] {
        let (out, report) = run_with(&scope, &body);
        assert!(out.get("religion").is_none());
        let inner: Value = serde_json::from_str(out["remark"].as_str().unwrap()).unwrap();
        let rows = inner["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 120);
        for (i, row) in rows.iter().enumerate() {
            let mut expected = json!({"Phone": "138******78", "name": format!("n{i}")});
            if consented {
                expected["income"] = json!(1);
                // A mask key keeps 6 + 4 characters: a 3-character value is all mask.
                expected["real_estate"] = json!({"id_number": "***"});
            }
            assert_eq!(row, &expected, "row {i}");
        }
        assert!(report.removed_keys.contains("religion"));
        assert!(report.masked_keys.contains("Phone"));
    }
}

#[test]
fn json_string_that_cannot_be_redacted_is_removed() {
    // A record of an ungranted item as the whole embedded document.
    let record = r#"{"item":"commendation","decided_on":"2025-01-01","title":"t"}"#;
    let (out, report) = run(&json!({"remark": record, "keep": 1}));
    assert_eq!(out, json!({"keep": 1}));
    assert_eq!(report.embedded_json_removed, 1);
    // Nested too deep: five strings within strings.
    let mut nested = json!({"religion": 1});
    for _ in 0..5 {
        nested = json!({"s": serde_json::to_string(&nested).unwrap()});
    }
    let (out, report) = run(&json!({"remark": nested["s"].clone()}));
    assert_eq!(report.embedded_json_removed, 1);
    assert!(!out.to_string().contains("religion"));
}

#[test]
fn ids_and_phones_in_free_text_are_masked() {
    let a = id("43010219850612301");
    let b = id("11010519491231002");
    let rows = [
        (format!("当事人身份证号{a}，联系电话13812345678"), 1, 1),
        (format!("ids: {a}, {b}."), 2, 0),
        (a.to_lowercase(), 1, 0),
        ("call 15900001111 or 19912345678".to_owned(), 0, 2),
        // Glued to other digits: still found.
        (format!("NO.{a}0001"), 1, 0),
        // Fullwidth digits and check character.
        (
            "身份证号：１１０１０５１９４９１２３１００２Ｘ".to_owned(),
            1,
            0,
        ),
        (format!("{}{}", &a[..9], wide(&a[9..])), 1, 0),
    ];
    for (text, ids, mobiles) in rows {
        let (out, report) = run(&json!({"remark": text}));
        let masked = out["remark"].as_str().unwrap();
        assert_eq!(masked.chars().count(), text.chars().count(), "{text}");
        for value in [&a, &b] {
            assert!(!masked.contains(value.as_str()), "{text} -> {masked}");
            assert!(!masked.contains(&wide(value)), "{text} -> {masked}");
            assert!(!masked.contains(&wide(&value[9..])), "{text} -> {masked}");
        }
        assert!(!masked.contains("13812345678") && !masked.contains("15900001111"));
        assert_eq!(detected(&report, Detector::ResidentId), ids, "{text}");
        assert_eq!(detected(&report, Detector::Mobile), mobiles, "{text}");
    }
}

#[test]
fn mobiles_with_country_code_separators_or_fullwidth_digits_are_masked() {
    for (text, masked) in [
        ("+8613812345678", "+86138******78"),
        ("008613812345678", "0086138******78"),
        ("8613812345678", "86138******78"),
        ("+86 138 1234 5678", "+86 138 **** **78"),
        ("+86-138-1234-5678", "+86-138-****-**78"),
        ("138 1234 5678", "138 **** **78"),
        ("138-1234-5678", "138-****-**78"),
        ("１３８１２３４５６７８", "１３８******７８"),
        (
            "联系电话：+86 159-0000-1111。",
            "联系电话：+86 159-****-**11。",
        ),
        ("１３８－１２３４－５６７８", "１３８－****－**７８"),
        ("１３８　１２３４　５６７８", "１３８　****　**７８"),
        ("138\u{a0}1234\u{a0}5678", "138\u{a0}****\u{a0}**78"),
        ("138.1234.5678", "138.****.**78"),
        ("138 12345678", "138 ******78"),
        ("(138)1234-5678", "(138)****-**78"),
        ("(138) 1234 5678", "(138) **** **78"),
        ("（138）12345678", "（138）******78"),
    ] {
        let (out, report) = run(&json!({"remark": text, "list": [text]}));
        assert_eq!(out, json!({"remark": masked, "list": [masked]}), "{text}");
        assert_eq!(detected(&report, Detector::Mobile), 2, "{text}");
    }
    // Not mobiles: 12 digits, 12x after the country code, a 5-digit group.
    for text in ["138123456789", "+8612812345678", "138 1234 56789"] {
        let (out, report) = run(&json!({"remark": text}));
        assert_eq!(out, json!({"remark": text}));
        assert!(report.detected.is_empty(), "{text}");
    }
}

#[test]
fn subject_id_itself_is_scanned_but_reported_as_sent() {
    let a = id("43010219850612301");
    let (out, report) = run(&json!({"subject": {"id": a, "type": "natural_person"}}));
    assert_eq!(
        out["subject"]["id"],
        json!(format!("430102********{}", &a[14..]))
    );
    assert_eq!(report.subject_id.as_deref(), Some(a.as_str()));
}

#[test]
fn ordinary_numbers_are_left_alone() {
    let a = id("43010219850612301");
    let wrong = format!("{}{}", &a[..17], if a.ends_with('0') { '1' } else { '0' });
    for text in [
        wrong.as_str(),
        "order 2025031500012345",
        "12812345678",
        "138123456789",
        "amount 1381234.56",
        "tel 0731-88881234",
    ] {
        let (out, report) = run(&json!({"remark": text}));
        assert_eq!(out, json!({"remark": text}), "{text}");
        assert!(report.detected.is_empty(), "{text}");
    }
}

#[test]
fn unmasked_scope_sees_detected_values() {
    let mut scope = testing::inspector();
    scope.unmasked = testing::set(&["phone"]);
    let (out, report) = run_with(&scope, &json!({"remark": "tel 13812345678"}));
    assert_eq!(out, json!({"remark": "tel 13812345678"}));
    assert!(report.detected.is_empty());
}

#[test]
fn lifecycle_flags_fail_closed() {
    // Every spelling but JSON false (or no field) counts as set.
    for flag in [
        json!(true),
        json!("true"),
        json!("TRUE"),
        json!("false"),
        json!(1),
        json!(0),
        json!("yes"),
        json!({}),
        json!([]),
        json!(null),
        json!(""),
    ] {
        let body = json!({"records": [
            {"id": "1", "item": "administrative_penalty", "decided_on": "2026-01-01", "restored": flag}
        ]});
        let (out, report) = run(&body);
        assert_eq!(out["records"], json!([]), "restored: {flag}");
        assert_eq!(
            report.records_suppressed.get(&Suppression::Restored),
            Some(&1)
        );

        let scope = testing::rating_agency_with_consent();
        let body = json!({"records": [
            {"id": "2", "item": "commendation", "decided_on": "2025-01-01", "Withheld_By_Subject": flag}
        ]});
        let (out, _) = run_with(&scope, &body);
        assert_eq!(out["records"], json!([]), "withheld: {flag}");
    }
    let body = json!({"records": [
        {"id": "1", "item": "administrative_penalty", "decided_on": "2026-01-01", "restored": false},
        {"id": "2", "item": "administrative_penalty", "decided_on": "2026-01-01"}
    ]});
    let (out, _) = run(&body);
    assert_eq!(out["records"].as_array().unwrap().len(), 2);
}

#[test]
fn objection_spellings_are_labelled() {
    for (value, labelled) in [
        (json!("pending"), true),
        (json!(" PENDING "), true),
        (json!("Pending"), true),
        (json!("under review"), true),
        (json!("ｐｅｎｄｉｎｇ"), true),
        (json!(true), true),
        (json!(1), true),
        (json!({}), true),
        (json!("none"), false),
        (json!(" NONE "), false),
        (json!(""), false),
        (json!("  "), false),
        (json!(null), false),
        (json!(false), false),
    ] {
        let body = json!({"records": [{"id": "1", "item": "basic", "objection": value}]});
        let (out, report) = run(&body);
        let notice = out["records"][0].get("objection_notice");
        assert_eq!(notice.is_some(), labelled, "objection: {value}");
        assert_eq!(report.objection_labeled, u32::from(labelled));
    }
}

#[test]
fn records_elsewhere_obey_the_record_rules() {
    let expired =
        json!({"id": "old", "item": "administrative_penalty", "decided_on": "2019-01-01"});
    let restored = json!({"id": "res", "item": "court_enforcement", "decided_on": "2026-01-01", "restored": "yes"});
    let ungranted = json!({"id": "cm", "item": "commendation", "decided_on": "2026-01-01"});
    let fine = json!({"id": "ok", "ITEM": "administrative_penalty", "Decided-On": "2026-01-01", "objection": "Pending"});
    let bodies = [
        json!({"entries": [expired, restored, ungranted, fine]}),
        json!({"subject": {"id": "x", "history": {"deep": [[expired, restored]], "x": [ungranted, fine]}}}),
        // inside a record's own data
        json!({"records": [{"id": "r", "item": "basic", "data": {"sub": [expired, restored, ungranted, fine]}}]}),
    ];
    for body in bodies {
        let (out, report) = run(&body);
        let text = out.to_string();
        for gone in ["\"old\"", "\"res\"", "\"cm\""] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        assert!(text.contains("\"ok\""), "{text}");
        assert!(text.contains("under objection review"), "{text}");
        assert_eq!(report.records_elsewhere, 4, "{text}");
        assert_eq!(report.records_returned_elsewhere, 1);
        assert_eq!(report.objection_labeled, 1);
        for reason in [
            Suppression::Expired,
            Suppression::Restored,
            Suppression::NotGranted,
        ] {
            assert_eq!(
                report.records_suppressed.get(&reason),
                Some(&1),
                "{reason:?}"
            );
        }
    }
}

/// An object with `item` and a set lifecycle flag (or an objection) is a
/// record wherever it sits, also without `decided_on` (an outside probe: a
/// restored penalty and a withheld commendation nested under the subject
/// were served because they carried no date). Fail closed: an untrustworthy
/// one without a date is served by no period.
#[test]
fn an_item_with_a_lifecycle_flag_is_a_record_without_a_date() {
    let scope = testing::rating_agency_with_consent();
    let restored = json!({"id": "res", "item": "administrative_penalty", "restored": true});
    let restored_yes = json!({"id": "res2", "item": "administrative_penalty", "Restored": "yes"});
    let withheld = json!({"id": "wh", "item": "commendation", "withheld_by_subject": true});
    let undated = json!({"id": "und", "item": "administrative_penalty", "objection": "pending"});
    let kept = json!({"id": "kept", "item": "commendation", "withheld_by_subject": false, "objection": "pending"});
    let plain = json!({"id": "plain", "item": "commendation"});
    for body in [
        json!({"subject": {"id": "x", "honours": [withheld, kept], "pen": [restored, undated]}, "record": restored_yes, "catalogue": [plain]}),
        json!({"records": [{"id": "r", "item": "basic", "decided_on": "2026-01-01", "sub": [restored, restored_yes, withheld, undated, kept, plain]}]}),
    ] {
        let (out, report) = run_with(&scope, &body);
        let text = out.to_string();
        for gone in ["\"res\"", "\"res2\"", "\"wh\"", "\"und\""] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        // A record that stays gets the label; an object with `item` alone
        // is no record and stays as it is.
        assert!(text.contains("\"kept\""), "{text}");
        assert!(text.contains("\"plain\""), "{text}");
        assert_eq!(report.objection_labeled, 1, "{text}");
        for (reason, n) in [
            (Suppression::Restored, 2),
            (Suppression::Withheld, 1),
            (Suppression::Expired, 1),
        ] {
            assert_eq!(
                report.records_suppressed.get(&reason),
                Some(&n),
                "{reason:?}: {text}"
            );
        }
    }
}

/// The objection label is the gateway's word alone: a label the upstream
/// wrote, in any spelling, goes — on a record under objection (the
/// gateway's own stands alone) and on one that is not.
#[test]
fn an_objection_label_the_upstream_wrote_is_not_served() {
    for (objection, labelled) in [("none", false), ("pending", true)] {
        let body = json!({"records": [{
            "id": "1", "item": "basic", "objection": objection,
            "objection_notice": "the upstream label",
            "Objection-Notice": "resolved",
            "ＯＢＪＥＣＴＩＯＮ＿ＮＯＴＩＣＥ": "x"
        }]});
        let (out, report) = run(&body);
        let record = out["records"][0].as_object().unwrap();
        let notices: Vec<_> = record
            .iter()
            .filter(|(k, _)| k.to_lowercase().contains("notice") || k.contains("ＮＯＴＩＣＥ"))
            .collect();
        if labelled {
            assert_eq!(notices.len(), 1, "{record:?}");
            assert_eq!(record["objection_notice"], json!("under objection review"));
        } else {
            assert!(notices.is_empty(), "{record:?}");
        }
        assert_eq!(report.objection_labeled, u32::from(labelled));
    }
}

#[test]
fn a_body_that_is_itself_a_record_is_refused() {
    let body = json!({"item": "basic", "decided_on": "2026-01-01"});
    let bytes = serde_json::to_vec(&body).unwrap();
    assert!(apply(&bytes, &testing::inspector(), NOW).is_err());
}

#[test]
fn masking_keeps_utf8_valid() {
    let a = id("43010219850612301");
    let text = format!("😀{a}😁13812345678王");
    let (out, _) = run(&json!({"remark": text}));
    let masked = out["remark"].as_str().unwrap();
    assert!(masked.starts_with("😀430102"));
    assert!(masked.ends_with("😁138******78王"));
}

mod properties {
    //! The issue's properties over generated spellings, ids and numbers.

    use super::*;
    use proptest::prelude::*;
    use redaction::testing::PROHIBITED;

    /// `name` respelled: each letter in either case or fullwidth, with
    /// separators, format characters and combining marks between letters
    /// and around it.
    fn respelled() -> impl Strategy<Value = String> {
        // Combining marks too (Mn, Mc, Me), those that compose with no
        // Latin letter and those that do (U+0301 after `o` is `ó` under
        // NFKC, dropped again after decomposition).
        const SEPARATORS: &[&str] = &[
            "", "", "", " ", "_", "-", ".", "\u{200b}", "\u{200c}", "\u{200d}", "\u{feff}",
            "\u{00ad}", "\u{202e}", "\u{2028}", "\t", "\u{0363}", "\u{036f}", "\u{05b0}",
            "\u{05c2}", "\u{1dd3}", "\u{0903}", "\u{093e}", "\u{20dd}", "\u{0488}", "\u{0301}",
            "\u{0308}", "\u{0300}", "\u{030c}", "\u{0327}", "\u{0323}",
        ];
        (
            prop::sample::select(PROHIBITED),
            prop::collection::vec((0u8..3, prop::sample::select(SEPARATORS)), 24),
            prop::sample::select(SEPARATORS),
        )
            .prop_map(|(name, spelling, last)| {
                let mut out = String::new();
                for (c, (form, separator)) in name.chars().zip(spelling.iter().cycle()) {
                    out.push_str(separator);
                    match (form, c) {
                        (0, c) => out.push(c.to_ascii_uppercase()),
                        (1, c @ 'a'..='z') => {
                            // Fullwidth Latin letters: U+FF41 is `ａ`.
                            out.push(
                                char::from_u32(0xFF41 + u32::from(c) - u32::from('a')).unwrap(),
                            )
                        }
                        (_, c) => out.push(c),
                    }
                }
                out.push_str(last);
                out
            })
    }

    /// Wraps `value` in `depth` objects or arrays with ordinary keys.
    fn nest(value: Value, path: &[(bool, String)]) -> Value {
        path.iter().rev().fold(value, |inner, (array, key)| {
            if *array {
                json!([1, inner])
            } else {
                json!({ key.as_str(): inner, "other": "x" })
            }
        })
    }

    fn path() -> impl Strategy<Value = Vec<(bool, String)>> {
        prop::collection::vec((any::<bool>(), "[a-h]{1,5}"), 0..12)
    }

    /// Every string leaf of `value`.
    fn string_leaves(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|v| string_leaves(v, out)),
            Value::Object(map) => map.values().for_each(|v| string_leaves(v, out)),
            _ => {}
        }
    }

    /// A valid resident id: region, a real birth date, sequence, check.
    fn resident_id() -> impl Strategy<Value = String> {
        (
            "[1-8][0-9]{5}",
            1900u32..2100,
            1u32..13,
            1u32..29,
            "[0-9]{3}",
            any::<bool>(),
        )
            .prop_map(|(region, year, month, day, seq, lower_x)| {
                let first17 = format!("{region}{year:04}{month:02}{day:02}{seq}");
                let id = id(&first17);
                if lower_x {
                    id.to_lowercase()
                } else {
                    id
                }
            })
    }

    /// Whether some 18-character window of `text` (digits, maybe an `X`
    /// last) passes the checksum.
    fn any_window_checks(text: &str) -> bool {
        (0..=text.len().saturating_sub(18)).any(|start| {
            text.get(start..start + 18).is_some_and(|window| {
                gb11643_check_char(&window[..17]).is_some_and(|c| window[17..].starts_with(c))
            })
        })
    }

    /// What may stand between a mobile's groups: nothing, or one of the
    /// listed separators.
    const SEPARATORS: &[&str] = &[
        "", "", " ", "-", ".", "\u{a0}", "\u{3000}", "\u{ff0d}", "\u{2010}", "\u{2011}",
        "\u{2012}", "\u{2013}", "\u{2014}", "\u{2015}", "\u{ff0e}",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_spelling_of_a_prohibited_name_at_any_depth_is_removed(
            key in respelled(),
            path in path(),
        ) {
            let body = json!({"wrap": nest(json!({ key.as_str(): "SECRET-VALUE", "kept": 1 }), &path)});
            let (out, report) = run(&body);
            prop_assert!(!out.to_string().contains("SECRET-VALUE"), "{key:?} survived");
            prop_assert!(out.to_string().contains("\"kept\":1"));
            prop_assert!(report.removed_keys.contains(&key));
        }

        #[test]
        fn a_valid_resident_id_anywhere_in_a_string_never_survives(
            id in resident_id(),
            before in "\\PC{0,16}",
            after in "\\PC{0,16}",
            digits_before in "[0-9]{0,3}",
            digits_after in "[0-9]{0,3}",
            // Which of the id's characters are written fullwidth (values
            // are not NFKC-folded: the detector reads both forms).
            wide in prop::collection::vec(any::<bool>(), 18),
            path in path(),
        ) {
            let id: String = id
                .chars()
                .zip(&wide)
                .map(|(c, wide)| match c {
                    // `０` is U+FF10, `Ｘ` U+FF38, `ｘ` U+FF58.
                    '0'..='9' | 'X' | 'x' if *wide => {
                        char::from_u32(u32::from(c) + 0xFEE0).unwrap()
                    }
                    c => c,
                })
                .collect();
            let text = format!("{before}{digits_before}{id}{digits_after}{after}");
            let body = json!({"wrap": nest(json!({"remark": text}), &path)});
            let (out, report) = run(&body);
            let serialised = out.to_string().to_lowercase();
            prop_assert!(!serialised.contains(&id.to_lowercase()), "{id} survived in {serialised}");
            prop_assert!(report.detected.get(&Detector::ResidentId).is_some_and(|n| *n >= 1)
                || report.embedded_json_removed > 0);
        }

        #[test]
        fn digit_strings_that_are_no_id_or_mobile_are_unchanged(
            (digits, x) in ("[0-9]{1,30}", prop::sample::select(&["", "X", " "][..]))
                .prop_filter("no id, no mobile", |(d, x)| {
                    // Splits exactly into 11 digits starting 1[3-9], each
                    // alone or after a trunk 0, 86 or 0086.
                    fn mobiles(d: &str) -> bool {
                        d.is_empty()
                            || ["", "0", "86", "0086"].iter().any(|code| {
                                d.strip_prefix(code).is_some_and(|n| {
                                    n.len() >= 11
                                        && n.starts_with('1')
                                        && matches!(n.as_bytes()[1], b'3'..=b'9')
                                        && mobiles(&n[11..])
                                })
                            })
                    }
                    let mobile = !d.is_empty() && mobiles(d);
                    !(mobile || any_window_checks(&format!("{d}{}", x.trim())))
                }),
        ) {
            let text = format!("no. {digits}{x} ok");
            let (out, report) = run(&json!({"remark": text}));
            prop_assert_eq!(out, json!({"remark": text}));
            prop_assert!(report.detected.is_empty());
        }

        #[test]
        fn a_mobile_in_any_written_form_never_survives(
            second in 3u8..10,
            rest in "[0-9]{9}",
            code in prop::sample::select(&["", "86", "0086", "+86", "+0086"][..]),
            after_code in prop::sample::select(&["", " ", "-"][..]),
            grouped in prop::sample::select(SEPARATORS),
            grouped2 in prop::sample::select(SEPARATORS),
            // 3-4-4, 3-8, or the first group in `(…)` / `（…）`.
            shape in 0u8..4,
            wide in any::<bool>(),
            before in "[长沙a-z：:，, ]{0,6}",
            // `x`/`X` right after too: 11 digits cannot be an id, so the
            // letter does not keep them from being a mobile.
            after in "[长沙a-zX：:，, 。]{0,6}",
            path in path(),
        ) {
            let number = format!("1{second}{rest}");
            let (head, tail) = number.split_at(3);
            let (middle, last) = tail.split_at(4);
            // Separators between the groups (one each, of any listed kind),
            // or none: the 11 digits as one run.
            let other = if grouped2.is_empty() { grouped } else { grouped2 };
            let written = match shape {
                // After `)`, one separator or none; then 4-4 or 8.
                2 => format!("({head}){grouped}{middle}{grouped2}{last}"),
                3 => format!("（{head}）{grouped}{middle}{grouped2}{last}"),
                _ if grouped.is_empty() => number.clone(),
                0 => format!("{head}{grouped}{middle}{other}{last}"),
                // 3-8 across a full stop reads as a decimal (`131.23456789`)
                // and is left alone by design: a space there instead.
                _ if matches!(grouped, "." | "\u{ff0e}") => format!("{head} {middle}{last}"),
                _ => format!("{head}{grouped}{middle}{last}"),
            };
            let mut text = format!("{code}{after_code}{written}");
            if wide {
                // Fullwidth digits: U+FF10 is `０`.
                text = text
                    .chars()
                    .map(|c| match c.to_digit(10) {
                        Some(d) => char::from_u32(0xFF10 + d).unwrap(),
                        None => c,
                    })
                    .collect();
            }
            let text = format!("{before}{text}{after}");
            let body = json!({"wrap": nest(json!({"remark": text}), &path)});
            let (out, report) = run(&body);
            // The digits left in the string leaves (only the remark has
            // any), fullwidth ones read as ASCII: the country code, the
            // number's first 3 and last 2.
            let mut leaves = Vec::new();
            string_leaves(&out, &mut leaves);
            let left: String = leaves
                .concat()
                .chars()
                .filter_map(|c| {
                    c.to_digit(10)
                        .or_else(|| u32::from(c).checked_sub(0xFF10).filter(|d| *d < 10))
                })
                .map(|d| char::from_digit(d, 10).unwrap())
                .collect();
            let code_digits: String = code.chars().filter(char::is_ascii_digit).collect();
            prop_assert_eq!(left, format!("{code_digits}{head}{}", &last[2..]), "{} -> {}", text, out);
            prop_assert_eq!(report.detected.get(&Detector::Mobile).copied(), Some(1));
            let masked = out.to_string();
            prop_assert_eq!(
                masked.chars().count(),
                json!({"wrap": nest(json!({"remark": text}), &path)}).to_string().chars().count()
            );
        }

        #[test]
        fn masking_by_detectors_keeps_text_valid_and_its_length(
            id in resident_id(),
            filler in "[长沙😀é\u{301}a-z ]{0,12}",
        ) {
            // Separated: a mobile glued to other digits is no mobile.
            let text = format!("{filler}{id}，{filler}13812345678；{filler}");
            let body = serde_json::to_vec(&json!({"remark": text})).unwrap();
            let (bytes, _) = apply(&body, &testing::inspector(), NOW).unwrap();
            let out: Value = serde_json::from_slice(&bytes).unwrap();
            let masked = out["remark"].as_str().unwrap();
            prop_assert_eq!(masked.chars().count(), text.chars().count());
            prop_assert!(!masked.contains("13812345678"));
        }
    }
}
