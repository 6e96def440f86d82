//! Raw bytes for adversarial tests: hand-written HTTP/1 requests over a real
//! TLS connection (read back whatever the gateway answers, bounded in time),
//! and hand-built TLS ClientHellos for protocol-version and cipher-suite
//! probes that no well-behaved TLS library would send.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::Client;

/// What came back on one raw connection.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Every byte the gateway sent.
    pub bytes: Vec<u8>,
    /// Whether the gateway closed the connection within the bound.
    pub closed: bool,
}

impl Exchange {
    /// The received bytes as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Status of the first response, if any.
    pub fn status(&self) -> Option<u16> {
        status_of(&self.bytes)
    }

    /// How many HTTP/1 response heads arrived.
    pub fn responses(&self) -> usize {
        // status lines: at the start, or right after a previous answer
        let text = self.text();
        usize::from(text.starts_with("HTTP/1.1 "))
            + text.matches("}HTTP/1.1 ").count()
            + text.matches("\nHTTP/1.1 ").count()
    }

    /// A header of the first response (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next()?;
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// Status code of the first status line in `bytes`.
pub fn status_of(bytes: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(bytes.get(..12)?).ok()?;
    text.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()
}

/// Read until the peer closes or `bound` passes.
pub async fn read_to_close<S: AsyncReadExt + Unpin>(s: &mut S, bound: Duration) -> Exchange {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => {
                return Exchange {
                    bytes,
                    closed: false,
                }
            }
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Exchange {
                    bytes,
                    closed: true,
                }
            }
            Ok(Ok(n)) => bytes.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
    }
}

/// Open a TLS connection with `client`, write `request` as is, read until
/// the gateway closes (at most `bound`).
pub async fn exchange(
    client: &Client,
    addr: SocketAddr,
    request: &[u8],
    bound: Duration,
) -> Exchange {
    let mut tls = client.connect(addr).await.expect("tls handshake");
    // A write can fail when the gateway already refused and closed; what it
    // answered is still readable.
    let _ = tls.write_all(request).await;
    let _ = tls.flush().await;
    read_to_close(&mut tls, bound).await
}

/// TLS protocol version numbers as they appear on the wire.
pub mod version {
    /// TLS 1.0.
    pub const TLS10: u16 = 0x0301;
    /// TLS 1.1.
    pub const TLS11: u16 = 0x0302;
    /// TLS 1.2.
    pub const TLS12: u16 = 0x0303;
}

/// TLS alert descriptions a test may expect.
pub mod alert {
    /// `handshake_failure`: no acceptable parameters (e.g. cipher suite).
    pub const HANDSHAKE_FAILURE: u8 = 40;
    /// `protocol_version`: no protocol version in common.
    pub const PROTOCOL_VERSION: u8 = 70;
}

fn ext(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
    out.extend_from_slice(body);
}

/// A TLS record holding a ClientHello with `client_version` (and no
/// `supported_versions` extension, so it offers exactly that version) and
/// exactly `suites`; it names SNI `localhost`, x25519/P-256 groups and
/// common signature schemes so only the version or suites can fail it.
pub fn client_hello(client_version: u16, suites: &[u16]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&client_version.to_be_bytes());
    body.extend_from_slice(&[0x5a; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&u16::try_from(suites.len() * 2).unwrap().to_be_bytes());
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null only
    let mut exts = Vec::new();
    let host = b"localhost";
    let mut sni = Vec::new();
    sni.extend_from_slice(&u16::try_from(host.len() + 3).unwrap().to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&u16::try_from(host.len()).unwrap().to_be_bytes());
    sni.extend_from_slice(host);
    ext(&mut exts, 0x0000, &sni);
    ext(&mut exts, 0x000a, &[0, 4, 0x00, 0x1d, 0x00, 0x17]); // groups
    ext(&mut exts, 0x000b, &[1, 0]); // ec point formats: uncompressed
    ext(
        &mut exts,
        0x000d,
        &[0, 8, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x02, 0x01],
    ); // signature algorithms
    body.extend_from_slice(&u16::try_from(exts.len()).unwrap().to_be_bytes());
    body.extend_from_slice(&exts);

    let mut handshake = vec![1u8]; // client_hello
    let len = u32::try_from(body.len()).unwrap().to_be_bytes();
    handshake.extend_from_slice(&len[1..]);
    handshake.extend_from_slice(&body);

    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// What the server answered a raw ClientHello with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloAnswer {
    /// A fatal alert with this description.
    Alert(u8),
    /// A ServerHello: the server accepted something.
    ServerHello,
    /// Closed without a record, or sent something else.
    Other(Vec<u8>),
}

/// Send `hello` on a fresh TCP connection and classify the first record back.
pub async fn probe_hello(addr: SocketAddr, hello: &[u8]) -> HelloAnswer {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(hello).await.expect("write hello");
    // The first record's header and first two bytes are enough.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while got.len() < 7 {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
            _ => break,
        }
    }
    match got.as_slice() {
        [0x15, 0x03, _, 0x00, 0x02, 2, desc, ..] => HelloAnswer::Alert(*desc),
        [0x16, 0x03, _, _, _, 2, ..] => HelloAnswer::ServerHello,
        other => HelloAnswer::Other(other.to_vec()),
    }
}
