use super::*;
use crate::testing::{ID_NUMBER_MASK as ID, PHONE_MASK as PHONE};

const BOTH: Detectors = Detectors {
    resident_id: Some(ID),
    mobile: Some(PHONE),
};

/// Whether the mobile detector's quick check lets `text` through.
fn quick_check(text: &str) -> bool {
    may_hold_mobile(text, &Census::new(text.as_bytes()))
}

/// A valid id with the given first 17 digits.
fn id(first17: &str) -> String {
    format!("{first17}{}", gb11643_check_char(first17).unwrap())
}

#[test]
fn valid_ids_and_mobiles_are_masked_in_free_text() {
    let valid = id("43010219850612301");
    let text = format!("身份证{valid}，电话13812345678。");
    let (out, ids, mobiles) = BOTH.mask(&text).unwrap();
    assert_eq!(
        out,
        format!("身份证430102********{}，电话138******78。", &valid[14..])
    );
    assert_eq!((ids, mobiles), (1, 1));
}

#[test]
fn check_character_x_either_case() {
    // 11010519491231002X is the standard example with check X.
    for text in ["11010519491231002X", "11010519491231002x"] {
        let (out, ids, _) = BOTH.mask(text).unwrap();
        assert_eq!(ids, 1);
        assert_eq!(&out[..6], "110105");
        assert!(!out.contains("19491231"));
    }
}

/// `text` with its ASCII digits and `X`/`x` written fullwidth.
fn fullwidth(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' | 'X' | 'x' => char::from_u32(u32::from(c) + 0xFEE0).unwrap(),
            c => c,
        })
        .collect()
}

#[test]
fn ids_written_with_fullwidth_digits_are_masked() {
    let valid = id("43010219850612301");
    let wide = fullwidth(&valid);
    for (text, masked) in [
        // Fullwidth throughout, the check character fullwidth `Ｘ`/`ｘ`.
        (
            "１１０１０５１９４９１２３１００２Ｘ".to_owned(),
            "１１０１０５********００２Ｘ".to_owned(),
        ),
        (
            "１１０１０５１９４９１２３１００２ｘ".to_owned(),
            "１１０１０５********００２ｘ".to_owned(),
        ),
        // Fullwidth digits, ASCII check character, and the other way.
        (
            "１１０１０５１９４９１２３１００２X".to_owned(),
            "１１０１０５********００２X".to_owned(),
        ),
        (
            "11010519491231002Ｘ".to_owned(),
            "110105********002Ｘ".to_owned(),
        ),
        (
            wide.clone(),
            format!(
                "{}********{}",
                &fullwidth(&valid[..6]),
                fullwidth(&valid[14..])
            ),
        ),
        // Mixed in one number.
        (
            format!("{}{}", &valid[..9], fullwidth(&valid[9..])),
            format!("{}********{}", &valid[..6], fullwidth(&valid[14..])),
        ),
        (
            format!("身份证：{wide}。"),
            format!(
                "身份证：{}********{}。",
                fullwidth(&valid[..6]),
                fullwidth(&valid[14..])
            ),
        ),
    ] {
        let (out, ids, mobiles) = BOTH.mask(&text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(out, masked, "{text}");
        assert_eq!((ids, mobiles), (1, 0), "{text}");
        assert_eq!(out.chars().count(), text.chars().count(), "{text}");
    }
    // Glued to other digits (fullwidth or ASCII): found by its window.
    for text in [
        format!("９９{wide}７"),
        format!("99{wide}7"),
        format!("NO.{wide}0001"),
    ] {
        let (out, ids, _) = BOTH.mask(&text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(ids, 1, "{text}");
        assert!(!out.contains(&wide), "{text}");
        assert_eq!(out.chars().count(), text.chars().count(), "{text}");
    }
    // With the id detector off, left alone.
    let mobiles_only = Detectors {
        resident_id: None,
        mobile: Some(PHONE),
    };
    assert_eq!(mobiles_only.mask(&wide), None);
}

#[test]
fn fullwidth_ids_whose_checksum_fails_are_left_alone() {
    let valid = id("43010219850612301");
    let last = valid.as_bytes()[17];
    let wrong = if last == b'0' { '1' } else { '0' };
    for text in [
        fullwidth(&format!("{}{wrong}", &valid[..17])),
        fullwidth("11010519491231002１"),
        "１１０１０５１９４９１２３１００２Ｙ".to_owned(),
        fullwidth("1101051949123100X"), // 16 digits and X
    ] {
        assert_eq!(BOTH.mask(&text), None, "{text}");
    }
}

#[test]
fn failing_checksum_and_other_numbers_are_left_alone() {
    let valid = id("43010219850612301");
    let last = valid.as_bytes()[17];
    let wrong = if last == b'0' { '1' } else { '0' };
    let bad = format!("{}{wrong}", &valid[..17]);
    for text in [
        bad.as_str(),
        "order 12345678901234567",
        "23812345678",  // no mobile prefix
        "12812345678",  // 12x is no mobile prefix
        "138123456789", // 12 digits
        "1381234567",   // 10 digits
        "amount 1000000.00",
    ] {
        assert_eq!(BOTH.mask(text), None, "{text}");
    }
}

#[test]
fn ids_glued_to_other_digits_are_found() {
    let valid = id("43010219850612301");
    let text = format!("99{valid}7");
    let (out, ids, _) = BOTH.mask(&text).unwrap();
    assert_eq!(ids, 1);
    assert!(!out.contains(&valid));
}

#[test]
fn unmasked_detector_is_off() {
    let phone_unmasked = Detectors {
        resident_id: Some(ID),
        mobile: None,
    };
    assert_eq!(phone_unmasked.mask("tel 13812345678"), None);
    let none = Detectors {
        resident_id: None,
        mobile: None,
    };
    assert_eq!(none.mask(&id("43010219850612301")), None);
}

#[test]
fn digit_run_search_agrees_with_a_plain_scan() {
    let plain = |bytes: &[u8], min: usize| {
        bytes
            .split(|b| !b.is_ascii_digit())
            .any(|run| run.len() >= min)
    };
    for text in [
        "",
        "1234567890",
        "12345678901",
        "a12345678901",
        "12345678901a",
        "1234a5678901234",
        "x1234567890x12345678901",
        "湘市监罚〔2023〕1234号13812345678",
        "123456789012345678901234",
    ] {
        for min in [1, 2, 10, 11, 12] {
            assert_eq!(
                has_digit_run(text.as_bytes(), min),
                plain(text.as_bytes(), min),
                "{text} {min}"
            );
        }
    }
}

#[test]
fn mobiles_with_a_country_code_or_separators_are_masked() {
    for (text, masked) in [
        // Glued to the country code: only the 11 digits are the number.
        ("+8613812345678", "+86138******78"),
        ("008613812345678", "0086138******78"),
        ("+008613812345678", "+0086138******78"),
        ("8613812345678", "86138******78"),
        ("tel:8619912345678。", "tel:86199******78。"),
        // The country code apart, by one space or hyphen.
        ("+86 13812345678", "+86 138******78"),
        ("0086-13812345678", "0086-138******78"),
        // 3-4-4, one space or one hyphen between groups.
        ("+86 138 1234 5678", "+86 138 **** **78"),
        ("+86-138-1234-5678", "+86-138-****-**78"),
        ("0086 138-1234-5678", "0086 138-****-**78"),
        ("138 1234 5678", "138 **** **78"),
        ("138-1234-5678", "138-****-**78"),
        ("电话：159-0000-1111，", "电话：159-****-**11，"),
        ("+86138 1234 5678", "+86138 **** **78"),
        // Fullwidth digits (values are not NFKC-folded).
        ("１３８１２３４５６７８", "１３８******７８"),
        ("＋８６１３８１２３４５６７８", "＋８６１３８******７８"),
        ("１３８ １２３４ ５６７８", "１３８ **** **７８"),
        ("１３８-1234-5678", "１３８-****-**78"),
    ] {
        let (out, ids, mobiles) = BOTH.mask(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(out, masked, "{text}");
        assert_eq!((ids, mobiles), (0, 1), "{text}");
        assert_eq!(out.chars().count(), text.chars().count(), "{text}");
    }
}

/// Mobiles written with the listed separators, 3-8, or a first group in
/// parentheses, and how they are masked.
const LISTED_FORMS: &[(&str, &str)] = &[
    // Fullwidth hyphen-minus, ideographic space, no-break space, `.`.
    ("１３８－１２３４－５６７８", "１３８－****－**７８"),
    ("１３８　１２３４　５６７８", "１３８　****　**７８"),
    ("138\u{a0}1234\u{a0}5678", "138\u{a0}****\u{a0}**78"),
    ("138.1234.5678", "138.****.**78"),
    ("138．1234．5678", "138．****．**78"),
    ("138\u{2010}1234\u{2011}5678", "138\u{2010}****\u{2011}**78"),
    ("138\u{2012}1234\u{2013}5678", "138\u{2012}****\u{2013}**78"),
    ("138\u{2014}1234\u{2015}5678", "138\u{2014}****\u{2015}**78"),
    // Mixed separators, and after a country code.
    ("138 1234.5678", "138 ****.**78"),
    (
        "+86\u{3000}138\u{3000}1234\u{3000}5678",
        "+86\u{3000}138\u{3000}****\u{3000}**78",
    ),
    ("+86.138.1234.5678", "+86.138.****.**78"),
    // 3-8.
    ("138 12345678", "138 ******78"),
    ("138-12345678", "138-******78"),
    ("138\u{a0}12345678", "138\u{a0}******78"),
    ("+86 138 12345678", "+86 138 ******78"),
    ("+86138 12345678", "+86138 ******78"),
    ("１３８－１２３４５６７８", "１３８－******７８"),
    // 3-4-4 across full stops is still a grouped number (no decimal has
    // two points).
    ("138.1234.5678", "138.****.**78"),
    // A first group in parentheses, then at most one separator.
    ("(138)1234-5678", "(138)****-**78"),
    ("(138) 1234 5678", "(138) **** **78"),
    ("(138)12345678", "(138)******78"),
    ("(138)\u{a0}12345678", "(138)\u{a0}******78"),
    ("（138）1234 5678", "（138）**** **78"),
    ("（１３８）　１２３４　５６７８", "（１３８）　****　**７８"),
    ("+86 (138) 1234-5678", "+86 (138) ****-**78"),
    ("电话(138)1234.5678。", "电话(138)****.**78。"),
];

#[test]
fn mobiles_with_any_listed_separator_or_grouping_are_masked() {
    for &(text, masked) in LISTED_FORMS {
        let (out, ids, mobiles) = BOTH.mask(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(out, masked, "{text}");
        assert_eq!((ids, mobiles), (0, 1), "{text}");
        assert_eq!(out.chars().count(), text.chars().count(), "{text}");
    }
}

#[test]
fn the_quick_check_lets_every_listed_form_through() {
    for &(text, _) in LISTED_FORMS {
        assert!(quick_check(text), "{text}");
        // Also after other text of every kind.
        let long = format!("{}，{text}", "长a 1-".repeat(70));
        assert!(quick_check(&long), "{text}");
    }
}

#[test]
fn grouped_forms_outside_the_list_are_left_alone() {
    for text in [
        "138..1234.5678",               // two separators
        "138 .1234 5678",               // two separators
        "138\u{a0}\u{a0}12345678",      // two separators
        "138\u{2016}1234\u{2016}5678",  // not a listed separator
        "138\u{2009}1234\u{2009}5678",  // nor a thin space
        "138 1234567",                  // 3-7
        "138 123456789",                // 3-9
        "1381 2345678",                 // 4-7
        "(138)  1234 5678",             // two separators after `)`
        "(138) -12345678",              // likewise
        "(138))1234 5678",              // two `)`
        "(86138)1234 5678",             // a country code inside
        "(1381)234 5678",               // four digits inside
        "(128) 1234 5678",              // 12x
        "131.23456789",                 // 3-8 across a full stop: a decimal
        "東經１３１．２３４５６７８９", // a fullwidth decimal, 9 places
        "113.12345678",                 // a longitude
    ] {
        assert_eq!(BOTH.mask(text), None, "{text}");
    }
}

#[test]
fn several_grouped_mobiles_in_one_text_are_each_masked() {
    let (out, _, mobiles) = BOTH
        .mask("138 1234 5678 139-1234-5678 +8615012345678")
        .unwrap();
    assert_eq!(out, "138 **** **78 139-****-**78 +86150******78");
    assert_eq!(mobiles, 3);
}

#[test]
fn numbers_that_only_look_like_mobiles_are_left_alone() {
    for text in [
        "138123456789",             // 12 digits
        "+8612812345678",           // 12x is no mobile prefix
        "8612812345678",            // likewise
        "+86138123456789",          // 12 digits after 86
        "8713812345678",            // 87 is no country code
        "9913812345678",            // nor 99
        "00861381234567",           // 10 digits after 0086
        "0008613812345678",         // 000 86...: a 16-digit run
        "138 1234 56789",           // last group of 5
        "138 12345 678",            // 3-5-3
        "1381 234 5678",            // 4-3-4
        "138  1234  5678",          // two spaces
        "138--1234--5678",          // two hyphens
        "138_1234_5678",            // not a space or hyphen
        "128 1234 5678",            // 12x
        "0138 1234 5678",           // first group of 4
        "１２８１２３４５６７８",   // fullwidth, 12x
        "１３８１２３４５６７８９", // fullwidth, 12 digits
    ] {
        assert_eq!(BOTH.mask(text), None, "{text}");
    }
}

#[test]
fn an_x_after_a_mobile_does_not_save_it() {
    // Eleven digits cannot be an id (17 and a check character), so an
    // `X`/`x` after them is only text after a mobile.
    for (text, masked) in [
        ("13812345678x", "138******78x"),
        ("13812345678X", "138******78X"),
        ("138-1234-5678X", "138-****-**78X"),
        ("138 1234 5678x", "138 **** **78x"),
        ("+8613812345678X", "+86138******78X"),
        ("１３８１２３４５６７８Ｘ", "１３８******７８Ｘ"),
        ("tel 13812345678xx", "tel 138******78xx"),
    ] {
        let (out, ids, mobiles) = BOTH.mask(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(out, masked, "{text}");
        assert_eq!((ids, mobiles), (0, 1), "{text}");
    }
    // A 17-digit run and an `X` is still an id, not a mobile.
    let (out, ids, mobiles) = BOTH.mask("11010519491231002X").unwrap();
    assert_eq!((ids, mobiles), (1, 0));
    assert_eq!(out, "110105********002X");
}

#[test]
fn ids_and_new_mobile_forms_together() {
    let valid = id("43010219850612301");
    let text = format!("{valid} +86 138 1234 5678 {valid}");
    let (out, ids, mobiles) = BOTH.mask(&text).unwrap();
    assert_eq!((ids, mobiles), (2, 1));
    let id_masked = format!("430102********{}", &valid[14..]);
    assert_eq!(out, format!("{id_masked} +86 138 **** **78 {id_masked}"));
    // The mobile detector off: ids only.
    let ids_only = Detectors {
        resident_id: Some(ID),
        mobile: None,
    };
    let (out, ids, mobiles) = ids_only.mask(&text).unwrap();
    assert_eq!((ids, mobiles), (2, 0));
    assert_eq!(out, format!("{id_masked} +86 138 1234 5678 {id_masked}"));
    // The id detector off: the mobile only.
    let mobiles_only = Detectors {
        resident_id: None,
        mobile: Some(PHONE),
    };
    let (out, ids, mobiles) = mobiles_only.mask(&text).unwrap();
    assert_eq!((ids, mobiles), (0, 1));
    assert_eq!(out, format!("{valid} +86 138 **** **78 {valid}"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

    /// The cheap checks that let text skip the mobile scan never skip text
    /// the scan finds a mobile in.
    #[test]
    fn the_quick_check_never_skips_a_mobile(
        // Separators: ` -.`, U+00A0, U+3000, U+FF0D, U+2010-U+2015, U+FF0E.
        text in concat!(
            "[0-9０-９ +\\-.xX长，。()（）\u{a0}\u{3000}\u{ff0d}\u{2010}-\u{2015}\u{ff0e}]{0,40}",
            "|([(（]?[0-9]{1,8}[)）]?[ \\-.\u{a0}\u{3000}\u{ff0d}\u{2010}-\u{2015}\u{ff0e}]?){0,4}[0-9]{1,8}",
            "|[a长 ]{0,3}(\\+86|0086|86)?[ \\-]?1[3-9][0-9]{9}[xXa长 ]{0,3}",
            "|[a长 ]{0,3}(\\+86|0086|86)?[ \\-]?1[3-9][0-9][ \\-][0-9]{4}[ \\-][0-9]{4}[xXa长 ]{0,3}",
            "|[a长 ]{0,3}(８６)?１[３-９][0-9０-９][ \\-]?[0-9０-９]{4}[ \\-]?[0-9０-９]{4}[a长 ]{0,3}",
            // Every listed separator, 3-4-4 or 3-8, ASCII digits.
            "|[a长 ]{0,3}(\\+86|0086|86)?[ \\-.\u{a0}\u{3000}\u{ff0d}\u{2010}-\u{2015}\u{ff0e}]?1[3-9][0-9]",
            "([ \\-.\u{a0}\u{3000}\u{ff0d}\u{2010}-\u{2015}\u{ff0e}][0-9]{4}",
            "[ \\-.\u{a0}\u{3000}\u{ff0d}\u{2010}-\u{2015}\u{ff0e}][0-9]{4}",
            "|[ \\-.\u{a0}\u{3000}\u{ff0d}\u{2010}-\u{2015}\u{ff0e}][0-9]{8})[xXa长，。 ]{0,3}",
            // A first group in parentheses, then 4-4 or 8.
            "|[a长 ]{0,3}(\\+86 ?)?[(（]1[3-9][0-9][)）][ \\-.\u{a0}\u{3000}\u{ff0d}\u{2010}-\u{2015}\u{ff0e}]?",
            "([0-9]{4}[ \\-.\u{a0}\u{3000}\u{ff0d}\u{2010}-\u{2015}\u{ff0e}][0-9]{4}|[0-9]{8})[xXa长，。 ]{0,3}",
            // Fullwidth digits with the listed separators and parentheses.
            "|[(（]?１[３-９][0-9０-９][)）]?[ \\-.\u{a0}\u{3000}\u{ff0d}\u{2010}-\u{2015}\u{ff0e}]?",
            "[0-9０-９]{4}[ \\-.\u{a0}\u{3000}\u{ff0d}\u{2010}-\u{2015}\u{ff0e}]?[0-9０-９]{4}",
        )
    ) {
        let found = !mobiles(&text).is_empty();
        proptest::prop_assert!(!found || quick_check(&text), "{text:?}");
    }
}

/// How many ids the id detector finds in `text` without its quick check.
fn ids_without_quick_check(text: &str) -> usize {
    let mut found = Vec::new();
    for run in (DigitRuns {
        bytes: text.as_bytes(),
        at: 0,
    }) {
        if run.len >= ID_SHORTEST {
            resident_ids(text, &run, &mut found);
        }
    }
    found.len()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

    /// The id detector's quick check never skips text holding an id, in
    /// ASCII, fullwidth or mixed digits.
    #[test]
    fn the_id_quick_check_never_skips_an_id(
        first17 in "[1-8][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
        // Which characters are fullwidth: none, all, one (`pick`), any.
        mode in 0u8..4,
        pick in 0usize..18,
        random in proptest::collection::vec(proptest::prelude::any::<bool>(), 18),
        before in "[0-9０-９长，a ]{0,4}",
        after in "[0-9０-９长，a ]{0,4}",
        lower in proptest::prelude::any::<bool>(),
    ) {
        let mut valid = id(&first17);
        if lower {
            valid = valid.to_lowercase();
        }
        let written: String = valid
            .chars()
            .enumerate()
            .map(|(i, c)| {
                let wide = match mode {
                    0 => false,
                    1 => true,
                    2 => i == pick,
                    _ => random.get(i).copied().unwrap_or(false),
                };
                if wide { fullwidth(&c.to_string()) } else { c.to_string() }
            })
            .collect();
        let text = format!("{before}{written}{after}");
        let found = ids_without_quick_check(&text);
        proptest::prop_assert!(found == 0 || may_hold_id(text.as_bytes(), &Census::new(text.as_bytes())), "{text:?}");
        // Separated from other digits, it is found and masked.
        let text = format!("长{written}，");
        let (out, ids, _) = BOTH.mask(&text).unwrap();
        proptest::prop_assert_eq!(ids, 1);
        proptest::prop_assert_eq!(out.chars().count(), text.chars().count());
    }
}

#[test]
fn the_quick_check_counts_only_real_fullwidth_digits() {
    // Eleven fullwidth commas (EF BC 8C) are no digits.
    assert!(!quick_check(&"，".repeat(11)));
    // Ten ASCII digits and one fullwidth one may be a mobile.
    assert!(quick_check("１3812345678"));
    // A 300-byte text: the byte lanes' chunks add up.
    let long = format!("{}138 1234 5678", "长".repeat(100));
    assert!(quick_check(&long));
    assert_eq!(BOTH.mask(&long).map(|m| m.2), Some(1));
}

#[test]
fn ids_written_in_groups_are_masked_and_keep_their_separators() {
    let valid = id("43010219850612301");
    let (region, born, last) = (&valid[..6], &valid[6..14], &valid[14..]);
    for sep in [" ", "-", "\u{3000}", "\u{a0}", "\u{ff0d}"] {
        let text = format!("身份证 {region}{sep}{born}{sep}{last} 号");
        let (out, ids, mobiles) = BOTH.mask(&text).unwrap();
        assert_eq!(
            out,
            format!("身份证 {region}{sep}********{sep}{last} 号"),
            "{sep:?}"
        );
        assert_eq!((ids, mobiles), (1, 0));
        assert_eq!(out.chars().count(), text.chars().count());
    }
    // With the check character X, and in fullwidth digits.
    let with_x = id("11010519491231002");
    assert!(with_x.ends_with('X'));
    let text = format!("{} {} {}", &with_x[..6], &with_x[6..14], &with_x[14..]);
    let (out, ids, _) = BOTH.mask(&text).unwrap();
    assert_eq!(out, "110105 ******** 002X");
    assert_eq!(ids, 1);
    let wide = fullwidth(&format!("{region} {born} {last}"));
    let (out, ids, _) = BOTH.mask(&wide).unwrap();
    assert_eq!(ids, 1);
    assert_eq!(out.chars().filter(|c| *c == '*').count(), 8, "{out}");
}

#[test]
fn grouped_numbers_that_are_no_id_are_left_alone() {
    let valid = id("43010219850612301");
    let (region, born, last) = (&valid[..6], &valid[6..14], &valid[14..]);
    let wrong_check = format!("{region} {born} {}", {
        let mut l = last.to_string();
        let c = l.pop().unwrap();
        l.push(if c == '0' { '1' } else { '0' });
        l
    });
    for text in [
        wrong_check,
        // Not a date: month 13 (checksum recomputed).
        {
            let v = id("43010219851312301");
            format!("{} {} {}", &v[..6], &v[6..14], &v[14..])
        },
        // Two separators, or none of the listed ones, or other group sizes.
        format!("{region}  {born} {last}"),
        format!("{region}/{born}/{last}"),
        format!("{region}1 {born} {}", &last[1..]),
        format!("{region} {born} {last}5"),
    ] {
        assert_eq!(BOTH.mask(&text), None, "{text}");
    }
}

#[test]
fn invisible_characters_inside_a_number_do_not_hide_it() {
    let valid = id("43010219850612301");
    for mark in [
        "\u{200b}", "\u{200d}", "\u{ad}", "\u{2060}", "\u{feff}", "\u{202e}",
    ] {
        let split = format!("证{}{mark}{}", &valid[..10], &valid[10..]);
        let (out, ids, _) = BOTH.mask(&split).unwrap();
        assert_eq!(ids, 1, "{mark:?}");
        // The mark stays where it was; only the id's characters change.
        assert_eq!(
            out,
            format!("证430102****{mark}****{}", &valid[14..]),
            "{mark:?}"
        );
        let phone = format!("tel 138{mark}1234{mark}5678");
        let (out, _, mobiles) = BOTH.mask(&phone).unwrap();
        assert_eq!(mobiles, 1, "{mark:?}");
        assert_eq!(out, format!("tel 138{mark}****{mark}**78"));
        assert_eq!(out.chars().count(), phone.chars().count());
    }
    // Numbers an invisible character separates stay two numbers, each
    // masked (read through, they would run into one 22-digit run).
    let two = "13812345678\u{200b}13912345678";
    let (out, _, mobiles) = BOTH.mask(two).unwrap();
    assert_eq!(mobiles, 2, "{out}");
    assert_eq!(out, "138******78\u{200b}139******78");
    let id_then_phone = format!("{valid}\u{200b}13812345678");
    let (out, ids, mobiles) = BOTH.mask(&id_then_phone).unwrap();
    assert_eq!((ids, mobiles), (1, 1), "{out}");
    // Invisible characters alone change nothing.
    assert_eq!(BOTH.mask("no\u{200b}number\u{200b}here at all"), None);
    assert_eq!(BOTH.mask("12345\u{200b}678"), None);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// A valid id with invisible characters put anywhere inside it, or
    /// written in its three groups, is still found and masked, and the
    /// text keeps its length.
    #[test]
    fn an_id_split_by_invisible_characters_or_grouped_is_found(
        first17 in "[1-8][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
        marks in proptest::collection::vec(
            (0usize..18, proptest::sample::select(vec!['\u{200b}', '\u{200c}', '\u{ad}', '\u{2060}', '\u{feff}', '\u{fe0f}'])),
            1..4,
        ),
        sep in proptest::sample::select(vec![" ", "-", "\u{3000}"]),
    ) {
        let valid = id(&first17);
        let mut split: Vec<char> = valid.chars().collect();
        let mut marks = marks;
        marks.sort_by_key(|m| std::cmp::Reverse(m.0));
        for (at, mark) in marks {
            split.insert(at.min(split.len()), mark);
        }
        let split: String = split.into_iter().collect();
        let text = format!("号码{split}。");
        let (out, ids, _) = BOTH.mask(&text).unwrap();
        proptest::prop_assert_eq!(ids, 1, "{:?}", text);
        proptest::prop_assert_eq!(out.chars().count(), text.chars().count());
        proptest::prop_assert!(!out.contains(&valid[6..14]), "{:?}", out);
        let grouped = format!("号码{}{sep}{}{sep}{}。", &valid[..6], &valid[6..14], &valid[14..]);
        let (out, ids, _) = BOTH.mask(&grouped).unwrap();
        proptest::prop_assert_eq!(ids, 1, "{:?}", grouped);
        proptest::prop_assert!(!out.contains(&valid[6..14]), "{:?}", out);
    }
}
