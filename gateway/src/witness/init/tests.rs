use super::*;

fn spec(listen: &str) -> InitSpec {
    InitSpec {
        name: "witness.test/w1".into(),
        listen: listen.into(),
        log_keys: vec![],
        origin_prefix: "credgate.local/".into(),
    }
}

/// The SAN entries of the certificate `init` wrote, as text.
fn sans(dir: &Path) -> Vec<String> {
    let pem = std::fs::read(dir.join(CERT_FILE)).unwrap();
    let der = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .unwrap()
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    san.value
        .general_names
        .iter()
        .map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => format!("dns:{d}"),
            x509_parser::extensions::GeneralName::IPAddress(ip) => format!("ip:{ip:?}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn the_certificate_names_the_listen_host() {
    let tmp = tempfile::tempdir().unwrap();
    let ip = tmp.path().join("ip");
    init(&ip, &spec("127.0.0.1:7443")).unwrap();
    assert_eq!(sans(&ip), vec!["ip:[127, 0, 0, 1]".to_owned()]);
    let dns = tmp.path().join("dns");
    init(&dns, &spec("Witness.Example:7443")).unwrap();
    assert_eq!(sans(&dns), vec!["dns:witness.example".to_owned()]);
}

#[test]
fn the_written_config_loads_and_the_key_matches_the_printed_vkey() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let done = init(&dir, &spec("[::1]:7443")).unwrap();
    let config = crate::witness::Config::load(&dir.join(CONFIG_FILE)).unwrap();
    assert_eq!(config.listen, "[::1]:7443");
    assert!(config.logs.is_empty());
    let pk8 = std::fs::read(&config.key).unwrap();
    let signer = NoteSigner::from_pkcs8(&config.name, COSIGNATURE_V1, &pk8).unwrap();
    assert_eq!(signer.verifier().to_vkey(), done.vkey);
}

#[test]
fn nothing_is_written_when_anything_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(KEY_FILE), b"precious").unwrap();
    let err = init(&dir, &spec("127.0.0.1:7443")).unwrap_err();
    assert!(matches!(err, InitError::Exists(_)) && err.is_invalid_input());
    assert_eq!(std::fs::read(dir.join(KEY_FILE)).unwrap(), b"precious");
    assert!(!dir.join(CONFIG_FILE).exists());
}
