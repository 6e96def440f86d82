use super::*;

#[test]
fn missing_and_empty_files_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.pem");
    let err = client_config(&missing, None, false).unwrap_err();
    assert!(err.to_string().contains("nope.pem"), "{err}");

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let err = client_config(&empty, None, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("`{}` holds no certificate", empty.display())
    );
}

#[test]
fn a_ca_and_client_pair_make_a_config_without_resumption() {
    let dir = tempfile::tempdir().unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.cert.pem()).unwrap();
    let client = rcgen::generate_simple_self_signed(vec!["officer".into()]).unwrap();
    let cert_path = dir.path().join("o.pem");
    let key_path = dir.path().join("o.key");
    std::fs::write(&cert_path, client.cert.pem()).unwrap();
    std::fs::write(&key_path, client.key_pair.serialize_pem()).unwrap();

    let config = client_config(&ca_path, Some((&cert_path, &key_path)), false).unwrap();
    assert!(config.client_auth_cert_resolver.has_certs());
    assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);

    // a key file holding only a certificate is refused
    let err = client_config(&ca_path, Some((&cert_path, &cert_path)), false).unwrap_err();
    assert!(err.to_string().contains("holds no private key"), "{err}");
}
