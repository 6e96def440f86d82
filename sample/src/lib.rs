//! # sample — the sample credit database and the one-command demo
//!
//! Not the product: a stand-in for a social-credit platform's database so
//! the gateway can be tried, demonstrated and load-tested without one, and
//! `credgate demo`, which runs it behind a real gateway.
//!
//! ## Layout
//! - [`db`]: the sample credit database (`credgate sample-db`): a seeded
//!   SQLite file served over plain HTTP/1.1 in the spec's upstream format,
//!   and [`db::well_known`] ids with known properties for demos and tests;
//! - [`demo`]: `credgate demo`: dev certs, the sample database, a gateway
//!   started exactly as `credgate serve` starts one, ready-to-paste curl
//!   commands;
//! - [`Command`]: both subcommands, added to the gateway's command line
//!   ([`gateway::cli::Extra`]) by the `credgate` binary.
//!
//! Dependencies point one way: this crate uses `gateway`'s library (config,
//! server, CLI conventions); `gateway` never uses this crate.
//!
//! ## What this crate must never do
//! - hold gateway, policy or redaction logic of its own: the demo writes
//!   files and calls the gateway's library as `credgate serve` does;
//! - enforce or record anything in the sample database: it serves every
//!   field, including the ones the gateway must remove, to anyone.
// No unwrap/expect outside tests (clippy.toml allows them in tests): every
// failure a client, upstream, file or operator can cause is an error value.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![warn(missing_docs)]

use std::path::PathBuf;

use clap::{Args, Subcommand};
use gateway::cli::{CmdResult, LogFormat};

pub mod db;
pub mod demo;

/// `credgate demo` and `credgate sample-db`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// See it work: dev certs, sample credit database, gateway, curl commands.
    Demo {
        /// Folder for the demo's certs, config and databases.
        #[arg(long, default_value = "credgate-demo")]
        dir: PathBuf,
    },
    /// Run the sample credit database (the upstream API over SQLite).
    SampleDb(SampleDbArgs),
}

impl gateway::cli::Extra for Command {
    fn run(self, log: LogFormat) -> CmdResult {
        match self {
            Command::Demo { dir } => demo::run(&dir, log),
            Command::SampleDb(args) => db::run_cli(&args),
        }
    }
}

/// `credgate sample-db`
#[derive(Debug, Args)]
pub struct SampleDbArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// SQLite database file (created and seeded if missing).
    #[arg(long, default_value = "sample-credit.db")]
    pub db: PathBuf,
    /// Number of natural and of legal persons to seed.
    #[arg(long, default_value_t = 2000)]
    pub subjects: u32,
}
