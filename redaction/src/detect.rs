//! Value detectors: resident identity numbers and mobile numbers written
//! into any string leaf, whatever its key.
//!
//! Owns finding and masking them in place:
//! - a GB 11643 resident identity number: 17 digits and a check character
//!   (digit or `X`/`x`) that the checksum confirms, each digit ASCII or
//!   fullwidth (`１１０１０５…`, mixed too) and the `X` maybe fullwidth
//!   (`Ｘ`/`ｘ`); a maximal run of exactly that shape is one. Inside a
//!   longer run of digits (an id glued to other digits) every
//!   18-character window whose checksum holds and whose birth date
//!   (characters 7–14) is a real date in 1900–2099 is one too. A number
//!   whose checksum fails is left alone;
//! - a mainland mobile number: 11 digits starting `1[3-9]`, ASCII or
//!   fullwidth (`１３８…`), written as a maximal run of exactly those 11
//!   digits, or glued to the country code (`8613812345678`,
//!   `+8613812345678`, `008613812345678`), or grouped 3-4-4 or 3-8 with one
//!   separator between groups (space, `-`, `.`, U+00A0, U+3000, U+FF0D,
//!   U+2010-U+2015, U+FF0E: `138 1234 5678`, `+86-138-1234-5678`,
//!   `１３８－１２３４－５６７８`, `138 12345678`), or with the first group
//!   in parentheses and at most one separator after them (`(138)1234-5678`,
//!   `（138） 12345678`); never digits inside a longer run of other
//!   digits. Only the 11 digits are masked (a country code, parentheses and
//!   separators stay).
//!
//! - either written in groups: a resident id as 6, 8 and 4 digits (or 3
//!   and the check character) with one separator between groups
//!   (`430102 19850612 3011`), its birth date real;
//! - either with invisible characters inside (zero-width spaces, soft
//!   hyphens, bidi controls, …): a text is scanned with them skipped, then
//!   as written (so two numbers one separates are two), and they stay
//!   where they are. Digits a bidi override shows in another order are
//!   scanned in their stored order.
//!
//! Masking is by character (kept digits keep their form, others become
//! `*`), so the text stays valid UTF-8 and as many characters long.
//! Nothing here keeps or returns a matched value.

use std::cell::OnceCell;

use policy::gb11643_check_char;
use policy::Mask;
use time::{Date, Month};

use crate::mask::mask_str;

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

/// Shortest run of digits a resident id can be (17 and an `X`).
const ID_SHORTEST: usize = 17;

/// Digits in a mainland mobile number.
const MOBILE_DIGITS: usize = 11;

impl Detectors {
    /// `text` with every detected value masked, and the counts by detector
    /// (resident ids, mobiles); `None` when nothing was masked.
    ///
    /// Invisible characters ([`is_invisible`]: zero-width spaces and
    /// joiners, soft hyphens, bidi controls, variation selectors, …) are
    /// skipped in a first scan, so a number split by them is found, and
    /// they stay where they were (only the number's characters are
    /// masked); a second scan reads the text as written.
    pub(crate) fn mask(&self, text: &str) -> Option<(String, u32, u32)> {
        if self.resident_id.is_none() && self.mobile.is_none() {
            return None;
        }
        if text.len() < MOBILE_DIGITS {
            return None;
        }
        let census = Census::new(text.as_bytes());
        // Invisible characters are no digits: only a text with enough
        // digits for a number is looked at for them.
        census.digits()?;
        let Some(visible) = without_invisible(text) else {
            return self.mask_visible(text, &census);
        };
        // Read through them first: numbers they split are found (and the
        // invisible ones put back between the masked characters, masking
        // keeping the number of characters) ...
        let (base, ids, mobiles) =
            match self.mask_visible(&visible, &Census::new(visible.as_bytes())) {
                Some((masked, ids, mobiles)) => (
                    interleave(text, &masked, |c| !is_invisible(c)),
                    ids,
                    mobiles,
                ),
                None => (text.to_owned(), 0, 0),
            };
        // ... then as written, on what that left: numbers they separate
        // (`13812345678\u{200b}13912345678` is two, which read through
        // would run into one 22-digit run).
        match self.mask_visible(&base, &Census::new(base.as_bytes())) {
            Some((out, ids2, mobiles2)) => Some((out, ids + ids2, mobiles + mobiles2)),
            None if ids + mobiles > 0 => Some((base, ids, mobiles)),
            None => None,
        }
    }

    /// [`Detectors::mask`] of a text without invisible characters, and
    /// its digit census.
    fn mask_visible(&self, text: &str, census: &Census<'_>) -> Option<(String, u32, u32)> {
        let bytes = text.as_bytes();
        // Every form of either holds at least 11 digits, each at least one
        // byte: most string leaves (names, dates, codes) are shorter.
        if bytes.len() < MOBILE_DIGITS {
            return None;
        }
        // Matches as byte ranges, in order, not overlapping.
        let mut found: Vec<(usize, usize, Detector)> = Vec::new();
        if self.resident_id.is_some() && may_hold_id(bytes, census) {
            for run in (DigitRuns { bytes, at: 0 }) {
                if run.len >= ID_SHORTEST {
                    resident_ids(text, &run, &mut found);
                }
            }
        }
        if self.resident_id.is_some() && may_hold_grouped_id(bytes, census) {
            let before = found.len();
            grouped_ids(text, &mut found);
            if found.len() > before {
                // Grouped ids lie in runs shorter than any whole id: none
                // overlaps another; order them among the rest.
                found.sort_by_key(|f| f.0);
            }
        }
        if self.mobile.is_some() && may_hold_mobile(text, census) {
            let ids = std::mem::take(&mut found);
            let mut ids = ids.into_iter().peekable();
            for (start, end) in mobiles(text) {
                // Ids first (none overlaps a mobile: an id lies in a run of
                // 17 or more digits and the check character after it, a
                // mobile's runs are shorter and hold no letter).
                while let Some(id) = ids.next_if(|id| id.0 < end) {
                    found.push(id);
                }
                if found.last().is_none_or(|last| last.1 <= start) {
                    found.push((start, end, Detector::Mobile));
                }
            }
            found.extend(ids);
        }
        if found.is_empty() {
            return None;
        }
        let (mut ids, mut mobiles) = (0u32, 0u32);
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for (start, end, detector) in found {
            let (Some(before), Some(value)) = (text.get(copied..start), text.get(start..end))
            else {
                continue;
            };
            let masked = match (detector, self.resident_id, self.mobile) {
                (Detector::ResidentId, Some(mask), _) if value.chars().any(is_separator) => {
                    ids += 1;
                    mask_id_chars(value, mask)
                }
                (Detector::ResidentId, Some(mask), _) => {
                    ids += 1;
                    mask_str(value, mask)
                }
                (Detector::Mobile, _, Some(mask)) => {
                    mobiles += 1;
                    mask_digits(value, mask)
                }
                _ => continue,
            };
            out.push_str(before);
            out.push_str(&masked);
            copied = end;
        }
        out.push_str(text.get(copied..).unwrap_or_default());
        Some((out, ids, mobiles))
    }
}

/// Whether `text` may hold a mobile number in any form [`mobiles`]
/// finds. A run of 11 ASCII digits is found skipping through the text;
/// every other form still has 11 digits, ASCII or fullwidth (`EF BC 9x`),
/// and without a fullwidth one it is ASCII digits in groups, the last of
/// them after a link ([`has_grouped_ascii`]).
/// Nearly all text (dates, amounts, document numbers, prose) is ruled out
/// by counts the compiler vectorises (a byte-by-byte scan would cost
/// ~1 ns per byte of every string leaf).
fn may_hold_mobile(text: &str, census: &Census<'_>) -> bool {
    if has_digit_run(text.as_bytes(), MOBILE_DIGITS) {
        return true;
    }
    match census.digits() {
        None => false,
        Some((_, wide)) => wide > 0 || has_grouped_ascii(text),
    }
}

/// `text` without its invisible characters ([`is_invisible`]), or `None`
/// when it has none. Each one's UTF-8 starts with one of a few bytes, none
/// of which starts a CJK character: most non-ASCII text is ruled out by
/// that byte scan alone.
fn without_invisible(text: &str) -> Option<String> {
    let may = !text.is_ascii()
        && text
            .as_bytes()
            .iter()
            .any(|b| matches!(b, 0xC2 | 0xCD | 0xD8 | 0xE1 | 0xE2 | 0xEF | 0xF0 | 0xF3));
    if !may || !text.chars().any(is_invisible) {
        return None;
    }
    Some(text.chars().filter(|c| !is_invisible(*c)).collect())
}

/// Characters that show nothing (Unicode format characters and the like):
/// soft hyphen, combining grapheme joiner, Arabic letter mark, Mongolian
/// free variation selectors and vowel separator, zero-width space, joiners
/// and marks (U+200B-U+200F), bidi embeddings and isolates, word joiner and
/// invisible operators (U+2060-U+206F), variation selectors, the zero-width
/// no-break space (U+FEFF), musical formatting marks and tag characters.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// Whether `bytes` may hold a grouped resident id ([`grouped_ids`]): its
/// date group is 8 digits (ASCII or fullwidth), and there are 17 digits or
/// more in all.
fn may_hold_grouped_id(bytes: &[u8], census: &Census<'_>) -> bool {
    census.digits().is_some_and(|(ascii, wide)| {
        ascii + wide >= ID_SHORTEST && (wide > 0 || has_digit_run(bytes, 8))
    })
}

/// Resident ids written in the groups people write them in: 6 digits
/// (the region), 8 (the birth date), 4 (or 3 and the check character),
/// each a maximal run of digits, with one separator ([`is_separator`])
/// between each two: `430102 19850612 3011`, `430102-19850612-301X`. The
/// checksum must hold and the birth date be a real date in 1900–2099.
/// Pushed to `found` as byte ranges (first digit to check character).
fn grouped_ids(text: &str, found: &mut Vec<(usize, usize, Detector)>) {
    let bytes = text.as_bytes();
    let separated = |a: &Run, b: &Run| text.get(a.end..b.start).is_some_and(one_separator);
    let digits = |run: &Run, out: &mut String| {
        let mut at = run.start;
        while let Some((d, width)) = digit_at(bytes, at).filter(|_| at < run.end) {
            out.push(char::from(b'0' + d));
            at += width;
        }
    };
    let (mut first, mut second): (Option<Run>, Option<Run>) = (None, None);
    for run in (DigitRuns { bytes, at: 0 }) {
        if let (Some(region), Some(born)) = (&first, &second) {
            let x_width = check_x_at(text, run.end);
            let last_fits = run.len == 4 || (run.len == 3 && x_width.is_some());
            if region.len == 6
                && born.len == 8
                && last_fits
                && separated(region, born)
                && separated(born, &run)
            {
                let mut all = String::with_capacity(18);
                for r in [region, born, &run] {
                    digits(r, &mut all);
                }
                let check = match run.len {
                    4 => all.pop(),
                    _ => Some('X'),
                };
                let holds = check.is_some()
                    && gb11643_check_char(&all) == check
                    && plausible_birth_date(&all);
                if holds {
                    let end = run.end
                        + if run.len == 3 {
                            x_width.unwrap_or(0)
                        } else {
                            0
                        };
                    found.push((region.start, end, Detector::ResidentId));
                }
            }
        }
        first = second;
        second = Some(run);
    }
}

/// `value` (a resident id as written in groups) with its 18 characters
/// masked as one value under `mask`; separators stay.
fn mask_id_chars(value: &str, mask: Mask) -> String {
    let is_id_char = |c: char| is_digit(c) || is_check_x(c);
    let chars: String = value.chars().filter(|c| is_id_char(*c)).collect();
    interleave(value, &mask_str(&chars, mask), is_id_char)
}

/// `value` with its characters that are `taken` replaced, in order, by the
/// characters of `replacement` (as many as were taken: masking keeps the
/// number of characters); the others stay where they are.
fn interleave(value: &str, replacement: &str, taken: impl Fn(char) -> bool) -> String {
    let mut replacement = replacement.chars();
    value
        .chars()
        .map(|c| {
            if taken(c) {
                replacement.next().unwrap_or('*')
            } else {
                c
            }
        })
        .collect()
}

/// Whether `c` is a resident id's check character `X`, either case, ASCII
/// or fullwidth.
fn is_check_x(c: char) -> bool {
    matches!(c, 'X' | 'x' | '\u{ff38}' | '\u{ff58}')
}

/// The width in bytes of a check character `X` ([`is_check_x`]) right at
/// byte `at` of `text`, if one is there.
fn check_x_at(text: &str, at: usize) -> Option<usize> {
    text.get(at..)
        .and_then(|after| after.chars().next())
        .filter(|c| is_check_x(*c))
        .map(char::len_utf8)
}

/// Whether `bytes` may hold a resident id ([`resident_ids`]): one in
/// ASCII digits is a run of 17 or more found skipping through the text
/// (its check character may be fullwidth); one with a fullwidth digit
/// needs that digit and 16 more.
fn may_hold_id(bytes: &[u8], census: &Census<'_>) -> bool {
    has_digit_run(bytes, ID_SHORTEST)
        || census
            .digits()
            .is_some_and(|(ascii, wide)| wide > 0 && ascii + wide >= ID_SHORTEST)
}

/// How many digits one text holds, ASCII and fullwidth, counted when a
/// quick check first asks (at most once per text).
struct Census<'t> {
    bytes: &'t [u8],
    counts: OnceCell<Option<(usize, usize)>>,
}

impl<'t> Census<'t> {
    fn new(bytes: &'t [u8]) -> Self {
        Census {
            bytes,
            counts: OnceCell::new(),
        }
    }

    /// The ASCII and the fullwidth digits; `None` when there are fewer
    /// than 11 in all (no mobile, no id).
    fn digits(&self) -> Option<(usize, usize)> {
        *self.counts.get_or_init(|| {
            let bytes = self.bytes;
            let ascii = count_bytes(bytes, u8::is_ascii_digit);
            // Each fullwidth digit starts with 0xEF (so do `，`, `：`,
            // `（`, ...).
            let mut wide = count_bytes(bytes, |b| *b == 0xEF);
            if ascii + wide < MOBILE_DIGITS {
                return None;
            }
            if wide > 0 {
                wide = bytes
                    .windows(3)
                    .filter(|w| matches!(w, [0xEF, 0xBC, 0x90..=0x99]))
                    .count();
            }
            (ascii + wide >= MOBILE_DIGITS).then_some((ascii, wide))
        })
    }
}

/// How many bytes of `bytes` are `wanted` (a loop the compiler vectorises).
fn count_bytes(bytes: &[u8], wanted: impl Fn(&u8) -> bool) -> usize {
    // Byte lanes: at most 255 per chunk, so a lane's count cannot wrap.
    bytes
        .chunks(255)
        .map(|chunk| {
            usize::from(
                chunk
                    .iter()
                    .fold(0u8, |n, b| n.wrapping_add(u8::from(wanted(b)))),
            )
        })
        .sum()
}

/// Whether `text` (whose digits are all ASCII) may hold a grouped
/// mobile ([`mobiles`]): every one ends with a run of 4 or 8 digits right
/// after a link (one separator, or `)`/`）` and at most one separator)
/// that follows a digit. Runs shorter than 4 are skipped as
/// [`has_digit_run`] skips them (about one look per 4 bytes of text
/// without digits); only a run of 4 or more has its link looked at.
fn has_grouped_ascii(text: &str) -> bool {
    const LAST_GROUP: usize = 4;
    let bytes = text.as_bytes();
    // Where a run of `LAST_GROUP` digits would end.
    let mut end = LAST_GROUP - 1;
    while let Some(b) = bytes.get(end) {
        if !b.is_ascii_digit() {
            end += LAST_GROUP;
            continue;
        }
        let mut first = end;
        while first > 0 && bytes.get(first - 1).is_some_and(u8::is_ascii_digit) {
            first -= 1;
        }
        if end + 1 - first < LAST_GROUP {
            // `first - 1` is no digit: the next run of 4 starts at `first`
            // at the earliest.
            end = first + LAST_GROUP - 1;
            continue;
        }
        if linked_after_digit(text, first) {
            return true;
        }
        let mut past = end + 1;
        while bytes.get(past).is_some_and(u8::is_ascii_digit) {
            past += 1;
        }
        // `past` is no digit: the next run starts after it.
        end = past + LAST_GROUP;
    }
    false
}

/// Whether the text before byte `at` of `text` ends with a digit and a
/// link between groups: one separator, `)`/`）`, or `)`/`）` and one
/// separator.
fn linked_after_digit(text: &str, at: usize) -> bool {
    let Some(before) = text.get(..at) else {
        return false;
    };
    let mut chars = before.chars();
    let mut link = 0;
    let mut c = chars.next_back();
    if c.is_some_and(is_separator) {
        link += 1;
        c = chars.next_back();
    }
    if c.is_some_and(is_close_paren) {
        link += 1;
        c = chars.next_back();
    }
    link > 0 && c.is_some_and(is_digit)
}

/// Whether `c` may stand (once) between two groups of a mobile's digits:
/// a space, `-`, `.`, a no-break space (U+00A0), an ideographic space
/// (U+3000), a fullwidth hyphen-minus (U+FF0D), a hyphen or dash
/// (U+2010-U+2015) or a fullwidth full stop (U+FF0E).
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '.' | '\u{a0}' | '\u{3000}' | '\u{ff0d}' | '\u{2010}'..='\u{2015}' | '\u{ff0e}'
    )
}

/// Whether `c` opens a parenthesis, ASCII or fullwidth.
fn is_open_paren(c: char) -> bool {
    matches!(c, '(' | '\u{ff08}')
}

/// Whether `c` closes a parenthesis, ASCII or fullwidth.
fn is_close_paren(c: char) -> bool {
    matches!(c, ')' | '\u{ff09}')
}

/// Whether `text` is exactly one separator ([`is_separator`]).
fn one_separator(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(is_separator) && chars.next().is_none()
}

/// The digit at byte `at` of `bytes`, as the mobile detector reads digits
/// (values are not NFKC-folded before detection): its value and width, for
/// an ASCII digit or a fullwidth one (U+FF10-U+FF19, `EF BC 90`-`EF BC 99`).
fn digit_at(bytes: &[u8], at: usize) -> Option<(u8, usize)> {
    match bytes.get(at..)? {
        [b @ b'0'..=b'9', ..] => Some((b - b'0', 1)),
        [0xEF, 0xBC, b @ 0x90..=0x99, ..] => Some((b - 0x90, 3)),
        _ => None,
    }
}

/// Whether `c` is a digit as [`digit_at`] reads them.
fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('\u{ff10}'..='\u{ff19}').contains(&c)
}

/// A maximal run of digits ([`digit_at`]) in a text.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Byte range in the text.
    start: usize,
    end: usize,
    /// How many digits.
    len: usize,
    /// The first six digits' values (10 past the run's end).
    head: [u8; 6],
}

impl Run {
    /// How many digits of a country code (`86`, `0086`) lead this run when
    /// the rest of it is `rest` digits: `Some(0)` when the run is just the
    /// `rest`.
    fn country_code(&self, rest: usize) -> Option<usize> {
        match self.len.checked_sub(rest)? {
            0 => Some(0),
            2 if self.head.starts_with(&[8, 6]) => Some(2),
            4 if self.head.starts_with(&[0, 0, 8, 6]) => Some(4),
            _ => None,
        }
    }

    /// Whether the digits from the `at`-th on start `1[3-9]`.
    fn mobile_prefix_at(&self, at: usize) -> bool {
        self.head.get(at) == Some(&1) && self.head.get(at + 1).is_some_and(|d| (3..=9).contains(d))
    }
}

/// The maximal digit runs of a text, in order.
struct DigitRuns<'t> {
    bytes: &'t [u8],
    at: usize,
}

impl Iterator for DigitRuns<'_> {
    type Item = Run;

    fn next(&mut self) -> Option<Run> {
        // A digit starts at a character's first byte, never inside one.
        while digit_at(self.bytes, self.at).is_none() {
            self.bytes.get(self.at)?;
            self.at += 1;
        }
        let mut run = Run {
            start: self.at,
            end: self.at,
            len: 0,
            head: [10; 6],
        };
        while let Some((digit, width)) = digit_at(self.bytes, self.at) {
            if let Some(slot) = run.head.get_mut(run.len) {
                *slot = digit;
            }
            run.len += 1;
            self.at += width;
        }
        run.end = self.at;
        Some(run)
    }
}

/// The mainland mobile numbers in `text`, as byte ranges from the
/// number's first digit to its last, in order, not overlapping. Digits are
/// ASCII or fullwidth; the 11 digits start `1[3-9]` (an `X`/`x` after
/// them changes nothing: 11 digits cannot be an identity number). Forms:
/// - a maximal run of exactly the 11 digits (a country code before it
///   with a separator between is then text before a match);
/// - a maximal run of `86` or `0086` and the 11 digits (`+` before it is
///   text): only those 11 are the number;
/// - grouped: maximal runs of 3, 4 and 4 digits, or of 3 and 8, with one
///   separator ([`is_separator`]) between each two, the first group maybe
///   carrying a glued `86`/`0086`: `138 1234 5678`, `+86-138-1234-5678`,
///   `138.1234.5678`, `138 12345678`;
/// - likewise with the first group (3 digits alone) in parentheses, ASCII
///   or fullwidth, and one separator or none after them:
///   `(138)1234-5678`, `(138) 1234 5678`, `（138）12345678`.
///
/// Digits inside a longer run (a 12-digit number, `8612812345678`) are
/// never one. The forms cannot overlap: a first group has 3, 5 or 7
/// digits, a middle one 4, a last one 4 or 8, a whole number 11, 13 or 15.
fn mobiles(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let separated = |a: &Run, b: &Run| text.get(a.end..b.start).is_some_and(one_separator);
    // The first group `head` and the next: one separator between; or
    // `head` (no country code) in parentheses, then one separator or none.
    let linked = |head: &Run, code: usize, next: &Run| {
        if separated(head, next) {
            return true;
        }
        let opened = text
            .get(..head.start)
            .and_then(|before| before.chars().next_back())
            .is_some_and(is_open_paren);
        let Some(between) = text.get(head.end..next.start) else {
            return false;
        };
        let mut after = between.chars();
        code == 0
            && opened
            && after.next().is_some_and(is_close_paren)
            && (after.as_str().is_empty() || one_separator(after.as_str()))
    };
    // How many digits of a country code lead `head` when it can be a
    // first group (3 digits starting `1[3-9]`, maybe after `86`/`0086`).
    let first_group = |head: &Run| {
        head.country_code(3)
            .filter(|code| head.mobile_prefix_at(*code))
    };
    // Where the `at`-th digit of `run` starts.
    let digit_start = |run: &Run, at: usize| {
        let mut start = run.start;
        for _ in 0..at {
            start += digit_at(bytes, start).map_or(1, |(_, width)| width);
        }
        start
    };
    let mut found = Vec::new();
    let (mut first, mut second): (Option<Run>, Option<Run>) = (None, None);
    for run in (DigitRuns { bytes, at: 0 }) {
        // One run: the 11 digits, maybe with a glued country code.
        if let Some(code) = run.country_code(MOBILE_DIGITS) {
            if run.mobile_prefix_at(code) {
                found.push((digit_start(&run, code), run.end));
            }
        }
        // 3-8, ending with this run. Not across a full stop: `131.23456789`
        // is a decimal (a longitude), not a number someone grouped.
        if let Some(head) = second.as_ref().filter(|_| run.len == 8) {
            let decimal = text
                .get(head.end..run.start)
                .is_some_and(|between| matches!(between, "." | "\u{ff0e}"));
            if let Some(code) = first_group(head).filter(|_| !decimal) {
                if linked(head, code, &run) {
                    found.push((digit_start(head, code), run.end));
                }
            }
        }
        // 3-4-4, ending with this run.
        if let (Some(head), Some(middle)) = (&first, &second) {
            if let Some(code) = first_group(head) {
                if middle.len == 4
                    && run.len == 4
                    && linked(head, code, middle)
                    && separated(middle, &run)
                {
                    found.push((digit_start(head, code), run.end));
                }
            }
        }
        first = second;
        second = Some(run);
    }
    found
}

/// `value` (a mobile number as written, maybe with separators) with its
/// digits masked as one 11-character value under `mask`; separators stay.
/// Kept digits keep their form (ASCII or fullwidth), starred ones become
/// `*`: the text stays valid UTF-8, and as many characters long.
fn mask_digits(value: &str, mask: Mask) -> String {
    if value.len() == MOBILE_DIGITS {
        // 11 bytes for 11 digits: ASCII and nothing between them.
        return mask_str(value, mask);
    }
    let digits: String = value.chars().filter(|c| is_digit(*c)).collect();
    interleave(value, &mask_str(&digits, mask), is_digit)
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

/// Whether `bytes` holds a run of at least `min` ASCII digits. Looks at
/// the byte where such a run would end and skips `min` bytes past a
/// non-digit, so text without a long run (nearly all of it) costs about
/// one look per `min` bytes.
fn has_digit_run(bytes: &[u8], min: usize) -> bool {
    let Some(mut end) = min.checked_sub(1) else {
        return true;
    };
    while let Some(b) = bytes.get(end) {
        if !b.is_ascii_digit() {
            end += min;
            continue;
        }
        // Walk back from `end` while digits, at most to the run's start.
        let start = end + 1 - min;
        let mut first = end;
        while first > start && bytes.get(first - 1).is_some_and(u8::is_ascii_digit) {
            first -= 1;
        }
        if first == start {
            return true;
        }
        // `first - 1` is no digit: no run of `min` can include it.
        end = first - 1 + min;
    }
    false
}

/// Resident ids in the digit run `run` of `text` (17 or more digits, ASCII
/// or fullwidth, and maybe a check character `X`/`x`/`Ｘ`/`ｘ` right after
/// it), pushed to `found` in order.
fn resident_ids(text: &str, run: &Run, found: &mut Vec<(usize, usize, Detector)>) {
    let bytes = text.as_bytes();
    let len = run.len;
    // Where each digit starts, when some is fullwidth; an ASCII run's
    // digits are its bytes.
    let ascii = run.end - run.start == len;
    let mut starts = Vec::new();
    if !ascii {
        let mut at = run.start;
        while let Some((_, width)) = digit_at(bytes, at).filter(|_| at < run.end) {
            starts.push(at);
            at += width;
        }
    }
    let start_of = |i: usize| -> usize {
        if i >= len {
            run.end
        } else if ascii {
            run.start + i
        } else {
            starts.get(i).copied().unwrap_or(run.end)
        }
    };
    let digit = |i: usize| digit_at(bytes, start_of(i)).map(|(d, _)| b'0' + d);
    // A check character `X` right after the run, and its width in bytes.
    let x_width = check_x_at(text, run.end);
    // The 17 digits from the `from`-th as ASCII, and whether the check
    // character after them holds.
    let id_at = |from: usize| -> Option<[u8; 17]> {
        let mut first17 = [0u8; 17];
        for (i, slot) in first17.iter_mut().enumerate() {
            *slot = digit(from + i)?;
        }
        let check = match from + 17 {
            i if i < len => digit(i)?,
            i if i == len && x_width.is_some() => b'X',
            _ => return None,
        };
        let expected = gb11643_check_char(std::str::from_utf8(&first17).ok()?)?;
        (u8::try_from(expected).ok() == Some(check)).then_some(first17)
    };
    // Where the id from the `from`-th digit ends (after its check character).
    let end_of = |from: usize| match from + 18 {
        i if i <= len => start_of(i),
        _ => run.end + x_width.unwrap_or(0),
    };
    // The whole run is one id: the checksum decides.
    if (len == 18 && x_width.is_none()) || (len == 17 && x_width.is_some()) {
        if id_at(0).is_some() {
            found.push((run.start, end_of(0), Detector::ResidentId));
        }
        return;
    }
    // An id glued to other digits: windows whose checksum holds and whose
    // birth date is a real date.
    let mut from = 0;
    while from + 17 <= len {
        let plausible = id_at(from)
            .is_some_and(|first17| std::str::from_utf8(&first17).is_ok_and(plausible_birth_date));
        if plausible {
            found.push((start_of(from), end_of(from), Detector::ResidentId));
            from += 18;
        } else {
            from += 1;
        }
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

#[cfg(test)]
mod tests;
