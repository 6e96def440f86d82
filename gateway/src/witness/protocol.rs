//! The wire format of C2SP tlog-witness shared by server and client: the
//! `add-checkpoint` request body, the `text/x.tlog.size` conflict body, and
//! the percent-encoding of the `origin` query parameter.
//!
//! Parsing takes untrusted bytes and never panics; a malformed body is a
//! [`BodyError`] (the server answers 400).

use audit::note::{Hash, Note, TreeHead};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// Most consistency proof lines a request may hold (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;

/// Why an `add-checkpoint` body is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is not UTF-8.
    #[error("body is not UTF-8")]
    NotUtf8,
    /// The first line is not `old <size>`.
    #[error("first line must be `old <size>` (decimal, no leading zeroes)")]
    OldLine,
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    /// A proof line is not base64 of 32 bytes.
    #[error("consistency proof line {0} is not base64 of a 32-byte hash")]
    ProofLine(usize),
    /// No blank line ends the proof.
    #[error("no empty line separates the proof from the checkpoint")]
    MissingSeparator,
    /// The checkpoint is not a signed note or not a checkpoint.
    #[error("checkpoint: {0}")]
    Checkpoint(audit::note::NoteError),
    /// The old size exceeds the checkpoint size.
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldAfterNew {
        /// The old size.
        old: u64,
        /// The checkpoint size.
        size: u64,
    },
    /// The checkpoint size does not fit the state file.
    #[error("tree size {0} is larger than 2^63-1")]
    SizeTooLarge(u64),
}

/// A parsed `add-checkpoint` request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the submitter believes the witness holds.
    pub old: u64,
    /// Consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub note: Note,
    /// Its parsed body.
    pub head: TreeHead,
}

/// ASCII decimal without sign or leading zeroes (`0` alone allowed).
pub fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// Parses `old N\n`, up to 63 base64 proof lines, `\n`, then the checkpoint.
pub fn parse_add_checkpoint(body: &[u8]) -> Result<AddCheckpoint, BodyError> {
    let body = std::str::from_utf8(body).map_err(|_| BodyError::NotUtf8)?;
    let (first, mut rest) = body.split_once('\n').ok_or(BodyError::OldLine)?;
    let old = first
        .strip_prefix("old ")
        .and_then(parse_decimal)
        .ok_or(BodyError::OldLine)?;
    let mut proof = Vec::new();
    loop {
        let (line, after) = rest.split_once('\n').ok_or(BodyError::MissingSeparator)?;
        rest = after;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(BodyError::TooManyProofLines);
        }
        let n = proof.len() + 1;
        let hash = B64
            .decode(line)
            .ok()
            .and_then(|h| Hash::try_from(h).ok())
            .ok_or(BodyError::ProofLine(n))?;
        proof.push(hash);
    }
    let note = Note::parse(rest).map_err(BodyError::Checkpoint)?;
    let head = TreeHead::parse(&note.text).map_err(BodyError::Checkpoint)?;
    if head.size > i64::MAX as u64 {
        return Err(BodyError::SizeTooLarge(head.size));
    }
    if old > head.size {
        return Err(BodyError::OldAfterNew {
            old,
            size: head.size,
        });
    }
    Ok(AddCheckpoint {
        old,
        proof,
        note,
        head,
    })
}

/// The request body for `old`, `proof` and a signed checkpoint `note`.
pub fn add_checkpoint_body(old: u64, proof: &[Hash], note: &str) -> String {
    let mut body = format!("old {old}\n");
    for h in proof {
        body.push_str(&B64.encode(h));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// The proof lines as stored with evidence: base64, one per line.
pub fn proof_text(proof: &[Hash]) -> String {
    proof
        .iter()
        .map(|h| B64.encode(h))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    crate::percent::encode(s)
}

/// Decodes `%XX` escapes and `+` (a space); `None` for a bad escape or
/// a result that is not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    crate::percent::decode(s)
}

/// The value of query parameter `name` (percent-decoded). `Err(())` when
/// it is present but badly encoded or given twice.
#[allow(clippy::result_unit_err)]
pub fn query_param(query: Option<&str>, name: &str) -> Result<Option<String>, ()> {
    let mut found = None;
    for pair in query.unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == name {
            if found.is_some() {
                return Err(());
            }
            found = Some(percent_decode(value).ok_or(())?);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests;
