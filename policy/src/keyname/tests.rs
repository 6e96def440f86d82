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
fn combining_marks_are_no_letters() {
    // Combining marks of each kind: Mn U+0363, U+05B0, U+1DD3 and Mc
    // U+0903 are Alphabetic (`char::is_alphanumeric` keeps them); Me U+20DD,
    // U+0488. None composes with a Latin letter, so NFKC leaves them.
    for spelling in [
        "religio\u{0363}n",
        "relig\u{05b0}ion",
        "\u{1dd3}religion",
        "religion\u{0903}",
        "re\u{20dd}ligion",
        "reli\u{0488}gion",
        "ＲＥＬＩＧＩＯ\u{0363}Ｎ",
        "re\u{0363}\u{05b0}\u{1dd3}ligion",
        "\u{0363}religion\u{05b0}",
    ] {
        assert_eq!(normalise(spelling), "religion", "{spelling:?}");
    }
    assert_eq!(normalise("病\u{0363}史"), "病史");
    assert_eq!(normalise("\u{0363}\u{05b0}"), "");
}

#[test]
fn marks_that_compose_with_their_letter_are_dropped_too() {
    // NFKC composes o + U+0301 into ó; decomposing after the case fold
    // takes the mark off again, so accents never tell names apart.
    for spelling in [
        "religio\u{0301}n",
        "religión",
        "RELIGIÓN",
        "Re\u{0301}ligi\u{0308}on",
        "ŕéĺíǵíóń",
        "ｒｅｌｉｇｉｏ\u{0301}ｎ",
        "religio\u{0301}\u{0363}n",
        "religio\u{0323}\u{0302}n",
    ] {
        assert_eq!(normalise(spelling), "religion", "{spelling:?}");
    }
    assert_eq!(normalise("médical_history"), "medicalhistory");
    assert_eq!(normalise("Straße"), "strasse");
    // Hangul syllables decompose into jamo (letters, not marks) and compose
    // again: Korean names keep their characters.
    assert_eq!(normalise("종교"), "종교");
    assert!(matches!(normalise("종교"), Cow::Borrowed(_)));
    assert_eq!(normalise("종교_정보"), "종교정보");
    // Letters that are no letter and a mark stay what they are.
    assert_eq!(normalise("øl"), "øl");
    assert_eq!(normalise("łódź"), "łodz");
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
        normal_ascii(b"Tax_Paid", &mut buffer),
        Some(&b"taxpaid"[..])
    );
    // Normal: the name itself, whatever the buffer.
    let name = b"religion";
    assert!(normal_ascii(name, &mut buffer).is_some_and(|n| std::ptr::eq(n, &name[..])));
    assert_eq!(
        normal_ascii(b"muchtoolongforit", &mut buffer),
        Some(&b"muchtoolongforit"[..])
    );
    // Not normal and too long for the buffer; fits once the `_`s are gone.
    assert_eq!(normal_ascii(b"much_too_long", &mut buffer), None);
    assert_eq!(
        normal_ascii(b"a_b_c_d_e_f_g_h", &mut buffer),
        Some(&b"abcdefgh"[..])
    );
    assert_eq!(normal_ascii("税".as_bytes(), &mut buffer), None);
    assert_eq!(normal_ascii("ab税".as_bytes(), &mut buffer), None);
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

    /// Letters with marks of every kind around them, Hangul syllables and
    /// jamo, compatibility forms: the result is idempotent, holds no mark
    /// and is NFC.
    #[test]
    fn marked_names_normalise_to_mark_free_nfc(
        name in "[a-zA-Zα-ωΑ-Ωά-ώ가-힣ᄀ-ᇿ\u{300}-\u{36f}\u{1dc0}-\u{1dff}\u{0591}-\u{05c7}\u{0900}-\u{097f}\u{fe70}-\u{feff}ﬀ-ﬆ]{0,12}"
    ) {
        let once = normalise(&name).into_owned();
        proptest::prop_assert_eq!(normalise(&once), once.as_str());
        proptest::prop_assert!(!once.chars().any(is_combining_mark), "{:?}", once);
        proptest::prop_assert!(unicode_normalization::is_nfc(&once), "{:?}", once);
    }

    #[test]
    fn ascii_paths_agree(name in "[ -~]{0,40}|[a-z0-9]{0,40}", size in 0usize..48) {
        let mut buffer = vec![0u8; size];
        let fast = normal_ascii(name.as_bytes(), &mut buffer).map(|b| b.to_vec());
        let slow = normalise(&name);
        // Served whenever the name is normal or its normal form fits.
        let expected = (slow == name || slow.len() <= size).then(|| slow.as_bytes().to_vec());
        proptest::prop_assert_eq!(fast, expected);
    }
}

/// The CJK fast path agrees with the full pipeline: every character it
/// lets through unchanged is one the pipeline leaves unchanged too.
#[test]
fn cjk_names_are_normal_as_they_are() {
    for name in [
        "宗教信仰",
        "身份证号码",
        "手机号码",
        "病史",
        "a1宗教",
        "㐀䶿一鿿",
    ] {
        assert_eq!(normalise(name), name, "{name}");
        assert_eq!(normalise_once(name), name, "{name}");
    }
    // Every ideograph of both blocks, one at a time, through the pipeline.
    for c in ('\u{4E00}'..='\u{9FFF}').chain('\u{3400}'..='\u{4DBF}') {
        let s = c.to_string();
        assert_eq!(normalise_once(&s), s, "U+{:04X}", u32::from(c));
    }
    // A compatibility ideograph is not in the fast path: NFKC maps it.
    assert_eq!(normalise("\u{F900}"), "\u{8C48}");
}
