//! `witness.toml`: parsed into a [`Config`] (unknown keys are errors), then
//! checked, collecting every problem before failing.
//!
//! Relative paths resolve against the folder of the config file. Nothing here
//! reads the key files or binds a port; [`Config`] only says where things are.

use std::fmt;
use std::path::{Path, PathBuf};

use audit::note::{Verifier, ED25519};
use serde::Deserialize;

/// A witness configuration: `witness.toml` as written (unknown keys are
/// errors), then checked by [`Config::from_toml`], which resolves the paths
/// and reads the logs' keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The file it was read from (for messages).
    #[serde(skip)]
    pub file: PathBuf,
    /// Signed-note key name of the cosigning key, e.g. `witness.local/w1`.
    pub name: String,
    /// `host:port` to listen on (HTTPS).
    pub listen: String,
    /// Ed25519 PKCS#8 (DER) cosigning key.
    pub key: PathBuf,
    /// The self-signed TLS certificate (PEM) that gateways pin.
    pub cert: PathBuf,
    /// The TLS certificate's private key (PEM).
    pub tls_key: PathBuf,
    /// SQLite file holding the latest cosigned checkpoint per origin.
    pub state: PathBuf,
    /// The `[[logs]]` tables as written (moved into `logs` once checked).
    #[serde(default, rename = "logs")]
    written_logs: Vec<RawLog>,
    /// The logs this witness cosigns for, in file order.
    #[serde(skip)]
    pub logs: Vec<LogConfig>,
}

/// One `[[logs]]` table as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    /// Every checkpoint origin starting with this belongs to the log (a
    /// credgate log has one origin per chain: `credgate.local/<chain id>`).
    origin_prefix: String,
    /// The log's signed-note verifier key (type 0x01, Ed25519).
    key: String,
}

/// One witnessed log: which origins it owns and the key that signs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Origins starting with this belong to the log.
    pub origin_prefix: String,
    /// The log's checkpoint verifier (type 0x01).
    pub verifier: Verifier,
}

impl Config {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Config, WitnessConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WitnessConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(path, &text)
    }

    /// Parses config text as if read from `path` (paths resolve against its folder).
    pub fn from_toml(path: &Path, text: &str) -> Result<Config, WitnessConfigError> {
        let written: Config = toml::from_str(text).map_err(|e| {
            let file = path.display().to_string();
            let d = policy::diag::from_toml_error(&file, text, &e);
            WitnessConfigError::Invalid(vec![d.to_string()])
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        written.check(path, &dir)
    }

    /// Checks a config as written; relative paths resolve against `dir`.
    fn check(mut self, file: &Path, dir: &Path) -> Result<Config, WitnessConfigError> {
        let mut errors = Vec::new();
        let f = file.display();
        if let Err(e) = Verifier::new(&self.name, audit::note::COSIGNATURE_V1, [0; 32]) {
            errors.push(format!("{f}: `name` = `{}`: {e}", self.name));
        }
        if let Err(e) = parse_listen(&self.listen) {
            errors.push(format!("{f}: `listen`: {e}"));
        }
        for (what, p) in [
            ("key", &self.key),
            ("cert", &self.cert),
            ("tls_key", &self.tls_key),
            ("state", &self.state),
        ] {
            if p.as_os_str().is_empty() {
                errors.push(format!("{f}: `{what}` must not be empty"));
            }
        }
        let mut logs = Vec::new();
        let written = std::mem::take(&mut self.written_logs);
        for (i, log) in written.into_iter().enumerate() {
            let at = format!("{f}: `logs[{i}]`");
            if log.origin_prefix.is_empty() {
                errors.push(format!("{at}: `origin_prefix` must not be empty"));
            }
            if log.origin_prefix.chars().any(char::is_control) {
                errors.push(format!(
                    "{at}: `origin_prefix` must not hold control characters"
                ));
            }
            match parse_log_key(&log.key) {
                Ok(verifier) => logs.push(LogConfig {
                    origin_prefix: log.origin_prefix,
                    verifier,
                }),
                Err(e) => errors.push(format!("{at}: `key`: {e}")),
            }
        }
        if !errors.is_empty() {
            return Err(WitnessConfigError::Invalid(errors));
        }
        self.file = file.to_path_buf();
        for p in [
            &mut self.key,
            &mut self.cert,
            &mut self.tls_key,
            &mut self.state,
        ] {
            *p = dir.join(&*p);
        }
        self.logs = logs;
        Ok(self)
    }

    /// The verifiers trusted for `origin`: the keys of every log whose
    /// prefix it starts with (empty: the witness does not know the origin).
    pub fn trusted_for(&self, origin: &str) -> Vec<Verifier> {
        self.logs
            .iter()
            .filter(|l| origin.starts_with(&l.origin_prefix))
            .map(|l| l.verifier.clone())
            .collect()
    }
}

/// A log's verifier key: a valid vkey of type 0x01 (Ed25519 signed note).
pub fn parse_log_key(vkey: &str) -> Result<Verifier, String> {
    let v = Verifier::parse(vkey).map_err(|e| format!("`{vkey}` is not a verifier key: {e}"))?;
    if v.kind != ED25519 {
        return Err(format!(
            "`{vkey}` has signature type 0x{:02x}; a log's checkpoint key has type 0x01",
            v.kind
        ));
    }
    Ok(v)
}

/// The host of a `listen` address, for the certificate's SAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenHost {
    /// An IP address (`127.0.0.1`, `[::1]`).
    Ip(std::net::IpAddr),
    /// A DNS name (`witness.example`).
    Dns(String),
}

impl fmt::Display for ListenHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenHost::Ip(ip) => write!(f, "{ip}"),
            ListenHost::Dns(name) => f.write_str(name),
        }
    }
}

/// Splits `host:port` (IPv6 in brackets) and checks both parts.
pub fn parse_listen(listen: &str) -> Result<(ListenHost, u16), String> {
    if let Ok(sa) = listen.parse::<std::net::SocketAddr>() {
        return Ok((ListenHost::Ip(sa.ip()), sa.port()));
    }
    let (host, port) = listen
        .rsplit_once(':')
        .ok_or_else(|| format!("`{listen}` is not `host:port`"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{listen}`: `{port}` is not a port number"))?;
    let dns_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    let labels_ok = host
        .split('.')
        .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'));
    if host.is_empty() || host.len() > 253 || !host.chars().all(dns_char) || !labels_ok {
        return Err(format!(
            "`{listen}`: `{host}` is neither an IP address nor a DNS name"
        ));
    }
    Ok((ListenHost::Dns(host.to_ascii_lowercase()), port))
}

/// Why `witness.toml` could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessConfigError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid witness configuration: every problem, one per line.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

#[cfg(test)]
mod tests;
