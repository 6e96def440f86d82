use super::*;

#[test]
fn error_lines_keeps_every_error_on_a_line_of_its_own() {
    assert_eq!(
        error_lines("a.toml:1:1: x\n\n  b.toml:2:3: y \n"),
        "a.toml:1:1: x\nb.toml:2:3: y"
    );
}
