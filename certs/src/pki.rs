//! The development PKI: `credgate certs init | issue | revoke`.
//!
//! Files in the PKI folder (`--dir`):
//! `ca.pem`, `ca.key` (PKCS#8 PEM, usable by `openssl x509 -req -CAkey`),
//! `server.pem`, `server.key` (localhost, 127.0.0.1, ::1), `ca.crl` (PEM CRL),
//! `audit-signing.pk8` (Ed25519 PKCS#8 DER), `consent-authority.pk8`,
//! `consent-authority.pub` (raw 32 bytes), `consent-authority.pub.pem`.
//!
//! Owns creating those files ([`init`]), issuing officer client certificates
//! with a PKCS#12 bundle ([`issue`], [`issue_with_options`]) and revoking them
//! by re-signing `ca.crl` ([`revoke`]), and re-signing `ca.crl` with a new
//! `next_update` before it runs out ([`refresh_crl`]). Every file holding a private key is
//! created with mode 0600 and never overwritten. It does not serve, fetch or
//! verify anything over the network.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, DnValue, ExtendedKeyUsagePurpose, Ia5String, IsCa, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SanType, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, Ed25519KeyPair, KeyPair as _};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{
    Oid, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA, OID_SIG_ECDSA_WITH_SHA256,
    OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ED25519,
};
use x509_parser::x509::X509Name;

/// CA certificate (PEM).
pub const CA_CERT: &str = "ca.pem";
/// CA private key (PKCS#8 PEM, mode 0600).
pub const CA_KEY: &str = "ca.key";
/// Gateway server certificate (PEM): SAN `localhost`, `127.0.0.1`, `::1`.
pub const SERVER_CERT: &str = "server.pem";
/// Gateway server private key (PKCS#8 PEM, mode 0600).
pub const SERVER_KEY: &str = "server.key";
/// Certificate revocation list (PEM) signed by the CA.
pub const CRL: &str = "ca.crl";
/// Audit checkpoint signing key (Ed25519 PKCS#8 DER, mode 0600).
pub const AUDIT_KEY: &str = "audit-signing.pk8";
/// Consent authority signing key (Ed25519 PKCS#8 DER, mode 0600).
pub const CONSENT_KEY: &str = "consent-authority.pk8";
/// Consent authority public key, raw 32 bytes.
pub const CONSENT_PUB: &str = "consent-authority.pub";
/// Consent authority public key, SubjectPublicKeyInfo PEM.
pub const CONSENT_PUB_PEM: &str = "consent-authority.pub.pem";

/// Password of every PKCS#12 bundle written by [`issue`]: `credgate`.
///
/// The bundle uses PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) with an
/// HMAC-SHA256 MAC, which OpenSSL 3 and current browsers read without
/// `-legacy`.
pub const P12_PASSWORD: &str = "credgate";

/// Common name of the development CA.
pub const CA_COMMON_NAME: &str = "credgate dev CA";

/// Every file [`init`] writes, in the order it writes them.
pub const INIT_FILES: [&str; 9] = [
    CA_CERT,
    CA_KEY,
    SERVER_CERT,
    SERVER_KEY,
    CRL,
    AUDIT_KEY,
    CONSENT_KEY,
    CONSENT_PUB,
    CONSENT_PUB_PEM,
];

/// CA validity, days (10 years).
const CA_DAYS: i64 = 3650;
/// Server certificate validity, days (2 years).
const SERVER_DAYS: i64 = 730;
/// How far ahead a CRL's `next_update` lies, days (`init`, `revoke`, and
/// the default of `certs crl refresh`).
pub const CRL_NEXT_UPDATE_DAYS: i64 = 30;
/// Length of random certificate serial numbers, bytes.
const SERIAL_LEN: usize = 16;
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Error from the dev PKI. Every message names the file involved and never
/// contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A file or folder could not be read.
    #[error("cannot read `{}`: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file or folder could not be written.
    #[error("cannot write `{}`: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// `init` found an existing PKI file and refused to overwrite it.
    #[error("`{}` already exists: refusing to overwrite an existing PKI", .path.display())]
    AlreadyInitialised {
        /// The existing file.
        path: PathBuf,
    },
    /// An output file of `issue` already exists.
    #[error("`{}` already exists: refusing to overwrite it", .path.display())]
    OutputExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file that must hold a certificate does not.
    #[error("`{}` does not hold a readable X.509 certificate", .path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A file that must hold a private key does not.
    #[error("`{}` does not hold a usable PKCS#8 PEM private key", .path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
    },
    /// The CA key does not belong to the CA certificate.
    #[error("`{}` is not the private key of `{}`", .key.display(), .cert.display())]
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// A file that must hold this CA's CRL does not.
    #[error("`{}` does not hold a CRL signed by this CA", .path.display())]
    BadCrl {
        /// The file.
        path: PathBuf,
    },
    /// The certificate to revoke was not issued by this CA.
    #[error("`{}` was not issued by the CA in `{}`", .cert.display(), .ca.display())]
    NotIssuedByCa {
        /// The certificate file.
        cert: PathBuf,
        /// The CA certificate file.
        ca: PathBuf,
    },
    /// The officer specification cannot be turned into a certificate.
    #[error("cannot issue `{}`: {reason}", .path.display())]
    InvalidSpec {
        /// The certificate that would have been written.
        path: PathBuf,
        /// What is wrong (no secret material).
        reason: String,
    },
    /// Key or certificate generation failed.
    #[error("cannot generate `{}`: {reason}", .path.display())]
    Generate {
        /// The file being produced.
        path: PathBuf,
        /// What failed (no secret material).
        reason: String,
    },
}

/// Who an officer certificate is for, and when it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerSpec {
    /// Officer id, written as subject serialNumber (OID 2.5.4.5); required.
    pub officer_id: String,
    /// Display name, written as subject CN (omitted if empty).
    pub name: String,
    /// Unit, written as subject O (omitted if empty).
    pub unit: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity (must be after `not_before`).
    pub not_after: OffsetDateTime,
}

impl OfficerSpec {
    /// A spec valid from `now` for `days` days.
    pub fn for_days(
        officer_id: impl Into<String>,
        name: impl Into<String>,
        unit: impl Into<String>,
        days: u32,
        now: OffsetDateTime,
    ) -> Self {
        OfficerSpec {
            officer_id: officer_id.into(),
            name: name.into(),
            unit: unit.into(),
            not_before: now,
            not_after: now + Duration::days(i64::from(days)),
        }
    }
}

/// Which extended key usages an officer certificate carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OfficerEku {
    /// clientAuth: what [`issue`] writes.
    #[default]
    ClientAuth,
    /// serverAuth only, no clientAuth: a TLS server verifying clients must
    /// refuse it (rustls/webpki and `openssl verify -purpose sslclient` do).
    ServerAuthOnly,
    /// No EKU extension at all. RFC 5280 (and webpki) treat that as "any
    /// purpose", so such a certificate IS accepted for client auth.
    Absent,
}

/// Extra knobs for [`issue_with_options`]. `Default` gives what [`issue`]
/// writes: clientAuth EKU, no SANs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IssueOptions {
    /// Extended key usages; anything but the default only for tests of a
    /// gateway that must refuse such certificates.
    pub eku: OfficerEku,
    /// URI subject alternative names (for `san.uri:<prefix>` mappings).
    pub san_uris: Vec<String>,
    /// rfc822Name subject alternative names (for the `san.email` mapping).
    pub san_emails: Vec<String>,
}

/// Files written by [`issue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// `PREFIX.pem`: the certificate (then any intermediate), PEM.
    pub cert: PathBuf,
    /// `PREFIX.key`: the private key, PKCS#8 PEM, mode 0600.
    pub key: PathBuf,
    /// `PREFIX.p12`: key + certificate + CA, PKCS#12, password [`P12_PASSWORD`]
    /// (`credgate`), mode 0600.
    pub p12: PathBuf,
}

/// Whether [`revoke_outcome`] changed the CRL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The serial was added and `ca.crl` re-signed.
    Added,
    /// The serial was already listed; `ca.crl` was left untouched.
    AlreadyRevoked,
}

/// Create the dev PKI in `dir` (created if missing): CA, server certificate,
/// an empty CRL, the audit signing key and the consent-authority key pair.
///
/// Refuses, naming the file, if any of [`INIT_FILES`] already exists there —
/// in particular `ca.pem` — so an existing PKI and its keys are never
/// overwritten.
pub fn init(dir: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(dir).map_err(|source| PkiError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    for name in INIT_FILES {
        let path = dir.join(name);
        if path.exists() {
            return Err(PkiError::AlreadyInitialised { path });
        }
    }
    let now = OffsetDateTime::now_utc();
    let ca_cert_path = dir.join(CA_CERT);
    let generate = |path: &Path| {
        let path = path.to_path_buf();
        move |e: rcgen::Error| PkiError::Generate {
            path,
            reason: e.to_string(),
        }
    };

    // CA.
    let ca_key = KeyPair::generate().map_err(generate(&dir.join(CA_KEY)))?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = now;
    ca_params.not_after = now + Duration::days(CA_DAYS);
    ca_params.serial_number = Some(random_serial(&ca_cert_path)?);
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(generate(&ca_cert_path))?;

    // Server certificate.
    let server_cert_path = dir.join(SERVER_CERT);
    let server_key = KeyPair::generate().map_err(generate(&dir.join(SERVER_KEY)))?;
    let mut server_params = CertificateParams::default();
    server_params.distinguished_name = DistinguishedName::new();
    server_params
        .distinguished_name
        .push(DnType::CommonName, "credgate server");
    server_params.subject_alt_names = vec![
        SanType::DnsName(
            Ia5String::try_from("localhost").map_err(|e| PkiError::Generate {
                path: server_cert_path.clone(),
                reason: e.to_string(),
            })?,
        ),
        SanType::IpAddress(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
        SanType::IpAddress(std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)),
    ];
    server_params.is_ca = IsCa::ExplicitNoCa;
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.use_authority_key_identifier_extension = true;
    server_params.not_before = now;
    server_params.not_after = now + Duration::days(SERVER_DAYS);
    server_params.serial_number = Some(random_serial(&server_cert_path)?);
    let server_cert = server_params
        .signed_by(&server_key, &ca_cert, &ca_key)
        .map_err(generate(&server_cert_path))?;

    // Empty CRL, number 1.
    let crl_path = dir.join(CRL);
    let crl_pem = sign_crl(
        &ca_cert,
        &ca_key,
        &[1],
        Vec::new(),
        now,
        Duration::days(CRL_NEXT_UPDATE_DAYS),
        &crl_path,
    )?;

    // Ed25519 keys.
    let audit_key = ed25519_pkcs8(&dir.join(AUDIT_KEY))?;
    let consent_key = ed25519_pkcs8(&dir.join(CONSENT_KEY))?;
    let consent_pub = Ed25519KeyPair::from_pkcs8(&consent_key)
        .map_err(|e| PkiError::Generate {
            path: dir.join(CONSENT_PUB),
            reason: e.to_string(),
        })?
        .public_key()
        .as_ref()
        .to_vec();
    let mut consent_spki = ED25519_SPKI_PREFIX.to_vec();
    consent_spki.extend_from_slice(&consent_pub);

    write_new(&ca_cert_path, ca_cert.pem().as_bytes(), false)?;
    write_new(&dir.join(CA_KEY), ca_key.serialize_pem().as_bytes(), true)?;
    write_new(&server_cert_path, server_cert.pem().as_bytes(), false)?;
    write_new(
        &dir.join(SERVER_KEY),
        server_key.serialize_pem().as_bytes(),
        true,
    )?;
    write_new(&crl_path, crl_pem.as_bytes(), false)?;
    write_new(&dir.join(AUDIT_KEY), &audit_key, true)?;
    write_new(&dir.join(CONSENT_KEY), &consent_key, true)?;
    write_new(&dir.join(CONSENT_PUB), &consent_pub, false)?;
    write_new(
        &dir.join(CONSENT_PUB_PEM),
        pem_encode("PUBLIC KEY", &consent_spki).as_bytes(),
        false,
    )?;
    Ok(())
}

/// Issue an officer client certificate signed by the CA in `dir`.
///
/// Writes `PREFIX.pem` (certificate), `PREFIX.key` (PKCS#8 PEM, mode 0600)
/// and `PREFIX.p12` (PKCS#12 with key, certificate and CA; password
/// `credgate`, see [`P12_PASSWORD`]). The subject is CN = name, O = unit,
/// serialNumber = officer id; the certificate carries the clientAuth EKU,
/// digitalSignature key usage and a random 16-byte serial. The prefix's
/// folder is created if missing; existing output files are never
/// overwritten.
pub fn issue(dir: &Path, spec: &OfficerSpec, out_prefix: &Path) -> Result<Issued, PkiError> {
    issue_with_options(dir, spec, out_prefix, &IssueOptions::default())
}

/// [`issue`] with extra [`IssueOptions`] (SANs, or no clientAuth EKU).
pub fn issue_with_options(
    dir: &Path,
    spec: &OfficerSpec,
    out_prefix: &Path,
    options: &IssueOptions,
) -> Result<Issued, PkiError> {
    let ca = Ca::load(dir)?;
    let outputs = Outputs::new(out_prefix)?;
    let params = officer_params(spec, options, &outputs.cert)?;
    let key = KeyPair::generate().map_err(|e| PkiError::Generate {
        path: outputs.key.clone(),
        reason: e.to_string(),
    })?;
    let cert = params
        .signed_by(&key, &ca.cert, &ca.key)
        .map_err(|e| PkiError::Generate {
            path: outputs.cert.clone(),
            reason: e.to_string(),
        })?;
    outputs.write(&key, &[cert.der().to_vec(), ca.der.clone()], 1)
}

/// Revoke `cert` (a PEM or DER certificate file): add its serial to the
/// CA's `ca.crl`, re-signed with the CRL number incremented and
/// `next_update` 30 days on.
///
/// Idempotent: a certificate already listed leaves the CRL untouched.
/// Refuses a certificate whose signature does not verify under this CA's
/// key ([`PkiError::NotIssuedByCa`]).
pub fn revoke(dir: &Path, cert: &Path) -> Result<(), PkiError> {
    revoke_outcome(dir, cert).map(|_| ())
}

/// [`revoke`], telling whether the CRL changed.
pub fn revoke_outcome(dir: &Path, cert: &Path) -> Result<Revocation, PkiError> {
    let ca = Ca::load(dir)?;
    let crl_path = dir.join(CRL);

    let leaf_der = read_first_cert(cert)?;
    let (_, leaf) =
        x509_parser::parse_x509_certificate(&leaf_der).map_err(|_| PkiError::BadCertificate {
            path: cert.to_path_buf(),
        })?;
    let (alg, sig) = (&leaf.signature_algorithm, &leaf.signature_value.data);
    let issued_here = ca.signed(leaf.issuer(), alg, leaf.tbs_certificate.as_ref(), sig);
    if !issued_here {
        return Err(PkiError::NotIssuedByCa {
            cert: cert.to_path_buf(),
            ca: dir.join(CA_CERT),
        });
    }
    let serial = leaf.raw_serial().to_vec();

    let current = CurrentCrl::load(&ca, &crl_path)?;
    if current.serials.iter().any(|r| same_serial(r, &serial)) {
        return Ok(Revocation::AlreadyRevoked);
    }

    let now = OffsetDateTime::now_utc();
    let mut revoked = current.revoked;
    revoked.push(RevokedCertParams {
        serial_number: SerialNumber::from_slice(&serial),
        revocation_time: now,
        reason_code: None,
        invalidity_date: None,
    });
    let days = Duration::days(CRL_NEXT_UPDATE_DAYS);
    let pem = sign_crl(
        &ca.cert,
        &ca.key,
        &current.next_number,
        revoked,
        now,
        days,
        &crl_path,
    )?;
    write_replace(&crl_path, pem.as_bytes())?;
    Ok(Revocation::Added)
}

/// What [`refresh_crl`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlRefresh {
    /// The CRL file (`ca.crl`), replaced.
    pub path: PathBuf,
    /// Serials listed, the same as before.
    pub revoked: usize,
    /// The new CRL number, decimal (the old one plus 1).
    pub number: String,
    /// The replaced CRL's `next_update`, if it had one.
    pub previous_next_update: Option<OffsetDateTime>,
    /// The new `this_update` (now).
    pub this_update: OffsetDateTime,
    /// The new `next_update`: `days` after `this_update`.
    pub next_update: OffsetDateTime,
}

/// Re-sign the CA's `ca.crl` unchanged but for its dates and number: the
/// same revoked serials (with their dates and reasons), `this_update` now,
/// `next_update` `days` later, CRL number incremented. For a CRL whose
/// `next_update` nears: past it, relying parties (the gateway included)
/// may treat every certificate as unverifiable. Refuses a `ca.crl` not
/// signed by this CA ([`PkiError::BadCrl`]).
pub fn refresh_crl(dir: &Path, days: u32) -> Result<CrlRefresh, PkiError> {
    let ca = Ca::load(dir)?;
    let crl_path = dir.join(CRL);
    let current = CurrentCrl::load(&ca, &crl_path)?;
    let now = OffsetDateTime::now_utc();
    let revoked = current.revoked.len();
    let pem = sign_crl(
        &ca.cert,
        &ca.key,
        &current.next_number,
        current.revoked,
        now,
        Duration::days(i64::from(days)),
        &crl_path,
    )?;
    write_replace(&crl_path, pem.as_bytes())?;
    Ok(CrlRefresh {
        path: crl_path,
        revoked,
        number: current.next_number_text,
        previous_next_update: current.next_update,
        this_update: now,
        next_update: now + Duration::days(i64::from(days)),
    })
}

/// The CA's current CRL, checked to be signed by it, as the next one needs it.
struct CurrentCrl {
    /// Its revoked entries, to carry over.
    revoked: Vec<RevokedCertParams>,
    /// Their raw serials.
    serials: Vec<Vec<u8>>,
    /// The CRL number the next CRL gets (big-endian bytes).
    next_number: Vec<u8>,
    /// The same, decimal.
    next_number_text: String,
    /// Its `next_update`.
    next_update: Option<OffsetDateTime>,
}

impl CurrentCrl {
    fn load(ca: &Ca, crl_path: &Path) -> Result<CurrentCrl, PkiError> {
        let crl_bytes = read(crl_path)?;
        let bad_crl = || PkiError::BadCrl {
            path: crl_path.to_path_buf(),
        };
        let crl_der = rustls_pemfile::crls(&mut crl_bytes.as_slice())
            .next()
            .and_then(Result::ok)
            .ok_or_else(bad_crl)?;
        let (_, crl) = x509_parser::parse_x509_crl(crl_der.as_ref()).map_err(|_| bad_crl())?;
        let (alg, sig) = (&crl.signature_algorithm, &crl.signature_value.data);
        let crl_signed_here = ca.signed(crl.issuer(), alg, crl.tbs_cert_list.as_ref(), sig);
        if !crl_signed_here {
            return Err(bad_crl());
        }
        let revoked = crl
            .iter_revoked_certificates()
            .map(|r| RevokedCertParams {
                serial_number: SerialNumber::from_slice(r.raw_serial()),
                revocation_time: r.revocation_date.to_datetime(),
                reason_code: r
                    .reason_code()
                    .and_then(|(_, code)| reason_from_code(code.0)),
                invalidity_date: r.invalidity_date().map(|(_, t)| t.to_datetime()),
            })
            .collect();
        let serials = crl
            .iter_revoked_certificates()
            .map(|r| r.raw_serial().to_vec())
            .collect();
        let next = match crl.crl_number() {
            Some(n) => n.clone() + 1u32,
            None => 1u32.into(),
        };
        Ok(CurrentCrl {
            revoked,
            serials,
            next_number: next.to_bytes_be(),
            next_number_text: next.to_string(),
            next_update: crl.next_update().map(|t| t.to_datetime()),
        })
    }
}

/// The CA of a PKI folder, ready to sign.
pub(crate) struct Ca {
    /// rcgen issuer re-created from `ca.pem` (same name, key identifier).
    pub(crate) cert: rcgen::Certificate,
    /// The CA key from `ca.key`.
    pub(crate) key: KeyPair,
    /// `ca.pem` as DER (the real certificate, for chains and bundles).
    pub(crate) der: Vec<u8>,
    /// Raw DER of the CA subject name.
    subject_raw: Vec<u8>,
    /// Raw subject public key bits of the CA.
    public_key: Vec<u8>,
}

impl Ca {
    /// Read `ca.pem` and `ca.key` from `dir` and check they belong together.
    pub(crate) fn load(dir: &Path) -> Result<Self, PkiError> {
        let cert_path = dir.join(CA_CERT);
        let key_path = dir.join(CA_KEY);
        let der = read_first_cert(&cert_path)?;
        let bad_cert = || PkiError::BadCertificate {
            path: cert_path.clone(),
        };
        let (_, x509) = x509_parser::parse_x509_certificate(&der).map_err(|_| bad_cert())?;
        if !rcgen_can_read(&x509) {
            return Err(bad_cert());
        }
        let subject_raw = x509.subject().as_raw().to_vec();
        let spki_raw = x509.public_key().raw.to_vec();
        let public_key = x509.public_key().subject_public_key.data.to_vec();

        let key_text = String::from_utf8(read(&key_path)?).map_err(|_| PkiError::BadKey {
            path: key_path.clone(),
        })?;
        let key = KeyPair::from_pem(&key_text).map_err(|_| PkiError::BadKey {
            path: key_path.clone(),
        })?;
        if key.public_key_der() != spki_raw {
            return Err(PkiError::KeyMismatch {
                key: key_path,
                cert: cert_path,
            });
        }
        let params = CertificateParams::from_ca_cert_der(&CertificateDer::from(der.as_slice()))
            .map_err(|_| PkiError::BadCertificate {
                path: cert_path.clone(),
            })?;
        let cert = params.self_signed(&key).map_err(|e| PkiError::Generate {
            path: cert_path.clone(),
            reason: e.to_string(),
        })?;
        Ok(Ca {
            cert,
            key,
            der,
            subject_raw,
            public_key,
        })
    }

    /// Whether a certificate or CRL with this issuer, signature algorithm,
    /// signed part and signature was signed by this CA.
    fn signed(
        &self,
        issuer: &x509_parser::x509::X509Name<'_>,
        alg: &x509_parser::x509::AlgorithmIdentifier<'_>,
        tbs: &[u8],
        sig: &[u8],
    ) -> bool {
        issuer.as_raw() == self.subject_raw.as_slice() && self.verifies(&alg.algorithm, tbs, sig)
    }

    /// Whether `sig` over `message` verifies under the CA public key with
    /// the signature algorithm `alg` (ECDSA P-256/P-384, Ed25519 or RSA).
    fn verifies(&self, alg: &Oid<'_>, message: &[u8], sig: &[u8]) -> bool {
        let candidates: &[&'static dyn signature::VerificationAlgorithm] =
            if *alg == OID_SIG_ECDSA_WITH_SHA256 {
                &[
                    &signature::ECDSA_P256_SHA256_ASN1,
                    &signature::ECDSA_P384_SHA256_ASN1,
                ]
            } else if *alg == OID_SIG_ECDSA_WITH_SHA384 {
                &[
                    &signature::ECDSA_P384_SHA384_ASN1,
                    &signature::ECDSA_P256_SHA384_ASN1,
                ]
            } else if *alg == OID_SIG_ED25519 {
                &[&signature::ED25519]
            } else if *alg == OID_PKCS1_SHA256WITHRSA {
                &[&signature::RSA_PKCS1_2048_8192_SHA256]
            } else if *alg == OID_PKCS1_SHA384WITHRSA {
                &[&signature::RSA_PKCS1_2048_8192_SHA384]
            } else {
                &[]
            };
        candidates.iter().any(|&alg| {
            signature::UnparsedPublicKey::new(alg, &self.public_key)
                .verify(message, sig)
                .is_ok()
        })
    }
}

/// Whether rcgen's `from_ca_cert_der` can read `cert` without panicking: it
/// panics on an empty relative distinguished name, in the subject or in a
/// name-constraints directoryName. Defensive: x509-parser 0.16 never yields
/// an empty RDN (it parses RDNs with `many1`), but the guard keeps an
/// operator's odd `ca.pem` from ever reaching that panic if that changes.
fn rcgen_can_read(cert: &X509Certificate<'_>) -> bool {
    fn no_empty_rdn(name: &X509Name<'_>) -> bool {
        name.iter().all(|rdn| rdn.iter().next().is_some())
    }
    let constraints_ok = match cert.name_constraints() {
        Ok(Some(ext)) => ext
            .value
            .permitted_subtrees
            .iter()
            .chain(ext.value.excluded_subtrees.iter())
            .flatten()
            .all(|subtree| match &subtree.base {
                GeneralName::DirectoryName(name) => no_empty_rdn(name),
                _ => true,
            }),
        Ok(None) => true,
        Err(_) => false,
    };
    constraints_ok && no_empty_rdn(cert.subject())
}

/// The three output paths of an issue, checked not to exist yet.
pub(crate) struct Outputs {
    /// `PREFIX.pem`
    pub(crate) cert: PathBuf,
    /// `PREFIX.key`
    pub(crate) key: PathBuf,
    /// `PREFIX.p12`
    pub(crate) p12: PathBuf,
}

impl Outputs {
    /// Paths for `prefix`; refuses if any exists.
    pub(crate) fn new(prefix: &Path) -> Result<Self, PkiError> {
        let outputs = Outputs {
            cert: with_suffix(prefix, ".pem"),
            key: with_suffix(prefix, ".key"),
            p12: with_suffix(prefix, ".p12"),
        };
        for path in [&outputs.cert, &outputs.key, &outputs.p12] {
            if path.exists() {
                return Err(PkiError::OutputExists { path: path.clone() });
            }
        }
        Ok(outputs)
    }

    /// Write key, certificate chain (`chain[0]` is the leaf, the last
    /// entry the CA) and the PKCS#12 bundle. The first `pem_certs` entries
    /// of the chain go into `PREFIX.pem`.
    pub(crate) fn write(
        self,
        key: &KeyPair,
        chain: &[Vec<u8>],
        pem_certs: usize,
    ) -> Result<Issued, PkiError> {
        let p12 = pkcs12(key, chain, &self.p12)?;
        if let Some(parent) = self.cert.parent() {
            if !parent.as_os_str().is_empty() {
                fs::create_dir_all(parent).map_err(|source| PkiError::Write {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
        }
        let pem: String = chain
            .iter()
            .take(pem_certs)
            .map(|der| pem_encode("CERTIFICATE", der))
            .collect();
        write_new(&self.cert, pem.as_bytes(), false)?;
        write_new(&self.key, key.serialize_pem().as_bytes(), true)?;
        write_new(&self.p12, &p12, true)?;
        Ok(Issued {
            cert: self.cert,
            key: self.key,
            p12: self.p12,
        })
    }
}

/// Certificate parameters for an officer.
pub(crate) fn officer_params(
    spec: &OfficerSpec,
    options: &IssueOptions,
    cert_path: &Path,
) -> Result<CertificateParams, PkiError> {
    let invalid = |reason: &str| PkiError::InvalidSpec {
        path: cert_path.to_path_buf(),
        reason: reason.to_owned(),
    };
    if spec.officer_id.trim().is_empty() {
        return Err(invalid("the officer id is empty"));
    }
    if spec.not_after <= spec.not_before {
        return Err(invalid("the certificate would expire before it starts"));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    if !spec.name.is_empty() {
        params
            .distinguished_name
            .push(DnType::CommonName, spec.name.as_str());
    }
    if !spec.unit.is_empty() {
        params
            .distinguished_name
            .push(DnType::OrganizationName, spec.unit.as_str());
    }
    // X.520 wants PrintableString for serialNumber; fall back to UTF-8 for
    // ids outside its alphabet.
    let id_value = match rcgen::PrintableString::try_from(spec.officer_id.as_str()) {
        Ok(printable) => DnValue::PrintableString(printable),
        Err(_) => DnValue::Utf8String(spec.officer_id.clone()),
    };
    params
        .distinguished_name
        .push(DnType::CustomDnType(vec![2, 5, 4, 5]), id_value);
    let ia5 = |s: &str, not_ascii: &str| Ia5String::try_from(s).map_err(|_| invalid(not_ascii));
    for uri in &options.san_uris {
        let uri = ia5(uri, "a URI SAN is not ASCII")?;
        params.subject_alt_names.push(SanType::URI(uri));
    }
    for email in &options.san_emails {
        let email = ia5(email, "an email SAN is not ASCII")?;
        params.subject_alt_names.push(SanType::Rfc822Name(email));
    }
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = match options.eku {
        OfficerEku::ClientAuth => vec![ExtendedKeyUsagePurpose::ClientAuth],
        OfficerEku::ServerAuthOnly => vec![ExtendedKeyUsagePurpose::ServerAuth],
        OfficerEku::Absent => Vec::new(),
    };
    params.use_authority_key_identifier_extension = true;
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;
    params.serial_number = Some(random_serial(cert_path)?);
    Ok(params)
}

/// Sign a CRL over `revoked`, returning its PEM.
pub(crate) fn sign_crl(
    ca_cert: &rcgen::Certificate,
    ca_key: &KeyPair,
    number: &[u8],
    revoked: Vec<RevokedCertParams>,
    now: OffsetDateTime,
    valid_for: Duration,
    crl_path: &Path,
) -> Result<String, PkiError> {
    let generate = |e: rcgen::Error| PkiError::Generate {
        path: crl_path.to_path_buf(),
        reason: e.to_string(),
    };
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + valid_for,
        crl_number: SerialNumber::from_slice(number),
        issuing_distribution_point: None,
        revoked_certs: revoked,
        key_identifier_method: ca_cert.params().key_identifier_method.clone(),
    };
    params
        .signed_by(ca_cert, ca_key)
        .map_err(generate)?
        .pem()
        .map_err(generate)
}

/// A PKCS#12 bundle of `key` and `chain`, encrypted with [`P12_PASSWORD`].
fn pkcs12(key: &KeyPair, chain: &[Vec<u8>], path: &Path) -> Result<Vec<u8>, PkiError> {
    let fail = |e: p12_keystore::error::Error| PkiError::Generate {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let private_key = p12_keystore::PrivateKey::from_der(key.serialized_der()).map_err(fail)?;
    let certs = chain
        .iter()
        .map(|der| p12_keystore::Certificate::from_der(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    let local_key_id = chain
        .first()
        .map(|leaf| {
            let digest = ring::digest::digest(&ring::digest::SHA256, leaf);
            digest
                .as_ref()
                .iter()
                .take(20)
                .copied()
                .collect::<Vec<u8>>()
        })
        .unwrap_or_default();
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "credgate officer",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(p12_keystore::PrivateKeyChain::new(
            local_key_id,
            private_key,
            certs,
        )),
    );
    store
        .writer(P12_PASSWORD)
        .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha256)
        .write()
        .map_err(fail)
}

/// A fresh Ed25519 key, PKCS#8 DER.
fn ed25519_pkcs8(path: &Path) -> Result<Vec<u8>, PkiError> {
    Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map(|doc| doc.as_ref().to_vec())
        .map_err(|_| PkiError::Generate {
            path: path.to_path_buf(),
            reason: "the system random generator failed".to_owned(),
        })
}

/// A random positive 16-byte serial number without a leading zero byte.
pub(crate) fn random_serial(path: &Path) -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; SERIAL_LEN];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Generate {
            path: path.to_path_buf(),
            reason: "the system random generator failed".to_owned(),
        })?;
    // INVARIANT: top bit clear (positive), next bit set (no leading zero),
    // so the DER INTEGER is exactly SERIAL_LEN bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// Whether two DER INTEGER contents denote the same serial (ignoring a
/// leading zero pad).
fn same_serial(a: &[u8], b: &[u8]) -> bool {
    fn strip(s: &[u8]) -> &[u8] {
        let zeros = s.iter().take_while(|&&b| b == 0).count();
        s.get(zeros..).unwrap_or_default()
    }
    strip(a) == strip(b)
}

/// rcgen's reason for a CRL reason code, if it has one.
fn reason_from_code(code: u8) -> Option<RevocationReason> {
    Some(match code {
        0 => RevocationReason::Unspecified,
        1 => RevocationReason::KeyCompromise,
        2 => RevocationReason::CaCompromise,
        3 => RevocationReason::AffiliationChanged,
        4 => RevocationReason::Superseded,
        5 => RevocationReason::CessationOfOperation,
        6 => RevocationReason::CertificateHold,
        8 => RevocationReason::RemoveFromCrl,
        9 => RevocationReason::PrivilegeWithdrawn,
        10 => RevocationReason::AaCompromise,
        _ => return None,
    })
}

/// `prefix` with `suffix` appended to its last component (`a/li.na` +
/// `.pem` = `a/li.na.pem`, unlike `with_extension`).
fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(prefix.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

/// Read a whole file.
fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(|source| PkiError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The first certificate of a PEM file, or the file itself if it is DER.
pub(crate) fn read_first_cert(path: &Path) -> Result<Vec<u8>, PkiError> {
    let bytes = read(path)?;
    let bad = || PkiError::BadCertificate {
        path: path.to_path_buf(),
    };
    if let Some(first) = rustls_pemfile::certs(&mut bytes.as_slice()).next() {
        return first.map(|der| der.as_ref().to_vec()).map_err(|_| bad());
    }
    match x509_parser::parse_x509_certificate(&bytes) {
        Ok((_, _)) => Ok(bytes),
        Err(_) => Err(bad()),
    }
}

/// PEM-encode `der` under `label`, 64 columns.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Create `path` (which must not exist) with `bytes`; mode 0600 if
/// `private`, else 0644.
pub(crate) fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<(), PkiError> {
    use std::io::Write as _;
    let fail = |source| PkiError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            PkiError::OutputExists {
                path: path.to_path_buf(),
            }
        } else {
            fail(source)
        }
    })?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// Replace `path` atomically (write a sibling temp file, then rename), so a
/// gateway re-reading it never sees half a file.
fn write_replace(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    let tmp = with_suffix(path, ".tmp");
    // A stale temp file from an interrupted run is ours to discard.
    if tmp.exists() {
        fs::remove_file(&tmp).map_err(|source| PkiError::Write {
            path: tmp.clone(),
            source,
        })?;
    }
    write_new(&tmp, bytes, false)?;
    fs::rename(&tmp, path).map_err(|source| PkiError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
