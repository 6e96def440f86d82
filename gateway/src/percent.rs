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
mod tests {
    use super::*;

    #[test]
    fn decodes_form_components_strictly() {
        assert_eq!(decode("a%20b+c").as_deref(), Some("a b c"));
        assert_eq!(decode("a%2Bb").as_deref(), Some("a+b"));
        assert_eq!(decode("%E4%B8%AD%e6%96%87").as_deref(), Some("中文"));
        assert_eq!(decode("HN-AMR-0001").as_deref(), Some("HN-AMR-0001"));
        assert_eq!(decode("").as_deref(), Some(""));
        for bad in ["%zz", "%4", "%", "a%g1", "%ff", "%C3%28", "x%"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn encoding_round_trips_and_keeps_unreserved() {
        assert_eq!(encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(encode("a b+c/中"), "a%20b%2Bc%2F%E4%B8%AD");
        for s in [
            "credgate.example/log",
            "x y+z%",
            "湖南 / 长沙",
            "\u{0}\u{7f}",
        ] {
            assert_eq!(decode(&encode(s)).as_deref(), Some(s));
        }
    }
}
