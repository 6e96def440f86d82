//! Percent-encoding of query components, one way for the whole gateway
//! (admin API, witness protocol, sample database), on the
//! `percent-encoding` crate.
//!
//! Decoding is `application/x-www-form-urlencoded` for one component (`+`
//! is a space, `%XX` a byte) and strict: a `%` not followed by two hex
//! digits, or a result that is not UTF-8, is refused (`None`) rather than
//! passed through as text, so a query parameter means one thing only.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters is escaped.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Decodes one query component; `None` on a bad escape or non-UTF-8 text.
pub fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let well_formed = text.match_indices('%').all(|(i, _)| {
        bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    });
    if !well_formed {
        return None;
    }
    // `+` before the escapes: `%2B` is a literal plus.
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// Encodes `text` as a query component (RFC 3986 unreserved characters
/// kept, every other byte as `%XX`).
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

#[cfg(test)]
mod tests;
