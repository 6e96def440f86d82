//! A scripted upstream credit database: a hyper HTTP/1.1 server on
//! 127.0.0.1:0 answering canned bodies per path (query ignored), optionally
//! after a delay, and recording every request it received.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    tls: bool,
    routes: Arc<Mutex<HashMap<String, Canned>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Requests being answered now, and the most there ever were at once.
    inflight: Arc<(AtomicUsize, AtomicUsize)>,
}

impl Upstream {
    /// Bind 127.0.0.1:0 and serve plain HTTP until the runtime ends.
    pub async fn start() -> Upstream {
        Self::start_with(None).await
    }

    /// Serve HTTPS with `cert`/`key` (PEM); when `client_ca` is given, a
    /// client certificate chaining to it is required.
    pub async fn start_tls(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Upstream {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs: Vec<_> = rustls_pemfile::certs(&mut std::fs::read(cert).unwrap().as_slice())
            .collect::<Result<_, _>>()
            .unwrap();
        let key = rustls_pemfile::private_key(&mut std::fs::read(key).unwrap().as_slice())
            .unwrap()
            .unwrap();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let config = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in rustls_pemfile::certs(&mut std::fs::read(ca).unwrap().as_slice()) {
                    roots.add(c.unwrap()).unwrap();
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        }
        .with_single_cert(certs, key)
        .unwrap();
        Self::start_with(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Upstream {
            tls: tls.is_some(),
            addr,
            routes: Arc::default(),
            seen: Arc::default(),
            inflight: Arc::default(),
        };
        let server = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let server = server.clone();
                let tls = tls.clone();
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
                            let (now, max) = &*server.inflight;
                            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                            max.fetch_max(n, Ordering::SeqCst);
                            if !canned.delay.is_zero() {
                                tokio::time::sleep(canned.delay).await;
                            }
                            now.fetch_sub(1, Ordering::SeqCst);
                            let mut resp = Response::new(Full::new(Bytes::from(canned.body)));
                            *resp.status_mut() = http::StatusCode::from_u16(canned.status).unwrap();
                            resp.headers_mut()
                                .insert("content-type", "application/json".parse().unwrap());
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => {
                            let _ = http.serve_connection(TokioIo::new(tcp), svc).await;
                        }
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                            }
                        }
                    }
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

    /// The most requests it was ever answering at once.
    pub fn max_inflight(&self) -> usize {
        self.inflight.1.load(Ordering::SeqCst)
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Forget what was received.
    pub fn clear_seen(&self) {
        self.seen.lock().unwrap().clear();
    }

    /// The URL for `[upstream] url`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}
