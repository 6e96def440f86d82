//! C2SP signed notes, checkpoints and Ed25519 cosignatures, byte for byte:
//!
//! - [signed-note](https://c2sp.org/signed-note): [`Note`], [`SigLine`],
//!   [`Verifier`] (vkeys) and Ed25519 signatures (type [`ED25519`]);
//! - [tlog-checkpoint](https://c2sp.org/tlog-checkpoint): [`TreeHead`];
//! - [tlog-cosignature](https://c2sp.org/tlog-cosignature): the Ed25519
//!   `cosignature/v1` (type [`COSIGNATURE_V1`]) made by [`NoteSigner::cosign`];
//! - [tlog-witness](https://c2sp.org/tlog-witness): an `add-checkpoint`
//!   response body is merged with [`Note::add_sig_lines`].
//!
//! All parsing takes untrusted input and reports problems as [`NoteError`];
//! nothing here panics. A note is trusted only once [`Note::verify`] succeeds.
#![warn(missing_docs)]

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];
/// Signature type byte of signed-note Ed25519 signatures.
pub const ED25519: u8 = 0x01;
/// Signature type byte of tlog-cosignature timestamped Ed25519 cosignatures.
pub const COSIGNATURE_V1: u8 = 0x04;
/// Largest note (text and signature lines), in bytes, that is parsed.
pub const MAX_NOTE_SIZE: usize = 1 << 20;
/// Largest number of signature lines in a note (the spec requires >= 16).
pub const MAX_SIGNATURES: usize = 100;
/// Largest cosignature timestamp allowed by tlog-cosignature: 2^63 - 1.
pub const MAX_TIMESTAMP: u64 = (1 << 63) - 1;

/// Em dash (U+2014) and a space: the start of every signature line.
const SIG_PREFIX: &str = "\u{2014} ";

/// What is wrong with a note, key, signature or checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The input is longer than [`MAX_NOTE_SIZE`].
    #[error("input is {0} bytes, over the limit of {MAX_NOTE_SIZE}")]
    TooLarge(usize),
    /// The input holds an ASCII control character other than newline.
    #[error("input contains a control character other than newline")]
    ControlCharacter,
    /// The input does not end in a newline.
    #[error("input does not end in a newline")]
    MissingFinalNewline,
    /// No blank line separates the note text from its signatures.
    #[error("no blank line separates the note text from the signatures")]
    MissingSeparator,
    /// The note has no signature lines.
    #[error("note has no signature lines")]
    NoSignatures,
    /// The note has more than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signature lines")]
    TooManySignatures,
    /// A signature line is malformed.
    #[error("signature line {line} is malformed: {reason}")]
    MalformedSigLine {
        /// 1-based index of the line among the signature lines.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key name is empty or holds a space, '+' or a control character.
    #[error("key name must be non-empty and hold no spaces, '+' or control characters")]
    InvalidKeyName,
    /// A verifier key string is malformed.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// A verifier key's key ID is not the one computed from its name and key.
    #[error("verifier key ID {stated} does not match the computed {computed}")]
    KeyIdMismatch {
        /// The key ID written in the vkey, in hex.
        stated: String,
        /// The key ID computed from name, type and public key, in hex.
        computed: String,
    },
    /// The signature type is neither [`ED25519`] nor [`COSIGNATURE_V1`].
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedKeyType(u8),
    /// The PKCS#8 document is not a valid Ed25519 private key.
    #[error("PKCS#8 document is not a valid Ed25519 private key")]
    InvalidPrivateKey,
    /// The signer's type does not fit the requested operation.
    #[error("signer of type 0x{actual:02x} cannot make signatures of type 0x{wanted:02x}")]
    WrongSignerKind {
        /// The type the operation makes.
        wanted: u8,
        /// The signer's type.
        actual: u8,
    },
    /// A cosignature timestamp exceeds [`MAX_TIMESTAMP`].
    #[error("cosignature timestamp exceeds 2^63-1")]
    TimestampOutOfRange,
    /// A signature line from a trusted key failed to verify.
    #[error("signature by trusted key {name} ({key_id}) does not verify")]
    BadSignature {
        /// The trusted key's name.
        name: String,
        /// The trusted key's ID, in hex.
        key_id: String,
    },
    /// No signature line is from a trusted key.
    #[error("note has no signature from a trusted key")]
    NoTrustedSignature,
    /// A checkpoint body is malformed.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
}

/// Computes a signed-note key ID: `SHA-256(name || 0x0A || kind || public_key)[:4]`.
pub fn key_id(name: &str, kind: u8, public_key: &[u8]) -> [u8; 4] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[kind]);
    ctx.update(public_key);
    ctx.finish()
        .as_ref()
        .first_chunk::<4>()
        .copied()
        .unwrap_or_default()
}

/// Checks the signed-note key name rules (and rejects ASCII control
/// characters, which no valid note can hold).
fn check_name(name: &str) -> Result<(), NoteError> {
    let bad_char = |c: char| c == '+' || c.is_whitespace() || c < ' ';
    if name.is_empty() || name.chars().any(bad_char) {
        return Err(NoteError::InvalidKeyName);
    }
    Ok(())
}

/// Checks a supported signature type byte.
fn check_kind(kind: u8) -> Result<(), NoteError> {
    match kind {
        ED25519 | COSIGNATURE_V1 => Ok(()),
        other => Err(NoteError::UnsupportedKeyType(other)),
    }
}

/// Checks size, control characters and the final newline of note input.
fn check_text(s: &str) -> Result<(), NoteError> {
    if s.len() > MAX_NOTE_SIZE {
        return Err(NoteError::TooLarge(s.len()));
    }
    // Bytes below 0x20 only occur in UTF-8 as the ASCII characters themselves.
    if s.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(NoteError::ControlCharacter);
    }
    if !s.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    Ok(())
}

/// The tlog-cosignature/v1 signed message for `text` at `timestamp`.
fn cosignature_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// A verifier key (vkey) `<name>+<hex key id>+<base64(type || pubkey)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// Key name.
    pub name: String,
    /// Key ID, `SHA-256(name || 0x0A || kind || public_key)[:4]`.
    pub key_id: [u8; 4],
    /// Signature type: [`ED25519`] or [`COSIGNATURE_V1`].
    pub kind: u8,
    /// Ed25519 public key.
    pub public_key: [u8; 32],
}

impl Verifier {
    /// Parses a vkey, checking the name, the lowercase 8-digit hex key ID
    /// against the computed one, the type and the 32-byte key.
    pub fn parse(vkey: &str) -> Result<Verifier, NoteError> {
        let bad = NoteError::MalformedVerifierKey;
        let (name, rest) = vkey
            .split_once('+')
            .ok_or(bad("expected <name>+<key id>+<key>"))?;
        // The base64 part may itself contain '+': split only twice.
        let (id_hex, key_b64) = rest
            .split_once('+')
            .ok_or(bad("expected <name>+<key id>+<key>"))?;
        check_name(name)?;
        let mut stated = [0u8; 4];
        if id_hex.len() != 8
            || id_hex
                .bytes()
                .any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(bad("key ID must be 8 lowercase hex digits"));
        }
        hex::decode_to_slice(id_hex, &mut stated).map_err(|_| bad("key ID is not hex"))?;
        let raw = B64
            .decode(key_b64)
            .map_err(|_| bad("key is not padded standard base64"))?;
        let (&kind, key) = raw.split_first().ok_or(bad("key is empty"))?;
        check_kind(kind)?;
        let public_key =
            <[u8; 32]>::try_from(key).map_err(|_| bad("public key is not 32 bytes"))?;
        let verifier = Verifier::new(name, kind, public_key)?;
        if verifier.key_id != stated {
            return Err(NoteError::KeyIdMismatch {
                stated: id_hex.to_owned(),
                computed: hex::encode(verifier.key_id),
            });
        }
        Ok(verifier)
    }

    /// Builds a verifier, computing its key ID.
    pub fn new(name: &str, kind: u8, public_key: [u8; 32]) -> Result<Verifier, NoteError> {
        check_name(name)?;
        check_kind(kind)?;
        let key_id = key_id(name, kind, &public_key);
        Ok(Verifier {
            name: name.to_owned(),
            key_id,
            kind,
            public_key,
        })
    }

    /// Encodes the verifier as a vkey.
    pub fn to_vkey(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.kind);
        raw.extend_from_slice(&self.public_key);
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            B64.encode(raw)
        )
    }

    /// Verifies `sig` (without its key ID) over note `text`; returns the
    /// cosignature timestamp for [`COSIGNATURE_V1`].
    fn verify_sig(&self, text: &str, sig: &[u8]) -> Result<Option<u64>, NoteError> {
        let bad = || NoteError::BadSignature {
            name: self.name.clone(),
            key_id: hex::encode(self.key_id),
        };
        let key = UnparsedPublicKey::new(&ring::signature::ED25519, &self.public_key);
        match self.kind {
            ED25519 => key
                .verify(text.as_bytes(), sig)
                .map(|()| None)
                .map_err(|_| bad()),
            COSIGNATURE_V1 => {
                let (ts, sig) = sig.split_first_chunk::<8>().ok_or_else(bad)?;
                let ts = u64::from_be_bytes(*ts);
                if ts > MAX_TIMESTAMP {
                    return Err(NoteError::TimestampOutOfRange);
                }
                let msg = cosignature_message(text, ts);
                key.verify(msg.as_bytes(), sig)
                    .map(|()| Some(ts))
                    .map_err(|_| bad())
            }
            other => Err(NoteError::UnsupportedKeyType(other)),
        }
    }
}

/// Signs notes (type 0x01) or cosignatures (type 0x04) with an Ed25519 key.
pub struct NoteSigner {
    name: String,
    kind: u8,
    key_id: [u8; 4],
    public_key: [u8; 32],
    key_pair: Ed25519KeyPair,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("key_id", &hex::encode(self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// Loads an Ed25519 PKCS#8 (v1 or v2) private key as signer `name` of type `kind`.
    pub fn from_pkcs8(name: &str, kind: u8, pkcs8_der: &[u8]) -> Result<NoteSigner, NoteError> {
        check_name(name)?;
        check_kind(kind)?;
        let key_pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8_der)
            .map_err(|_| NoteError::InvalidPrivateKey)?;
        let public_key = <[u8; 32]>::try_from(key_pair.public_key().as_ref())
            .map_err(|_| NoteError::InvalidPrivateKey)?;
        let key_id = key_id(name, kind, &public_key);
        Ok(NoteSigner {
            name: name.to_owned(),
            kind,
            key_id,
            public_key,
            key_pair,
        })
    }

    /// The verifier for this signer's signatures.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            kind: self.kind,
            public_key: self.public_key,
        }
    }

    /// The signer's key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// For kind 0x01: the signature line `"— <name> <base64(keyid||sig)>\n"`
    /// over `text` (the note text, ending in '\n').
    pub fn sign_note(&self, text: &str) -> Result<String, NoteError> {
        self.check_kind(ED25519)?;
        check_text(text)?;
        Ok(self.line(self.key_pair.sign(text.as_bytes()).as_ref().to_vec()))
    }

    /// For kind 0x04: the tlog-cosignature/v1 line over checkpoint `text` at
    /// POSIX `timestamp` seconds: message `"cosignature/v1\ntime <ts>\n" + text`,
    /// line `"— <name> <base64(keyid || u64 BE ts || sig)>\n"`.
    pub fn cosign(&self, text: &str, timestamp: u64) -> Result<String, NoteError> {
        self.check_kind(COSIGNATURE_V1)?;
        if timestamp > MAX_TIMESTAMP {
            return Err(NoteError::TimestampOutOfRange);
        }
        TreeHead::parse(text)?;
        let msg = cosignature_message(text, timestamp);
        let mut sig = timestamp.to_be_bytes().to_vec();
        sig.extend_from_slice(self.key_pair.sign(msg.as_bytes()).as_ref());
        Ok(self.line(sig))
    }

    fn line(&self, sig: Vec<u8>) -> String {
        let (name, key_id) = (self.name.clone(), self.key_id);
        SigLine { name, key_id, sig }.to_line()
    }

    fn check_kind(&self, wanted: u8) -> Result<(), NoteError> {
        if self.kind != wanted {
            return Err(NoteError::WrongSignerKind {
                wanted,
                actual: self.kind,
            });
        }
        Ok(())
    }
}

/// One parsed signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigLine {
    /// Key name.
    pub name: String,
    /// Key ID (the first four decoded bytes).
    pub key_id: [u8; 4],
    /// Signature bytes after the key ID (for 0x04: timestamp and signature).
    pub sig: Vec<u8>,
}

impl SigLine {
    /// Parses one line `"— <name> <base64>"` (without its newline).
    fn parse(line: &str, index: usize) -> Result<SigLine, NoteError> {
        let bad = |reason| NoteError::MalformedSigLine {
            line: index,
            reason,
        };
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(bad("does not start with an em dash and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(bad("no space after the key name"))?;
        check_name(name).map_err(|_| bad("invalid key name"))?;
        let raw = B64
            .decode(b64)
            .map_err(|_| bad("signature is not padded standard base64"))?;
        let (key_id, sig) = raw
            .split_first_chunk::<4>()
            .ok_or(bad("signature is shorter than 5 bytes"))?;
        if sig.is_empty() {
            return Err(bad("signature is shorter than 5 bytes"));
        }
        Ok(SigLine {
            name: name.to_owned(),
            key_id: *key_id,
            sig: sig.to_vec(),
        })
    }

    /// Parses newline-terminated signature lines (at least one).
    fn parse_block(block: &str) -> Result<Vec<SigLine>, NoteError> {
        let body = block.strip_suffix('\n').ok_or(NoteError::NoSignatures)?;
        let mut sigs = Vec::new();
        for (i, line) in body.split('\n').enumerate() {
            if sigs.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            sigs.push(SigLine::parse(line, i + 1)?);
        }
        Ok(sigs)
    }

    /// The line `"— <name> <base64(key_id || sig)>\n"`.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.sig.len());
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(&self.sig);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }
}

/// A parsed signed note: text (including its final newline) and signature lines, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The note text, including its final newline.
    pub text: String,
    /// The signature lines, in order.
    pub sigs: Vec<SigLine>,
}

impl Note {
    /// Parses a signed note: at most [`MAX_NOTE_SIZE`] bytes, no control
    /// characters but newline, the text separated from 1 to
    /// [`MAX_SIGNATURES`] signature lines by the last empty line.
    pub fn parse(s: &str) -> Result<Note, NoteError> {
        check_text(s)?;
        let split = s.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
        let (text, rest) = s
            .split_at_checked(split + 1)
            .ok_or(NoteError::MissingSeparator)?;
        let block = rest.strip_prefix('\n').ok_or(NoteError::MissingSeparator)?;
        Ok(Note {
            text: text.to_owned(),
            sigs: SigLine::parse_block(block)?,
        })
    }

    /// Verifies with the given trusted verifiers. Lines whose (name, key ID)
    /// match no verifier are ignored; every matching line must verify, or the
    /// whole note is rejected. Returns each verifier (by index into `trusted`)
    /// that verified, once, with the timestamp of its first cosignature (None
    /// for 0x01). Errs if no trusted signature is present. Type 0x04 lines are
    /// checked over the text as is: use [`TreeHead::parse`] on it as well.
    pub fn verify(&self, trusted: &[Verifier]) -> Result<Vec<(usize, Option<u64>)>, NoteError> {
        let mut verified: Vec<(usize, Option<u64>)> = Vec::new();
        for line in &self.sigs {
            for (i, v) in trusted.iter().enumerate() {
                if v.name != line.name || v.key_id != line.key_id {
                    continue;
                }
                let ts = v.verify_sig(&self.text, &line.sig)?;
                if !verified.iter().any(|(j, _)| *j == i) {
                    verified.push((i, ts));
                }
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoTrustedSignature);
        }
        Ok(verified)
    }

    /// Parses one or more `"— ..."` lines (e.g. a witness's add-checkpoint
    /// response body) and appends those not already present. On error the
    /// note is unchanged.
    pub fn add_sig_lines(&mut self, lines: &str) -> Result<(), NoteError> {
        check_text(lines)?;
        let mut sigs = self.sigs.clone();
        for sig in SigLine::parse_block(lines)? {
            if !sigs.contains(&sig) {
                sigs.push(sig);
            }
        }
        if sigs.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let len = self.text.len() + 1 + sigs.iter().map(|s| s.to_line().len()).sum::<usize>();
        if len > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge(len));
        }
        self.sigs = sigs;
        Ok(())
    }
}

/// The note re-serialised: text, `"\n"`, then each signature line.
impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        self.sigs.iter().try_for_each(|s| f.write_str(&s.to_line()))
    }
}

/// The body of a C2SP tlog-checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    /// Log origin (first line).
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Merkle tree root hash.
    pub root: Hash,
    /// Extension lines, without newlines.
    pub extensions: Vec<String>,
}

impl TreeHead {
    /// Parses a checkpoint note text strictly: non-empty origin, decimal size
    /// without leading zeroes, base64 root of exactly 32 bytes, non-empty
    /// extension lines, final newline.
    pub fn parse(text: &str) -> Result<TreeHead, NoteError> {
        check_text(text)?;
        let bad = NoteError::MalformedCheckpoint;
        let mut lines = text
            .strip_suffix('\n')
            .ok_or(NoteError::MissingFinalNewline)?
            .split('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or(bad("empty origin line"))?;
        let size = lines
            .next()
            .and_then(parse_decimal)
            .ok_or(bad("tree size is not canonical decimal u64"))?;
        let root = lines
            .next()
            .and_then(|l| B64.decode(l).ok())
            .and_then(|r| Hash::try_from(r).ok())
            .ok_or(bad("root hash is not base64 of 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("empty extension line"));
        }
        Ok(TreeHead {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The note text: `"origin\nsize\nroot_b64\n"` and each extension line.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for ext in &self.extensions {
            s.push_str(ext);
            s.push('\n');
        }
        s
    }
}

/// Parses ASCII decimal without sign or leading zeroes ("0" alone allowed).
fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
mod tests;
