//! The development PKI: `credgate certs init | issue | revoke`.
//!
//! Files in the PKI folder (`--dir`):
//! `ca.pem`, `ca.key` (PKCS#8 PEM, usable by `openssl x509 -req -CAkey`),
//! `server.pem`, `server.key` (localhost, 127.0.0.1), `ca.crl` (PEM CRL),
//! `audit-signing.pk8` (Ed25519 PKCS#8 DER), `consent-authority.pk8`,
//! `consent-authority.pub` (raw 32 bytes), `consent-authority.pub.pem`.
