//! # witness — an independent C2SP tlog-witness for credgate logs
//!
//! A witness is run by someone other than the gateway's operator (the
//! supervising department). Gateways submit every signed checkpoint of their
//! inquiry log to it with a consistency proof; the witness checks the
//! checkpoint against the latest one it cosigned for that origin and, only if
//! the log grew append-only, returns a timestamped Ed25519 cosignature
//! (C2SP tlog-cosignature, type 0x04). Because it never cosigns two
//! inconsistent checkpoints, an operator who cuts or rewrites the log —
//! even with the audit key — can no longer show a cosigned checkpoint for it.
//!
//! ## Layout
//! - [`config`]: `witness.toml` → [`Config`] (unknown keys are errors, every
//!   problem reported at once, paths relative to the file);
//! - [`init`]: `credgate witness init` — keys, self-signed certificate, config;
//! - [`protocol`]: the `add-checkpoint` body, query encoding;
//! - [`state`]: the SQLite state, with the atomic check-and-update;
//! - [`service`]: [`Witness`], the checks and cosigning, and [`Refusal`]
//!   with its HTTP status;
//! - [`server`]: the HTTPS listener and routes (`POST /add-checkpoint`,
//!   `GET /latest?origin=`, `GET /origins`);
//! - [`client`]: [`WitnessClient`], the gateway's side, pinning the witness's
//!   certificate.
//!
//! ## What this module does not do
//! - submit checkpoints on its own or wire the client into the audit
//!   pipeline (the gateway's audit code does that);
//! - trust anything but configured log keys: no trust-on-first-use, no
//!   client certificates (the checkpoint's signature is the authentication);
//! - serve the C2SP `sign-subtree` call or the hashed monitoring path.

pub mod client;
pub mod config;
pub mod init;
pub mod protocol;
pub mod server;
pub mod service;
pub mod state;

pub use client::{AddOutcome, WitnessClient, WitnessError};
pub use config::Config;
pub use service::{Refusal, Witness};

/// Now in POSIX seconds, at least 1 (a cosignature timestamp is never 0).
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .max(1)
}
