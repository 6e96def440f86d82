//! Reload on change: every second the policy file and the TLS files (server
//! cert and key, client CA, CRLs) are checked for a new modification time or
//! size. A changed policy is loaded off to the side and swapped only if it is
//! valid; a broken one is logged and the previous policy keeps serving. The
//! same holds for TLS material, which only affects new handshakes.
//! SIGHUP reloads go through [`super::Running::reload`]. Once a minute the
//! same task lets the rate limiters forget officers with full quotas.
//!
//! Checking, reading and parsing files is blocking work: it runs on tokio's
//! blocking pool ([`tokio::task::spawn_blocking`]), never on a runtime
//! worker, so a slow disk or a huge file cannot stall request handling.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use super::{ServeError, Shared};

/// Poll interval.
const POLL: Duration = Duration::from_secs(1);

/// What identifies one version of a file.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn stamps(paths: &[PathBuf]) -> Vec<Stamp> {
    paths.iter().map(|p| stamp(p)).collect()
}

/// Watch the policy and TLS files until `stop` turns true.
pub async fn watch_files(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut policy_files = vec![shared.config.policy_file.clone()];
    if let Some(c) = &shared.config.consent {
        policy_files.push(c.authority_key.clone());
    }
    let s = &shared.config.server;
    let mut tls_files = vec![s.cert.clone(), s.key.clone(), s.client_ca.clone()];
    tls_files.extend(s.crl.iter().cloned());
    let mut seen_policy = stamps(&policy_files);
    let mut seen_tls = stamps(&tls_files);
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {}
        }
        ticks += 1;
        if ticks >= 60 {
            ticks = 0;
            shared.limiter.shrink();
        }
        let (p, t) = (policy_files.clone(), tls_files.clone());
        let Ok((now_policy, now_tls)) =
            tokio::task::spawn_blocking(move || (stamps(&p), stamps(&t))).await
        else {
            continue;
        };
        if now_policy != seen_policy {
            seen_policy = now_policy;
            if let Err(e) = off_runtime(&shared, Shared::reload_policy).await {
                tracing::error!(error = %e, "changed policy rejected; previous policy kept");
            }
        }
        if now_tls != seen_tls {
            seen_tls = now_tls;
            if let Err(e) = off_runtime(&shared, Shared::reload_tls).await {
                tracing::error!(error = %e, "changed tls material rejected; previous material kept");
            }
        }
    }
}

/// Run a blocking reload on tokio's blocking pool.
async fn off_runtime(
    shared: &Arc<Shared>,
    reload: fn(&Shared) -> Result<(), ServeError>,
) -> Result<(), ServeError> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || reload(&shared))
        .await
        .unwrap_or(Err(ServeError::ReloadAborted))
}
