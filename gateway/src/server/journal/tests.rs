use super::*;

#[test]
fn control_characters_are_stripped() {
    assert_eq!(clean("HN-2026\u{0}\n\r\t\u{7f}\u{85}-1"), "HN-2026-1");
    assert_eq!(clean("湖南 case"), "湖南 case");
}

#[test]
fn text_is_cut_to_the_cap_on_a_char_boundary() {
    let ascii = "a".repeat(2000);
    assert_eq!(clean(&ascii).len(), MAX_ENTRY_TEXT);
    // Three-byte characters: 512 is not a multiple of 3.
    let han = "湖".repeat(400);
    let cut = clean(&han);
    assert_eq!(cut.len(), MAX_ENTRY_TEXT / 3 * 3);
    assert!(cut.chars().all(|c| c == '湖'));
    assert_eq!(clean("short"), "short");
}

/// What `clean` keeps of ASCII text, by the general rule (controls
/// are hidden; no ASCII character is a format character or separator)
/// and without either shortcut.
fn clean_ascii_slow(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > MAX_ENTRY_TEXT {
            break;
        }
        out.push(c);
    }
    out
}

#[test]
fn the_ascii_shortcut_keeps_what_the_general_path_keeps() {
    // Every ASCII byte alone, inside text, and at the length cap.
    for b in 0u8..=127 {
        let c = char::from(b);
        for text in [
            c.to_string(),
            format!("HN-{c}-1"),
            format!("{}{c}", "a".repeat(MAX_ENTRY_TEXT - 1)),
            format!("{}{c}", "a".repeat(MAX_ENTRY_TEXT)),
        ] {
            assert_eq!(clean(&text), clean_ascii_slow(&text), "byte {b}");
        }
    }
    // Controls are hidden, printable ASCII is not.
    assert!(policy::inquiry::is_hidden_char('\u{7f}'));
    assert!(policy::inquiry::is_hidden_char('\n'));
    assert!(!policy::inquiry::is_hidden_char('~'));
    assert!(policy::inquiry::is_hidden_char('\u{200b}'));
}

#[test]
fn header_text_is_valid_utf8_at_most_128_chars_and_clean() {
    assert_eq!(
        loggable(Some(b"HN\x01-1".as_slice())).as_deref(),
        Some("HN-1")
    );
    assert_eq!(loggable(Some(b"\xff".as_slice())), None);
    let long = "x".repeat(300);
    assert_eq!(loggable(Some(long.as_bytes())).map(|t| t.len()), Some(128));
}
