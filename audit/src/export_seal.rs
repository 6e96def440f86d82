//! The signed end line that seals an export: what makes a file cut at a
//! chain's boundary, or with whole chains or a chain's newest entries taken
//! out together with their checkpoints, fail `verify_export`.
//!
//! The checkpoints inside an export prove each entry is in a signed tree,
//! but not that the file holds everything the exporter wrote: checkpoints
//! come per chain, so deleting a chain's segment (or everything after the
//! header) leaves a file whose every remaining line still verifies. The
//! exporter therefore ends the file with
//! `{"type":"end","entries":N,"sha256":HEX,"signature":BASE64}`: the SHA-256
//! of every line before it (each line's text and a `\n`; blank lines do not
//! count), the number of entry lines, and an Ed25519 signature with the
//! audit key over
//! `credgate-audit-export-end/v1\n<sha256 hex>\n<entries>\n`. That message
//! cannot be read as a signed note's tree head (its second line is not a
//! decimal size) nor as a cosignature, so the one key signs all three
//! without one standing for another.
//!
//! This module owns the message and the key; it never decides what an
//! export holds.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::error::AuditError;

/// The audit signing key, as an export needs it: its public half goes into
/// the header, its private half signs the end line.
pub struct ExportKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for ExportKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportKey")
            .field("public_key", &hex::encode(self.public_key()))
            .finish()
    }
}

impl ExportKey {
    /// From the audit signing key (Ed25519 PKCS#8, v1 or v2).
    pub fn from_pkcs8(der: &[u8]) -> Result<ExportKey, AuditError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| AuditError::InvalidSigningKey)?;
        Ok(ExportKey { pair })
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// The signature (base64) over an export whose lines before the end
    /// line hash to `digest` and hold `entries` entry lines.
    pub(crate) fn sign_end(&self, digest: &[u8], entries: u64) -> String {
        B64.encode(self.pair.sign(&end_message(digest, entries)).as_ref())
    }
}

/// What the end line's signature covers.
fn end_message(digest: &[u8], entries: u64) -> Vec<u8> {
    format!(
        "credgate-audit-export-end/v1\n{}\n{entries}\n",
        hex::encode(digest)
    )
    .into_bytes()
}

/// Whether `signature` (base64) is the audit key's over an export whose
/// lines before the end line hash to `digest` and hold `entries` entries.
pub(crate) fn end_valid(public_key: &[u8], digest: &[u8], entries: u64, signature: &str) -> bool {
    let Ok(sig) = B64.decode(signature) else {
        return false;
    };
    UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(&end_message(digest, entries), &sig)
        .is_ok()
}

/// The running SHA-256 of an export's lines, as the exporter writes them
/// and as the verifier reads them back (each line's text, then `\n`).
#[derive(Clone)]
pub(crate) struct LinesDigest {
    ctx: ring::digest::Context,
}

impl LinesDigest {
    pub(crate) fn new() -> LinesDigest {
        LinesDigest {
            ctx: ring::digest::Context::new(&ring::digest::SHA256),
        }
    }

    /// Adds bytes exactly as written (whole lines, each ending in `\n`).
    pub(crate) fn bytes(&mut self, written: &[u8]) {
        self.ctx.update(written);
    }

    /// Adds one line read back (without its line ending).
    pub(crate) fn line(&mut self, text: &str) {
        self.ctx.update(text.as_bytes());
        self.ctx.update(b"\n");
    }

    pub(crate) fn finish(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.ctx.finish().as_ref());
        out
    }
}

#[cfg(test)]
mod tests;
