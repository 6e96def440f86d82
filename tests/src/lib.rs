//! Test support for credgate's end-to-end tests: PKI fixtures, TLS clients,
//! a spawned gateway on 127.0.0.1:0.
