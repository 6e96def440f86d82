//! Credit subject identifiers: GB 11643 resident identity numbers (natural
//! persons) and GB 32100 unified social credit codes (legal persons).
//!
//! This module owns the format and check-character rules only; it never
//! looks anything up. The subject type of an inquiry is derived from its
//! identifier here, so a malformed id is refused before any upstream call.

use thiserror::Error;

use crate::model::SubjectType;

/// Why a subject identifier was rejected. Messages never repeat the id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SubjectIdError {
    /// Not exactly 18 characters.
    #[error("subject id must be 18 characters, got {0}")]
    Length(usize),
    /// A character outside both formats' alphabets.
    #[error("subject id contains a character outside the GB 11643 and GB 32100 alphabets")]
    Charset,
    /// A resident identity number whose birth date (positions 7-14) is not a real date.
    #[error("resident identity number has an implausible birth date")]
    BirthDate,
    /// The final check character does not match the first 17 characters.
    #[error("subject id check character does not match")]
    CheckChar,
}

/// GB 11643 (ISO 7064 MOD 11-2) weights for the first 17 digits.
const GB11643_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// GB 11643 check characters indexed by `sum mod 11`.
const GB11643_MAP: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// GB 32100 alphabet (no I, O, S, V, Z); a character's value is its index.
const GB32100_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100 weights for the first 17 characters.
const GB32100_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Check character of a GB 11643 resident identity number, given its first
/// 17 characters (all ASCII digits). `None` if the input is not 17 digits.
pub fn gb11643_check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(GB11643_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    GB11643_MAP.get((sum % 11) as usize).copied()
}

/// Value of one GB 32100 character, or `None` outside the alphabet.
fn gb32100_value(c: u8) -> Option<u32> {
    GB32100_CHARSET
        .iter()
        .position(|&x| x == c)
        .and_then(|p| u32::try_from(p).ok())
}

/// Check character of a GB 32100 unified social credit code, given its first
/// 17 characters (uppercase alphabet `0-9 A-H J-N P-R T-U W-Y`). `None` if
/// the input is not 17 characters of that alphabet.
pub fn gb32100_check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (&b, w) in bytes.iter().zip(GB32100_WEIGHTS) {
        sum += gb32100_value(b)? * w;
    }
    let check = (31 - sum % 31) % 31;
    GB32100_CHARSET.get(check as usize).map(|&b| char::from(b))
}

/// True when `yyyymmdd` (8 ASCII digits) is a real calendar date between
/// 1900-01-01 and 2099-12-31.
fn plausible_birth_date(yyyymmdd: &[u8]) -> bool {
    let num = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0u32, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let (Some(y), Some(m), Some(d)) = (
        yyyymmdd.get(0..4).and_then(num),
        yyyymmdd.get(4..6).and_then(num),
        yyyymmdd.get(6..8).and_then(num),
    ) else {
        return false;
    };
    if !(1900..=2099).contains(&y) {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (
        i32::try_from(y),
        time::Month::try_from(u8::try_from(m).unwrap_or(0)),
        u8::try_from(d),
    ) else {
        return false;
    };
    time::Date::from_calendar_date(year, month, day).is_ok()
}

/// Classify an 18-character subject identifier by its format, verifying the
/// check character: a GB 11643 resident identity number (17 digits, a
/// plausible birth date, check `0-9` or uppercase `X`) is a natural person; a
/// GB 32100 unified social credit code is a legal person.
/// The id as the gateway handles it everywhere (upstream path, log, consent
/// comparison, searches), and its type: letters upper-cased first, so a
/// resident id's check character written `x` and a credit code written in
/// lower case are the ids GB 11643 and GB 32100 spell in capitals.
pub fn canonical(id: &str) -> Result<(String, SubjectType), SubjectIdError> {
    let upper = id.to_ascii_uppercase();
    let subject_type = classify(&upper)?;
    Ok((upper, subject_type))
}

/// The type of a subject id as written (capitals only: see [`canonical`]).
pub fn classify(id: &str) -> Result<SubjectType, SubjectIdError> {
    let bytes = id.as_bytes();
    if bytes.len() != 18 {
        return Err(SubjectIdError::Length(id.chars().count()));
    }
    let (first17, last) = match (id.get(..17), bytes.get(17)) {
        (Some(f), Some(&l)) => (f, char::from(l)),
        _ => return Err(SubjectIdError::Charset),
    };
    let all_digits = first17.bytes().all(|b| b.is_ascii_digit());
    let mut natural_err = None;
    if all_digits && (last.is_ascii_digit() || last == 'X') {
        if !plausible_birth_date(bytes.get(6..14).unwrap_or_default()) {
            natural_err = Some(SubjectIdError::BirthDate);
        } else if gb11643_check_char(first17) == Some(last) {
            return Ok(SubjectType::NaturalPerson);
        } else {
            natural_err = Some(SubjectIdError::CheckChar);
        }
    }
    let in_charset = bytes.iter().all(|&b| gb32100_value(b).is_some());
    if in_charset {
        if gb32100_check_char(first17) == Some(last) {
            return Ok(SubjectType::LegalPerson);
        }
        return Err(natural_err.unwrap_or(SubjectIdError::CheckChar));
    }
    Err(natural_err.unwrap_or(SubjectIdError::Charset))
}

#[cfg(test)]
mod tests;
