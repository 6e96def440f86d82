//! The data-plane request parser: path, query and inquiry headers into an
//! [`Inquiry`]. Pure and total (never panics), so it can be fuzzed.
//!
//! This module validates *shape* only (route, subject id format, header
//! syntax and sizes). Whether the officer may use the purpose, items or
//! consent is decided in [`crate::decide()`]; HTTP methods are checked by the
//! gateway.

use thiserror::Error;

use crate::model::{Inquiry, Route};
use crate::subject::canonical;

/// Longest purpose code accepted.
pub const MAX_PURPOSE_LEN: usize = 64;
/// Longest case text accepted, in characters.
pub const MAX_CASE_LEN: usize = 128;
/// Longest consent token accepted, in bytes.
pub const MAX_CONSENT_LEN: usize = 4096;
/// Most items one `items=` list may name.
pub const MAX_ITEMS: usize = 32;
/// Longest record id accepted.
pub const MAX_RECORD_ID_LEN: usize = 128;

/// The parts of a request the parser reads (borrowed from the HTTP request).
#[derive(Debug, Clone, Copy, Default)]
pub struct RawRequest<'a> {
    /// URL path, e.g. `/v1/subjects/91430100MA4L0XXX1N/records`.
    pub path: &'a str,
    /// Query string without `?`, if any.
    pub query: Option<&'a str>,
    /// `Inquiry-Purpose` header bytes.
    pub purpose: Option<&'a [u8]>,
    /// `Inquiry-Case` header bytes.
    pub case: Option<&'a [u8]>,
    /// `Subject-Consent` header bytes.
    pub consent: Option<&'a [u8]>,
}

/// Why a request could not be parsed. `Invalid` messages quote at most the
/// offending parameter name, never header values or tokens.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InquiryError {
    /// The path is not a fronted route (404 `not_found`).
    #[error("route not found")]
    NotFound,
    /// The request is malformed (400 `invalid_request`).
    #[error("invalid request: {0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> InquiryError {
    InquiryError::Invalid(msg.into())
}

/// True for a non-empty code of `[a-z0-9_]` no longer than `max`.
fn is_code(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_record_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_RECORD_ID_LEN
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Why a query part could not be decoded ([`percent_decode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undecodable {
    /// A `%` without two hex digits, or a `+`.
    Encoding,
    /// Well-formed, but a decoded byte lies outside ASCII (`%E5%BC%A0`).
    NotAscii,
}

/// One query part percent-decoded (`%2C` → `,`), ASCII only; refused for
/// a `%` without two hex digits, a `+` (form encoding's space: no item
/// code or parameter name has one) or a decoded byte outside ASCII.
fn percent_decode(part: &str) -> Result<String, Undecodable> {
    let bytes = part.as_bytes();
    let mut out = String::with_capacity(part.len());
    let mut not_ascii = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let byte = match b {
            b'%' => {
                let hex = |j: usize| bytes.get(j).and_then(|h| (*h as char).to_digit(16));
                let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2)) else {
                    return Err(Undecodable::Encoding);
                };
                i += 3;
                u8::try_from(high * 16 + low).map_err(|_| Undecodable::Encoding)?
            }
            b'+' => return Err(Undecodable::Encoding),
            b => {
                i += 1;
                b
            }
        };
        // The whole part is read first: a bad escape after a non-ASCII
        // byte is still called bad encoding.
        not_ascii |= !byte.is_ascii();
        if !not_ascii {
            out.push(char::from(byte));
        }
    }
    if not_ascii {
        return Err(Undecodable::NotAscii);
    }
    Ok(out)
}

/// Parse the `items=` list of a records route.
fn parse_query(
    query: Option<&str>,
    takes_items: bool,
) -> Result<Option<Vec<String>>, InquiryError> {
    let Some(query) = query else {
        return Ok(None);
    };
    if query.is_empty() {
        return Ok(None);
    }
    let mut items: Option<Vec<String>> = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        // Query builders encode the comma (`items=basic%2Ccommendation`):
        // each part is percent-decoded once; what it decodes to must still
        // be a name and a list of item codes, so nothing encoded can add a
        // parameter, a separator the codes do not allow, or a second layer.
        let (key, value) = match (percent_decode(key), percent_decode(value)) {
            (Ok(key), Ok(value)) => (key, value),
            (Err(Undecodable::Encoding), _) | (_, Err(Undecodable::Encoding)) => {
                return Err(invalid(
                    "query is not valid percent-encoding (`%` must be followed by two hex digits; `+` is not accepted)",
                ))
            }
            _ => {
                return Err(invalid(
                    "query parameters and item codes are ASCII letters, digits, `.`, `_` and `-` (a percent-encoded character outside ASCII is none of them)",
                ))
            }
        };
        let (key, value) = (key.as_str(), value.as_str());
        if key != "items" {
            return Err(InquiryError::Invalid(unknown_parameter(key)));
        }
        if !takes_items {
            return Err(invalid("`items` is not accepted on this route"));
        }
        if items.is_some() {
            return Err(invalid("`items` given more than once"));
        }
        let mut list: Vec<String> = Vec::new();
        for item in value.split(',') {
            if !is_code(item, MAX_PURPOSE_LEN) {
                return Err(invalid(
                    "`items` must be a comma-separated list of item codes",
                ));
            }
            if list.iter().any(|x| x == item) {
                return Err(invalid("`items` names an item twice"));
            }
            list.push(item.to_owned());
        }
        if list.len() > MAX_ITEMS {
            return Err(invalid("`items` names too many items"));
        }
        items = Some(list);
    }
    Ok(items)
}

/// The subject a data-plane path names (a subject route with a valid id),
/// read from the path alone: the log records whom a request was about even
/// when its headers or query are then refused.
pub fn route_subject(path: &str) -> Option<(String, crate::SubjectType)> {
    match parse_route(path, None) {
        Ok(Route::Subject {
            subject_id,
            subject_type,
        })
        | Ok(Route::SubjectRecords {
            subject_id,
            subject_type,
            ..
        }) => Some((subject_id, subject_type)),
        _ => None,
    }
}

fn parse_route(path: &str, query: Option<&str>) -> Result<Route, InquiryError> {
    let Some(rest) = path.strip_prefix("/v1/") else {
        return Err(InquiryError::NotFound);
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let head = segments.first().copied().unwrap_or_default();
    if head != "subjects" && head != "records" {
        return Err(InquiryError::NotFound);
    }
    if path.contains('%') {
        return Err(invalid("path must not be percent-encoded"));
    }
    if segments.iter().any(|s| s.is_empty()) {
        return Err(invalid("path has an empty segment or a trailing slash"));
    }
    if segments.iter().any(|s| *s == "." || *s == "..") || path.contains("..") {
        return Err(invalid("path must not contain `..`"));
    }
    match segments.as_slice() {
        ["subjects", id] => {
            let (subject_id, subject_type) = canonical(id).map_err(|e| invalid(e.to_string()))?;
            parse_query(query, false)?;
            Ok(Route::Subject {
                subject_id,
                subject_type,
            })
        }
        ["subjects", id, "records"] => {
            let (subject_id, subject_type) = canonical(id).map_err(|e| invalid(e.to_string()))?;
            let items = parse_query(query, true)?;
            Ok(Route::SubjectRecords {
                subject_id,
                subject_type,
                items,
            })
        }
        ["records", id] => {
            if !is_record_id(id) {
                return Err(invalid(
                    "record id must be 1-128 characters of `A-Za-z0-9._-`",
                ));
            }
            parse_query(query, false)?;
            Ok(Route::Record {
                record_id: (*id).to_owned(),
            })
        }
        _ => Err(InquiryError::NotFound),
    }
}

/// The refusal of a query parameter this route does not take, naming it
/// when the name is a plain short word (letters, digits, `_`, `-`; at most
/// 32 characters; at most 3 digits in all, so an identity number or phone
/// number sent as a parameter name, grouped or not, is never repeated into
/// the log).
fn unknown_parameter(key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= 32
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && key.bytes().filter(u8::is_ascii_digit).count() <= 3;
    if plain {
        format!("unknown query parameter `{key}` (only `items` is accepted)")
    } else {
        "unknown query parameter (its name is not shown: not a plain word; only `items` is accepted)"
            .to_owned()
    }
}

fn parse_purpose(purpose: Option<&[u8]>) -> Result<String, InquiryError> {
    let bytes = purpose.ok_or_else(|| invalid("missing header Inquiry-Purpose"))?;
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("`Inquiry-Purpose` is not UTF-8"))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid("empty `Inquiry-Purpose` header"));
    }
    if text.len() > MAX_PURPOSE_LEN {
        return Err(invalid("`Inquiry-Purpose` is longer than 64 characters"));
    }
    if !is_code(text, MAX_PURPOSE_LEN) {
        return Err(invalid(
            "`Inquiry-Purpose` must be a purpose code (`a-z0-9_`)",
        ));
    }
    Ok(text.to_owned())
}

fn parse_case(case: Option<&[u8]>) -> Result<String, InquiryError> {
    let bytes = case.ok_or_else(|| invalid("missing header Inquiry-Case"))?;
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("`Inquiry-Case` is not UTF-8"))?;
    // Checked before trimming: `trim` would drop a trailing U+2028 but keep
    // a zero-width space, and neither may reach the log.
    if text.chars().any(is_hidden_char) {
        return Err(invalid(
            "`Inquiry-Case` contains control or format characters (bidi controls, zero-width characters, line or paragraph separators)",
        ));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid("empty `Inquiry-Case` header"));
    }
    if text.chars().count() > MAX_CASE_LEN {
        return Err(invalid("`Inquiry-Case` is longer than 128 characters"));
    }
    Ok(text.to_owned())
}

/// Unicode format characters (general category Cf, Unicode 15.1), as
/// inclusive ranges: bidi embeddings, overrides and isolates, zero-width
/// characters, the byte order mark, invisible operators, tags, ...
const FORMAT_CHARS: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// True for a character that may not appear in free text the gateway logs:
/// controls (Cc), format characters (Cf) and the line and paragraph
/// separators (U+2028, U+2029). They reorder, hide or split what a reader of
/// the log sees.
pub fn is_hidden_char(c: char) -> bool {
    if c.is_ascii() {
        // No format character or separator is ASCII.
        return c.is_ascii_control();
    }
    c.is_control()
        || c == '\u{2028}'
        || c == '\u{2029}'
        || FORMAT_CHARS.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
}

fn parse_consent(consent: Option<&[u8]>) -> Result<Option<String>, InquiryError> {
    let Some(bytes) = consent else {
        return Ok(None);
    };
    if bytes.len() > MAX_CONSENT_LEN {
        return Err(invalid("`Subject-Consent` is longer than 4096 bytes"));
    }
    if !bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return Err(invalid("`Subject-Consent` must be printable ASCII"));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| invalid("`Subject-Consent` must be printable ASCII"))?
        .trim();
    if text.is_empty() {
        return Err(invalid("empty `Subject-Consent` header"));
    }
    Ok(Some(text.to_owned()))
}

/// Parse one data-plane request. The route is checked first (an unfronted
/// path is [`InquiryError::NotFound`] whatever its headers), then the
/// subject id or record id, the query, and the inquiry headers.
pub fn parse(req: &RawRequest<'_>) -> Result<Inquiry, InquiryError> {
    let route = parse_route(req.path, req.query)?;
    let purpose = parse_purpose(req.purpose)?;
    let case = parse_case(req.case)?;
    let consent = parse_consent(req.consent)?;
    Ok(Inquiry {
        route,
        purpose,
        case,
        consent,
    })
}

/// Split a request target (`/path?query`) into path and query, for callers
/// holding the raw target (tests, `policy explain`).
pub fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    }
}

#[cfg(test)]
mod tests;
