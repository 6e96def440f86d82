//! Chain verification against signed checkpoints, shared by the store
//! verifier ([`crate::Reader::verify`]), the offline export verifier
//! ([`crate::verify_export`]) and the writer's check before it seals a
//! chain a crash left open.
//!
//! Per chain, entries are walked by `seq` from a starting tree (empty at
//! seq 0, or — for an export that starts mid-chain — the frontier of the
//! tree at a signed checkpoint, whose root must match that checkpoint).
//! Each entry must carry the next `seq` (a gap is a deleted entry), link to
//! the previous entry's hash and hash to its stored `hash` (the hash chain
//! of the first round), and its Merkle leaf extends the tree. Wherever a
//! signed checkpoint (or a later chain's genesis link) names a size, the
//! tree's root at that size must equal the one it names. Then:
//!
//! - a checkpoint or link naming a size beyond the last entry: the chain
//!   was cut ("truncated");
//! - an entry after a `final` or `sealed` checkpoint: appended to a closed
//!   chain;
//! - entries after the last checkpoint are the chain's *unsigned tail*:
//!   counted and reported (an open chain: the live writer's, or one a crash
//!   left for the next open to seal) — or refused, where the caller requires
//!   every entry to be covered (exports).
//!
//! Tampering is reported at the first `seq` that does not verify.

use std::collections::BTreeMap;

use crate::entry::{entry_hashes, parse_hash, Entry};
use crate::merkle::{CompactTree, Hash};
use crate::tree_head::{Checkpoint, Kind};

/// Outcome of a verification. Serialises as the JSON the admin API's
/// `/audit/verify` answers with: `{"result": "intact", "entries": …}` or
/// `{"result": "tampered", "chain_id": …}`, fields in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum VerifyReport {
    /// Every chain verified.
    Intact {
        /// Entries checked.
        entries: u64,
        /// Signed checkpoints checked.
        checkpoints: u64,
        /// Chains walked.
        chains: u64,
        /// Chains without a final or sealed checkpoint (a live writer's, or
        /// one a crash left open for the next writer to verify and seal).
        open_chains: u64,
        /// Entries of open chains after their last signed checkpoint: intact
        /// as far as the hash chain shows, but not yet vouched for.
        unsigned_entries: u64,
    },
    /// Tampering found.
    Tampered {
        /// The chain where it was found.
        chain_id: String,
        /// The first sequence number that does not verify.
        first_bad_seq: u64,
        /// What was wrong there.
        why: String,
    },
}

impl VerifyReport {
    /// Whether nothing was found.
    pub fn is_intact(&self) -> bool {
        matches!(self, VerifyReport::Intact { .. })
    }
}

/// A problem found in one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tamper {
    pub(crate) seq: u64,
    pub(crate) why: String,
}

impl Tamper {
    pub(crate) fn at(seq: u64, why: impl Into<String>) -> Tamper {
        Tamper {
            seq,
            why: why.into(),
        }
    }

    pub(crate) fn report(self, chain_id: &str) -> VerifyReport {
        VerifyReport::Tampered {
            chain_id: chain_id.to_owned(),
            first_bad_seq: self.seq,
            why: self.why,
        }
    }
}

/// A root the tree must have at some size, and who says so.
#[derive(Debug, Clone)]
struct Expect {
    root: Hash,
    by: String,
}

/// What a finished walk counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Walked {
    /// Entries checked.
    pub(crate) entries: u64,
    /// Signed checkpoints whose root was checked.
    pub(crate) checkpoints: u64,
    /// Seq of the last entry walked (the tree's size).
    pub(crate) size: u64,
    /// Entries after the last signed checkpoint.
    pub(crate) unsigned: u64,
    /// Whether a final or sealed checkpoint closes the chain.
    pub(crate) closed: bool,
    /// The tree's root at the end.
    pub(crate) root: Hash,
    /// Multiples of the genesis's `every` past the last checkpoint the
    /// walk was given, with no checkpoint among those: fine only if one
    /// was committed since (a live chain read while it grows); see
    /// [`Walked::confirmed`].
    pub(crate) unconfirmed: Vec<u64>,
}

impl Walked {
    /// The walk of a chain nobody is writing (a crashed chain being
    /// sealed, an export, a chain in memory): a multiple of `every` without
    /// its checkpoint is tampering.
    pub(crate) fn confirmed(self) -> Result<Walked, Tamper> {
        match self.unconfirmed.first() {
            Some(size) => Err(missing_checkpoint(*size)),
            None => Ok(self),
        }
    }
}

/// The stored tree nodes of the entries `computed` names (seq, nodes the
/// walk computed for it) must be those: proofs read them, so nodes edited
/// in the store break every proof through them while the entries still
/// hash to the signed roots (an outside probe: `audit verify` said intact,
/// `audit prove` failed).
pub(crate) async fn check_stored_nodes(
    store: &crate::store::AnyStore,
    chain_id: &str,
    computed: &[(u64, String)],
) -> Result<Result<(), Tamper>, crate::error::AuditError> {
    let seqs: Vec<u64> = computed.iter().map(|(seq, _)| *seq).collect();
    let stored: std::collections::HashMap<u64, Option<String>> = store
        .tree_nodes(chain_id, &seqs)
        .await?
        .into_iter()
        .collect();
    for (seq, nodes) in computed {
        if stored.get(seq).and_then(|n| n.as_deref()) != Some(nodes.as_str()) {
            return Ok(Err(Tamper::at(
                *seq,
                "stored Merkle tree nodes are not the ones the entries make (proofs read them)",
            )));
        }
    }
    Ok(Ok(()))
}

/// The tampering of an entry at `size`, a multiple of the chain's `every`,
/// without the checkpoint its writer signed with it.
pub(crate) fn missing_checkpoint(size: u64) -> Tamper {
    Tamper::at(
        size,
        format!(
            "no signed checkpoint at size {size}, where the chain's writer signs one with the entry (its genesis's `every`): checkpoints deleted?"
        ),
    )
}

/// Walks one chain entry by entry against its checkpoints.
pub(crate) struct TreeWalker {
    chain_id: String,
    /// Roots named for sizes not reached yet.
    expect: BTreeMap<u64, Vec<Expect>>,
    /// Lowest size of a final or sealed checkpoint.
    closed_at: Option<u64>,
    /// Highest size a signed checkpoint of this chain names.
    max_signed: u64,
    /// The genesis's `every N`, and the sizes among its multiples that a
    /// checkpoint covers: an entry at any other multiple lacks the
    /// checkpoint its writer signed with it (deleted).
    every: Option<(u64, std::collections::HashSet<u64>)>,
    /// See [`Walked::unconfirmed`].
    unconfirmed: Vec<u64>,
    notes: u64,
    tree: CompactTree,
    completed: Vec<Hash>,
    next_seq: u64,
    /// Lowercase hex of the previous entry's hash; None at an anchored
    /// start (the first entry's prev_hash is then taken as it is).
    prev_hex: Option<[u8; 64]>,
    entries: u64,
}

impl TreeWalker {
    /// A walker for `chain_id` given its signed checkpoints (already
    /// signature-checked and known to belong to the chain).
    pub(crate) fn new(chain_id: &str, checkpoints: &[Checkpoint]) -> Result<TreeWalker, Tamper> {
        let mut w = TreeWalker {
            chain_id: chain_id.to_owned(),
            expect: BTreeMap::new(),
            closed_at: None,
            max_signed: 0,
            notes: 0,
            tree: CompactTree::new(),
            completed: Vec::with_capacity(8),
            next_seq: 1,
            prev_hex: Some([b'0'; 64]),
            entries: 0,
            every: None,
            unconfirmed: Vec::new(),
        };
        if let Some(every) = checkpoints
            .iter()
            .find(|c| c.kind == Kind::Genesis)
            .and_then(|c| c.every)
        {
            let multiples = checkpoints
                .iter()
                .filter(|c| c.size.checked_rem(every) == Some(0))
                .map(|c| c.size)
                .collect();
            w.every = Some((every, multiples));
        }
        for cp in checkpoints {
            w.expect_root(cp.size, cp.root, format!("{} checkpoint", cp.kind))?;
            w.max_signed = w.max_signed.max(cp.size);
            if cp.kind.closes() {
                w.closed_at = Some(w.closed_at.map_or(cp.size, |c| c.min(cp.size)));
            }
        }
        w.notes = checkpoints.len() as u64;
        Ok(w)
    }

    /// Adds a root the tree must have at `size` (a later chain's link).
    pub(crate) fn expect_root(&mut self, size: u64, root: Hash, by: String) -> Result<(), Tamper> {
        let list = self.expect.entry(size).or_default();
        if let Some(other) = list.iter().find(|e| e.root != root) {
            return Err(Tamper::at(
                size,
                format!("{by} and {} name different roots for size {size}", other.by),
            ));
        }
        list.push(Expect { root, by });
        if size == 0 {
            self.check_size(0)?;
        }
        Ok(())
    }

    /// Starts the walk at `size` from the tree's frontier there (an export
    /// of part of a chain); its root must be one a checkpoint names.
    pub(crate) fn start_at(&mut self, size: u64, frontier: CompactTree) -> Result<(), Tamper> {
        if self.entries > 0 || frontier.size() != size {
            return Err(Tamper::at(size, "tree frontier out of place"));
        }
        // The empty tree: the walk's own start (its genesis was checked in `new`).
        if size == 0 {
            return Ok(());
        }
        let named = self
            .expect
            .get(&size)
            .and_then(|l| l.first())
            .map(|e| e.root);
        if named != Some(frontier.root()) {
            return Err(Tamper::at(
                size,
                "tree frontier does not match a signed checkpoint at its size",
            ));
        }
        self.tree = frontier;
        self.expect.retain(|s, _| *s > size);
        self.next_seq = size + 1;
        self.prev_hex = None;
        Ok(())
    }

    /// Checks every root named for the tree's current size.
    fn check_size(&mut self, size: u64) -> Result<(), Tamper> {
        if let Some(list) = self.expect.remove(&size) {
            let root = self.tree.root();
            if let Some(e) = list.iter().find(|e| e.root != root) {
                return Err(Tamper::at(
                    size,
                    format!("the entries do not hash to the root the {} names", e.by),
                ));
            }
        }
        Ok(())
    }

    /// Checks the next entry.
    pub(crate) fn push(&mut self, scratch: &mut Vec<u8>, e: &Entry) -> Result<(), Tamper> {
        let hashes = parse_hash(&e.prev_hash)
            .map(|prev| entry_hashes(scratch, &prev, &self.chain_id, e.seq, &e.entry));
        self.push_hashed(e.seq, &e.prev_hash, &e.hash, hashes)
    }

    /// Checks the next entry given as its seq, stored `prev_hash` and
    /// `hash`, and its (chain hash, leaf hash) computed from its content
    /// with its stored `prev_hash` (None if that is not hex), wherever it
    /// was parsed.
    pub(crate) fn push_hashed(
        &mut self,
        seq: u64,
        prev_hash: &str,
        hash: &str,
        hashes: Option<(Hash, Hash)>,
    ) -> Result<(), Tamper> {
        if seq != self.next_seq {
            let why = if seq > self.next_seq {
                "entry missing (sequence gap)"
            } else {
                "entry out of order or duplicated"
            };
            return Err(Tamper::at(self.next_seq.min(seq), why));
        }
        if let Some(c) = self.closed_at.filter(|c| seq > *c) {
            return Err(Tamper::at(
                seq,
                format!("entry after the chain's final checkpoint at size {c}"),
            ));
        }
        if let Some(prev) = &self.prev_hex {
            if prev_hash.as_bytes() != prev.as_slice() {
                return Err(Tamper::at(
                    seq,
                    "prev_hash does not link to the previous entry",
                ));
            }
        }
        let (link, leaf) =
            hashes.ok_or_else(|| Tamper::at(seq, "prev_hash is not a hex sha-256"))?;
        let mut link_hex = [0u8; 64];
        let _ = hex::encode_to_slice(link, &mut link_hex);
        if hash.as_bytes() != link_hex.as_slice() {
            return Err(Tamper::at(seq, "entry content does not match its hash"));
        }
        if let Some((every, multiples)) = &self.every {
            if seq.checked_rem(*every) == Some(0) && !multiples.contains(&seq) {
                // Within the checkpoints read it is missing for good; past
                // the last one read it may have been committed since.
                if seq <= self.max_signed {
                    return Err(missing_checkpoint(seq));
                }
                self.unconfirmed.push(seq);
            }
        }
        self.tree.push(leaf, &mut self.completed);
        self.check_size(seq)?;
        self.prev_hex = Some(link_hex);
        self.next_seq = seq.saturating_add(1);
        self.entries += 1;
        Ok(())
    }

    /// The tree nodes the last entry pushed completes, as its row stores
    /// them (lowercase hex, levels 0 up, concatenated).
    pub(crate) fn completed_hex(&self) -> String {
        let mut out = String::with_capacity(64 * self.completed.len());
        for n in &self.completed {
            out.push_str(&hex::encode(n));
        }
        out
    }

    /// Ends the walk: a root named beyond the last entry means the chain
    /// was cut.
    pub(crate) fn finish(self) -> Result<Walked, Tamper> {
        let size = self.next_seq.saturating_sub(1);
        if let Some((s, list)) = self.expect.iter().next() {
            let by = list.first().map(|e| e.by.as_str()).unwrap_or("checkpoint");
            return Err(Tamper::at(
                size.saturating_add(1),
                format!("chain truncated: a {by} names size {s}, the chain ends at {size}"),
            ));
        }
        Ok(Walked {
            entries: self.entries,
            checkpoints: self.notes,
            size,
            unsigned: size.saturating_sub(self.max_signed),
            closed: self.closed_at.is_some(),
            root: self.tree.root(),
            unconfirmed: self.unconfirmed,
        })
    }
}

/// Verifies one whole chain held in memory (entries in seq order from seq
/// 1) against its signed checkpoints, without any store (benches, tools).
pub fn verify_chain<'a>(
    chain_id: &str,
    entries: impl IntoIterator<Item = &'a Entry>,
    checkpoints: &[Checkpoint],
) -> VerifyReport {
    let mut scratch = Vec::with_capacity(1024);
    let result = TreeWalker::new(chain_id, checkpoints).and_then(|mut w| {
        for e in entries {
            w.push(&mut scratch, e)?;
        }
        w.finish().and_then(Walked::confirmed)
    });
    match result {
        Ok(w) => VerifyReport::Intact {
            entries: w.entries,
            checkpoints: w.checkpoints,
            chains: 1,
            open_chains: u64::from(!w.closed),
            unsigned_entries: if w.closed { 0 } else { w.unsigned },
        },
        Err(t) => t.report(chain_id),
    }
}

/// Checks the checkpoints of one chain as read from a store or an export:
/// each must open with the key and name the chain's origin; kinds and sizes
/// must agree with what the row says; a genesis at size 0 must be among
/// them. `rows` are `(size, kind, note text)`.
pub(crate) fn open_checkpoints(
    chain_id: &str,
    rows: &[(u64, String, String)],
    key: &crate::tree_head::LogKey,
) -> Result<Vec<Checkpoint>, Tamper> {
    let mut out: Vec<Checkpoint> = Vec::with_capacity(rows.len());
    for (size, kind, text) in rows {
        let cp = key
            .open(text)
            .map_err(|e| Tamper::at(*size, format!("checkpoint at size {size}: {e}")))?;
        if cp.size != *size || cp.kind.as_str() != kind {
            return Err(Tamper::at(
                *size,
                "checkpoint row's size or kind differs from its signed note",
            ));
        }
        if !cp.origin.contains(chain_id) {
            return Err(Tamper::at(
                *size,
                "checkpoint names another log's origin (filed under the wrong chain)",
            ));
        }
        if let Some(first) = out.first() {
            if first.origin != cp.origin {
                return Err(Tamper::at(
                    *size,
                    "checkpoints of one chain name two origins",
                ));
            }
        }
        out.push(cp);
    }
    if !out.iter().any(|c| c.kind == Kind::Genesis && c.size == 0) {
        return Err(Tamper::at(
            0,
            "chain has no signed genesis checkpoint (not started by the audit signer)",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
