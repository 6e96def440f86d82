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

/// An outside probe: an officer certificate whose key usage lists only
/// keyEncipherment was accepted for client authentication. Without the
/// extension (any use) or with digitalSignature it names its officer.
#[test]
fn a_key_not_for_signing_names_no_officer() {
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose};
    let mapping = IdentityMapping::default();
    let der = |usages: Vec<KeyUsagePurpose>| {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, "Li Na");
        params
            .distinguished_name
            .push(DnType::CustomDnType(vec![2, 5, 4, 5]), "HN-AMR-0001");
        params.key_usages = usages;
        // (rcgen writes no extension at all without one of these.)
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    };
    let got = identity_from_der(&der(vec![KeyUsagePurpose::KeyEncipherment]), &mapping);
    assert!(matches!(got, Err(IdentityError::KeyUsage)), "{got:?}");
    for ok in [vec![], vec![KeyUsagePurpose::DigitalSignature]] {
        let id = identity_from_der(&der(ok), &mapping).unwrap();
        assert_eq!(id.officer_id, "HN-AMR-0001");
    }
}
