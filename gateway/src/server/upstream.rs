//! The upstream credit database client: one pooled HTTP/1.1 client, a
//! connect timeout, a response timeout covering headers and body, and a byte
//! cap on the body. Only the headers the gateway builds are sent; nothing the
//! client sent is copied.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::config::UpstreamConfig;

/// Why the upstream exchange failed (the client sees only the code).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamError {
    /// No complete answer within the timeout.
    #[error("upstream did not answer in time")]
    Timeout,
    /// Could not connect, connection broke, or the body was over the cap.
    #[error("upstream exchange failed: {0}")]
    Invalid(&'static str),
}

/// A complete upstream answer.
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    /// HTTP status.
    pub status: u16,
    /// Body bytes (at most `max_body_bytes`).
    pub body: Bytes,
}

/// Pooled client for the configured upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    client: Client<HttpConnector, Empty<Bytes>>,
    scheme_authority: String,
    prefix: String,
    host: String,
    timeout: Duration,
    max_body: usize,
}

impl Upstream {
    /// Build the client. `timeout` bounds each exchange (headers + body).
    pub fn new(cfg: &UpstreamConfig, timeout: Duration) -> Upstream {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(cfg.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build(connector);
        let host = cfg
            .url
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        let scheme = cfg.url.scheme_str().unwrap_or("http");
        Upstream {
            client,
            scheme_authority: format!("{scheme}://{host}"),
            prefix: cfg.url.path().trim_end_matches('/').to_string(),
            host,
            timeout,
            max_body: cfg.max_body_bytes,
        }
    }

    /// The `Host` header value sent upstream.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `GET path_and_query` with exactly `headers` (plus `Host`).
    pub async fn get(
        &self,
        path_and_query: &str,
        headers: HeaderMap,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let uri = format!("{}{}{}", self.scheme_authority, self.prefix, path_and_query);
        let mut req = Request::get(uri)
            .body(Empty::<Bytes>::new())
            .map_err(|_| UpstreamError::Invalid("request could not be built"))?;
        *req.headers_mut() = headers;
        if let Ok(v) = http::HeaderValue::from_str(&self.host) {
            req.headers_mut().insert(http::header::HOST, v);
        }
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|_| UpstreamError::Invalid("connection failed"))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), self.max_body)
                .collect()
                .await
                .map_err(|_| UpstreamError::Invalid("body truncated or over the size cap"))?
                .to_bytes();
            Ok(UpstreamResponse { status, body })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(UpstreamError::Timeout),
        }
    }
}
