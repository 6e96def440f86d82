use super::*;
use crate::testing::{ID_NUMBER_MASK as ID, PHONE_MASK as PHONE};
use crate::testutil::{from_value, to_value};
use crate::tree::Doc;
use serde_json::json;

/// `mask_leaf` on the top-level value of `doc`.
fn mask_root(doc: &mut Doc<'_>, mask: Mask) -> bool {
    let root = doc.root();
    mask_leaf(doc.node_mut(root).unwrap(), mask)
}

#[test]
fn id_number_keeps_six_and_four() {
    assert_eq!(mask_str("430102198506123011", ID), "430102********3011");
}

#[test]
fn phone_keeps_three_and_two() {
    assert_eq!(mask_str("13812345678", PHONE), "138******78");
}

#[test]
fn short_values_are_starred_whole() {
    assert_eq!(mask_str("12345", PHONE), "*****");
    assert_eq!(mask_str("1234", PHONE), "****");
    assert_eq!(mask_str("", PHONE), "");
    assert_eq!(mask_str("123456", PHONE), "123*56");
}

#[test]
fn chinese_text_is_masked_by_character() {
    let out = mask_str("湖南省长沙市岳麓区麓山南路", PHONE);
    assert_eq!(out, "湖南省********南路");
    assert_eq!(out.chars().count(), 13);
}

#[test]
fn emoji_and_combining_marks_stay_valid_utf8() {
    let out = mask_str("😀😁😂🤣😃😄😅", PHONE);
    assert_eq!(out, "😀😁😂**😄😅");
}

#[test]
fn zero_keep_stars_everything() {
    let none = Mask {
        keep_start: 0,
        keep_end: 0,
    };
    assert_eq!(mask_str("secret", none), "******");
}

#[test]
fn huge_keep_does_not_overflow() {
    let huge = Mask {
        keep_start: usize::MAX,
        keep_end: usize::MAX,
    };
    assert_eq!(mask_str("abc", huge), "***");
}

#[test]
fn numbers_become_masked_strings() {
    let mut value = from_value(&json!(13812345678u64));
    assert!(mask_root(&mut value, PHONE));
    assert_eq!(to_value(&value), json!("138******78"));

    let mut negative = from_value(&json!(-1234.5));
    assert!(mask_root(
        &mut negative,
        Mask {
            keep_start: 1,
            keep_end: 1
        }
    ));
    assert_eq!(to_value(&negative), json!("-*****5"));

    // An integer as parsed: masked in its input text.
    let mut parsed = crate::tree::parse(b"-13812345678").unwrap();
    assert!(matches!(parsed.node(parsed.root()), Node::Int(_)));
    assert!(mask_root(&mut parsed, PHONE));
    assert_eq!(to_value(&parsed), json!("-13*******78"));
}

#[test]
fn booleans_and_null_are_left_alone() {
    for original in [json!(true), json!(null), json!([]), json!({})] {
        let mut value = from_value(&original);
        assert!(!mask_root(&mut value, PHONE));
        assert_eq!(to_value(&value), original);
    }
}
