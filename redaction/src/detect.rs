//! Value detectors: resident identity numbers and mobile numbers written
//! into any string leaf, whatever its key.
//!
//! Owns finding and masking them in place:
//! - a GB 11643 resident identity number: 17 ASCII digits and a check
//!   character (digit or `X`/`x`) that the checksum confirms; a maximal run
//!   of exactly that shape is one. Inside a longer run of digits (an id
//!   glued to other digits) every 18-character window whose checksum holds
//!   and whose birth date (characters 7–14) is a real date in 1900–2099 is
//!   one too. A number whose checksum fails is left alone;
//! - a mainland mobile number: a maximal run of exactly 11 ASCII digits
//!   starting `1[3-9]` (not part of a longer digit run).
//!
//! Matches are ASCII, so masking them by character keeps the text valid
//! UTF-8. Nothing here keeps or returns a matched value.

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

/// Shortest digit run any detector can match.
const SHORTEST: usize = 11;

impl Detectors {
    /// `text` with every detected value masked, and the counts by detector
    /// (resident ids, mobiles); `None` when nothing was masked.
    pub(crate) fn mask(&self, text: &str) -> Option<(String, u32, u32)> {
        if self.resident_id.is_none() && self.mobile.is_none() {
            return None;
        }
        let bytes = text.as_bytes();
        if !has_digit_run(bytes, SHORTEST - 1) {
            return None;
        }
        // Matches as byte ranges, in order, not overlapping.
        let mut found: Vec<(usize, usize, Detector)> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
                continue;
            }
            let start = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let run = i - start;
            if run + 1 < SHORTEST {
                continue;
            }
            // A check character `X` ends the run for the id detector.
            let x_end = matches!(bytes.get(i), Some(b'X' | b'x'));
            let digits = text.get(start..i).unwrap_or_default();
            if self.resident_id.is_some() {
                let before = found.len();
                resident_ids(digits, x_end, start, &mut found);
                if found.len() > before {
                    if x_end && found.last().is_some_and(|m| m.1 == i + 1) {
                        i += 1;
                    }
                    continue;
                }
            }
            if self.mobile.is_some()
                && run == 11
                && !x_end
                && digits.starts_with('1')
                && matches!(digits.as_bytes().get(1), Some(b'3'..=b'9'))
            {
                found.push((start, i, Detector::Mobile));
            }
        }
        if found.is_empty() {
            return None;
        }
        let (mut ids, mut mobiles) = (0u32, 0u32);
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for (start, end, detector) in found {
            let mask = match detector {
                Detector::ResidentId => {
                    ids += 1;
                    self.resident_id
                }
                Detector::Mobile => {
                    mobiles += 1;
                    self.mobile
                }
            };
            let (Some(mask), Some(before), Some(value)) =
                (mask, text.get(copied..start), text.get(start..end))
            else {
                continue;
            };
            out.push_str(before);
            out.push_str(&mask_str(value, mask));
            copied = end;
        }
        out.push_str(text.get(copied..).unwrap_or_default());
        Some((out, ids, mobiles))
    }
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

/// Resident ids in the digit run `digits` (at byte `offset` of its text;
/// `x_end`: an `X`/`x` follows it), pushed to `found` in order.
fn resident_ids(
    digits: &str,
    x_end: bool,
    offset: usize,
    found: &mut Vec<(usize, usize, Detector)>,
) {
    let run = digits.len();
    let checks = |first17: &str, check: u8| {
        gb11643_check_char(first17).is_some_and(|c| c.eq_ignore_ascii_case(&char::from(check)))
    };
    // The whole run is one id: the checksum decides.
    if run == 18 && !x_end {
        let (first17, check) = digits.split_at(17);
        if check.bytes().next().is_some_and(|c| checks(first17, c)) {
            found.push((offset, offset + 18, Detector::ResidentId));
        }
        return;
    }
    if run == 17 && x_end {
        if checks(digits, b'X') {
            found.push((offset, offset + 18, Detector::ResidentId));
        }
        return;
    }
    if run < 17 {
        return;
    }
    // An id glued to other digits: windows whose checksum holds and whose
    // birth date is a real date.
    let bytes = digits.as_bytes();
    let mut start = 0;
    while start + 17 <= run {
        let first17 = digits.get(start..start + 17).unwrap_or_default();
        let check = match bytes.get(start + 17) {
            Some(&c) => Some(c),
            None if x_end => Some(b'X'),
            None => None,
        };
        if let Some(check) = check {
            if checks(first17, check) && plausible_birth_date(first17) {
                found.push((offset + start, offset + start + 18, Detector::ResidentId));
                start += 18;
                continue;
            }
        }
        start += 1;
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
