//! TLS material: the rustls server configuration (ring provider, TLS 1.2 and
//! 1.3, ALPN `h2` + `http/1.1`, mandatory client certificates chaining to
//! `client_ca`, revocation from the CRLs) and the swappable handle every
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

fn pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
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

fn pem_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
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

/// Build the data/admin plane server configuration from `[server]`.
pub fn server_config(s: &ServerSection) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
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
