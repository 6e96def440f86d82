//! Signed checkpoints over the hash chain.
//!
//! A checkpoint states "chain `chain_id` had hash `hash` at `seq`, at
//! `time_ms`; it is a checkpoint of kind `kind` in a chain that signs one
//! every `every` entries", signed with the audit Ed25519 key. The signed
//! message (version 2) is:
//!
//! ```text
//! "credgate-audit-checkpoint-v2" 0x00
//! u32 BE length of chain_id || chain_id (UTF-8)
//! kind     u8   (0 genesis, 1 periodic, 2 final, 3 sealed)
//! every    u64 BE (the chain's checkpoint cadence)
//! seq      u64 BE
//! hash     32 raw bytes
//! time_ms  i64 BE
//! ```
//!
//! Kinds:
//! - **genesis**: signed when a chain opens, at seq 0 over the genesis hash
//!   (all zeros). It proves the chain was started by the key holder and fixes
//!   its cadence `every`: a chain without one is forged.
//! - **periodic**: at every multiple of `every` the chain reached.
//! - **final**: at shutdown, over the last entry (seq 0 for an empty chain).
//!   No entry may follow it.
//! - **sealed**: signed by the next `AuditLog::open` over the head of a chain
//!   that a crash left without a final checkpoint. No entry may follow it.
//!   Entries appended after the chain's last periodic checkpoint and before
//!   the crash are vouched for only from the moment of sealing: whoever could
//!   edit the store in between could have altered or dropped them.
//!
//! The signature is stored and exported as lowercase hex (64 bytes).

use ring::rand::SystemRandom;
#[cfg(test)]
use ring::signature::KeyPair;
use ring::signature::{self, Ed25519KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::error::AuditError;

const CHECKPOINT_TAG: &[u8] = b"credgate-audit-checkpoint-v2\0";

/// What a checkpoint marks (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointKind {
    /// The chain's start, at seq 0.
    Genesis,
    /// At a multiple of the cadence.
    Periodic,
    /// Written at shutdown: the chain is closed.
    Final,
    /// Written by a later open over a crashed chain: the chain is closed.
    Sealed,
}

impl CheckpointKind {
    /// The text stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointKind::Genesis => "genesis",
            CheckpointKind::Periodic => "periodic",
            CheckpointKind::Final => "final",
            CheckpointKind::Sealed => "sealed",
        }
    }

    /// The byte in the signed message.
    fn code(self) -> u8 {
        match self {
            CheckpointKind::Genesis => 0,
            CheckpointKind::Periodic => 1,
            CheckpointKind::Final => 2,
            CheckpointKind::Sealed => 3,
        }
    }

    /// Whether no entry may follow it.
    pub fn closes(self) -> bool {
        matches!(self, CheckpointKind::Final | CheckpointKind::Sealed)
    }
}

impl std::str::FromStr for CheckpointKind {
    type Err = AuditError;

    fn from_str(s: &str) -> Result<Self, AuditError> {
        match s {
            "genesis" => Ok(CheckpointKind::Genesis),
            "periodic" => Ok(CheckpointKind::Periodic),
            "final" => Ok(CheckpointKind::Final),
            "sealed" => Ok(CheckpointKind::Sealed),
            other => Err(AuditError::InvalidCheckpointKind(other.to_owned())),
        }
    }
}

/// A signed statement of a chain's head hash at one sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The chain it covers.
    pub chain_id: String,
    /// What it marks.
    pub kind: CheckpointKind,
    /// The chain's checkpoint cadence (entries between periodic checkpoints).
    pub every: u64,
    /// The sequence number whose hash it names.
    pub seq: u64,
    /// Hex hash of the entry at `seq`.
    pub hash: String,
    /// UTC unix milliseconds when it was signed.
    pub time_ms: i64,
    /// Hex Ed25519 signature over the message in the module docs.
    pub signature: String,
}

/// The bytes `cp`'s signature covers; `hash` is its `hash`, decoded.
pub fn checkpoint_message(cp: &Checkpoint, hash: &[u8; 32]) -> Vec<u8> {
    let chain_id = &cp.chain_id;
    let mut m = Vec::with_capacity(CHECKPOINT_TAG.len() + 4 + chain_id.len() + 1 + 8 + 8 + 32 + 8);
    m.extend_from_slice(CHECKPOINT_TAG);
    let len = u32::try_from(chain_id.len()).unwrap_or(u32::MAX);
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(chain_id.as_bytes());
    m.push(cp.kind.code());
    m.extend_from_slice(&cp.every.to_be_bytes());
    m.extend_from_slice(&cp.seq.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(&cp.time_ms.to_be_bytes());
    m
}

/// The audit signing key (the old format is only signed in tests).
#[cfg(test)]
pub(crate) struct Signer {
    key: Ed25519KeyPair,
}

#[cfg(test)]
impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { .. }")
    }
}

#[cfg(test)]
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

    /// Signs a checkpoint of kind `kind` of `chain_id` (cadence `every`) at
    /// `(seq, hash)`.
    pub(crate) fn sign(
        &self,
        chain_id: &str,
        kind: CheckpointKind,
        every: u64,
        seq: u64,
        hash: &[u8; 32],
        time_ms: i64,
    ) -> Checkpoint {
        let mut cp = Checkpoint {
            chain_id: chain_id.to_owned(),
            kind,
            every,
            seq,
            hash: hex::encode(hash),
            time_ms,
            signature: String::new(),
        };
        let sig = self.key.sign(&checkpoint_message(&cp, hash));
        cp.signature = hex::encode(sig.as_ref());
        cp
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
    let msg = checkpoint_message(cp, &hash);
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
mod tests;
