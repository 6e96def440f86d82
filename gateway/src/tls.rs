//! TLS material: the rustls server configuration (ring provider, TLS 1.2 and
//! 1.3 only — rustls has no TLS 1.0/1.1, a ClientHello offering only those
//! gets a `protocol_version` alert —, only the forward-secret AEAD suites of
//! [`CIPHER_SUITES`], ALPN `h2` + `http/1.1`, mandatory client certificates chaining to
//! `client_ca`, revocation from the CRLs, no session resumption) and the swappable handle every
//! accept reads. A reload does not touch live connections' TLS state, but the
//! handle also keeps the revoked (issuer, serial) pairs of the current CRLs:
//! the request path checks each request's connection certificate against
//! them (and its notAfter against the clock), so a revocation reaches
//! HTTP/1.1 keep-alive and HTTP/2 connections opened before it.
//!
//! It also keeps the earliest `next_update` of the loaded CRLs (issue 15):
//! at every load and reload a CRL whose `next_update` is less than
//! [`CRL_WARN_BEFORE`] away, or past, is logged as a warning naming the
//! file and `credgate certs crl refresh`, and the admin plane's `/metrics`
//! shows the time left as `credgate_crl_next_update_seconds`.

use std::collections::HashSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::config::ServerConfig as ServerSection;

/// Why TLS material could not be loaded (names the file, never key bytes).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("`{path}`: cannot be read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file holds no usable PEM item of the expected kind.
    #[error("`{path}`: {what}")]
    Content {
        /// The file.
        path: PathBuf,
        /// What was expected.
        what: &'static str,
    },
    /// The server key does not belong to the server certificate.
    #[error("`{key}`: key does not match the certificate `{cert}`")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the combination.
    #[error("tls configuration rejected: {0}")]
    Rustls(String),
    /// A reload would replace a CRL with an older one of the same issuer
    /// (which would un-revoke what the newer one revoked).
    #[error("`{path}`: holds an older CRL than the one loaded for its issuer ({got}, loaded {had}); the loaded CRLs stay")]
    OlderCrl {
        /// The file.
        path: PathBuf,
        /// The loaded CRL's number (or issue time).
        had: String,
        /// The file's.
        got: String,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Every PEM certificate in a file (at least one).
pub fn pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    every_pem(
        path,
        rustls_pemfile::certs(&mut BufReader::new(bytes.as_slice())),
        "not a PEM certificate file",
        "holds no PEM certificate",
    )
}

/// Every item of one kind in a PEM file, as `items` parse them (at least
/// one): a parse error is `not_pem`, none at all is `none`.
fn every_pem<T>(
    path: &Path,
    items: impl Iterator<Item = std::io::Result<T>>,
    not_pem: &'static str,
    none: &'static str,
) -> Result<Vec<T>, TlsError> {
    let list: Vec<T> = items
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Content {
            path: path.to_path_buf(),
            what: not_pem,
        })?;
    if list.is_empty() {
        return Err(TlsError::Content {
            path: path.to_path_buf(),
            what: none,
        });
    }
    Ok(list)
}

/// The first PEM private key in a file.
pub fn pem_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    rustls_pemfile::private_key(&mut BufReader::new(bytes.as_slice()))
        .ok()
        .flatten()
        .ok_or_else(|| TlsError::Content {
            path: path.to_path_buf(),
            what: "holds no PEM private key",
        })
}

fn crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let bytes = read(path)?;
    if bytes.starts_with(b"-----") {
        every_pem(
            path,
            rustls_pemfile::crls(&mut BufReader::new(bytes.as_slice())),
            "not a PEM CRL file",
            "holds no PEM X509 CRL",
        )
    } else {
        Ok(vec![CertificateRevocationListDer::from(bytes)])
    }
}

/// The suites the listeners offer, strongest first: TLS 1.3's three AEAD
/// suites and TLS 1.2 ECDHE (forward secrecy) with AES-GCM or
/// ChaCha20-Poly1305. No CBC, no RSA key exchange, no SHA-1 MAC. Written out
/// (rather than taken from the provider's defaults) so a dependency update
/// cannot widen it silently.
pub const CIPHER_SUITES: [rustls::SupportedCipherSuite; 9] = {
    use rustls::crypto::ring::cipher_suite as cs;
    [
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]
};

/// The ring provider restricted to [`CIPHER_SUITES`].
pub fn crypto_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::CryptoProvider {
        cipher_suites: CIPHER_SUITES.to_vec(),
        ..rustls::crypto::ring::default_provider()
    }
}

/// What the per-request checks need to know about a connection's client
/// certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafFacts {
    /// The issuer's distinguished name, as encoded (DER).
    pub issuer: Vec<u8>,
    /// The serial number's big-endian bytes, leading zero bytes stripped.
    pub serial: Vec<u8>,
    /// The end of the validity period.
    pub not_after: time::OffsetDateTime,
}

/// Serial bytes without the DER sign padding, so the certificate's and a
/// CRL's encodings of one serial compare equal.
fn normal_serial(raw: &[u8]) -> Vec<u8> {
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    raw.get(start..).unwrap_or_default().to_vec()
}

/// Issuer, serial and notAfter of a DER certificate; `None` if it does not
/// parse (the handshake verified it, so that does not happen in practice).
pub fn leaf_facts(der: &[u8]) -> Option<LeafFacts> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(LeafFacts {
        issuer: cert.issuer().as_raw().to_vec(),
        serial: normal_serial(cert.raw_serial()),
        not_after: cert.validity().not_after.to_datetime(),
    })
}

/// Revoked certificates as (issuer DER, normalised serial).
type Revoked = HashSet<(Vec<u8>, Vec<u8>)>;

/// A CRL whose `next_update` is less than this far away is warned about.
pub const CRL_WARN_BEFORE: time::Duration = time::Duration::days(7);

/// The earliest `next_update` of the loaded CRLs, and the file it is in.
pub type NextUpdate = Option<(time::OffsetDateTime, PathBuf)>;

/// How close a CRL's `next_update` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrlFreshness {
    /// More than [`CRL_WARN_BEFORE`] away.
    Fresh,
    /// Within [`CRL_WARN_BEFORE`]: re-sign it soon.
    Nearing,
    /// Past: relying parties may no longer trust it.
    Expired,
}

/// How close `next_update` is at `now`.
pub fn crl_freshness(next_update: time::OffsetDateTime, now: time::OffsetDateTime) -> CrlFreshness {
    if next_update <= now {
        CrlFreshness::Expired
    } else if next_update - now <= CRL_WARN_BEFORE {
        CrlFreshness::Nearing
    } else {
        CrlFreshness::Fresh
    }
}

/// Logs a warning when the earliest `next_update` nears or is past;
/// returns how fresh it is (`None` for CRLs without a `next_update`).
pub fn warn_if_crl_stale(next: &NextUpdate, now: time::OffsetDateTime) -> Option<CrlFreshness> {
    let (at, path) = next.as_ref()?;
    let freshness = crl_freshness(*at, now);
    let seconds_left = (*at - now).whole_seconds();
    match freshness {
        CrlFreshness::Fresh => {}
        CrlFreshness::Nearing => tracing::warn!(
            crl = %path.display(),
            next_update = %at,
            seconds_left,
            "the CRL's next_update is less than 7 days away: re-sign it (`credgate certs crl refresh`)"
        ),
        CrlFreshness::Expired => tracing::warn!(
            crl = %path.display(),
            next_update = %at,
            seconds_left,
            "the CRL's next_update has passed: re-sign it now (`credgate certs crl refresh`)"
        ),
    }
    Some(freshness)
}

/// How recent each issuer's loaded CRL is: its CRL number (big-endian,
/// no leading zeros) and its `this_update` (UTC s), and the file.
type Issued = std::collections::HashMap<Vec<u8>, (Vec<u8>, i64, PathBuf)>;

/// Whether CRL `(number, this_update)` `a` is older than `b`: by CRL
/// number when both have one, else by `this_update`.
fn older(a: &(Vec<u8>, i64), b: &(Vec<u8>, i64)) -> bool {
    if !a.0.is_empty() && !b.0.is_empty() {
        (a.0.len(), &a.0) < (b.0.len(), &b.0)
    } else {
        a.1 < b.1
    }
}

/// `(number, this_update)` as an error message shows it.
fn crl_age(a: &(Vec<u8>, i64)) -> String {
    if a.0.is_empty() {
        format!("issued at unix time {}", a.1)
    } else {
        format!("CRL number 0x{}", hex::encode(&a.0))
    }
}

/// Every (issuer, serial) pair the CRLs revoke, and the earliest
/// `next_update` among them.
fn revoked_pairs(
    path: &Path,
    list: &[CertificateRevocationListDer<'static>],
    into: &mut Revoked,
    next: &mut NextUpdate,
    issued: &mut Issued,
) -> Result<(), TlsError> {
    for der in list {
        let (_, crl) =
            x509_parser::parse_x509_crl(der.as_ref()).map_err(|_| TlsError::Content {
                path: path.to_path_buf(),
                what: "holds a CRL that cannot be parsed",
            })?;
        let issuer = crl.issuer().as_raw().to_vec();
        let number = crl
            .crl_number()
            .map(|n| n.to_bytes_be())
            .map(|b| b.into_iter().skip_while(|x| *x == 0).collect::<Vec<u8>>())
            .unwrap_or_default();
        let age = (number, crl.last_update().timestamp());
        let newer = issued
            .get(&issuer)
            .is_none_or(|(n, t, _)| older(&(n.clone(), *t), &age));
        if newer {
            issued.insert(issuer.clone(), (age.0, age.1, path.to_path_buf()));
        }
        for r in crl.iter_revoked_certificates() {
            into.insert((issuer.clone(), normal_serial(r.raw_serial())));
        }
        if let Some(at) = crl.next_update().map(|t| t.to_datetime()) {
            if next.as_ref().is_none_or(|(earliest, _)| at < *earliest) {
                *next = Some((at, path.to_path_buf()));
            }
        }
    }
    Ok(())
}

/// Build the data/admin plane server configuration from `[server]`.
pub fn server_config(s: &ServerSection) -> Result<Arc<ServerConfig>, TlsError> {
    material(s).map(|(config, ..)| config)
}

/// The server configuration, the revoked pairs of its CRLs and their
/// earliest `next_update`.
fn material(
    s: &ServerSection,
) -> Result<(Arc<ServerConfig>, Revoked, NextUpdate, Issued), TlsError> {
    let provider = Arc::new(crypto_provider());
    let mut roots = RootCertStore::empty();
    for ca in pem_certs(&s.client_ca)? {
        roots.add(ca).map_err(|_| TlsError::Content {
            path: s.client_ca.clone(),
            what: "holds a certificate that is not a usable CA",
        })?;
    }
    let mut all_crls = Vec::new();
    let mut revoked = Revoked::new();
    let mut next_update = None;
    let mut issued = Issued::new();
    for p in &s.crl {
        let list = crls(p)?;
        revoked_pairs(p, &list, &mut revoked, &mut next_update, &mut issued)?;
        all_crls.extend(list);
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(all_crls)
        .only_check_end_entity_revocation()
        .build()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let chain = pem_certs(&s.cert)?;
    let key = pem_key(&s.key)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
                cert: s.cert.clone(),
                key: s.key.clone(),
            },
            other => TlsError::Rustls(other.to_string()),
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // No session resumption: every connection presents and verifies its
    // client certificate against the current CA, CRLs and clock, so a
    // revoked or expired certificate cannot ride on an earlier session.
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok((Arc::new(config), revoked, next_update, issued))
}

/// The current TLS configuration; each accept loads it, a reload swaps it.
#[derive(Debug)]
pub struct TlsHandle {
    current: ArcSwap<ServerConfig>,
    revoked: ArcSwap<Revoked>,
    next_update: ArcSwap<NextUpdate>,
    /// The loaded CRLs' numbers per issuer: a reload never goes back.
    issued: ArcSwap<Issued>,
}

impl TlsHandle {
    /// Load the initial material (warning about a CRL that runs out soon).
    pub fn load(s: &ServerSection) -> Result<TlsHandle, TlsError> {
        let (config, revoked, next_update, issued) = material(s)?;
        warn_if_crl_stale(&next_update, time::OffsetDateTime::now_utc());
        Ok(TlsHandle {
            current: ArcSwap::new(config),
            revoked: ArcSwap::from_pointee(revoked),
            next_update: ArcSwap::from_pointee(next_update),
            issued: ArcSwap::from_pointee(issued),
        })
    }

    /// The earliest `next_update` of the current CRLs (`None` without CRLs,
    /// or when none has one).
    pub fn crl_next_update(&self) -> Option<time::OffsetDateTime> {
        self.next_update.load().as_ref().as_ref().map(|(at, _)| *at)
    }

    /// True when the current CRLs revoke this certificate.
    pub fn is_revoked(&self, leaf: &LeafFacts) -> bool {
        self.revoked
            .load()
            .contains(&(leaf.issuer.clone(), leaf.serial.clone()))
    }

    /// The configuration new handshakes use.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.current.load_full()
    }

    /// Re-read cert, key, CA and CRLs; on error the old material stays.
    /// A CRL older than the one loaded for its issuer (a lower CRL
    /// number, or an earlier `this_update` without numbers) is refused:
    /// copied back, it would un-revoke what the newer one revoked (an
    /// outside probe restored the empty CRL and a revoked officer was
    /// served again).
    pub fn reload(&self, s: &ServerSection) -> Result<(), TlsError> {
        let (config, revoked, next_update, issued) = material(s)?;
        // An issuer whose CRL was loaded keeps one: dropping it would
        // un-revoke its certificates as surely as an older one.
        if let Some((_, (n, t, path))) = self
            .issued
            .load()
            .iter()
            .find(|(issuer, _)| !issued.contains_key(*issuer))
        {
            return Err(TlsError::OlderCrl {
                path: path.clone(),
                had: crl_age(&(n.clone(), *t)),
                got: "no CRL of that issuer any more".into(),
            });
        }
        for (issuer, (number, at, path)) in issued.iter() {
            if let Some((n, t, _)) = self.issued.load().get(issuer) {
                let (had, got) = ((n.clone(), *t), (number.clone(), *at));
                if older(&got, &had) {
                    return Err(TlsError::OlderCrl {
                        path: path.clone(),
                        had: crl_age(&had),
                        got: crl_age(&got),
                    });
                }
            }
        }
        warn_if_crl_stale(&next_update, time::OffsetDateTime::now_utc());
        self.current.store(config);
        self.revoked.store(Arc::new(revoked));
        self.next_update.store(Arc::new(next_update));
        self.issued.store(Arc::new(issued));
        Ok(())
    }
}

/// Lowercase hex SHA-256 of a certificate's DER.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, der).as_ref())
}

#[cfg(test)]
mod tests;
