//! Value detectors: resident identity numbers and mobile numbers written
//! into any string leaf (and any key), whatever its key.
//!
//! Owns finding and masking them in place. A text is read as *numbers*:
//! a number is one or more *groups* of digits, the groups joined by short
//! runs of separators. Then an id or a mobile is a sequence of consecutive
//! **whole** groups of one number:
//! - a GB 11643 resident identity number: whole groups holding 18 digits
//!   whose check digit holds, or 17 digits and the check character `X`
//!   right after them (or after a separator run), the check character
//!   confirming them. Written as one group the checksum decides; written
//!   in several groups its birth date (characters 7–14) must also be a
//!   real date in 1900–2099;
//! - a mainland mobile number: whole groups holding 11 digits starting
//!   `1[3-9]`, the first group maybe carrying a glued prefix: country code
//!   `86` / `0086`, or a trunk `0` (`013812345678`: Chinese writing puts a
//!   long-distance `0` before a mobile too). Only the 11 digits are the
//!   number (prefixes, separators and brackets stay). Two groups across
//!   one full stop (`131.23456789`) may be a decimal: masked all the same
//!   (a full stop hid mobiles otherwise: `138.12345678`).
//!
//! Group alignment keeps two numbers written side by side two numbers
//! (`13812345678, 13987654321`, `138/1234/5678,139/8765/4321`) and never
//! takes a random window of a long digit string, with two exceptions for
//! one group longer than any number:
//! - every 18-character window of a group of 19 digits or more whose
//!   checksum holds and whose birth date is real is an id (an id glued to
//!   other digits); and what is left between (or around) those ids, when
//!   exactly a mobile with its prefix, is a mobile (an id followed by a
//!   mobile, 29 digits);
//! - without such an id, a group that splits exactly into mobiles (with
//!   their prefixes) is those: two mobiles back to back (22 digits).
//!
//! A digit is any decimal digit of Unicode 14 (general category `Nd`:
//! ASCII, fullwidth, Arabic-Indic, Devanagari, Thai, mathematical `𝟏`, …),
//! any other character Unicode 14 gives a digit value (superscripts,
//! subscripts, circled `①`, …: what NFKC turns into one digit, and dingbat
//! digits), and a Chinese numeral written as a digit (`〇一二三四五六七八九`,
//! `幺`, financial `零壹贰叁肆伍陆柒捌玖`, traditional `貳參陸`), each read
//! with its value. Known limit: the tables come from Python's
//! `unicodedata` (Unicode 14.0): digits added in Unicode 15 and 16 (e.g.
//! Kawi, Nag Mundari, Garay, Sunuwar, Outlined Latin digits) are not read.
//! The check character `X` is `X`/`x`, anything NFKC turns into one
//! (fullwidth `Ｘ`, Roman numeral ten `Ⅹ`, circled, mathematical) and the
//! look-alikes `×`, Cyrillic `Х`/`х`, Greek `Χ`/`χ`; after fewer than 17
//! digits it is read as a separator instead (`138×1234×5678`). A separator
//! is Unicode whitespace (tab, line feed, no-break and ideographic spaces,
//! …), a dash, and any punctuation or symbol character (general
//! categories `P*`, `S*`: `.` `/` `~` `～` `+` `*` `#` `=` `'` `"` `“` `”`
//! `∶` `∙`, brackets, …); letters, ideographs and digits are not. HTML
//! markup is read as one character ([`markup`]): a tag (`<br>`, `<span
//! class="n">`) or a named character reference (`&nbsp;`) is a separator,
//! a numeric reference (`&#49;`, `&#x31;`) the character it stands for.
//! A run of at most [`SEP_CAP`] separators joins two groups, white space
//! counted once per run and not at all next to another separator
//! (`138    1234`, `138 -- 1234`). Characters that show nothing
//! ([`is_skippable`]: default-ignorable code points, controls, combining
//! marks, the Braille blank, interlinear annotation characters) are read
//! through: a text is scanned with them invisible (a digit, a mark, a digit
//! is one group), then, when it has any between digits, with each one
//! splitting a group (so `13812345678<U+200B>13912345678`, read through a
//! 22-digit group, is two mobiles either way, and an id split in the
//! middle is two whole groups). They stay where they are. Digits a bidi
//! override shows in another order are scanned in their stored order.
//!
//! Every group starts a candidate: a value found does not hide one that
//! starts inside it and ends past it (`13800, 430102 19850612 3011` is a
//! mobile and an id: both are masked); one wholly inside a value found is
//! that value's digits. Overlapping values are counted once (one is
//! counted when it overlaps none counted before it).
//!
//! A group of more than [`GROUP_CAP`] (256) digits is starred whole, every
//! digit and check character of it, fail closed and uncounted: no value is
//! read in it (nor kept digit by digit: memory stays bounded per byte). A
//! number of many groups is searched every [`NUMBER_CHUNK`] digits, its
//! last groups kept for values running on.
//!
//! Grouped numbers cost false positives (a list of small amounts `138,
//! 1234, 5678` is a mobile): the detectors fail closed. One exemption,
//! a conscious trade-off: a whole timestamp `YYYY-MM-DD[ T]hh:mm:ss`
//! (maybe `.f`-`.fff`, `Z` or an offset; real date, time of day:
//! [`timestamps`]) is no number — every millisecond timestamp of days
//! 13–19 was a mobile (`15 13 45 12 123`). The price: a mobile whose
//! digits 3–11 read as a time of day `hh mm ss fff` (about one in twelve)
//! written inside such a timestamp (`2024-03-13 12:34:56.789` holds
//! `13123456789`) is not masked. Thousands-separated amounts are not
//! exempt: `13,800,000,000` and `138,123,456.78` are masked, since every
//! mobile can be written so (`13,812,345,678`), and exempting them would
//! let any mobile through.
//!
//! Masking is by character (kept digits keep their form, others become
//! `*`), so the text stays valid UTF-8 and as many characters long; a
//! numeric character reference to a masked digit becomes one `*`.
//! Nothing here keeps or returns a matched value.

mod unicode;

use policy::gb11643_check_char;
use policy::Mask;
use time::{Date, Month};

/// Which detector matched (the [`crate::Report`] counts them by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Detector {
    /// A GB 11643 resident identity number.
    ResidentId,
    /// A mainland mobile number.
    Mobile,
}

impl Detector {
    /// Name used in the report and the inquiry log.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::ResidentId => "resident_id",
            Detector::Mobile => "mobile",
        }
    }
}

/// The masks detected values get; `None` for a detector whose field the
/// scope may see unmasked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Detectors {
    /// The `id_number` mask.
    pub(crate) resident_id: Option<Mask>,
    /// The `phone` mask.
    pub(crate) mobile: Option<Mask>,
}

/// Digits in a mainland mobile number.
const MOBILE_DIGITS: usize = 11;

/// Characters in a resident id.
const ID_CHARS: usize = 18;

/// The longest run of separators that still joins two groups of one
/// number (`138 - 1234 - 5678`).
pub(crate) const SEP_CAP: usize = 3;

impl Detectors {
    /// `text` with every detected value masked, and the counts by detector
    /// (resident ids, mobiles); `None` when nothing was masked.
    pub(crate) fn mask(&self, text: &str) -> Option<(String, u32, u32)> {
        if self.resident_id.is_none() && self.mobile.is_none() {
            return None;
        }
        if !may_hold_number(text.as_bytes()) {
            return None;
        }
        let exempt = timestamps(text);
        let marks = markup(text);
        let (exempt, marks) = (exempt.as_slice(), marks.as_slice());
        let mut first = Out::new(self);
        let skipped_inside = scan(text, false, (exempt, marks), &mut first);
        let mut found = first.values;
        if skipped_inside {
            // Again with every invisible character between digits splitting
            // its group; what this finds that overlaps nothing the first
            // scan found is added (each looked up in the first scan's
            // merged spans: n log n, not one comparison per pair).
            let taken = merged_spans(&found);
            let mut more = Out::new(self);
            scan(text, true, (exempt, marks), &mut more);
            found.extend(
                more.values
                    .into_iter()
                    .filter(|candidate| !overlaps_any(&taken, candidate.first, candidate.last)),
            );
        }
        // Ids and mobiles are both looked for (so an id is never read as a
        // mobile); the masks decide which are masked. Values may overlap
        // (every group starts a candidate): all are masked, and one is
        // counted only when it overlaps none counted before it.
        found.sort_unstable_by_key(|value| (value.first, value.last));
        let (mut ids, mut mobiles) = (0u32, 0u32);
        let mut counted_to = 0;
        // Byte ranges whose digits (and check character ending one) are
        // starred.
        let mut starred: Vec<(usize, usize)> = Vec::new();
        for value in &found {
            let Some(hidden) = value.hidden else {
                // Its detector's field is seen unmasked.
                continue;
            };
            match value.detector {
                Some(detector) if value.first >= counted_to => {
                    match detector {
                        Detector::ResidentId => ids = ids.saturating_add(1),
                        Detector::Mobile => mobiles = mobiles.saturating_add(1),
                    }
                    counted_to = value.last;
                }
                // Overlaps one counted, or a group too long to read (some
                // mask is set, checked above: fail closed, not counted).
                _ => {}
            }
            starred.push(hidden);
        }
        if starred.is_empty() {
            return None;
        }
        starred.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for (start, end) in starred {
            if end <= copied {
                continue;
            }
            let from = start.max(copied);
            out.push_str(text.get(copied..from).unwrap_or_default());
            // Every digit in a value's hidden range is one of its digits
            // (a number's digits are consecutive); a check character there
            // is one only when it ends the range (`×` may also be a
            // separator before it).
            // Markup is one character: a reference to a digit becomes
            // one `*`, a tag or a reference to a separator stays whole.
            let range = text.get(from..end).unwrap_or_default();
            let mut past_mark = 0;
            for (at, c) in range.char_indices() {
                if at < past_mark {
                    continue;
                }
                let mark = marks
                    .get(marks.partition_point(|mark| mark.0 < from + at))
                    .filter(|mark| mark.0 == from + at);
                let (class, len) = match mark {
                    Some(&(start, mark_end, class)) => (class, mark_end - start),
                    None => (classify(c), c.len_utf8()),
                };
                match class {
                    Class::Digit(_) => out.push('*'),
                    Class::CheckX if at + len == range.len() => out.push('*'),
                    _ => out.push_str(range.get(at..at + len).unwrap_or_default()),
                }
                past_mark = at + len;
            }
            copied = end;
        }
        out.push_str(text.get(copied..).unwrap_or_default());
        Some((out, ids, mobiles))
    }
}

/// One id or mobile found in a number: its characters as byte ranges, in
/// order (18 for an id, 11 for a mobile); kept until the number is
/// finished, then made a [`Value`].
#[derive(Debug, Clone)]
struct Found {
    detector: Option<Detector>,
    chars: Vec<(usize, usize)>,
}

/// A value found, as masking needs it (a few words, whatever its length):
/// its bytes `first..last`, and the byte range its mask hides (`None` when
/// its detector's field is seen unmasked). `detector` `None`: a group of
/// more than [`GROUP_CAP`] digits, hidden whole.
#[derive(Debug, Clone, Copy)]
struct Value {
    detector: Option<Detector>,
    first: usize,
    last: usize,
    hidden: Option<(usize, usize)>,
}

/// Where a scan puts what it finds: the values, compacted with the masks
/// as each number is finished ([`Out::settle`]).
struct Out<'m> {
    masks: &'m Detectors,
    values: Vec<Value>,
    /// The values of the number being finished, character by character.
    scratch: Vec<Found>,
}

impl<'m> Out<'m> {
    fn new(masks: &'m Detectors) -> Self {
        Out {
            masks,
            values: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Moves the values in `scratch` to `values`, each hidden range taken
    /// from its mask (all of it when the mask keeps as many characters as
    /// it has).
    fn settle(&mut self) {
        let masks = self.masks;
        self.values.extend(self.scratch.drain(..).map(|found| {
            let mask = match found.detector {
                Some(Detector::ResidentId) => masks.resident_id,
                Some(Detector::Mobile) => masks.mobile,
                None => None,
            };
            let total = found.chars.len();
            let hidden = mask.and_then(|mask| {
                let keep = mask.keep_start.saturating_add(mask.keep_end);
                let (from, to) = if total <= keep {
                    (0, total)
                } else {
                    (mask.keep_start, total - mask.keep_end)
                };
                let start = found.chars.get(from)?.0;
                let end = found.chars.get(to.checked_sub(1)?)?.1;
                Some((start, end))
            });
            Value {
                detector: found.detector,
                first: found.first(),
                last: found.last(),
                hidden,
            }
        }));
    }
}

/// The first scan's values as sorted, disjoint byte ranges (overlapping
/// ones merged); groups starred whole are left out (the second scan may
/// read values in one: counted, masked in it all the same).
fn merged_spans(found: &[Value]) -> Vec<(usize, usize)> {
    let mut spans: Vec<(usize, usize)> = found
        .iter()
        .filter(|f| f.detector.is_some())
        .map(|f| (f.first, f.last))
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (first, last) in spans {
        match merged.last_mut() {
            Some(previous) if first < previous.1 => previous.1 = previous.1.max(last),
            _ => merged.push((first, last)),
        }
    }
    merged
}

/// Whether `first..last` overlaps one of `spans` ([`merged_spans`]).
fn overlaps_any(spans: &[(usize, usize)], first: usize, last: usize) -> bool {
    let at = spans.partition_point(|span| span.1 <= first);
    spans.get(at).is_some_and(|span| span.0 < last)
}

impl Found {
    fn first(&self) -> usize {
        self.chars.first().map_or(0, |c| c.0)
    }

    fn last(&self) -> usize {
        self.chars.last().map_or(0, |c| c.1)
    }
}

/// Whether `bytes` may hold 11 digits: counts ASCII digits and the first
/// bytes of the characters that can be digits or the check character
/// (C2 CB D9 DB DF E0 E1 E2 EA EF F0, from the tables; never E3-E9, where
/// CJK text lies), in loops the compiler vectorises. Most string leaves
/// (names, dates, codes, Chinese prose) are ruled out here.
fn may_hold_number(bytes: &[u8]) -> bool {
    if bytes.len() < MOBILE_DIGITS {
        return false;
    }
    // One pass, two byte-lane counts: ASCII digits, and the first bytes
    // of the characters that can be digits or the check character.
    let (ascii, other) = bytes
        .chunks(255)
        .map(|chunk| {
            let (ascii, other) = chunk.iter().fold((0u8, 0u8), |(ascii, other), b| {
                (
                    ascii.wrapping_add(u8::from(b.is_ascii_digit())),
                    other.wrapping_add(u8::from(matches!(
                        b,
                        0xC2 | 0xCB | 0xD9 | 0xDB | 0xDF | 0xE0 | 0xE1 | 0xE2 | 0xEA | 0xEF | 0xF0
                    ))),
                )
            });
            (usize::from(ascii), usize::from(other))
        })
        .fold((0, 0), |(a, o), (ascii, other)| (a + ascii, o + other));
    if ascii >= MOBILE_DIGITS {
        return true;
    }
    // Chinese numerals ([`chinese_digit`]) lie among CJK text: counted by
    // their whole encoding, only when the rest is not enough.
    let numerals = if ascii + other < MOBILE_DIGITS {
        chinese_numerals(bytes)
    } else {
        0
    };
    if ascii + other + numerals < MOBILE_DIGITS {
        return false;
    }
    if numerals > 0 {
        return true;
    }
    // Chinese text has many such first bytes that are no digits:
    // fullwidth punctuation (`，` `（` `：`, EF BC 8x/9A-9F) and quotation
    // marks, dashes and ellipses (E2 80 xx). Counted again without those.
    let likely = bytes
        .windows(3)
        .filter(|w| match w {
            [0xEF, 0xBC, 0x90..=0x99 | 0xB8] | [0xEF, 0xBD, 0x98] => true,
            [0xEF, ..] | [0xE2, 0x80, _] => false,
            [first, ..] => matches!(
                first,
                0xC2 | 0xCB | 0xD9 | 0xDB | 0xDF | 0xE0 | 0xE1 | 0xE2 | 0xEA | 0xF0
            ),
            [] => false,
        })
        .count();
    // A candidate in the last two bytes is no 3-byte window's first.
    let tail = bytes.len().saturating_sub(2);
    let last = bytes.get(tail..).map_or(0, |t| {
        t.iter()
            .filter(|b| **b == 0xC2 || (0xCB..=0xDF).contains(*b))
            .count()
    });
    ascii + likely + last >= MOBILE_DIGITS
}

/// How many Chinese numerals ([`chinese_digit`]) `bytes` holds (their
/// UTF-8 encodings).
fn chinese_numerals(bytes: &[u8]) -> usize {
    bytes
        .windows(3)
        .filter(|w| {
            matches!(
                w,
                [0xE3, 0x80, 0x87]
                    | [0xE4, 0xB8, 0x80]
                    | [0xE4, 0xB8, 0x83]
                    | [0xE4, 0xB8, 0x89]
                    | [0xE4, 0xB9, 0x9D]
                    | [0xE4, 0xBA, 0x8C]
                    | [0xE4, 0xBA, 0x94]
                    | [0xE4, 0xBC, 0x8D]
                    | [0xE5, 0x85, 0xAB]
                    | [0xE5, 0x85, 0xAD]
                    | [0xE5, 0x8F, 0x81]
                    | [0xE5, 0x8F, 0x83]
                    | [0xE5, 0x9B, 0x9B]
                    | [0xE5, 0xA3, 0xB9]
                    | [0xE5, 0xB9, 0xBA]
                    | [0xE6, 0x8D, 0x8C]
                    | [0xE6, 0x9F, 0x92]
                    | [0xE7, 0x8E, 0x96]
                    | [0xE8, 0x82, 0x86]
                    | [0xE8, 0xB2, 0xB3]
                    | [0xE8, 0xB4, 0xB0]
                    | [0xE9, 0x99, 0x86]
                    | [0xE9, 0x99, 0xB8]
                    | [0xE9, 0x9B, 0xB6]
            )
        })
        .count()
}

/// What one character is to the detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// A digit and its value.
    Digit(u8),
    /// A check character `X`.
    CheckX,
    /// Shows nothing: read through.
    Skip,
    /// May join two groups of digits.
    Sep,
    /// Ends a number.
    Other,
}

/// The class of `c` ([`Class`]).
fn classify(c: char) -> Class {
    if c.is_ascii() {
        return match c {
            '0'..='9' => Class::Digit(c as u8 - b'0'),
            'X' | 'x' => Class::CheckX,
            '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' => Class::Sep,
            '\0'..='\u{1f}' | '\u{7f}' => Class::Skip,
            // Every ASCII punctuation character and symbol.
            _ if c.is_ascii_punctuation() => Class::Sep,
            _ => Class::Other,
        };
    }
    if let Some(value) = chinese_digit(c) {
        return Class::Digit(value);
    }
    let code = u32::from(c);
    // CJK ideographs and Hangul syllables: none is any of the others.
    if (0x3400..=0x9FFF).contains(&code) || (0xAC00..=0xD7A3).contains(&code) {
        return Class::Other;
    }
    if let Some(value) = digit_value(c) {
        return Class::Digit(value);
    }
    if unicode::X_FORMS.binary_search(&code).is_ok() {
        return Class::CheckX;
    }
    // Before separators: U+0085 (next line), U+2028 and U+2029 are white
    // space too, but read through (they do not count toward a separator
    // run).
    if is_skippable(c) {
        return Class::Skip;
    }
    if is_separator(c) {
        return Class::Sep;
    }
    Class::Other
}

/// The value of a Chinese numeral written as a digit (`一三八…`, `幺` for
/// one as a mobile is read out, financial `零壹贰叁肆伍陆柒捌玖` and their
/// traditional forms `貳參陸`): a number may be written in them, or mixed
/// (`1三812345678`).
fn chinese_digit(c: char) -> Option<u8> {
    Some(match c {
        '〇' | '零' => 0,
        '一' | '壹' | '幺' => 1,
        '二' | '贰' | '貳' => 2,
        '三' | '叁' | '參' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' | '陸' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

/// The value of `c` as a digit: a decimal digit of any script (general
/// category `Nd`, [`unicode::ND_ZEROS`]) or another character with a digit
/// value ([`unicode::OTHER_DIGITS`]).
pub(crate) fn digit_value(c: char) -> Option<u8> {
    let code = u32::from(c);
    if c.is_ascii() {
        return c.is_ascii_digit().then(|| code as u8 - b'0');
    }
    let zeros = &unicode::ND_ZEROS;
    let below = match zeros.binary_search(&code) {
        Ok(_) => return Some(0),
        Err(0) => None,
        Err(at) => zeros.get(at - 1),
    };
    if let Some(offset) = below.map(|zero| code - zero).filter(|offset| *offset < 10) {
        return u8::try_from(offset).ok();
    }
    unicode::OTHER_DIGITS
        .binary_search_by_key(&code, |(digit, _)| *digit)
        .ok()
        .and_then(|at| unicode::OTHER_DIGITS.get(at))
        .map(|(_, value)| *value)
}

/// Whether `c` is a Default_Ignorable_Code_Point (Unicode's
/// DerivedCoreProperties: characters that render as nothing unless a
/// font shows them; Hangul fillers and Khmer inherent vowels among them
/// although Unicode calls those letters).
pub(crate) fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fff8}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

/// Whether `c` shows nothing between two digits and is read through:
/// default-ignorable code points ([`is_default_ignorable`]), interlinear
/// annotation characters (U+FFF9-U+FFFB), the Braille blank (U+2800),
/// the line and paragraph separators (U+2028, U+2029), controls (`Cc`,
/// NUL and U+0085 included; ASCII tab, line feed, vertical tab, form feed
/// and carriage return are separators instead, see [`classify`]), and
/// combining marks (`Mn`, `Mc`, `Me`: an accent or a keycap on a digit).
fn is_skippable(c: char) -> bool {
    is_default_ignorable(c)
        || matches!(
            c,
            '\u{fff9}'..='\u{fffb}' | '\u{2800}' | '\u{2028}' | '\u{2029}'
        )
        || c.is_control()
        || is_mark(c)
}

/// Whether `c` is a combining mark ([`unicode::MARKS`]).
fn is_mark(c: char) -> bool {
    let code = u32::from(c);
    // No mark below U+0300.
    code >= 0x300
        && match unicode::MARKS.binary_search_by_key(&code, |(start, _)| *start) {
            Ok(_) => true,
            Err(0) => false,
            Err(at) => unicode::MARKS
                .get(at - 1)
                .is_some_and(|(_, end)| code <= *end),
        }
}

/// Whether `c` (not ASCII) may join two groups of digits: white space, a
/// dash ([`unicode::DASHES`]), any punctuation or symbol
/// ([`unicode::PUNCT_SYMBOLS`]: `～` `×` `∶` `“` `”` `∙`, …), or
/// punctuation people write between digit groups.
fn is_separator(c: char) -> bool {
    let code = u32::from(c);
    c.is_whitespace()
        || unicode::DASHES.binary_search(&code).is_ok()
        || match unicode::PUNCT_SYMBOLS.binary_search_by_key(&code, |(start, _)| *start) {
            Ok(_) => true,
            Err(0) => false,
            Err(at) => unicode::PUNCT_SYMBOLS
                .get(at - 1)
                .is_some_and(|(_, end)| code <= *end),
        }
        || matches!(
            c,
            '\u{b7}'          // · middle dot
                | '\u{2022}'  // • bullet
                | '\u{2027}'  // ‧ hyphenation point
                | '\u{2044}'  // ⁄ fraction slash
                | '\u{2212}'  // − minus sign
                | '\u{2215}'  // ∕ division slash
                | '\u{30fb}'  // ・ katakana middle dot
                | '\u{ff65}'  // ･ halfwidth katakana middle dot
                | '\u{3001}'  // 、
                | '\u{3002}'  // 。
                | '\u{3008}'..='\u{3011}' // 〈〉《》「」『』【】
                | '\u{3014}'..='\u{301b}' // 〔〕〖〗〘〙〚〛
                | '\u{fe50}'..='\u{fe52}' // small , 、 .
                | '\u{fe54}'..='\u{fe55}' // small ; :
                | '\u{fe59}'..='\u{fe5e}' // small brackets
                | '\u{ff08}'  // （
                | '\u{ff09}'  // ）
                | '\u{ff0c}'  // ，
                | '\u{ff0e}'  // ．
                | '\u{ff0f}'  // ／
                | '\u{ff1a}'  // ：
                | '\u{ff1b}'  // ；
                | '\u{ff3b}'  // ［
                | '\u{ff3c}'  // ＼
                | '\u{ff3d}'  // ］
                | '\u{ff3f}'  // ＿
                | '\u{ff5c}'  // ｜
                | '\u{ff61}'  // ｡
                | '\u{ff64}'  // ､
        )
}

/// One digit (or a check character, value 10) of a number.
#[derive(Debug, Clone, Copy)]
struct Digit {
    start: usize,
    end: usize,
    value: u8,
}

/// The value a check character `X` is held as.
const X_VALUE: u8 = 10;

/// A group of a number: its digits' indices.
#[derive(Debug, Clone)]
struct Group {
    from: usize,
    to: usize,
}

impl Group {
    fn len(&self) -> usize {
        self.to - self.from
    }
}

/// A number being read: its digits, groups and the check character after
/// it.
#[derive(Debug, Default)]
struct Number {
    digits: Vec<Digit>,
    groups: Vec<Group>,
    /// A check character right after the last group (or after a
    /// separator run): the number ends there.
    x: Option<Digit>,
    /// Separators since the last digit.
    seps: usize,
    /// An invisible character since the last digit (a group boundary when
    /// scanning with them splitting).
    split: bool,
    /// The separators since the last digit are all white space (counted
    /// as one).
    ws_only: bool,
    /// A group grown past [`GROUP_CAP`] digits: its byte range so far (its
    /// digits are not kept; the number holds nothing else).
    long: Option<(usize, usize)>,
}

/// Digits of one group kept one by one; a longer group (no value is read
/// in it: it would take a window or a split of it) is starred whole, fail
/// closed, and bounds the memory a long run of digits costs.
const GROUP_CAP: usize = 256;

/// Digits a number keeps before the groups read so far are searched and
/// dropped, but for the last few ([`TAIL`]).
const NUMBER_CHUNK: usize = 256;

/// A value running past the groups searched starts in a group with fewer
/// than this many digits from it to the end (a value has at most 18, or
/// 4 + 11 with a prefix): such groups are kept for the next search.
const TAIL: usize = 22;

/// A range of HTML markup ([`markup`]): its bytes and its class.
type Mark = (usize, usize, Class);

/// The byte ranges of `text` that are HTML markup, and what each is to the
/// detectors as one character: a tag (`<br>`, `</td><td>` is two, `<span
/// class="n">`: a letter, then up to 256 bytes with at most one digit, no
/// `<`/`>`/`&`), a comment (`<!-- … -->`, at most one digit) or a named
/// character reference (`&nbsp;`) is a separator;
/// a numeric one (`&#49;`, `&#x31;`) is the character it stands for (a
/// digit, a separator, ...). A remark rendered as HTML showed
/// `138<br>1234<br>5678` as a mobile. Sorted, disjoint; linear in `text`.
fn markup(text: &str) -> Vec<Mark> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    if !bytes.iter().any(|b| matches!(b, b'<' | b'&')) {
        return ranges;
    }
    let mut at = 0;
    while at < bytes.len() {
        let found = match bytes.get(at) {
            Some(b'<') => tag_at(bytes, at).map(|end| (end, Class::Sep)),
            Some(b'&') => reference_at(bytes, at),
            _ => None,
        };
        match found {
            Some((end, class)) => {
                ranges.push((at, end, class));
                at = end;
            }
            None => at += 1,
        }
    }
    ranges
}

/// The longest tag or comment read as markup, in bytes.
const MAX_TAG: usize = 256;

/// Where an HTML tag or comment ([`markup`]) starting at byte `at` ends.
fn tag_at(bytes: &[u8], at: usize) -> Option<usize> {
    // A comment (`<!-- … -->`) with at most one digit in it.
    if bytes.get(at..at + 4) == Some(b"<!--") {
        let limit = (at + MAX_TAG).min(bytes.len());
        let body = bytes.get(at + 4..limit)?;
        let end = body.windows(3).position(|w| w == b"-->")?;
        let digits = body
            .get(..end)?
            .iter()
            .filter(|b| b.is_ascii_digit())
            .count();
        return (digits <= 1).then_some(at + 4 + end + 3);
    }
    let mut i = at + 1;
    if bytes.get(i) == Some(&b'/') {
        i += 1;
    }
    if !bytes.get(i)?.is_ascii_alphabetic() {
        return None;
    }
    let limit = (i + MAX_TAG).min(bytes.len());
    let mut digits = 0;
    while i < limit {
        match bytes.get(i)? {
            b'>' => return Some(i + 1),
            b'<' | b'&' => return None,
            b if b.is_ascii_digit() => {
                digits += 1;
                if digits > 1 {
                    return None;
                }
            }
            b if b.is_ascii_graphic() || *b == b' ' => {}
            _ => return None,
        }
        i += 1;
    }
    None
}

/// Where an HTML character reference ([`markup`]) starting at byte `at`
/// ends, and its class: `&name;` (2–10 letters) a separator, `&#ddd;` /
/// `&#xhh;` the class of the character it stands for.
fn reference_at(bytes: &[u8], at: usize) -> Option<(usize, Class)> {
    let body = |from: usize, max: usize, accept: fn(&u8) -> bool| {
        let len = bytes
            .get(from..)?
            .iter()
            .take(max + 1)
            .take_while(|b| accept(b))
            .count();
        (len > 0 && len <= max && bytes.get(from + len) == Some(&b';')).then_some(len)
    };
    if bytes.get(at + 1) != Some(&b'#') {
        let len = body(at + 1, 10, u8::is_ascii_alphabetic)?;
        return (len >= 2).then_some((at + 1 + len + 1, Class::Sep));
    }
    let (from, radix, accept): (usize, u32, fn(&u8) -> bool) = match bytes.get(at + 2) {
        Some(b'x' | b'X') => (at + 3, 16, u8::is_ascii_hexdigit),
        _ => (at + 2, 10, u8::is_ascii_digit),
    };
    // Up to 10 digits: a code point with leading zeros (`&#00000049;`).
    let len = body(from, 10, accept)?;
    let digits = std::str::from_utf8(bytes.get(from..from + len)?).ok()?;
    let c = char::from_u32(u32::from_str_radix(digits, radix).ok()?)?;
    Some((from + len + 1, classify(c)))
}

/// The byte ranges of `text` that are a whole timestamp
/// `YYYY-MM-DD[ T]hh:mm:ss[.f{1,3}][Z|±hh[:]mm]` (ASCII digits) with a real
/// date and a time of day: read as no number (`2024-03-15 13:45:12.123`
/// held the day-to-milliseconds digits `15 13 45 12 123`, 11 of them
/// starting `1[3-9]`). Whole: no digit, check character, invisible
/// character or joining punctuation right before or after it. Sorted,
/// disjoint; linear in `text`.
fn timestamps(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    if !bytes.contains(&b':') {
        return ranges;
    }
    let mut at = 0;
    while at + 19 <= bytes.len() {
        match timestamp_at(text, at) {
            Some(end) => {
                ranges.push((at, end));
                at = end;
            }
            None => at += 1,
        }
    }
    ranges
}

/// Where a whole timestamp ([`timestamps`]) starting at byte `at` ends.
fn timestamp_at(text: &str, at: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let digit = |i: usize| {
        bytes
            .get(i)
            .filter(|b| b.is_ascii_digit())
            .map(|b| u32::from(b - b'0'))
    };
    let number = |from: usize, len: usize| {
        (from..from + len).try_fold(0u32, |n, i| Some(n * 10 + digit(i)?))
    };
    let byte = |i: usize| bytes.get(i).copied();
    let year = number(at, 4)?;
    let (month, day) = (number(at + 5, 2)?, number(at + 8, 2)?);
    let (hour, minute, second) = (
        number(at + 11, 2)?,
        number(at + 14, 2)?,
        number(at + 17, 2)?,
    );
    let shape = byte(at + 4) == Some(b'-')
        && byte(at + 7) == Some(b'-')
        && matches!(byte(at + 10), Some(b' ' | b'T'))
        && byte(at + 13) == Some(b':')
        && byte(at + 16) == Some(b':');
    let real = hour < 24
        && minute < 60
        && second <= 60
        && i32::try_from(year).is_ok_and(|year| {
            u8::try_from(month)
                .ok()
                .and_then(|m| Month::try_from(m).ok())
                .zip(u8::try_from(day).ok())
                .is_some_and(|(month, day)| Date::from_calendar_date(year, month, day).is_ok())
        });
    if !shape || !real {
        return None;
    }
    let mut end = at + 19;
    if byte(end) == Some(b'.') {
        let digits = (end + 1..end + 5)
            .take_while(|i| digit(*i).is_some())
            .count();
        if !(1..=3).contains(&digits) {
            return None;
        }
        end += 1 + digits;
    }
    match byte(end) {
        Some(b'Z') => end += 1,
        Some(b'+' | b'-') => {
            let colon = usize::from(byte(end + 3) == Some(b':'));
            number(end + 1, 2)?;
            number(end + 3 + colon, 2)?;
            end += 5 + colon;
        }
        _ => {}
    }
    let before = text.get(..at)?.chars().next_back();
    let mut rest = text.get(end..)?.chars();
    let after = rest.next();
    // A full stop or comma ending a clause (`… 13:45:12.123, then`).
    let after_ok = bounds(after) || (matches!(after, Some(',' | '.')) && bounds(rest.next()));
    (bounds(before) && after_ok).then_some(end)
}

/// Whether `c` (the character next to a timestamp, `None` at an end)
/// keeps the timestamp whole: not a digit, a check character, an
/// invisible character, nor punctuation that joins digits.
fn bounds(c: Option<char>) -> bool {
    c.is_none_or(|c| {
        !matches!(classify(c), Class::Digit(_) | Class::CheckX | Class::Skip)
            && !matches!(c, '-' | '.' | '/' | ':' | '+' | '_' | ',' | '\\')
    })
}

/// Finds the ids and mobiles of `text`, pushing them to `found`; with
/// `split_at_skip`, an invisible character between digits splits a group.
/// Returns whether an invisible character stood between two digits of a
/// number.
fn scan(
    text: &str,
    split_at_skip: bool,
    (exempt, marks): (&[(usize, usize)], &[Mark]),
    found: &mut Out<'_>,
) -> bool {
    let mut number = Number::default();
    let mut skipped_inside = false;
    let mut exempt = exempt.iter().copied().peekable();
    let mut marks = marks.iter().copied().peekable();
    // The end of the markup ([`markup`]) being read as one character.
    let mut inside_mark = 0;
    for (at, c) in text.char_indices() {
        if at < inside_mark {
            continue;
        }
        let mut end = at + c.len_utf8();
        while exempt.next_if(|range| range.1 <= at).is_some() {}
        while marks.next_if(|mark| mark.0 < at).is_some() {}
        let class = match (exempt.peek(), marks.peek()) {
            // A timestamp ([`timestamps`]) is no number.
            (Some(range), _) if range.0 <= at => Class::Other,
            // Markup is one character: a separator, or the digit a
            // character reference stands for.
            (_, Some(&(start, mark_end, class))) if start == at => {
                inside_mark = mark_end;
                end = mark_end;
                class
            }
            _ => classify(c),
        };
        match class {
            Class::Digit(value) => {
                if number.started() && number.split {
                    skipped_inside = true;
                }
                let continuing = number.seps == 0 && !(split_at_skip && number.split);
                if let Some(long) = number.long.as_mut() {
                    if continuing {
                        long.1 = end;
                        number.split = false;
                        continue;
                    }
                    // The long group ended: a new number starts.
                    finish(&mut number, found);
                }
                let new_group = number.groups.is_empty() || !continuing;
                if new_group && number.digits.len() >= NUMBER_CHUNK {
                    flush(&mut number, found);
                }
                if !new_group && number.groups.last().is_some_and(|g| g.len() >= GROUP_CAP) {
                    if let Some(group) = number.groups.pop() {
                        let start = number.digits.get(group.from).map_or(at, |d| d.start);
                        number.digits.truncate(group.from);
                        // The groups before it are a number of their own.
                        finish(&mut number, found);
                        number.long = Some((start, end));
                        continue;
                    }
                }
                let index = number.digits.len();
                if new_group {
                    number.groups.push(Group {
                        from: index,
                        to: index,
                    });
                }
                number.digits.push(Digit {
                    start: at,
                    end,
                    value,
                });
                if let Some(group) = number.groups.last_mut() {
                    group.to = index + 1;
                }
                number.seps = 0;
                number.ws_only = false;
                number.split = false;
            }
            // A check character ends an id: after fewer than 17 digits it is
            // read as a separator (`138×1234×5678`, `138X1234X5678`).
            Class::CheckX if number.long.is_none() && number.digits.len() < ID_CHARS - 1 => {
                if number.started() {
                    if number.ws_only {
                        number.ws_only = false;
                    } else {
                        number.seps += 1;
                    }
                    if number.seps > SEP_CAP {
                        finish(&mut number, found);
                    }
                }
            }
            Class::CheckX => {
                if let Some(long) = number.long.as_mut() {
                    long.1 = end;
                }
                if !number.digits.is_empty() {
                    number.x = Some(Digit {
                        start: at,
                        end,
                        value: X_VALUE,
                    });
                }
                finish(&mut number, found);
            }
            Class::Skip => {
                if number.started() {
                    number.split = true;
                }
            }
            Class::Sep => {
                if number.started() {
                    // A run of white space counts as one separator, and
                    // none next to another separator (`138    1234`,
                    // `138 -- 1234`).
                    if c.is_whitespace() {
                        if number.seps == 0 {
                            number.seps = 1;
                            number.ws_only = true;
                        }
                    } else if number.ws_only {
                        number.ws_only = false;
                    } else {
                        number.seps += 1;
                    }
                    if number.seps > SEP_CAP {
                        finish(&mut number, found);
                    }
                }
            }
            Class::Other => finish(&mut number, found),
        }
    }
    finish(&mut number, found);
    skipped_inside
}

impl Number {
    /// Whether a digit was read since the number started.
    fn started(&self) -> bool {
        !self.digits.is_empty() || self.long.is_some()
    }
}

/// Looks for ids and mobiles in the groups of `number` read so far (no
/// check character: the number goes on), then drops all but the last
/// groups, those a value running on may start in ([`TAIL`]). A value in
/// those is found again: masked twice, counted once.
fn flush(number: &mut Number, found: &mut Out<'_>) {
    Matcher {
        digits: &number.digits,
        groups: &number.groups,
        x: None,
    }
    .find(&mut found.scratch);
    found.settle();
    let total = number.digits.len();
    let keep_from = number
        .groups
        .iter()
        .position(|group| total - group.from < TAIL)
        .unwrap_or(number.groups.len());
    let cut = number
        .groups
        .get(keep_from)
        .map_or(total, |group| group.from);
    number.groups.drain(..keep_from);
    number.digits.drain(..cut);
    for group in &mut number.groups {
        group.from -= cut;
        group.to -= cut;
    }
}

/// Looks for ids and mobiles in `number` and starts a new one.
fn finish(number: &mut Number, found: &mut Out<'_>) {
    if let Some((first, last)) = number.long.take() {
        found.values.push(Value {
            detector: None,
            first,
            last,
            hidden: Some((first, last)),
        });
    }
    if number.digits.len() >= MOBILE_DIGITS {
        Matcher {
            digits: &number.digits,
            groups: &number.groups,
            x: number.x,
        }
        .find(&mut found.scratch);
        found.settle();
    }
    number.digits.clear();
    number.groups.clear();
    number.x = None;
    number.seps = 0;
    number.ws_only = false;
    number.split = false;
}

/// A prefix a mobile may carry glued to its first group: its digits.
const PREFIXES: [&[u8]; 4] = [&[], &[0], &[8, 6], &[0, 0, 8, 6]];

/// The ids and mobiles of one number.
struct Matcher<'n> {
    digits: &'n [Digit],
    groups: &'n [Group],
    x: Option<Digit>,
}

impl Matcher<'_> {
    fn value(&self, at: usize) -> Option<u8> {
        self.digits.get(at).map(|d| d.value)
    }

    fn span(&self, from: usize, to: usize) -> Vec<(usize, usize)> {
        self.digits
            .get(from..to)
            .unwrap_or_default()
            .iter()
            .map(|d| (d.start, d.end))
            .collect()
    }

    /// Whether the 17 digits from `from` and the check character `check`
    /// (a value, [`X_VALUE`] for `X`) make an id; with `date`, its birth
    /// date must be real too.
    fn id_holds(&self, from: usize, check: u8, date: bool) -> bool {
        let mut first17 = [0u8; 17];
        for (i, slot) in first17.iter_mut().enumerate() {
            match self.value(from + i) {
                Some(value) if value < 10 => *slot = b'0' + value,
                _ => return false,
            }
        }
        let Ok(first17) = std::str::from_utf8(&first17) else {
            return false;
        };
        let want = match check {
            X_VALUE => 'X',
            digit => char::from(b'0' + digit),
        };
        gb11643_check_char(first17) == Some(want) && (!date || plausible_birth_date(first17))
    }

    /// Whether the 11 digits from `from` start `1[3-9]`.
    fn mobile_at(&self, from: usize) -> bool {
        self.value(from) == Some(1) && self.value(from + 1).is_some_and(|d| (3..=9).contains(&d))
    }

    /// The length of the prefix (`PREFIXES`) at `from` before a mobile that
    /// ends at `to`, if the digits between are one.
    fn mobile_with_prefix(&self, from: usize, to: usize) -> Option<usize> {
        let len = to.checked_sub(from)?;
        PREFIXES.iter().find_map(|prefix| {
            let holds = len == MOBILE_DIGITS + prefix.len()
                && prefix
                    .iter()
                    .enumerate()
                    .all(|(i, d)| self.value(from + i) == Some(*d))
                && self.mobile_at(from + prefix.len());
            holds.then_some(prefix.len())
        })
    }

    fn find(&self, found: &mut Vec<Found>) {
        let last = self.groups.len().saturating_sub(1);
        let mut used = vec![false; self.groups.len()];
        // One group longer than any number: split exactly into numbers, or
        // ids glued to other digits.
        for (index, group) in self.groups.iter().enumerate() {
            let x = self.x.filter(|_| index == last);
            if group.len() > ID_CHARS || (group.len() == ID_CHARS && x.is_some()) {
                let before = found.len();
                // Ids glued to digits first (a split into mobiles could
                // cut an id: `130` + id + `0`), then an exact split.
                if !self.windows(group, x, found) {
                    self.tile(group, x, found);
                }
                used[index] = found.len() > before;
            }
        }
        // Whole groups, from every group: a value found does not hide one
        // starting inside it and ending past it (`13800, 430102 19850612
        // 3011` is a mobile and an id), both are masked; one lying wholly
        // inside a value found (a mobile among an id's groups) is that
        // value's digits, masked with it.
        let mut covered_to = 0;
        for first in 0..self.groups.len() {
            if let Some(value) = self.whole_groups(first, &used) {
                if value.last() > covered_to {
                    covered_to = value.last();
                    found.push(value);
                }
            }
        }
    }

    /// The id or mobile made of whole groups from the `first`-th. An id
    /// wins over a mobile starting at the same group.
    fn whole_groups(&self, first: usize, used: &[bool]) -> Option<Found> {
        let group = |i: usize| {
            self.groups
                .get(i)
                .filter(|_| !used.get(i).copied().unwrap_or(true))
        };
        let start = group(first)?.from;
        let mut mobile = None;
        let mut index = first;
        while let Some(g) = group(index) {
            let digits = g.to - start;
            let several = index > first;
            if digits == ID_CHARS && self.id_holds(start, self.value(start + 17)?, several) {
                return Some(Found {
                    detector: Some(Detector::ResidentId),
                    chars: self.span(start, g.to),
                });
            }
            if digits == ID_CHARS - 1 && index + 1 == self.groups.len() {
                if let Some(x) = self.x {
                    if self.id_holds(start, X_VALUE, several) {
                        let mut chars = self.span(start, g.to);
                        chars.push((x.start, x.end));
                        return Some(Found {
                            detector: Some(Detector::ResidentId),
                            chars,
                        });
                    }
                }
            }
            if mobile.is_none() {
                if let Some(prefix) = self.mobile_with_prefix(start, g.to) {
                    // A prefix is glued to the first group (alone, it is a
                    // group before the number, found from the next).
                    let glued =
                        prefix == 0 || self.groups.get(first).is_some_and(|f| f.len() > prefix);
                    if glued {
                        mobile = Some(Found {
                            detector: Some(Detector::Mobile),
                            chars: self.span(start + prefix, g.to),
                        });
                    }
                }
            }
            if digits >= ID_CHARS {
                break;
            }
            index += 1;
        }
        mobile
    }

    /// Splits `group` exactly into ids and mobiles (with their prefixes),
    /// the last maybe an id ending with `x`; pushes them and returns
    /// whether it could.
    fn tile(&self, group: &Group, x: Option<Digit>, found: &mut Vec<Found>) -> bool {
        let (from, to) = (group.from, group.to);
        let len = to - from;
        // `back[p]`: how a split reaches `p` digits into the group: the
        // previous point, the value found (its digits' range), whether it
        // ended with `x`.
        let mut back: Vec<Option<(usize, Detector, usize, usize)>> = vec![None; len + 1];
        let mut reach = vec![false; len + 1];
        let mut x_end = None;
        if let Some(first) = reach.first_mut() {
            *first = true;
        }
        for p in 0..len {
            if !reach.get(p).copied().unwrap_or(false) {
                continue;
            }
            let at = from + p;
            let mut mark = |q: usize, step: (usize, Detector, usize, usize)| {
                if let (Some(r), Some(b)) = (reach.get_mut(q), back.get_mut(q)) {
                    if !*r {
                        *r = true;
                        *b = Some(step);
                    }
                }
            };
            if p + ID_CHARS <= len {
                if let Some(check) = self.value(at + 17) {
                    if self.id_holds(at, check, true) {
                        mark(p + ID_CHARS, (p, Detector::ResidentId, at, at + ID_CHARS));
                    }
                }
            }
            if p + ID_CHARS - 1 == len && x.is_some() && self.id_holds(at, X_VALUE, true) {
                x_end = Some(p);
            }
            for prefix in PREFIXES {
                let q = p + prefix.len() + MOBILE_DIGITS;
                if q <= len
                    && self.mobile_with_prefix(at, at + prefix.len() + MOBILE_DIGITS)
                        == Some(prefix.len())
                {
                    mark(q, (p, Detector::Mobile, at + prefix.len(), from + q));
                }
            }
        }
        let mut values = Vec::new();
        let mut p = if reach.get(len).copied().unwrap_or(false) {
            len
        } else if let (Some(start), Some(x)) = (x_end, x) {
            let mut chars = self.span(from + start, to);
            chars.push((x.start, x.end));
            values.push(Found {
                detector: Some(Detector::ResidentId),
                chars,
            });
            start
        } else {
            return false;
        };
        while p > 0 {
            let Some(Some((previous, detector, start, end))) = back.get(p).copied() else {
                return false;
            };
            values.push(Found {
                detector: Some(detector),
                chars: self.span(start, end),
            });
            p = previous;
        }
        values.reverse();
        found.extend(values);
        true
    }

    /// Ids glued to other digits in `group`: every window whose checksum
    /// holds and whose birth date is real; then what is left around them,
    /// when exactly a mobile with its prefix.
    fn windows(&self, group: &Group, x: Option<Digit>, found: &mut Vec<Found>) -> bool {
        let (from, to) = (group.from, group.to);
        let mut ids: Vec<(usize, usize)> = Vec::new();
        let mut at = from;
        while at + 17 <= to {
            let check = if at + 17 < to {
                self.value(at + 17)
            } else {
                x.map(|_| X_VALUE)
            };
            if check.is_some_and(|check| self.id_holds(at, check, true)) {
                let mut chars = self.span(at, (at + ID_CHARS).min(to));
                if at + 17 == to {
                    if let Some(x) = x {
                        chars.push((x.start, x.end));
                    }
                }
                found.push(Found {
                    detector: Some(Detector::ResidentId),
                    chars,
                });
                ids.push((at, (at + ID_CHARS).min(to)));
                at += ID_CHARS;
            } else {
                at += 1;
            }
        }
        if ids.is_empty() {
            return false;
        }
        let mut rest = Vec::new();
        let mut start = from;
        for (id_from, id_to) in ids.iter().copied().chain([(to, to)]) {
            if let Some(prefix) = self.mobile_with_prefix(start, id_from) {
                rest.push(Found {
                    detector: Some(Detector::Mobile),
                    chars: self.span(start + prefix, id_from),
                });
            }
            start = id_to;
        }
        found.extend(rest);
        true
    }
}

/// Whether characters 7–14 of an id (`first17`) are a date in 1900–2099.
fn plausible_birth_date(first17: &str) -> bool {
    let Some(date) = first17.get(6..14) else {
        return false;
    };
    let number = |range: std::ops::Range<usize>| date.get(range)?.parse::<u16>().ok();
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(4..6), number(6..8)) else {
        return false;
    };
    (1900..=2099).contains(&year)
        && u8::try_from(month)
            .ok()
            .and_then(|m| Month::try_from(m).ok())
            .zip(u8::try_from(day).ok())
            .is_some_and(|(month, day)| {
                Date::from_calendar_date(i32::from(year), month, day).is_ok()
            })
}

/// How many resident ids and mobile numbers the detectors find in `text`,
/// by detector (counts only, never the values): what [`crate::apply`]
/// would mask in a string leaf when the scope masks both. For measuring
/// the detectors on real data (false positives) without a policy.
pub fn count(text: &str) -> std::collections::BTreeMap<Detector, u32> {
    let any = Some(Mask {
        keep_start: 0,
        keep_end: 0,
    });
    let detectors = Detectors {
        resident_id: any,
        mobile: any,
    };
    let mut counts = std::collections::BTreeMap::new();
    if let Some((_, ids, mobiles)) = detectors.mask(text) {
        for (detector, n) in [(Detector::ResidentId, ids), (Detector::Mobile, mobiles)] {
            if n > 0 {
                counts.insert(detector, n);
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests;
