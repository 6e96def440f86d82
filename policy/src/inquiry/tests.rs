//! Unit tests for the data-plane request parser.

use super::*;
use crate::model::SubjectType;

const LEGAL: &str = "91430100MA4L0XXX1N";
const NATURAL: &str = "430102198506123011";

fn req(path: &str) -> RawRequest<'_> {
    RawRequest {
        path,
        query: None,
        purpose: Some(b"administrative_inspection"),
        case: Some(b"HN-2026-00123"),
        consent: None,
    }
}

fn invalid_path(path: &str) -> bool {
    matches!(parse(&req(path)), Err(InquiryError::Invalid(_)))
}

#[test]
fn three_routes_parse() {
    let i = parse(&req(&format!("/v1/subjects/{LEGAL}"))).unwrap();
    assert_eq!(
        i.route,
        Route::Subject {
            subject_id: LEGAL.into(),
            subject_type: SubjectType::LegalPerson
        }
    );
    assert_eq!(i.purpose, "administrative_inspection");
    assert_eq!(i.case, "HN-2026-00123");
    let path = format!("/v1/subjects/{NATURAL}/records");
    let mut r = req(&path);
    r.query = Some("items=basic,commendation");
    let i = parse(&r).unwrap();
    assert_eq!(
        i.route,
        Route::SubjectRecords {
            subject_id: NATURAL.into(),
            subject_type: SubjectType::NaturalPerson,
            items: Some(vec!["basic".into(), "commendation".into()])
        }
    );
    let i = parse(&req("/v1/records/r-101.a_B")).unwrap();
    assert_eq!(
        i.route,
        Route::Record {
            record_id: "r-101.a_B".into()
        }
    );
}

/// A subject id in lower case (a resident id's check character `x`, a
/// credit code's letters) is the id in capitals: that is what goes on
/// (upstream path, log, consent comparison).
#[test]
fn a_subject_id_in_lower_case_is_taken_in_capitals() {
    let with_x = "11010519491231002x";
    let i = parse(&req(&format!("/v1/subjects/{with_x}/records"))).unwrap();
    assert!(matches!(
        i.route,
        Route::SubjectRecords { ref subject_id, subject_type: SubjectType::NaturalPerson, .. }
            if subject_id == "11010519491231002X"
    ));
    let i = parse(&req(&format!("/v1/subjects/{}", LEGAL.to_lowercase()))).unwrap();
    assert_eq!(
        i.route,
        Route::Subject {
            subject_id: LEGAL.into(),
            subject_type: SubjectType::LegalPerson
        }
    );
}

#[test]
fn records_without_items_means_all() {
    let path = format!("/v1/subjects/{LEGAL}/records");
    let mut r = req(&path);
    r.query = Some("");
    match parse(&r).unwrap().route {
        Route::SubjectRecords { items, .. } => assert_eq!(items, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unfronted_paths_are_not_found() {
    for p in [
        "/",
        "/v2/subjects/x",
        "/v1/other",
        "/v1/subjects",
        "/v1/records",
        "/healthz",
        "",
    ] {
        assert_eq!(parse(&req(p)), Err(InquiryError::NotFound), "{p}");
    }
    assert_eq!(
        parse(&req(&format!("/v1/subjects/{LEGAL}/other"))),
        Err(InquiryError::NotFound)
    );
    assert_eq!(parse(&req("/v1/records/a/b")), Err(InquiryError::NotFound));
}

#[test]
fn malformed_paths_are_invalid() {
    assert!(invalid_path("/v1/subjects/91430100MA4L0XXX1A"));
    assert!(invalid_path(&format!("/v1/subjects/{LEGAL}/")));
    assert!(invalid_path(&format!("/v1/subjects//{LEGAL}")));
    assert!(invalid_path("/v1/subjects/%39%31430100MA4L0XXX1N"));
    assert!(invalid_path("/v1/records/.."));
    assert!(invalid_path("/v1/records/."));
    assert!(invalid_path("/v1/records/a..b"));
    assert!(invalid_path("/v1/records/a b"));
    assert!(invalid_path(&format!("/v1/records/{}", "a".repeat(129))));
    assert!(!invalid_path(&format!("/v1/records/{}", "a".repeat(128))));
    assert!(invalid_path("/v1/records/记录"));
}

#[test]
fn bad_queries_are_invalid() {
    let records = format!("/v1/subjects/{LEGAL}/records");
    let subject = format!("/v1/subjects/{LEGAL}");
    let cases: &[(&str, &str)] = &[
        (&records, "items="),
        (&records, "items=basic,"),
        (&records, "items=,basic"),
        (&records, "items=basic,basic"),
        (&records, "items=Basic"),
        (&records, "items=basic&items=commendation"),
        (&records, "items=basic&x=1"),
        (&records, "foo=bar"),
        (&records, "items=ba%7"),
        (&records, "items"),
        (&subject, "items=basic"),
        ("/v1/records/r-1", "items=basic"),
    ];
    for (path, query) in cases {
        let mut r = req(path);
        r.query = Some(query);
        assert!(
            matches!(parse(&r), Err(InquiryError::Invalid(_))),
            "{path}?{query}"
        );
    }
    let many: Vec<String> = (0..33).map(|i| format!("i{i}")).collect();
    let q = format!("items={}", many.join(","));
    let mut r = req(&records);
    r.query = Some(&q);
    assert!(matches!(parse(&r), Err(InquiryError::Invalid(_))));
    let q32 = format!("items={}", many[..32].join(","));
    r.query = Some(&q32);
    assert!(parse(&r).is_ok());
}

#[test]
fn purpose_validation() {
    let path = format!("/v1/subjects/{LEGAL}");
    let long = "a".repeat(65);
    let ok64 = "a".repeat(64);
    let bad: &[Option<&[u8]>] = &[
        None,
        Some(b""),
        Some(b"   "),
        Some(b"\xff\xfe"),
        Some(long.as_bytes()),
        Some(b"Administrative"),
        Some(b"admin inspection"),
        Some(b"a-b"),
    ];
    for p in bad {
        let mut r = req(&path);
        r.purpose = *p;
        assert!(matches!(parse(&r), Err(InquiryError::Invalid(_))), "{p:?}");
    }
    let mut r = req(&path);
    r.purpose = Some(ok64.as_bytes());
    assert!(parse(&r).is_ok());
}

#[test]
fn case_validation() {
    let path = format!("/v1/subjects/{LEGAL}");
    let long = "案".repeat(129);
    let ok = "案".repeat(128);
    let bad: &[Option<&[u8]>] = &[
        None,
        Some(b""),
        Some(b"a\x01b"),
        Some(b"\xc3"),
        Some(long.as_bytes()),
    ];
    for c in bad {
        let mut r = req(&path);
        r.case = *c;
        assert!(matches!(parse(&r), Err(InquiryError::Invalid(_))), "{c:?}");
    }
    let mut r = req(&path);
    r.case = Some(ok.as_bytes());
    assert_eq!(parse(&r).unwrap().case, ok);
}

#[test]
fn consent_validation() {
    let path = format!("/v1/subjects/{NATURAL}");
    let long = "a".repeat(4097);
    for c in [long.as_bytes(), "令牌".as_bytes(), b"", b"a\x00b"] {
        let mut r = req(&path);
        r.consent = Some(c);
        assert!(matches!(parse(&r), Err(InquiryError::Invalid(_))));
    }
    let mut r = req(&path);
    r.consent = Some(b"abc.def");
    assert_eq!(parse(&r).unwrap().consent.as_deref(), Some("abc.def"));
}

#[test]
fn format_characters_in_case_are_refused() {
    let path = format!("/v1/subjects/{LEGAL}");
    for hidden in [
        "\u{202E}",
        "\u{202A}",
        "\u{202D}",
        "\u{2066}",
        "\u{2069}",
        "\u{200B}",
        "\u{200D}",
        "\u{200E}",
        "\u{200F}",
        "\u{FEFF}",
        "\u{2028}",
        "\u{2029}",
        "\u{00AD}",
        "\u{2060}",
        "\u{E0041}",
        "\u{0085}",
        "\u{7F}",
        "\t",
        "\r",
        "\n",
    ] {
        for text in [
            format!("HN{hidden}-2026"),
            format!("HN-2026{hidden}"),
            format!("{hidden}HN-2026"),
        ] {
            let mut r = req(&path);
            r.case = Some(text.as_bytes());
            match parse(&r) {
                Err(InquiryError::Invalid(m)) => {
                    assert!(m.contains("`Inquiry-Case`"), "{m}");
                    assert!(m.contains("format characters"), "{m}");
                    assert!(!m.contains("HN"), "{m}");
                }
                other => panic!("{hidden:?} in {text:?}: {other:?}"),
            }
        }
    }
    // ordinary text of any script, with spaces and punctuation, is fine
    for ok in [
        "（2026）湘01行初123号",
        "HN-2026/00123 § 4",
        "Aktenzeichen Ä-12",
        "案 件",
    ] {
        let mut r = req(&path);
        r.case = Some(ok.as_bytes());
        assert_eq!(parse(&r).unwrap().case, ok);
    }
    assert!(!is_hidden_char('a'));
    assert!(!is_hidden_char('案'));
    assert!(!is_hidden_char(' '));
    assert!(!is_hidden_char('\u{3000}'));
}

#[test]
fn errors_do_not_echo_header_values() {
    let path = format!("/v1/subjects/{NATURAL}");
    let mut r = req(&path);
    r.case = Some(b"secret\x01case");
    let e = parse(&r).unwrap_err().to_string();
    assert!(!e.contains("secret"), "{e}");
}

#[test]
fn split_target_splits() {
    assert_eq!(split_target("/a?b=c"), ("/a", Some("b=c")));
    assert_eq!(split_target("/a"), ("/a", None));
}

/// A refusal names the header or parameter at fault, in the SPEC's words
/// (`missing header Inquiry-Purpose`), and never repeats a parameter name
/// that could be a sensitive value.
#[test]
fn refusals_name_the_header_or_parameter_at_fault() {
    let message = |r: &RawRequest<'_>| match parse(r) {
        Err(InquiryError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let path = format!("/v1/subjects/{LEGAL}");
    let mut r = req(&path);
    r.purpose = None;
    assert_eq!(message(&r), "missing header Inquiry-Purpose");
    let mut r = req(&path);
    r.case = None;
    assert_eq!(message(&r), "missing header Inquiry-Case");

    let records = format!("/v1/subjects/{NATURAL}/records");
    for (query, named) in [
        ("colour=red", Some("colour")),
        ("items=basic&page-size=2", Some("page-size")),
        // an identity number or a phone number as the name: not repeated
        ("430102198506123011=1", None),
        ("x13812345678", None),
        ("138-1234-5678", None),
        ("11010-51949-12310-02X", None),
        ("page2", Some("page2")),
        ("a%20b=1", None),
    ] {
        let mut r = req(&records);
        r.query = Some(query);
        let m = message(&r);
        match named {
            Some(name) => assert!(m.contains(&format!("`{name}`")), "{query}: {m}"),
            None => {
                for digits in ["1234", "1985", "5678", "123"] {
                    assert!(!m.contains(digits), "{query}: {m}");
                }
            }
        }
    }
}

/// Query builders percent-encode the comma (`items=basic%2Ccommendation`):
/// decoded once, then held to the same grammar, so nothing encoded adds a
/// parameter, a second layer or a character item codes do not have.
#[test]
fn a_percent_encoded_items_list_is_decoded_once() {
    let records = format!("/v1/subjects/{NATURAL}/records");
    let items = |query: &'static str| {
        let mut r = req(&records);
        r.query = Some(query);
        parse(&r).map(|i| match i.route {
            Route::SubjectRecords { items, .. } => items,
            other => panic!("{other:?}"),
        })
    };
    let both = Some(vec!["basic".to_string(), "commendation".to_string()]);
    assert_eq!(items("items=basic%2Ccommendation").unwrap(), both);
    assert_eq!(items("items=basic%2ccommendation").unwrap(), both);
    assert_eq!(items("%69tems=%62asic,commendation").unwrap(), both);
    for bad in [
        "items=basic%252Ccommendation", // a second layer stays encoded
        "items=basic%2",                // `%` without two hex digits
        "items=basic%zz",
        "items=basic+commendation", // form encoding's space
        "items=basic%26x%3D1",      // `&x=1` smuggled in a value
        "items=%C3%A9",             // not ASCII
        "items=basic%2C",           // an empty item
        "items%3Dbasic",            // `=` encoded in the name
    ] {
        assert!(
            matches!(items(bad), Err(InquiryError::Invalid(_))),
            "{bad}: {:?}",
            items(bad)
        );
    }
    // Each refusal says what is wrong: well-formed escapes of a character
    // outside ASCII are not called bad encoding.
    let message = |query: &'static str| match items(query) {
        Err(InquiryError::Invalid(message)) => message,
        other => panic!("{query}: {other:?}"),
    };
    for not_ascii in ["items=%E5%BC%A0", "items=%C3%A9", "%E5%BC%A0=basic"] {
        let said = message(not_ascii);
        assert!(said.contains("ASCII"), "{not_ascii}: {said}");
        assert!(!said.contains("percent-encoding"), "{not_ascii}: {said}");
    }
    for bad_escape in ["items=basic%zz", "items=%E5%BC%A0%2", "items=a+b"] {
        let said = message(bad_escape);
        assert!(
            said.contains("not valid percent-encoding"),
            "{bad_escape}: {said}"
        );
    }
}

/// The subject a path names, from the path alone (logged even when the
/// headers or query are refused); nothing for other or malformed paths.
#[test]
fn route_subject_reads_the_path_alone() {
    assert_eq!(
        route_subject(&format!("/v1/subjects/{LEGAL}")),
        Some((LEGAL.to_string(), SubjectType::LegalPerson))
    );
    assert_eq!(
        route_subject(&format!("/v1/subjects/{NATURAL}/records")),
        Some((NATURAL.to_string(), SubjectType::NaturalPerson))
    );
    for other in [
        "/v1/records/r-1",
        "/v1/subjects/91430100MA4L0XXX1A",
        "/v1/subjects/",
        "/v2/subjects/91430100MA4L0XXX1N",
    ] {
        assert_eq!(route_subject(other), None, "{other}");
    }
}
