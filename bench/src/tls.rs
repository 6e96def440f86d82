//! The load generator's TLS client configuration (rustls, ring provider).
//!
//! This module owns reading the CA and the officer's certificate and key from
//! PEM files and building a [`rustls::ClientConfig`] that offers
//! `http/1.1` and, unless resumption is asked for, performs a full handshake
//! on every connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use thiserror::Error;

/// Why the TLS client configuration could not be built.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A PEM file did not hold what it must.
    #[error("`{path}` {what}")]
    Content {
        /// The file.
        path: PathBuf,
        /// What is wrong, lowercase.
        what: &'static str,
    },
    /// rustls refused the material.
    #[error("tls configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Every certificate in a PEM file.
fn pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let certs = rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError::Content {
            path: path.to_path_buf(),
            what: "is not valid PEM",
        })?;
    if certs.is_empty() {
        return Err(TlsError::Content {
            path: path.to_path_buf(),
            what: "holds no certificate",
        });
    }
    Ok(certs)
}

/// The first private key in a PEM file.
fn pem_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    rustls_pemfile::private_key(&mut bytes.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| TlsError::Content {
            path: path.to_path_buf(),
            what: "holds no private key",
        })
}

/// Build the client configuration: trust `ca`, present `client_auth`
/// (cert chain file, key file) if given, resume sessions only if `resumption`.
pub fn client_config(
    ca: &Path,
    client_auth: Option<(&Path, &Path)>,
    resumption: bool,
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in pem_certs(ca)? {
        roots.add(cert).map_err(|_| TlsError::Content {
            path: ca.to_path_buf(),
            what: "holds a certificate that is not a usable trust anchor",
        })?;
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
    let mut config = match client_auth {
        Some((cert, key)) => builder.with_client_auth_cert(pem_certs(cert)?, pem_key(key)?)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if !resumption {
        config.resumption = Resumption::disabled();
    }
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests;
