//! End-to-end checks of the dev PKI and identity mapping, cross-checked with
//! the real `openssl` CLI (which must be on PATH).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use certs::identity::{identity_from_der, Field, IdentityError, IdentityMapping};
use certs::pki::{self, IssueOptions, OfficerEku, OfficerSpec, PkiError, Revocation};
use certs::testing;
use time::OffsetDateTime;
use x509_parser::oid_registry::OID_X509_SERIALNUMBER;

fn pem_der(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap();
    let mut reader = bytes.as_slice();
    let first = rustls_pemfile::certs(&mut reader)
        .next()
        .expect("a certificate in the file")
        .unwrap();
    first.as_ref().to_vec()
}

fn openssl(args: &[&str], cwd: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("openssl on PATH");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn li_na() -> OfficerSpec {
    OfficerSpec::for_days(
        "HN-AMR-0001",
        "Li Na",
        "Hunan Administration for Market Regulation",
        365,
        OffsetDateTime::now_utc(),
    )
}

fn fresh_pki() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    pki::init(&dir).unwrap();
    (tmp, dir)
}

#[test]
fn init_writes_every_file_parseable_and_keys_private() {
    let (_tmp, dir) = fresh_pki();
    for name in pki::INIT_FILES {
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    let ca_der = pem_der(&dir.join(pki::CA_CERT));
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
    assert_eq!(ca.subject().to_string(), "CN=credgate dev CA");
    assert!(ca.is_ca());
    let ku = ca.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign());
    let years = (ca.validity().not_after.timestamp() - ca.validity().not_before.timestamp())
        / (365 * 86400);
    assert_eq!(years, 10);

    let server_der = pem_der(&dir.join(pki::SERVER_CERT));
    let (_, server) = x509_parser::parse_x509_certificate(&server_der).unwrap();
    let san = server.subject_alternative_name().unwrap().unwrap().value;
    use x509_parser::extensions::GeneralName;
    let names = &san.general_names;
    assert!(
        names.contains(&GeneralName::DNSName("localhost")),
        "{names:?}"
    );
    assert!(
        names.contains(&GeneralName::IPAddress(&[127, 0, 0, 1])),
        "{names:?}"
    );
    let v6_loopback: [u8; 16] = std::net::Ipv6Addr::LOCALHOST.octets();
    assert!(
        names.contains(&GeneralName::IPAddress(&v6_loopback)),
        "{names:?}"
    );
    let (ok, text) = openssl(
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "sslserver",
            "-verify_hostname",
            "localhost",
            "-verify_ip",
            "127.0.0.1",
            "server.pem",
        ],
        &dir,
    );
    assert!(ok, "{text}");
    assert!(
        server
            .extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .server_auth
    );
    assert!(!server.is_ca());
    let (ok, text) = openssl(&["verify", "-CAfile", "ca.pem", "server.pem"], &dir);
    assert!(ok, "{text}");

    // Keys load with the libraries the other crates use.
    for key in [pki::CA_KEY, pki::SERVER_KEY] {
        let text = fs::read_to_string(dir.join(key)).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
        rcgen::KeyPair::from_pem(&text).unwrap();
    }
    for key in [pki::AUDIT_KEY, pki::CONSENT_KEY] {
        ring::signature::Ed25519KeyPair::from_pkcs8(&fs::read(dir.join(key)).unwrap()).unwrap();
    }
    let consent =
        ring::signature::Ed25519KeyPair::from_pkcs8(&fs::read(dir.join(pki::CONSENT_KEY)).unwrap())
            .unwrap();
    use ring::signature::KeyPair as _;
    let raw_pub = fs::read(dir.join(pki::CONSENT_PUB)).unwrap();
    assert_eq!(raw_pub.len(), 32);
    assert_eq!(raw_pub, consent.public_key().as_ref());
    // The PEM public key is the same key, as openssl sees it.
    let (ok, text) = openssl(
        &[
            "pkey",
            "-pubin",
            "-in",
            pki::CONSENT_PUB_PEM,
            "-outform",
            "DER",
        ],
        &dir,
    );
    assert!(ok, "{text}");
    let (ok, text) = openssl(
        &[
            "pkey",
            "-pubin",
            "-in",
            pki::CONSENT_PUB_PEM,
            "-noout",
            "-text",
        ],
        &dir,
    );
    assert!(ok && text.contains("ED25519"), "{text}");

    // The empty CRL parses and lists nothing.
    let (ok, text) = openssl(&["crl", "-in", "ca.crl", "-noout", "-text"], &dir);
    assert!(ok, "{text}");
    assert!(text.contains("No Revoked Certificates"), "{text}");
    let (ok, text) = openssl(
        &["crl", "-in", "ca.crl", "-CAfile", "ca.pem", "-noout"],
        &dir,
    );
    assert!(ok, "crl signature: {text}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for key in [
            pki::CA_KEY,
            pki::SERVER_KEY,
            pki::AUDIT_KEY,
            pki::CONSENT_KEY,
        ] {
            let mode = fs::metadata(dir.join(key)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
    }
}

#[test]
fn init_refuses_an_existing_pki_and_leaves_it_intact() {
    let (_tmp, dir) = fresh_pki();
    let before = fs::read(dir.join(pki::CA_KEY)).unwrap();
    let err = pki::init(&dir).unwrap_err();
    assert!(matches!(err, PkiError::AlreadyInitialised { .. }));
    assert!(err.to_string().contains("ca.pem"), "{err}");
    assert_eq!(fs::read(dir.join(pki::CA_KEY)).unwrap(), before);
}

#[test]
fn officer_cert_subject_and_usages_are_as_given() {
    let (tmp, dir) = fresh_pki();
    let issued = pki::issue(&dir, &li_na(), &tmp.path().join("officers/li-na")).unwrap();
    assert_eq!(issued.cert, tmp.path().join("officers/li-na.pem"));
    assert_eq!(issued.key, tmp.path().join("officers/li-na.key"));
    assert_eq!(issued.p12, tmp.path().join("officers/li-na.p12"));

    let der = pem_der(&issued.cert);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let subject = cert.subject();
    let cn = subject.iter_common_name().next().unwrap().as_str().unwrap();
    let o = subject
        .iter_organization()
        .next()
        .unwrap()
        .as_str()
        .unwrap();
    let sn = subject
        .iter_by_oid(&OID_X509_SERIALNUMBER)
        .next()
        .unwrap()
        .as_str()
        .unwrap();
    assert_eq!(cn, "Li Na");
    assert_eq!(o, "Hunan Administration for Market Regulation");
    assert_eq!(sn, "HN-AMR-0001");
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth);
    assert!(cert.key_usage().unwrap().unwrap().value.digital_signature());
    assert!(!cert.is_ca());
    assert_eq!(cert.raw_serial().len(), 16);

    let (ok, text) = openssl(
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "sslclient",
            issued.cert.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(ok, "{text}");

    // Two issues never share a serial.
    let other = pki::issue(&dir, &li_na(), &tmp.path().join("officers/li-na-2")).unwrap();
    let other_der = pem_der(&other.cert);
    let (_, other_cert) = x509_parser::parse_x509_certificate(&other_der).unwrap();
    assert_ne!(other_cert.raw_serial(), cert.raw_serial());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for f in [&issued.key, &issued.p12] {
            assert_eq!(fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}

#[test]
fn issue_refuses_to_overwrite_outputs() {
    let (tmp, dir) = fresh_pki();
    let prefix = tmp.path().join("li-na");
    pki::issue(&dir, &li_na(), &prefix).unwrap();
    let key_before = fs::read(tmp.path().join("li-na.key")).unwrap();
    let err = pki::issue(&dir, &li_na(), &prefix).unwrap_err();
    assert!(matches!(err, PkiError::OutputExists { .. }), "{err}");
    assert!(err.to_string().contains("li-na.pem"), "{err}");
    assert_eq!(fs::read(tmp.path().join("li-na.key")).unwrap(), key_before);
}

#[test]
fn identity_from_default_mapping_and_subject_cn_mapping() {
    let (tmp, dir) = fresh_pki();
    let issued = pki::issue(&dir, &li_na(), &tmp.path().join("li-na")).unwrap();
    let der = pem_der(&issued.cert);

    let id = identity_from_der(&der, &IdentityMapping::default()).unwrap();
    assert_eq!(id.officer_id, "HN-AMR-0001");
    assert_eq!(id.name, "Li Na");
    assert_eq!(id.unit, "Hunan Administration for Market Regulation");
    assert_eq!(id.fingerprint.len(), 64);
    assert_eq!(id.fingerprint, id.fingerprint.to_lowercase());
    // Same fingerprint as openssl computes.
    let (ok, text) = openssl(
        &[
            "x509",
            "-in",
            issued.cert.to_str().unwrap(),
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
        &dir,
    );
    assert!(ok, "{text}");
    let openssl_fp = text
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_lowercase();
    assert_eq!(id.fingerprint, openssl_fp);

    let by_cn = IdentityMapping {
        officer_id: "subject.CN".parse().unwrap(),
        name: "subject.serialNumber".parse().unwrap(),
        unit: "subject.OU".parse().unwrap(),
    };
    let id = identity_from_der(&der, &by_cn).unwrap();
    assert_eq!(id.officer_id, "Li Na");
    assert_eq!(id.name, "HN-AMR-0001");
    assert_eq!(id.unit, "", "absent OU reads as empty");
}

#[test]
fn identity_from_uri_and_email_sans() {
    let (tmp, dir) = fresh_pki();
    let options = IssueOptions {
        san_uris: vec![
            "https://example.org/not-this-one".to_owned(),
            "urn:credgate:officer:GZ-PSB-0042".to_owned(),
        ],
        san_emails: vec!["wang.fang@psb.gz.example".to_owned()],
        ..IssueOptions::default()
    };
    let issued =
        pki::issue_with_options(&dir, &li_na(), &tmp.path().join("wang"), &options).unwrap();
    let der = pem_der(&issued.cert);

    let by_uri = IdentityMapping {
        officer_id: "san.uri:urn:credgate:officer:".parse().unwrap(),
        name: "san.email".parse().unwrap(),
        unit: Field::SubjectO,
    };
    let id = identity_from_der(&der, &by_uri).unwrap();
    assert_eq!(id.officer_id, "GZ-PSB-0042");
    assert_eq!(id.name, "wang.fang@psb.gz.example");
    assert_eq!(id.unit, "Hunan Administration for Market Regulation");

    let by_email = IdentityMapping {
        officer_id: Field::SanEmail,
        name: Field::SubjectCn,
        unit: Field::SanUri("spiffe://".to_owned()),
    };
    let id = identity_from_der(&der, &by_email).unwrap();
    assert_eq!(id.officer_id, "wang.fang@psb.gz.example");
    assert_eq!(id.name, "Li Na");
    assert_eq!(id.unit, "", "no URI SAN with that prefix");
}

#[test]
fn a_mapped_field_present_twice_is_ambiguous_not_the_first_value() {
    let (tmp, dir) = fresh_pki();
    let options = IssueOptions {
        san_uris: vec![
            "urn:credgate:officer:GZ-PSB-0042".to_owned(),
            "urn:credgate:officer:HN-AMR-0001".to_owned(),
        ],
        ..IssueOptions::default()
    };
    let issued =
        pki::issue_with_options(&dir, &li_na(), &tmp.path().join("two"), &options).unwrap();
    let der = pem_der(&issued.cert);
    let by_uri = IdentityMapping {
        officer_id: "san.uri:urn:credgate:officer:".parse().unwrap(),
        name: Field::SubjectCn,
        unit: Field::SubjectO,
    };
    match identity_from_der(&der, &by_uri) {
        Err(IdentityError::Ambiguous(field)) => {
            assert_eq!(field, "san.uri:urn:credgate:officer:")
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    // the default mapping (one serialNumber) still reads the same cert
    let id = identity_from_der(&der, &IdentityMapping::default()).unwrap();
    assert_eq!(id.officer_id, "HN-AMR-0001");
}

#[test]
fn missing_officer_id_field_is_missing_error() {
    let (tmp, dir) = fresh_pki();
    // A plain officer cert has no SANs at all.
    let issued = pki::issue(&dir, &li_na(), &tmp.path().join("plain")).unwrap();
    let der = pem_der(&issued.cert);
    for field in ["san.email", "san.uri:urn:credgate:officer:", "subject.OU"] {
        let mapping = IdentityMapping {
            officer_id: field.parse().unwrap(),
            ..IdentityMapping::default()
        };
        let err = identity_from_der(&der, &mapping).unwrap_err();
        assert!(
            matches!(err, IdentityError::Missing(ref f) if f == field),
            "{err}"
        );
        assert!(err.to_string().contains(field));
    }
    // A URI SAN that does not carry the prefix does not count.
    let options = IssueOptions {
        san_uris: vec!["urn:other:HN-1".to_owned()],
        ..IssueOptions::default()
    };
    let issued =
        pki::issue_with_options(&dir, &li_na(), &tmp.path().join("other"), &options).unwrap();
    let mapping = IdentityMapping {
        officer_id: "san.uri:urn:credgate:officer:".parse().unwrap(),
        ..IdentityMapping::default()
    };
    assert!(matches!(
        identity_from_der(&pem_der(&issued.cert), &mapping),
        Err(IdentityError::Missing(_))
    ));
}

#[test]
fn openssl_issued_cert_parses_and_chains_to_ca() {
    let (_tmp, dir) = fresh_pki();
    fs::write(
        dir.join("client.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    let (ok, text) = openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ossl.key",
            "-out",
            "ossl.csr",
            "-subj",
            "/CN=Zhang Wei/O=Jiangxi Tax Bureau/serialNumber=JX-TAX-0007",
        ],
        &dir,
    );
    assert!(ok, "{text}");
    let (ok, text) = openssl(
        &[
            "x509",
            "-req",
            "-in",
            "ossl.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-sha256",
            "-extfile",
            "client.ext",
            "-out",
            "ossl.pem",
        ],
        &dir,
    );
    assert!(ok, "{text}");
    let (ok, text) = openssl(
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "sslclient",
            "ossl.pem",
        ],
        &dir,
    );
    assert!(ok, "{text}");

    let der = pem_der(&dir.join("ossl.pem"));
    let id = identity_from_der(&der, &IdentityMapping::default()).unwrap();
    assert_eq!(id.officer_id, "JX-TAX-0007");
    assert_eq!(id.name, "Zhang Wei");
    assert_eq!(id.unit, "Jiangxi Tax Bureau");

    // And the CA revokes what openssl issued with its key.
    pki::revoke(&dir, &dir.join("ossl.pem")).unwrap();
    let serial = {
        let (_, c) = x509_parser::parse_x509_certificate(&der).unwrap();
        hex::encode_upper(c.raw_serial())
    };
    let (_, text) = openssl(&["crl", "-in", "ca.crl", "-noout", "-text"], &dir);
    assert!(text.contains(serial.trim_start_matches("00")), "{text}");
}

fn crl_text(dir: &Path) -> String {
    let (ok, text) = openssl(&["crl", "-in", "ca.crl", "-noout", "-text"], dir);
    assert!(ok, "{text}");
    text
}

fn crl_number(text: &str) -> u64 {
    let mut lines = text.lines();
    lines
        .find(|l| l.contains("X509v3 CRL Number"))
        .expect("crl number extension");
    lines.next().unwrap().trim().parse().unwrap()
}

fn serial_hex(cert: &Path) -> String {
    let der = pem_der(cert);
    let (_, c) = x509_parser::parse_x509_certificate(&der).unwrap();
    hex::encode_upper(c.raw_serial())
}

#[test]
fn revoke_lists_serial_is_idempotent_and_keeps_earlier_entries() {
    let (tmp, dir) = fresh_pki();
    let a = pki::issue(&dir, &li_na(), &tmp.path().join("a")).unwrap();
    let b = pki::issue(&dir, &li_na(), &tmp.path().join("b")).unwrap();
    assert_eq!(crl_number(&crl_text(&dir)), 1);

    assert_eq!(
        pki::revoke_outcome(&dir, &a.cert).unwrap(),
        Revocation::Added
    );
    let text = crl_text(&dir);
    assert!(text.contains(&serial_hex(&a.cert)), "{text}");
    assert!(!text.contains(&serial_hex(&b.cert)), "{text}");
    assert_eq!(crl_number(&text), 2);
    assert!(text.contains("Next Update"), "{text}");

    // Twice: no change at all.
    let before = fs::read(dir.join(pki::CRL)).unwrap();
    pki::revoke(&dir, &a.cert).unwrap();
    assert_eq!(
        pki::revoke_outcome(&dir, &a.cert).unwrap(),
        Revocation::AlreadyRevoked
    );
    assert_eq!(fs::read(dir.join(pki::CRL)).unwrap(), before);

    // A second revocation keeps the first.
    pki::revoke(&dir, &b.cert).unwrap();
    let text = crl_text(&dir);
    assert!(text.contains(&serial_hex(&a.cert)) && text.contains(&serial_hex(&b.cert)));
    assert_eq!(crl_number(&text), 3);

    // Still signed by the CA; openssl now refuses the revoked cert.
    let (ok, text) = openssl(
        &["crl", "-in", "ca.crl", "-CAfile", "ca.pem", "-noout"],
        &dir,
    );
    assert!(ok, "{text}");
    let (ok, text) = openssl(
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "ca.crl",
            a.cert.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(!ok && text.contains("revoked"), "{text}");

    // A DER copy of a cert is accepted too.
    let c = pki::issue(&dir, &li_na(), &tmp.path().join("c")).unwrap();
    let der_path = tmp.path().join("c.der");
    fs::write(&der_path, pem_der(&c.cert)).unwrap();
    pki::revoke(&dir, &der_path).unwrap();
    assert!(crl_text(&dir).contains(&serial_hex(&c.cert)));
}

#[test]
fn revoke_refuses_a_foreign_cert_even_with_the_same_ca_name() {
    let (tmp, dir) = fresh_pki();
    let other_dir = tmp.path().join("other-pki");
    pki::init(&other_dir).unwrap();
    let foreign = pki::issue(&other_dir, &li_na(), &tmp.path().join("foreign")).unwrap();
    let before = fs::read(dir.join(pki::CRL)).unwrap();
    let err = pki::revoke(&dir, &foreign.cert).unwrap_err();
    assert!(matches!(err, PkiError::NotIssuedByCa { .. }), "{err}");
    assert!(err.to_string().contains("foreign.pem"), "{err}");
    assert_eq!(fs::read(dir.join(pki::CRL)).unwrap(), before);
}

#[test]
fn p12_is_readable_by_openssl_with_the_documented_password() {
    let (tmp, dir) = fresh_pki();
    let issued = pki::issue(&dir, &li_na(), &tmp.path().join("li-na")).unwrap();
    let pass = format!("pass:{}", pki::P12_PASSWORD);
    assert_eq!(pki::P12_PASSWORD, "credgate");
    let (ok, text) = openssl(
        &[
            "pkcs12",
            "-in",
            issued.p12.to_str().unwrap(),
            "-passin",
            &pass,
            "-nokeys",
        ],
        &dir,
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("serialNumber") || text.contains("HN-AMR-0001"),
        "{text}"
    );
    assert!(text.contains("credgate dev CA"), "{text}");
    // The key decrypts too (no -legacy needed).
    let (ok, text) = openssl(
        &[
            "pkcs12",
            "-in",
            issued.p12.to_str().unwrap(),
            "-passin",
            &pass,
            "-nocerts",
            "-nodes",
        ],
        &dir,
    );
    assert!(ok && text.contains("PRIVATE KEY"), "{text}");
    // A wrong password is refused.
    let (ok, _) = openssl(
        &[
            "pkcs12",
            "-in",
            issued.p12.to_str().unwrap(),
            "-passin",
            "pass:wrong",
            "-nokeys",
        ],
        &dir,
    );
    assert!(!ok);
}

#[test]
fn bad_input_gives_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = li_na();

    // Missing PKI folder.
    let missing = tmp.path().join("no-such-dir");
    let err = pki::issue(&missing, &spec, &tmp.path().join("x")).unwrap_err();
    assert!(matches!(err, PkiError::Read { .. }), "{err}");
    assert!(err.to_string().contains("no-such-dir/ca.pem"), "{err}");
    let err = pki::revoke(&missing, &tmp.path().join("x.pem")).unwrap_err();
    assert!(err.to_string().contains("no-such-dir"), "{err}");

    // Missing ca.key.
    let dir = tmp.path().join("pki");
    pki::init(&dir).unwrap();
    fs::rename(dir.join("ca.key"), tmp.path().join("ca.key.bak")).unwrap();
    let err = pki::issue(&dir, &spec, &tmp.path().join("y")).unwrap_err();
    assert!(err.to_string().contains("ca.key"), "{err}");
    assert!(!tmp.path().join("y.pem").exists());

    // Garbage ca.key / ca.pem / ca.crl / cert to revoke.
    fs::write(
        dir.join("ca.key"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = pki::issue(&dir, &spec, &tmp.path().join("y")).unwrap_err();
    assert!(matches!(err, PkiError::BadKey { .. }), "{err}");
    assert!(err.to_string().contains("ca.key"), "{err}");

    // A key from another PKI does not match this ca.pem.
    let other = tmp.path().join("other");
    pki::init(&other).unwrap();
    fs::copy(other.join("ca.key"), dir.join("ca.key")).unwrap();
    let err = pki::issue(&dir, &spec, &tmp.path().join("y")).unwrap_err();
    assert!(matches!(err, PkiError::KeyMismatch { .. }), "{err}");
    fs::copy(tmp.path().join("ca.key.bak"), dir.join("ca.key")).unwrap();

    let ca_pem = fs::read(dir.join("ca.pem")).unwrap();
    fs::write(dir.join("ca.pem"), "garbage, not PEM at all").unwrap();
    let err = pki::issue(&dir, &spec, &tmp.path().join("y")).unwrap_err();
    assert!(matches!(err, PkiError::BadCertificate { .. }), "{err}");
    assert!(err.to_string().contains("ca.pem"), "{err}");
    fs::write(
        dir.join("ca.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = pki::issue(&dir, &spec, &tmp.path().join("y")).unwrap_err();
    assert!(err.to_string().contains("ca.pem"), "{err}");
    fs::write(dir.join("ca.pem"), &ca_pem).unwrap();

    let issued = pki::issue(&dir, &spec, &tmp.path().join("ok")).unwrap();
    fs::write(dir.join("ca.crl"), "junk").unwrap();
    let err = pki::revoke(&dir, &issued.cert).unwrap_err();
    assert!(matches!(err, PkiError::BadCrl { .. }), "{err}");
    assert!(err.to_string().contains("ca.crl"), "{err}");
    // Another CA's CRL is not extended either.
    fs::copy(other.join("ca.crl"), dir.join("ca.crl")).unwrap();
    let err = pki::revoke(&dir, &issued.cert).unwrap_err();
    assert!(matches!(err, PkiError::BadCrl { .. }), "{err}");

    let junk = tmp.path().join("junk.pem");
    fs::write(&junk, "not a certificate").unwrap();
    let err = pki::revoke(&dir, &junk).unwrap_err();
    assert!(matches!(err, PkiError::BadCertificate { .. }), "{err}");
    assert!(err.to_string().contains("junk.pem"), "{err}");

    // init into a path that is a file.
    let file = tmp.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let err = pki::init(&file).unwrap_err();
    assert!(err.to_string().contains("a-file"), "{err}");
}

#[test]
fn cert_without_client_auth_is_refused_for_client_use() {
    let (tmp, dir) = fresh_pki();
    let issued =
        testing::issue_without_client_auth(&dir, &li_na(), &tmp.path().join("noeku")).unwrap();
    let der = pem_der(&issued.cert);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(!eku.client_auth && eku.server_auth);
    let path = issued.cert.to_str().unwrap();
    let (ok, text) = openssl(
        &["verify", "-CAfile", "ca.pem", "-purpose", "sslclient", path],
        &dir,
    );
    assert!(!ok, "must not verify as a client cert: {text}");
    // It chains fine otherwise: only the purpose is wrong.
    let (ok, text) = openssl(&["verify", "-CAfile", "ca.pem", path], &dir);
    assert!(ok, "{text}");
    // Identity still reads; it is TLS that must refuse it.
    assert_eq!(
        identity_from_der(&der, &IdentityMapping::default())
            .unwrap()
            .officer_id,
        "HN-AMR-0001"
    );
}

#[test]
fn cert_with_no_eku_extension_is_possible_and_has_none() {
    let (tmp, dir) = fresh_pki();
    let options = IssueOptions {
        eku: OfficerEku::Absent,
        ..IssueOptions::default()
    };
    let issued =
        pki::issue_with_options(&dir, &li_na(), &tmp.path().join("none"), &options).unwrap();
    let der = pem_der(&issued.cert);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    assert!(cert.extended_key_usage().unwrap().is_none());
}

#[test]
fn cert_via_ca_false_intermediate_does_not_verify() {
    let (tmp, dir) = fresh_pki();
    let issued = testing::issue_via_intermediate(&dir, &li_na(), &tmp.path().join("mid")).unwrap();
    let pem = fs::read_to_string(&issued.cert).unwrap();
    assert_eq!(
        pem.matches("BEGIN CERTIFICATE").count(),
        2,
        "leaf + intermediate"
    );
    let chain: Vec<_> = rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let (_, mid) = x509_parser::parse_x509_certificate(chain[1].as_ref()).unwrap();
    assert_eq!(
        mid.subject().to_string(),
        format!("CN={}", testing::ROGUE_INTERMEDIATE_CN)
    );
    let bc = mid.basic_constraints().unwrap().unwrap().value;
    assert!(!bc.ca);
    fs::write(tmp.path().join("mid-only.pem"), {
        let mut s = String::new();
        for block in pem.split_inclusive("-----END CERTIFICATE-----\n").skip(1) {
            s.push_str(block);
        }
        s
    })
    .unwrap();
    let (ok, text) = openssl(
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-untrusted",
            tmp.path().join("mid-only.pem").to_str().unwrap(),
            issued.cert.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(!ok, "a CA:FALSE intermediate must not verify: {text}");
    // The leaf's identity is still readable; refusing it is TLS's job.
    let id = identity_from_der(chain[0].as_ref(), &IdentityMapping::default()).unwrap();
    assert_eq!(id.officer_id, "HN-AMR-0001");
    // And this CA refuses to revoke what it did not sign directly.
    assert!(matches!(
        pki::revoke(&dir, &issued.cert),
        Err(PkiError::NotIssuedByCa { .. })
    ));
}

#[test]
fn expired_spec_issues_an_expired_cert() {
    let (tmp, dir) = fresh_pki();
    let now = OffsetDateTime::now_utc();
    let spec = OfficerSpec {
        not_before: now - time::Duration::days(10),
        not_after: now - time::Duration::days(1),
        ..li_na()
    };
    let issued = pki::issue(&dir, &spec, &tmp.path().join("old")).unwrap();
    let (ok, text) = openssl(
        &["verify", "-CAfile", "ca.pem", issued.cert.to_str().unwrap()],
        &dir,
    );
    assert!(!ok && text.contains("expired"), "{text}");
}

/// A self-signed certificate with exactly the subject given (rcgen), for
/// string types `pki::issue` never writes.
fn cert_with_subject(entries: Vec<(rcgen::DnType, rcgen::DnValue)>) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (ty, value) in entries {
        params.distinguished_name.push(ty, value);
    }
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().to_vec()
}

fn serial_number_type() -> rcgen::DnType {
    rcgen::DnType::CustomDnType(vec![2, 5, 4, 5])
}

#[test]
fn bmp_universal_and_utf8_subject_strings_are_read() {
    let der = cert_with_subject(vec![
        (
            rcgen::DnType::CommonName,
            rcgen::DnValue::BmpString("李娜".try_into().unwrap()),
        ),
        (
            rcgen::DnType::OrganizationName,
            rcgen::DnValue::UniversalString("湖南省市场监督管理局".try_into().unwrap()),
        ),
        (
            serial_number_type(),
            rcgen::DnValue::Utf8String("湘-AMR-0001".to_owned()),
        ),
    ]);
    let id = identity_from_der(&der, &IdentityMapping::default()).unwrap();
    assert_eq!(id.officer_id, "湘-AMR-0001");
    assert_eq!(id.name, "李娜");
    assert_eq!(id.unit, "湖南省市场监督管理局");
}

#[test]
fn blank_officer_id_is_missing_and_unreadable_string_type_is_reported() {
    let blank = cert_with_subject(vec![
        (rcgen::DnType::CommonName, "Li Na".into()),
        (serial_number_type(), "   ".into()),
    ]);
    assert!(matches!(
        identity_from_der(&blank, &IdentityMapping::default()),
        Err(IdentityError::Missing(ref f)) if f == "subject.serialNumber"
    ));

    let teletex = cert_with_subject(vec![
        (
            rcgen::DnType::CommonName,
            rcgen::DnValue::TeletexString("Li Na".try_into().unwrap()),
        ),
        (serial_number_type(), "HN-1".into()),
    ]);
    let err = identity_from_der(&teletex, &IdentityMapping::default()).unwrap_err();
    assert!(
        matches!(err, IdentityError::Unreadable(ref f) if f == "subject.CN"),
        "{err}"
    );
}

#[test]
fn non_ascii_officer_fields_survive_issue_and_p12() {
    let (tmp, dir) = fresh_pki();
    let spec = OfficerSpec::for_days(
        "湘AMR0001",
        "李娜",
        "湖南省市场监督管理局",
        30,
        OffsetDateTime::now_utc(),
    );
    let issued = pki::issue(&dir, &spec, &tmp.path().join("li-na")).unwrap();
    let id = identity_from_der(&pem_der(&issued.cert), &IdentityMapping::default()).unwrap();
    assert_eq!(id.officer_id, "湘AMR0001");
    assert_eq!(id.name, "李娜");
    assert_eq!(id.unit, "湖南省市场监督管理局");
    let (ok, text) = openssl(
        &[
            "pkcs12",
            "-in",
            issued.p12.to_str().unwrap(),
            "-passin",
            "pass:credgate",
            "-nokeys",
        ],
        &dir,
    );
    assert!(ok, "{text}");
}

#[test]
fn invalid_spec_writes_nothing() {
    let (tmp, dir) = fresh_pki();
    let spec = OfficerSpec::for_days("", "Li Na", "Unit", 30, OffsetDateTime::now_utc());
    let err = pki::issue(&dir, &spec, &tmp.path().join("new-folder/li-na")).unwrap_err();
    assert!(matches!(err, PkiError::InvalidSpec { .. }), "{err}");
    assert!(err.to_string().contains("li-na.pem"), "{err}");
    assert!(!tmp.path().join("new-folder").exists());
}
