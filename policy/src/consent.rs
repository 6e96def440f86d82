//! Consent tokens: a subject's written consent for one grantee, signed by the
//! platform's consent authority (Ed25519).
//!
//! A token is `base64url(payload) "." base64url(signature)` (padding
//! optional); the payload is JSON `{"subject", "grantee", "items", "fields",
//! "not_after"}` and the signature covers the exact payload bytes. This module
//! signs, verifies and identifies tokens; whether a verified token fits an
//! inquiry (subject, grantee, expiry, `max_days`) is decided in
//! [`crate::decide()`]. Only [`token_id`], never the token, may be logged.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::signature::{Ed25519KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Why a token could not be signed or verified. Messages never contain the
/// token or its payload.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConsentError {
    /// Not two base64url parts separated by one `.`.
    #[error("consent token is not `payload.signature` in base64url")]
    Malformed,
    /// The signature does not verify under the consent authority key.
    #[error("consent token signature does not verify")]
    BadSignature,
    /// The signed payload is not the expected JSON.
    #[error("consent token payload is not valid consent JSON")]
    Payload,
    /// `not_after` is not an RFC 3339 timestamp.
    #[error("consent token `not_after` is not an RFC 3339 timestamp")]
    NotAfter,
    /// The public key is not raw 32 bytes, Ed25519 SPKI DER, or PEM.
    #[error("consent authority key is not an Ed25519 public key (raw 32 bytes, SPKI DER or PEM)")]
    PublicKey,
    /// The private key is not an Ed25519 PKCS#8 document.
    #[error("consent signing key is not an Ed25519 PKCS#8 private key")]
    PrivateKey,
    /// The payload could not be serialised.
    #[error("consent payload could not be encoded")]
    Encode,
}

/// The signed statement: `subject` consents to `grantee` seeing `items` and
/// the consent-required `fields` until `not_after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentPayload {
    /// Subject identifier (GB 11643 / GB 32100) the consent is about.
    pub subject: String,
    /// Officer id allowed to use the token.
    pub grantee: String,
    /// Information items covered (absent: none).
    #[serde(default)]
    pub items: Vec<String>,
    /// Consent-required field names covered (matched case-insensitively;
    /// absent: none — a token for items only).
    #[serde(default)]
    pub fields: Vec<String>,
    /// Expiry, RFC 3339.
    pub not_after: String,
}

/// A token whose signature verified and whose payload parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedConsent {
    /// The signed payload.
    pub payload: ConsentPayload,
    /// `payload.not_after`, parsed.
    pub not_after: OffsetDateTime,
    /// [`token_id`] of the token text (safe to log).
    pub token_id: String,
}

/// Sign `payload` with an Ed25519 PKCS#8 (v1 or v2) private key, returning
/// the token text.
pub fn sign(payload: &ConsentPayload, pkcs8_der: &[u8]) -> Result<String, ConsentError> {
    let key = Ed25519KeyPair::from_pkcs8(pkcs8_der)
        .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8_der))
        .map_err(|_| ConsentError::PrivateKey)?;
    let json = serde_json::to_vec(payload).map_err(|_| ConsentError::Encode)?;
    let sig = key.sign(&json);
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(sig.as_ref())
    ))
}

/// Decode one base64url part, with or without `=` padding.
fn decode_part(part: &str) -> Result<Vec<u8>, ConsentError> {
    let trimmed = part.trim_end_matches('=');
    if trimmed.is_empty() {
        return Err(ConsentError::Malformed);
    }
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .map_err(|_| ConsentError::Malformed)
}

/// Verify `token` against a raw 32-byte Ed25519 public key (see
/// [`parse_public_key`]): the signature must cover the exact payload bytes;
/// only then is the payload parsed.
pub fn verify(token: &str, public_key: &[u8]) -> Result<VerifiedConsent, ConsentError> {
    let mut parts = token.split('.');
    let (Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ConsentError::Malformed);
    };
    let payload_bytes = decode_part(p)?;
    let sig = decode_part(s)?;
    if public_key.len() != 32 {
        return Err(ConsentError::PublicKey);
    }
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(&payload_bytes, &sig)
        .map_err(|_| ConsentError::BadSignature)?;
    let payload: ConsentPayload =
        serde_json::from_slice(&payload_bytes).map_err(|_| ConsentError::Payload)?;
    let not_after =
        OffsetDateTime::parse(&payload.not_after, &Rfc3339).map_err(|_| ConsentError::NotAfter)?;
    Ok(VerifiedConsent {
        payload,
        not_after,
        token_id: token_id(token),
    })
}

/// Log-safe identifier of a token: the first 16 hex characters of the
/// SHA-256 of the token's canonical spelling (both parts re-encoded as
/// unpadded base64url), so every spelling of the same bytes that [`verify`]
/// accepts (padded or not) is logged under one id. Text that is not a token
/// is identified by its own bytes.
pub fn token_id(token: &str) -> String {
    let canonical = canonical_token(token);
    let text = canonical.as_deref().unwrap_or(token);
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut hex = hex::encode(digest.as_ref());
    hex.truncate(16);
    hex
}

/// `payload.signature` re-encoded from the decoded bytes as unpadded
/// base64url, or `None` when `token` does not decode.
fn canonical_token(token: &str) -> Option<String> {
    let (p, s) = token.split_once('.')?;
    let payload = decode_part(p).ok()?;
    let sig = decode_part(s).ok()?;
    Some(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(sig)
    ))
}

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Read an Ed25519 public key given as raw 32 bytes, SPKI DER, or PEM
/// (`-----BEGIN PUBLIC KEY-----`); returns the raw 32 bytes.
pub fn parse_public_key(bytes: &[u8]) -> Result<Vec<u8>, ConsentError> {
    if bytes.len() == 32 {
        return Ok(bytes.to_vec());
    }
    if let Some(raw) = bytes.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        if raw.len() == 32 {
            return Ok(raw.to_vec());
        }
        return Err(ConsentError::PublicKey);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ConsentError::PublicKey)?;
    let begin = "-----BEGIN PUBLIC KEY-----";
    let end = "-----END PUBLIC KEY-----";
    let start = text.find(begin).ok_or(ConsentError::PublicKey)? + begin.len();
    let rest = text.get(start..).ok_or(ConsentError::PublicKey)?;
    let stop = rest.find(end).ok_or(ConsentError::PublicKey)?;
    let body: String = rest
        .get(..stop)
        .ok_or(ConsentError::PublicKey)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = STANDARD.decode(body).map_err(|_| ConsentError::PublicKey)?;
    match der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        Some(raw) if raw.len() == 32 => Ok(raw.to_vec()),
        _ => Err(ConsentError::PublicKey),
    }
}

#[cfg(test)]
mod tests;
