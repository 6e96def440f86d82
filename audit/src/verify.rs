//! Chain verification, shared by the store verifier and the offline export
//! verifier.
//!
//! Per chain, entries are walked by `seq`. Each entry must carry the next
//! `seq` (a gap means a deleted entry), link to the previous entry's hash
//! (catches swaps and inserts), and hash to its stored `hash` (catches any
//! altered field). Every checkpoint must carry a valid signature by the
//! given key and name the hash the walk computed at its `seq`; a checkpoint
//! beyond the last entry means the chain was truncated. The report names the
//! first bad `seq`.

use std::collections::BTreeMap;

use crate::checkpoint::{signature_valid, Checkpoint};
use crate::entry::{entry_hash, parse_hash, Entry, GENESIS_HASH};

/// Outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyReport {
    /// Every chain verified.
    Intact {
        /// Entries checked.
        entries: u64,
        /// Checkpoint signatures checked.
        checkpoints: u64,
        /// Chains walked.
        chains: u64,
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

/// A problem found in one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tamper {
    pub(crate) seq: u64,
    pub(crate) why: String,
}

/// Where the walk of a chain starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// At seq 1 with the genesis hash (a whole chain).
    Genesis,
    /// At whatever seq the first entry has, trusting its `prev_hash`
    /// (an export that covers part of a chain).
    Anchored,
}

/// Walks one chain entry by entry.
pub(crate) struct ChainVerifier<'k> {
    chain_id: String,
    public_key: &'k [u8],
    /// Checkpoints not yet reached, by seq.
    pending: BTreeMap<u64, Checkpoint>,
    start: Start,
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
            if pending.insert(seq, cp).is_some() {
                return Err(Tamper {
                    seq,
                    why: "two checkpoints for one seq".into(),
                });
            }
        }
        Ok(ChainVerifier {
            chain_id: chain_id.to_owned(),
            public_key,
            pending,
            start,
            next_seq: 1,
            prev: GENESIS_HASH,
            prev_hex: [b'0'; 64],
            started: false,
            entries: 0,
            checkpoints: 0,
            scratch: Vec::with_capacity(1024),
        })
    }

    fn check_checkpoint(&mut self, cp: &Checkpoint, hash: Option<&[u8; 32]>) -> Result<(), Tamper> {
        if !signature_valid(cp, self.public_key) {
            return Err(Tamper {
                seq: cp.seq,
                why: "checkpoint signature does not verify".into(),
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
        if !self.started {
            self.started = true;
            if self.start == Start::Anchored && e.seq > 1 {
                self.next_seq = e.seq;
                self.prev = parse_hash(&e.prev_hash).ok_or_else(|| Tamper {
                    seq: e.seq,
                    why: "prev_hash is not a hex sha-256".into(),
                })?;
                // Infallible: 64 bytes of room for 32 bytes of hex.
                let _ = hex::encode_to_slice(self.prev, &mut self.prev_hex);
                // Checkpoints before the exported range: signature only.
                let before: Vec<u64> = self.pending.range(..e.seq).map(|(s, _)| *s).collect();
                for s in before {
                    if let Some(cp) = self.pending.remove(&s) {
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
        // Stored hashes are lowercase hex; anything else does not match.
        if e.prev_hash.as_bytes() != self.prev_hex.as_slice() {
            return Err(Tamper {
                seq: e.seq,
                why: "prev_hash does not link to the previous entry".into(),
            });
        }
        let h = entry_hash(
            &mut self.scratch,
            &self.prev,
            &self.chain_id,
            e.seq,
            &e.entry,
        );
        let mut h_hex = [0u8; 64];
        let _ = hex::encode_to_slice(h, &mut h_hex);
        if e.hash.as_bytes() != h_hex.as_slice() {
            return Err(Tamper {
                seq: e.seq,
                why: "entry content does not match its hash".into(),
            });
        }
        if let Some(cp) = self.pending.remove(&e.seq) {
            self.check_checkpoint(&cp, Some(&h))?;
        }
        self.prev = h;
        self.prev_hex = h_hex;
        self.next_seq = e.seq.saturating_add(1);
        self.entries += 1;
        Ok(())
    }

    /// Ends the walk: a checkpoint beyond the last entry means truncation.
    /// Returns (entries, checkpoints) checked.
    pub(crate) fn finish(mut self) -> Result<(u64, u64), Tamper> {
        if let Some((seq, cp)) = self.pending.pop_first() {
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
        Ok((self.entries, self.checkpoints))
    }
}

/// Verifies one whole chain held in memory (entries in seq order, starting
/// at seq 1) against its checkpoints, without any store.
pub fn verify_chain<'a>(
    chain_id: &str,
    entries: impl IntoIterator<Item = &'a Entry>,
    checkpoints: Vec<Checkpoint>,
    public_key: &[u8],
) -> VerifyReport {
    let result =
        ChainVerifier::new(chain_id, checkpoints, public_key, Start::Genesis).and_then(|mut v| {
            for e in entries {
                v.push(e)?;
            }
            v.finish()
        });
    match result {
        Ok((entries, checkpoints)) => VerifyReport::Intact {
            entries,
            checkpoints,
            chains: 1,
        },
        Err(t) => VerifyReport::Tampered {
            chain_id: chain_id.to_owned(),
            first_bad_seq: t.seq,
            why: t.why,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{generate_signing_key, Signer};
    use crate::entry::tests::sample;

    fn chain(n: u64) -> Vec<Entry> {
        let mut prev = GENESIS_HASH;
        let mut s = Vec::new();
        (1..=n)
            .map(|seq| {
                let e = sample(seq);
                let h = entry_hash(&mut s, &prev, "c1", seq, &e);
                let out = Entry {
                    chain_id: "c1".into(),
                    seq,
                    prev_hash: hex::encode(prev),
                    hash: hex::encode(h),
                    entry: e,
                };
                prev = h;
                out
            })
            .collect()
    }

    fn walk(entries: &[Entry], cps: Vec<Checkpoint>, pk: &[u8]) -> Result<(u64, u64), Tamper> {
        let mut v = ChainVerifier::new("c1", cps, pk, Start::Genesis)?;
        for e in entries {
            v.push(e)?;
        }
        v.finish()
    }

    #[test]
    fn intact_chain_verifies_and_tampering_is_located() {
        let signer = Signer::from_pkcs8(&generate_signing_key().unwrap()).unwrap();
        let pk = signer.public_key();
        let entries = chain(20);
        let cp = |seq: u64, es: &[Entry]| {
            let h = parse_hash(&es[seq as usize - 1].hash).unwrap();
            signer.sign("c1", seq, &h, 5)
        };
        let cps = vec![cp(10, &entries), cp(20, &entries)];
        assert_eq!(walk(&entries, cps.clone(), &pk), Ok((20, 2)));

        let mut altered = entries.clone();
        altered[6].entry.officer_id = "someone-else".into();
        assert_eq!(walk(&altered, cps.clone(), &pk).unwrap_err().seq, 7);

        let mut deleted = entries.clone();
        deleted.remove(4);
        assert_eq!(walk(&deleted, cps.clone(), &pk).unwrap_err().seq, 5);

        let truncated = &entries[..15];
        assert_eq!(walk(truncated, cps.clone(), &pk).unwrap_err().seq, 16);

        let mut forged = cps.clone();
        forged[0].time_ms += 1;
        assert_eq!(walk(&entries, forged, &pk).unwrap_err().seq, 10);
    }
}
