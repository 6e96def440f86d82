//! The crate's error type.
//!
//! Messages never carry an entry's content or a store password: only kinds,
//! sequence numbers and redacted store addresses.

/// Everything that can go wrong in the inquiry log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The store could not commit (or the writer is stopped): the gateway
    /// must answer 503 `audit_unavailable` and release no data.
    #[error("audit store unavailable: {0}")]
    Unavailable(String),
    /// The store URL is neither `sqlite://...` nor `postgres://...`, or is malformed.
    #[error("invalid audit store url `{0}`")]
    InvalidStoreUrl(String),
    /// The signing key is not an Ed25519 PKCS#8 document.
    #[error("audit signing key is not a valid ed25519 pkcs#8 key")]
    InvalidSigningKey,
    /// A public key given for verification is not 32 bytes.
    #[error("audit public key must be 32 raw ed25519 bytes, got {0}")]
    InvalidPublicKey(usize),
    /// A decision text other than `allow`, `deny`, `error`.
    #[error("unknown decision `{0}` (expected allow, deny or error)")]
    InvalidDecision(String),
    /// `Reader::connect` found no log at the given address.
    #[error("no inquiry log at `{0}`")]
    StoreMissing(String),
    /// The store's schema is newer than this build understands.
    #[error("inquiry log schema version {found} is newer than supported version {supported}")]
    SchemaTooNew {
        /// Version found in the store.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// Opening, migrating or reading the store failed.
    #[error("audit store error: {0}")]
    Store(String),
    /// A stored entry could not be decoded (its row was altered).
    #[error("stored entry chain `{chain_id}` seq {seq} is unreadable: {why}")]
    Corrupt {
        /// Chain of the bad row.
        chain_id: String,
        /// Sequence number of the bad row.
        seq: i64,
        /// What was wrong.
        why: String,
    },
    /// Writing an export failed.
    #[error("writing export failed: {0}")]
    Io(#[from] std::io::Error),
    /// An export file is not in the expected format.
    #[error("export line {line}: {why}")]
    ExportFormat {
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        why: String,
    },
    /// A thread parsing an export's lines failed (a bug, not the file's
    /// content).
    #[error("export parser failed")]
    ExportParser,
    /// An export was asked of a reader that has no signing key to seal it.
    #[error("an export needs the audit signing key to sign its end line")]
    ExportUnsigned,
    /// The export was made with another signing key than the one given.
    #[error("export was signed with another key than the one given")]
    KeyMismatch,
    /// A checkpoint kind other than `genesis`, `periodic`, `final`, `sealed`.
    #[error("unknown checkpoint kind `{0}`")]
    InvalidCheckpointKind(String),
    /// No such inquiry, or a range beyond the chain.
    #[error("{0}")]
    NotFound(String),
    /// The entry is not covered by a signed checkpoint yet.
    #[error("no signed checkpoint covers this entry yet")]
    ProofPending,
    /// The store holds a log in an older format this build does not verify.
    #[error("inquiry log schema version {found} is older than this build's {supported}: start `credgate serve` on it once to migrate it (version 2 is migrated: its chains are verified, their Merkle trees built and signed); older versions cannot be migrated")]
    SchemaTooOld {
        /// Version found in the store.
        found: i64,
        /// The version this build writes.
        supported: i64,
    },
}

impl AuditError {
    /// Whether it names something that does not exist (an inquiry id, a
    /// range beyond a chain): 404 on the admin plane.
    pub fn is_not_found(&self) -> bool {
        matches!(self, AuditError::NotFound(_))
    }

    /// True when the gateway must answer 503 `audit_unavailable`.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AuditError::Unavailable(_))
    }
}

/// Removes a password from a store URL so that it can appear in messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The query (libpq and sqlx take `?password=…` as well as userinfo).
    let (before_query, query) = match rest.find(['?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => before_query.split_at(i),
        None => (before_query, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{user}:***@{host}")
            } else {
                format!("{user}@{host}")
            }
        }
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{path}{}", redact_query(query))
}

/// `query` (with its leading `?`, or empty) with the value of every
/// parameter whose name speaks of a secret replaced by `***`.
fn redact_query(query: &str) -> String {
    let Some(params) = query.strip_prefix('?') else {
        return query.to_owned();
    };
    let (params, fragment) = match params.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (params, String::new()),
    };
    let redacted: Vec<String> = params
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("?{}{fragment}", redacted.join("&"))
}

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "passwd", "pwd", "secret", "token"]
        .iter()
        .any(|s| name.contains(s))
}

#[cfg(test)]
mod tests;
