use super::*;

const NOTE: &str = "example.com/log\n2\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
    — example.com/log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

#[test]
fn a_body_round_trips() {
    let proof = [[7u8; 32], [9u8; 32]];
    let body = add_checkpoint_body(1, &proof, NOTE);
    let parsed = parse_add_checkpoint(body.as_bytes()).unwrap();
    assert_eq!(parsed.old, 1);
    assert_eq!(parsed.proof, proof);
    assert_eq!(parsed.note.to_string(), NOTE);
    assert_eq!(
        (parsed.head.origin.as_str(), parsed.head.size),
        ("example.com/log", 2)
    );
    let empty = parse_add_checkpoint(add_checkpoint_body(0, &[], NOTE).as_bytes()).unwrap();
    assert!(empty.proof.is_empty());
}

#[test]
fn malformed_bodies_are_refused_with_the_reason() {
    let ok_line = B64.encode([1u8; 32]);
    let cases: Vec<(Vec<u8>, BodyError)> = vec![
        (vec![0xff, b'\n'], BodyError::NotUtf8),
        (b"".to_vec(), BodyError::OldLine),
        (format!("old 01\n\n{NOTE}").into_bytes(), BodyError::OldLine),
        (format!("old -1\n\n{NOTE}").into_bytes(), BodyError::OldLine),
        (format!("Old 1\n\n{NOTE}").into_bytes(), BodyError::OldLine),
        (format!("old  1\n\n{NOTE}").into_bytes(), BodyError::OldLine),
        (
            format!("old 3\n\n{NOTE}").into_bytes(),
            BodyError::OldAfterNew { old: 3, size: 2 },
        ),
        (
            format!("old 1\nnot base64\n\n{NOTE}").into_bytes(),
            BodyError::ProofLine(1),
        ),
        (
            format!("old 1\n{}\n\n{NOTE}", B64.encode([1u8; 31])).into_bytes(),
            BodyError::ProofLine(1),
        ),
        (
            format!("old 1\n{ok_line}").into_bytes(),
            BodyError::MissingSeparator,
        ),
        (
            format!("old 1\n{}\n{NOTE}", format!("{ok_line}\n").repeat(64)).into_bytes(),
            BodyError::TooManyProofLines,
        ),
    ];
    for (body, want) in cases {
        assert_eq!(
            parse_add_checkpoint(&body),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(&body)
        );
    }
    assert!(matches!(
        parse_add_checkpoint(b"old 0\n\nno signatures\n"),
        Err(BodyError::Checkpoint(_))
    ));
    let big = NOTE.replace("\n2\n", "\n9223372036854775808\n");
    assert_eq!(
        parse_add_checkpoint(format!("old 0\n\n{big}").as_bytes()),
        Err(BodyError::SizeTooLarge(9_223_372_036_854_775_808))
    );
    // 63 lines are allowed.
    let body = format!("old 1\n{}\n{NOTE}", format!("{ok_line}\n").repeat(63));
    assert_eq!(
        parse_add_checkpoint(body.as_bytes()).unwrap().proof.len(),
        63
    );
}

#[test]
fn origins_survive_percent_encoding() {
    for origin in ["credgate.local/chain-1", "a b+c&d=e%f/é", ""] {
        let q = format!("x=1&origin={}", percent_encode(origin));
        assert_eq!(query_param(Some(&q), "origin"), Ok(Some(origin.to_owned())));
    }
    assert_eq!(query_param(Some("origin=%zz"), "origin"), Err(()));
    assert_eq!(query_param(Some("origin=%ff"), "origin"), Err(()));
    assert_eq!(query_param(Some("origin=a&origin=b"), "origin"), Err(()));
    assert_eq!(query_param(None, "origin"), Ok(None));
}
