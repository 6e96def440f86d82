//! Test support for credgate's end-to-end tests: PKI fixtures, TLS clients,
//! a spawned gateway on 127.0.0.1:0.
//!
//! ## Layout
//! - [`env`]: one test environment — a dev PKI in a tempdir, officer
//!   certificates for the conformance officers, the conformance policy, a
//!   `gateway.toml` writer, an in-process or spawned gateway, and the
//!   inquiry log reader;
//! - [`client`]: a TLS client (HTTP/1.1 or HTTP/2, optional client cert);
//! - [`upstream`]: a scripted upstream answering canned bodies per path and
//!   recording what it received;
//! - [`process`]: running the real binary and reading its listen lines;
//! - [`hostile`]: a raw TCP upstream playing byte-level scripts;
//! - [`raw`]: hand-written HTTP/1 bytes over TLS and hand-built
//!   ClientHellos, for the adversarial and TLS tests.
//!
//! Unlike the product crates (which deny `unwrap`/`expect` outside tests),
//! helpers here unwrap: their inputs are the tests' own fixtures, a panic
//! is a failed test with its location, and nothing here ships.
#![warn(missing_docs)]

pub mod client;
pub mod env;
pub mod hostile;
pub mod process;
pub mod raw;
pub mod upstream;

/// Path of a file in the repository's conformance folder.
pub fn conformance(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance")).join(rel)
}

/// Every conformance case (`conformance/cases/*.json`), in file order.
pub fn conformance_cases() -> Vec<serde_json::Value> {
    let mut files: Vec<_> = std::fs::read_dir(conformance("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 18, "conformance cases missing");
    files
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
        .collect()
}
