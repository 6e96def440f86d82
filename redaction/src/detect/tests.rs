use super::*;
use crate::testing::{ID_NUMBER_MASK as ID, PHONE_MASK as PHONE};

const BOTH: Detectors = Detectors {
    resident_id: Some(ID),
    mobile: Some(PHONE),
};

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
fn grouped_forms_outside_the_classes_are_left_alone() {
    for text in [
        "138a1234a5678",     // a letter is no separator
        "138 1234567",       // 3-7: 10 digits
        "138 123456789",     // 3-9: 12 digits
        "138 ----1234 5678", // a run of four separators
        "(128) 1234 5678",   // 12x
        "113.12345678",      // a longitude
    ] {
        assert_eq!(BOTH.mask(text), None, "{text}");
    }
}

/// Forms the first detectors left alone (only 3-4-4, 3-8 and 6-8-4 with
/// one listed separator counted) that a tester used to hide numbers: any
/// run of up to three separators between groups of any sizes.
#[test]
fn separator_runs_and_any_grouping_are_masked() {
    for (text, masked, ids, mobiles) in [
        ("138..1234.5678", "138..****.**78", 0, 1),
        ("138 .1234 5678", "138 .**** **78", 0, 1),
        ("138\u{a0}\u{a0}12345678", "138\u{a0}\u{a0}******78", 0, 1),
        (
            "138\u{2009}1234\u{2009}5678",
            "138\u{2009}****\u{2009}**78",
            0,
            1,
        ),
        ("1381 2345678", "138* *****78", 0, 1),
        ("(138)  1234 5678", "(138)  **** **78", 0, 1),
        ("(138) -12345678", "(138) -******78", 0, 1),
        ("(138))1234 5678", "(138))**** **78", 0, 1),
        ("(86138)1234 5678", "(86138)**** **78", 0, 1),
        ("(1381)234 5678", "(138*)*** **78", 0, 1),
        ("138 12345 678", "138 ***** *78", 0, 1),
        ("1381 234 5678", "138* *** **78", 0, 1),
        ("138  1234  5678", "138  ****  **78", 0, 1),
        ("138--1234--5678", "138--****--**78", 0, 1),
        ("138_1234_5678", "138_****_**78", 0, 1),
        ("0138 1234 5678", "0138 **** **78", 0, 1),
        ("138/1234/5678", "138/****/**78", 0, 1),
        ("138\t1234\t5678", "138\t****\t**78", 0, 1),
        ("138\n1234\n5678", "138\n****\n**78", 0, 1),
        ("138,1234,5678", "138,****,**78", 0, 1),
        ("138\u{b7}1234\u{b7}5678", "138\u{b7}****\u{b7}**78", 0, 1),
        ("+86/138/1234/5678", "+86/138/****/**78", 0, 1),
        ("1 38 1234 5678", "1 38 **** **78", 0, 1),
        ("13 812 345 678", "13 8** *** *78", 0, 1),
        ("1381 2345 678", "138* **** *78", 0, 1),
        ("138(1234)5678", "138(****)**78", 0, 1),
        ("138 - 1234 - 5678", "138 - **** - **78", 0, 1),
        ("1 3 8 1 2 3 4 5 6 7 8", "1 3 8 * * * * * * 7 8", 0, 1),
        ("1-3-8-1-2-3-4-5-6-7-8", "1-3-8-*-*-*-*-*-*-7-8", 0, 1),
        ("138、1234、5678", "138、****、**78", 0, 1),
        ("138：1234：5678", "138：****：**78", 0, 1),
        ("138【1234】5678", "138【****】**78", 0, 1),
        // A decimal is masked too (a full stop would hide mobiles).
        ("131.23456789", "131.******89", 0, 1),
        (
            "東經１３１．２３４５６７８９",
            "東經１３１．******８９",
            0,
            1,
        ),
        ("430102  19850612 3011", "430102  ******** 3011", 1, 0),
        ("430102/19850612/3011", "430102/********/3011", 1, 0),
        ("430102 1985 0612 3011", "430102 **** **** 3011", 1, 0),
        ("430 102 1985 0612 3011", "430 102 **** **** 3011", 1, 0),
        ("430102198 506123011", "430102*** *****3011", 1, 0),
        ("4301 0219 8506 1230 11", "4301 02** **** **30 11", 1, 0),
        ("430102_19850612_3011", "430102_********_3011", 1, 0),
        ("430102,19850612,3011", "430102,********,3011", 1, 0),
        ("430102\t19850612\t3011", "430102\t********\t3011", 1, 0),
        ("430102 - 19850612 - 3011", "430102 - ******** - 3011", 1, 0),
        ("110105-19491231-002-X", "110105-********-002-X", 1, 0),
        (
            "4 3 0 1 0 2 1 9 8 5 0 6 1 2 3 0 1 1",
            "4 3 0 1 0 2 * * * * * * * * 3 0 1 1",
            1,
            0,
        ),
    ] {
        let (out, i, m) = BOTH.mask(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(out, masked, "{text}");
        assert_eq!((i, m), (ids, mobiles), "{text}");
    }
}

/// Group alignment: numbers side by side stay two numbers.
#[test]
fn numbers_side_by_side_are_each_masked() {
    for (text, masked, ids, mobiles) in [
        ("13812345678, 13987654321", "138******78, 139******21", 0, 2),
        (
            "138/1234/5678,139/8765/4321",
            "138/****/**78,139/****/**21",
            0,
            2,
        ),
        ("13812345678 13987654321", "138******78 139******21", 0, 2),
        (
            "430102198506123011 13812345678",
            "430102********3011 138******78",
            1,
            1,
        ),
    ] {
        let (out, i, m) = BOTH.mask(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(out, masked, "{text}");
        assert_eq!((i, m), (ids, mobiles), "{text}");
    }
}

/// Mobiles next to other digits, when the run splits exactly into known
/// shapes; a leading trunk `0` is a prefix (as `86` is).
#[test]
fn mobiles_glued_to_digits_that_split_exactly_are_masked() {
    for (text, masked, ids, mobiles) in [
        ("013812345678", "0138******78", 0, 1),
        ("1381234567813912345678", "138******78139******78", 0, 2),
        (
            "43010219850612301113812345678",
            "430102********3011138******78",
            1,
            1,
        ),
        (
            "13812345678430102198506123011",
            "138******78430102********3011",
            1,
            1,
        ),
        (
            "943010219850612301113812345678",
            "9430102********3011138******78",
            1,
            1,
        ),
        (
            "8613812345678013912345678",
            "86138******780139******78",
            0,
            2,
        ),
    ] {
        let (out, i, m) = BOTH.mask(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(out, masked, "{text}");
        assert_eq!((i, m), (ids, mobiles), "{text}");
    }
    // A mobile followed by a digit is no known shape: left alone.
    assert_eq!(BOTH.mask("138123456780"), None);
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
        "128 1234 5678",            // 12x
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

#[test]
fn the_quick_check_counts_only_real_fullwidth_digits() {
    // Chinese text is no digits (its first bytes, E3-E9, are not counted).
    assert!(!may_hold_number(
        "长沙市市场监督管理局湖南省生态环境厅".as_bytes()
    ));
    assert_eq!(BOTH.mask(&"，".repeat(11)), None);
    // Ten ASCII digits and one fullwidth one may be a mobile.
    assert!(may_hold_number("１3812345678".as_bytes()));
    // A 300-byte text: the byte lanes' chunks add up.
    let long = format!("{}138 1234 5678", "长".repeat(100));
    assert!(may_hold_number(long.as_bytes()));
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
        // Other digits (a 19th) in its last group.
        format!("{region} {born} {last}5"),
    ] {
        // No id (the digits from the date on may read as a mobile).
        assert_eq!(BOTH.mask(&text).map_or(0, |m| m.1), 0, "{text}");
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

/// `text`'s ASCII digits written with the digits of the script whose zero
/// is `zero` (each script's ten digits are consecutive).
fn in_script(text: &str, zero: u32) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(zero + d).unwrap(),
            None => c,
        })
        .collect()
}

/// How many `*` a masked text holds.
fn stars(text: &str) -> usize {
    text.chars().filter(|c| *c == '*').count()
}

const PHONE_TEXT: &str = "13812345678";
const ID_TEXT: &str = "430102198506123011";

/// Every Unicode decimal digit script (general category `Nd`), and the
/// characters NFKC reads as digits, count as digits with their value.
#[test]
fn digits_of_every_script_are_digits() {
    for zero in unicode::ND_ZEROS {
        for (value, want) in [(PHONE_TEXT, (0, 1, 6)), (ID_TEXT, (1, 0, 8))] {
            let text = format!("tel {} 号", in_script(value, zero));
            let (out, ids, mobiles) = BOTH
                .mask(&text)
                .unwrap_or_else(|| panic!("{zero:x} {text}"));
            assert_eq!((ids, mobiles, stars(&out)), want, "{zero:x} {text}");
            assert_eq!(out.chars().count(), text.chars().count());
        }
    }
    // Superscripts, subscripts, circled, dingbat and parenthesised digits
    // (no zero needed: the phone has none).
    for (one, step) in [
        (0x2460, 1), // ①
        (0x2474, 1), // ⑴
        (0x2488, 1), // ⒈
        (0x2776, 1), // ❶
        (0x2780, 1), // ➀
        (0x2080, 1), // ₀ (subscripts are consecutive from zero)
    ] {
        let text: String = PHONE_TEXT
            .chars()
            .map(|c| {
                let d = c.to_digit(10).unwrap();
                let base = if one == 0x2080 { one } else { one - 1 };
                char::from_u32(base + d * step).unwrap()
            })
            .collect();
        let (out, _, mobiles) = BOTH.mask(&text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!((mobiles, stars(&out)), (1, 6), "{text}");
    }
    let superscripts =
        "\u{b9}\u{b3}\u{2078}\u{b9}\u{b2}\u{b3}\u{2074}\u{2075}\u{2076}\u{2077}\u{2078}";
    let (out, _, mobiles) = BOTH.mask(superscripts).unwrap();
    assert_eq!(
        (mobiles, out.as_str()),
        (1, "\u{b9}\u{b3}\u{2078}******\u{2077}\u{2078}")
    );
    // The check character as Roman numeral ten, either case, and other
    // forms NFKC reads as `X`.
    for x in [
        '\u{2169}',
        '\u{2179}',
        '\u{ff38}',
        '\u{ff58}',
        '\u{24cd}',
        '\u{1d417}',
    ] {
        let text = format!("11010519491231002{x}");
        let (out, ids, _) = BOTH.mask(&text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(ids, 1, "{text}");
        assert_eq!(out, format!("110105********002{x}"));
    }
}

/// Characters that show nothing, put once in the middle or between every
/// digit of a phone and an id: read through.
const INVISIBLE: &[char] = &[
    '\u{e0100}',
    '\u{e01ef}',
    '\u{fff9}',
    '\u{fffa}',
    '\u{fffb}',
    '\u{1bca1}',
    '\u{17b5}',
    '\u{17b4}',
    '\u{3164}',
    '\u{115f}',
    '\u{1160}',
    '\u{ffa0}',
    '\u{2800}',
    '\u{0}',
    '\u{8}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{9f}',
    '\u{2028}',
    '\u{2029}',
    '\u{301}',
    '\u{20e3}',
    '\u{903}',
    '\u{488}',
    '\u{200b}',
    '\u{200d}',
    '\u{ad}',
    '\u{2060}',
    '\u{feff}',
    '\u{202e}',
    '\u{2066}',
    '\u{61c}',
    '\u{fe0f}',
    '\u{e0031}',
    '\u{180e}',
    '\u{180f}',
    '\u{34f}',
    '\u{2061}',
    '\u{1d173}',
    '\u{fff0}',
    '\u{e0fff}',
];

#[test]
fn invisible_characters_of_every_kind_do_not_hide_a_number() {
    for &mark in INVISIBLE {
        for (value, want) in [(PHONE_TEXT, (0, 1, 6)), (ID_TEXT, (1, 0, 8))] {
            let middle = format!("x {}{mark}{} y", &value[..5], &value[5..]);
            let every: String = value.chars().flat_map(|c| [c, mark]).collect::<String>();
            for text in [middle, format!("号{every}号")] {
                let (out, ids, mobiles) = BOTH
                    .mask(&text)
                    .unwrap_or_else(|| panic!("{:?} {text:?}", mark));
                assert_eq!((ids, mobiles, stars(&out)), want, "{mark:?} {text:?}");
                assert_eq!(out.chars().count(), text.chars().count());
                assert_eq!(
                    out.chars().filter(|c| *c == mark).count(),
                    text.chars().filter(|c| *c == mark).count()
                );
            }
        }
    }
}

/// Separator runs of up to three characters from this set join groups.
const SEPARATORS: &[char] = &[
    ' ', '\t', '\n', '\r', '\u{a0}', '\u{3000}', '\u{2009}', '\u{202f}', '-', '\u{2010}',
    '\u{2013}', '\u{2014}', '\u{2212}', '\u{ff0d}', '\u{fe63}', '.', '\u{ff0e}', '/', '\u{ff0f}',
    '_', '(', ')', '\u{ff08}', '\u{ff09}', '[', ']', '\u{3010}', '\u{3011}', '\u{b7}', '\u{30fb}',
    ',', '\u{ff0c}', '\u{3001}', ':', '\u{ff1a}', ';', '|',
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

    /// Any phone or id, cut into groups anywhere, joined by any run of one
    /// to three separators, its digits in any script (each digit its own),
    /// with invisible characters anywhere inside: masked, the text as many
    /// characters long and valid, only the number's characters changed.
    #[test]
    fn any_grouping_script_and_invisible_mark_is_masked(
        phone in "1[3-9][0-9]{9}",
        first17 in "[1-8][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
        is_id in proptest::prelude::any::<bool>(),
        cuts in proptest::collection::vec((0usize..18, proptest::collection::vec(proptest::sample::select(SEPARATORS), 1..=3)), 0..6),
        scripts in proptest::collection::vec(proptest::sample::select(unicode::ND_ZEROS.to_vec()), 18),
        marks in proptest::collection::vec((0usize..18, proptest::sample::select(INVISIBLE)), 0..3),
        before in "[a长 ]{0,2}",
        after in "[a长 ]{0,2}",
    ) {
        let value = if is_id { id(&first17) } else { phone };
        let mut cuts = cuts;
        cuts.retain(|(at, _)| *at > 0 && *at < value.len());
        cuts.sort_by_key(|c| c.0);
        cuts.dedup_by_key(|c| c.0);
        let mut text = before.clone();
        for (i, c) in value.chars().enumerate() {
            if let Some((_, run)) = cuts.iter().find(|(at, _)| *at == i) {
                text.extend(run.iter());
            }
            for (_, mark) in marks.iter().filter(|(at, _)| *at == i && i > 0) {
                text.push(*mark);
            }
            match c.to_digit(10) {
                Some(d) => text.push(char::from_u32(scripts[i] + d).unwrap()),
                None => text.push(c),
            }
        }
        text.push_str(&after);
        let (out, ids, mobiles) = BOTH.mask(&text).unwrap_or_else(|| panic!("{text:?}"));
        if is_id {
            proptest::prop_assert_eq!((ids, mobiles, stars(&out)), (1, 0, 8), "{:?} {:?}", text, out);
        } else {
            proptest::prop_assert_eq!((ids, mobiles, stars(&out)), (0, 1, 6), "{:?} {:?}", text, out);
        }
        proptest::prop_assert_eq!(out.chars().count(), text.chars().count());
        // Only digits became `*`.
        for (a, b) in text.chars().zip(out.chars()) {
            proptest::prop_assert!(a == b || (b == '*' && digit_value(a).is_some()), "{:?} {:?}", text, out);
        }
    }

    /// Masking any text keeps it valid and as many characters long, and
    /// only ever stars digits and check characters.
    #[test]
    fn masking_any_text_keeps_its_characters(text in "\\PC{0,40}|[0-9 ０-９\u{660}-\u{669}\u{200b}\u{301}xX.,-]{0,40}") {
        if let Some((out, _, _)) = BOTH.mask(&text) {
            proptest::prop_assert_eq!(out.chars().count(), text.chars().count());
            for (a, b) in text.chars().zip(out.chars()) {
                proptest::prop_assert!(a == b || (b == '*' && (digit_value(a).is_some() || classify(a) == Class::CheckX)));
            }
        }
    }
}

// Review findings 1, 3 and 4 (quadratic merge, memory per digit, values
// hidden by an overlapping candidate).

#[test]
fn a_value_overlapping_one_found_is_masked_too() {
    for (text, masked, counts) in [
        // A mobile `13800430102` across the first two groups used to hide
        // the id starting at the second.
        (
            "13800, 430102 19850612 3011",
            "138**, ****02 ******** 3011",
            (0, 1),
        ),
        ("13 430102198 506123011", "13 4******** *****3011", (0, 1)),
        // Two mobiles sharing groups: `1390 138 1234` and `138 1234 5678`.
        ("1390 138 1234 5678", "139* *** **** **78", (0, 1)),
    ] {
        let (out, ids, mobiles) = BOTH.mask(text).unwrap();
        assert_eq!(out, masked, "{text}");
        // Counted once: a value overlapping one counted is not counted.
        assert_eq!((ids, mobiles), counts, "{text}");
    }
    // A mobile lying wholly inside an id's groups is the id's digits.
    let (out, ids, mobiles) = BOTH.mask("110105 19491231 002X").unwrap();
    assert_eq!(out, "110105 ******** 002X");
    assert_eq!((ids, mobiles), (1, 0));
    // Side by side, each counted.
    let (_, _, mobiles) = BOTH.mask("138 1234 5678 139 8765 4321").unwrap();
    assert_eq!(mobiles, 2);
}

#[test]
fn the_second_scan_merge_matches_a_pairwise_check() {
    // Exhaustive over small intervals: `overlaps_any` on the merged spans
    // says what a comparison with every span says.
    let spans: Vec<Value> = [(2, 5), (4, 9), (12, 14), (14, 15), (20, 30)]
        .iter()
        .map(|&(first, last)| Value {
            detector: Some(Detector::Mobile),
            first,
            last,
            hidden: Some((first, last)),
        })
        .collect();
    let merged = merged_spans(&spans);
    assert_eq!(merged, vec![(2, 9), (12, 14), (14, 15), (20, 30)]);
    for first in 0..32 {
        for last in first + 1..33 {
            let pairwise = spans.iter().any(|f| f.first < last && first < f.last);
            assert_eq!(
                overlaps_any(&merged, first, last),
                pairwise,
                "{first}..{last}"
            );
        }
    }
}

#[test]
fn many_mobiles_joined_by_invisible_characters_are_each_masked() {
    // 20 000 values from the second scan: quadratic before (one
    // comparison per pair, seconds at 40 000); must simply finish.
    let text = "13812345678\u{200b}".repeat(20_000);
    let (out, _, mobiles) = BOTH.mask(&text).unwrap();
    assert!(mobiles >= 1);
    assert!(!out.contains("1234"));
    assert_eq!(out.chars().count(), text.chars().count());
}

#[test]
fn a_group_longer_than_the_cap_is_starred_whole() {
    // No value can be read in it (no window id, no exact split): starred
    // all the same, without a record per digit.
    let long = "1".repeat(GROUP_CAP + 1);
    let (out, ids, mobiles) = BOTH.mask(&format!("{long}-7 and 13812345678")).unwrap();
    assert_eq!(
        out,
        format!("{}-7 and 138******78", "*".repeat(GROUP_CAP + 1))
    );
    assert_eq!((ids, mobiles), (0, 1));
    // An id glued into such a group is gone with it, X included.
    let glued = format!("{}{}", "0".repeat(GROUP_CAP), "11010519491231002X");
    let (out, _, _) = BOTH.mask(&glued).unwrap();
    assert_eq!(out, "*".repeat(glued.len()));
    // At the cap, read as before.
    let at_cap = format!("{}{}", "0".repeat(GROUP_CAP - 18), id("43010219850612301"));
    let (out, ids, _) = BOTH.mask(&at_cap).unwrap();
    assert_eq!(ids, 1);
    assert!(out.starts_with(&"0".repeat(GROUP_CAP - 18)));
    // Invisible characters inside do not split it (first scan), and in the
    // second scan each piece is read: still all starred.
    let split = format!("{}\u{200b}{}", "2".repeat(GROUP_CAP), "3".repeat(20));
    let (out, _, _) = BOTH.mask(&split).unwrap();
    assert!(!out.contains('2') && !out.contains('3'));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// A grouped mobile or id anywhere in a long list of small numbers
    /// (past the point where a number's groups are searched and dropped)
    /// is masked, and the list around it is left alone.
    #[test]
    fn values_across_a_number_chunk_are_found(
        before in 0usize..200,
        after in 0usize..20,
        is_id in proptest::bool::ANY,
        sep in proptest::sample::select(vec![", ", "-", " ", "/"]),
    ) {
        let value = if is_id { "430102 19850612 3011" } else { "138 1234 5678" };
        let mut text = String::new();
        for _ in 0..before {
            text.push_str("20");
            text.push_str(sep);
        }
        text.push_str(value);
        for _ in 0..after {
            text.push_str(sep);
            text.push_str("20");
        }
        let (out, ids, mobiles) = BOTH.mask(&text).unwrap();
        proptest::prop_assert_eq!(ids + mobiles, 1);
        let masked = if is_id { "430102 ******** 3011" } else { "138 **** **78" };
        proptest::prop_assert_eq!(out, text.replace(value, masked));
    }
}

// Review finding 6: separators outside the old list, white space runs,
// Chinese numerals, look-alikes of the check character.

#[test]
fn any_punctuation_or_symbol_joins_groups() {
    for sep in [
        "~",
        "\u{ff5e}",
        "+",
        "*",
        "#",
        "=",
        "'",
        "\"",
        "&",
        "\u{2219}",
        "\u{2024}",
        "\u{2236}",
        "\u{d7}",
        "\u{2d7}",
        "\u{2016}",
        "\u{300c}",
        "\u{201c}",
        "\u{ffe5}",
        " -- ",
        " ~ ",
        "    ",
        "\t\t\t\t\t",
        "\u{3000}\u{3000}\u{3000}\u{3000}",
        "--",
    ] {
        let text = format!("138{sep}1234{sep}5678");
        let (out, _, mobiles) = BOTH
            .mask(&text)
            .unwrap_or_else(|| panic!("missed {text:?}"));
        assert_eq!(mobiles, 1, "{text:?}");
        assert_eq!(out, format!("138{sep}****{sep}**78"), "{text:?}");
    }
    // Brackets of another pair and both quotes.
    let (out, _, _) = BOTH.mask("138\u{201c}1234\u{201d}5678").unwrap();
    assert_eq!(out, "138\u{201c}****\u{201d}**78");
    // Still no letters (outside HTML markup), and no more than three
    // separators that are not white space.
    for text in ["138a1234a5678", "138 ----1234 5678", "138~~~~1234~5678"] {
        assert_eq!(BOTH.mask(text), None, "{text:?}");
    }
}

#[test]
fn chinese_numerals_are_digits() {
    for (text, masked) in [
        ("一三八一二三四五六七八", "一三八******七八"),
        ("壹叁捌壹贰叁肆伍陆柒捌", "壹叁捌******柒捌"),
        ("幺三八幺二三四五六七八", "幺三八******七八"),
        ("1三812345678", "1三8******78"),
        (
            "电话：一三八 一二三四 五六七八。",
            "电话：一三八 **** **七八。",
        ),
        (
            "四三〇一〇二一九八五〇六一二三〇一一",
            "四三〇一〇二********三〇一一",
        ),
    ] {
        let (out, ids, mobiles) = BOTH.mask(text).unwrap_or_else(|| panic!("missed {text:?}"));
        assert_eq!(out, masked, "{text:?}");
        assert_eq!(ids + mobiles, 1, "{text:?}");
        assert_eq!(out.chars().count(), text.chars().count());
    }
    // Prose with numerals stays.
    for text in ["三个一", "第一二三四五六七八九十章", "〇〇"] {
        assert_eq!(BOTH.mask(text), None, "{text:?}");
    }
}

#[test]
fn look_alikes_of_x_are_the_check_character() {
    for x in [
        "X", "x", "\u{d7}", "\u{425}", "\u{445}", "\u{3a7}", "\u{3c7}", "\u{ff38}",
    ] {
        for text in [
            format!("11010519491231002{x}"),
            format!("110105 19491231 002 {x}"),
        ] {
            let (out, ids, _) = BOTH
                .mask(&text)
                .unwrap_or_else(|| panic!("missed {text:?}"));
            assert_eq!(ids, 1, "{text:?}");
            assert!(!out.contains("19491231"), "{text:?}");
            assert!(out.ends_with(x), "{text:?}");
        }
    }
    // After fewer than 17 digits an X is a separator.
    let (out, _, mobiles) = BOTH.mask("138\u{d7}1234\u{d7}5678").unwrap();
    assert_eq!((out.as_str(), mobiles), ("138\u{d7}****\u{d7}**78", 1));
}

// Review finding 7: whole timestamps are no numbers.

#[test]
fn whole_timestamps_are_not_numbers() {
    for text in [
        "2024-03-15 13:45:12.123",
        "2024-03-15 13:45:12.1",
        "2014-03-15T13:45:12.123+08:00",
        "2014-03-15T13:45:12.123-0800",
        "2024-03-15T13:45:12Z",
        "日志 2024-03-19 19:59:59.999 完成",
        "(2024-03-15 13:45:12.123)",
        "at 2024-03-15 13:45:12.123, ok",
        "at 2024-03-15 13:45:12.123.",
        "2024-03-15 13:45:12.123 2024-03-16 14:45:12.123",
        "2000-02-29 13:45:12.123",
    ] {
        assert_eq!(BOTH.mask(text), None, "{text}");
    }
    // Not a whole, real timestamp: read as before (a mobile 15134512123).
    for text in [
        "2024-03-15 13:45:12.123,5",
        "12024-03-15 13:45:12.123",
        "2024-03-15 13:45:12.1234",
        "2024-13-15 13:45:12.123",
        "2023-02-29 13:45:12.123x",
        "2024-03-15 24:45:12.123",
        "2024-03-15 13:60:12.123",
        "2024-03-15  13:45:12.123",
        "2024-03-15\u{200b} 13:45:12.123",
    ] {
        assert!(timestamps(text).is_empty(), "{text}");
    }
    assert!(BOTH.mask("2024-03-15 13:45:12.123,5").is_some());
    // A mobile beside a timestamp is still one.
    let (out, _, mobiles) = BOTH.mask("2024-03-15 13:45:12.123 13812345678").unwrap();
    assert_eq!(
        (out.as_str(), mobiles),
        ("2024-03-15 13:45:12.123 138******78", 1)
    );
    // Amounts are not exempt (each is a mobile's digits).
    for text in ["13,800,000,000", "138,123,456.78", "13,812,345,678"] {
        assert!(BOTH.mask(text).is_some(), "{text}");
    }
}

#[test]
fn a_hidden_range_stars_only_the_values_characters() {
    // Masked as one byte range per value (not a record per character):
    // separators inside it stay, a `×` separating groups too, the check
    // character ending it goes.
    let all = Detectors {
        resident_id: Some(Mask {
            keep_start: 0,
            keep_end: 0,
        }),
        mobile: Some(Mask {
            keep_start: 0,
            keep_end: 0,
        }),
    };
    for (text, masked) in [
        ("138\u{d7}1234\u{d7}5678", "***\u{d7}****\u{d7}****"),
        ("110105 19491231 002X", "****** ******** ****"),
        (
            "110105\u{d7}19491231\u{d7}002\u{d7}",
            "******\u{d7}********\u{d7}****",
        ),
        ("+86 138-1234\u{200b}-5678", "+86 ***-****\u{200b}-****"),
        ("008613812345678", "0086***********"),
    ] {
        let (out, _, _) = all.mask(text).unwrap();
        assert_eq!(out, masked, "{text}");
    }
}

/// Free text rendered as HTML: a tag or a named character reference is one
/// separator, a numeric reference the character it stands for.
#[test]
fn html_markup_between_digits_does_not_hide_a_number() {
    let valid = id("43010219850612301");
    for (text, masked, ids, mobiles) in [
        (
            "138<br>1234<br>5678",
            "138<br>****<br>**78".to_owned(),
            0,
            1,
        ),
        (
            "138<br/>1234<BR />5678",
            "138<br/>****<BR />**78".to_owned(),
            0,
            1,
        ),
        (
            "<td>138</td><td>1234 5678</td>",
            "<td>138</td><td>**** **78</td>".to_owned(),
            0,
            1,
        ),
        (
            "138<span class=\"n\">1234</span>5678",
            "138<span class=\"n\">****</span>**78".to_owned(),
            0,
            1,
        ),
        (
            "138&nbsp;1234&nbsp;5678",
            "138&nbsp;****&nbsp;**78".to_owned(),
            0,
            1,
        ),
        (
            "138&ensp;&ensp;1234-5678",
            "138&ensp;&ensp;****-**78".to_owned(),
            0,
            1,
        ),
        (
            "&#49;&#51;&#56;&#49;&#50;&#51;&#52;&#53;&#54;&#55;&#56;",
            "&#49;&#51;&#56;******&#55;&#56;".to_owned(),
            0,
            1,
        ),
        ("138&#x31;&#X32;345678", "138******78".to_owned(), 0, 1),
        ("13812345&#xFF16;78", "138******78".to_owned(), 0, 1),
        (
            "138&#32;1234&#45;5678",
            "138&#32;****&#45;**78".to_owned(),
            0,
            1,
        ),
        (
            "138<!-- x -->1234<!---->5678",
            "138<!-- x -->****<!---->**78".to_owned(),
            0,
            1,
        ),
        (
            "138<span style=\"color: red; font-family: serif; font-size: small; line-height: normal; text-decoration: none\">1234</span>5678",
            "138<span style=\"color: red; font-family: serif; font-size: small; line-height: normal; text-decoration: none\">****</span>**78".to_owned(),
            0,
            1,
        ),
        ("138&#00000049;2345678", "138******78".to_owned(), 0, 1),
        (
            &format!("{}<br>{}<br>{}", &valid[..6], &valid[6..14], &valid[14..]),
            format!("{}<br>********<br>{}", &valid[..6], &valid[14..]),
            1,
            0,
        ),
    ] {
        let (out, found_ids, found_mobiles) =
            BOTH.mask(text).unwrap_or_else(|| panic!("missed {text:?}"));
        assert_eq!(out, masked, "{text:?}");
        assert_eq!((found_ids, found_mobiles), (ids, mobiles), "{text:?}");
    }
    // A mobile inside a tag's attribute is no markup: found as written.
    let (out, _, mobiles) = BOTH.mask("<a href=\"tel:13812345678\">call</a>").unwrap();
    assert_eq!(
        (out.as_str(), mobiles),
        ("<a href=\"tel:138******78\">call</a>", 1)
    );
    // Markup is one separator: four tags are more than a separator run.
    for text in [
        "138<p><p><p><p>12345678",
        "138<b 1 2>1234<b>5678",
        "138<!-- 12 -->12345678",
        "138&toolongname1;1234;5678",
        "138&#1114112;12345678",
        "138<",
        "138&#",
    ] {
        assert_eq!(BOTH.mask(text), None, "{text:?}");
    }
}
