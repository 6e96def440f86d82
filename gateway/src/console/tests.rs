//! Unit tests of the console's parameter handling and links (the pages
//! themselves are tested end to end in `tests/tests/console.rs`).

use super::*;

fn param_error(r: Result<impl std::fmt::Debug, ConsoleError>) -> (String, Problem) {
    match r {
        Err(ConsoleError::Param { name, problem }) => (name, problem),
        other => panic!("not a parameter error: {other:?}"),
    }
}

#[test]
fn parameters_are_checked_one_by_one_and_named() {
    let p = |q: &str| Params::parse(Some(q), &SEARCH_PARAMS);
    assert_eq!(
        param_error(p("colour=red")),
        ("colour".into(), Problem::Unknown)
    );
    assert_eq!(
        param_error(p("officer=a&officer=b")),
        ("officer".into(), Problem::Twice)
    );
    assert_eq!(
        param_error(p("officer=%zz")),
        ("officer".into(), Problem::Encoding)
    );
    let f = |q: &str| search_filter(&p(q).unwrap());
    assert_eq!(
        param_error(f("decision=maybe")),
        ("decision".into(), Problem::Invalid)
    );
    assert_eq!(
        param_error(f("subject=123")),
        ("subject".into(), Problem::Invalid)
    );
    assert_eq!(
        param_error(f("from=yesterday")),
        ("from".into(), Problem::Invalid)
    );
    assert_eq!(
        param_error(f("to=2026-13-01")),
        ("to".into(), Problem::Invalid)
    );
    assert_eq!(
        param_error(f("from=2026-03-02&to=2026-03-01")),
        ("from".into(), Problem::Range)
    );
    let hidden = format!("case={}", encode_component("a\u{202e}b"));
    assert_eq!(param_error(f(&hidden)), ("case".into(), Problem::Invalid));
    let long = format!("unit={}", "x".repeat(513));
    assert_eq!(param_error(f(&long)), ("unit".into(), Problem::Invalid));

    let ok = f("officer=HN-AMR-0001&unit=Hunan+AMR&purpose=p&case=C%2F1&reason=ok&decision=deny&from=2026-03-01&lang=en&page=&subject=")
        .unwrap();
    assert_eq!(ok.officer.as_deref(), Some("HN-AMR-0001"));
    assert_eq!(ok.unit.as_deref(), Some("Hunan AMR"));
    assert_eq!(ok.case.as_deref(), Some("C/1"));
    assert_eq!(ok.reason.as_deref(), Some("ok"));
    assert_eq!(ok.decision, Some(audit::Decision::Deny));
    assert_eq!(ok.subject, None, "empty counts as absent");
    assert!(ok.from_ms.is_some() && ok.to_ms.is_none());
}

#[test]
fn an_error_names_the_parameter_but_never_shows_its_value() {
    let err = bad("subject", Problem::Invalid);
    let page = pages::message(Lang::En, 400, Some(&err)).into_string();
    assert!(page.contains("<code>subject</code>"));
    // A long or hostile name is cut and escaped.
    let err = bad(&format!("<script>{}", "n".repeat(100)), Problem::Unknown);
    let page = pages::message(Lang::ZhCn, 400, Some(&err)).into_string();
    assert!(page.contains("&lt;script&gt;"));
    assert!(!page.contains("<script>"));
    assert!(!page.contains(&"n".repeat(40)));
}

#[test]
fn languages_and_links() {
    assert_eq!(Lang::parse(""), Some(Lang::ZhCn));
    assert_eq!(Lang::parse("zh-CN"), Some(Lang::ZhCn));
    assert_eq!(Lang::parse("en"), Some(Lang::En));
    assert_eq!(Lang::parse("fr"), None);
    assert_eq!(lang_of(Some("a=1&lang=en")), Lang::En);
    assert_eq!(lang_of(Some("lang=fr")), Lang::ZhCn);
    assert_eq!(lang_of(None), Lang::ZhCn);
    assert_eq!(link(Lang::ZhCn, "/console/", &[]), "/console/");
    assert_eq!(
        link(Lang::En, "/console/entries", &[("unit", "A & B/计".into())]),
        "/console/entries?unit=A%20%26%20B%2F%E8%AE%A1&lang=en"
    );
    assert_eq!(encode_component("a-b_c.d~"), "a-b_c.d~");
}

#[test]
fn path_segments() {
    assert_eq!(
        segment("/console/officers/HN%2DAMR-0001", "/console/officers/").unwrap(),
        Some("HN-AMR-0001".into())
    );
    assert_eq!(
        segment("/console/alerts", "/console/officers/").unwrap(),
        None
    );
    for bad_path in [
        "/console/officers/",
        "/console/officers/a%2Fb",
        "/console/officers/%e2%80%ae",
    ] {
        assert_eq!(
            param_error(segment(bad_path, "/console/officers/")).1,
            Problem::Invalid,
            "{bad_path}"
        );
    }
}

#[test]
fn cursors_round_trip_and_refuse_junk() {
    let c = audit::Cursor {
        time_ms: 1_780_000_000_123,
        chain_id: "0123456789abcdef0123456789abcdef".into(),
        seq: 42,
    };
    assert_eq!(audit::Cursor::decode(&c.encode()), Some(c));
    for junk in [
        "",
        "1.2",
        "x.abc.3",
        "1.abc.x",
        "1..3",
        "1.a-b.3",
        "1.abc.3.4",
        "1.abc.18446744073709551615",
        // No entry sits there (an outside probe's forged cursors).
        "-1.abc.1",
        "1.abc.0",
    ] {
        assert_eq!(audit::Cursor::decode(junk), None, "{junk}");
    }
}

#[test]
fn the_forbidden_page_is_html_in_the_asked_language() {
    let p = forbidden(Some("lang=en"), "role_forbidden");
    assert_eq!(p.status, 403);
    assert_eq!(p.reason, "role_forbidden");
    let body = String::from_utf8(p.body).unwrap();
    assert!(body.starts_with("<!DOCTYPE html><html lang=\"en\">"));
    assert!(body.contains("Forbidden"));
    let p = forbidden(None, "role_forbidden");
    assert!(String::from_utf8(p.body).unwrap().contains("无权访问"));
}

#[test]
fn the_stylesheet_has_a_print_part_and_both_tables_say_everything() {
    assert!(STYLESHEET.contains("@media print"));
    // Every label is filled in both languages.
    let dbg = |t: &i18n::Text| format!("{t:?}");
    for t in [&i18n::ZH_CN, &i18n::EN] {
        assert!(!dbg(t).contains(": \"\""), "an empty label: {}", dbg(t));
    }
}

/// The two tables of entries name their columns through `entry_head`; its
/// markup is the head rows the pages spelled out before, byte for byte.
#[test]
fn entry_table_heads_are_the_rows_the_pages_wrote() {
    use maud::html;
    for lang in [Lang::ZhCn, Lang::En] {
        let t = lang.text();
        for offset in [0, 8 * 3600, -(5 * 3600 + 1800)] {
            let zone = pages::zone(offset);
            let search = html! {
                thead { tr {
                    th scope="col" { (t.time) " (" (zone) ")" }
                    th scope="col" { (t.officer) }
                    th scope="col" { (t.unit) }
                    th scope="col" { (t.subject) }
                    th scope="col" { (t.purpose) }
                    th scope="col" { (t.case) }
                    th scope="col" { (t.decision) }
                    th scope="col" { (t.reason) }
                    th scope="col" class="num" { (t.status) }
                    th scope="col" { (t.inquiry) }
                } }
            };
            let columns = [
                (t.officer, false),
                (t.unit, false),
                (t.subject, false),
                (t.purpose, false),
                (t.case, false),
                (t.decision, false),
                (t.reason, false),
                (t.status, true),
                (t.inquiry, false),
            ];
            assert_eq!(
                pages::entry_head(offset, t, &columns).into_string(),
                search.into_string()
            );
            let subject = html! {
                thead { tr {
                    th scope="col" { (t.time) " (" (zone) ")" }
                    th scope="col" { (t.unit) }
                    th scope="col" { (t.officer) }
                    th scope="col" { (t.purpose) }
                    th scope="col" { (t.decision) }
                    th scope="col" { (t.inquiry) }
                } }
            };
            let columns = [
                (t.unit, false),
                (t.officer, false),
                (t.purpose, false),
                (t.decision, false),
                (t.inquiry, false),
            ];
            assert_eq!(
                pages::entry_head(offset, t, &columns).into_string(),
                subject.into_string()
            );
        }
    }
}

#[test]
fn the_signer_of_a_signature_line_is_its_name() {
    assert_eq!(
        signer_of("\u{2014} witness.local/w1 AAAAAAAA\n"),
        Some("witness.local/w1")
    );
    assert_eq!(signer_of("- witness.local/w1 AAAA"), None);
    assert_eq!(signer_of(""), None);
}
