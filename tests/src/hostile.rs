//! A hostile upstream: a raw TCP (or TLS) server on 127.0.0.1:0 that reads
//! each request head and then plays a byte-level [`Step`] script (garbage, broken
//! framing, drips, resets, endless bodies), recording every request head it
//! received. Unlike [`crate::upstream`], nothing here speaks HTTP correctly
//! unless the script says so.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One action on an accepted connection, after the request head was read.
#[derive(Debug, Clone)]
pub enum Step {
    /// Write these bytes.
    Send(Vec<u8>),
    /// Do nothing for this long.
    Sleep(Duration),
    /// Write these bytes one at a time, pausing `every` before each.
    Drip {
        /// The bytes.
        bytes: Vec<u8>,
        /// Pause before each byte.
        every: Duration,
    },
    /// Write this chunk as HTTP/1.1 chunked frames until the peer goes away
    /// (bounded at 30 s so a broken gateway cannot hang the test forever).
    EndlessChunks(Vec<u8>),
    /// Close the connection with a TCP reset (`SO_LINGER` 0) instead of a FIN
    /// (over TLS: without `close_notify`).
    Reset,
}

/// A connection the script plays on: plain TCP or TLS over TCP.
trait Wire: AsyncRead + AsyncWrite + Unpin + Send {
    /// The TCP socket underneath.
    fn tcp(&self) -> &TcpStream;
}

impl Wire for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Wire for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// The running hostile upstream.
#[derive(Clone)]
pub struct HostileUpstream {
    /// Its address.
    pub addr: SocketAddr,
    tls: bool,
    script: Arc<Mutex<Vec<Step>>>,
    heads: Arc<Mutex<Vec<String>>>,
}

/// A response head: status line `HTTP/1.1 {status}` plus `headers`, ending
/// with the blank line.
pub fn head(status: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// A complete, well-formed `200 application/json` answer that closes the
/// connection afterwards (so no hostile script ever meets a pooled one).
pub fn good_json(body: &[u8]) -> Vec<Step> {
    let len = body.len().to_string();
    let mut bytes = head(
        "200 OK",
        &[
            ("Content-Type", "application/json"),
            ("Content-Length", &len),
            ("Connection", "close"),
        ],
    );
    bytes.extend_from_slice(body);
    vec![Step::Send(bytes)]
}

impl HostileUpstream {
    /// Bind 127.0.0.1:0 and serve until the runtime ends. The initial script
    /// closes every connection without answering.
    pub async fn start() -> HostileUpstream {
        Self::start_with(None).await
    }

    /// As [`HostileUpstream::start`], behind TLS with `cert`/`key` (PEM; no
    /// client certificate asked for). The script plays inside the TLS session.
    pub async fn start_tls(cert: &Path, key: &Path) -> HostileUpstream {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs: Vec<_> = rustls_pemfile::certs(&mut std::fs::read(cert).unwrap().as_slice())
            .collect::<Result<_, _>>()
            .unwrap();
        let key = rustls_pemfile::private_key(&mut std::fs::read(key).unwrap().as_slice())
            .unwrap()
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        Self::start_with(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> HostileUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up = HostileUpstream {
            addr: listener.local_addr().unwrap(),
            tls: tls.is_some(),
            script: Arc::default(),
            heads: Arc::default(),
        };
        let server = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                let server = server.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => server.serve(tcp).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                server.serve(stream).await;
                            }
                        }
                    }
                });
            }
        });
        up
    }

    async fn serve<W: Wire>(&self, mut tcp: W) {
        let Some(head) = read_head(&mut tcp).await else {
            return;
        };
        self.heads.lock().unwrap().push(head);
        let script = self.script.lock().unwrap().clone();
        for step in script {
            match step {
                Step::Send(bytes) => {
                    if tcp.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                Step::Sleep(d) => tokio::time::sleep(d).await,
                Step::Drip { bytes, every } => {
                    for b in bytes {
                        tokio::time::sleep(every).await;
                        if tcp.write_all(&[b]).await.is_err() {
                            return;
                        }
                    }
                }
                Step::EndlessChunks(chunk) => {
                    let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
                    frame.extend_from_slice(&chunk);
                    frame.extend_from_slice(b"\r\n");
                    let pump = async { while tcp.write_all(&frame).await.is_ok() {} };
                    let _ = tokio::time::timeout(Duration::from_secs(30), pump).await;
                    return;
                }
                Step::Reset => {
                    let _ = tcp.tcp().set_zero_linger();
                    return;
                }
            }
        }
        // FIN (and `close_notify` over TLS) after a script that ran out.
        let _ = tcp.shutdown().await;
    }

    /// Play `script` on every connection accepted from now on.
    pub fn script(&self, script: Vec<Step>) {
        *self.script.lock().unwrap() = script;
    }

    /// Every request head received so far (lossy UTF-8).
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }

    /// The URL for `[upstream] url`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}

/// Read up to the blank line ending a request head (≤ 64 KiB, ≤ 5 s).
async fn read_head<W: Wire>(tcp: &mut W) -> Option<String> {
    let read = async {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1024];
        loop {
            let n = tcp.read(&mut byte).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(byte.get(..n)?);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                buf.truncate(end);
                return Some(String::from_utf8_lossy(&buf).into_owned());
            }
            if buf.len() > 64 * 1024 {
                return None;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()
        .flatten()
}
