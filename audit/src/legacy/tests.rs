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
    v.finish().map(|w| (w.entries, w.checkpoints))
}

struct Fixture {
    signer: Signer,
    pk: Vec<u8>,
    entries: Vec<Entry>,
}

impl Fixture {
    fn new(n: u64) -> Fixture {
        let signer = Signer::from_pkcs8(&generate_signing_key().unwrap()).unwrap();
        let pk = signer.public_key();
        Fixture {
            signer,
            pk,
            entries: chain(n),
        }
    }
    fn cp(&self, kind: CheckpointKind, seq: u64) -> Checkpoint {
        let h = if seq == 0 {
            GENESIS_HASH
        } else {
            parse_hash(&self.entries[seq as usize - 1].hash).unwrap()
        };
        self.signer.sign("c1", kind, 10, seq, &h, 5)
    }
    fn genesis(&self) -> Checkpoint {
        self.cp(CheckpointKind::Genesis, 0)
    }
}

#[test]
fn intact_chain_verifies_and_tampering_is_located() {
    let f = Fixture::new(20);
    let pk = &f.pk;
    let entries = &f.entries;
    let cps = vec![
        f.genesis(),
        f.cp(CheckpointKind::Periodic, 10),
        f.cp(CheckpointKind::Periodic, 20),
    ];
    assert_eq!(walk(entries, cps.clone(), pk), Ok((20, 3)));

    let mut altered = entries.clone();
    altered[6].entry.officer_id = "someone-else".into();
    assert_eq!(walk(&altered, cps.clone(), pk).unwrap_err().seq, 7);

    let mut deleted = entries.clone();
    deleted.remove(4);
    assert_eq!(walk(&deleted, cps.clone(), pk).unwrap_err().seq, 5);

    let truncated = &entries[..15];
    assert_eq!(walk(truncated, cps.clone(), pk).unwrap_err().seq, 16);

    let mut forged = cps.clone();
    forged[1].time_ms += 1;
    assert_eq!(walk(entries, forged, pk).unwrap_err().seq, 10);
}

#[test]
fn chain_without_genesis_is_forged() {
    let f = Fixture::new(5);
    let err = walk(&f.entries, vec![], &f.pk).unwrap_err();
    assert_eq!(err.seq, 0);
    assert!(err.why.contains("genesis"), "{}", err.why);
    // A genesis signed by another key does not count either.
    let other = Signer::from_pkcs8(&generate_signing_key().unwrap()).unwrap();
    let g = other.sign("c1", CheckpointKind::Genesis, 10, 0, &GENESIS_HASH, 5);
    assert_eq!(walk(&f.entries, vec![g], &f.pk).unwrap_err().seq, 0);
}

#[test]
fn missing_periodic_checkpoint_is_located() {
    let f = Fixture::new(25);
    let cps = vec![
        f.genesis(),
        f.cp(CheckpointKind::Periodic, 20),
        f.cp(CheckpointKind::Final, 25),
    ];
    let err = walk(&f.entries, cps.clone(), &f.pk).unwrap_err();
    assert_eq!(err.seq, 10, "{}", err.why);
}

#[test]
fn entries_after_a_final_checkpoint_are_found() {
    let f = Fixture::new(14);
    let cps = vec![
        f.genesis(),
        f.cp(CheckpointKind::Periodic, 10),
        f.cp(CheckpointKind::Final, 12),
    ];
    assert_eq!(walk(&f.entries[..12], cps.clone(), &f.pk), Ok((12, 3)));
    let err = walk(&f.entries, cps, &f.pk).unwrap_err();
    assert_eq!(err.seq, 13, "{}", err.why);
    // A final and a periodic checkpoint may share a seq.
    let cps = vec![
        f.genesis(),
        f.cp(CheckpointKind::Periodic, 10),
        f.cp(CheckpointKind::Final, 10),
    ];
    assert_eq!(walk(&f.entries[..10], cps.clone(), &f.pk), Ok((10, 3)));
    // An empty chain closed at seq 0 takes no entry.
    let cps = vec![f.genesis(), f.cp(CheckpointKind::Sealed, 0)];
    assert_eq!(walk(&[], cps.clone(), &f.pk), Ok((0, 2)));
    assert_eq!(walk(&f.entries[..1], cps, &f.pk).unwrap_err().seq, 1);
}

#[test]
fn checkpoint_with_another_cadence_is_refused() {
    let f = Fixture::new(10);
    let h = parse_hash(&f.entries[9].hash).unwrap();
    let odd = f.signer.sign("c1", CheckpointKind::Periodic, 5, 10, &h, 5);
    let err = walk(&f.entries, vec![f.genesis(), odd], &f.pk).unwrap_err();
    assert_eq!(err.seq, 10);
}
