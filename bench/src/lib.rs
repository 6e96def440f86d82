//! # bench — the credgate load harness (`credgate-load`)
//!
//! Measures an HTTP/1.1 service — credgate, nginx, or the upstream directly —
//! under load, over mTLS or plain HTTP, and reports throughput, latency
//! percentiles, status and error counts, and the CPU time of the processes
//! under test. `bench/compare.sh` drives it; `BENCHMARKS.md` holds results.
//!
//! ## Layout
//! - [`cli`]: flags, paths file, headers → a checked [`cli::Plan`];
//! - [`load`]: the runner (keep-alive or handshake-per-request, closed or
//!   open loop), bounded in time;
//! - [`histogram`]: fixed-precision log-bucket latency histogram;
//! - [`procstat`]: CPU seconds of a process tree from `/proc`;
//! - [`report`]: the result, as text or JSON;
//! - [`serve`]: `--serve`, a fast fixed-body upstream;
//! - [`tls`]: the rustls client configuration.
//!
//! ## What it does not do
//! It speaks only HTTP/1.1 `GET`, sends only to the address it is given
//! (meant for loopback), and judges no response body: it counts statuses.
// No unwrap/expect outside tests (clippy.toml allows them in tests): every
// failure a client, upstream, file or operator can cause is an error value.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![warn(missing_docs)]

pub mod cli;
pub mod histogram;
pub mod load;
pub mod procstat;
pub mod report;
pub mod serve;
pub mod tls;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

/// Exit code for bad command-line input (`EX_USAGE`).
const EXIT_USAGE: u8 = 64;

/// Entry point of `credgate-load`: parse flags, run, print; never panics on input.
pub fn main() -> ExitCode {
    let args = cli::Args::parse();
    let plan = match cli::plan(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("credgate-load: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let threads = args.threads.max(1);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("credgate-load: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match plan {
        cli::Plan::Load(plan) => match rt.block_on(load::run(*plan)) {
            Ok(report) => {
                if args.json {
                    println!("{}", report.to_json());
                } else {
                    print!("{}", report.to_text());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("credgate-load: {e}");
                ExitCode::FAILURE
            }
        },
        cli::Plan::Serve(plan) => rt.block_on(async move {
            let listener = match tokio::net::TcpListener::bind(&plan.listen).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("credgate-load: cannot listen on `{}`: {e}", plan.listen);
                    return ExitCode::FAILURE;
                }
            };
            match listener.local_addr() {
                Ok(addr) => println!("credgate-load: serving on http://{addr}"),
                Err(e) => {
                    eprintln!("credgate-load: cannot read the bound address: {e}");
                    return ExitCode::FAILURE;
                }
            }
            let routes = Arc::new(serve::Routes::new(plan.routes));
            let stop = async move {
                tokio::select! {
                    _ = tokio::time::sleep(plan.max_time) => {}
                    _ = termination() => {}
                }
            };
            serve::serve(listener, routes, stop).await;
            ExitCode::SUCCESS
        }),
    }
}

/// Resolves on Ctrl-C or SIGTERM (never, if no handler can be installed).
async fn termination() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
