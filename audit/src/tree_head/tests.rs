use super::*;
use crate::checkpoint::generate_signing_key;

#[test]
fn signed_checkpoints_open_with_the_key_and_nothing_else() {
    let der = generate_signing_key().unwrap();
    let s = CheckpointSigner::new("credgate-audit", &der).unwrap();
    let links = vec![Link {
        origin: "credgate.local/aa".into(),
        size: 7,
        root: [3; 32],
    }];
    let cp = s
        .sign(
            "credgate.local/bb",
            0,
            &crate::merkle::empty_root(),
            Kind::Genesis,
            5,
            &links,
        )
        .unwrap();
    assert!(cp.note.starts_with("credgate.local/bb\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nkind genesis\ntime 5\nlink credgate.local/aa 7 "));
    let pk = s.verifier().public_key;
    let key = LogKey::raw(&pk).unwrap();
    assert_eq!(key.open(&cp.note).unwrap(), cp);
    let named = LogKey::from_vkey(&s.verifier().to_vkey()).unwrap();
    assert_eq!(named.open(&cp.note).unwrap(), cp);
    // Another key, or any change to the text, fails.
    let other = CheckpointSigner::new("credgate-audit", &generate_signing_key().unwrap()).unwrap();
    assert!(LogKey::raw(&other.verifier().public_key)
        .unwrap()
        .open(&cp.note)
        .is_err());
    for (from, to) in [
        ("\n0\n", "\n1\n"),
        ("kind genesis", "kind final"),
        ("time 5", "time 6"),
        (" 7 ", " 8 "),
    ] {
        let t = cp.note.replacen(from, to, 1);
        assert_ne!(t, cp.note);
        assert!(key.open(&t).is_err(), "{from} -> {to}");
    }
}

#[test]
fn origins_name_the_chain() {
    assert_eq!(origin_for("credgate.local", "ab"), "credgate.local/ab");
    assert_eq!(origin_for("credgate.local/", "ab"), "credgate.local/ab");
    assert_eq!(
        origin_for("x.example/<chain_id>/log", "ab"),
        "x.example/ab/log"
    );
}
