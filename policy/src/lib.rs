//! # policy — who may ask what, and why
//!
//! This crate owns the credgate policy model (`policy.toml`), its validation
//! (every error reported with file and line), the pure [`decide`] function,
//! subject identifier validation (GB 11643 / GB 32100), consent tokens
//! (Ed25519 sign/verify, pure) and the data-plane inquiry parser.
//!
//! ## Layout
//! - [`model`]: the shared vocabulary — [`Identity`], [`Inquiry`], [`Decision`],
//!   [`Scope`], [`Rules`] — used by `redaction`, `audit` callers and `gateway`.
//!
//! ## What this crate must never do
//! - open sockets, touch a database, or depend on tokio / hyper / rustls / sqlx;
//! - read the clock: time is always a parameter;
//! - do I/O inside [`decide`].
#![warn(missing_docs)]

pub mod model;

pub use model::*;
