use super::*;
use crate::checkpoint::generate_signing_key;
use crate::entry::tests::sample;
use crate::entry::GENESIS_HASH;
use crate::tree_head::{CheckpointSigner, LogKey};

struct Fixture {
    signer: CheckpointSigner,
    key: LogKey,
    entries: Vec<Entry>,
    roots: Vec<Hash>,
    frontiers: Vec<CompactTree>,
}

impl Fixture {
    fn new(n: u64) -> Fixture {
        let signer =
            CheckpointSigner::new("credgate-audit", &generate_signing_key().unwrap()).unwrap();
        let key = LogKey::raw(&signer.verifier().public_key).unwrap();
        let mut prev = GENESIS_HASH;
        let mut s = Vec::new();
        let mut tree = CompactTree::new();
        let mut done = Vec::new();
        let mut roots = vec![tree.root()];
        let mut frontiers = vec![tree.clone()];
        let mut entries = Vec::new();
        for seq in 1..=n {
            let e = sample(seq);
            let (h, leaf) = entry_hashes(&mut s, &prev, "c1", seq, &e);
            tree.push(leaf, &mut done);
            roots.push(tree.root());
            frontiers.push(tree.clone());
            entries.push(Entry {
                chain_id: "c1".into(),
                seq,
                prev_hash: hex::encode(prev),
                hash: hex::encode(h),
                entry: e,
            });
            prev = h;
        }
        Fixture {
            signer,
            key,
            entries,
            roots,
            frontiers,
        }
    }
    fn cp(&self, kind: Kind, size: u64) -> Checkpoint {
        self.signer
            .sign(
                "credgate.local/c1",
                size,
                &self.roots[size as usize],
                kind,
                5,
                &[],
            )
            .unwrap()
    }
    fn walk(&self, entries: &[Entry], cps: &[Checkpoint]) -> Result<Walked, Tamper> {
        let mut w = TreeWalker::new("c1", cps)?;
        let mut s = Vec::new();
        for e in entries {
            w.push(&mut s, e)?;
        }
        w.finish()
    }
}

#[test]
fn intact_chain_and_located_tampering() {
    let f = Fixture::new(20);
    let cps = vec![
        f.cp(Kind::Genesis, 0),
        f.cp(Kind::Periodic, 10),
        f.cp(Kind::Final, 20),
    ];
    let w = f.walk(&f.entries, &cps).unwrap();
    assert_eq!(
        (w.entries, w.checkpoints, w.size, w.unsigned, w.closed),
        (20, 3, 20, 0, true)
    );

    let mut altered = f.entries.clone();
    altered[6].entry.officer_id = "someone-else".into();
    assert_eq!(f.walk(&altered, &cps).unwrap_err().seq, 7);

    // Rewritten with recomputed hashes: the chain links, the root does not.
    let mut rewritten = f.entries.clone();
    rewritten[6].entry.officer_id = "someone-else".into();
    let mut s = Vec::new();
    let mut prev = parse_hash(&rewritten[5].hash).unwrap();
    for e in rewritten.iter_mut().skip(6) {
        e.prev_hash = hex::encode(prev);
        let (h, _) = entry_hashes(&mut s, &prev, "c1", e.seq, &e.entry);
        e.hash = hex::encode(h);
        prev = h;
    }
    let err = f.walk(&rewritten, &cps).unwrap_err();
    assert_eq!(err.seq, 10, "{}", err.why);

    let mut deleted = f.entries.clone();
    deleted.remove(4);
    assert_eq!(f.walk(&deleted, &cps).unwrap_err().seq, 5);

    let err = f.walk(&f.entries[..15], &cps).unwrap_err();
    assert_eq!(err.seq, 16);
    assert!(err.why.contains("truncated"), "{}", err.why);

    // An open chain: the tail after the last checkpoint is counted.
    let open = vec![f.cp(Kind::Genesis, 0), f.cp(Kind::Periodic, 10)];
    let w = f.walk(&f.entries[..15], &open).unwrap();
    assert_eq!((w.unsigned, w.closed), (5, false));

    // An entry after a final checkpoint.
    let closed = vec![f.cp(Kind::Genesis, 0), f.cp(Kind::Final, 12)];
    assert_eq!(f.walk(&f.entries[..13], &closed).unwrap_err().seq, 13);
}

#[test]
fn anchored_walk_needs_a_signed_frontier() {
    let f = Fixture::new(20);
    let cps = vec![f.cp(Kind::Periodic, 8), f.cp(Kind::Periodic, 16)];
    let mut w = TreeWalker::new("c1", &cps).unwrap();
    w.start_at(8, f.frontiers[8].clone()).unwrap();
    let mut s = Vec::new();
    for e in &f.entries[8..16] {
        w.push(&mut s, e).unwrap();
    }
    assert_eq!(w.finish().unwrap().unsigned, 0);
    // A frontier at a size no checkpoint names, or a wrong one, fails.
    let mut w = TreeWalker::new("c1", &cps).unwrap();
    assert!(w.start_at(9, f.frontiers[9].clone()).is_err());
    let mut w = TreeWalker::new("c1", &cps).unwrap();
    assert!(w.start_at(8, f.frontiers[7].clone()).is_err());
}

#[test]
fn checkpoints_must_open_and_include_a_genesis() {
    let f = Fixture::new(3);
    let g = f.cp(Kind::Genesis, 0);
    let p = f.cp(Kind::Periodic, 3);
    let rows = |cps: &[&Checkpoint]| -> Vec<(u64, String, String)> {
        cps.iter()
            .map(|c| (c.size, c.kind.as_str().to_owned(), c.note.clone()))
            .collect()
    };
    assert_eq!(
        open_checkpoints("c1", &rows(&[&g, &p]), &f.key)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        open_checkpoints("c1", &rows(&[&p]), &f.key)
            .unwrap_err()
            .seq,
        0
    );
    assert!(open_checkpoints("c2", &rows(&[&g]), &f.key).is_err());
    let mut r = rows(&[&g, &p]);
    r[1].0 = 2;
    assert!(open_checkpoints("c1", &r, &f.key).is_err());
    let mut r = rows(&[&g, &p]);
    r[1].2 = r[1].2.replacen("\n3\n", "\n2\n", 1);
    assert!(open_checkpoints("c1", &r, &f.key).is_err());
}
