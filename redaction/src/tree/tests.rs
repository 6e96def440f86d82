use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::testutil::to_value;

/// The span of the top-level object of `doc`.
fn root_object(doc: &Doc<'_>) -> Span {
    match doc.node(doc.root()) {
        Node::Object(span) => *span,
        other => panic!("not an object: {other:?}"),
    }
}

/// The live keys of the top-level object of `doc`.
fn root_keys<'d>(doc: &'d Doc<'_>) -> Vec<&'d str> {
    doc.entries(root_object(doc)).map(|(key, _)| key).collect()
}

/// What serde_json's own `Value` makes of `bytes`, serialised again.
fn serde_round_trip(bytes: &[u8]) -> Vec<u8> {
    let value: Value = serde_json::from_slice(bytes).unwrap();
    serde_json::to_vec(&value).unwrap()
}

fn round_trip(bytes: &[u8]) -> Vec<u8> {
    to_vec(&parse(bytes).unwrap(), bytes.len()).unwrap()
}

#[test]
fn unescaped_strings_borrow_and_escaped_ones_are_decoded() {
    let bytes = br#"{"plain":"text","rel\u0069gion":"a\nb","\u5b97\u6559":"\ud83d\ude00"}"#;
    let doc = parse(bytes).unwrap();
    let raw: Vec<(&Text<'_>, &Node<'_>)> = root_object(&doc)
        .indices()
        .map(|index| {
            let (key, value, _) = &doc.entries[index];
            (key, doc.node(*value))
        })
        .collect();
    assert!(raw[0].0.is_plain() && *raw[0].0 == *"plain");
    assert!(matches!(raw[0].1, Node::Str(text) if text.is_plain() && *text == *"text"));
    assert!(!raw[1].0.is_plain());
    assert_eq!(raw[1].0, "religion");
    assert_eq!(raw[1].1.as_str(), Some("a\nb"));
    assert_eq!(raw[2].0, "宗教");
    assert_eq!(raw[2].1.as_str(), Some("😀"));
}

#[test]
fn duplicate_keys_keep_first_position_and_last_value() {
    let bytes = br#"{"a":1,"b":2,"a":3,"c":{"x":1,"x":[2]},"a":"last"}"#;
    let doc = parse(bytes).unwrap();
    assert_eq!(root_keys(&doc), ["a", "b", "c"]);
    assert_eq!(
        to_value(&doc),
        json!({"a": "last", "b": 2, "c": {"x": [2]}})
    );
    assert_eq!(round_trip(bytes), serde_round_trip(bytes));
}

#[test]
fn duplicate_keys_in_a_large_object_match_serde() {
    // Above the pairwise limit: detected by sorting.
    let mut text = String::from("{");
    for i in 0..200 {
        text.push_str(&format!("\"k{}\":{i},", i % 37));
    }
    text.push_str("\"k0\":\"end\",\"\\u006b1\":\"escaped\"}");
    let bytes = text.as_bytes();
    let doc = parse(bytes).unwrap();
    assert_eq!(root_keys(&doc).len(), 37);
    assert_eq!(round_trip(bytes), serde_round_trip(bytes));
}

#[test]
fn large_object_without_duplicates_is_kept_as_is() {
    let mut text = String::from("{");
    for i in 0..100 {
        text.push_str(&format!("\"k{i}\":{i},"));
    }
    text.push_str("\"last\":null}");
    let bytes = text.as_bytes();
    assert_eq!(round_trip(bytes), bytes.to_vec());
}

#[test]
fn output_matches_serde_json_byte_for_byte() {
    // Numbers are written as the input wrote them.
    for bytes in [
        &br#"{"a":[-1.0169702375088366e-283,0.1,1e300,200.5,-0,18446744073709551615,-9223372036854775808]}"#[..],
        br#"{"big":123456789012345678901234567890,"neg":-123456789012345678901234567890}"#,
        br#"{"f":[1.0E+2,1E2,1e-7,0.0,-0.0,5e-324,1.7976931348623157e308,2.5]}"#,
    ] {
        assert_eq!(round_trip(bytes), bytes.to_vec());
    }
    // Everything else as serde_json writes it.
    for bytes in [
        r#"{"esc":"\"\\\/\b\f\n\r\t\u0000\u001f\u007f\u2028\u00e9é","ctl":"\u0001"}"#.as_bytes(),
        br#"  { "spaced" : [ true , false , null , { } , [ ] ] }  "#,
        b"[1,\"two\",{\"3\":[]}]",
        b"\"top\"",
        b"null",
    ] {
        assert_eq!(
            String::from_utf8(round_trip(bytes)).unwrap(),
            String::from_utf8(serde_round_trip(bytes)).unwrap()
        );
    }
}

#[test]
fn integers_within_64_bits_are_ints_others_numbers_all_as_written() {
    let bytes = br#"[0,-1,18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809,-0,123456789012345678,-123456789012345678,1e2,1.0]"#;
    let doc = parse(bytes).unwrap();
    let Node::Array(items) = doc.node(doc.root()) else {
        panic!("not an array");
    };
    let ints: Vec<Option<&str>> = doc
        .items(*items)
        .map(|item| match doc.node(item) {
            Node::Int(text) => Some(*text),
            Node::Number(_) => None,
            other => panic!("not a number: {other:?}"),
        })
        .collect();
    assert_eq!(
        ints,
        [
            Some("0"),
            Some("-1"),
            Some("18446744073709551615"),
            None,
            Some("-9223372036854775808"),
            None,
            None,
            Some("123456789012345678"),
            Some("-123456789012345678"),
            None,
            None
        ]
    );
    assert_eq!(round_trip(bytes), bytes.to_vec());
}

/// Numbers are kept as written, beyond `f64` range too (the grammar
/// allows them): never rounded, never rewritten.
#[test]
fn numbers_keep_their_text() {
    let bytes = br#"[-0,1e-400,123456789012345678901234567890,-92233720368547758e9,1E2,1.0E+2,0.1,-1.5e-7,18446744073709551616]"#;
    assert_eq!(round_trip(bytes), bytes.to_vec());
    for bad in [
        &b"[01]"[..],
        b"[1.]",
        b"[.5]",
        b"[1e]",
        b"[1e+]",
        b"[-]",
        b"[+1]",
        b"[1.e5]",
        b"[0x10]",
        b"[Infinity]",
        b"[1E400]",
        b"[-1e400]",
        b"[1e999]",
    ] {
        assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn invalid_input_is_refused() {
    for bad in [
        &b""[..],
        b"{",
        b"{\"a\":1}x",
        b"{\"a\":1,}",
        b"{'a':1}",
        b"{\"a\":NaN}",
        b"{\"a\":01}",
        b"{\"a\":.5}",
        b"{\"a\":\"\xff\"}",
        b"{\"\xc3\x28\":1}",
        b"{\"a\":\"\\ud800\"}",
        b"{\"a\":\"\\x41\"}",
        b"{\"a\":\"tab\there\"}",
    ] {
        assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn nesting_limit_is_serde_jsons() {
    // serde_json's limit of 128 counts the outermost level: 127 nested
    // arrays or objects parse, 128 do not — for `Value` and for the tree.
    let arrays = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = |depth: usize| format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    for nested in [arrays, objects] {
        for (depth, ok) in [(127, true), (128, false), (100_000, false)] {
            let text = nested(depth);
            assert_eq!(parse(text.as_bytes()).is_ok(), ok, "{depth}");
            assert_eq!(serde_json::from_str::<Value>(&text).is_ok(), ok, "{depth}");
        }
    }
}

#[test]
fn word_scan_finds_the_first_stop_byte_in_every_position() {
    for filler in [b'a', 0x7f, 0x80, 0xe9, 0xff, b' ', 0x21, 0x1f, b'"'] {
        for position in 0..8 {
            for b in 0..=255u8 {
                let mut word = [filler; 8];
                word[position] = b;
                assert_eq!(
                    first_stop(u64::from_le_bytes(word)),
                    word.iter().position(|b| STRING_STOP[usize::from(*b)]),
                    "{word:?}"
                );
            }
        }
    }
}

#[test]
fn insert_replaces_in_place_or_appends() {
    let bytes = br#"{"a":1,"b":2}"#;
    let mut doc = parse(bytes).unwrap();
    let root = doc.root();
    assert!(doc.insert(root, "a", Node::True));
    assert!(doc.insert(root, "c", Node::Null));
    assert_eq!(
        String::from_utf8(to_vec(&doc, 0).unwrap()).unwrap(),
        r#"{"a":true,"b":2,"c":null}"#
    );
    // Into an object that had a removed entry: the removal stays.
    let b = doc.get(root_object(&doc), "b").unwrap();
    doc.remove(b);
    assert!(doc.insert(root, "d", Node::False));
    let a = doc.get(root_object(&doc), "a").unwrap();
    assert!(!doc.insert(a, "x", Node::Null), "not an object");
    assert_eq!(
        String::from_utf8(to_vec(&doc, 0).unwrap()).unwrap(),
        r#"{"a":true,"c":null,"d":false}"#
    );
    assert_eq!(root_keys(&doc), ["a", "c", "d"]);
}

#[test]
fn removed_values_are_skipped_everywhere() {
    let bytes = br#"{"a":[1,{"x":2},3],"b":{"y":4},"c":5}"#;
    let mut doc = parse(bytes).unwrap();
    let root = root_object(&doc);
    let a = doc.get(root, "a").unwrap();
    let Node::Array(items) = *doc.node(a) else {
        panic!("not an array");
    };
    let second = doc.items(items).nth(1).unwrap();
    doc.remove(second);
    let b = doc.get(root, "b").unwrap();
    doc.remove(b);
    assert_eq!(doc.items(items).count(), 2);
    assert_eq!(doc.get(root, "b"), None);
    assert_eq!(root_keys(&doc), ["a", "c"]);
    assert_eq!(
        String::from_utf8(to_vec(&doc, 0).unwrap()).unwrap(),
        r#"{"a":[1,3],"c":5}"#
    );
    assert_eq!(to_value(&doc), json!({"a": [1, 3], "c": 5}));
}

fn arbitrary_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-c\\\\\"\u{0}-\u{1f}é😀]{0,3}", inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A JSON object text with possibly repeated keys, to compare duplicate
/// handling with serde_json's.
fn object_text_with_repeats() -> impl Strategy<Value = String> {
    prop::collection::vec(("[a-e]{1,2}", any::<i32>()), 0..40).prop_map(|pairs| {
        let body: Vec<String> = pairs
            .iter()
            .map(|(key, value)| format!("\"{key}\":{value}"))
            .collect();
        format!("{{{}}}", body.join(","))
    })
}

/// Whether the tree and serde_json agree on `bytes`: both refuse it (or
/// only serde_json, for a number beyond `f64` that the grammar allows), or
/// both read it, and the tree writes what serde_json reads as the same
/// value, numbers as written (serde_json reading the tree's output and the
/// input gets the same numbers), and writing its own output again changes
/// nothing.
fn agrees_with_serde(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ours = parse(bytes).map(|node| to_vec(&node, 0).unwrap());
    let theirs = serde_json::from_slice::<Value>(bytes);
    match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => {
            let again: Value = serde_json::from_slice(&ours).unwrap();
            prop_assert_eq!(&again, &theirs, "{:?}", String::from_utf8_lossy(bytes));
            let twice = to_vec(&parse(&ours).unwrap(), 0).unwrap();
            prop_assert_eq!(
                String::from_utf8(twice).unwrap(),
                String::from_utf8(ours).unwrap()
            );
        }
        (Err(_), Err(_)) => {}
        (Ok(_), Err(error)) if error.to_string().contains("number out of range") => {}
        (ours, theirs) => prop_assert!(
            false,
            "{:?}: tree {:?}, serde_json {:?}",
            String::from_utf8_lossy(bytes),
            ours.map(|_| ()),
            theirs.map(|_| ())
        ),
    }
    Ok(())
}

/// Number-like texts: valid ones of every shape, and near misses.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,4})?",
        "-?[0-9]{0,3}\\.?[0-9]{0,3}([eE][+-]?)?[0-9]{0,3}",
        "[-+0-9eE.]{1,12}",
        "-?(1844674407370955161[0-9]|922337203685477580[0-9]|[0-9]{19,40})",
        "-?[0-9]{1,3}[eE]-?[0-9]{3,22}",
    ]
}

/// String bodies with escapes, valid and not.
fn string_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-z é😀]",
            "\\\\[\"\\\\/bfnrt]",
            "\\\\u[0-9a-fA-F]{4}",
            "\\\\u[dD][89abAB][0-9a-f]{2}(\\\\u[dD][c-fC-F][0-9a-f]{2})?",
            "\\\\u[dD][c-fC-F][0-9a-f]{2}",
            "\\\\[ux0'a]?[0-9a-g]{0,3}",
            "[\u{0}-\u{1f}\u{7f}]",
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

/// Valid documents with one byte changed, inserted or removed.
fn mutated_document() -> impl Strategy<Value = Vec<u8>> {
    (
        arbitrary_value(),
        any::<prop::sample::Index>(),
        0u8..3,
        prop_oneof![
            prop::sample::select(&b"{}[]\",:.-+eE0159tfnu \t\n\r\x00\x1f\x7f\xc3\xa9\xff"[..]),
            any::<u8>(),
        ],
    )
        .prop_map(|(value, at, how, byte)| {
            let mut bytes = serde_json::to_vec_pretty(&value).unwrap();
            let i = at.index(bytes.len() + 1);
            match how {
                0 if i < bytes.len() => bytes[i] = byte,
                1 if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ => bytes.insert(i, byte),
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn numbers_agree_with_serde_json(text in number_text()) {
        agrees_with_serde(text.as_bytes())?;
        agrees_with_serde(format!("[{text}]").as_bytes())?;
        agrees_with_serde(format!("{{\"n\": {text} }}").as_bytes())?;
    }

    #[test]
    fn strings_agree_with_serde_json(text in string_text()) {
        agrees_with_serde(format!("\"{text}\"").as_bytes())?;
        agrees_with_serde(format!("{{\"{text}\":\"{text}\"}}").as_bytes())?;
    }

    #[test]
    fn mutated_documents_agree_with_serde_json(bytes in mutated_document()) {
        agrees_with_serde(&bytes)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn word_scan_matches_the_byte_table(
        word in prop::array::uniform8(prop_oneof![
            any::<u8>(),
            prop::sample::select(&[0u8, 0x1f, 0x20, b'"', b'\\', 0x21, 0x5b, 0x5d, 0x80][..]),
        ])
    ) {
        prop_assert_eq!(
            first_stop(u64::from_le_bytes(word)),
            word.iter().position(|b| STRING_STOP[usize::from(*b)])
        );
    }

    #[test]
    fn invalid_utf8_fails_where_std_says(
        prefix in "[a-z\u{4e00}-\u{4e10} ]{0,40}",
        high in prop::collection::vec(0x80u8..=0xff, 1..4),
        suffix in "[a-z\u{4e00}-\u{4e10}]{0,10}",
    ) {
        // High bytes inside a string: sometimes valid UTF-8 by chance.
        let mut bytes = format!("{{\"k\":\"{prefix}").into_bytes();
        bytes.extend(&high);
        bytes.extend(suffix.as_bytes());
        bytes.extend(b"\"}");
        match (parse(&bytes), std::str::from_utf8(&bytes)) {
            (Err(ours), Err(std)) => {
                prop_assert_eq!(ours, ParseError { offset: std.valid_up_to() });
            }
            (Ok(_), Ok(_)) => {}
            (ours, std) => prop_assert!(false, "tree {:?}, std {:?}", ours.map(|_| ()), std.map(|_| ())),
        }
    }

    #[test]
    fn round_trip_matches_serde_json(value in arbitrary_value()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let out = round_trip(&bytes);
        prop_assert_eq!(&out, &serde_round_trip(&bytes));
        prop_assert!(std::str::from_utf8(&out).is_ok());
    }

    #[test]
    fn duplicate_keys_match_serde_json(text in object_text_with_repeats()) {
        prop_assert_eq!(round_trip(text.as_bytes()), serde_round_trip(text.as_bytes()));
    }
}

/// `text` padded with whitespace to at least [`INTERN_FROM_BYTES`], before
/// (so the last keys sit near the end of the input) or after it.
fn padded(text: &str, before: bool) -> Vec<u8> {
    let pad = " ".repeat(INTERN_FROM_BYTES);
    if before {
        format!("{pad}{text}").into_bytes()
    } else {
        format!("{text}{pad}").into_bytes()
    }
}

/// Every entry of `doc` that has a memo, as (slot, key).
fn slotted(doc: &Doc<'_>) -> Vec<(u32, String)> {
    doc.entries
        .iter()
        .filter(|(_, _, slot)| *slot != NO_SLOT)
        .map(|(key, _, slot)| (*slot, key.as_str().to_owned()))
        .collect()
}

/// Whether two entries share a memo only when they share a key name, and
/// every slot names a memo.
fn slots_are_sound(doc: &Doc<'_>) -> Result<(), TestCaseError> {
    let mut names: std::collections::BTreeMap<u32, String> = Default::default();
    for (slot, key) in slotted(doc) {
        prop_assert!((slot as usize) < doc.memos.len());
        let first = names.entry(slot).or_insert_with(|| key.clone());
        prop_assert_eq!(&*first, &key, "slot {} shared by two names", slot);
    }
    Ok(())
}

#[test]
fn a_large_body_interns_its_repeated_keys_and_a_small_one_does_not() {
    let text = r#"{"records":[{"item":1,"decided_on":2},{"item":3,"decided_on":4}]}"#;
    let small = parse(text.as_bytes()).unwrap();
    assert!(slotted(&small).is_empty());
    assert!(small.memos.is_empty());
    for before in [false, true] {
        let bytes = padded(text, before);
        let large = parse(&bytes).unwrap();
        let slots = slotted(&large);
        // records, item, decided_on: three names, five keys.
        assert_eq!(slots.len(), 5, "{slots:?}");
        assert_eq!(large.memos.len(), 3);
        let item: Vec<u32> = slots
            .iter()
            .filter(|(_, k)| k == "item")
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(item.len(), 2);
        assert_eq!(item[0], item[1]);
    }
}

#[test]
fn escaped_long_and_added_keys_have_no_memo() {
    let long = "k".repeat(MAX_INTERNED_BYTES + 1);
    let text = format!(r#"{{"a\u0062":1,"{long}":2,"ab":3}}"#);
    let bytes = padded(&text, false);
    let mut doc = parse(&bytes).unwrap();
    // The escaped `ab` is merged with the plain one (the last value at the
    // first key's position): the first key, escaped, has no memo.
    assert_eq!(slotted(&doc), vec![]);
    assert!(doc.insert(doc.root(), "added", Node::Null));
    assert_eq!(slotted(&doc), vec![]);
    let span = root_object(&doc);
    for index in span.indices() {
        assert!(doc.entry_memo(index).is_none());
    }
    assert_eq!(root_keys(&doc), vec!["ab", long.as_str(), "added"]);
}

#[test]
fn past_the_interning_cap_keys_go_without_memo_and_parse_alike() {
    let keys: Vec<String> = (0..MAX_INTERNED + 500).map(|i| format!("key{i}")).collect();
    let body: Vec<String> = keys.iter().map(|k| format!("\"{k}\":1")).collect();
    // Every name twice: in one object, then again in a second one.
    let text = format!("[{{{0}}},{{{0}}}]", body.join(","));
    let doc = parse(text.as_bytes()).unwrap();
    assert_eq!(doc.memos.len(), MAX_INTERNED);
    slots_are_sound(&doc).unwrap();
    // Known names keep finding their memo once the table is full.
    let second = &doc.entries[keys.len()..];
    let found = second
        .iter()
        .filter(|(_, _, slot)| *slot != NO_SLOT)
        .count();
    assert!(found >= MAX_INTERNED * 9 / 10, "{found}");
    assert_eq!(
        round_trip(text.as_bytes()),
        serde_round_trip(text.as_bytes())
    );
}

#[test]
fn names_differing_only_in_their_last_byte_never_share_a_memo() {
    let stem: String = ('a'..='z')
        .chain('A'..='Z')
        .chain('0'..='9')
        .cycle()
        .take(64)
        .collect();
    for len in 1..=MAX_INTERNED_BYTES {
        let x = format!("{}x", &stem[..len - 1]);
        let y = format!("{}y", &stem[..len - 1]);
        let text = format!(r#"[{{"{x}":1,"{y}":2}},{{"{y}":3}},{{"{x}":4}}]"#);
        // Keys first in the input (read as two words) and last (within 16
        // bytes of its end: the probe copies them).
        for before in [false, true] {
            let bytes = padded(&text, before);
            let doc = parse(&bytes).unwrap();
            slots_are_sound(&doc).unwrap();
            let slots = slotted(&doc);
            assert_eq!(slots.len(), 4, "length {len}");
            let of = |key: &str| -> Vec<u32> {
                slots
                    .iter()
                    .filter(|(_, k)| k == key)
                    .map(|(s, _)| *s)
                    .collect()
            };
            let (xs, ys) = (of(&x), of(&y));
            assert_eq!(xs.len(), 2);
            assert_eq!(xs[0], xs[1], "length {len}");
            assert_eq!(ys[0], ys[1], "length {len}");
            assert_ne!(xs[0], ys[0], "length {len}");
        }
    }
}

/// Key names that stress the interner's probe: a shared 16-byte head with
/// tails of every length up to past [`MAX_INTERNED_BYTES`], names around 8
/// and 16 bytes, bytes the head's zero padding could confuse, escapes.
fn tricky_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "abcdefghijklmnop[a-c]{0,52}",
        "[ab]{7,9}",
        "[ab]{15,17}",
        "[a \u{7f}é]{0,20}",
        "(\\\\u0061){1,3}[ab]{0,3}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn interned_slots_are_shared_only_by_equal_names(
        objects in prop::collection::vec(prop::collection::vec(tricky_key(), 0..12), 1..12),
        before in any::<bool>(),
    ) {
        let text = format!(
            "[{}]",
            objects
                .iter()
                .map(|keys| {
                    let entries: Vec<String> =
                        keys.iter().enumerate().map(|(i, k)| format!("\"{k}\":{i}")).collect();
                    format!("{{{}}}", entries.join(","))
                })
                .collect::<Vec<_>>()
                .join(",")
        );
        let bytes = padded(&text, before);
        let doc = parse(&bytes).unwrap();
        slots_are_sound(&doc)?;
        // Most plain keys short enough got a memo (a few dozen names are
        // far from the cap; one may rarely fall past the probe limit).
        let eligible: Vec<u32> = doc
            .entries
            .iter()
            .filter(|(key, _, _)| key.is_plain() && key.len() <= MAX_INTERNED_BYTES)
            .map(|(_, _, slot)| *slot)
            .collect();
        let with_memo = eligible.iter().filter(|slot| **slot != NO_SLOT).count();
        prop_assert!(2 * with_memo >= eligible.len(), "{} of {}", with_memo, eligible.len());
        agrees_with_serde(&bytes)?;
    }
}

#[test]
fn a_remembered_cell_derives_once_and_never_reads_an_unknown_index_as_nothing() {
    let table = ["zero", "one"];
    let calls = std::cell::Cell::new(0);
    let get = |cell: Option<&Remembered>, found: Option<usize>| {
        Remembered::get_or_find(
            cell,
            |index| table.get(index).copied(),
            || {
                calls.set(calls.get() + 1);
                found.map(|index| (index, table[index]))
            },
        )
    };
    let cell = Remembered::default();
    assert_eq!(get(Some(&cell), Some(1)), Some("one"));
    assert_eq!(
        get(Some(&cell), None),
        Some("one"),
        "kept, not derived again"
    );
    assert_eq!(calls.get(), 1);
    let none = Remembered::default();
    assert_eq!(get(Some(&none), None), None);
    assert_eq!(get(Some(&none), Some(0)), None, "nothing found is kept too");
    assert_eq!(calls.get(), 2);
    // An index the table does not hold is derived again.
    let stale = Remembered(Cell::new(2 + 7));
    assert_eq!(get(Some(&stale), Some(0)), Some("zero"));
    assert_eq!(calls.get(), 3);
    // Without a cell, every call derives.
    assert_eq!(get(None, Some(1)), Some("one"));
    assert_eq!(get(None, Some(1)), Some("one"));
    assert_eq!(calls.get(), 5);
}
