//! Key-name normalisation: when a JSON key and a configured field name are
//! "the same name".
//!
//! Field names reach the gateway from databases nobody here controls, in any
//! spelling. A key and a configured name match when their [`normalise`]d
//! forms are equal: Unicode NFKC, full case folding, NFKD (folding can
//! denormalise, and decomposing takes every mark off its letter), then
//! every character that is not a letter or a digit is dropped — spaces,
//! `_`, `-`, `.`, zero-width and other format characters, punctuation, and
//! every combining mark (General_Category M: Mn, Mc, Me;
//! `char::is_alphanumeric` alone would keep the marks Unicode counts as
//! Alphabetic, U+0363, U+05B0, U+1DD3, ...) — and NFC puts back together
//! what is left (Hangul syllables). So marks never tell names apart:
//! `religio\u{363}n`, `religio\u{301}n` and `religión` are `religion`
//! (towards redacting more: names that differ only in accents match).
//! `medical_history`, `MedicalHistory`, `medical-history `, fullwidth
//! `ｍｅｄｉｃａｌ＿ｈｉｓｔｏｒｙ` and `medical\u{200b}history` are one name; so
//! are `身份证号` and ` 身份证号 `.
//!
//! The policy loader stores configured names normalised (once per load);
//! the redactor normalises each key of a body once. Plain ASCII takes a fast
//! path that allocates only when the name changes.
//!
//! Does not: decide what a name means (that is [`crate::Rules`]), or
//! compare values.

use std::borrow::Cow;

use caseless::default_case_fold_str;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// `name` in the form keys and configured names are compared in; borrowed
/// when it already is in that form.
///
/// Idempotent: `normalise(&normalise(x)) == normalise(x)`.
pub fn normalise(name: &str) -> Cow<'_, str> {
    if name.is_ascii() {
        if is_normal_ascii(name.as_bytes()) {
            return Cow::Borrowed(name);
        }
        return Cow::Owned(
            name.bytes()
                .filter(u8::is_ascii_alphanumeric)
                .map(|b| char::from(b.to_ascii_lowercase()))
                .collect(),
        );
    }
    if name.chars().all(is_plain_normal) {
        return Cow::Borrowed(name);
    }
    let mut out = normalise_once(name);
    // NFC of what is left may compose it into something a second round
    // reads differently (a case fold of a composed letter, say): repeat to
    // a fixed point, so that normalising a normal name changes nothing.
    // Two rounds settle every input seen; the bound keeps it total.
    for _ in 0..4 {
        let again = normalise_once(&out);
        if again == out {
            break;
        }
        out = again;
    }
    if out == name {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(out)
    }
}

/// NFKC, full case folding, NFKD, letters and digits only (no marks),
/// NFC: one round.
fn normalise_once(name: &str) -> String {
    let composed: String = name.nfkc().collect();
    let folded = default_case_fold_str(&composed);
    let bare: String = folded.nfkd().filter(|c| is_letter_or_digit(*c)).collect();
    bare.nfc().collect()
}

/// Characters a normal name may hold that no step changes: lowercase
/// ASCII letters and digits, and the CJK Unified Ideographs (U+4E00-U+9FFF,
/// extension A U+3400-U+4DBF: letters without case, marks or any
/// decomposition, unlike the compatibility ideographs). A name made only of
/// them — every Chinese field name — is normal as it is, which spares the
/// redactor the four Unicode passes for each configured Chinese name on
/// every answer.
fn is_plain_normal(c: char) -> bool {
    c.is_ascii_lowercase()
        || c.is_ascii_digit()
        || ('\u{4E00}'..='\u{9FFF}').contains(&c)
        || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

/// Whether `c` is kept in a normal name: alphanumeric and not a combining
/// mark (`is_alphanumeric` alone keeps the marks Unicode counts as
/// Alphabetic, such as U+0363 or U+05B0). Every ASCII letter and digit is
/// kept, and ASCII has no marks and no decomposition, so the ASCII paths
/// above agree with this one.
fn is_letter_or_digit(c: char) -> bool {
    c.is_alphanumeric() && !is_combining_mark(c)
}

/// Whether ASCII `name` is already normal: lowercase letters and digits only.
pub fn is_normal_ascii(name: &[u8]) -> bool {
    name.iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The normal form of ASCII `name`, without allocating: `name` itself when
/// it is normal already, else its normal form written into `buffer`.
/// `None` when `name` is not ASCII, or when its normal form differs from it
/// and does not fit `buffer`.
///
/// One pass: letters (lowercased) and digits are copied as they are
/// checked, so a `snake_case` key is read once, not checked and then
/// normalised (the redactor calls this for every key of a body, issue 18).
pub fn normal_ascii<'b>(name: &'b [u8], buffer: &'b mut [u8]) -> Option<&'b [u8]> {
    let mut len = 0;
    let mut changed = false;
    for &b in name {
        let kept = match b {
            b'a'..=b'z' | b'0'..=b'9' => b,
            b'A'..=b'Z' => {
                changed = true;
                b.to_ascii_lowercase()
            }
            0..=0x7f => {
                changed = true;
                continue;
            }
            _ => return None,
        };
        // Past the buffer's end only a name that turns out normal (and is
        // then returned itself) can still be served.
        if let Some(slot) = buffer.get_mut(len) {
            *slot = kept;
        }
        len += 1;
    }
    if changed {
        buffer.get(..len)
    } else {
        Some(name)
    }
}

#[cfg(test)]
mod tests;
