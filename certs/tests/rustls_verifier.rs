//! The dev PKI as the gateway will see it: rustls's WebPKI client verifier
//! loaded with `ca.pem` and `ca.crl` accepts issued officer certificates and
//! refuses revoked, expired, foreign, wrong-purpose and bad-chain ones.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use certs::pki::{self, OfficerSpec};
use certs::testing;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use time::OffsetDateTime;

fn certs_in(path: &Path) -> Vec<CertificateDer<'static>> {
    let bytes = fs::read(path).unwrap();
    let mut reader = bytes.as_slice();
    rustls_pemfile::certs(&mut reader)
        .collect::<Result<_, _>>()
        .unwrap()
}

fn verifier(dir: &Path) -> Arc<dyn ClientCertVerifier> {
    let mut roots = RootCertStore::empty();
    for ca in certs_in(&dir.join(pki::CA_CERT)) {
        roots.add(ca).unwrap();
    }
    let crl_bytes = fs::read(dir.join(pki::CRL)).unwrap();
    let mut reader = crl_bytes.as_slice();
    let crls: Vec<CertificateRevocationListDer<'static>> = rustls_pemfile::crls(&mut reader)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(crls.len(), 1);
    WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .with_crls(crls)
    .build()
    .unwrap()
}

fn verify(dir: &Path, cert: &Path) -> Result<(), rustls::Error> {
    let chain = certs_in(cert);
    let (leaf, rest) = chain.split_first().unwrap();
    verifier(dir)
        .verify_client_cert(leaf, rest, UnixTime::now())
        .map(|_| ())
}

fn spec(id: &str) -> OfficerSpec {
    OfficerSpec::for_days(id, "Li Na", "Unit", 30, OffsetDateTime::now_utc())
}

#[test]
fn issued_cert_is_accepted_until_revoked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    pki::init(&dir).unwrap();
    let a = pki::issue(&dir, &spec("A-1"), &tmp.path().join("a")).unwrap();
    let b = pki::issue(&dir, &spec("B-2"), &tmp.path().join("b")).unwrap();
    verify(&dir, &a.cert).unwrap();
    verify(&dir, &b.cert).unwrap();

    pki::revoke(&dir, &a.cert).unwrap();
    let err = verify(&dir, &a.cert).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked)
        ),
        "{err:?}"
    );
    verify(&dir, &b.cert).unwrap();
}

#[test]
fn expired_foreign_wrong_purpose_and_bad_chain_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    pki::init(&dir).unwrap();

    let now = OffsetDateTime::now_utc();
    let expired = OfficerSpec {
        not_before: now - time::Duration::days(10),
        not_after: now - time::Duration::days(1),
        ..spec("OLD-1")
    };
    let expired = pki::issue(&dir, &expired, &tmp.path().join("expired")).unwrap();
    assert!(matches!(
        verify(&dir, &expired.cert),
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }
        ))
    ));

    let other = tmp.path().join("other-pki");
    pki::init(&other).unwrap();
    let foreign = pki::issue(&other, &spec("F-1"), &tmp.path().join("foreign")).unwrap();
    // Same CA name, different key: the signature does not verify.
    let err = verify(&dir, &foreign.cert).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::BadSignature | rustls::CertificateError::UnknownIssuer
            )
        ),
        "{err:?}"
    );

    let no_client_auth =
        testing::issue_without_client_auth(&dir, &spec("S-1"), &tmp.path().join("server-only"))
            .unwrap();
    let err = verify(&dir, &no_client_auth.cert).unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::InvalidPurpose
                    | rustls::CertificateError::InvalidPurposeContext { .. }
            )
        ),
        "{err:?}"
    );

    let via_mid =
        testing::issue_via_intermediate(&dir, &spec("M-1"), &tmp.path().join("mid")).unwrap();
    assert_eq!(certs_in(&via_mid.cert).len(), 2);
    let err = verify(&dir, &via_mid.cert).unwrap_err();
    assert!(
        format!("{err:?}").contains("EndEntityUsedAsCa"),
        "the CA:FALSE intermediate must be what fails: {err:?}"
    );
}
