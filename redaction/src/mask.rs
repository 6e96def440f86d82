//! Partial masking of one value, by character (never by byte).
//!
//! Owns the only code that rewrites a sensitive leaf: a string keeps
//! `keep_start` and `keep_end` characters and every other character becomes
//! `*`; a value no longer than `keep_start + keep_end` characters is starred
//! whole; a number is masked in its decimal text and becomes a string.

use policy::Mask;

use crate::tree::{Node, Text};

/// Masks `text` under `mask` into a new string.
///
/// The result has exactly as many characters as `text`, and reveals at most
/// `keep_start + keep_end` of them.
pub(crate) fn mask_str(text: &str, mask: Mask) -> String {
    let total = text.chars().count();
    let keep = mask.keep_start.saturating_add(mask.keep_end);
    if total <= keep {
        return "*".repeat(total);
    }
    let starred = total - keep;
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    out.extend(chars.by_ref().take(mask.keep_start));
    out.extend(std::iter::repeat_n('*', starred));
    // Skip the starred characters, keep the rest (exactly `keep_end` left).
    out.extend(chars.skip(starred));
    out
}

/// Masks a string or number leaf in place; returns whether it was a leaf
/// that got masked (booleans, null, arrays and objects are left alone).
pub(crate) fn mask_leaf(value: &mut Node<'_>, mask: Mask) -> bool {
    let masked = match value {
        Node::Str(text) => mask_str(text, mask),
        Node::Int(text) => mask_str(text, mask),
        Node::Number(text) => mask_str(text, mask),
        Node::Null | Node::True | Node::False | Node::Array(_) | Node::Object(_) | Node::Gone => {
            return false
        }
    };
    *value = Node::Str(Text::owned(masked));
    true
}

#[cfg(test)]
mod tests;
