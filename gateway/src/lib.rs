//! # gateway — the credgate process
//!
//! Listeners (data plane + admin plane), the hyper service, the upstream
//! client pool, reload, the CLI, the demo and the sample credit database.
//!
//! ## What this crate must never do
//! - hold policy or redaction logic of its own: it calls `policy::decide` and
//!   `redaction::apply` and turns their answers into HTTP.
#![warn(missing_docs)]

pub mod audit_api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod sample_db;
pub mod server;
pub mod telemetry;
pub mod tls;
