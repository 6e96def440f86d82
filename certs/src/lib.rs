//! # certs — identities out of certificates, and a dev PKI
//!
//! Owns reading an officer identity out of an X.509 client certificate per
//! the `[identity]` mapping, and issuing the development PKI (CA, server
//! certificate, officer certificates with PKCS#12 bundles, CRL, audit and
//! consent-authority Ed25519 keys) with rcgen.
//!
//! ## What this crate must never do
//! - open sockets or verify TLS chains (rustls does that in `gateway`);
//! - decide authority (that is `policy`).
// No unwrap/expect outside tests (clippy.toml allows them in tests): every
// failure a client, upstream, file or operator can cause is an error value.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![warn(missing_docs)]

pub mod identity;
pub mod pki;
#[cfg(feature = "testing")]
pub mod testing;
