//! The normal form of a body's key names ([`policy::keyname::normalise`]),
//! as the key rules and the record rules compare them.
//!
//! Owns one thing: giving a lookup the normal form of a key without
//! allocating for the common case and without normalising the same
//! non-ASCII name again and again. A body of a subject's records spells the
//! same few keys thousands of times; a Chinese key (`病史`) costs a full
//! NFKC + case fold + NFKD + NFC round per occurrence (~0.4 µs, a tenth of a
//! 64 KB body's redaction with a few dozen such keys), so its normal form is
//! kept for the rest of the body. An ASCII key is normalised on the stack,
//! as before.
//!
//! Never changes what a name normalises to: a kept form is exactly what
//! [`normal_key`] returned for that spelling.
//!
//! A body's key is normalised as `normalise` does and, stricter than the
//! SPEC's wording, without its default-ignorable code points
//! ([`normal_key`]): Hangul fillers (U+3164, U+115F, U+1160, U+FFA0) and
//! Khmer inherent vowels are letters to Unicode but show nothing, so
//! `relig\u{3164}ion` is `religion`.

use std::cell::RefCell;
use std::collections::HashMap;

use policy::keyname::{normal_ascii, normalise};

use crate::detect::is_default_ignorable;

/// The normal form of a body's key name: [`normalise`] of the key without
/// its default-ignorable code points, and without any in the result
/// (letters that show nothing: Hangul fillers, Khmer inherent vowels).
pub(crate) fn normal_key(key: &str) -> String {
    if key.is_ascii() {
        return normalise(key).into_owned();
    }
    let visible: String = key.chars().filter(|c| !is_default_ignorable(*c)).collect();
    let normal = normalise(&visible);
    if normal.chars().any(is_default_ignorable) {
        normal
            .chars()
            .filter(|c| !is_default_ignorable(*c))
            .collect()
    } else {
        normal.into_owned()
    }
}

/// ASCII keys whose normal form has up to this many bytes are normalised on
/// the stack.
const STACK_BYTES: usize = 64;

/// At most this many non-ASCII spellings are kept per body; past it,
/// further ones are normalised each time (a body crafted with endless
/// distinct names costs what it did before, and no more memory).
const KEPT_MAX: usize = 256;

/// Only spellings of up to this many bytes are kept: key names are short,
/// and a normal form can be many times its spelling (NFKC expands some
/// characters to 18), so with both bounds what is kept stays under
/// a few hundred KB whatever the body (64 bytes x 256, each at most ~12x).
const KEPT_KEY_BYTES: usize = 64;

/// Normal forms of one body's key names.
#[derive(Debug, Default)]
pub(crate) struct Names {
    kept: RefCell<HashMap<Box<str>, Box<str>>>,
}

impl Names {
    /// Calls `f` with the normal form of `key`.
    pub(crate) fn with_normal<R>(&self, key: &str, f: impl FnOnce(&[u8]) -> R) -> R {
        let mut buffer = [0u8; STACK_BYTES];
        if let Some(normal) = normal_ascii(key.as_bytes(), &mut buffer) {
            return f(normal);
        }
        if let Ok(kept) = self.kept.try_borrow() {
            if let Some(normal) = kept.get(key) {
                return f(normal.as_bytes());
            }
        }
        let normal = normal_key(key);
        let result = f(normal.as_bytes());
        if let Ok(mut kept) = self.kept.try_borrow_mut() {
            if kept.len() < KEPT_MAX && key.len() <= KEPT_KEY_BYTES {
                kept.insert(key.into(), normal.into());
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn normal_of(names: &Names, key: &str) -> String {
        names.with_normal(key, |n| String::from_utf8(n.to_vec()).unwrap())
    }

    #[test]
    fn the_forms_are_normalises() {
        let names = Names::default();
        for key in [
            "id",
            "decided_on",
            "Decided-On",
            "病史",
            "ＲＥＬＩＧＩＯＮ",
            "rel\u{0130}gion",
            "religión",
            "religio\u{0301}n",
            "종교",
            "",
            "__",
            &"x".repeat(100),
            &"X_".repeat(40),
        ] {
            // Twice: computed, then kept.
            for _ in 0..2 {
                assert_eq!(normal_of(&names, key), normal_key(key), "{key:?}");
            }
        }
    }

    /// Letters that show nothing are dropped from body keys.
    #[test]
    fn invisible_letters_are_dropped() {
        let names = Names::default();
        for (key, want) in [
            ("relig\u{3164}ion", "religion"),
            ("religion\u{3164}", "religion"),
            ("re\u{115f}ligion", "religion"),
            ("re\u{1160}ligion", "religion"),
            ("\u{ffa0}religion", "religion"),
            ("relig\u{17b4}ion\u{17b5}", "religion"),
            ("id\u{3164}number", "idnumber"),
            ("phone\u{ffa0}", "phone"),
            ("re\u{e0100}ligion\u{fff0}", "religion"),
            ("宗教\u{3164}信仰", &normalise("宗教信仰")),
        ] {
            assert_eq!(normal_key(key), want, "{key:?}");
            assert_eq!(normal_of(&names, key), want, "{key:?}");
        }
    }

    #[test]
    fn no_more_than_the_cap_is_kept() {
        let names = Names::default();
        for i in 0..(KEPT_MAX + 50) {
            let key = format!("病史{i}");
            assert_eq!(normal_of(&names, &key), normal_key(&key));
        }
        assert_eq!(names.kept.borrow().len(), KEPT_MAX);
        // Past the cap, names are still normalised right.
        assert_eq!(normal_of(&names, "病史9999"), normal_key("病史9999"));
    }

    #[test]
    fn long_spellings_are_not_kept() {
        let names = Names::default();
        let long = "\u{fdfa}".repeat(30);
        assert!(long.len() > KEPT_KEY_BYTES);
        assert_eq!(normal_of(&names, &long), normal_key(&long));
        assert_eq!(normal_of(&names, "病史"), normal_key("病史"));
        assert_eq!(names.kept.borrow().len(), 1);
    }

    proptest! {
        #[test]
        fn any_key_normalises_as_normalise(
            key in "\\PC{0,12}|[A-Za-z0-9_ -]{0,80}|[ -~]{0,70}|[a-z0-9]{60,70}"
        ) {
            let names = Names::default();
            prop_assert_eq!(normal_of(&names, &key), normal_key(&key));
            prop_assert_eq!(normal_of(&names, &key), normal_key(&key));
        }
    }
}
