use super::*;

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// RFC 9162 MTH, written from the definition.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = split(n as u64) as usize;
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

fn subproof(m: usize, d: &[Hash], whole: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if whole { vec![] } else { vec![mth(d)] };
    }
    let k = split(n as u64) as usize;
    if m <= k {
        let mut p = subproof(m, &d[..k], whole);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

/// Every perfect node of a tree, as the rows would store them.
fn stored(d: &[Hash]) -> BTreeMap<NodeId, Hash> {
    let mut t = CompactTree::new();
    let mut done = Vec::new();
    let mut map = BTreeMap::new();
    for (i, l) in d.iter().enumerate() {
        t.push(*l, &mut done);
        let seq = i as u64 + 1;
        assert_eq!(done.len(), nodes_in_row(seq));
        for (level, h) in done.iter().enumerate() {
            let index = (seq >> level) - 1;
            let id = NodeId {
                level: level as u8,
                index,
            };
            assert_eq!(id.seq(), Some(seq));
            map.insert(id, *h);
        }
    }
    map
}

#[test]
fn empty_root_is_sha256_of_nothing() {
    assert_eq!(
        hex::encode(empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(CompactTree::new().root(), empty_root());
}

#[test]
fn compact_tree_root_matches_the_definition() {
    let d = leaves(70);
    let mut t = CompactTree::new();
    let mut done = Vec::new();
    for (i, l) in d.iter().enumerate() {
        t.push(*l, &mut done);
        assert_eq!(t.root(), mth(&d[..=i]), "size {}", i + 1);
        assert_eq!(t.peaks().len(), t.size().count_ones() as usize);
        let again = CompactTree::from_peaks(t.size(), t.peaks().to_vec()).unwrap();
        assert_eq!(again, t);
    }
    assert!(CompactTree::from_peaks(3, vec![[0; 32]]).is_none());
}

#[test]
fn peaks_are_stored_nodes() {
    let d = leaves(45);
    let map = stored(&d);
    for size in 0..=45u64 {
        let ids = peak_ids(size);
        let mut t = CompactTree::new();
        let mut done = Vec::new();
        for l in &d[..size as usize] {
            t.push(*l, &mut done);
        }
        let peaks: Vec<Hash> = ids.iter().map(|id| map[id]).collect();
        assert_eq!(peaks, t.peaks());
        let plan = root_plan(size);
        if size > 0 {
            assert_eq!(plan.assemble(&map).unwrap(), vec![mth(&d[..size as usize])]);
        }
    }
}

#[test]
fn inclusion_proofs_match_the_definition_and_verify() {
    let d = leaves(40);
    let map = stored(&d);
    for size in 1..=40usize {
        let root = mth(&d[..size]);
        for m in 0..size {
            let plan = inclusion_plan(m as u64, size as u64).unwrap();
            let proof = plan.assemble(&map).unwrap();
            assert_eq!(proof, path(m, &d[..size]), "m={m} size={size}");
            assert!(verify_inclusion(
                &d[m],
                m as u64,
                size as u64,
                &proof,
                &root
            ));
            // Wrong index, leaf, root, or any altered hash fails. (The size is
            // bound by the signed checkpoint, not by the proof.)
            assert!(!verify_inclusion(
                &d[m],
                m as u64 + 1,
                size as u64,
                &proof,
                &root
            ));
            if size > 1 {
                let other = &d[(m + 1) % size];
                assert!(!verify_inclusion(
                    other,
                    m as u64,
                    size as u64,
                    &proof,
                    &root
                ));
            }
            let mut bad_root = root;
            bad_root[0] ^= 1;
            assert!(!verify_inclusion(
                &d[m],
                m as u64,
                size as u64,
                &proof,
                &bad_root
            ));
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i][31] ^= 0x80;
                assert!(!verify_inclusion(&d[m], m as u64, size as u64, &p, &root));
            }
            let mut longer = proof.clone();
            longer.push([0; 32]);
            assert!(!verify_inclusion(
                &d[m],
                m as u64,
                size as u64,
                &longer,
                &root
            ));
        }
        assert!(inclusion_plan(size as u64, size as u64).is_none());
    }
}

#[test]
fn consistency_proofs_match_the_definition_and_verify() {
    let d = leaves(40);
    let map = stored(&d);
    for new in 1..=40usize {
        let new_root = mth(&d[..new]);
        for old in 0..=new {
            let old_root = mth(&d[..old]);
            let plan = consistency_plan(old as u64, new as u64).unwrap();
            let proof = plan.assemble(&map).unwrap();
            let want = if old == 0 || old == new {
                vec![]
            } else {
                subproof(old, &d[..new], true)
            };
            assert_eq!(proof, want, "{old} -> {new}");
            assert!(verify_consistency(
                old as u64, new as u64, &old_root, &new_root, &proof
            ));
            if old > 0 {
                let mut r = old_root;
                r[3] ^= 4;
                assert!(!verify_consistency(
                    old as u64, new as u64, &r, &new_root, &proof
                ));
                let mut r = new_root;
                r[3] ^= 4;
                assert!(!verify_consistency(
                    old as u64, new as u64, &old_root, &r, &proof
                ));
            }
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i][0] ^= 1;
                assert!(!verify_consistency(
                    old as u64, new as u64, &old_root, &new_root, &p
                ));
            }
        }
        assert!(consistency_plan(new as u64 + 1, new as u64).is_none());
    }
    // A non-empty proof from the empty tree is refused (tlog-witness).
    assert!(!verify_consistency(
        0,
        5,
        &empty_root(),
        &mth(&d[..5]),
        &[[0; 32]]
    ));
}

/// The Certificate Transparency reference vectors (RFC 6962 / 9162
/// hashing; `testonly/constants.go` of the CT Go implementation, the
/// same data as the C++ reference's `kSHA256Roots`): roots of the first
/// n of eight leaves, and published inclusion and consistency proofs.
#[test]
fn certificate_transparency_reference_vectors() {
    let inputs: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let h = |s: &str| -> Hash { hex::decode(s).unwrap().try_into().unwrap() };
    let leaves: Vec<Hash> = inputs.iter().map(|d| leaf_hash(d)).collect();
    let map = stored(&leaves);
    let mut t = CompactTree::new();
    let mut done = Vec::new();
    for (i, l) in leaves.iter().enumerate() {
        t.push(*l, &mut done);
        assert_eq!(hex::encode(t.root()), roots[i], "size {}", i + 1);
    }
    let inclusion: [(u64, &[&str]); 2] = [
        (
            0,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (index, want) in inclusion {
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        let got = inclusion_plan(index, 8).unwrap().assemble(&map).unwrap();
        assert_eq!(got, want, "inclusion of leaf {index}");
        assert!(verify_inclusion(
            &leaves[index as usize],
            index,
            8,
            &want,
            &h(roots[7])
        ));
    }
    let consistency: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (old, new, want) in consistency {
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        let got = consistency_plan(old, new).unwrap().assemble(&map).unwrap();
        assert_eq!(got, want, "consistency {old} -> {new}");
        let (r_old, r_new) = (h(roots[old as usize - 1]), h(roots[new as usize - 1]));
        assert!(verify_consistency(old, new, &r_old, &r_new, &want));
    }
}

#[test]
fn node_seq_is_the_completing_entry() {
    assert_eq!(NodeId { level: 0, index: 0 }.seq(), Some(1));
    assert_eq!(NodeId { level: 3, index: 1 }.seq(), Some(16));
    assert_eq!(
        NodeId {
            level: 63,
            index: 2
        }
        .seq(),
        None
    );
    assert_eq!(nodes_in_row(0), 0);
    assert_eq!(nodes_in_row(1), 1);
    assert_eq!(nodes_in_row(8), 4);
}
