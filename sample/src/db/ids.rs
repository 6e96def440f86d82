//! Check characters for the identifiers the seeder generates.
//!
//! GB 11643 and GB 32100 check characters come from `policy::subject` (the
//! same code the gateway validates with); this module adds the GB 11714
//! organisation-code check character embedded in older credit codes.

pub(super) use policy::subject::{gb11643_check_char, gb32100_check_char};

/// GB 32100 alphabet (no I, O, S, V, Z): characters the seeder may draw.
pub(super) const GB32100_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 11714 organisation code check character for an 8-character body
/// (digits and uppercase letters): the ninth character of the code.
pub(super) fn gb11714_check_char(body8: &str) -> Option<char> {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let bytes = body8.as_bytes();
    if bytes.len() != 8 {
        return None;
    }
    let mut sum = 0u32;
    for (&b, w) in bytes.iter().zip(WEIGHTS) {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return None,
        };
        sum += value * w;
    }
    match 11 - sum % 11 {
        10 => Some('X'),
        11 => Some('0'),
        d => char::from_digit(d, 10),
    }
}

#[cfg(test)]
mod tests;
