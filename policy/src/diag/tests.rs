use super::*;

#[test]
fn line_col_counts_lines_and_chars() {
    let text = "a = 1\nbé = 2\nc";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, 6), (2, 1));
    // after "bé" (3 bytes) the column is 3 in characters
    assert_eq!(line_col(text, 9), (2, 3));
    assert_eq!(line_col(text, 8), (2, 2)); // inside é: clamped
    assert_eq!(line_col(text, 999), (3, 2));
}

#[test]
fn display_formats() {
    let d = Diagnostic::at("p.toml", "x\ny", 2, "bad `y`");
    assert_eq!(d.to_string(), "p.toml:2:1: bad `y`");
    let e = PolicyErrors(vec![d.clone(), d]);
    assert_eq!(e.to_string(), "p.toml:2:1: bad `y`\np.toml:2:1: bad `y`");
}

#[test]
fn toml_error_has_position() {
    let text = "a = 1\nb = = 2\n";
    let err = toml::from_str::<toml::Table>(text).unwrap_err();
    let d = from_toml_error("f.toml", text, &err);
    assert_eq!(d.line, 2);
    assert!(!d.message.is_empty());
}

/// An outside probe: `[items.x` (a table header cut off) printed two
/// `credgate: error:` lines and counted `2 error(s)`: `toml`'s message has
/// two lines. One error is one line.
#[test]
fn a_toml_syntax_error_is_one_diagnostic_on_one_line() {
    let text = "a = 1\n[items.x\ncategory = \"basic\"\n";
    let err = toml::from_str::<toml::Table>(text).unwrap_err();
    let d = from_toml_error("p.toml", text, &err);
    let shown = d.to_string();
    assert!(!shown.contains('\n'), "{shown:?}");
    assert!(shown.starts_with("p.toml:2:"), "{shown}");
    assert!(shown.contains("invalid table header; expected"), "{shown}");
}
