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
