//! A scripted upstream credit database: a hyper HTTP/1.1 server on
//! 127.0.0.1:0 answering canned bodies per path (query ignored), optionally
//! after a delay, and recording every request it received.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One canned answer.
#[derive(Debug, Clone)]
pub struct Canned {
    /// Status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
}

/// What the upstream received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Path and query.
    pub target: String,
    /// Headers as received.
    pub headers: HeaderMap,
}

/// The running scripted upstream.
#[derive(Clone)]
pub struct Upstream {
    /// Its address.
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Canned>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    /// Bind 127.0.0.1:0 and serve until the runtime ends.
    pub async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Upstream {
            addr,
            routes: Arc::default(),
            seen: Arc::default(),
        };
        let server = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let server = server.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: http::Request<_>| {
                        let server = server.clone();
                        async move {
                            let target = req
                                .uri()
                                .path_and_query()
                                .map(|p| p.as_str().to_string())
                                .unwrap_or_default();
                            server.seen.lock().unwrap().push(Seen {
                                target,
                                headers: req.headers().clone(),
                            });
                            let canned =
                                server.routes.lock().unwrap().get(req.uri().path()).cloned();
                            let canned = canned.unwrap_or(Canned {
                                status: 404,
                                body: br#"{"error":"no such thing"}"#.to_vec(),
                                delay: Duration::ZERO,
                            });
                            if !canned.delay.is_zero() {
                                tokio::time::sleep(canned.delay).await;
                            }
                            let mut resp = Response::new(Full::new(Bytes::from(canned.body)));
                            *resp.status_mut() = http::StatusCode::from_u16(canned.status).unwrap();
                            resp.headers_mut()
                                .insert("content-type", "application/json".parse().unwrap());
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        up
    }

    /// Answer `path` with `status` and a JSON body.
    pub fn json(&self, path: &str, status: u16, body: &serde_json::Value) {
        self.raw(
            path,
            status,
            serde_json::to_vec(body).unwrap(),
            Duration::ZERO,
        );
    }

    /// Answer `path` with raw bytes after `delay`.
    pub fn raw(&self, path: &str, status: u16, body: Vec<u8>, delay: Duration) {
        self.routes.lock().unwrap().insert(
            path.to_string(),
            Canned {
                status,
                body,
                delay,
            },
        );
    }

    /// Everything received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Forget what was received.
    pub fn clear_seen(&self) {
        self.seen.lock().unwrap().clear();
    }

    /// The URL for `[upstream] url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
