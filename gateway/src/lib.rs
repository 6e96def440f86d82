//! # gateway — the credgate process
//!
//! Listeners (data plane + admin plane), the hyper service, the upstream
//! client pool, reload and the CLI. The `credgate` binary is the
//! `credgate` crate's: this library's [`cli::main`] with the `sample`
//! crate's demo and sample credit database added.
//!
//! ## Layout
//! - [`config`]: `gateway.toml` → typed [`config::Config`] (all errors with
//!   file:line), and the settings handed to `policy` and `audit`;
//! - [`tls`]: the rustls server configuration behind an `ArcSwap`;
//! - [`server`]: `start` → [`server::Running`]; accept loops, the data-plane
//!   request path, the admin plane, the upstream client, rate limits,
//!   metrics, reload;
//! - [`audit_api`]: the compliance officers' `/audit/*` endpoints;
//! - [`telemetry`]: process logs;
//! - [`cli`], [`commands`]: the `credgate` command line;
//! - [`witness`]: an independent C2SP tlog-witness (`credgate witness
//!   init | serve`) and the pinned client gateways use to reach one.
//!
//! One data-plane request: mTLS accept → identity → parse → authorize →
//! rate limit → forward → redact → audit commit → respond.
//!
//! ## What this crate must never do
//! - hold policy or redaction logic of its own: it calls `policy::decide` and
//!   `redaction::apply` and turns their answers into HTTP;
//! - depend on the demo or the sample database (`sample` depends on it,
//!   never the other way).
// No unwrap/expect outside tests (clippy.toml allows them in tests): every
// failure a client, upstream, file or operator can cause is an error value.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![warn(missing_docs)]

/// `println!` for the commands: a line on standard output, and an error
/// writing it (a reader that closed the pipe: `credgate audit verify |
/// head -1`) ends the command with that error (`credgate: error: Broken
/// pipe`, exit 2) instead of a panic. Only inside a function returning a
/// `Result` whose error an `io::Error` converts into.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::out_line(format_args!($($arg)*))?
    };
}

pub mod audit_api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod conn;
pub mod console;
pub mod percent;
pub mod server;
pub mod sqlite_file;
pub mod telemetry;
pub mod tls;
pub mod trusted_keys;
pub mod witness;
