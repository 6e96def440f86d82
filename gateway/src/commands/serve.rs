//! `credgate serve --config FILE`: load the config (errors before binding),
//! start the gateway, print the listening addresses, reload on SIGHUP, drain
//! and exit 0 on SIGTERM or Ctrl-C.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{CmdResult, LogFormat};
use crate::config::Config;
use crate::server;

/// Run the gateway until SIGTERM / Ctrl-C.
pub fn run(config: &Path, log: LogFormat) -> CmdResult {
    let config = Config::load(config)?;
    crate::telemetry::init(log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> CmdResult {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup()).map_err(|e| format!("cannot watch SIGHUP: {e}"))?;
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
    let running = server::start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "credgate: data plane listening on https://{}",
            running.data_addr()
        )?;
        if let Some(admin) = running.admin_addr() {
            writeln!(out, "credgate: admin plane listening on https://{admin}")?;
        }
        out.flush()?;
    }
    loop {
        tokio::select! {
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading policy and tls material");
                // Errors are logged by reload; the previous versions keep serving.
                let _ = running.reload_async().await;
            }
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    tracing::info!("shutting down: draining in-flight requests");
    running.shutdown().await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
