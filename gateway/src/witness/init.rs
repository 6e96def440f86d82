//! `credgate witness init`: a new witness's files in one folder —
//! `witness.toml`, the Ed25519 cosigning key `witness.pk8` (PKCS#8 DER),
//! the self-signed TLS certificate `witness.pem` (SAN: the listen host) and
//! its key `witness-tls.key` (PKCS#8 PEM). Key files are created with mode
//! 0600. Nothing existing is ever overwritten: if any of the files is
//! already there, nothing is written.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use audit::note::{NoteSigner, Verifier, COSIGNATURE_V1};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Ia5String, KeyPair,
    SanType,
};

use super::config::{parse_listen, parse_log_key, ListenHost};

/// The config file `init` writes.
pub const CONFIG_FILE: &str = "witness.toml";
/// The cosigning key (Ed25519 PKCS#8 DER).
pub const KEY_FILE: &str = "witness.pk8";
/// The self-signed TLS certificate gateways pin.
pub const CERT_FILE: &str = "witness.pem";
/// The TLS private key.
pub const TLS_KEY_FILE: &str = "witness-tls.key";
/// The state file named in the config (created by `serve`).
pub const STATE_FILE: &str = "witness.db";
/// Validity of the TLS certificate (it is pinned, so it is long).
const CERT_DAYS: i64 = 3650;

/// What `init` is asked to make.
#[derive(Debug, Clone)]
pub struct InitSpec {
    /// Key name of the cosigning key.
    pub name: String,
    /// `host:port` to listen on; the host goes into the certificate.
    pub listen: String,
    /// Verifier keys of the witnessed log (type 0x01).
    pub log_keys: Vec<String>,
    /// The origin prefix of those keys.
    pub origin_prefix: String,
}

/// What `init` wrote.
#[derive(Debug, Clone)]
pub struct Initialised {
    /// Every file written, in order.
    pub files: Vec<PathBuf>,
    /// The witness's cosignature verifier key (type 0x04).
    pub vkey: String,
}

/// Why `init` refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The arguments are invalid: every problem (nothing written).
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    /// A file `init` would write exists already (nothing written).
    #[error("`{0}` already exists; refusing to overwrite a witness (choose another --dir)")]
    Exists(PathBuf),
    /// Writing failed.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Key or certificate generation failed.
    #[error("cannot generate {what}: {why}")]
    Generate {
        /// What was being generated.
        what: &'static str,
        /// Why it failed.
        why: String,
    },
}

impl InitError {
    /// Whether the operator's input is at fault (exit 1) rather than the
    /// machine (exit 2).
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, InitError::Invalid(_) | InitError::Exists(_))
    }
}

/// A TOML basic string holding `s`.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Checks `spec`, then writes the witness's files into `dir`.
pub fn init(dir: &Path, spec: &InitSpec) -> Result<Initialised, InitError> {
    let mut errors = Vec::new();
    if let Err(e) = Verifier::new(&spec.name, COSIGNATURE_V1, [0; 32]) {
        errors.push(format!("`--name` `{}`: {e}", spec.name));
    }
    let host = match parse_listen(&spec.listen) {
        Ok((host, _)) => Some(host),
        Err(e) => {
            errors.push(format!("`--listen`: {e}"));
            None
        }
    };
    for key in &spec.log_keys {
        if let Err(e) = parse_log_key(key) {
            errors.push(format!("`--log-key`: {e}"));
        }
    }
    if spec.origin_prefix.is_empty() || spec.origin_prefix.chars().any(char::is_control) {
        errors.push("`--origin-prefix` must be non-empty text".to_owned());
    }
    let Some(host) = host.filter(|_| errors.is_empty()) else {
        return Err(InitError::Invalid(errors));
    };
    let paths = [CONFIG_FILE, KEY_FILE, CERT_FILE, TLS_KEY_FILE].map(|f| dir.join(f));
    for p in paths.iter().chain([&dir.join(STATE_FILE)]) {
        if p.exists() {
            return Err(InitError::Exists(p.clone()));
        }
    }

    let pk8 = audit::generate_signing_key().map_err(|e| InitError::Generate {
        what: "the cosigning key",
        why: e.to_string(),
    })?;
    let signer = NoteSigner::from_pkcs8(&spec.name, COSIGNATURE_V1, &pk8).map_err(|e| {
        InitError::Generate {
            what: "the cosigning key",
            why: e.to_string(),
        }
    })?;
    let vkey = signer.verifier().to_vkey();
    let (cert_pem, tls_key_pem) = self_signed(&spec.name, &host)?;

    let mut config = format!(
        "# credgate witness: cosigns the checkpoints of the logs below (C2SP tlog-witness).\n\
         # Its cosignature verifier key: {vkey}\n\
         name = {}\n\
         listen = {}\n\
         key = {}\n\
         cert = {}\n\
         tls_key = {}\n\
         state = {}\n",
        toml_str(&spec.name),
        toml_str(&spec.listen),
        toml_str(KEY_FILE),
        toml_str(CERT_FILE),
        toml_str(TLS_KEY_FILE),
        toml_str(STATE_FILE),
    );
    if spec.log_keys.is_empty() {
        config.push_str(&format!(
            "\n# The logs it witnesses (one table per log key):\n\
             # [[logs]]\n\
             # origin_prefix = {}\n\
             # key = \"credgate-audit+<key id>+<base64>\"\n",
            toml_str(&spec.origin_prefix)
        ));
    }
    for key in &spec.log_keys {
        config.push_str(&format!(
            "\n[[logs]]\norigin_prefix = {}\nkey = {}\n",
            toml_str(&spec.origin_prefix),
            toml_str(key)
        ));
    }

    std::fs::create_dir_all(dir).map_err(|source| InitError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let [config_path, key_path, cert_path, tls_key_path] = paths;
    // Keys first, the config last: a config only exists once its files do.
    write_new(&key_path, &pk8, true)?;
    write_new(&tls_key_path, tls_key_pem.as_bytes(), true)?;
    write_new(&cert_path, cert_pem.as_bytes(), false)?;
    write_new(&config_path, config.as_bytes(), false)?;
    Ok(Initialised {
        files: vec![config_path, key_path, cert_path, tls_key_path],
        vkey,
    })
}

/// A self-signed ECDSA P-256 certificate for `host`: (cert PEM, key PEM).
fn self_signed(name: &str, host: &ListenHost) -> Result<(String, String), InitError> {
    let generate = |e: rcgen::Error| InitError::Generate {
        what: "the tls certificate",
        why: e.to_string(),
    };
    let key = KeyPair::generate().map_err(generate)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("credgate witness {name}"));
    params.distinguished_name = dn;
    params.subject_alt_names = vec![match host {
        ListenHost::Ip(ip) => SanType::IpAddress(*ip),
        ListenHost::Dns(dns) => {
            SanType::DnsName(Ia5String::try_from(dns.as_str()).map_err(generate)?)
        }
    }];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(CERT_DAYS);
    let cert = params.self_signed(&key).map_err(generate)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Creates `path` (failing if it exists) and writes `bytes`; mode 0600 when `secret`.
fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), InitError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let write_err = |source| InitError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            InitError::Exists(path.to_path_buf())
        } else {
            write_err(e)
        }
    })?;
    file.write_all(bytes).map_err(write_err)?;
    file.sync_all().map_err(write_err)
}

#[cfg(test)]
mod tests;
