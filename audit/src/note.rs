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
mod tests {
    use super::*;

    /// Verifier key and signed note of the signed-note spec's example.
    const EXAMPLE_VKEY: &str =
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const EXAMPLE_NOTE: &str = "This is an example message.\n\n\
        — example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    /// Checkpoint text of the tlog-checkpoint and tlog-cosignature examples.
    const CHECKPOINT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    /// An Ed25519 PKCS#8 v1 document holding `seed`.
    fn pkcs8_v1(seed: &[u8]) -> Vec<u8> {
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(seed);
        der
    }

    fn signer(name: &str, kind: u8, seed: u8) -> NoteSigner {
        NoteSigner::from_pkcs8(name, kind, &pkcs8_v1(&[seed; 32])).unwrap()
    }

    /// Every single-bit change of `note` that is still UTF-8 fails to parse or verify.
    fn assert_flips_rejected(note: &str, trusted: &[Verifier]) {
        for i in 0..note.len() {
            for bit in 0..8 {
                let mut b = note.as_bytes().to_vec();
                b[i] ^= 1 << bit;
                if let Ok(s) = std::str::from_utf8(&b) {
                    let r = Note::parse(s).and_then(|n| n.verify(trusted));
                    assert!(r.is_err(), "byte {i} bit {bit} accepted: {s:?}");
                }
            }
        }
    }

    /// Every single-bit change of the decoded key ID, timestamp or signature
    /// of the (only trusted) signature line is rejected.
    fn assert_sig_flips_rejected(note: &Note, trusted: &[Verifier]) {
        let raw: Vec<u8> = note.sigs[0]
            .key_id
            .iter()
            .chain(&note.sigs[0].sig)
            .copied()
            .collect();
        for i in 0..raw.len() {
            for bit in 0..8 {
                let mut r = raw.clone();
                r[i] ^= 1 << bit;
                let mut n = note.clone();
                n.sigs[0].key_id = r[..4].try_into().unwrap();
                n.sigs[0].sig = r[4..].to_vec();
                assert!(
                    n.verify(trusted).is_err(),
                    "decoded byte {i} bit {bit} accepted"
                );
            }
        }
    }

    #[test]
    fn signed_note_spec_example() {
        let v = Verifier::parse(EXAMPLE_VKEY).unwrap();
        assert_eq!(
            (v.name.as_str(), v.key_id, v.kind),
            ("example.com/foo", [0x53, 0x0d, 0x90, 0x3a], ED25519)
        );
        assert_eq!(v.to_vkey(), EXAMPLE_VKEY);
        assert_eq!(
            Verifier::new("example.com/foo", ED25519, v.public_key).unwrap(),
            v
        );
        let note = Note::parse(EXAMPLE_NOTE).unwrap();
        assert_eq!(note.text, "This is an example message.\n");
        assert_eq!(
            note.verify(std::slice::from_ref(&v)).unwrap(),
            vec![(0, None)]
        );
        assert_eq!(note.to_string(), EXAMPLE_NOTE);
        assert_flips_rejected(EXAMPLE_NOTE, std::slice::from_ref(&v));
        assert_sig_flips_rejected(&note, &[v]);
    }

    #[test]
    fn signed_note_spec_intro_example_parses_but_is_unverifiable() {
        let s = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n\
            — quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
        let note = Note::parse(s).unwrap();
        assert!(
            note.text.ends_with(":\n\ned è subito sera.\n"),
            "text keeps its inner blank line"
        );
        assert_eq!(
            (note.sigs.len(), note.sigs[0].key_id, note.sigs[0].sig.len()),
            (1, [0x36, 0x7b, 0xa0, 0x4b], 64)
        );
        assert_eq!(note.to_string(), s);
        // No public key is published: any key we have is unknown, so the note is rejected.
        assert_eq!(
            note.verify(&[Verifier::parse(EXAMPLE_VKEY).unwrap()]),
            Err(NoteError::NoTrustedSignature)
        );
    }

    #[test]
    fn checkpoint_and_cosignature_spec_examples() {
        let cosigned = format!(
            "{CHECKPOINT}\n\
             — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
             — witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
        );
        let mut note = Note::parse(&cosigned).unwrap();
        assert_eq!(note.to_string(), cosigned);
        let th = TreeHead::parse(&note.text).unwrap();
        assert_eq!(
            (th.origin.as_str(), th.size, th.extensions.len()),
            ("example.com/behind-the-sofa", 20852163, 0)
        );
        assert_eq!(th.to_text(), CHECKPOINT);
        // The cosignature is key ID || u64 BE timestamp || 64-byte signature, and
        // its timestamp is the one of the spec's signed-message example.
        let w = &note.sigs[1];
        assert_eq!((w.key_id, w.sig.len()), ([0x8d, 0x66, 0xcf, 0x3f], 72));
        assert_eq!(
            u64::from_be_bytes(w.sig[..8].try_into().unwrap()),
            1679315147
        );
        assert_eq!(
            cosignature_message(CHECKPOINT, 1679315147),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
        // tlog-witness add-checkpoint response example: appended once each.
        let response = "— witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n\
            — witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64vWhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==\n\
            — witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==\n";
        note.add_sig_lines(response).unwrap();
        note.add_sig_lines(response).unwrap();
        assert_eq!(note.sigs.len(), 5);
        assert_eq!(Note::parse(&note.to_string()).unwrap(), note);
        // No keys are published for these: an unrelated key of the same name is ignored.
        let other = signer("witness.example/w1", COSIGNATURE_V1, 9).verifier();
        assert_eq!(note.verify(&[other]), Err(NoteError::NoTrustedSignature));
    }

    #[test]
    fn checkpoint_spec_example_is_a_relabelled_sum_golang_org_checkpoint() {
        // The example's key ID 033de0ae is sum.golang.org's; with that log's
        // origin and key name restored, the example's signature verifies.
        let sumdb =
            Verifier::parse("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8")
                .unwrap();
        let sig = "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=";
        let text = CHECKPOINT.replace("example.com/behind-the-sofa", "go.sum database tree");
        let real = Note::parse(&format!("{text}\n— sum.golang.org {sig}\n")).unwrap();
        assert_eq!(
            real.verify(std::slice::from_ref(&sumdb)).unwrap(),
            vec![(0, None)]
        );
        assert_eq!(TreeHead::parse(&real.text).unwrap().size, 20852163);
        assert_flips_rejected(&real.to_string(), std::slice::from_ref(&sumdb));
    }

    #[test]
    fn go_sumdb_note_vector() {
        // golang.org/x/mod/sumdb/note package documentation example.
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let signed = "If you think cryptography is the answer to your problem,\n\
            then you don't know what your problem is.\n\n\
            — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let v = Verifier::parse(vkey).unwrap();
        let note = Note::parse(signed).unwrap();
        assert_eq!(
            note.verify(std::slice::from_ref(&v)).unwrap(),
            vec![(0, None)]
        );
        // Its private key "PRIVATE+KEY+PeterNeumann+c74f20a3+<base64(0x01 || seed)>" reproduces the line.
        let skey = B64
            .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .unwrap();
        let s = NoteSigner::from_pkcs8("PeterNeumann", ED25519, &pkcs8_v1(&skey[1..])).unwrap();
        assert_eq!(s.verifier(), v);
        assert_eq!(
            format!("{}\n{}", note.text, s.sign_note(&note.text).unwrap()),
            signed
        );
    }

    #[test]
    fn note_round_trip() {
        let s = signer("example.com/log", ED25519, 1);
        let text = "hello\n\nworld é —\n";
        let signed = format!("{text}\n{}", s.sign_note(text).unwrap());
        let note = Note::parse(&signed).unwrap();
        assert_eq!(
            (note.text.as_str(), note.to_string()),
            (text, signed.clone())
        );
        let v = Verifier::parse(&s.verifier().to_vkey()).unwrap();
        assert_eq!((&v, s.name()), (&s.verifier(), "example.com/log"));
        assert_eq!(
            note.verify(std::slice::from_ref(&v)).unwrap(),
            vec![(0, None)]
        );
        assert_flips_rejected(&signed, std::slice::from_ref(&v));
        assert_sig_flips_rejected(&note, &[v]);
    }

    #[test]
    fn cosignature_round_trip() {
        let log = signer("example.com/behind-the-sofa", ED25519, 1);
        let w = signer("witness.example/w1", COSIGNATURE_V1, 2);
        let cosig = w.cosign(CHECKPOINT, 1679315147).unwrap();
        // The signature is over the exact message bytes of the spec.
        let line = SigLine::parse(cosig.trim_end(), 1).unwrap();
        let spec_msg = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n\
            CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        UnparsedPublicKey::new(&ring::signature::ED25519, w.verifier().public_key)
            .verify(spec_msg.as_bytes(), &line.sig[8..])
            .unwrap();

        let mut note = Note::parse(&format!(
            "{CHECKPOINT}\n{}",
            log.sign_note(CHECKPOINT).unwrap()
        ))
        .unwrap();
        note.add_sig_lines(&cosig).unwrap();
        note.add_sig_lines(&cosig).unwrap();
        assert_eq!(note.sigs.len(), 2);
        let trusted = [log.verifier(), w.verifier()];
        assert_eq!(
            note.verify(&trusted).unwrap(),
            vec![(0, None), (1, Some(1679315147))]
        );

        let alone = Note::parse(&format!("{CHECKPOINT}\n{cosig}")).unwrap();
        let wv = [w.verifier()];
        assert_eq!(alone.verify(&wv).unwrap(), vec![(0, Some(1679315147))]);
        assert_flips_rejected(&alone.to_string(), &wv);
        assert_sig_flips_rejected(&alone, &wv);
        let max = Note::parse(&format!(
            "{CHECKPOINT}\n{}",
            w.cosign(CHECKPOINT, MAX_TIMESTAMP).unwrap()
        ))
        .unwrap();
        assert_eq!(max.verify(&wv).unwrap(), vec![(0, Some(MAX_TIMESTAMP))]);
        // A validly signed timestamp of 2^63 rejects the note.
        let msg = cosignature_message(CHECKPOINT, 1 << 63);
        let mut sig = (1u64 << 63).to_be_bytes().to_vec();
        sig.extend_from_slice(w.key_pair.sign(msg.as_bytes()).as_ref());
        let over = Note::parse(&format!("{CHECKPOINT}\n{}", w.line(sig))).unwrap();
        assert_eq!(over.verify(&wv), Err(NoteError::TimestampOutOfRange));
        // The same name and key as a type 0x01 verifier has another key ID: ignored.
        let as_note = Verifier::new(w.name(), ED25519, w.verifier().public_key).unwrap();
        assert_eq!(alone.verify(&[as_note]), Err(NoteError::NoTrustedSignature));
    }

    #[test]
    fn unknown_and_mismatched_keys() {
        let (a, b) = (
            signer("example.com/a", ED25519, 1),
            signer("example.com/b", ED25519, 2),
        );
        let text = "text\n";
        let only_a = Note::parse(&format!("{text}\n{}", a.sign_note(text).unwrap())).unwrap();
        let both = Note::parse(&format!(
            "{text}\n{}{}",
            a.sign_note(text).unwrap(),
            b.sign_note(text).unwrap()
        ))
        .unwrap();
        assert_eq!(both.verify(&[b.verifier()]).unwrap(), vec![(0, None)]);
        assert_eq!(
            both.verify(&[b.verifier(), a.verifier()]).unwrap(),
            vec![(1, None), (0, None)]
        );
        assert_eq!(
            only_a.verify(&[b.verifier()]),
            Err(NoteError::NoTrustedSignature)
        );
        assert_eq!(only_a.verify(&[]), Err(NoteError::NoTrustedSignature));
        // Known name, other key (so other key ID): ignored.
        let other = signer("example.com/a", ED25519, 3).verifier();
        assert_ne!(other.key_id, a.verifier().key_id);
        assert_eq!(only_a.verify(&[other]), Err(NoteError::NoTrustedSignature));
        // Known key ID, other name: ignored.
        let mut renamed = a.verifier();
        renamed.name = "example.com/x".into();
        assert_eq!(
            only_a.verify(&[renamed]),
            Err(NoteError::NoTrustedSignature)
        );
        // Name and key ID match but the key differs: the signature must fail.
        let mut colliding = a.verifier();
        colliding.public_key = b.verifier().public_key;
        assert!(matches!(
            only_a.verify(&[colliding]),
            Err(NoteError::BadSignature { .. })
        ));
        // A failing trusted signature rejects the note even if another verifies.
        let mut bad = both.clone();
        bad.sigs[0].sig[0] ^= 1;
        assert!(matches!(
            bad.verify(&[a.verifier(), b.verifier()]),
            Err(NoteError::BadSignature { .. })
        ));
        // Short signatures from known keys fail; from unknown keys they are ignored.
        let w = signer("w", COSIGNATURE_V1, 4);
        for (v, len) in [(a.verifier(), 10), (w.verifier(), 5), (w.verifier(), 20)] {
            let short = Note {
                text: text.into(),
                sigs: vec![SigLine {
                    name: v.name.clone(),
                    key_id: v.key_id,
                    sig: vec![0; len],
                }],
            };
            assert!(matches!(
                short.verify(std::slice::from_ref(&v)),
                Err(NoteError::BadSignature { .. })
            ));
            assert_eq!(
                short.verify(&[b.verifier()]),
                Err(NoteError::NoTrustedSignature)
            );
        }
    }

    #[test]
    fn malformed_notes() {
        use NoteError::*;
        let line = EXAMPLE_NOTE.split_once("\n\n").unwrap().1;
        let sig = |b64: &str| format!("text\n\n— example.com/foo {b64}\n");
        let many = |n: usize| format!("text\n\n{}", line.repeat(n));
        let huge = format!("{}\n\n{line}", "a".repeat(MAX_NOTE_SIZE));
        let cases: Vec<(String, NoteError)> = vec![
            (
                format!("This is an example message.\n{line}"),
                MissingSeparator,
            ),
            ("text\n\n".into(), NoSignatures),
            (format!("text\r\n\n{line}"), ControlCharacter),
            (format!("te\u{0}xt\n\n{line}"), ControlCharacter),
            (EXAMPLE_NOTE.trim_end().into(), MissingFinalNewline),
            (format!("{EXAMPLE_NOTE}\n"), NoSignatures),
            (huge, TooLarge(MAX_NOTE_SIZE + 2 + line.len())),
            (many(MAX_SIGNATURES + 1), TooManySignatures),
        ];
        for (input, want) in cases {
            assert_eq!(Note::parse(&input), Err(want), "{:?}", input.get(..80));
        }
        let bad_lines = [
            EXAMPLE_NOTE.replace('—', "-"),
            EXAMPLE_NOTE.replace("— ", "—"),
            EXAMPLE_NOTE.replace("— ", "— \u{2014} "),
            EXAMPLE_NOTE.replace("example.com/foo", "example.com/foo+1"),
            EXAMPLE_NOTE.replace("example.com/foo ", ""),
            EXAMPLE_NOTE.replace("example.com/foo", ""),
            EXAMPLE_NOTE.replace("=\n", "\n"),
            EXAMPLE_NOTE.replace("QM=", "QN="),
            EXAMPLE_NOTE.replace("Uw2Q", "Uw2Q "),
            sig("Uw2Q!kn8"),
            sig("AAAAAA=="),
            sig(""),
            format!("text\n\n{line}\u{a0}\n"),
        ];
        for input in bad_lines {
            assert!(
                matches!(Note::parse(&input), Err(MalformedSigLine { .. })),
                "{input:?}"
            );
        }
        assert_eq!(
            Note::parse(&many(MAX_SIGNATURES)).unwrap().sigs.len(),
            MAX_SIGNATURES
        );
        let mut note = Note::parse(&many(MAX_SIGNATURES)).unwrap();
        let extra = signer("example.com/x", ED25519, 5)
            .sign_note("text\n")
            .unwrap();
        assert_eq!(note.add_sig_lines(&extra), Err(TooManySignatures));
        assert_eq!(note.sigs.len(), MAX_SIGNATURES, "unchanged on error");
        assert!(
            note.add_sig_lines("").is_err() && note.add_sig_lines(&format!("{extra}\n")).is_err()
        );
    }

    #[test]
    fn malformed_verifier_keys() {
        use NoteError::*;
        let vkey = |name: &str, raw: &[u8]| {
            format!(
                "{name}+{}+{}",
                hex::encode(key_id(name, raw[0], &raw[1..])),
                B64.encode(raw)
            )
        };
        let mut raw = vec![ED25519];
        raw.extend_from_slice(&[7; 32]);
        assert!(Verifier::parse(&vkey("a", &raw)).is_ok());
        let mut t2 = raw.clone();
        t2[0] = 0x02;
        assert_eq!(Verifier::parse(&vkey("a", &t2)), Err(UnsupportedKeyType(2)));
        assert_eq!(Verifier::parse(&vkey("a b", &raw)), Err(InvalidKeyName));
        assert!(matches!(
            Verifier::parse(&EXAMPLE_VKEY.replace("530d903a", "530d903b")),
            Err(KeyIdMismatch { .. })
        ));
        for bad in [
            vkey("a", &raw[..32]),
            vkey("a", &[raw.as_slice(), &[0]].concat()),
            EXAMPLE_VKEY.replace("530d903a", "530D903A"),
            EXAMPLE_VKEY.replace("530d903a", "530d903"),
            EXAMPLE_VKEY.replace("530d903a", "0x530d903a"),
            EXAMPLE_VKEY.replace("3U2k", "3U2"),
            "example.com/foo+530d903a".into(),
            "example.com/foo+530d903a+".into(),
        ] {
            assert!(
                matches!(Verifier::parse(&bad), Err(MalformedVerifierKey(_))),
                "{bad}"
            );
        }
        assert_eq!(Verifier::new("a+b", ED25519, [0; 32]), Err(InvalidKeyName));
        assert_eq!(Verifier::new("", ED25519, [0; 32]), Err(InvalidKeyName));
        assert_eq!(
            Verifier::new("a", 0x06, [0; 32]),
            Err(UnsupportedKeyType(6))
        );
    }

    #[test]
    fn tree_heads() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for ok in [
            format!("o\n0\n{root}\n"),
            format!("o r+\n18446744073709551615\n{root}\next 1\n— x\n"),
        ] {
            assert_eq!(TreeHead::parse(&ok).unwrap().to_text(), ok);
        }
        let th = TreeHead::parse(&format!("o\n1\n{root}\nx\n")).unwrap();
        assert_eq!((th.size, th.extensions), (1, vec!["x".to_owned()]));
        let b31 = B64.encode([1u8; 31]);
        let b33 = B64.encode([1u8; 33]);
        for bad in [
            String::new(),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n00\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n 1\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n1\n".into(),
            format!("o\n1\n{b31}\n"),
            format!("o\n1\n{b33}\n"),
            format!("o\n1\n{}\n", root.trim_end_matches('=')),
            format!("o\n1\n{}\n", root.replace("2I=", "2J=")),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}\nx\n\ny\n"),
            format!("o\n1\n{root}"),
            format!("o\n1\n{root}\nx\ty\n"),
            format!("o\n1\n{root}\n{}\n", "x".repeat(MAX_NOTE_SIZE)),
        ] {
            assert!(TreeHead::parse(&bad).is_err(), "{:?}", bad.get(..60));
        }
    }

    #[test]
    fn signer_errors_and_debug() {
        use NoteError::*;
        let (n, w) = (signer("n", ED25519, 1), signer("w", COSIGNATURE_V1, 2));
        assert_eq!(
            w.sign_note("a\n"),
            Err(WrongSignerKind {
                wanted: ED25519,
                actual: COSIGNATURE_V1
            })
        );
        assert_eq!(
            n.cosign(CHECKPOINT, 1),
            Err(WrongSignerKind {
                wanted: COSIGNATURE_V1,
                actual: ED25519
            })
        );
        assert_eq!(
            w.cosign(CHECKPOINT, MAX_TIMESTAMP + 1),
            Err(TimestampOutOfRange)
        );
        assert!(matches!(
            w.cosign("not\na checkpoint\n", 1),
            Err(MalformedCheckpoint(_))
        ));
        assert_eq!(n.sign_note("no newline"), Err(MissingFinalNewline));
        assert_eq!(n.sign_note("a\tb\n"), Err(ControlCharacter));
        assert_eq!(
            NoteSigner::from_pkcs8("n", ED25519, &[0x30, 0]).unwrap_err(),
            InvalidPrivateKey
        );
        assert_eq!(
            NoteSigner::from_pkcs8("n m", ED25519, &pkcs8_v1(&[1; 32])).unwrap_err(),
            InvalidKeyName
        );
        assert_eq!(
            NoteSigner::from_pkcs8("n", 2, &pkcs8_v1(&[1; 32])).unwrap_err(),
            UnsupportedKeyType(2)
        );
        let s = NoteSigner::from_pkcs8("n", ED25519, &pkcs8_v1(&[0xab; 32])).unwrap();
        let dbg = format!("{s:?}");
        assert!(
            dbg.contains("\"n\"") && !dbg.contains("abab") && !dbg.contains("171, 171"),
            "{dbg}"
        );
    }

    /// xorshift64: a deterministic PRNG for the property test.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    #[test]
    fn random_inputs_never_panic() {
        let pieces = [
            "\n", "\n\n", "— ", "—", " ", "+", "=", "a", "é", "0", "01", "7", "\t", "\r", "\u{0}", "\u{a0}", "\u{7f}",
            "example.com/foo", "Uw2QOkn8", "AAAAAAAA", "AAAA====", "530d903a", "20852163", "cosignature/v1",
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
            "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=",
        ];
        let trusted = [
            Verifier::parse(EXAMPLE_VKEY).unwrap(),
            signer("example.com/foo", COSIGNATURE_V1, 1).verifier(),
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..4000 {
            let mut s = String::new();
            for _ in 0..rng.below(24) {
                s.push_str(pieces[rng.below(pieces.len())]);
            }
            // Also splice pieces into a valid note or checkpoint at char boundaries.
            let mut m: Vec<char> = [EXAMPLE_NOTE, CHECKPOINT][rng.below(2)].chars().collect();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(m.len());
                let piece: Vec<char> = pieces[rng.below(pieces.len())].chars().collect();
                m.splice(at..at + rng.below(2).min(m.len() - at), piece);
            }
            for input in [s, m.into_iter().collect()] {
                if let Ok(note) = Note::parse(&input) {
                    let _ = note.verify(&trusted);
                    assert_eq!(note.to_string(), input, "parse/serialise is the identity");
                    let _ = note.clone().add_sig_lines(&input);
                }
                if let Ok(th) = TreeHead::parse(&input) {
                    assert_eq!(th.to_text(), input);
                }
                let _ = Verifier::parse(&input);
            }
        }
    }
}
