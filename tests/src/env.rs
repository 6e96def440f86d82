//! One end-to-end environment in a tempdir: dev PKI (via `certs::pki`),
//! officer certificates for the conformance officers, the conformance policy
//! and consent key, a scripted upstream, a `gateway.toml`, and helpers to
//! start the gateway in-process and read its inquiry log.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::client::{Client, Proto};
use crate::upstream::Upstream;

/// Officers of the conformance policy, plus one the policy does not know.
pub const OFFICERS: [(&str, &str, &str); 5] = [
    (
        "HN-AMR-0001",
        "Li Na",
        "Hunan Administration for Market Regulation",
    ),
    (
        "HN-AMR-0002",
        "Zhao Lei",
        "Hunan Administration for Market Regulation",
    ),
    (
        "CS-RATE-0007",
        "Chen Jing",
        "Xiangjiang Credit Rating Co., Ltd.",
    ),
    (
        "CMP-0001",
        "Sun Mei",
        "Hunan Development and Reform Commission, Credit Office",
    ),
    ("ZZ-NOBODY-9", "Nobody", "Nowhere"),
];

/// The default request headers of a market inspector.
pub const INSPECTOR_HEADERS: [(&str, &str); 2] = [
    ("Inquiry-Purpose", "administrative_inspection"),
    ("Inquiry-Case", "HN-2026-00123"),
];

/// A legal person the conformance cases use.
pub const LEGAL_PERSON: &str = "91430100MA4L0XXX1N";

/// A test environment.
pub struct Env {
    /// Owns the folder.
    pub tmp: tempfile::TempDir,
    /// PKI folder.
    pub pki: PathBuf,
    /// `gateway.toml`.
    pub config_path: PathBuf,
    /// `policy.toml` (a copy of the conformance policy, editable).
    pub policy_path: PathBuf,
    /// The scripted upstream.
    pub upstream: Upstream,
    /// `[audit] store` as written in the config.
    pub store: String,
}

impl Env {
    /// PKI, officer certs, policy, upstream and a config on the SQLite store.
    pub async fn new() -> Env {
        Self::with_store(None).await
    }

    /// As [`Env::new`], with `store` (e.g. a PostgreSQL URL) instead of SQLite.
    pub async fn with_store(store: Option<&str>) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let pki = tmp.path().join("pki");
        certs::pki::init(&pki).unwrap();
        let now = OffsetDateTime::now_utc() - time::Duration::hours(1);
        for (id, name, unit) in OFFICERS {
            let spec = certs::pki::OfficerSpec::for_days(id, name, unit, 30, now);
            certs::pki::issue(&pki, &spec, &pki.join(id)).unwrap();
        }
        let policy_path = tmp.path().join("policy.toml");
        std::fs::copy(crate::conformance("policy.toml"), &policy_path).unwrap();
        let upstream = Upstream::start().await;
        let store = store
            .map(str::to_string)
            .unwrap_or_else(|| "sqlite://audit/inquiries.db".to_string());
        let env = Env {
            config_path: tmp.path().join("gateway.toml"),
            tmp,
            pki,
            policy_path,
            upstream,
            store,
        };
        env.write_config("");
        env
    }

    /// Write `gateway.toml` (listeners on 127.0.0.1:0); `server_extra` is
    /// appended to `[server]`.
    pub fn write_config(&self, server_extra: &str) {
        self.write_config_full(server_extra, &self.upstream.url(), "");
    }

    /// Write `gateway.toml` with an explicit upstream URL and extra
    /// `[upstream]` lines (e.g. `ca`, `cert`, `key`).
    pub fn write_config_full(&self, server_extra: &str, upstream_url: &str, upstream_extra: &str) {
        let text = format!(
            r#"[server]
listen = "127.0.0.1:0"
cert = "pki/server.pem"
key = "pki/server.key"
client_ca = "pki/ca.pem"
crl = ["pki/ca.crl"]
{server_extra}

[identity]
officer_id = "subject.serialNumber"
name = "subject.CN"
unit = "subject.O"

[admin]
listen = "127.0.0.1:0"

[upstream]
url = "{upstream_url}"
timeout_ms = 2000
{upstream_extra}

[audit]
store = "{}"
signing_key = "pki/audit-signing.pk8"
checkpoint_every = 10

[consent]
authority_key = "{}"
max_days = 365

[policy]
file = "policy.toml"
"#,
            self.store,
            crate::conformance("keys/consent-authority.pub").display()
        );
        std::fs::write(&self.config_path, text).unwrap();
    }

    /// The loaded config.
    pub fn config(&self) -> gateway::config::Config {
        gateway::config::Config::load(&self.config_path).unwrap()
    }

    /// Start the gateway in this process.
    pub async fn start(&self) -> gateway::server::Running {
        gateway::server::start(self.config()).await.unwrap()
    }

    /// Start the gateway in this process with `clock` as its "now".
    pub async fn start_with_clock(
        &self,
        clock: gateway::server::Clock,
    ) -> gateway::server::Running {
        gateway::server::start_with_clock(self.config(), clock)
            .await
            .unwrap()
    }

    /// Cert and key of an officer issued in [`Env::new`].
    pub fn officer(&self, id: &str) -> (PathBuf, PathBuf) {
        (
            self.pki.join(format!("{id}.pem")),
            self.pki.join(format!("{id}.key")),
        )
    }

    /// A client presenting `officer`'s certificate (or none).
    pub fn client(&self, officer: Option<&str>, proto: Proto) -> Client {
        let ca = self.pki.join(certs::pki::CA_CERT);
        match officer {
            None => Client::new(&ca, None, proto),
            Some(id) => {
                let (c, k) = self.officer(id);
                Client::new(&ca, Some((&c, &k)), proto)
            }
        }
    }

    /// A client with explicit cert and key files.
    pub fn client_with(&self, cert: &Path, key: &Path, proto: Proto) -> Client {
        Client::new(
            &self.pki.join(certs::pki::CA_CERT),
            Some((cert, key)),
            proto,
        )
    }

    /// The store URL the gateway uses.
    pub fn store_url(&self) -> String {
        self.config().audit_store_url
    }

    /// The SQLite file of the store (panics for PostgreSQL).
    pub fn sqlite_file(&self) -> PathBuf {
        PathBuf::from(self.store_url().strip_prefix("sqlite://").unwrap())
    }

    /// The raw Ed25519 public key of the audit signing key (what
    /// `audit::Reader::verify` checks checkpoints with).
    pub fn audit_public_key(&self) -> Vec<u8> {
        use ring::signature::KeyPair;
        let key = std::fs::read(self.pki.join("audit-signing.pk8")).unwrap();
        ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&key)
            .unwrap()
            .public_key()
            .as_ref()
            .to_vec()
    }

    /// Every entry in the inquiry log.
    pub async fn entries(&self) -> Vec<audit::Entry> {
        let reader = audit::Reader::connect(&self.store_url()).await.unwrap();
        reader.query(&audit::Filter::default()).await.unwrap()
    }

    /// The entry with this inquiry id.
    pub async fn entry(&self, inquiry_id: &str) -> audit::NewEntry {
        self.entries()
            .await
            .into_iter()
            .find(|e| e.entry.inquiry_id == inquiry_id)
            .unwrap_or_else(|| panic!("no log entry for inquiry {inquiry_id}"))
            .entry
    }

    /// Rewrite the policy file (the gateway notices within ~1 s).
    pub fn write_policy(&self, text: &str) {
        std::fs::write(&self.policy_path, text).unwrap();
    }

    /// The conformance policy text.
    pub fn conformance_policy() -> String {
        std::fs::read_to_string(crate::conformance("policy.toml")).unwrap()
    }
}

/// Wait until `f` returns true (polling every 100 ms), up to `secs`.
pub async fn eventually<F, Fut>(secs: u64, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

/// Convenience: the data-plane address of a running gateway.
pub fn data(running: &gateway::server::Running) -> SocketAddr {
    running.data_addr()
}

/// Convenience: the admin-plane address of a running gateway.
pub fn admin(running: &gateway::server::Running) -> SocketAddr {
    running.admin_addr().unwrap()
}

impl Env {
    /// Sends one conformance case to the gateway at `data`, scripting the
    /// upstream with the case's answer first.
    pub async fn send_case(
        &self,
        data: SocketAddr,
        case: &serde_json::Value,
    ) -> crate::client::Resp {
        let req = &case["request"];
        let path = req["path"].as_str().unwrap();
        if let Some(up) = case["upstream"].as_object() {
            let body = match up.get("raw") {
                Some(raw) => raw.as_str().unwrap().as_bytes().to_vec(),
                None => serde_json::to_vec(&up["body"]).unwrap(),
            };
            let route = path.split('?').next().unwrap();
            let status = up["status"].as_u64().unwrap() as u16;
            self.upstream
                .raw(route, status, body, std::time::Duration::ZERO);
        }
        let headers: Vec<(&str, &str)> = req["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        let client = self.client(Some(case["officer"].as_str().unwrap()), Proto::Http1);
        client
            .request(req["method"].as_str().unwrap(), data, path, &headers)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", case["name"]))
    }
}

/// A fresh schema on the test PostgreSQL (`CREDGATE_TEST_POSTGRES_URL`), so
/// a test never mixes with other users of the database.
pub struct PgSchema {
    /// The store URL with the schema as its search path.
    pub url: String,
    base: String,
    schema: String,
}

impl PgSchema {
    /// A new schema named after `label`, or None (with a notice) when the
    /// URL is unset outside CI; in CI a missing URL fails the test.
    pub async fn create(label: &str) -> Option<PgSchema> {
        let Ok(base) = std::env::var("CREDGATE_TEST_POSTGRES_URL") else {
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but CREDGATE_TEST_POSTGRES_URL is missing");
            }
            eprintln!(
                "notice: CREDGATE_TEST_POSTGRES_URL not set; PostgreSQL test `{label}` not run"
            );
            return None;
        };
        use sqlx::Connection;
        let schema = format!(
            "credgate_{label}_{}_{}",
            std::process::id(),
            OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000_000
        );
        let mut pg = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut pg)
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        // The application name marks this test's sessions, so a test that
        // ends sessions (a PostgreSQL restart, simulated) ends only its own
        // and not those of tests running beside it in the same database.
        let url = format!("{base}{sep}options=-csearch_path%3D{schema}&application_name={schema}");
        Some(PgSchema { url, base, schema })
    }

    /// Ends every PostgreSQL session opened with this schema's URL, as a
    /// server restart would, and leaves other tests' sessions alone.
    /// Returns how many sessions were ended.
    pub async fn terminate_sessions(&self) -> i64 {
        use sqlx::Connection;
        let mut pg = sqlx::PgConnection::connect(&self.base).await.unwrap();
        let ended: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND pid <> pg_backend_pid()) AS ended",
        )
        .bind(&self.schema)
        .fetch_one(&mut pg)
        .await
        .unwrap();
        let _ = pg.close().await;
        ended
    }

    /// Drops the schema and everything in it.
    pub async fn drop_now(self) {
        use sqlx::Connection;
        let mut pg = sqlx::PgConnection::connect(&self.base).await.unwrap();
        sqlx::raw_sql(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .execute(&mut pg)
            .await
            .unwrap();
    }
}

impl Env {
    /// Appends `n` entries to the gateway's inquiry log directly (before
    /// the gateway is started): 256 appenders at once, so the writer's
    /// group commit writes them in big transactions. One chain, checkpoints
    /// every 1 000 entries. Returns the audit public key.
    pub async fn fill_log(&self, n: u64) -> Vec<u8> {
        fill_log_at(&self.config_path, n).await
    }
}

/// [`Env::fill_log`] for the gateway config at `config` (usable from
/// another process than the test's own).
pub async fn fill_log_at(config: &Path, n: u64) -> Vec<u8> {
    let mut cfg = gateway::config::Config::load(config)
        .unwrap()
        .audit_config()
        .unwrap();
    cfg.checkpoint_every = 1000;
    let log = audit::AuditLog::open(&cfg).await.unwrap();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..256 {
        let log = log.clone();
        let next = next.clone();
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                log.append(filler_entry(i)).await.unwrap();
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let key = log.public_key();
    log.shutdown().await.unwrap();
    key
}

/// A plausible data-plane entry, number `i`.
pub fn filler_entry(i: u64) -> audit::NewEntry {
    audit::NewEntry {
        time_ms: 1_780_000_000_000 + i as i64,
        inquiry_id: format!("fill-{i:012}"),
        plane: "data".into(),
        officer_id: "HN-AMR-0001".into(),
        officer_name: "Li Na".into(),
        unit: "Hunan Administration for Market Regulation".into(),
        cert_fingerprint: "ab".repeat(32),
        purpose: Some("administrative_inspection".into()),
        case: Some("HN-2026-00123".into()),
        consent_id: None,
        method: "GET".into(),
        path: format!("/v1/subjects/{LEGAL_PERSON}"),
        subject_id: Some(LEGAL_PERSON.into()),
        subject_type: Some("legal_person".into()),
        items_requested: vec!["basic".into()],
        decision: audit::Decision::Allow,
        reason: "ok".into(),
        rule: "role:market_inspector".into(),
        statutory_basis: None,
        status: 200,
        records_returned: 1,
        records_suppressed: Default::default(),
        removed_keys: vec![],
        masked_keys: vec!["phone".into()],
        objection_labeled: 0,
        upstream_status: Some(200),
        latency_ms: 3,
    }
}

/// This process's memory as `/proc/self/status` shows it, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rss {
    /// `VmRSS`: resident now.
    pub now: u64,
    /// `VmHWM`: the peak of `now`.
    pub peak: u64,
    /// `RssAnon`: the resident heap and stacks (what a process's own
    /// buffers cost).
    pub anon: u64,
    /// `RssFile`: resident file-backed pages (e.g. a memory-mapped SQLite
    /// file; the kernel's page cache, reclaimable).
    pub file: u64,
}

/// This process's memory now (see [`Rss`]).
pub fn rss_kib() -> Rss {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    Rss {
        now: field("VmRSS:"),
        peak: field("VmHWM:"),
        anon: field("RssAnon:"),
        file: field("RssFile:"),
    }
}

/// Resets this process's peak RSS (`VmHWM`) to its current RSS; false
/// where the kernel does not allow it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
