//! `credgate witness init | serve`: create and run an independent witness.
//!
//! `init` checks its arguments, writes the files (see
//! [`crate::witness::init`]) and prints the witness's verifier key as the
//! last line. `serve` loads `witness.toml` (every error before binding),
//! prints one line once listening and serves until SIGTERM or Ctrl-C.
//! Invalid input exits 1; anything that stops it from running exits 2.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::{CmdResult, LogFormat, WitnessCommand};
use crate::witness::config::{Config, WitnessConfigError};
use crate::witness::init::{self, InitSpec};
use crate::witness::{server, Witness};

/// Run one `credgate witness` subcommand.
pub fn run(cmd: WitnessCommand, log: LogFormat) -> CmdResult {
    match cmd {
        WitnessCommand::Init {
            dir,
            listen,
            name,
            log_key,
            origin_prefix,
        } => {
            let spec = InitSpec {
                name,
                listen,
                log_keys: log_key,
                origin_prefix,
            };
            match init::init(&dir, &spec) {
                Ok(done) => {
                    outln!(
                        "credgate: witness `{}` created in `{}`:",
                        spec.name,
                        dir.display()
                    );
                    for f in &done.files {
                        outln!("  wrote {}", f.display());
                    }
                    if spec.log_keys.is_empty() {
                        outln!(
                            "  no log key given: until witness.toml has a [[logs]] table with the log's key \
                             (`credgate audit key --config gateway.toml` prints it; or run init again \
                             with --log-key), every checkpoint is refused with 403"
                        );
                    }
                    outln!("  gateways pin `{}`", dir.join(init::CERT_FILE).display());
                    outln!("witness verifier key:");
                    outln!("{}", done.vkey);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) if e.is_invalid_input() => invalid(&e.to_string()),
                Err(e) => Err(e.into()),
            }
        }
        WitnessCommand::Serve { config } => serve(&config, log),
    }
}

/// Prints an invalid-input error (one `credgate: error:` line per problem); exit 1.
fn invalid(text: &str) -> CmdResult {
    for line in text.lines() {
        eprintln!("credgate: error: {line}");
    }
    Ok(ExitCode::from(1))
}

fn serve(path: &Path, log: LogFormat) -> CmdResult {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e @ WitnessConfigError::Invalid(_)) => return invalid(&e.to_string()),
        Err(e) => return Err(e.into()),
    };
    crate::telemetry::init(log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let tls = server::tls_config(&config.cert, &config.tls_key)?;
        if config.logs.is_empty() {
            tracing::warn!("witness: no [[logs]] configured: every checkpoint will be refused");
        }
        let listen = config.listen.clone();
        let witness = Arc::new(Witness::open(config).await?);
        let listener = super::bind(&listen).await?;
        let addr = listener.local_addr()?;
        let stop = super::termination_signal();
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "credgate: witness listening on https://{addr}")?;
            out.flush()?;
        }
        server::serve(listener, tls, Arc::clone(&witness), stop).await;
        if let Ok(w) = Arc::try_unwrap(witness) {
            w.close().await?;
        }
        tracing::info!("witness stopped");
        Ok(ExitCode::SUCCESS)
    })
}
