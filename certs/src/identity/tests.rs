use super::*;

#[test]
fn every_documented_spelling_parses_and_round_trips() {
    for s in [
        "subject.serialNumber",
        "subject.CN",
        "subject.O",
        "subject.OU",
        "san.email",
        "san.uri:spiffe://credgate/officer/",
        "san.uri:",
    ] {
        let field: Field = s.parse().unwrap();
        assert_eq!(field.to_string(), s);
    }
    assert_eq!(
        "san.uri:urn:officer:".parse::<Field>().unwrap(),
        Field::SanUri("urn:officer:".to_owned())
    );
}

#[test]
fn unknown_spellings_are_refused_with_the_text_quoted() {
    for s in ["subject.cn", "subject.serialnumber", "san.dns", "", "CN"] {
        let err = s.parse::<Field>().unwrap_err();
        assert!(matches!(err, IdentityError::UnknownField(ref t) if t == s));
        assert!(err.to_string().contains(&format!("`{s}`")));
    }
}

#[test]
fn garbage_der_is_a_bad_certificate_not_a_panic() {
    let mapping = IdentityMapping::default();
    for der in [
        &b""[..],
        b"\x30\x03\x02\x01\x01",
        b"not a certificate at all",
    ] {
        assert!(matches!(
            identity_from_der(der, &mapping),
            Err(IdentityError::BadCertificate)
        ));
    }
}

#[test]
fn fingerprint_is_lowercase_hex_sha256() {
    assert_eq!(
        fingerprint(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
