//! The log's checkpoints: C2SP `tlog-checkpoint` signed notes over each
//! chain's Merkle tree.
//!
//! ```text
//! credgate.local/3f9c…e1            origin: one log per chain
//! 1000                              tree size (entries)
//! 2Q0k…=                            base64 root hash (RFC 9162)
//! kind periodic                     extension: genesis | periodic | final | sealed
//! time 1780000000000                extension: UTC unix ms when signed
//! link credgate.local/77ab… 5120 Xy…=   genesis only: the latest checkpoint
//!                                       of every chain the store held
//!
//! — credgate-audit AbCd…            Ed25519 (signed-note type 0x01)
//! — witness.example/w1 …            cosignatures a witness returned
//! ```
//!
//! Kinds: `genesis` opens a chain at size 0 and names (links) the chains
//! before it; `periodic` every `checkpoint_every` entries and at least every
//! `checkpoint_interval_ms` while entries arrive; `final` at shutdown;
//! `sealed` by a later open over a chain a crash left open, after
//! verifying it. No entry may follow a `final` or `sealed` checkpoint.
//!
//! Only the first three lines mean anything to a witness or to a generic
//! checkpoint verifier; the extension lines are covered by the log's
//! signature and by Ed25519 cosignatures, and read by credgate's verifiers.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::error::AuditError;
use crate::merkle::Hash;
use crate::note::{Note, NoteSigner, TreeHead, Verifier, ED25519};

/// What a checkpoint marks (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A chain's start, at size 0, with its links.
    Genesis,
    /// While entries arrive.
    Periodic,
    /// At shutdown: the chain is closed.
    Final,
    /// By a later open, over a crashed chain it verified: closed.
    Sealed,
}

impl Kind {
    /// The text in the `kind` extension line and the store's `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Genesis => "genesis",
            Kind::Periodic => "periodic",
            Kind::Final => "final",
            Kind::Sealed => "sealed",
        }
    }

    /// Parses [`Kind::as_str`].
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "genesis" => Some(Kind::Genesis),
            "periodic" => Some(Kind::Periodic),
            "final" => Some(Kind::Final),
            "sealed" => Some(Kind::Sealed),
            _ => None,
        }
    }

    /// Whether no entry may follow it.
    pub fn closes(self) -> bool {
        matches!(self, Kind::Final | Kind::Sealed)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A genesis checkpoint's statement about an earlier chain: its latest
/// checkpoint when the new chain opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The earlier chain's origin.
    pub origin: String,
    /// Its tree size then.
    pub size: u64,
    /// Its root hash at that size.
    pub root: Hash,
}

/// A parsed, signature-checked checkpoint of one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The origin line.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash at that size.
    pub root: Hash,
    /// What it marks.
    pub kind: Kind,
    /// When it was signed (UTC unix ms).
    pub time_ms: i64,
    /// Genesis only: the chains it names.
    pub links: Vec<Link>,
    /// Genesis only, when written (`every N`): the chain's writer signs a
    /// checkpoint with every entry whose sequence number is a multiple of
    /// N, in the same transaction ([`crate::verify`] holds a chain to it).
    pub every: Option<u64>,
    /// The whole signed note (text, blank line, signature lines).
    pub note: String,
}

/// The origin of a chain's log: `template` with `<chain_id>` replaced, or
/// `template/<chain_id>` when it has no such placeholder (every chain is
/// its own log, so origins must differ).
pub fn origin_for(template: &str, chain_id: &str) -> String {
    if template.contains("<chain_id>") {
        template.replace("<chain_id>", chain_id)
    } else {
        format!("{}/{chain_id}", template.trim_end_matches('/'))
    }
}

/// Signs checkpoints with the audit key.
pub struct CheckpointSigner {
    signer: NoteSigner,
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckpointSigner { .. }")
    }
}

impl CheckpointSigner {
    /// The audit key (Ed25519 PKCS#8) under the signed-note key name `name`.
    pub fn new(name: &str, pkcs8: &[u8]) -> Result<CheckpointSigner, AuditError> {
        let signer = NoteSigner::from_pkcs8(name, ED25519, pkcs8)
            .map_err(|e| AuditError::Store(format!("audit signing key: {e}")))?;
        Ok(CheckpointSigner { signer })
    }

    /// The signed-note verifier key (`name+id+key`) of the audit key.
    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// Signs a checkpoint.
    pub fn sign(
        &self,
        origin: &str,
        size: u64,
        root: &Hash,
        kind: Kind,
        time_ms: i64,
        links: &[Link],
    ) -> Result<Checkpoint, AuditError> {
        self.sign_with_every(origin, size, root, kind, time_ms, links, None)
    }

    /// A chain's genesis checkpoint (size 0, the empty tree) naming
    /// `links` and the writer's `checkpoint_every` (`every N`).
    pub fn sign_genesis(
        &self,
        origin: &str,
        time_ms: i64,
        links: &[Link],
        every: u64,
    ) -> Result<Checkpoint, AuditError> {
        let root = crate::merkle::empty_root();
        self.sign_with_every(origin, 0, &root, Kind::Genesis, time_ms, links, Some(every))
    }

    #[allow(clippy::too_many_arguments)]
    fn sign_with_every(
        &self,
        origin: &str,
        size: u64,
        root: &Hash,
        kind: Kind,
        time_ms: i64,
        links: &[Link],
        every: Option<u64>,
    ) -> Result<Checkpoint, AuditError> {
        let mut extensions = vec![format!("kind {kind}"), format!("time {time_ms}")];
        if let Some(every) = every {
            extensions.push(format!("every {every}"));
        }
        for l in links {
            extensions.push(format!(
                "link {} {} {}",
                l.origin,
                l.size,
                B64.encode(l.root)
            ));
        }
        let head = TreeHead {
            origin: origin.to_owned(),
            size,
            root: *root,
            extensions,
        };
        let text = head.to_text();
        let sig = self
            .signer
            .sign_note(&text)
            .map_err(|e| AuditError::Store(format!("signing a checkpoint: {e}")))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root: *root,
            kind,
            time_ms,
            links: links.to_vec(),
            every,
            note: format!("{text}\n{sig}"),
        })
    }
}

/// Why a stored or exported checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadCheckpoint(pub String);

/// The audit key as verifiers know it: a raw Ed25519 public key, with or
/// without its signed-note name. Without a name, any signature line whose
/// key id matches the key under the line's own name is checked.
#[derive(Debug, Clone)]
pub struct LogKey {
    public_key: [u8; 32],
    name: Option<String>,
}

impl LogKey {
    /// From a raw 32-byte Ed25519 key.
    pub fn raw(public_key: &[u8]) -> Result<LogKey, AuditError> {
        let public_key: [u8; 32] = public_key
            .try_into()
            .map_err(|_| AuditError::InvalidPublicKey(public_key.len()))?;
        Ok(LogKey {
            public_key,
            name: None,
        })
    }

    /// From a signed-note verifier key (`name+id+base64`).
    pub fn from_vkey(vkey: &str) -> Result<LogKey, AuditError> {
        let v = Verifier::parse(vkey)
            .map_err(|e| AuditError::Store(format!("audit verifier key: {e}")))?;
        if v.kind != ED25519 {
            return Err(AuditError::Store(
                "audit verifier key is not an Ed25519 signed-note key".into(),
            ));
        }
        Ok(LogKey {
            public_key: v.public_key,
            name: Some(v.name),
        })
    }

    /// The raw public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// Verifiers to try on a note's signature lines.
    fn verifiers(&self, note: &Note) -> Vec<Verifier> {
        let mut names: Vec<&str> = match &self.name {
            Some(n) => vec![n.as_str()],
            None => note.sigs.iter().map(|s| s.name.as_str()).collect(),
        };
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .filter_map(|n| Verifier::new(n, ED25519, self.public_key).ok())
            .collect()
    }

    /// Parses a checkpoint note and checks its signature by this key.
    pub fn open(&self, note_text: &str) -> Result<Checkpoint, BadCheckpoint> {
        let bad = |why: String| BadCheckpoint(why);
        let note = Note::parse(note_text).map_err(|e| bad(format!("not a signed note: {e}")))?;
        let verifiers = self.verifiers(&note);
        note.verify(&verifiers)
            .map_err(|e| bad(format!("checkpoint signature does not verify: {e}")))?;
        checkpoint_of(&note, note_text)
    }
}

/// Parses a checkpoint note whose signature was checked already (by
/// [`LogKey::open`] on the same text): the fields, without the Ed25519 work
/// again.
pub(crate) fn reopen(note_text: &str) -> Result<Checkpoint, BadCheckpoint> {
    let note =
        Note::parse(note_text).map_err(|e| BadCheckpoint(format!("not a signed note: {e}")))?;
    checkpoint_of(&note, note_text)
}

/// The checkpoint a parsed note's text holds.
fn checkpoint_of(note: &Note, note_text: &str) -> Result<Checkpoint, BadCheckpoint> {
    let bad = |why: String| BadCheckpoint(why);
    let head = TreeHead::parse(&note.text).map_err(|e| bad(format!("not a checkpoint: {e}")))?;
    let mut kind = None;
    let mut time_ms = None;
    let mut every = None;
    let mut links = Vec::new();
    for ext in &head.extensions {
        let mut parts = ext.split(' ');
        match (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) {
            (Some("kind"), Some(k), None, _, _) if kind.is_none() => {
                kind = Some(Kind::parse(k).ok_or_else(|| bad(format!("unknown kind `{k}`")))?);
            }
            (Some("time"), Some(t), None, _, _) if time_ms.is_none() => {
                time_ms = Some(t.parse::<i64>().map_err(|_| bad("bad time line".into()))?);
            }
            (Some("every"), Some(n), None, _, _) if every.is_none() => {
                every = Some(
                    n.parse::<u64>()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| bad("bad every line".into()))?,
                );
            }
            (Some("link"), Some(origin), Some(size), Some(root), None) => {
                let size = size
                    .parse::<u64>()
                    .map_err(|_| bad("bad link size".into()))?;
                let root = B64
                    .decode(root)
                    .ok()
                    .and_then(|r| <[u8; 32]>::try_from(r).ok())
                    .ok_or_else(|| bad("bad link root".into()))?;
                links.push(Link {
                    origin: origin.to_owned(),
                    size,
                    root,
                });
            }
            _ => return Err(bad("unknown or repeated extension line".into())),
        }
    }
    let kind = kind.ok_or_else(|| bad("no kind line".into()))?;
    if (!links.is_empty() || every.is_some()) && kind != Kind::Genesis {
        return Err(bad("links or every outside a genesis checkpoint".into()));
    }
    Ok(Checkpoint {
        origin: head.origin,
        size: head.size,
        root: head.root,
        kind,
        time_ms: time_ms.ok_or_else(|| bad("no time line".into()))?,
        links,
        every,
        note: note_text.to_owned(),
    })
}

#[cfg(test)]
mod tests;
