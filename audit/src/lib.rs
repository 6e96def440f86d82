//! # audit — the inquiry log
//!
//! Owns the entry model, its canonical byte encoding, the per-process hash
//! chain, signed checkpoints, the stores (SQLite, PostgreSQL) behind one
//! trait, the group-commit writer, and verify / query / export / subject
//! report.
//!
//! ## Layout
//! - [`entry`]: [`NewEntry`], [`Entry`], [`Decision`], canonical bytes and hash;
//! - [`checkpoint`]: [`Checkpoint`] and its signed message;
//! - `store`: the `Store` trait, SQLite and PostgreSQL implementations;
//! - [`writer`]: [`AuditLog`], the group-commit writer task, [`AuditConfig`];
//! - [`reader`]: [`Reader`], [`Filter`], export and [`verify_export`];
//! - [`verify`]: the chain walk shared by store and export verification.
//!
//! ## Usage
//! ```no_run
//! # async fn run(key: Vec<u8>, entry: audit::NewEntry) -> Result<(), audit::AuditError> {
//! let log = audit::AuditLog::open(&audit::AuditConfig {
//!     store_url: "sqlite://audit/inquiries.db".into(),
//!     signing_key_pkcs8: key,
//!     ..Default::default()
//! })
//! .await?;
//! let receipt = log.append(entry).await?; // durable once this returns
//! let report = log.reader().verify(&log.public_key()).await?;
//! log.shutdown().await?;
//! # let _ = (receipt, report); Ok(()) }
//! ```
//!
//! ## What this crate must never do
//! - lose an entry it acknowledged;
//! - offer a way to delete or alter an entry;
//! - know policy rules: it stores the entry it is given.
// No unwrap/expect outside tests (clippy.toml allows them in tests): every
// failure a client, upstream, file or operator can cause is an error value.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![warn(missing_docs)]

pub mod checkpoint;
pub mod entry;
mod error;
pub mod export_seal;
pub mod legacy;
pub mod merkle;
pub mod note;
pub mod reader;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tree_head;
pub mod verify;
pub mod writer;

pub use checkpoint::{generate_signing_key, Checkpoint, CheckpointKind};
pub use entry::{Decision, Entry, NewEntry, Receipt};
pub use error::{redact_url, AuditError};
pub use export_seal::ExportKey;
pub use reader::{
    verify_export, verify_export_any_version, ChainStatus, Cursor, ExportFacts, Filter, Reader,
};
pub use verify::VerifyReport;
pub use writer::{AuditConfig, AuditLog, Published};
