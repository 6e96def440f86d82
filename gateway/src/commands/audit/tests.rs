use super::*;

#[test]
fn csv_quotes_commas_quotes_and_newlines() {
    let line = csv_line(["plain", "a,b", "say \"hi\"", "two\nlines"].into_iter());
    assert_eq!(line, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"");
}

#[test]
fn csv_defuses_spreadsheet_formulas() {
    let line = csv_line(["=HYPERLINK(\"x\")", "@SUM(A1)", "HN-1"].into_iter());
    assert_eq!(line, "\"'=HYPERLINK(\"\"x\"\")\",'@SUM(A1),HN-1");
}

#[test]
fn table_columns_line_up() {
    let mut out = Vec::new();
    let rows = vec![
        vec!["a".to_string(), "long value".to_string(), "x".to_string()],
        vec!["longer".to_string(), "b".to_string(), "y".to_string()],
    ];
    write_table(&mut out, &["one", "two", "three"], &rows).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "ONE     TWO         THREE");
    assert_eq!(lines[1], "a       long value  x");
    assert_eq!(lines[2], "longer  b           y");
}
