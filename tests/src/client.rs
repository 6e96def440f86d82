//! A TLS client for the gateway's planes: trusts the dev CA, presents an
//! optional client certificate, speaks HTTP/1.1 or HTTP/2 over one fresh
//! connection per request.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

/// HTTP version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// HTTP/1.1 (ALPN `http/1.1`).
    Http1,
    /// HTTP/2 (ALPN `h2`).
    Http2,
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// HTTP version negotiated.
    pub version: http::Version,
}

impl Resp {
    /// Body as JSON (panics in tests if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// `error.code` of a JSON error body.
    pub fn code(&self) -> Option<String> {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()?
            .get("error")?
            .get("code")?
            .as_str()
            .map(str::to_string)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

/// Why no HTTP response arrived.
#[derive(Debug)]
pub enum ClientError {
    /// TCP connect failed.
    Connect(std::io::Error),
    /// TLS handshake failed (client side saw the refusal).
    Handshake(std::io::Error),
    /// The connection broke before a response (e.g. the server refused the
    /// client certificate after the TLS 1.3 handshake).
    Http(String),
    /// No answer in time.
    Timeout,
}

/// A client with fixed TLS settings.
#[derive(Clone)]
pub struct Client {
    config: Arc<rustls::ClientConfig>,
    proto: Proto,
}

fn pem_certs(path: &Path) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<Result<_, _>>()
        .unwrap()
}

impl Client {
    /// Trust `ca`; present `identity` = (cert PEM, key PEM) if given.
    pub fn new(ca: &Path, identity: Option<(&Path, &Path)>, proto: Proto) -> Client {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for c in pem_certs(ca) {
            roots.add(c).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let mut config = match identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let key_bytes = std::fs::read(key).unwrap();
                let key = rustls_pemfile::private_key(&mut key_bytes.as_slice())
                    .unwrap()
                    .unwrap();
                builder.with_client_auth_cert(pem_certs(cert), key).unwrap()
            }
        };
        config.alpn_protocols = match proto {
            Proto::Http1 => vec![b"http/1.1".to_vec()],
            Proto::Http2 => vec![b"h2".to_vec()],
        };
        Client {
            config: Arc::new(config),
            proto,
        }
    }

    /// A raw TLS connection (for tests that speak HTTP by hand).
    pub async fn connect(
        &self,
        addr: SocketAddr,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ClientError> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(ClientError::Connect)?;
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let name = ServerName::try_from("localhost").unwrap();
        connector
            .connect(name, tcp)
            .await
            .map_err(ClientError::Handshake)
    }

    /// `GET path` with `headers` on a fresh connection.
    pub async fn get(
        &self,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Resp, ClientError> {
        self.request("GET", addr, path, headers).await
    }

    /// `method path` with `headers` on a fresh connection (10 s bound).
    pub async fn request(
        &self,
        method: &str,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Resp, ClientError> {
        match tokio::time::timeout(
            Duration::from_secs(15),
            self.request_inner(method, addr, path, headers),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout),
        }
    }

    /// `method path` with `headers` on a fresh connection, answered up to
    /// the head: the body is left to the caller to read as it arrives (no
    /// time bound; the connection lives as long as the body).
    pub async fn open(
        &self,
        method: &str,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<http::Response<hyper::body::Incoming>, ClientError> {
        let io = TokioIo::new(self.connect(addr).await?);
        let mut builder = Request::builder().method(method);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let resp = match self.proto {
            Proto::Http1 => {
                let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                    .await
                    .map_err(|e| ClientError::Http(e.to_string()))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                let req = builder
                    .uri(path)
                    .header("host", format!("localhost:{}", addr.port()))
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                sender
                    .send_request(req)
                    .await
                    .map_err(|e| ClientError::Http(e.to_string()))?
            }
            Proto::Http2 => {
                let (mut sender, conn) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                        .await
                        .map_err(|e| ClientError::Http(e.to_string()))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                let req = builder
                    .uri(format!("https://localhost:{}{path}", addr.port()))
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                sender
                    .send_request(req)
                    .await
                    .map_err(|e| ClientError::Http(e.to_string()))?
            }
        };
        Ok(resp)
    }

    async fn request_inner(
        &self,
        method: &str,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Resp, ClientError> {
        let resp = self.open(method, addr, path, headers).await?;
        let status = resp.status().as_u16();
        let version = resp.version();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?
            .to_bytes();
        Ok(Resp {
            status,
            headers,
            body,
            version,
        })
    }
}
