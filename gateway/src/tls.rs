//! TLS material: the rustls server configuration (ring provider, TLS 1.2 and
//! 1.3 only — rustls has no TLS 1.0/1.1, a ClientHello offering only those
//! gets a `protocol_version` alert —, only the forward-secret AEAD suites of
//! [`CIPHER_SUITES`], ALPN `h2` + `http/1.1`, mandatory client certificates chaining to
//! `client_ca`, revocation from the CRLs, no session resumption) and the swappable handle every
//! accept reads, so a reload never touches live connections.

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
    let certs: Vec<_> = rustls_pemfile::certs(&mut BufReader::new(bytes.as_slice()))
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Content {
            path: path.to_path_buf(),
            what: "not a PEM certificate file",
        })?;
    if certs.is_empty() {
        return Err(TlsError::Content {
            path: path.to_path_buf(),
            what: "holds no PEM certificate",
        });
    }
    Ok(certs)
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
        let list: Vec<_> = rustls_pemfile::crls(&mut BufReader::new(bytes.as_slice()))
            .collect::<Result<_, _>>()
            .map_err(|_| TlsError::Content {
                path: path.to_path_buf(),
                what: "not a PEM CRL file",
            })?;
        if list.is_empty() {
            return Err(TlsError::Content {
                path: path.to_path_buf(),
                what: "holds no PEM X509 CRL",
            });
        }
        Ok(list)
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

/// Build the data/admin plane server configuration from `[server]`.
pub fn server_config(s: &ServerSection) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(crypto_provider());
    let mut roots = RootCertStore::empty();
    for ca in pem_certs(&s.client_ca)? {
        roots.add(ca).map_err(|_| TlsError::Content {
            path: s.client_ca.clone(),
            what: "holds a certificate that is not a usable CA",
        })?;
    }
    let mut all_crls = Vec::new();
    for p in &s.crl {
        all_crls.extend(crls(p)?);
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
    Ok(Arc::new(config))
}

/// The current TLS configuration; each accept loads it, a reload swaps it.
#[derive(Debug)]
pub struct TlsHandle {
    current: ArcSwap<ServerConfig>,
}

impl TlsHandle {
    /// Load the initial material.
    pub fn load(s: &ServerSection) -> Result<TlsHandle, TlsError> {
        Ok(TlsHandle {
            current: ArcSwap::new(server_config(s)?),
        })
    }

    /// The configuration new handshakes use.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.current.load_full()
    }

    /// Re-read cert, key, CA and CRLs; on error the old material stays.
    pub fn reload(&self, s: &ServerSection) -> Result<(), TlsError> {
        let fresh = server_config(s)?;
        self.current.store(fresh);
        Ok(())
    }
}

/// Lowercase hex SHA-256 of a certificate's DER.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, der).as_ref())
}

#[cfg(test)]
mod tests {
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
    fn fingerprint_is_lowercase_sha256_hex() {
        let fp = fingerprint(b"abc");
        assert_eq!(
            fp,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
