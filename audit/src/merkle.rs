//! The Merkle tree over each chain (RFC 9162 §2.1).
//!
//! Leaf `i` of a chain's tree is the entry with `seq = i + 1`; its hash is
//! `SHA-256(0x00 ‖ canonical entry bytes)` ([`crate::entry::canonical_bytes`]).
//! An inner node is `SHA-256(0x01 ‖ left ‖ right)`; the empty tree's root is
//! `SHA-256("")`.
//!
//! ## Stored nodes
//!
//! A [`NodeId`] `(level, index)` names the perfect subtree over leaves
//! `[index·2^level, (index+1)·2^level)`. The leaf that completes it is the
//! last one, so the writer stores, in each entry's row, the hashes of every
//! node that entry completes: levels `0 ..= trailing_zeros(seq)` (on average
//! two hashes). Any perfect node is then one primary-key lookup away
//! ([`NodeId::seq`]), and a proof reads O(log n) rows.
//!
//! ## Writing and proving
//!
//! The writer keeps a [`CompactTree`]: the roots of the perfect subtrees
//! that make up the tree so far (one per set bit of the size), O(log n)
//! hashes, no re-reading. Proofs are planned first ([`inclusion_plan`],
//! [`consistency_plan`]: which ranges of leaves the proof's hashes are the
//! roots of), the perfect nodes those ranges decompose into are fetched,
//! then [`ProofPlan::assemble`] computes the proof. Verification follows
//! RFC 9162 §2.1.3.2 and §2.1.4.2 to the letter.

use std::collections::BTreeMap;

use ring::digest;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// `SHA-256("")`, the root of the empty tree.
pub fn empty_root() -> Hash {
    sha256(&[&[]])
}

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[0x00], data])
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], left, right])
}

/// A perfect subtree: leaves `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves (0: a leaf).
    pub level: u8,
    /// Position among the nodes of its level.
    pub index: u64,
}

impl NodeId {
    /// The seq of the entry whose row stores this node (the last leaf it
    /// covers, plus one). `None` on overflow (no such entry can exist).
    pub fn seq(self) -> Option<u64> {
        let end = self.index.checked_add(1)?;
        end.checked_mul(1u64.checked_shl(u32::from(self.level))?)
    }
}

/// How many node hashes the row of the entry at `seq` stores.
pub fn nodes_in_row(seq: u64) -> usize {
    if seq == 0 {
        return 0;
    }
    seq.trailing_zeros() as usize + 1
}

/// The tree as the writer keeps it: its size and the roots of the perfect
/// subtrees it consists of, largest (leftmost) first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactTree {
    size: u64,
    peaks: Vec<Hash>,
}

impl CompactTree {
    /// The empty tree.
    pub fn new() -> CompactTree {
        CompactTree::default()
    }

    /// A tree of `size` leaves from its peaks (see [`peak_ids`]); `None`
    /// if their number does not fit the size.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Option<CompactTree> {
        (peaks.len() == size.count_ones() as usize).then_some(CompactTree { size, peaks })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peaks, largest first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends a leaf hash; writes into `completed` the hashes of the nodes
    /// this leaf completes, by level (the leaf itself first): exactly what
    /// the leaf's row stores.
    pub fn push(&mut self, leaf: Hash, completed: &mut Vec<Hash>) {
        completed.clear();
        completed.push(leaf);
        let mut h = leaf;
        let mut s = self.size;
        while s & 1 == 1 {
            // INVARIANT: one peak per set bit of `size`, so a set low bit
            // always has a peak to merge with.
            let Some(left) = self.peaks.pop() else { break };
            h = node_hash(&left, &h);
            completed.push(h);
            s >>= 1;
        }
        self.peaks.push(h);
        self.size += 1;
    }

    /// The root hash (RFC 9162 MTH of all leaves).
    pub fn root(&self) -> Hash {
        let mut it = self.peaks.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |acc, p| node_hash(p, &acc))
    }
}

/// The perfect subtrees a tree of `size` leaves consists of, largest first.
pub fn peak_ids(size: u64) -> Vec<NodeId> {
    let mut out = Vec::with_capacity(size.count_ones() as usize);
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            out.push(NodeId {
                level,
                index: start >> level,
            });
            start += width;
        }
    }
    out
}

/// Largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Appends the perfect nodes `[a, b)` decomposes into, in the order
/// [`range_hash`] combines them.
fn range_nodes(a: u64, b: u64, out: &mut Vec<NodeId>) {
    let n = b - a;
    if n.is_power_of_two() && a.is_multiple_of(n) {
        out.push(NodeId {
            level: n.trailing_zeros() as u8,
            index: a / n,
        });
        return;
    }
    let k = split(n);
    range_nodes(a, a + k, out);
    range_nodes(a + k, b, out);
}

/// MTH of leaves `[a, b)` (b > a) from perfect node hashes.
fn range_hash(a: u64, b: u64, nodes: &BTreeMap<NodeId, Hash>) -> Option<Hash> {
    let n = b - a;
    if n.is_power_of_two() && a.is_multiple_of(n) {
        return nodes
            .get(&NodeId {
                level: n.trailing_zeros() as u8,
                index: a / n,
            })
            .copied();
    }
    let k = split(n);
    Some(node_hash(
        &range_hash(a, a + k, nodes)?,
        &range_hash(a + k, b, nodes)?,
    ))
}

/// What a proof consists of: the hashes of these leaf ranges, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    ranges: Vec<(u64, u64)>,
}

impl ProofPlan {
    /// Every perfect node the proof needs, sorted, without repeats.
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut out = Vec::new();
        for &(a, b) in &self.ranges {
            range_nodes(a, b, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The proof's hashes from the node hashes fetched for [`Self::nodes`];
    /// `None` if one is missing.
    pub fn assemble(&self, nodes: &BTreeMap<NodeId, Hash>) -> Option<Vec<Hash>> {
        self.ranges
            .iter()
            .map(|&(a, b)| range_hash(a, b, nodes))
            .collect()
    }
}

/// The plan of the root hash of a tree of `size` leaves (one range).
pub fn root_plan(size: u64) -> ProofPlan {
    ProofPlan {
        ranges: if size == 0 { vec![] } else { vec![(0, size)] },
    }
}

/// RFC 9162 §2.1.3.1 `PATH(index, D[0:size])`; `None` unless index < size.
pub fn inclusion_plan(index: u64, size: u64) -> Option<ProofPlan> {
    fn path(m: u64, a: u64, b: u64, out: &mut Vec<(u64, u64)>) {
        let n = b - a;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < a + k {
            path(m, a, a + k, out);
            out.push((a + k, b));
        } else {
            path(m, a + k, b, out);
            out.push((a, a + k));
        }
    }
    if index >= size {
        return None;
    }
    let mut ranges = Vec::new();
    path(index, 0, size, &mut ranges);
    Some(ProofPlan { ranges })
}

/// RFC 9162 §2.1.4.1 `PROOF(old, D[0:new])`; `None` unless
/// `old <= new`. Empty for `old == 0` or `old == new`.
pub fn consistency_plan(old: u64, new: u64) -> Option<ProofPlan> {
    fn subproof(m: u64, a: u64, b: u64, whole: bool, out: &mut Vec<(u64, u64)>) {
        let n = b - a;
        if m == n {
            if !whole {
                out.push((a, b));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            subproof(m, a, a + k, whole, out);
            out.push((a + k, b));
        } else {
            subproof(m - k, a + k, b, false, out);
            out.push((a, a + k));
        }
    }
    if old > new {
        return None;
    }
    let mut ranges = Vec::new();
    if old > 0 && old < new {
        subproof(old, 0, new, true, &mut ranges);
    }
    Some(ProofPlan { ranges })
}

/// RFC 9162 §2.1.3.2: whether `proof` shows the leaf `leaf` at `index` in
/// the tree of `size` leaves with root `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// RFC 9162 §2.1.4.2 (with C2SP tlog-witness's rules for the edges): whether
/// `proof` shows the tree of `old` leaves with root `old_root` is a prefix
/// of the tree of `new` leaves with root `new_root`. For `old == 0` the
/// proof must be empty (the empty tree is a prefix of every tree); for
/// `old == new` it must be empty and the roots equal.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old > new {
        return false;
    }
    if old == 0 {
        return proof.is_empty();
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *old_root && sr == *new_root
}

#[cfg(test)]
mod tests;
