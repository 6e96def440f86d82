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

#[test]
fn answer_must_concern_the_requested_subject() {
    let asked = "11010519491231002X";
    let body = |id: &str| format!(r#"{{"subject":{{"id":{id},"type":"natural_person"}}}}"#);
    // same id, either case of the check character
    for same in ["11010519491231002X", "11010519491231002x"] {
        let b = body(&format!("\"{same}\""));
        assert!(answers_about(asked, Some(same), b.as_bytes()), "{same}");
    }
    // another subject, or the same digits dressed differently
    for other in [
        "110105194912310011",
        " 11010519491231002X",
        "11010519491231002X ",
        "91430100MA4L0XXX1N",
        "",
    ] {
        let b = body(&format!("\"{other}\""));
        assert!(
            !answers_about(asked, Some(other), b.as_bytes()),
            "{other:?}"
        );
    }
    // an id of another type never matches; no id names no one
    for typed in [
        "110105194912310020",
        "null",
        "[\"11010519491231002X\"]",
        "{}",
    ] {
        assert!(
            !answers_about(asked, None, body(typed).as_bytes()),
            "{typed}"
        );
    }
    assert!(answers_about(
        asked,
        None,
        br#"{"subject":{"name":"x"},"records":[]}"#
    ));
    assert!(answers_about(asked, None, br#"{"records":[]}"#));
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
