use std::collections::BTreeSet;
use std::sync::Arc;

use policy::{RecordFields, Rules, SubjectType};

use super::*;

fn scope(items: &[&str]) -> Scope {
    Scope {
        items: items.iter().map(|s| s.to_string()).collect(),
        subject_types: BTreeSet::new(),
        consent_fields: BTreeSet::new(),
        unmasked: BTreeSet::new(),
        beyond_inquiry_period: None,
        consent_subject: None,
        asked_subject: None,
        natural_person_needs_consent: false,
        rules: Arc::new(Rules {
            prohibited: BTreeSet::new(),
            consent_required: BTreeSet::new(),
            mask: Default::default(),
            items: Default::default(),
            record_fields: RecordFields::default(),
            utc_offset_seconds: 0,
        }),
    }
}

fn inquiry(route: Route) -> Inquiry {
    Inquiry {
        route,
        purpose: "p".into(),
        case: "c".into(),
        consent: None,
    }
}

/// What the redactor reports as the ids of `body`'s subject.
fn ids_of(body: &str) -> Vec<Option<String>> {
    let scope = scope(&["basic"]);
    let now = time::OffsetDateTime::UNIX_EPOCH;
    redaction::apply(body.as_bytes(), &scope, now)
        .unwrap()
        .1
        .subject_ids
}

#[test]
fn answer_must_concern_the_requested_subject() {
    let asked = "11010519491231002X";
    let body = |id: &str| format!(r#"{{"subject":{{"id":{id},"type":"natural_person"}}}}"#);
    // same id, either case of the check character
    for same in ["11010519491231002X", "11010519491231002x"] {
        let ids = ids_of(&body(&format!("\"{same}\"")));
        assert!(answers_about(asked, &ids), "{same}");
    }
    // another subject, or the same digits dressed differently
    for other in [
        "110105194912310011",
        " 11010519491231002X",
        "11010519491231002X ",
        "91430100MA4L0XXX1N",
        "",
    ] {
        let ids = ids_of(&body(&format!("\"{other}\"")));
        assert!(!answers_about(asked, &ids), "{other:?}");
    }
    // an id of another type never matches; no id names no one
    for typed in [
        "110105194912310020",
        "null",
        "[\"11010519491231002X\"]",
        "{}",
    ] {
        assert!(!answers_about(asked, &ids_of(&body(typed))), "{typed}");
    }
    assert!(answers_about(
        asked,
        &ids_of(r#"{"subject":{"name":"x"},"records":[]}"#)
    ));
    assert!(answers_about(asked, &ids_of(r#"{"records":[]}"#)));
    assert!(answers_about(asked, &ids_of(r#"{"subject":null}"#)));
}

#[test]
fn any_spelling_of_subject_and_id_is_checked() {
    let asked = "91430100MA4L0XXX1N";
    let other = "91110000100000000Q";
    // `subject` and `id` spelled as the field rules compare keys.
    for (subject, id) in [
        ("subject", "ID"),
        ("subject", "Id"),
        ("Subject", "id"),
        ("SUBJECT", "ID"),
        ("subject ", "i_d"),
        ("ｓｕｂｊｅｃｔ", "ｉｄ"),
        ("sub\u{200b}ject", "id\u{0363}"),
    ] {
        let answer = |id_value: &str| {
            format!(r#"{{"{subject}":{{"{id}":"{id_value}","type":"legal_person"}}}}"#)
        };
        assert!(
            !answers_about(asked, &ids_of(&answer(other))),
            "{subject:?}/{id:?}"
        );
        assert!(
            answers_about(asked, &ids_of(&answer(&asked.to_lowercase()))),
            "{subject:?}/{id:?}"
        );
    }
    // Two spellings that disagree fail, whichever is the one asked about.
    for body in [
        format!(r#"{{"subject":{{"id":"{asked}","ID":"{other}"}}}}"#),
        format!(r#"{{"subject":{{"ID":"{other}","id":"{asked}"}}}}"#),
        format!(r#"{{"subject":{{"id":"{asked}"}},"Subject":{{"id":"{other}"}}}}"#),
        format!(r#"{{"Subject":{{"id":"{other}"}},"subject":{{"id":"{asked}"}}}}"#),
        format!(r#"{{"subject":{{"id":"{asked}"}},"Subject":{{"Id":null}}}}"#),
    ] {
        assert!(!answers_about(asked, &ids_of(&body)), "{body}");
    }
    // Two spellings of the same id (case aside) agree.
    let agreeing = format!(
        r#"{{"subject":{{"id":"{asked}","ID":"{}"}},"Subject":{{"id":"{asked}"}}}}"#,
        asked.to_lowercase()
    );
    assert!(answers_about(asked, &ids_of(&agreeing)));
    // A subject that is no object names someone unreadably.
    for body in [
        format!(r#"{{"subject":"{other}"}}"#),
        format!(r#"{{"Subject":["{asked}"]}}"#),
        r#"{"subject":5}"#.to_owned(),
    ] {
        assert!(!answers_about(asked, &ids_of(&body)), "{body}");
    }
}

#[test]
fn records_query_is_rebuilt_from_the_scope_only() {
    let i = inquiry(Route::SubjectRecords {
        subject_id: "91430100MA4L0XXX1N".into(),
        subject_type: SubjectType::LegalPerson,
        items: Some(vec!["basic".into(), "court_enforcement".into()]),
    });
    assert_eq!(
        upstream_target(&i, &scope(&["basic", "administrative_penalty"])),
        "/v1/subjects/91430100MA4L0XXX1N/records?items=administrative_penalty,basic"
    );
}

#[test]
fn other_routes_carry_no_query() {
    let s = scope(&["basic"]);
    let i = inquiry(Route::Subject {
        subject_id: "91430100MA4L0XXX1N".into(),
        subject_type: SubjectType::LegalPerson,
    });
    assert_eq!(upstream_target(&i, &s), "/v1/subjects/91430100MA4L0XXX1N");
    let i = inquiry(Route::Record {
        record_id: "r-1".into(),
    });
    assert_eq!(upstream_target(&i, &s), "/v1/records/r-1");
}
