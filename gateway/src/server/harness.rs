//! A gateway without sockets: the request path driven by in-memory
//! requests, as axum's `oneshot` drives a router.
//!
//! [`Harness::open`] loads everything [`super::start`] loads — policy, TLS
//! material (for the CA and CRL checks), upstream client, the inquiry log
//! with a new chain, the misuse-alert task — but binds no listener. Each
//! [`Harness::data`] / [`Harness::admin`] call takes the client certificate
//! the TLS handshake would have verified (DER) and one request, and runs
//! exactly what a connection does after its handshake: identity from the
//! certificate per `[identity]`, the per-request certificate re-check
//! (revoked, expired), the plane's handler as its own task (a panic
//! answered 500, logged), the entry committed before the answer. The
//! answer comes back with its body collected.
//!
//! What it leaves out is what only a socket has: the handshake itself
//! (chain verification against the CA), connection and stream limits,
//! header-read and idle timeouts, and wire-level rejections. The upstream is
//! the configured one (a real HTTP client). Witnesses are not fed.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::task::JoinHandle;

use super::{alerts, dispatch, guarded, journal, open_shared, ConnInfo, Plane, RequestHead};
use super::{Clock, ServeError, Shared};
use crate::config::Config;

/// A gateway's request path without listeners.
#[derive(Debug)]
pub struct Harness {
    shared: Arc<Shared>,
    alert_task: JoinHandle<()>,
}

impl Harness {
    /// Loads `config` and opens the inquiry log (a new chain), as
    /// [`super::start_with_clock`] does, with `clock` as "now".
    pub async fn open(config: Config, clock: Clock) -> Result<Harness, ServeError> {
        let (shared, alert_rx, _witnesses) = open_shared(config, clock).await?;
        let mut task = alerts::AlertTask::new(shared.clone(), alert_rx);
        if shared.buckets.is_some() {
            task = task.clustered(&shared.config.audit_store_url);
        }
        task.prepare().await;
        let alert_task = tokio::spawn(task.run());
        Ok(Harness { shared, alert_task })
    }

    /// One data-plane request from the holder of `client_cert` (DER).
    pub async fn data<B>(&self, client_cert: &[u8], req: http::Request<B>) -> http::Response<Bytes>
    where
        B: hyper::body::Body + Send + Sync + 'static,
        B::Data: Send,
    {
        self.request(Plane::Data, client_cert, req).await
    }

    /// One admin-plane request from the holder of `client_cert` (DER).
    pub async fn admin<B>(&self, client_cert: &[u8], req: http::Request<B>) -> http::Response<Bytes>
    where
        B: hyper::body::Body + Send + Sync + 'static,
        B::Data: Send,
    {
        self.request(Plane::Admin, client_cert, req).await
    }

    async fn request<B>(
        &self,
        plane: Plane,
        client_cert: &[u8],
        req: http::Request<B>,
    ) -> http::Response<Bytes>
    where
        B: hyper::body::Body + Send + Sync + 'static,
        B::Data: Send,
    {
        let conn = Arc::new(ConnInfo::of_certificate(&self.shared, client_cert, None));
        let head = RequestHead::of(&req);
        let handler = dispatch(self.shared.clone(), conn.clone(), plane, req);
        let resp = guarded(self.shared.clone(), conn, plane, head, handler).await;
        let (parts, body) = resp.into_parts();
        // A streamed export cut by a store error ends early, as a client
        // would see it: what arrived is the body.
        let bytes = match body.collect().await {
            Ok(c) => c.to_bytes(),
            Err(_) => Bytes::new(),
        };
        http::Response::from_parts(parts, bytes)
    }

    /// Reloads policy, then TLS material (CA, CRLs), as SIGHUP does; the
    /// first error, the previous versions kept.
    pub fn reload(&self) -> Result<(), ServeError> {
        super::both_reloads(&self.shared)
    }

    /// The inquiry log this harness writes.
    pub fn audit(&self) -> &audit::AuditLog {
        &self.shared.audit
    }

    /// Commits the last refusal summaries, closes the chain with its final
    /// checkpoint and every connection to the store.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        journal::flush_refusals(&self.shared).await;
        self.alert_task.abort();
        let _ = self.alert_task.await;
        self.shared.audit.close().await.map_err(ServeError::Audit)
    }
}
