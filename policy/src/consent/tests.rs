use super::*;

const PK8: &[u8] = include_bytes!("../../../conformance/keys/consent-authority.pk8");
const PUB: &[u8] = include_bytes!("../../../conformance/keys/consent-authority.pub");
const PUB_PEM: &[u8] = include_bytes!("../../../conformance/keys/consent-authority.pub.pem");

fn payload() -> ConsentPayload {
    ConsentPayload {
        subject: "430102198506123011".into(),
        grantee: "CS-RATE-0007".into(),
        items: vec!["basic".into()],
        fields: vec!["income".into()],
        not_after: "2027-06-30T00:00:00Z".into(),
    }
}

#[test]
fn sign_verify_round_trip() {
    let token = sign(&payload(), PK8).unwrap();
    let v = verify(&token, PUB).unwrap();
    assert_eq!(v.payload, payload());
    assert_eq!(v.not_after.year(), 2027);
    assert_eq!(v.token_id, token_id(&token));
}

#[test]
fn padded_token_verifies() {
    let token = sign(&payload(), PK8).unwrap();
    let (p, s) = token.split_once('.').unwrap();
    let pad = |x: &str| format!("{x}{}", "=".repeat((4 - x.len() % 4) % 4));
    let padded = format!("{}.{}", pad(p), pad(s));
    let v = verify(&padded, PUB).unwrap();
    // one consent, one id: the padded spelling is logged as the plain one
    assert_eq!(v.token_id, token_id(&token));
    assert_eq!(token_id(&padded), token_id(&token));
    let over = format!("{p}===.{s}==");
    assert_eq!(verify(&over, PUB).unwrap().token_id, token_id(&token));
}

#[test]
fn non_canonical_trailing_bits_are_refused() {
    // 64 signature bytes end in a character whose low 4 bits are unused;
    // setting them spells "the same bytes" non-canonically: refused.
    let token = sign(&payload(), PK8).unwrap();
    let (p, s) = token.split_once('.').unwrap();
    let last = s.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.find(last).unwrap();
    assert_eq!(idx % 16, 0, "canonical encoding leaves the low bits zero");
    let odd = alphabet.chars().nth(idx + 1).unwrap();
    let bent = format!("{p}.{}{odd}", &s[..s.len() - 1]);
    assert_eq!(verify(&bent, PUB), Err(ConsentError::Malformed));
    // the standard alphabet is not base64url either
    let std_alphabet = format!("{p}.{}", s.replace('-', "+").replace('_', "/"));
    if std_alphabet != token {
        assert_eq!(verify(&std_alphabet, PUB), Err(ConsentError::Malformed));
    }
}

#[test]
fn tampered_payload_fails() {
    let token = sign(&payload(), PK8).unwrap();
    let (_, s) = token.split_once('.').unwrap();
    let mut other = payload();
    other.subject = "11010519491231002X".into();
    let forged = format!(
        "{}.{s}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap())
    );
    assert_eq!(verify(&forged, PUB), Err(ConsentError::BadSignature));
}

#[test]
fn malformed_tokens() {
    for t in ["", ".", "abc", "a.b.c", "!!!.abc", "abc.!!!"] {
        assert!(verify(t, PUB).is_err(), "{t}");
    }
    let token = sign(&payload(), PK8).unwrap();
    assert_eq!(verify(&token, &PUB[..31]), Err(ConsentError::PublicKey));
}

#[test]
fn public_key_formats() {
    assert_eq!(parse_public_key(PUB).unwrap(), PUB);
    assert_eq!(parse_public_key(PUB_PEM).unwrap(), PUB);
    let mut spki = ED25519_SPKI_PREFIX.to_vec();
    spki.extend_from_slice(PUB);
    assert_eq!(parse_public_key(&spki).unwrap(), PUB);
    assert!(parse_public_key(b"not a key").is_err());
    assert!(parse_public_key(&[0u8; 33]).is_err());
}

#[test]
fn token_id_is_16_hex_and_stable() {
    let id = token_id("abc.def");
    assert_eq!(id.len(), 16);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(id, token_id("abc.def"));
    assert_ne!(id, token_id("abc.deg"));
}

#[test]
fn errors_never_echo_token() {
    let e = verify("secret-token-text.xx", PUB).unwrap_err();
    assert!(!e.to_string().contains("secret"));
}

/// The SPEC's payload shape with `fields` (or `items`) left out — a token
/// for items only, signed by hand — verifies, with nothing for what is
/// absent.
#[test]
fn a_payload_without_fields_or_items_verifies() {
    let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(PK8).unwrap();
    for json in [
        r#"{"subject":"430102198506123011","grantee":"CS-RATE-0007","items":["basic"],"not_after":"2027-06-30T00:00:00Z"}"#,
        r#"{"subject":"430102198506123011","grantee":"CS-RATE-0007","fields":["income"],"not_after":"2027-06-30T00:00:00Z"}"#,
    ] {
        let sig = key.sign(json.as_bytes());
        let token = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json),
            URL_SAFE_NO_PAD.encode(sig.as_ref())
        );
        let v = verify(&token, PUB).unwrap();
        assert_eq!(v.payload.subject, "430102198506123011");
        assert!(
            v.payload.items.is_empty() || v.payload.fields.is_empty(),
            "{json}"
        );
    }
}
