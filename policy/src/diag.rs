//! Diagnostics with file, line and column, shared by the policy loader and
//! the gateway's config loader (`credgate policy check` prints them).

use std::fmt;

/// One problem found in a configuration file, displayed
/// `file:line:col: message`. Lines and columns are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File name as given by the caller.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Lowercase message; user input in backticks.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at a byte offset of `text`.
    pub fn at(file: &str, text: &str, byte_offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(text, byte_offset);
        Diagnostic {
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A diagnostic about the whole file (reported at 1:1).
    pub fn file_level(file: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_owned(),
            line: 1,
            column: 1,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// 1-based (line, column) of `byte_offset` in `text`. Offsets past the end
/// or inside a multibyte character are clamped to the preceding character.
pub fn line_col(text: &str, byte_offset: usize) -> (usize, usize) {
    let mut offset = byte_offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
    (line, column)
}

/// Turn a `toml` parse/deserialise error into a diagnostic at its span (or
/// 1:1 when the error has none). The message is `toml`'s own, lowercased
/// at its start, its lines joined by `; ` (`invalid table header; expected
/// `.`, `]``): one error is one line, however `toml` words it.
pub fn from_toml_error(file: &str, text: &str, err: &toml::de::Error) -> Diagnostic {
    let offset = err.span().map_or(0, |s| s.start);
    let joined: Vec<&str> = err
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = joined.join("; ");
    let raw = joined.as_str();
    let mut message = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    if let Some(first) = chars.next() {
        message.extend(first.to_lowercase());
        message.push_str(chars.as_str());
    }
    if message.is_empty() {
        // toml gives some syntax errors (a value cut off at the end of the
        // file) no text; never print a diagnostic that says nothing.
        message.push_str("invalid toml syntax");
    }
    Diagnostic::at(file, text, offset, message)
}

/// Every problem found in one load, in file order; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyErrors(pub Vec<Diagnostic>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

#[cfg(test)]
mod tests;
