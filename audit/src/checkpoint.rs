//! Signed checkpoints over the hash chain.
//!
//! A checkpoint states "chain `chain_id` had hash `hash` at `seq`, at
//! `time_ms`", signed with the audit Ed25519 key. The signed message is:
//!
//! ```text
//! "credgate-audit-checkpoint-v1" 0x00
//! u32 BE length of chain_id || chain_id (UTF-8)
//! seq      u64 BE
//! hash     32 raw bytes
//! time_ms  i64 BE
//! ```
//!
//! The signature is stored and exported as lowercase hex (64 bytes).

use ring::rand::SystemRandom;
use ring::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::error::AuditError;

const CHECKPOINT_TAG: &[u8] = b"credgate-audit-checkpoint-v1\0";

/// A signed statement of a chain's head hash at one sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The chain it covers.
    pub chain_id: String,
    /// The sequence number whose hash it names.
    pub seq: u64,
    /// Hex hash of the entry at `seq`.
    pub hash: String,
    /// UTC unix milliseconds when it was signed.
    pub time_ms: i64,
    /// Hex Ed25519 signature over the message in the module docs.
    pub signature: String,
}

/// The bytes a checkpoint signature covers.
pub fn checkpoint_message(chain_id: &str, seq: u64, hash: &[u8; 32], time_ms: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_TAG.len() + 4 + chain_id.len() + 8 + 32 + 8);
    m.extend_from_slice(CHECKPOINT_TAG);
    let len = u32::try_from(chain_id.len()).unwrap_or(u32::MAX);
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(chain_id.as_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(&time_ms.to_be_bytes());
    m
}

/// The audit signing key.
pub(crate) struct Signer {
    key: Ed25519KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { .. }")
    }
}

impl Signer {
    /// Loads an Ed25519 PKCS#8 (v1 or v2) document.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self, AuditError> {
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| AuditError::InvalidSigningKey)?;
        Ok(Signer { key })
    }

    /// Raw 32-byte public key.
    pub(crate) fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    /// Signs a checkpoint of `chain_id` at `(seq, hash)`.
    pub(crate) fn sign(
        &self,
        chain_id: &str,
        seq: u64,
        hash: &[u8; 32],
        time_ms: i64,
    ) -> Checkpoint {
        let sig = self
            .key
            .sign(&checkpoint_message(chain_id, seq, hash, time_ms));
        Checkpoint {
            chain_id: chain_id.to_owned(),
            seq,
            hash: hex::encode(hash),
            time_ms,
            signature: hex::encode(sig.as_ref()),
        }
    }
}

/// Checks a checkpoint's signature with a raw Ed25519 public key.
pub(crate) fn signature_valid(cp: &Checkpoint, public_key: &[u8]) -> bool {
    let Some(hash) = crate::entry::parse_hash(&cp.hash) else {
        return false;
    };
    let Ok(sig) = hex::decode(&cp.signature) else {
        return false;
    };
    let msg = checkpoint_message(&cp.chain_id, cp.seq, &hash, cp.time_ms);
    UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(&msg, &sig)
        .is_ok()
}

/// Generates a fresh Ed25519 PKCS#8 document (for tests, benches, dev tools).
pub fn generate_signing_key() -> Result<Vec<u8>, AuditError> {
    let rng = SystemRandom::new();
    Ed25519KeyPair::generate_pkcs8(&rng)
        .map(|d| d.as_ref().to_vec())
        .map_err(|_| AuditError::InvalidSigningKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_every_field() {
        let der = generate_signing_key().unwrap();
        let s = Signer::from_pkcs8(&der).unwrap();
        let pk = s.public_key();
        let cp = s.sign("chain", 10, &[7u8; 32], 1234);
        assert!(signature_valid(&cp, &pk));
        let mut c = cp.clone();
        c.seq = 11;
        assert!(!signature_valid(&c, &pk));
        let mut c = cp.clone();
        c.chain_id = "other".into();
        assert!(!signature_valid(&c, &pk));
        let mut c = cp.clone();
        c.time_ms = 1235;
        assert!(!signature_valid(&c, &pk));
        let mut c = cp.clone();
        c.hash = hex::encode([8u8; 32]);
        assert!(!signature_valid(&c, &pk));
        let other = Signer::from_pkcs8(&generate_signing_key().unwrap()).unwrap();
        assert!(!signature_valid(&cp, &other.public_key()));
    }

    #[test]
    fn garbage_key_is_rejected() {
        assert!(matches!(
            Signer::from_pkcs8(b"not a key"),
            Err(AuditError::InvalidSigningKey)
        ));
    }
}
