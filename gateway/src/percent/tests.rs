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
