use super::*;

#[test]
fn one_line_joins_every_error() {
    assert_eq!(
        one_line("a.toml:1:1: x\n\nb.toml:2:3: y\n"),
        "a.toml:1:1: x; b.toml:2:3: y"
    );
}
