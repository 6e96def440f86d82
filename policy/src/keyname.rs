//! Key-name normalisation: when a JSON key and a configured field name are
//! "the same name".
//!
//! Field names reach the gateway from databases nobody here controls, in any
//! spelling. A key and a configured name match when their [`normalise`]d
//! forms are equal: Unicode NFKC, full case folding, NFKC again (folding can
//! denormalise), then every character that is not a letter or a digit
//! (`char::is_alphanumeric`: spaces, `_`, `-`, `.`, zero-width and other
//! format characters, punctuation, combining marks left after composition)
//! is dropped. `medical_history`, `MedicalHistory`, `medical-history `,
//! fullwidth `ｍｅｄｉｃａｌ＿ｈｉｓｔｏｒｙ` and `medical\u{200b}history` are
//! one name; so are `身份证号` and ` 身份证号 `.
//!
//! The policy loader stores configured names normalised (once per load);
//! the redactor normalises each key of a body once. Plain ASCII takes a fast
//! path that allocates only when the name changes.
//!
//! Does not: decide what a name means (that is [`crate::Rules`]), or
//! compare values.

use std::borrow::Cow;

use caseless::default_case_fold_str;
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
    let mut out = normalise_once(name);
    // Removing characters can leave combining marks out of canonical order
    // (and NFKC of the rest may differ again): repeat to a fixed point, so
    // that normalising a normal name changes nothing. Two rounds settle
    // every input seen; the bound keeps it total.
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

/// NFKC, full case folding, NFKC, letters and digits only: one round.
fn normalise_once(name: &str) -> String {
    let composed: String = name.nfkc().collect();
    let folded = default_case_fold_str(&composed);
    folded.nfkc().filter(|c| c.is_alphanumeric()).collect()
}

/// Whether ASCII `name` is already normal: lowercase letters and digits only.
pub fn is_normal_ascii(name: &[u8]) -> bool {
    name.iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Normalises ASCII `name` into `buffer`, without allocating; `None` when
/// `name` is not ASCII or its normal form does not fit `buffer`.
pub fn normalise_ascii_into<'b>(name: &[u8], buffer: &'b mut [u8]) -> Option<&'b [u8]> {
    let mut len = 0;
    for &b in name {
        if !b.is_ascii() {
            return None;
        }
        if b.is_ascii_alphanumeric() {
            *buffer.get_mut(len)? = b.to_ascii_lowercase();
            len += 1;
        }
    }
    buffer.get(..len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_normalise_alike() {
        for spelling in [
            "medical_history",
            "MedicalHistory",
            "medicalHistory",
            "medical-history ",
            " Medical.History",
            "ｍｅｄｉｃａｌ＿ｈｉｓｔｏｒｙ",
            "ＭＥＤＩＣＡＬ ＨＩＳＴＯＲＹ",
            "medical\u{200b}history",
            "medical\u{200d}his\u{feff}tory",
            "medical\u{202e}history",
            "MEDICAL_HISTORY\u{2028}",
        ] {
            assert_eq!(normalise(spelling), "medicalhistory", "{spelling:?}");
        }
    }

    #[test]
    fn chinese_names_keep_their_characters() {
        assert_eq!(normalise("宗教信仰"), "宗教信仰");
        assert_eq!(normalise(" 病史\u{200b}"), "病史");
        assert_eq!(normalise("身份证号_"), "身份证号");
        assert!(matches!(normalise("手机号码"), Cow::Borrowed(_)));
    }

    #[test]
    fn full_case_folding_not_just_lowercase() {
        // ß folds to ss, final sigma to sigma, KELVIN SIGN to k.
        assert_eq!(normalise("STRASSE"), normalise("straße"));
        assert_eq!(normalise("ΟΔΟΣ"), normalise("οδος"));
        assert_eq!(normalise("\u{212a}ey"), "key");
        // Compatibility forms: ligature, circled and superscript digits.
        assert_eq!(normalise("ﬁngerprint"), "fingerprint");
        assert_eq!(normalise("tax²"), "tax2");
    }

    #[test]
    fn different_names_stay_different() {
        assert_ne!(normalise("religion"), normalise("region"));
        assert_ne!(normalise("income"), normalise("incomes"));
        assert_eq!(normalise("___"), "");
    }

    #[test]
    fn ascii_fast_path_borrows_normal_names() {
        assert!(matches!(normalise("religion"), Cow::Borrowed(_)));
        assert!(matches!(normalise("Religion"), Cow::Owned(_)));
        let mut buffer = [0u8; 8];
        assert_eq!(
            normalise_ascii_into(b"Tax_Paid", &mut buffer),
            Some(&b"taxpaid"[..])
        );
        assert_eq!(normalise_ascii_into(b"much_too_long", &mut buffer), None);
        assert_eq!(normalise_ascii_into("税".as_bytes(), &mut buffer), None);
    }

    #[test]
    fn removed_marks_do_not_leave_marks_out_of_order() {
        // U+FE70 is NFKC " \u{64b}": the space goes, and the two combining
        // marks must end in canonical order (found by the proptest below).
        let once = normalise("\u{1e000}\u{fe70}").into_owned();
        assert_eq!(normalise(&once), once.as_str());
    }

    proptest::proptest! {
        #[test]
        fn normalise_is_idempotent(name in "\\PC{0,12}") {
            let once = normalise(&name).into_owned();
            proptest::prop_assert_eq!(normalise(&once), once.as_str());
        }

        #[test]
        fn ascii_paths_agree(name in "[ -~]{0,40}") {
            let mut buffer = [0u8; 64];
            let fast = normalise_ascii_into(name.as_bytes(), &mut buffer).map(|b| b.to_vec());
            proptest::prop_assert_eq!(fast, Some(normalise(&name).as_bytes().to_vec()));
        }
    }
}
