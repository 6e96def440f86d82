//! [`WitnessClient`]: the gateway's side of C2SP tlog-witness.
//!
//! The witness is reached over HTTPS and authenticated by **pinning** its
//! self-signed certificate: the server is accepted iff its end-entity
//! certificate is byte for byte the configured one ([`PinnedCert`]); the
//! handshake signature is still verified with that certificate's key, so
//! only the holder of the witness's TLS key can answer. Names, chains and
//! validity dates are not consulted: the pin replaces the PKI.
//!
//! Each call opens one connection (connect and response each bounded by
//! [`TIMEOUT`]); bodies read back are bounded. A cosignature is returned
//! only after it verified with the witness's verifier key over the
//! submitted checkpoint text.

use std::io::BufReader;
use std::sync::Arc;
use std::time::Duration;

use audit::note::{Hash, Note, NoteError, TreeHead, Verifier, COSIGNATURE_V1};
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::protocol::{self, MAX_PROOF_LINES};

/// Bound on connecting (TCP and TLS) and, separately, on the exchange.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body read.
const MAX_RESPONSE: usize = 1 << 20;
/// How much of a refusal's body is kept.
const MAX_REFUSAL_BODY: usize = 1024;

/// What went wrong talking to a witness.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The URL is not `https://host[:port][/prefix]`.
    #[error("witness url `{0}` must be https://host[:port][/prefix]")]
    InvalidUrl(String),
    /// The verifier key is malformed or not a cosignature key (type 0x04).
    #[error("witness key: {0}")]
    InvalidKey(String),
    /// The pinned certificate is not a PEM certificate.
    #[error("pinned witness certificate: {0}")]
    InvalidCertificate(&'static str),
    /// The request itself is invalid (not sent).
    #[error("invalid submission: {0}")]
    InvalidRequest(String),
    /// The TCP connection failed.
    #[error("cannot connect to witness: {0}")]
    Connect(std::io::Error),
    /// The TLS handshake failed (e.g. not the pinned certificate).
    #[error("tls handshake with witness failed: {0}")]
    Tls(std::io::Error),
    /// The HTTP exchange failed.
    #[error("http exchange with witness failed: {0}")]
    Http(String),
    /// Connecting or the exchange took longer than [`TIMEOUT`].
    #[error("witness did not answer within {}s", TIMEOUT.as_secs())]
    Timeout,
    /// The answer is not what the protocol says.
    #[error("malformed witness response: {0}")]
    MalformedResponse(String),
    /// A cosignature (or a checkpoint served as cosigned) does not verify.
    #[error("witness cosignature does not verify: {0}")]
    BadCosignature(NoteError),
    /// An unexpected HTTP status on a read endpoint.
    #[error("witness answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
}

/// The answer to [`WitnessClient::add_checkpoint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// 200: the witness cosigned; `line` (ending in `\n`) verified.
    Cosigned {
        /// The cosignature line `— <name> <base64>\n`.
        line: String,
        /// Its timestamp, POSIX seconds.
        timestamp: u64,
    },
    /// 409: the witness holds a different size for the origin.
    Conflict {
        /// The size of the latest checkpoint it cosigned (0 if none).
        size: u64,
    },
    /// Any other status: the witness refused.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of its body (lossy UTF-8).
        body: String,
    },
}

/// Accepts exactly one server certificate (see the module docs).
#[derive(Debug)]
pub struct PinnedCert {
    /// The pinned end-entity certificate (DER).
    pinned: CertificateDer<'static>,
    /// The ring provider's handshake signature algorithms.
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedCert {
    /// Pins the first certificate of `pem`.
    pub fn from_pem(pem: &[u8]) -> Result<PinnedCert, WitnessError> {
        let cert = rustls_pemfile::certs(&mut BufReader::new(pem))
            .next()
            .ok_or(WitnessError::InvalidCertificate("holds no PEM certificate"))?
            .map_err(|_| WitnessError::InvalidCertificate("not a PEM certificate"))?;
        Ok(PinnedCert {
            pinned: cert,
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        })
    }
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A rustls client configuration that trusts only the certificate in `pem`.
pub fn pinned_tls_config(pem: &[u8]) -> Result<Arc<ClientConfig>, WitnessError> {
    let verifier = PinnedCert::from_pem(pem)?;
    let mut config = ClientConfig::builder_with_provider(Arc::new(crate::tls::crypto_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|_| WitnessError::InvalidCertificate("tls client configuration rejected"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client of one witness.
#[derive(Debug, Clone)]
pub struct WitnessClient {
    /// The name the gateway knows the witness by.
    name: String,
    /// The witness's cosignature verifier (type 0x04).
    verifier: Verifier,
    /// `host:port` to connect to.
    addr: String,
    /// `Host` header value.
    host: String,
    /// TLS server name (SNI for DNS names).
    server_name: ServerName<'static>,
    /// Path prefix of the endpoints, without a trailing `/`.
    prefix: String,
    /// Pinned TLS configuration.
    tls: Arc<ClientConfig>,
}

impl WitnessClient {
    /// A client of the witness known as `name`, at `url`
    /// (`https://host[:port][/prefix]`), whose cosignatures verify with
    /// `vkey` (a signed-note verifier key of type 0x04), pinning the
    /// certificate in `ca_pem` (the witness's `witness.pem`).
    pub fn new(name: &str, url: &str, vkey: &str, ca_pem: &[u8]) -> Result<Self, WitnessError> {
        let verifier =
            Verifier::parse(vkey).map_err(|e| WitnessError::InvalidKey(e.to_string()))?;
        if verifier.kind != COSIGNATURE_V1 {
            return Err(WitnessError::InvalidKey(format!(
                "signature type 0x{:02x}; a witness key has type 0x04",
                verifier.kind
            )));
        }
        let bad_url = || WitnessError::InvalidUrl(url.to_owned());
        let uri: http::Uri = url.parse().map_err(|_| bad_url())?;
        if uri.scheme_str() != Some("https") || uri.query().is_some() {
            return Err(bad_url());
        }
        let authority = uri.authority().ok_or_else(bad_url)?;
        if authority.as_str().contains('@') {
            return Err(bad_url());
        }
        let host = authority.host();
        let port = authority.port_u16().unwrap_or(443);
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(bare.to_owned()).map_err(|_| bad_url())?;
        let addr = if bare.contains(':') {
            format!("[{bare}]:{port}")
        } else {
            format!("{bare}:{port}")
        };
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(WitnessClient {
            name: name.to_owned(),
            verifier,
            host: authority.as_str().to_owned(),
            addr,
            server_name,
            prefix,
            tls: pinned_tls_config(ca_pem)?,
        })
    }

    /// Whether `note` (a checkpoint), with the signature lines `extra`
    /// added (e.g. a stored cosignature; empty for none), carries a valid
    /// cosignature by this witness.
    pub fn cosigned(&self, note: &str, extra: &str) -> bool {
        let Ok(mut n) = Note::parse(note) else {
            return false;
        };
        (extra.is_empty() || n.add_sig_lines(extra).is_ok())
            && n.verify(std::slice::from_ref(&self.verifier)).is_ok()
    }

    /// The name the witness is known by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The witness's cosignature verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Submits checkpoint `note` (a signed note) with the consistency proof
    /// from `old`, the size the witness is believed to hold.
    pub async fn add_checkpoint(
        &self,
        old: u64,
        proof: &[Hash],
        note: &str,
    ) -> Result<AddOutcome, WitnessError> {
        let parsed = Note::parse(note).map_err(|e| WitnessError::InvalidRequest(e.to_string()))?;
        TreeHead::parse(&parsed.text).map_err(|e| WitnessError::InvalidRequest(e.to_string()))?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(WitnessError::InvalidRequest(format!(
                "{} proof hashes, more than {MAX_PROOF_LINES}",
                proof.len()
            )));
        }
        let body = protocol::add_checkpoint_body(old, proof, note);
        let (status, body) = self
            .exchange(Method::POST, "/add-checkpoint", Bytes::from(body))
            .await?;
        match status {
            StatusCode::OK => {
                let text = String::from_utf8(body.to_vec())
                    .map_err(|_| WitnessError::MalformedResponse("body is not UTF-8".into()))?;
                let (line, timestamp) = self.check_cosignature(&parsed.text, &text)?;
                Ok(AddOutcome::Cosigned { line, timestamp })
            }
            StatusCode::CONFLICT => {
                let size = std::str::from_utf8(&body)
                    .ok()
                    .and_then(|s| s.strip_suffix('\n'))
                    .and_then(protocol::parse_decimal)
                    .ok_or_else(|| {
                        WitnessError::MalformedResponse("409 body is not `<size>\\n`".into())
                    })?;
                Ok(AddOutcome::Conflict { size })
            }
            other => Ok(AddOutcome::Refused {
                status: other.as_u16(),
                body: excerpt(&body),
            }),
        }
    }

    /// The witness's cosignature line among `lines` over `text`, verified.
    fn check_cosignature(&self, text: &str, lines: &str) -> Result<(String, u64), WitnessError> {
        let mut fresh = Note {
            text: text.to_owned(),
            sigs: Vec::new(),
        };
        fresh
            .add_sig_lines(lines)
            .map_err(|e| WitnessError::MalformedResponse(e.to_string()))?;
        let verified = fresh
            .verify(std::slice::from_ref(&self.verifier))
            .map_err(WitnessError::BadCosignature)?;
        let timestamp = verified
            .first()
            .and_then(|(_, ts)| *ts)
            .filter(|ts| *ts != 0)
            .ok_or_else(|| WitnessError::MalformedResponse("cosignature timestamp is 0".into()))?;
        let line = fresh
            .sigs
            .iter()
            .find(|s| s.name == self.verifier.name && s.key_id == self.verifier.key_id)
            .map(|s| s.to_line())
            .ok_or_else(|| WitnessError::MalformedResponse("no cosignature line".into()))?;
        Ok((line, timestamp))
    }

    /// The latest checkpoint the witness cosigned for `origin` (a signed
    /// note carrying the log's signature and the witness's verified
    /// cosignature), or `None` if it cosigned none.
    pub async fn latest(&self, origin: &str) -> Result<Option<String>, WitnessError> {
        let path = format!("/latest?origin={}", protocol::percent_encode(origin));
        let (status, body) = self.exchange(Method::GET, &path, Bytes::new()).await?;
        match status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            other => {
                return Err(WitnessError::Status {
                    status: other.as_u16(),
                    body: excerpt(&body),
                })
            }
        }
        let text = String::from_utf8(body.to_vec())
            .map_err(|_| WitnessError::MalformedResponse("body is not UTF-8".into()))?;
        let note =
            Note::parse(&text).map_err(|e| WitnessError::MalformedResponse(e.to_string()))?;
        let head = TreeHead::parse(&note.text)
            .map_err(|e| WitnessError::MalformedResponse(e.to_string()))?;
        if head.origin != origin {
            return Err(WitnessError::MalformedResponse(
                "checkpoint is for another origin".into(),
            ));
        }
        note.verify(std::slice::from_ref(&self.verifier))
            .map_err(WitnessError::BadCosignature)?;
        Ok(Some(text))
    }

    /// Every origin the witness holds a checkpoint for.
    pub async fn origins(&self) -> Result<Vec<String>, WitnessError> {
        let (status, body) = self.exchange(Method::GET, "/origins", Bytes::new()).await?;
        if status != StatusCode::OK {
            return Err(WitnessError::Status {
                status: status.as_u16(),
                body: excerpt(&body),
            });
        }
        let text = String::from_utf8(body.to_vec())
            .map_err(|_| WitnessError::MalformedResponse("body is not UTF-8".into()))?;
        Ok(text
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// One request on a fresh pinned TLS connection: status and body.
    async fn exchange(
        &self,
        method: Method,
        path_and_query: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), WitnessError> {
        let connect = async {
            let tcp = tokio::net::TcpStream::connect(&self.addr)
                .await
                .map_err(WitnessError::Connect)?;
            let _ = tcp.set_nodelay(true);
            tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
                .connect(self.server_name.clone(), tcp)
                .await
                .map_err(WitnessError::Tls)
        };
        let tls = tokio::time::timeout(TIMEOUT, connect)
            .await
            .map_err(|_| WitnessError::Timeout)??;
        let uri = format!("{}{path_and_query}", self.prefix);
        let is_post = method == Method::POST;
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, &self.host);
        if is_post {
            builder = builder.header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
        }
        let request = builder
            .body(Full::new(body))
            .map_err(|e| WitnessError::InvalidRequest(e.to_string()))?;
        let exchange = async {
            let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
                .handshake(TokioIo::new(tls))
                .await
                .map_err(|e| WitnessError::Http(e.to_string()))?;
            let driver = tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "witness connection ended");
                }
            });
            let result = async {
                let resp = sender
                    .send_request(request)
                    .await
                    .map_err(|e| WitnessError::Http(e.to_string()))?;
                let status = resp.status();
                let body = Limited::new(resp.into_body(), MAX_RESPONSE)
                    .collect()
                    .await
                    .map_err(|e| WitnessError::Http(e.to_string()))?
                    .to_bytes();
                Ok((status, body))
            }
            .await;
            drop(sender);
            driver.abort();
            result
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| WitnessError::Timeout)?
    }
}

/// The first bytes of a body, as text.
fn excerpt(body: &[u8]) -> String {
    let end = body.len().min(MAX_REFUSAL_BODY);
    String::from_utf8_lossy(body.get(..end).unwrap_or_default())
        .trim_end()
        .to_owned()
}
