use serde_json::{json, Value};

use super::*;
use crate::testing::{inspector, rules, scope_with, set};
use crate::testutil::{from_value, to_value};

fn redact(scope: &Scope, value: Value) -> (Value, Report) {
    let mut doc = from_value(&value);
    let mut report = Report::default();
    let now = time::macros::datetime!(2026-11-22 00:00 UTC);
    let judge = Judge::new(scope, now);
    KeyRules::new(scope)
        .redact(&mut doc, &judge, &[], &[], &mut report)
        .unwrap();
    (to_value(&doc), report)
}

#[test]
fn prohibited_keys_go_at_any_depth_in_any_case() {
    let scope = inspector();
    let (out, report) = redact(
        &scope,
        json!({
            "RELIGION": "x",
            "a": [{"b": {"Blood_Type": "A", "keep": 1}}, [{"fingerprint": [1, 2]}]],
            "medical_HISTORY": {"nested": "whole subtree"}
        }),
    );
    assert_eq!(out, json!({"a": [{"b": {"keep": 1}}, [{}]]}));
    assert_eq!(
        report.removed_keys,
        set(&["RELIGION", "Blood_Type", "fingerprint", "medical_HISTORY"])
    );
}

#[test]
fn consent_keys_go_unless_consented() {
    let without = inspector();
    let (out, report) = redact(&without, json!({"Income": 1, "savings": 2, "name": "n"}));
    assert_eq!(out, json!({"name": "n"}));
    assert_eq!(report.removed_keys, set(&["Income", "savings"]));

    let with = scope_with(rules(), &[], &["income"]);
    let (out, report) = redact(&with, json!({"Income": 1, "savings": 2, "name": "n"}));
    assert_eq!(out, json!({"Income": 1, "name": "n"}));
    assert_eq!(report.removed_keys, set(&["savings"]));
}

#[test]
fn prohibited_wins_over_consent() {
    let mut r = rules();
    r.consent_required.insert("religion".to_owned());
    let scope = scope_with(r, &[], &["religion"]);
    let (out, _) = redact(&scope, json!({"religion": "x"}));
    assert_eq!(out, json!({}));
}

#[test]
fn mask_applies_to_every_leaf_under_the_key() {
    let scope = inspector();
    let (out, report) = redact(
        &scope,
        json!({"Phone": {"home": "13812345678", "work": [13900001111u64, true, null],
                          "religion": "gone"}}),
    );
    assert_eq!(
        out,
        json!({"Phone": {"home": "138******78", "work": ["139******11", true, null]}})
    );
    assert_eq!(report.masked_keys, set(&["Phone"]));
    assert_eq!(report.removed_keys, set(&["religion"]));
}

#[test]
fn mask_key_with_no_leaf_is_not_reported() {
    let scope = inspector();
    let (out, report) = redact(&scope, json!({"phone": null, "id_number": [false]}));
    assert_eq!(out, json!({"phone": null, "id_number": [false]}));
    assert!(report.masked_keys.is_empty());
}

#[test]
fn unmasked_grant_leaves_value() {
    let mut scope = inspector();
    scope.unmasked = set(&["phone"]);
    let (out, report) = redact(&scope, json!({"phone": "13812345678"}));
    assert_eq!(out, json!({"phone": "13812345678"}));
    assert!(report.masked_keys.is_empty());
}

#[test]
fn inner_mask_key_uses_its_own_mask() {
    let scope = inspector();
    let (out, report) = redact(
        &scope,
        json!({"id_number": {"phone": "13812345678", "v": "430102198506123011"}}),
    );
    assert_eq!(
        out,
        json!({"id_number": {"phone": "138******78", "v": "430102********3011"}})
    );
    assert_eq!(report.masked_keys, set(&["id_number", "phone"]));
}

#[test]
fn non_ascii_keys_compare_case_insensitively() {
    let mut r = rules();
    r.prohibited.insert("宗教".to_owned());
    r.prohibited.insert("straße".to_owned());
    r.prohibited.insert("δόγμα".to_owned());
    let scope = scope_with(r, &[], &[]);
    let (out, report) = redact(
        &scope,
        json!({"宗教": 1, "STRAẞE": 2, "ΔΌΓΜΑ": 3, "名称": "kept"}),
    );
    assert_eq!(out, json!({"名称": "kept"}));
    assert_eq!(report.removed_keys, set(&["宗教", "STRAẞE", "ΔΌΓΜΑ"]));
}

#[test]
fn kelvin_sign_key_matches_ascii_rule() {
    let mut r = rules();
    r.prohibited.insert("kin".to_owned());
    let scope = scope_with(r, &[], &[]);
    let (out, _) = redact(&scope, json!({"\u{212A}IN": "x"}));
    assert_eq!(out, json!({}));
}

#[test]
fn mis_cased_rules_are_lowered() {
    let mut r = rules();
    r.prohibited.insert("Secret_Thing".to_owned());
    let mut scope = scope_with(r, &[], &["INCOME"]);
    scope.unmasked = set(&["Phone"]);
    let (out, _) = redact(
        &scope,
        json!({"secret_thing": 1, "income": 2, "phone": "13812345678"}),
    );
    assert_eq!(out, json!({"income": 2, "phone": "13812345678"}));
}

#[test]
fn lookup_skips_keys_outside_length_range() {
    let scope = inspector();
    let rules = KeyRules::new(&scope);
    assert_eq!(rules.lookup("a", None), None);
    assert_eq!(rules.lookup(&"x".repeat(500), None), None);
    assert_eq!(rules.lookup("ILLNESS", None), Some(Action::Remove));
    assert_eq!(
        rules.lookup("Phone", None),
        Some(Action::Mask(Mask {
            keep_start: 3,
            keep_end: 2
        }))
    );
}

#[test]
fn a_memo_gives_what_the_lookup_derives_and_keeps_it() {
    let scope = inspector();
    let rules = KeyRules::new(&scope);
    for key in [
        "a",
        "ILLNESS",
        "Phone",
        "Id_Number",
        "religion",
        "病史",
        "x",
    ] {
        let memo = Memo::default();
        let derived = rules.lookup(key, None);
        assert_eq!(rules.lookup(key, Some(&memo)), derived, "{key}");
        assert!(memo.rule.is_derived(), "{key}: nothing kept");
        // Answered from the memo now.
        assert_eq!(rules.lookup(key, Some(&memo)), derived, "{key}");
    }
    // A memo is what it says, whatever key is asked about with it.
    let memo = Memo::default();
    assert_eq!(rules.lookup("religion", Some(&memo)), Some(Action::Remove));
    assert_eq!(rules.lookup("anything", Some(&memo)), Some(Action::Remove));
}

#[test]
fn order_of_kept_keys_is_preserved() {
    let scope = inspector();
    let (out, _) = redact(&scope, json!({"z": 1, "religion": 0, "a": 2, "m": 3}));
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["z", "a", "m"]);
}

#[test]
fn first_byte_filter_still_matches_every_casing() {
    let scope = inspector();
    let rules = KeyRules::new(&scope);
    // `_phone` is `phone` once normalised (it used to be another name).
    for key in ["Religion", "RELIGION", "tAX_PAID", "Id_Number", "_phone"] {
        assert!(rules.lookup(key, None).is_some(), "{key}");
    }
    // Same length and first letter as a rule, different name.
    assert_eq!(rules.lookup("Illnesz", None), None);
    assert_eq!(rules.lookup("dummy_key", None), None);
}

#[test]
fn long_keys_match_long_rules_in_any_case() {
    let long = "a".repeat(63) + "_x";
    let longer = "b".repeat(200);
    let mut r = rules();
    r.prohibited.insert(long.clone());
    r.prohibited.insert(longer.clone());
    let scope = scope_with(r, &[], &[]);
    let rules = KeyRules::new(&scope);
    assert_eq!(
        rules.lookup(&long.to_uppercase(), None),
        Some(Action::Remove)
    );
    assert_eq!(
        rules.lookup(&longer.to_uppercase(), None),
        Some(Action::Remove)
    );
    assert_eq!(rules.lookup(&"B".repeat(199), None), None);
    assert_eq!(rules.lookup(&"a".repeat(64), None), None);
    // A 63-byte rule and a 64-byte key share a length bit, not a match.
    assert_eq!(rules.lookup(&"A".repeat(63), None), None);
    assert_eq!(rules.lookup("Religion", None), Some(Action::Remove));
}

#[test]
fn every_rule_name_is_found_in_every_casing() {
    let mut r = rules();
    for name in ["a", "zz", "x_y_z", "tax_paid_2", "k"] {
        r.prohibited.insert(name.to_owned());
    }
    let scope = scope_with(r, &[], &[]);
    let rules = KeyRules::new(&scope);
    for (name, action) in &rules.table {
        let upper = name.to_uppercase();
        let mixed: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        for key in [name.to_string(), upper, mixed] {
            assert_eq!(rules.lookup(&key, None), Some(*action), "{key}");
        }
    }
}

#[test]
fn empty_rules_match_nothing() {
    let mut r = rules();
    r.prohibited.clear();
    r.consent_required.clear();
    r.mask.clear();
    let scope = scope_with(r, &[], &[]);
    let rules = KeyRules::new(&scope);
    assert_eq!(rules.lookup("", None), None);
    assert_eq!(rules.lookup("religion", None), None);
    assert_eq!(rules.lookup("宗教", None), None);
}

#[test]
fn combining_marks_in_a_key_do_not_hide_it() {
    // Marks Unicode counts as Alphabetic (kept by `char::is_alphanumeric`)
    // and enclosing ones, inside, before or after a rule's name.
    let scope = inspector();
    let rules = KeyRules::new(&scope);
    let spellings = [
        "religio\u{0363}n",
        "relig\u{05b0}ion",
        "\u{1dd3}Religion",
        "RELIGION\u{0903}",
        "ｒｅｌｉｇｉｏ\u{0363}ｎ",
        "blood\u{0363}_type",
        "Medical\u{05b0}History\u{20dd}",
        "id_nu\u{0363}mber",
        "pho\u{1dd3}ne",
        "in\u{0363}come",
    ];
    for key in spellings {
        let derived = rules.lookup(key, None);
        assert!(derived.is_some(), "{key:?} has no rule");
        // The memo path derives the same.
        let memo = Memo::default();
        assert_eq!(rules.lookup(key, Some(&memo)), derived, "{key:?}");
    }
    let (out, report) = redact(
        &scope,
        json!({
            "religio\u{0363}n": "x",
            "a": [{"relig\u{05b0}ion": "x", "keep": 1}],
            "pho\u{1dd3}ne": "13912345678",
            "in\u{0363}come": 1
        }),
    );
    assert_eq!(
        out,
        json!({"a": [{"keep": 1}], "pho\u{1dd3}ne": "139******78"})
    );
    assert!(report.removed_keys.contains("religio\u{0363}n"));
    assert!(report.masked_keys.contains("pho\u{1dd3}ne"));
}

#[test]
fn accented_spellings_of_a_rule_name_have_its_rule() {
    // Marks that NFKC composes with their letter (ó, é, ï) are dropped
    // after decomposition: the accented name is the rule's name.
    let scope = inspector();
    let rules = KeyRules::new(&scope);
    for (key, plain) in [
        ("religio\u{0301}n", "religion"),
        ("religión", "religion"),
        ("RELIGIÓN", "religion"),
        ("médical_history", "medical_history"),
        ("Phoné", "phone"),
        ("ïncome", "income"),
    ] {
        let derived = rules.lookup(key, None);
        assert!(derived.is_some(), "{key:?} has no rule");
        assert_eq!(derived, rules.lookup(plain, None), "{key:?}");
        let memo = Memo::default();
        assert_eq!(rules.lookup(key, Some(&memo)), derived, "{key:?}");
    }
    let (out, report) = redact(
        &scope,
        json!({"religión": "x", "a": [{"religio\u{0301}n": "x", "keep": 1}], "Phoné": "13912345678"}),
    );
    assert_eq!(out, json!({"a": [{"keep": 1}], "Phoné": "139******78"}));
    assert!(report.removed_keys.contains("religión"));
}
