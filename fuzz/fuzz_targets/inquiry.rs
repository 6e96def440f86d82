//! Fuzz `policy::inquiry::parse`: arbitrary path, query and inquiry header
//! bytes, as a client sends them.
//!
//! Input layout: up to five fields separated by `0xFF` bytes (path, query,
//! `Inquiry-Purpose`, `Inquiry-Case`, `Subject-Consent`); a field that is
//! missing or exactly `0xFE` is absent. Path and query are taken as UTF-8
//! (lossily, as hyper hands the gateway a `&str`); headers stay raw bytes.
//!
//! Checks: never panics; an accepted inquiry has a purpose code of
//! `a-z0-9_` (1-64 bytes), a case of 1-128 characters without control
//! characters, printable-ASCII consent, a subject id that `classify` accepts
//! with the same type, at most 32 distinct items and a record id of 1-128
//! characters of `A-Za-z0-9._-` (not `.` or `..`); a refusal's message never repeats the case
//! or consent header value (checked differentially: a case-swapped value must
//! not show up either).
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use policy::inquiry::{parse, RawRequest};
use policy::{classify, Route};

/// One field of the input: `None` when absent.
fn field<'a>(parts: &[&'a [u8]], i: usize) -> Option<&'a [u8]> {
    parts.get(i).copied().filter(|f| *f != [0xFE])
}

fn check_subject(id: &str, kind: policy::SubjectType) {
    assert_eq!(
        classify(id),
        Ok(kind),
        "route subject id not classified alike"
    );
}

/// Swap the case of every ASCII letter.
fn swap_case(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|b| match b {
            b'a'..=b'z' => b.to_ascii_uppercase(),
            b'A'..=b'Z' => b.to_ascii_lowercase(),
            _ => *b,
        })
        .collect()
}

/// Differential leak check: if the message contains a case or consent value,
/// the same request with that value's letters case-swapped (same validity)
/// must not show the swapped value: fixed text cannot contain both.
fn check_refusal(req: &RawRequest<'_>, e: &policy::inquiry::InquiryError) {
    let shown = e.to_string();
    for (i, value) in [req.case, req.consent].into_iter().enumerate() {
        let Some(value) = value else { continue };
        let text = String::from_utf8_lossy(value).trim().to_owned();
        if text.len() < 8 || !shown.contains(&text) {
            continue;
        }
        let swapped = swap_case(value);
        let swapped_text = String::from_utf8_lossy(&swapped).trim().to_owned();
        if swapped_text == text {
            continue;
        }
        let mut other = *req;
        if i == 0 {
            other.case = Some(&swapped);
        } else {
            other.consent = Some(&swapped);
        }
        if let Err(e2) = parse(&other) {
            assert!(
                !e2.to_string().contains(&swapped_text),
                "error repeats a header value"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let parts: Vec<&[u8]> = data.splitn(5, |b| *b == 0xFF).collect();
    let path: Cow<'_, str> = String::from_utf8_lossy(field(&parts, 0).unwrap_or_default());
    let query: Option<Cow<'_, str>> = field(&parts, 1).map(String::from_utf8_lossy);
    let (purpose, case, consent) = (field(&parts, 2), field(&parts, 3), field(&parts, 4));
    let req = RawRequest {
        path: &path,
        query: query.as_deref(),
        purpose,
        case,
        consent,
    };
    match parse(&req) {
        Ok(inquiry) => {
            let p = &inquiry.purpose;
            assert!((1..=64).contains(&p.len()), "purpose length");
            assert!(
                p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "purpose is not a code"
            );
            let c = &inquiry.case;
            assert!((1..=128).contains(&c.chars().count()), "case length");
            assert!(
                !c.chars().any(char::is_control),
                "case has control characters"
            );
            if let Some(token) = &inquiry.consent {
                assert!(!token.is_empty() && token.len() <= 4096, "consent length");
                assert!(
                    token.bytes().all(|b| b.is_ascii_graphic() || b == b' '),
                    "consent is not printable ASCII"
                );
            }
            match &inquiry.route {
                Route::Subject {
                    subject_id,
                    subject_type,
                } => check_subject(subject_id, *subject_type),
                Route::SubjectRecords {
                    subject_id,
                    subject_type,
                    items,
                } => {
                    check_subject(subject_id, *subject_type);
                    if let Some(items) = items {
                        assert!(items.len() <= 32, "more than 32 items");
                        let mut distinct = items.clone();
                        distinct.sort();
                        distinct.dedup();
                        assert_eq!(distinct.len(), items.len(), "duplicate items");
                    }
                }
                Route::Record { record_id } => {
                    assert!((1..=128).contains(&record_id.len()), "record id length");
                    assert!(record_id != "." && record_id != "..", "dot record id");
                    assert!(
                        record_id
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
                        "record id charset"
                    );
                }
            }
        }
        Err(e) => check_refusal(&req, &e),
    }
});
