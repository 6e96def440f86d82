//! # policy — who may ask what, and why
//!
//! This crate owns the credgate policy model (`policy.toml`), its validation
//! (every error reported with file and line), the pure [`decide()`] function,
//! subject identifier validation (GB 11643 / GB 32100), consent tokens
//! (Ed25519 sign/verify, pure) and the data-plane inquiry parser.
//!
//! ## Layout
//! - [`model`]: the shared vocabulary — [`Identity`], [`Inquiry`], [`Decision`],
//!   [`Scope`], [`Rules`] — used by `redaction`, `audit` callers and `gateway`.
//! - [`subject`]: GB 11643 / GB 32100 identifiers ([`classify`]).
//! - [`consent`]: consent tokens (sign, verify, token id, key parsing).
//! - [`file`](mod@file): `policy.toml` → validated [`Policy`]; [`diag`]: file:line:col
//!   diagnostics (reused by the gateway's config loader).
//! - [`inquiry`]: the data-plane request parser.
//! - [`alerts`]: `[[alerts]]` misuse rules and their sliding-window
//!   [`alerts::Evaluator`].
//! - [`keyname`]: the one normalisation under which JSON keys and configured
//!   field names are compared ([`keyname::normalise`]).
//! - [`decide`](mod@decide): [`decide()`], [`decide_fetched_record`],
//!   [`decide_admin`], [`explain`].
//!
//! ## What this crate must never do
//! - open sockets, touch a database, or depend on tokio / hyper / rustls / sqlx;
//! - read the clock: time is always a parameter;
//! - do I/O inside [`decide()`] ([`Policy::load`] is the only file read).
// No unwrap/expect outside tests (clippy.toml allows them in tests): every
// failure a client, upstream, file or operator can cause is an error value.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![warn(missing_docs)]

pub mod alerts;
pub mod consent;
pub mod decide;
pub mod diag;
pub mod file;
pub mod inquiry;
pub mod keyname;
pub mod model;
pub mod subject;

pub use alerts::{AlertAction, AlertKind, AlertRule};

/// A sample `policy.toml` without officers: the SPEC's item catalogue,
/// purposes, prohibited, consent-only and masked field lists in English
/// and Chinese (宗教信仰, 病史, 血型, 指纹, 基因, 收入, 存款, 房产, 纳税,
/// 身份证号, 手机号码, …), masks and roles. `credgate demo` adds its
/// officers to it; `credgate certs init` writes it beside the PKI.
pub const SAMPLE_POLICY: &str = include_str!("sample.toml");
pub use decide::{check_officer, decide, decide_admin, decide_fetched_record, explain};
pub use diag::{Diagnostic, PolicyErrors};
pub use file::{Officer, Policy, Rate, Role, RoleKind, Settings};
pub use model::*;
pub use subject::{classify, gb11643_check_char, gb32100_check_char, SubjectIdError};
