//! # audit — the inquiry log
//!
//! Owns the entry model, its canonical byte encoding, the per-process hash
//! chain, signed checkpoints, the stores (SQLite, PostgreSQL) behind one
//! trait, the group-commit writer, and verify / query / export / subject
//! report.
//!
//! ## What this crate must never do
//! - lose an entry it acknowledged;
//! - offer a way to delete or alter an entry;
//! - know policy rules: it stores the entry it is given.
#![warn(missing_docs)]
