//! `gateway.toml`: the raw file model (`deny_unknown_fields`), its conversion
//! into a typed [`Config`] that collects every error with `file:line:col`,
//! path resolution against the config file's folder, and the readers that
//! turn the config into the other crates' settings (policy, audit).
//!
//! Every file the gateway needs at start (server cert and key, client CA,
//! CRLs, audit signing key, consent-authority key, policy file) is checked
//! here, before any port is bound.
//!
//! ## Limits against hostile clients (`[server]`, all optional)
//!
//! | key | default | what happens past it |
//! |---|---|---|
//! | `handshake_timeout_ms` | 10 000 | TLS handshake not finished: the TCP connection is dropped (nothing is logged: no identity yet) |
//! | `header_read_timeout_ms` | 10 000 | request head not complete (slowloris), counted from when the gateway starts waiting for it (so it also bounds a connection that handshakes and sends nothing, and an HTTP/1 keep-alive connection between requests): the connection is closed without a response; if part of a request head had arrived, that is one entry with status 408 (an idle connection that sent nothing is not a request and leaves none) |
//! | `idle_timeout_ms` | 60 000 | keep-alive connection without a request in flight: closed (for HTTP/2 this is also the bound on a header block that never completes) |
//! | `request_timeout_ms` | 30 000 | bound on one request's upstream exchange (504 `upstream_timeout`); with no request bodies, head read + this bound the whole request |
//! | `max_connections` | 1 024 | per listener; further connections wait in the kernel's accept queue and live ones keep being served; while one waits, connections only holding a slot (handshake unfinished or idle between requests for 1 s) are shed, so a flood of idle or half-open connections delays a new client by about a second per wave instead of a full timeout |
//! | `max_concurrent_streams` | 100 | HTTP/2 streams per connection |
//! | `max_header_bytes` | 16 384 | request head (HTTP/1) or header list (HTTP/2) larger: 431 |
//! | `max_headers` | 100 | more header fields: 431 |
//! | `max_uri_bytes` | 8 192 | longer request target (path + query): 414 |
//! | `max_export_bytes` | 67 108 864 | obsolete: accepted (1 to 1 GiB) so existing configs still load, and ignored — since issue 15 an admin-plane `/audit/export` is streamed, in constant memory whatever its size, so there is nothing left to cap |
//!
//! ## Admin plane (`[admin]`)
//!
//! `listen` (the admin listener) and `max_concurrent_exports` (default 2,
//! 1 to 1 024): how many `/audit/export` and `/audit/verify` requests run
//! at once; one more gets 429 `rate_limited` with `Retry-After: 1`. An
//! export holds its slot until its stream ends or its client goes away.
//!
//! ## The disk under the log (`[audit]`)
//!
//! `min_free_bytes` (default 67 108 864, 64 MiB; 0 turns it off): while the
//! file system under a SQLite store has less free, every append fails and
//! the gateway answers 503 `audit_unavailable` (and `/readyz` fails), so the
//! disk never fills under the log; it serves again by itself once space
//! returns. The free space is the `credgate_audit_store_free_bytes` metric.
//! PostgreSQL owns its own disk: the key does not apply there.

//! ## The refusal budget (`[server]`)
//!
//! `refusal_rate` (default `"20/second"`, the syntax of a role's `rate`) and
//! `refusal_burst` (default 100): refused requests per client certificate
//! that are logged one entry each; past them a refusal is answered 429
//! `rate_limited` and counted into one summary entry per certificate per
//! second (`server::refusals`).
//!
//! ## Test only: `danger_fixed_clock` (`[server]`)
//!
//! `danger_fixed_clock = "2026-11-22T00:00:00Z"` (RFC 3339) makes the
//! gateway decide and log as if it were always that instant: officers'
//! validity, consent expiry, which records may still be served and the
//! per-request certificate expiry check all read it. It exists so end-to-end
//! tests of the binary can run the conformance cases at their own `now`.
//! Never set it in a deployment: the gateway logs a `DANGER` warning at
//! start when it is set. (TLS handshakes still check certificates against
//! the real time.) In-process callers use `server::start_with_clock` instead.
//!
//! Request bodies: neither plane takes one (GET only), so there is no body
//! size knob: any body (`Content-Length` > 0, or HTTP/2 DATA) gets 413
//! `payload_too_large`, any `Transfer-Encoding` 400 `invalid_request`, and the
//! HTTP/1 connection is closed so bytes after the head are never read as a
//! request. See `server::hygiene` for the rest of the request checks.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use policy::diag::Diagnostic;
use serde::Deserialize;
use toml::Spanned;
use toml_keys::{key_offset, KeyStep};

/// `[audit] min_free_bytes` by default: 64 MiB, room for ~30 000 entries
/// and a WAL checkpoint after the gateway starts refusing.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

/// Default `[server] refusal_rate`: 20 refusals per second per certificate.
pub const DEFAULT_REFUSAL_RATE: policy::Rate = policy::Rate {
    count: 20,
    per: Duration::from_secs(1),
};
/// Default `[server] refusal_burst`.
pub const DEFAULT_REFUSAL_BURST: u32 = 100;

/// Default `[admin] max_concurrent_exports`.
pub const DEFAULT_MAX_CONCURRENT_EXPORTS: usize = 2;

/// Default `[upstream] max_body_bytes`: 8 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 8 * 1024 * 1024;

/// Why a config (or a file it names) could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file itself could not be read.
    #[error("`{path}`: cannot read config file: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file has errors: one `file:line:col: message` per line.
    #[error("{}", join_lines(.0))]
    Invalid(Vec<Diagnostic>),
    /// A key file named by the config is unusable.
    #[error("`{path}`: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The policy file has errors.
    #[error("{0}")]
    Policy(policy::PolicyErrors),
}

fn join_lines(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Connection and request limits of the listeners (all have safe defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Open connections per listener; further connections wait in the backlog.
    pub max_connections: usize,
    /// Bound on one request's upstream exchange (connect, response, body).
    pub request_timeout: Duration,
    /// Time a client has to send a complete request head.
    pub header_read_timeout: Duration,
    /// An idle keep-alive connection is closed after this long.
    pub idle_timeout: Duration,
    /// Largest request head accepted.
    pub max_header_bytes: usize,
    /// Time a client has to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Header fields per request (HTTP/1 parser cap; also checked for HTTP/2).
    pub max_headers: usize,
    /// Longest request target (path and query) accepted; longer gets 414.
    pub max_uri_bytes: usize,
    /// Obsolete (`[server] max_export_bytes` is still accepted, and
    /// ignored): exports are streamed since issue 15, nothing is capped.
    pub max_export_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 16 * 1024,
            handshake_timeout: Duration::from_secs(10),
            max_concurrent_streams: 100,
            max_headers: 100,
            max_uri_bytes: 8 * 1024,
            max_export_bytes: 64 * 1024 * 1024,
        }
    }
}

/// `[server]`, typed and resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Data-plane listen address.
    pub listen: SocketAddr,
    /// Server certificate chain (PEM).
    pub cert: PathBuf,
    /// Server private key (PEM).
    pub key: PathBuf,
    /// CA that officers' certificates must chain to (PEM).
    pub client_ca: PathBuf,
    /// CRLs (PEM or DER), re-read on reload.
    pub crl: Vec<PathBuf>,
    /// Platform time zone offset in seconds east of UTC.
    pub utc_offset_seconds: i32,
    /// Listener limits.
    pub limits: Limits,
    /// Test only: decide and log at this fixed instant instead of the
    /// system clock (see the module docs). `None` in any deployment.
    pub danger_fixed_clock: Option<time::OffsetDateTime>,
    /// `refusal_rate`: refused requests per certificate logged one by one.
    pub refusal_rate: policy::Rate,
    /// `refusal_burst`: refusals at once before the rate applies.
    pub refusal_burst: u32,
}

/// `[upstream]`, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    /// Base URL of the credit database (`http://host:port`, optional path prefix).
    pub url: http::Uri,
    /// Response timeout (headers and body).
    pub timeout: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Largest upstream body accepted; larger bodies give 502.
    pub max_body_bytes: usize,
    /// For an `https://` upstream: the CA to trust and the gateway's own
    /// client certificate (mTLS).
    pub tls: Option<UpstreamTls>,
}

/// TLS towards an `https://` upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTls {
    /// CA the upstream's server certificate must chain to (PEM).
    pub ca: PathBuf,
    /// Client certificate and key (PEM) the gateway presents, if any.
    pub identity: Option<(PathBuf, PathBuf)>,
}

/// `[consent]`, typed and resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentConfig {
    /// Ed25519 public key of the consent authority (raw 32 bytes or PEM).
    pub authority_key: PathBuf,
    /// Longest consent accepted, in days.
    pub max_days: u32,
}

/// A loaded, validated `gateway.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file it was loaded from.
    pub path: PathBuf,
    /// `[server]`.
    pub server: ServerConfig,
    /// `[identity]`: how a client certificate names an officer.
    pub identity: certs::identity::IdentityMapping,
    /// `[admin] listen`, if the admin plane is enabled.
    pub admin_listen: Option<SocketAddr>,
    /// `[admin] max_concurrent_exports`: admin-plane exports and
    /// verifications running at once (default
    /// [`DEFAULT_MAX_CONCURRENT_EXPORTS`]); more get 429 `rate_limited`.
    pub admin_max_concurrent_exports: usize,
    /// `[upstream]`.
    pub upstream: UpstreamConfig,
    /// The audit store URL handed to `audit`: `sqlite://` + absolute path,
    /// or the PostgreSQL URL unchanged.
    pub audit_store_url: String,
    /// Audit Ed25519 signing key (PKCS#8 DER).
    pub audit_signing_key: PathBuf,
    /// Entries between signed checkpoints.
    pub checkpoint_every: u64,
    /// A checkpoint at least this often while entries arrive (ms).
    pub checkpoint_interval_ms: u64,
    /// `[audit] min_free_bytes`: below this much free space under a SQLite
    /// store the gateway refuses (503) before the disk is full; 0: none.
    pub audit_min_free_bytes: u64,
    /// Origin template of each chain's checkpoints.
    pub audit_origin: String,
    /// Signed-note key name of the audit key.
    pub audit_key_name: String,
    /// `[[audit.witnesses]]`: every checkpoint is sent to each.
    pub witnesses: Vec<WitnessConfig>,
    /// `[consent]`, if consent tokens are accepted.
    pub consent: Option<ConsentConfig>,
    /// `[policy] file`.
    pub policy_file: PathBuf,
}

/// One `[[audit.witnesses]]` entry: an independent witness (C2SP
/// tlog-witness) every checkpoint is submitted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessConfig {
    /// Its name (as `audit verify --require-witness NAME` names it).
    pub name: String,
    /// Base URL (`https://host:port`).
    pub url: String,
    /// Its signed-note verifier key (cosignature type).
    pub key: String,
    /// Its pinned TLS certificate (PEM).
    pub ca: PathBuf,
}

impl WitnessConfig {
    /// A client for this witness (its pinned certificate read now); the
    /// error says what is wrong in one line.
    pub fn client(&self) -> Result<crate::witness::client::WitnessClient, String> {
        let pem = std::fs::read(&self.ca)
            .map_err(|e| format!("cannot read `{}`: {e}", self.ca.display()))?;
        crate::witness::client::WitnessClient::new(&self.name, &self.url, &self.key, &pem)
            .map_err(|e| e.to_string())
    }
}

// ---------------------------------------------------------------- raw model

#[derive(Deserialize)]
struct RawConfig {
    server: RawServer,
    #[serde(default)]
    identity: Option<RawIdentity>,
    #[serde(default)]
    admin: Option<RawAdmin>,
    upstream: RawUpstream,
    audit: RawAudit,
    #[serde(default)]
    consent: Option<RawConsent>,
    policy: RawPolicy,
}

#[derive(Deserialize)]
struct RawServer {
    listen: Spanned<String>,
    cert: Spanned<String>,
    key: Spanned<String>,
    client_ca: Spanned<String>,
    #[serde(default)]
    crl: Vec<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    danger_fixed_clock: Option<Spanned<String>>,
    refusal_rate: Option<Spanned<String>>,
    refusal_burst: Option<Spanned<i64>>,
    max_connections: Option<Spanned<i64>>,
    request_timeout_ms: Option<Spanned<i64>>,
    header_read_timeout_ms: Option<Spanned<i64>>,
    idle_timeout_ms: Option<Spanned<i64>>,
    max_header_bytes: Option<Spanned<i64>>,
    handshake_timeout_ms: Option<Spanned<i64>>,
    max_concurrent_streams: Option<Spanned<i64>>,
    max_headers: Option<Spanned<i64>>,
    max_uri_bytes: Option<Spanned<i64>>,
    max_export_bytes: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
struct RawIdentity {
    officer_id: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    unit: Option<Spanned<String>>,
}

#[derive(Deserialize)]
struct RawAdmin {
    listen: Spanned<String>,
    max_concurrent_exports: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
struct RawUpstream {
    url: Spanned<String>,
    timeout_ms: Option<Spanned<i64>>,
    connect_timeout_ms: Option<Spanned<i64>>,
    max_body_bytes: Option<Spanned<i64>>,
    ca: Option<Spanned<String>>,
    cert: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
}

#[derive(Deserialize)]
struct RawAudit {
    store: Spanned<String>,
    signing_key: Spanned<String>,
    checkpoint_every: Option<Spanned<i64>>,
    checkpoint_interval_ms: Option<Spanned<i64>>,
    min_free_bytes: Option<Spanned<i64>>,
    origin: Option<Spanned<String>>,
    key_name: Option<Spanned<String>>,
    #[serde(default)]
    witnesses: Vec<RawWitness>,
}

#[derive(Deserialize)]
struct RawWitness {
    name: Spanned<String>,
    url: Spanned<String>,
    key: Spanned<String>,
    ca: Spanned<String>,
}

#[derive(Deserialize)]
struct RawConsent {
    authority_key: Spanned<String>,
    max_days: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
struct RawPolicy {
    file: Spanned<String>,
}

/// `unknown key `lisen` in [server]` (or `at the top level`, or in the
/// second `[[audit.witnesses]]` entry).
fn unknown_key_message(steps: &[KeyStep]) -> String {
    let name = match steps.last() {
        Some(KeyStep::Key(k)) => k.clone(),
        Some(KeyStep::Index(i)) => format!("#{i}"),
        None => String::new(),
    };
    let mut table = String::new();
    let mut entry = None;
    for step in steps.iter().take(steps.len().saturating_sub(1)) {
        match step {
            KeyStep::Key(k) => {
                if !table.is_empty() {
                    table.push('.');
                }
                table.push_str(k);
            }
            KeyStep::Index(i) => entry = Some(*i),
        }
    }
    match (table.is_empty(), entry) {
        (true, _) => format!("unknown key `{name}` at the top level"),
        (false, Some(i)) => format!("unknown key `{name}` in [[{table}]] entry {}", i + 1),
        (false, None) => format!("unknown key `{name}` in [{table}]"),
    }
}

/// Collects diagnostics while converting the raw model.
struct Collector<'a> {
    file: String,
    dir: &'a Path,
    /// The original text (diagnostics are positioned in it).
    text: &'a str,
    /// From the spans of the text the model was read from (placeholders
    /// added past a missing key) to positions of `text`.
    map: &'a recover::OffsetMap,
    diags: Vec<Diagnostic>,
}

impl Collector<'_> {
    /// A diagnostic at `offset` of the text the model was read from; one
    /// inside a placeholder is about no key of the file and is dropped.
    fn push(&mut self, offset: usize, message: String) {
        if let Some(offset) = self.map.to_original(offset) {
            self.diags
                .push(Diagnostic::at(&self.file, self.text, offset, message));
        }
    }

    fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.dir.join(path)
        }
    }

    /// A path that must name a readable file.
    fn readable(&mut self, what: &str, v: &Spanned<String>) -> PathBuf {
        let path = self.resolve(v.get_ref());
        if let Err(e) = std::fs::File::open(&path) {
            self.push(
                v.span().start,
                format!("{what} `{}` cannot be read: {e}", path.display()),
            );
        } else if path.is_dir() {
            self.push(
                v.span().start,
                format!("{what} `{}` is a folder, not a file", path.display()),
            );
        }
        path
    }

    fn addr(&mut self, what: &str, v: &Spanned<String>) -> Option<SocketAddr> {
        match v.get_ref().parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.push(
                    v.span().start,
                    format!(
                        "{what} `{}` is not an address of the form IP:PORT",
                        v.get_ref()
                    ),
                );
                None
            }
        }
    }

    /// A positive integer within `1..=max`, or `default` when absent.
    fn positive(&mut self, what: &str, v: &Option<Spanned<i64>>, default: u64, max: u64) -> u64 {
        match v {
            None => default,
            Some(s) => {
                let n = *s.get_ref();
                match u64::try_from(n) {
                    Ok(n) if n >= 1 && n <= max => n,
                    _ => {
                        self.push(
                            s.span().start,
                            format!("{what} must be between 1 and {max}, not `{n}`"),
                        );
                        default
                    }
                }
            }
        }
    }

    fn millis(&mut self, what: &str, v: &Option<Spanned<i64>>, default: Duration) -> Duration {
        let default_ms = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(self.positive(what, v, default_ms, 3_600_000))
    }

    fn field(
        &mut self,
        what: &str,
        v: &Option<Spanned<String>>,
        default: certs::identity::Field,
    ) -> certs::identity::Field {
        match v {
            None => default,
            Some(s) => match s.get_ref().parse::<certs::identity::Field>() {
                Ok(f) => f,
                Err(e) => {
                    self.push(s.span().start, format!("[identity] {what}: {e}"));
                    default
                }
            },
        }
    }
}

/// Parse `+08:00`, `-05:30`, `Z` or `UTC` into seconds east of UTC.
fn parse_utc_offset(text: &str) -> Option<i32> {
    if text == "Z" || text.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, text.get(1..)?),
        b'-' => (-1, text.get(1..)?),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

impl Config {
    /// Load and validate `gateway.toml`; every problem is reported (one per
    /// line, `file:line:col: message`), and every file it names is checked.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(path, &text)
    }

    /// Parse config text as if read from `path` (paths resolve against its folder).
    pub fn from_toml(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        // Unknown keys are collected (not refused one at a time) so that
        // every one of them is reported with the other problems; past a
        // value of the wrong type or a missing key, the file is read on
        // (`recover`) so that its other errors are reported too.
        let file = path.display().to_string();
        let read = recover::deserialize::<RawConfig>(&file, text);
        let Some(raw) = read.raw else {
            return Err(ConfigError::Invalid(read.diags));
        };
        let mut c = Collector {
            file,
            dir: &dir,
            text,
            map: &read.map,
            diags: Vec::new(),
        };
        if !read.unknown.is_empty() {
            let doc = toml_edit::ImDocument::parse(read.text.as_str()).ok();
            for steps in &read.unknown {
                let offset = doc
                    .as_ref()
                    .and_then(|d| key_offset(d.as_table(), steps))
                    .unwrap_or(0);
                c.push(offset, unknown_key_message(steps));
            }
        }

        // [server]
        let s = &raw.server;
        let listen = c.addr("[server] listen", &s.listen);
        let cert = c.readable("server certificate", &s.cert);
        let key = c.readable("server key", &s.key);
        let client_ca = c.readable("client CA", &s.client_ca);
        let crl = s.crl.iter().map(|p| c.readable("CRL", p)).collect();
        let utc_offset_seconds = match &s.timezone {
            None => 8 * 3600,
            Some(tz) => parse_utc_offset(tz.get_ref()).unwrap_or_else(|| {
                c.push(
                    tz.span().start,
                    format!(
                        "[server] timezone `{}` is not an offset like `+08:00`",
                        tz.get_ref()
                    ),
                );
                8 * 3600
            }),
        };
        let refusal_rate = match &s.refusal_rate {
            None => DEFAULT_REFUSAL_RATE,
            Some(r) => policy::Rate::parse(r.get_ref()).unwrap_or_else(|| {
                c.push(
                    r.span().start,
                    format!(
                        "[server] refusal_rate `{}` must be `N/second`, `N/minute`, `N/hour` or `N/day` with N ≥ 1",
                        r.get_ref()
                    ),
                );
                DEFAULT_REFUSAL_RATE
            }),
        };
        let refusal_burst = u32::try_from(c.positive(
            "[server] refusal_burst",
            &s.refusal_burst,
            u64::from(DEFAULT_REFUSAL_BURST),
            1_000_000,
        ))
        .unwrap_or(DEFAULT_REFUSAL_BURST);
        let danger_fixed_clock = s.danger_fixed_clock.as_ref().and_then(|t| {
            let parsed = time::OffsetDateTime::parse(
                t.get_ref(),
                &time::format_description::well_known::Rfc3339,
            );
            match parsed {
                Ok(at) => Some(at),
                Err(_) => {
                    c.push(
                        t.span().start,
                        format!(
                            "[server] danger_fixed_clock `{}` is not an RFC 3339 instant like `2026-11-22T00:00:00Z`",
                            t.get_ref()
                        ),
                    );
                    None
                }
            }
        });
        let d = Limits::default();
        let limits = Limits {
            max_connections: usize::try_from(c.positive(
                "[server] max_connections",
                &s.max_connections,
                d.max_connections as u64,
                1_000_000,
            ))
            .unwrap_or(d.max_connections),
            request_timeout: c.millis(
                "[server] request_timeout_ms",
                &s.request_timeout_ms,
                d.request_timeout,
            ),
            header_read_timeout: c.millis(
                "[server] header_read_timeout_ms",
                &s.header_read_timeout_ms,
                d.header_read_timeout,
            ),
            idle_timeout: c.millis(
                "[server] idle_timeout_ms",
                &s.idle_timeout_ms,
                d.idle_timeout,
            ),
            max_header_bytes: usize::try_from(c.positive(
                "[server] max_header_bytes",
                &s.max_header_bytes,
                d.max_header_bytes as u64,
                1024 * 1024,
            ))
            .unwrap_or(d.max_header_bytes),
            handshake_timeout: c.millis(
                "[server] handshake_timeout_ms",
                &s.handshake_timeout_ms,
                d.handshake_timeout,
            ),
            max_concurrent_streams: u32::try_from(c.positive(
                "[server] max_concurrent_streams",
                &s.max_concurrent_streams,
                u64::from(d.max_concurrent_streams),
                10_000,
            ))
            .unwrap_or(d.max_concurrent_streams),
            max_headers: usize::try_from(c.positive(
                "[server] max_headers",
                &s.max_headers,
                d.max_headers as u64,
                1_000,
            ))
            .unwrap_or(d.max_headers),
            max_uri_bytes: usize::try_from(c.positive(
                "[server] max_uri_bytes",
                &s.max_uri_bytes,
                d.max_uri_bytes as u64,
                64 * 1024,
            ))
            .unwrap_or(d.max_uri_bytes),
            max_export_bytes: usize::try_from(c.positive(
                "[server] max_export_bytes",
                &s.max_export_bytes,
                d.max_export_bytes as u64,
                1024 * 1024 * 1024,
            ))
            .unwrap_or(d.max_export_bytes),
        };

        // [identity]
        let defaults = certs::identity::IdentityMapping::default();
        let identity = match &raw.identity {
            None => defaults,
            Some(i) => certs::identity::IdentityMapping {
                officer_id: c.field("officer_id", &i.officer_id, defaults.officer_id),
                name: c.field("name", &i.name, defaults.name),
                unit: c.field("unit", &i.unit, defaults.unit),
            },
        };

        // [admin]
        let admin_listen = match &raw.admin {
            None => None,
            Some(a) => c.addr("[admin] listen", &a.listen),
        };
        let admin_max_concurrent_exports = match &raw.admin {
            None => DEFAULT_MAX_CONCURRENT_EXPORTS,
            Some(a) => usize::try_from(c.positive(
                "[admin] max_concurrent_exports",
                &a.max_concurrent_exports,
                DEFAULT_MAX_CONCURRENT_EXPORTS as u64,
                1024,
            ))
            .unwrap_or(DEFAULT_MAX_CONCURRENT_EXPORTS),
        };

        // [upstream]
        let u = &raw.upstream;
        let parsed = u.url.get_ref().parse::<http::Uri>().ok().filter(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some()
        });
        let https = parsed.as_ref().and_then(http::Uri::scheme_str) == Some("https");
        if parsed.is_none() {
            c.push(
                u.url.span().start,
                format!(
                    "[upstream] url `{}` is not an http:// or https:// URL with a host",
                    u.url.get_ref()
                ),
            );
        }
        let url = parsed;
        let upstream_tls = if https {
            let ca = match &u.ca {
                Some(ca) => Some(c.readable("upstream CA", ca)),
                None => {
                    c.push(
                        u.url.span().start,
                        "[upstream] an https url needs `ca` (the CA of the upstream's certificate)"
                            .to_string(),
                    );
                    None
                }
            };
            let identity = match (&u.cert, &u.key) {
                (Some(cert), Some(key)) => Some((
                    c.readable("upstream client certificate", cert),
                    c.readable("upstream client key", key),
                )),
                (None, None) => None,
                (Some(v), None) | (None, Some(v)) => {
                    c.push(
                        v.span().start,
                        "[upstream] `cert` and `key` go together".to_string(),
                    );
                    None
                }
            };
            ca.map(|ca| UpstreamTls { ca, identity })
        } else {
            for v in [&u.ca, &u.cert, &u.key].into_iter().flatten() {
                c.push(
                    v.span().start,
                    "[upstream] `ca`, `cert` and `key` only apply to an https url".to_string(),
                );
            }
            None
        };
        let timeout = c.millis(
            "[upstream] timeout_ms",
            &u.timeout_ms,
            Duration::from_secs(5),
        );
        let connect_timeout = c.millis(
            "[upstream] connect_timeout_ms",
            &u.connect_timeout_ms,
            Duration::from_secs(2),
        );
        let max_body_bytes = usize::try_from(c.positive(
            "[upstream] max_body_bytes",
            &u.max_body_bytes,
            DEFAULT_MAX_BODY_BYTES,
            1024 * 1024 * 1024,
        ))
        .unwrap_or(8 * 1024 * 1024);

        // [audit]
        let a = &raw.audit;
        let store = a.store.get_ref();
        let audit_store_url = if let Some(rest) = store.strip_prefix("sqlite://") {
            let (file, params) = match rest.split_once('?') {
                Some((f, p)) => (f, Some(p)),
                None => (rest, None),
            };
            if file.is_empty() {
                c.push(
                    a.store.span().start,
                    "[audit] store `sqlite://` names no file".to_string(),
                );
            }
            let mut abs = c.resolve(file);
            if abs.is_relative() {
                if let Ok(cwd) = std::env::current_dir() {
                    abs = cwd.join(abs);
                }
            }
            let mut url = format!("sqlite://{}", abs.display());
            if let Some(p) = params {
                url.push('?');
                url.push_str(p);
            }
            url
        } else if store.starts_with("postgres://") || store.starts_with("postgresql://") {
            // Checked here so that `policy check` and every command say so
            // with the line, not only the first to connect.
            if let Err(e) = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(store)
            {
                c.push(
                    a.store.span().start,
                    format!(
                        "[audit] store `{}` is not a valid PostgreSQL URL ({})",
                        audit::redact_url(store),
                        url_problem(&e)
                    ),
                );
            } else if !names_a_database(store) {
                // libpq's defaults would pick one (the user's name) and the
                // log would land in a database nobody named (an outside
                // probe: `postgres://` wrote it into `root`).
                c.push(
                    a.store.span().start,
                    format!(
                        "[audit] store `{}` names no database (expected postgres://HOST[:PORT]/DATABASE)",
                        audit::redact_url(store)
                    ),
                );
            }
            store.clone()
        } else {
            c.push(
                a.store.span().start,
                "[audit] store must start with `sqlite://` or `postgres://`".to_string(),
            );
            String::new()
        };
        let audit_signing_key = c.readable("audit signing key", &a.signing_key);
        if audit_signing_key.is_file() {
            if let Err(e) = read_signing_key(&audit_signing_key) {
                c.push(a.signing_key.span().start, format!("audit signing key {e}"));
            }
        }
        let checkpoint_every = c.positive(
            "[audit] checkpoint_every",
            &a.checkpoint_every,
            1000,
            10_000_000,
        );
        let checkpoint_interval_ms = c.positive(
            "[audit] checkpoint_interval_ms",
            &a.checkpoint_interval_ms,
            1000,
            86_400_000,
        );
        let audit_min_free_bytes = match &a.min_free_bytes {
            None => DEFAULT_MIN_FREE_BYTES,
            Some(s) => u64::try_from(*s.get_ref()).unwrap_or_else(|_| {
                c.push(
                    s.span().start,
                    format!(
                        "[audit] min_free_bytes must be 0 or more bytes, not `{}`",
                        s.get_ref()
                    ),
                );
                DEFAULT_MIN_FREE_BYTES
            }),
        };
        let audit_origin = match &a.origin {
            None => "credgate.local/<chain_id>".to_owned(),
            Some(o) => {
                let v = o.get_ref();
                if v.is_empty()
                    || v.chars()
                        .any(|ch| ch.is_whitespace() || ch == '+' || ch.is_control())
                {
                    c.push(
                        o.span().start,
                        "[audit] origin must be non-empty, without spaces or `+`".to_string(),
                    );
                }
                v.clone()
            }
        };
        let audit_key_name = match &a.key_name {
            None => "credgate-audit".to_owned(),
            Some(n) => {
                let v = n.get_ref();
                if audit::note::Verifier::new(v, audit::note::ED25519, [0; 32]).is_err() {
                    c.push(
                        n.span().start,
                        "[audit] key_name must be non-empty, without spaces or `+`".to_string(),
                    );
                }
                v.clone()
            }
        };
        let mut witnesses = Vec::new();
        for w in &a.witnesses {
            if audit::note::Verifier::parse(w.key.get_ref())
                .map(|v| v.kind != audit::note::COSIGNATURE_V1)
                .unwrap_or(true)
            {
                c.push(
                    w.key.span().start,
                    format!(
                        "[[audit.witnesses]] `{}`: key must be a signed-note verifier key of cosignature type (as `credgate witness init` prints)",
                        w.name.get_ref()
                    ),
                );
            }
            if !w.url.get_ref().starts_with("https://") {
                c.push(
                    w.url.span().start,
                    "[[audit.witnesses]] url must start with `https://`".to_string(),
                );
            }
            if witnesses
                .iter()
                .any(|o: &WitnessConfig| &o.name == w.name.get_ref())
            {
                c.push(
                    w.name.span().start,
                    format!("[[audit.witnesses]] `{}` twice", w.name.get_ref()),
                );
            }
            witnesses.push(WitnessConfig {
                name: w.name.get_ref().clone(),
                url: w.url.get_ref().trim_end_matches('/').to_owned(),
                key: w.key.get_ref().clone(),
                ca: c.readable("witness certificate", &w.ca),
            });
        }

        // [consent]
        let consent = raw.consent.as_ref().map(|k| ConsentConfig {
            authority_key: c.readable("consent authority key", &k.authority_key),
            max_days: u32::try_from(c.positive("[consent] max_days", &k.max_days, 365, 3650))
                .unwrap_or(365),
        });

        // [policy]
        let policy_file = c.readable("policy file", &raw.policy.file);

        let mut diags = read.diags;
        if diags.is_empty() {
            diags = c.diags;
        } else {
            diags.extend(c.diags);
            diags.sort_by_key(|d| (d.line, d.column));
        }
        // A document read past an error (keys removed, placeholders added)
        // never becomes a Config.
        if !diags.is_empty() || read.edited {
            return Err(ConfigError::Invalid(diags));
        }
        let (Some(listen), Some(url)) = (listen, url) else {
            // INVARIANT: both are Some when no diagnostic was pushed.
            return Err(ConfigError::Invalid(Vec::new()));
        };
        let mut absolute = path.to_path_buf();
        if absolute.is_relative() {
            if let Ok(cwd) = std::env::current_dir() {
                absolute = cwd.join(absolute);
            }
        }
        Ok(Config {
            path: absolute,
            server: ServerConfig {
                listen,
                cert,
                key,
                client_ca,
                crl,
                utc_offset_seconds,
                limits,
                danger_fixed_clock,
                refusal_rate,
                refusal_burst,
            },
            identity,
            admin_listen,
            admin_max_concurrent_exports,
            upstream: UpstreamConfig {
                url,
                timeout,
                connect_timeout,
                max_body_bytes,
                tls: upstream_tls,
            },
            audit_store_url,
            audit_signing_key,
            checkpoint_every,
            checkpoint_interval_ms,
            audit_min_free_bytes,
            audit_origin,
            audit_key_name,
            witnesses,
            consent,
            policy_file,
        })
    }

    /// The policy crate's settings: consent key (read now), consent max days,
    /// platform time zone.
    pub fn policy_settings(&self) -> Result<policy::Settings, ConfigError> {
        let (consent_public_key, consent_max_days) = match &self.consent {
            None => (None, 365),
            Some(c) => {
                let bytes = read_file(&c.authority_key)?;
                let key =
                    policy::consent::parse_public_key(&bytes).map_err(|_| ConfigError::File {
                        path: c.authority_key.clone(),
                        message: "not an Ed25519 public key (raw 32 bytes or PEM)".into(),
                    })?;
                (Some(key), c.max_days)
            }
        };
        Ok(policy::Settings {
            consent_public_key,
            consent_max_days,
            utc_offset_seconds: self.server.utc_offset_seconds,
        })
    }

    /// Load and validate the policy file under this config's settings.
    pub fn load_policy(&self) -> Result<policy::Policy, ConfigError> {
        let settings = self.policy_settings()?;
        policy::Policy::load(&self.policy_file, &settings).map_err(ConfigError::Policy)
    }

    /// The audit log's configuration (reads the signing key now).
    pub fn audit_config(&self) -> Result<audit::AuditConfig, ConfigError> {
        let signing_key_pkcs8 = read_signing_key(&self.audit_signing_key)?;
        Ok(audit::AuditConfig {
            store_url: self.audit_store_url.clone(),
            signing_key_pkcs8,
            checkpoint_every: self.checkpoint_every,
            checkpoint_interval_ms: self.checkpoint_interval_ms,
            min_free_bytes: self.audit_min_free_bytes,
            origin: self.audit_origin.clone(),
            key_name: self.audit_key_name.clone(),
            ..Default::default()
        })
    }
}

/// The audit signing key as PKCS#8 DER: the file as `certs init` writes it
/// (DER), or PEM (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey
/// -algorithm ed25519` writes it). Anything that is not an Ed25519 key is
/// an error naming the file, so `policy check` and `serve` agree.
fn read_signing_key(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let bytes = read_file(path)?;
    let bad = |why: &str| ConfigError::File {
        path: path.to_path_buf(),
        message: format!("is not an Ed25519 PKCS#8 private key (DER or PEM): {why}"),
    };
    let der = if bytes.starts_with(b"-----BEGIN") {
        match rustls_pemfile::private_key(&mut std::io::BufReader::new(bytes.as_slice())) {
            Ok(Some(rustls::pki_types::PrivateKeyDer::Pkcs8(k))) => k.secret_pkcs8_der().to_vec(),
            Ok(Some(_)) => return Err(bad("a PEM key of another format than PKCS#8")),
            Ok(None) | Err(_) => return Err(bad("no PEM private key in it")),
        }
    } else {
        bytes
    };
    ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
        .map_err(|_| bad("not an Ed25519 key"))?;
    Ok(der)
}

fn read_file(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| ConfigError::File {
        path: path.to_path_buf(),
        message: format!("cannot be read: {e}"),
    })
}

mod recover;
mod toml_keys;

#[cfg(test)]
mod tests;

/// What is wrong with a PostgreSQL URL, without repeating any of it (the
/// parser's message may quote a password).
/// Whether a PostgreSQL URL names its database: a non-empty path after
/// the authority (`postgres://host/db`, `postgres:///db` for the local
/// socket), or a `dbname=` parameter.
fn names_a_database(url: &str) -> bool {
    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = before_query.split_once('/').map_or("", |(_, path)| path);
    !path.trim_matches('/').is_empty()
        || query
            .split('&')
            .any(|p| p.strip_prefix("dbname=").is_some_and(|v| !v.is_empty()))
}

fn url_problem(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::Configuration(inner) if inner.to_string().contains("port") => "a bad port",
        sqlx::Error::Configuration(_) => "it does not parse as a URL",
        _ => "it does not parse",
    }
}
