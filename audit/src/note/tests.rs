use super::*;

/// Verifier key and signed note of the signed-note spec's example.
const EXAMPLE_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const EXAMPLE_NOTE: &str = "This is an example message.\n\n\
        — example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
/// Checkpoint text of the tlog-checkpoint and tlog-cosignature examples.
const CHECKPOINT: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

/// An Ed25519 PKCS#8 v1 document holding `seed`.
fn pkcs8_v1(seed: &[u8]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

fn signer(name: &str, kind: u8, seed: u8) -> NoteSigner {
    NoteSigner::from_pkcs8(name, kind, &pkcs8_v1(&[seed; 32])).unwrap()
}

/// Every single-bit change of `note` that is still UTF-8 fails to parse or verify.
fn assert_flips_rejected(note: &str, trusted: &[Verifier]) {
    for i in 0..note.len() {
        for bit in 0..8 {
            let mut b = note.as_bytes().to_vec();
            b[i] ^= 1 << bit;
            if let Ok(s) = std::str::from_utf8(&b) {
                let r = Note::parse(s).and_then(|n| n.verify(trusted));
                assert!(r.is_err(), "byte {i} bit {bit} accepted: {s:?}");
            }
        }
    }
}

/// Every single-bit change of the decoded key ID, timestamp or signature
/// of the (only trusted) signature line is rejected.
fn assert_sig_flips_rejected(note: &Note, trusted: &[Verifier]) {
    let raw: Vec<u8> = note.sigs[0]
        .key_id
        .iter()
        .chain(&note.sigs[0].sig)
        .copied()
        .collect();
    for i in 0..raw.len() {
        for bit in 0..8 {
            let mut r = raw.clone();
            r[i] ^= 1 << bit;
            let mut n = note.clone();
            n.sigs[0].key_id = r[..4].try_into().unwrap();
            n.sigs[0].sig = r[4..].to_vec();
            assert!(
                n.verify(trusted).is_err(),
                "decoded byte {i} bit {bit} accepted"
            );
        }
    }
}

#[test]
fn signed_note_spec_example() {
    let v = Verifier::parse(EXAMPLE_VKEY).unwrap();
    assert_eq!(
        (v.name.as_str(), v.key_id, v.kind),
        ("example.com/foo", [0x53, 0x0d, 0x90, 0x3a], ED25519)
    );
    assert_eq!(v.to_vkey(), EXAMPLE_VKEY);
    assert_eq!(
        Verifier::new("example.com/foo", ED25519, v.public_key).unwrap(),
        v
    );
    let note = Note::parse(EXAMPLE_NOTE).unwrap();
    assert_eq!(note.text, "This is an example message.\n");
    assert_eq!(
        note.verify(std::slice::from_ref(&v)).unwrap(),
        vec![(0, None)]
    );
    assert_eq!(note.to_string(), EXAMPLE_NOTE);
    assert_flips_rejected(EXAMPLE_NOTE, std::slice::from_ref(&v));
    assert_sig_flips_rejected(&note, &[v]);
}

#[test]
fn signed_note_spec_intro_example_parses_but_is_unverifiable() {
    let s = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n\
            — quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let note = Note::parse(s).unwrap();
    assert!(
        note.text.ends_with(":\n\ned è subito sera.\n"),
        "text keeps its inner blank line"
    );
    assert_eq!(
        (note.sigs.len(), note.sigs[0].key_id, note.sigs[0].sig.len()),
        (1, [0x36, 0x7b, 0xa0, 0x4b], 64)
    );
    assert_eq!(note.to_string(), s);
    // No public key is published: any key we have is unknown, so the note is rejected.
    assert_eq!(
        note.verify(&[Verifier::parse(EXAMPLE_VKEY).unwrap()]),
        Err(NoteError::NoTrustedSignature)
    );
}

#[test]
fn checkpoint_and_cosignature_spec_examples() {
    let cosigned = format!(
            "{CHECKPOINT}\n\
             — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
             — witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
        );
    let mut note = Note::parse(&cosigned).unwrap();
    assert_eq!(note.to_string(), cosigned);
    let th = TreeHead::parse(&note.text).unwrap();
    assert_eq!(
        (th.origin.as_str(), th.size, th.extensions.len()),
        ("example.com/behind-the-sofa", 20852163, 0)
    );
    assert_eq!(th.to_text(), CHECKPOINT);
    // The cosignature is key ID || u64 BE timestamp || 64-byte signature, and
    // its timestamp is the one of the spec's signed-message example.
    let w = &note.sigs[1];
    assert_eq!((w.key_id, w.sig.len()), ([0x8d, 0x66, 0xcf, 0x3f], 72));
    assert_eq!(
        u64::from_be_bytes(w.sig[..8].try_into().unwrap()),
        1679315147
    );
    assert_eq!(
            cosignature_message(CHECKPOINT, 1679315147),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    // tlog-witness add-checkpoint response example: appended once each.
    let response = "— witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n\
            — witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64vWhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==\n\
            — witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==\n";
    note.add_sig_lines(response).unwrap();
    note.add_sig_lines(response).unwrap();
    assert_eq!(note.sigs.len(), 5);
    assert_eq!(Note::parse(&note.to_string()).unwrap(), note);
    // No keys are published for these: an unrelated key of the same name is ignored.
    let other = signer("witness.example/w1", COSIGNATURE_V1, 9).verifier();
    assert_eq!(note.verify(&[other]), Err(NoteError::NoTrustedSignature));
}

#[test]
fn checkpoint_spec_example_is_a_relabelled_sum_golang_org_checkpoint() {
    // The example's key ID 033de0ae is sum.golang.org's; with that log's
    // origin and key name restored, the example's signature verifies.
    let sumdb =
        Verifier::parse("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8")
            .unwrap();
    let sig = "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=";
    let text = CHECKPOINT.replace("example.com/behind-the-sofa", "go.sum database tree");
    let real = Note::parse(&format!("{text}\n— sum.golang.org {sig}\n")).unwrap();
    assert_eq!(
        real.verify(std::slice::from_ref(&sumdb)).unwrap(),
        vec![(0, None)]
    );
    assert_eq!(TreeHead::parse(&real.text).unwrap().size, 20852163);
    assert_flips_rejected(&real.to_string(), std::slice::from_ref(&sumdb));
}

#[test]
fn go_sumdb_note_vector() {
    // golang.org/x/mod/sumdb/note package documentation example.
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let signed = "If you think cryptography is the answer to your problem,\n\
            then you don't know what your problem is.\n\n\
            — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    let v = Verifier::parse(vkey).unwrap();
    let note = Note::parse(signed).unwrap();
    assert_eq!(
        note.verify(std::slice::from_ref(&v)).unwrap(),
        vec![(0, None)]
    );
    // Its private key "PRIVATE+KEY+PeterNeumann+c74f20a3+<base64(0x01 || seed)>" reproduces the line.
    let skey = B64
        .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
        .unwrap();
    let s = NoteSigner::from_pkcs8("PeterNeumann", ED25519, &pkcs8_v1(&skey[1..])).unwrap();
    assert_eq!(s.verifier(), v);
    assert_eq!(
        format!("{}\n{}", note.text, s.sign_note(&note.text).unwrap()),
        signed
    );
}

#[test]
fn note_round_trip() {
    let s = signer("example.com/log", ED25519, 1);
    let text = "hello\n\nworld é —\n";
    let signed = format!("{text}\n{}", s.sign_note(text).unwrap());
    let note = Note::parse(&signed).unwrap();
    assert_eq!(
        (note.text.as_str(), note.to_string()),
        (text, signed.clone())
    );
    let v = Verifier::parse(&s.verifier().to_vkey()).unwrap();
    assert_eq!((&v, s.name()), (&s.verifier(), "example.com/log"));
    assert_eq!(
        note.verify(std::slice::from_ref(&v)).unwrap(),
        vec![(0, None)]
    );
    assert_flips_rejected(&signed, std::slice::from_ref(&v));
    assert_sig_flips_rejected(&note, &[v]);
}

#[test]
fn cosignature_round_trip() {
    let log = signer("example.com/behind-the-sofa", ED25519, 1);
    let w = signer("witness.example/w1", COSIGNATURE_V1, 2);
    let cosig = w.cosign(CHECKPOINT, 1679315147).unwrap();
    // The signature is over the exact message bytes of the spec.
    let line = SigLine::parse(cosig.trim_end(), 1).unwrap();
    let spec_msg = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n\
            CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    UnparsedPublicKey::new(&ring::signature::ED25519, w.verifier().public_key)
        .verify(spec_msg.as_bytes(), &line.sig[8..])
        .unwrap();

    let mut note = Note::parse(&format!(
        "{CHECKPOINT}\n{}",
        log.sign_note(CHECKPOINT).unwrap()
    ))
    .unwrap();
    note.add_sig_lines(&cosig).unwrap();
    note.add_sig_lines(&cosig).unwrap();
    assert_eq!(note.sigs.len(), 2);
    let trusted = [log.verifier(), w.verifier()];
    assert_eq!(
        note.verify(&trusted).unwrap(),
        vec![(0, None), (1, Some(1679315147))]
    );

    let alone = Note::parse(&format!("{CHECKPOINT}\n{cosig}")).unwrap();
    let wv = [w.verifier()];
    assert_eq!(alone.verify(&wv).unwrap(), vec![(0, Some(1679315147))]);
    assert_flips_rejected(&alone.to_string(), &wv);
    assert_sig_flips_rejected(&alone, &wv);
    let max = Note::parse(&format!(
        "{CHECKPOINT}\n{}",
        w.cosign(CHECKPOINT, MAX_TIMESTAMP).unwrap()
    ))
    .unwrap();
    assert_eq!(max.verify(&wv).unwrap(), vec![(0, Some(MAX_TIMESTAMP))]);
    // A validly signed timestamp of 2^63 rejects the note.
    let msg = cosignature_message(CHECKPOINT, 1 << 63);
    let mut sig = (1u64 << 63).to_be_bytes().to_vec();
    sig.extend_from_slice(w.key_pair.sign(msg.as_bytes()).as_ref());
    let over = Note::parse(&format!("{CHECKPOINT}\n{}", w.line(sig))).unwrap();
    assert_eq!(over.verify(&wv), Err(NoteError::TimestampOutOfRange));
    // The same name and key as a type 0x01 verifier has another key ID: ignored.
    let as_note = Verifier::new(w.name(), ED25519, w.verifier().public_key).unwrap();
    assert_eq!(alone.verify(&[as_note]), Err(NoteError::NoTrustedSignature));
}

#[test]
fn unknown_and_mismatched_keys() {
    let (a, b) = (
        signer("example.com/a", ED25519, 1),
        signer("example.com/b", ED25519, 2),
    );
    let text = "text\n";
    let only_a = Note::parse(&format!("{text}\n{}", a.sign_note(text).unwrap())).unwrap();
    let both = Note::parse(&format!(
        "{text}\n{}{}",
        a.sign_note(text).unwrap(),
        b.sign_note(text).unwrap()
    ))
    .unwrap();
    assert_eq!(both.verify(&[b.verifier()]).unwrap(), vec![(0, None)]);
    assert_eq!(
        both.verify(&[b.verifier(), a.verifier()]).unwrap(),
        vec![(1, None), (0, None)]
    );
    assert_eq!(
        only_a.verify(&[b.verifier()]),
        Err(NoteError::NoTrustedSignature)
    );
    assert_eq!(only_a.verify(&[]), Err(NoteError::NoTrustedSignature));
    // Known name, other key (so other key ID): ignored.
    let other = signer("example.com/a", ED25519, 3).verifier();
    assert_ne!(other.key_id, a.verifier().key_id);
    assert_eq!(only_a.verify(&[other]), Err(NoteError::NoTrustedSignature));
    // Known key ID, other name: ignored.
    let mut renamed = a.verifier();
    renamed.name = "example.com/x".into();
    assert_eq!(
        only_a.verify(&[renamed]),
        Err(NoteError::NoTrustedSignature)
    );
    // Name and key ID match but the key differs: the signature must fail.
    let mut colliding = a.verifier();
    colliding.public_key = b.verifier().public_key;
    assert!(matches!(
        only_a.verify(&[colliding]),
        Err(NoteError::BadSignature { .. })
    ));
    // A failing trusted signature rejects the note even if another verifies.
    let mut bad = both.clone();
    bad.sigs[0].sig[0] ^= 1;
    assert!(matches!(
        bad.verify(&[a.verifier(), b.verifier()]),
        Err(NoteError::BadSignature { .. })
    ));
    // Short signatures from known keys fail; from unknown keys they are ignored.
    let w = signer("w", COSIGNATURE_V1, 4);
    for (v, len) in [(a.verifier(), 10), (w.verifier(), 5), (w.verifier(), 20)] {
        let short = Note {
            text: text.into(),
            sigs: vec![SigLine {
                name: v.name.clone(),
                key_id: v.key_id,
                sig: vec![0; len],
            }],
        };
        assert!(matches!(
            short.verify(std::slice::from_ref(&v)),
            Err(NoteError::BadSignature { .. })
        ));
        assert_eq!(
            short.verify(&[b.verifier()]),
            Err(NoteError::NoTrustedSignature)
        );
    }
}

#[test]
fn malformed_notes() {
    use NoteError::*;
    let line = EXAMPLE_NOTE.split_once("\n\n").unwrap().1;
    let sig = |b64: &str| format!("text\n\n— example.com/foo {b64}\n");
    let many = |n: usize| format!("text\n\n{}", line.repeat(n));
    let huge = format!("{}\n\n{line}", "a".repeat(MAX_NOTE_SIZE));
    let cases: Vec<(String, NoteError)> = vec![
        (
            format!("This is an example message.\n{line}"),
            MissingSeparator,
        ),
        ("text\n\n".into(), NoSignatures),
        (format!("text\r\n\n{line}"), ControlCharacter),
        (format!("te\u{0}xt\n\n{line}"), ControlCharacter),
        (EXAMPLE_NOTE.trim_end().into(), MissingFinalNewline),
        (format!("{EXAMPLE_NOTE}\n"), NoSignatures),
        (huge, TooLarge(MAX_NOTE_SIZE + 2 + line.len())),
        (many(MAX_SIGNATURES + 1), TooManySignatures),
    ];
    for (input, want) in cases {
        assert_eq!(Note::parse(&input), Err(want), "{:?}", input.get(..80));
    }
    let bad_lines = [
        EXAMPLE_NOTE.replace('—', "-"),
        EXAMPLE_NOTE.replace("— ", "—"),
        EXAMPLE_NOTE.replace("— ", "— \u{2014} "),
        EXAMPLE_NOTE.replace("example.com/foo", "example.com/foo+1"),
        EXAMPLE_NOTE.replace("example.com/foo ", ""),
        EXAMPLE_NOTE.replace("example.com/foo", ""),
        EXAMPLE_NOTE.replace("=\n", "\n"),
        EXAMPLE_NOTE.replace("QM=", "QN="),
        EXAMPLE_NOTE.replace("Uw2Q", "Uw2Q "),
        sig("Uw2Q!kn8"),
        sig("AAAAAA=="),
        sig(""),
        format!("text\n\n{line}\u{a0}\n"),
    ];
    for input in bad_lines {
        assert!(
            matches!(Note::parse(&input), Err(MalformedSigLine { .. })),
            "{input:?}"
        );
    }
    assert_eq!(
        Note::parse(&many(MAX_SIGNATURES)).unwrap().sigs.len(),
        MAX_SIGNATURES
    );
    let mut note = Note::parse(&many(MAX_SIGNATURES)).unwrap();
    let extra = signer("example.com/x", ED25519, 5)
        .sign_note("text\n")
        .unwrap();
    assert_eq!(note.add_sig_lines(&extra), Err(TooManySignatures));
    assert_eq!(note.sigs.len(), MAX_SIGNATURES, "unchanged on error");
    assert!(note.add_sig_lines("").is_err() && note.add_sig_lines(&format!("{extra}\n")).is_err());
}

#[test]
fn malformed_verifier_keys() {
    use NoteError::*;
    let vkey = |name: &str, raw: &[u8]| {
        format!(
            "{name}+{}+{}",
            hex::encode(key_id(name, raw[0], &raw[1..])),
            B64.encode(raw)
        )
    };
    let mut raw = vec![ED25519];
    raw.extend_from_slice(&[7; 32]);
    assert!(Verifier::parse(&vkey("a", &raw)).is_ok());
    let mut t2 = raw.clone();
    t2[0] = 0x02;
    assert_eq!(Verifier::parse(&vkey("a", &t2)), Err(UnsupportedKeyType(2)));
    assert_eq!(Verifier::parse(&vkey("a b", &raw)), Err(InvalidKeyName));
    assert!(matches!(
        Verifier::parse(&EXAMPLE_VKEY.replace("530d903a", "530d903b")),
        Err(KeyIdMismatch { .. })
    ));
    for bad in [
        vkey("a", &raw[..32]),
        vkey("a", &[raw.as_slice(), &[0]].concat()),
        EXAMPLE_VKEY.replace("530d903a", "530D903A"),
        EXAMPLE_VKEY.replace("530d903a", "530d903"),
        EXAMPLE_VKEY.replace("530d903a", "0x530d903a"),
        EXAMPLE_VKEY.replace("3U2k", "3U2"),
        "example.com/foo+530d903a".into(),
        "example.com/foo+530d903a+".into(),
    ] {
        assert!(
            matches!(Verifier::parse(&bad), Err(MalformedVerifierKey(_))),
            "{bad}"
        );
    }
    assert_eq!(Verifier::new("a+b", ED25519, [0; 32]), Err(InvalidKeyName));
    assert_eq!(Verifier::new("", ED25519, [0; 32]), Err(InvalidKeyName));
    assert_eq!(
        Verifier::new("a", 0x06, [0; 32]),
        Err(UnsupportedKeyType(6))
    );
}

#[test]
fn tree_heads() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    for ok in [
        format!("o\n0\n{root}\n"),
        format!("o r+\n18446744073709551615\n{root}\next 1\n— x\n"),
    ] {
        assert_eq!(TreeHead::parse(&ok).unwrap().to_text(), ok);
    }
    let th = TreeHead::parse(&format!("o\n1\n{root}\nx\n")).unwrap();
    assert_eq!((th.size, th.extensions), (1, vec!["x".to_owned()]));
    let b31 = B64.encode([1u8; 31]);
    let b33 = B64.encode([1u8; 33]);
    for bad in [
        String::new(),
        format!("\n1\n{root}\n"),
        format!("o\n01\n{root}\n"),
        format!("o\n00\n{root}\n"),
        format!("o\n+1\n{root}\n"),
        format!("o\n-1\n{root}\n"),
        format!("o\n 1\n{root}\n"),
        format!("o\n\n{root}\n"),
        format!("o\n18446744073709551616\n{root}\n"),
        "o\n1\n".into(),
        format!("o\n1\n{b31}\n"),
        format!("o\n1\n{b33}\n"),
        format!("o\n1\n{}\n", root.trim_end_matches('=')),
        format!("o\n1\n{}\n", root.replace("2I=", "2J=")),
        format!("o\n1\n{root}\n\n"),
        format!("o\n1\n{root}\nx\n\ny\n"),
        format!("o\n1\n{root}"),
        format!("o\n1\n{root}\nx\ty\n"),
        format!("o\n1\n{root}\n{}\n", "x".repeat(MAX_NOTE_SIZE)),
    ] {
        assert!(TreeHead::parse(&bad).is_err(), "{:?}", bad.get(..60));
    }
}

#[test]
fn signer_errors_and_debug() {
    use NoteError::*;
    let (n, w) = (signer("n", ED25519, 1), signer("w", COSIGNATURE_V1, 2));
    assert_eq!(
        w.sign_note("a\n"),
        Err(WrongSignerKind {
            wanted: ED25519,
            actual: COSIGNATURE_V1
        })
    );
    assert_eq!(
        n.cosign(CHECKPOINT, 1),
        Err(WrongSignerKind {
            wanted: COSIGNATURE_V1,
            actual: ED25519
        })
    );
    assert_eq!(
        w.cosign(CHECKPOINT, MAX_TIMESTAMP + 1),
        Err(TimestampOutOfRange)
    );
    assert!(matches!(
        w.cosign("not\na checkpoint\n", 1),
        Err(MalformedCheckpoint(_))
    ));
    assert_eq!(n.sign_note("no newline"), Err(MissingFinalNewline));
    assert_eq!(n.sign_note("a\tb\n"), Err(ControlCharacter));
    assert_eq!(
        NoteSigner::from_pkcs8("n", ED25519, &[0x30, 0]).unwrap_err(),
        InvalidPrivateKey
    );
    assert_eq!(
        NoteSigner::from_pkcs8("n m", ED25519, &pkcs8_v1(&[1; 32])).unwrap_err(),
        InvalidKeyName
    );
    assert_eq!(
        NoteSigner::from_pkcs8("n", 2, &pkcs8_v1(&[1; 32])).unwrap_err(),
        UnsupportedKeyType(2)
    );
    let s = NoteSigner::from_pkcs8("n", ED25519, &pkcs8_v1(&[0xab; 32])).unwrap();
    let dbg = format!("{s:?}");
    assert!(
        dbg.contains("\"n\"") && !dbg.contains("abab") && !dbg.contains("171, 171"),
        "{dbg}"
    );
}

/// xorshift64: a deterministic PRNG for the property test.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn random_inputs_never_panic() {
    let pieces = [
            "\n", "\n\n", "— ", "—", " ", "+", "=", "a", "é", "0", "01", "7", "\t", "\r", "\u{0}", "\u{a0}", "\u{7f}",
            "example.com/foo", "Uw2QOkn8", "AAAAAAAA", "AAAA====", "530d903a", "20852163", "cosignature/v1",
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
            "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=",
        ];
    let trusted = [
        Verifier::parse(EXAMPLE_VKEY).unwrap(),
        signer("example.com/foo", COSIGNATURE_V1, 1).verifier(),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..4000 {
        let mut s = String::new();
        for _ in 0..rng.below(24) {
            s.push_str(pieces[rng.below(pieces.len())]);
        }
        // Also splice pieces into a valid note or checkpoint at char boundaries.
        let mut m: Vec<char> = [EXAMPLE_NOTE, CHECKPOINT][rng.below(2)].chars().collect();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(m.len());
            let piece: Vec<char> = pieces[rng.below(pieces.len())].chars().collect();
            m.splice(at..at + rng.below(2).min(m.len() - at), piece);
        }
        for input in [s, m.into_iter().collect()] {
            if let Ok(note) = Note::parse(&input) {
                let _ = note.verify(&trusted);
                assert_eq!(note.to_string(), input, "parse/serialise is the identity");
                let _ = note.clone().add_sig_lines(&input);
            }
            if let Ok(th) = TreeHead::parse(&input) {
                assert_eq!(th.to_text(), input);
            }
            let _ = Verifier::parse(&input);
        }
    }
}
