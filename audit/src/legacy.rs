//! Verification of chains written before schema 3 (hash chain and
//! `credgate-audit-checkpoint-v2` checkpoints, see [`crate::checkpoint`]).
//! Used once per such chain, by the first writer that opens the store,
//! before it builds the chain's Merkle tree and signs a checkpoint note
//! over it (`writer::migrate_legacy_chains`): nothing is signed that this
//! walk did not verify.
//!
//! Per chain, entries are walked by `seq`. Each entry must carry the next
//! `seq` (a gap means a deleted entry), link to the previous entry's hash
//! (catches swaps and inserts), and hash to its stored `hash` (catches any
//! altered field). Checkpoints (see [`crate::checkpoint`]) must carry a valid
//! signature by the given key and name the hash the walk computed at their
//! `seq`. On top of that:
//! - every chain must start with a signed **genesis** checkpoint at seq 0
//!   (none: a forged chain, reported at seq 0); it fixes the cadence `every`,
//!   and every other checkpoint of the chain must name the same cadence;
//! - every multiple of `every` the walk reaches must have a signed periodic
//!   checkpoint (a deleted checkpoint row is reported at its seq);
//! - no entry may follow a **final** or **sealed** checkpoint (reported at
//!   the first extra seq);
//! - a checkpoint beyond the last entry means the chain was truncated.
//!
//! The store verifier adds one rule across chains (see
//! [`crate::reader::Reader::verify`]): only the newest chain may be open
//! (without a final or sealed checkpoint): it is the live writer's. The
//! report names the first bad `seq`.

use std::collections::BTreeMap;

use crate::checkpoint::{signature_valid, Checkpoint, CheckpointKind};
use crate::entry::{entry_hash, parse_hash, Entry, GENESIS_HASH};
use crate::verify::Tamper;

/// Where the walk of a chain starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// At seq 1 with the genesis hash (a whole chain).
    Genesis,
    /// At whatever seq the first entry has, trusting its `prev_hash`
    /// (an export that covers part of a chain).
    Anchored,
}

/// What a finished walk counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Walked {
    /// Entries checked.
    pub(crate) entries: u64,
    /// Checkpoint signatures checked.
    pub(crate) checkpoints: u64,
    /// Seq of the last entry walked (0: none).
    pub(crate) last_seq: u64,
}

/// Walks one chain entry by entry.
pub(crate) struct ChainVerifier<'k> {
    chain_id: String,
    public_key: &'k [u8],
    /// Checkpoints not yet reached, by (seq, kind).
    pending: BTreeMap<(u64, CheckpointKind), Checkpoint>,
    start: Start,
    /// The chain's cadence, from its genesis checkpoint.
    every: u64,
    /// Signed time of the genesis checkpoint.
    genesis_time_ms: i64,
    /// Lowest seq of a final or sealed checkpoint.
    closed_at: Option<u64>,
    /// Periodic checkpoints are required at multiples of `every` up to here.
    cadence_upto: u64,
    next_seq: u64,
    prev: [u8; 32],
    /// Lowercase hex of `prev`, compared byte-wise with stored hex (no decoding).
    prev_hex: [u8; 64],
    started: bool,
    entries: u64,
    checkpoints: u64,
    scratch: Vec<u8>,
}

impl<'k> ChainVerifier<'k> {
    pub(crate) fn new(
        chain_id: &str,
        checkpoints: Vec<Checkpoint>,
        public_key: &'k [u8],
        start: Start,
    ) -> Result<Self, Tamper> {
        let mut pending = BTreeMap::new();
        for cp in checkpoints {
            if cp.chain_id != chain_id {
                return Err(Tamper {
                    seq: cp.seq,
                    why: "checkpoint filed under another chain".into(),
                });
            }
            let seq = cp.seq;
            if pending.insert((seq, cp.kind), cp).is_some() {
                return Err(Tamper {
                    seq,
                    why: "two checkpoints of one kind for one seq".into(),
                });
            }
        }
        let mut v = ChainVerifier {
            chain_id: chain_id.to_owned(),
            public_key,
            pending,
            start,
            every: 0,
            genesis_time_ms: 0,
            closed_at: None,
            cadence_upto: u64::MAX,
            next_seq: 1,
            prev: GENESIS_HASH,
            prev_hex: [b'0'; 64],
            started: false,
            entries: 0,
            checkpoints: 0,
            scratch: Vec::with_capacity(1024),
        };
        let genesis = v
            .pending
            .iter()
            .find(|((_, k), _)| *k == CheckpointKind::Genesis)
            .map(|(key, _)| *key);
        let Some(gkey) = genesis else {
            return Err(Tamper {
                seq: 0,
                why: "chain has no signed genesis checkpoint (not started by the audit signer)"
                    .into(),
            });
        };
        let Some(g) = v.pending.remove(&gkey) else {
            return Err(Tamper {
                seq: 0,
                why: "genesis checkpoint vanished".into(),
            });
        };
        if g.seq != 0 {
            return Err(Tamper {
                seq: g.seq,
                why: "genesis checkpoint not at seq 0".into(),
            });
        }
        v.check_checkpoint(&g, Some(&GENESIS_HASH))?;
        if g.every == 0 {
            return Err(Tamper {
                seq: 0,
                why: "genesis checkpoint names no cadence".into(),
            });
        }
        v.every = g.every;
        v.genesis_time_ms = g.time_ms;
        if let Some(((seq, _), _)) = v.pending.iter().find(|(_, cp)| cp.every != g.every) {
            return Err(Tamper {
                seq: *seq,
                why: "checkpoint names another cadence than the chain's genesis".into(),
            });
        }
        v.closed_at = v
            .pending
            .keys()
            .filter(|(_, k)| k.closes())
            .map(|(s, _)| *s)
            .min();
        // A chain closed before its first entry.
        let at_zero: Vec<(u64, CheckpointKind)> = v
            .pending
            .range(..(1, CheckpointKind::Genesis))
            .map(|(k, _)| *k)
            .collect();
        for key in at_zero {
            if let Some(cp) = v.pending.remove(&key) {
                v.check_checkpoint(&cp, Some(&GENESIS_HASH))?;
            }
        }
        Ok(v)
    }

    fn check_checkpoint(&mut self, cp: &Checkpoint, hash: Option<&[u8; 32]>) -> Result<(), Tamper> {
        if !signature_valid(cp, self.public_key) {
            return Err(Tamper {
                seq: cp.seq,
                why: format!("{} checkpoint signature does not verify", cp.kind.as_str()),
            });
        }
        if let Some(h) = hash {
            if parse_hash(&cp.hash).as_ref() != Some(h) {
                return Err(Tamper {
                    seq: cp.seq,
                    why: "entry hash differs from the signed checkpoint".into(),
                });
            }
        }
        self.checkpoints += 1;
        Ok(())
    }

    /// Checks the next entry of the chain.
    pub(crate) fn push(&mut self, e: &Entry) -> Result<(), Tamper> {
        let computed = link_hash(&mut self.scratch, &self.chain_id, e);
        self.push_link(e.seq, &e.prev_hash, &e.hash, computed)
    }

    /// Checks the next entry of the chain given as its seq, stored
    /// `prev_hash` and `hash`, and [`link_hash`] of it (computed wherever
    /// the entry was parsed: the offline verify hashes on its parsing
    /// thread). Used only once `prev_hash` is found to link to the previous
    /// entry, so it is then the hash this verifier would compute itself.
    pub(crate) fn push_link(
        &mut self,
        seq: u64,
        prev_hash: &str,
        hash: &str,
        computed: Option<[u8; 32]>,
    ) -> Result<(), Tamper> {
        let e = Link {
            seq,
            prev_hash,
            hash,
        };
        if !self.started {
            self.started = true;
            if self.start == Start::Anchored && e.seq > 1 {
                self.next_seq = e.seq;
                self.prev = parse_hash(e.prev_hash).ok_or_else(|| Tamper {
                    seq: e.seq,
                    why: "prev_hash is not a hex sha-256".into(),
                })?;
                // Infallible: 64 bytes of room for 32 bytes of hex.
                let _ = hex::encode_to_slice(self.prev, &mut self.prev_hex);
                // Checkpoints before the exported range: signature only.
                let before: Vec<(u64, CheckpointKind)> = self
                    .pending
                    .range(..(e.seq, CheckpointKind::Genesis))
                    .map(|(k, _)| *k)
                    .collect();
                for key in before {
                    if let Some(cp) = self.pending.remove(&key) {
                        self.check_checkpoint(&cp, None)?;
                    }
                }
            }
        }
        if e.seq != self.next_seq {
            let why = if e.seq > self.next_seq {
                "entry missing (sequence gap)"
            } else {
                "entry out of order or duplicated"
            };
            return Err(Tamper {
                seq: self.next_seq.min(e.seq),
                why: why.into(),
            });
        }
        if let Some(c) = self.closed_at.filter(|c| e.seq > *c) {
            return Err(Tamper {
                seq: e.seq,
                why: format!("entry after the chain's final checkpoint at seq {c}"),
            });
        }
        // Stored hashes are lowercase hex; anything else does not match.
        if e.prev_hash.as_bytes() != self.prev_hex.as_slice() {
            return Err(Tamper {
                seq: e.seq,
                why: "prev_hash does not link to the previous entry".into(),
            });
        }
        // None: prev_hash is not hex, which the link check above refused.
        let h = computed.ok_or_else(|| Tamper {
            seq: e.seq,
            why: "prev_hash is not a hex sha-256".into(),
        })?;
        let mut h_hex = [0u8; 64];
        let _ = hex::encode_to_slice(h, &mut h_hex);
        if e.hash.as_bytes() != h_hex.as_slice() {
            return Err(Tamper {
                seq: e.seq,
                why: "entry content does not match its hash".into(),
            });
        }
        let mut periodic = false;
        let here: Vec<(u64, CheckpointKind)> = self
            .pending
            .range((e.seq, CheckpointKind::Genesis)..=(e.seq, CheckpointKind::Sealed))
            .map(|(k, _)| *k)
            .collect();
        for key in here {
            if let Some(cp) = self.pending.remove(&key) {
                self.check_checkpoint(&cp, Some(&h))?;
                periodic |= cp.kind == CheckpointKind::Periodic;
            }
        }
        if !periodic && e.seq <= self.cadence_upto && e.seq.checked_rem(self.every) == Some(0) {
            return Err(Tamper {
                seq: e.seq,
                why: format!(
                    "signed checkpoint missing at seq {} (the chain signs one every {})",
                    e.seq, self.every
                ),
            });
        }
        self.prev = h;
        self.prev_hex = h_hex;
        self.next_seq = e.seq.saturating_add(1);
        self.entries += 1;
        Ok(())
    }

    /// Ends the walk: a checkpoint beyond the last entry means truncation.
    pub(crate) fn finish(mut self) -> Result<Walked, Tamper> {
        if let Some(((seq, _), cp)) = self.pending.pop_first() {
            // A forged checkpoint beyond the end is still reported at the
            // truncation point, but say so if its signature is bad too.
            let why = if signature_valid(&cp, self.public_key) {
                format!("chain truncated: checkpoint at seq {seq} names a missing entry")
            } else {
                format!("checkpoint at seq {seq} beyond the last entry has a bad signature")
            };
            return Err(Tamper {
                seq: self.next_seq,
                why,
            });
        }
        Ok(Walked {
            entries: self.entries,
            checkpoints: self.checkpoints,
            last_seq: self.next_seq.saturating_sub(1),
        })
    }
}

/// The parts of a stored entry [`ChainVerifier::push_link`] looks at.
struct Link<'a> {
    seq: u64,
    prev_hash: &'a str,
    hash: &'a str,
}

/// `SHA-256(prev_hash || canonical bytes)` of an entry, with the
/// `prev_hash` it carries (None if that is not a hex SHA-256).
pub(crate) fn link_hash(scratch: &mut Vec<u8>, chain_id: &str, e: &Entry) -> Option<[u8; 32]> {
    let prev = parse_hash(&e.prev_hash)?;
    Some(entry_hash(scratch, &prev, chain_id, e.seq, &e.entry))
}

#[cfg(test)]
mod tests;
