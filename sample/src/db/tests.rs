//! Unit tests of the seeder: determinism, id validity, fixtures, coverage.

use std::collections::HashSet;

use serde_json::Value;
use time::macros::date;

use super::ids::{gb11643_check_char, gb32100_check_char};
use super::seed::{fixture, Generator};
use super::well_known;

const ANCHOR: time::Date = date!(2026 - 11 - 27);

fn valid_natural(id: &str) -> bool {
    id.len() == 18
        && id.get(..17).and_then(gb11643_check_char) == id.chars().nth(17)
        && policy::subject::classify(id) == Ok(policy::SubjectType::NaturalPerson)
}

fn valid_legal(id: &str) -> bool {
    id.len() == 18
        && id.get(..17).and_then(gb32100_check_char) == id.chars().nth(17)
        && policy::subject::classify(id) == Ok(policy::SubjectType::LegalPerson)
}

#[test]
fn same_seed_same_data() {
    let a = Generator::new(ANCHOR).generate(60);
    let b = Generator::new(ANCHOR).generate(60);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.subject.json, y.subject.json);
        let xr: Vec<_> = x.records.iter().map(|r| &r.json).collect();
        let yr: Vec<_> = y.records.iter().map(|r| &r.json).collect();
        assert_eq!(xr, yr);
    }
}

#[test]
fn counts_and_ids_are_valid_and_unique() {
    let data = Generator::new(ANCHOR).generate(300);
    let naturals = data
        .iter()
        .filter(|g| g.subject.kind == "natural_person")
        .count();
    let legals = data
        .iter()
        .filter(|g| g.subject.kind == "legal_person")
        .count();
    assert_eq!((naturals, legals), (300, 300));
    let mut ids = HashSet::new();
    let mut record_ids = HashSet::new();
    for g in &data {
        assert!(ids.insert(g.subject.id.clone()), "duplicate subject id");
        match g.subject.kind {
            "natural_person" => assert!(valid_natural(&g.subject.id), "{}", g.subject.id),
            _ => assert!(valid_legal(&g.subject.id), "{}", g.subject.id),
        }
        let subject: Value = serde_json::from_str(&g.subject.json).unwrap();
        assert_eq!(subject["id"], g.subject.id.as_str());
        assert_eq!(subject["type"], g.subject.kind);
        if g.subject.kind == "legal_person" {
            let rep = subject["legal_representative"]["id_number"]
                .as_str()
                .unwrap();
            assert!(valid_natural(rep), "representative {rep}");
        }
        for r in &g.records {
            assert!(record_ids.insert(r.id.clone()), "duplicate record id");
            let rec: Value = serde_json::from_str(&r.json).unwrap();
            assert_eq!(rec["id"], r.id.as_str());
            assert_eq!(rec["item"], r.item);
            assert_eq!(rec["decided_on"], r.decided_on.as_str());
            assert!(rec["data"].is_object());
        }
    }
}

#[test]
fn generated_records_cover_every_rule() {
    let data = Generator::new(ANCHOR).generate(500);
    let mut seen = HashSet::new();
    for g in data.iter().skip(3) {
        for r in &g.records {
            let rec: Value = serde_json::from_str(&r.json).unwrap();
            seen.insert(r.item.to_string());
            if rec["objection"] == "pending" {
                seen.insert("objection".into());
            }
            if rec["restored"] == true {
                seen.insert("restored".into());
            }
            if rec["withheld_by_subject"] == true {
                seen.insert("withheld".into());
            }
            if rec.get("punishment_ends").is_some() {
                seen.insert("punishment_ends".into());
            }
            let text = &r.json;
            for key in [
                "medical_history",
                "blood_type",
                "illness",
                "real_estate",
                "phone",
            ] {
                if text.contains(&format!("\"{key}\"")) {
                    seen.insert(format!("record:{key}"));
                }
            }
        }
        let text = &g.subject.json;
        for key in [
            "religion",
            "blood_type",
            "income",
            "tax_paid",
            "real_estate",
            "id_number",
        ] {
            if text.contains(&format!("\"{key}\"")) {
                seen.insert(format!("subject:{key}"));
            }
        }
    }
    for want in [
        "administrative_penalty",
        "court_enforcement",
        "commendation",
        "basic",
        "objection",
        "restored",
        "withheld",
        "punishment_ends",
        "record:medical_history",
        "record:blood_type",
        "record:illness",
        "record:real_estate",
        "record:phone",
        "subject:religion",
        "subject:blood_type",
        "subject:income",
        "subject:tax_paid",
        "subject:real_estate",
        "subject:id_number",
    ] {
        assert!(seen.contains(want), "no generated record shows {want}");
    }
}

#[test]
fn fixtures_match_well_known() {
    let wk = well_known();
    assert!(valid_legal(wk.legal_person));
    assert!(valid_natural(wk.natural_person));
    assert!(valid_natural(wk.legal_representative));
    let data = Generator::new(ANCHOR).generate(1);
    let legal = data
        .iter()
        .find(|g| g.subject.id == wk.legal_person)
        .unwrap();
    let rec = |id: &str| -> Value {
        let r = legal.records.iter().find(|r| r.id == id).unwrap();
        serde_json::from_str(&r.json).unwrap()
    };
    assert_eq!(rec(wk.objection_pending_record)["objection"], "pending");
    assert_eq!(rec(wk.restored_record)["restored"], true);
    assert_eq!(rec(wk.withheld_record)["withheld_by_subject"], true);
    // 1500 days before the anchor: past the 1095-day inquiry period.
    assert_eq!(rec(wk.expired_record)["decided_on"], "2022-10-19");
    assert_eq!(rec(wk.extended_record)["punishment_ends"], "2028-07-19");
    assert_eq!(fixture::BASIC, wk.basic_record);
    let kinds: HashSet<&str> = legal.records.iter().map(|r| r.item).collect();
    assert_eq!(kinds.len(), 4);
}

/// Every string leaf of `value` with the key it sits under (array items
/// take their array's key).
fn string_leaves<'a>(key: &'a str, value: &'a Value, out: &mut Vec<(&'a str, &'a str)>) {
    match value {
        Value::String(s) => out.push((key, s)),
        Value::Array(xs) => xs.iter().for_each(|x| string_leaves(key, x, out)),
        Value::Object(m) => m.iter().for_each(|(k, v)| string_leaves(k, v, out)),
        _ => {}
    }
}

/// False positives of the value detectors, measured over the whole sample
/// database (subjects and records of the seeded data plus the fixtures):
/// every string leaf is scanned, and a detection counts as a false
/// positive unless the leaf is a resident id, a mobile number or a
/// subject id under a key that says so. Target: zero. The true positives
/// are counted too, so the test also fails if the detectors go blind.
#[test]
fn detectors_touch_nothing_but_ids_and_mobiles_in_the_sample_database() {
    use redaction::Detector;
    let data = Generator::new(ANCHOR).generate(1000);
    let mut bodies: Vec<&str> = Vec::new();
    for g in &data {
        bodies.push(&g.subject.json);
        bodies.extend(g.records.iter().map(|r| r.json.as_str()));
    }
    let (mut leaves_seen, mut ids, mut mobiles) = (0usize, 0u32, 0u32);
    let mut false_positives: Vec<String> = Vec::new();
    for body in bodies {
        let value: Value = serde_json::from_str(body).unwrap();
        let mut leaves = Vec::new();
        string_leaves("", &value, &mut leaves);
        for (key, text) in leaves {
            leaves_seen += 1;
            let found = redaction::detect_values(text);
            if found.is_empty() {
                continue;
            }
            let id_key = matches!(key, "id" | "id_number" | "身份证号" | "subject_id");
            let phone_key = matches!(key, "phone" | "mobile" | "手机号码");
            for (detector, n) in found {
                match detector {
                    Detector::ResidentId if id_key && valid_natural(text) => ids += n,
                    Detector::Mobile if phone_key && text.len() == 11 => mobiles += n,
                    _ => false_positives.push(format!("{key}: {} x{n}", detector.as_str())),
                }
            }
        }
    }
    eprintln!(
        "sample database: {leaves_seen} string leaves, {ids} resident ids and \
         {mobiles} mobiles detected, {} false positives",
        false_positives.len()
    );
    assert!(false_positives.is_empty(), "{false_positives:?}");
    assert!(
        ids > 1000 && mobiles > 1000,
        "detectors went blind: {ids} ids, {mobiles} mobiles"
    );
}
