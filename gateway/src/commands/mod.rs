//! One module per CLI subcommand family, and what the commands that serve
//! until stopped share ([`bind`], [`termination_signal`]; the `sample`
//! crate's demo and sample database use them too).

use std::future::Future;
use std::str::FromStr;

pub mod archive;
pub mod audit;
pub mod certs;
pub mod consent;
pub mod policy;
pub mod serve;
pub mod witness;

/// A listen address that could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on `{addr}`: {source}")]
pub struct BindError {
    /// The address as given.
    pub addr: String,
    /// The OS error.
    pub source: std::io::Error,
}

/// Bind a TCP listener on `addr` (`host:port`; a socket address or a name).
pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener, BindError> {
    let bind_err = |source| BindError {
        addr: addr.to_string(),
        source,
    };
    match std::net::SocketAddr::from_str(addr) {
        Ok(sa) => tokio::net::TcpListener::bind(sa).await.map_err(bind_err),
        Err(_) => tokio::net::TcpListener::bind(addr).await.map_err(bind_err),
    }
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM. If no signal handler can be
/// installed, never resolves.
///
/// The SIGTERM handler is installed when this is *called* (inside a tokio
/// runtime), not when the future is first polled: call it before telling
/// anyone the process is ready, or an early SIGTERM kills the process
/// without a clean shutdown.
pub fn termination_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                r = tokio::signal::ctrl_c() => {
                    if r.is_err() {
                        term.recv().await;
                    }
                }
                _ = term.recv() => {}
            }
            return;
        }
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
