use super::*;
use crate::config::Limits;

fn section(dir: &Path) -> ServerSection {
    ServerSection {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert: dir.join(certs::pki::SERVER_CERT),
        key: dir.join(certs::pki::SERVER_KEY),
        client_ca: dir.join(certs::pki::CA_CERT),
        crl: vec![dir.join(certs::pki::CRL)],
        utc_offset_seconds: 8 * 3600,
        limits: Limits::default(),
        danger_fixed_clock: None,
        refusal_rate: crate::config::DEFAULT_REFUSAL_RATE,
        refusal_burst: crate::config::DEFAULT_REFUSAL_BURST,
    }
}

#[test]
fn dev_pki_material_builds_a_config_offering_h2_and_http1() {
    let dir = tempfile::tempdir().unwrap();
    certs::pki::init(dir.path()).unwrap();
    let cfg = server_config(&section(dir.path())).unwrap();
    assert_eq!(
        cfg.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
}

#[test]
fn only_forward_secret_aead_suites_are_offered() {
    let dir = tempfile::tempdir().unwrap();
    certs::pki::init(dir.path()).unwrap();
    let cfg = server_config(&section(dir.path())).unwrap();
    let names: Vec<String> = cfg
        .crypto_provider()
        .cipher_suites
        .iter()
        .map(|s| format!("{:?}", s.suite()))
        .collect();
    assert_eq!(names.len(), 9, "{names:?}");
    for n in &names {
        let strong = n.starts_with("TLS13_") || n.starts_with("TLS_ECDHE_");
        let aead = n.contains("_GCM_") || n.contains("CHACHA20_POLY1305");
        assert!(strong && aead, "weak suite offered: {n}");
    }
}

#[test]
fn a_failed_reload_keeps_the_previous_material() {
    let dir = tempfile::tempdir().unwrap();
    certs::pki::init(dir.path()).unwrap();
    let s = section(dir.path());
    let handle = TlsHandle::load(&s).unwrap();
    let before = handle.current();
    std::fs::write(&s.crl[0], b"-----BEGIN X509 CRL-----\ngarbage\n").unwrap();
    let err = handle.reload(&s).unwrap_err().to_string();
    assert!(err.contains("ca.crl"), "{err}");
    assert!(Arc::ptr_eq(&before, &handle.current()));
}

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    certs::pki::init(dir.path()).unwrap();
    let mut s = section(dir.path());
    s.client_ca = dir.path().join("nope.pem");
    let err = server_config(&s).unwrap_err().to_string();
    assert!(err.contains("nope.pem"), "{err}");

    let s = section(dir.path());
    std::fs::write(&s.key, b"not a key").unwrap();
    let err = server_config(&s).unwrap_err().to_string();
    assert!(err.contains("server.key"), "{err}");
}

#[test]
fn a_reload_makes_a_revoked_serial_known_to_live_checks() {
    let dir = tempfile::tempdir().unwrap();
    certs::pki::init(dir.path()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let spec = certs::pki::OfficerSpec::for_days("HN-AMR-0001", "Li Na", "AMR", 30, now);
    let prefix = dir.path().join("officer");
    certs::pki::issue(dir.path(), &spec, &prefix).unwrap();
    let cert = dir.path().join("officer.pem");
    let der = pem_certs(&cert).unwrap().remove(0);
    let leaf = leaf_facts(der.as_ref()).unwrap();
    assert!(!leaf.serial.is_empty());
    let days = (leaf.not_after - now).whole_days();
    assert!((29..=30).contains(&days), "{days}");

    let s = section(dir.path());
    let handle = TlsHandle::load(&s).unwrap();
    assert!(!handle.is_revoked(&leaf));
    certs::pki::revoke(dir.path(), &cert).unwrap();
    assert!(!handle.is_revoked(&leaf), "revoked before the reload");
    handle.reload(&s).unwrap();
    assert!(handle.is_revoked(&leaf));
    let mut other = leaf.clone();
    other.issuer[0] ^= 1;
    assert!(!handle.is_revoked(&other), "issuer must match too");
}

#[test]
fn a_crl_is_fresh_until_7_days_before_its_next_update() {
    let now = time::macros::datetime!(2026-12-04 12:00 UTC);
    let day = time::Duration::days(1);
    assert_eq!(crl_freshness(now + 30 * day, now), CrlFreshness::Fresh);
    assert_eq!(
        crl_freshness(now + 7 * day + time::Duration::seconds(1), now),
        CrlFreshness::Fresh
    );
    assert_eq!(crl_freshness(now + 7 * day, now), CrlFreshness::Nearing);
    assert_eq!(
        crl_freshness(now + time::Duration::seconds(1), now),
        CrlFreshness::Nearing
    );
    assert_eq!(crl_freshness(now, now), CrlFreshness::Expired);
    assert_eq!(crl_freshness(now - day, now), CrlFreshness::Expired);
    assert_eq!(warn_if_crl_stale(&None, now), None);
    let next = Some((now + 2 * day, PathBuf::from("ca.crl")));
    assert_eq!(warn_if_crl_stale(&next, now), Some(CrlFreshness::Nearing));
}

#[test]
fn the_earliest_next_update_is_known_and_follows_a_refresh() {
    let dir = tempfile::tempdir().unwrap();
    certs::pki::init(dir.path()).unwrap();
    let s = section(dir.path());
    let handle = TlsHandle::load(&s).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let first = handle.crl_next_update().unwrap();
    assert!(((first - now).whole_days() - 30).abs() <= 1, "{first}");
    certs::pki::refresh_crl(dir.path(), 3).unwrap();
    handle.reload(&s).unwrap();
    let refreshed = handle.crl_next_update().unwrap();
    assert!(refreshed < first);
    assert_eq!(crl_freshness(refreshed, now), CrlFreshness::Nearing);
    let mut two = s.clone();
    let copy = dir.path().join("copy.crl");
    certs::pki::refresh_crl(dir.path(), 90).unwrap();
    std::fs::copy(dir.path().join(certs::pki::CRL), &copy).unwrap();
    two.crl = vec![copy, dir.path().join(certs::pki::CRL)];
    certs::pki::refresh_crl(dir.path(), 10).unwrap();
    handle.reload(&two).unwrap();
    let earliest = handle.crl_next_update().unwrap();
    let days = (earliest - now).whole_days();
    assert!((9..=10).contains(&days), "the earlier of the two: {days}");
}

#[test]
fn serials_compare_without_sign_padding() {
    assert_eq!(normal_serial(&[0, 0x80, 1]), vec![0x80, 1]);
    assert_eq!(normal_serial(&[0, 0]), Vec::<u8>::new());
}

#[test]
fn fingerprint_is_lowercase_sha256_hex() {
    let fp = fingerprint(b"abc");
    assert_eq!(
        fp,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
