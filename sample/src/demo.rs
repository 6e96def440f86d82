//! `credgate demo`: dev certs, sample credit database, gateway on SQLite,
//! ready-to-paste curl commands; runs until Ctrl-C.
//!
//! Layout of the demo folder (default `credgate-demo`, created if missing):
//!
//! | path | what | on a second run |
//! |---|---|---|
//! | `certs/` | dev PKI (`ca.pem`, `server.pem`, keys, `ca.crl`) | reused if `certs/ca.pem` exists |
//! | `certs/OFFICER.{pem,key,p12}` | client certs of `HN-AMR-0001`, `CS-RATE-0007`, `CMP-0001` | reused if present |
//! | `policy.toml` | the demo policy, officers valid from 30 days ago for a year | rewritten |
//! | `gateway.toml` | the gateway config with the ports actually used | rewritten |
//! | `sample-credit.db` | the seeded sample credit database | reused |
//! | `audit/inquiries.db` | the inquiry log (SQLite, WAL) | kept and appended to |
//!
//! Ports: data plane 8443, admin plane 9443 and sample database 8080 when
//! free, otherwise an ephemeral port on 127.0.0.1; the addresses actually
//! bound are printed. With the environment variable
//! `CREDGATE_DEMO_PORTS=auto` every port is ephemeral (for tests and
//! machines where the defaults are taken).
//!
//! Output on stdout: the addresses (and the compliance console's URL with
//! how to import the compliance officer's PKCS#12), then one example per block, each a
//! `# [tag] explanation` line followed by the command on one line. Tags, in
//! order: `allowed`, `refused`, `expired`, `consent`, `compliance`,
//! `verify`. Then `Press Ctrl-C to stop.` Process logs go to stderr.
//!
//! The demo owns no gateway logic: it writes files, then calls
//! [`gateway::config::Config::load`] and [`gateway::server::start`] exactly
//! as `credgate serve` does, and [`crate::db`] for the upstream.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use certs::pki::{self, OfficerSpec};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use gateway::cli::{CmdResult, LogFormat};
use gateway::config::{Config, ConfigError};
use gateway::server::ServeError;

use crate::db::{self as sample_db, SampleDbError};

/// Environment variable: `auto` makes every demo port ephemeral.
pub const PORTS_ENV: &str = "CREDGATE_DEMO_PORTS";

/// Natural and legal persons seeded into a new sample database.
const SAMPLE_SUBJECTS: u32 = 2000;

/// How long the sample database gets to finish after the gateway stopped.
const SAMPLE_DB_STOP: Duration = Duration::from_secs(10);

/// Why the demo could not start or stop cleanly. One line each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The demo folder could not be created or resolved.
    #[error("cannot use demo folder `{path}`: {source}")]
    Dir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Creating the dev PKI or an officer certificate failed.
    #[error("dev PKI: {0}")]
    Pki(#[from] pki::PkiError),
    /// A generated file could not be written.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The consent-authority key could not be read.
    #[error("cannot read consent-authority key `{path}`: {source}")]
    ConsentKey {
        /// The key file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The example consent token could not be signed.
    #[error("cannot sign the example consent token: {0}")]
    Consent(policy::consent::ConsentError),
    /// The sample database failed.
    #[error("sample database: {0}")]
    SampleDb(#[from] SampleDbError),
    /// The generated gateway config did not load.
    #[error("demo config: {}", first_line(.0))]
    Config(ConfigError),
    /// The gateway failed to start or stop.
    #[error("gateway: {}", first_line(.0))]
    Serve(ServeError),
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// First line of a possibly multi-line message (config diagnostics), with a
/// count of the rest, so every demo failure stays one line.
fn first_line(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().to_string();
    match lines.count() {
        0 => first,
        n => format!("{first} (and {n} more)"),
    }
}

/// The officers the demo issues certificates for and puts in its policy.
struct DemoOfficer {
    id: &'static str,
    name: &'static str,
    unit: &'static str,
    role: &'static str,
}

const OFFICERS: [DemoOfficer; 3] = [
    DemoOfficer {
        id: "HN-AMR-0001",
        name: "Li Na",
        unit: "Hunan Administration for Market Regulation",
        role: "market_inspector",
    },
    DemoOfficer {
        id: "CS-RATE-0007",
        name: "Chen Jing",
        unit: "Xiangjiang Credit Rating Co., Ltd.",
        role: "credit_rating_agency",
    },
    DemoOfficer {
        id: "CMP-0001",
        name: "Sun Mei",
        unit: "Hunan Development and Reform Commission, Credit Office",
        role: "auditor",
    },
];

/// Run the demo in `dir`.
pub fn run(dir: &Path, log: LogFormat) -> CmdResult {
    gateway::telemetry::init(log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(DemoError::Runtime)?;
    runtime.block_on(run_async(dir))?;
    Ok(ExitCode::SUCCESS)
}

/// Ports to ask for, per the defaults and [`PORTS_ENV`].
struct PortPlan {
    auto: bool,
}

impl PortPlan {
    fn from_env() -> Self {
        PortPlan {
            auto: std::env::var(PORTS_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("auto")),
        }
    }

    /// `127.0.0.1:preferred` if it can be bound right now, else `127.0.0.1:0`.
    fn gateway_addr(&self, preferred: u16) -> String {
        if !self.auto && std::net::TcpListener::bind(("127.0.0.1", preferred)).is_ok() {
            format!("127.0.0.1:{preferred}")
        } else {
            "127.0.0.1:0".to_string()
        }
    }

    /// A listener on `127.0.0.1:preferred`, or on an ephemeral port.
    async fn listener(&self, preferred: u16) -> Result<tokio::net::TcpListener, SampleDbError> {
        if !self.auto {
            if let Ok(l) = sample_db::bind(&format!("127.0.0.1:{preferred}")).await {
                return Ok(l);
            }
        }
        sample_db::bind("127.0.0.1:0").await
    }
}

async fn run_async(dir: &Path) -> Result<(), DemoError> {
    let dir_err = |source| DemoError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(dir_err)?;
    let dir = dir.canonicalize().map_err(dir_err)?;
    let certs_dir = dir.join("certs");
    let today = OffsetDateTime::now_utc();

    // 1. Dev PKI and officer certificates.
    if !certs_dir.join(pki::CA_CERT).exists() {
        pki::init(&certs_dir)?;
    }
    for officer in &OFFICERS {
        let prefix = certs_dir.join(officer.id);
        let files = ["pem", "key", "p12"].map(|ext| prefix.with_extension(ext));
        if !files.iter().all(|f| f.exists()) {
            let spec = OfficerSpec::for_days(
                officer.id,
                officer.name,
                officer.unit,
                365,
                today - time::Duration::minutes(5),
            );
            pki::issue(&certs_dir, &spec, &prefix)?;
        }
    }

    // 2. The upstream: sample credit database on its own listener.
    let ports = PortPlan::from_env();
    let pool = sample_db::open_or_seed(&dir.join("sample-credit.db"), SAMPLE_SUBJECTS).await?;
    let sample_listener = ports.listener(8080).await?;
    let sample_addr = sample_listener
        .local_addr()
        .map_err(|source| SampleDbError::Bind {
            addr: "127.0.0.1".into(),
            source,
        })?;
    let (stop_sample, sample_stopped) = tokio::sync::oneshot::channel::<()>();
    let sample_task = tokio::spawn(sample_db::serve(
        sample_listener,
        pool.clone(),
        async move {
            let _ = sample_stopped.await;
        },
    ));

    // 3. Policy and gateway config, then the gateway itself.
    write(&dir.join("policy.toml"), &policy_toml(today.date()))?;
    let config_path = dir.join("gateway.toml");
    write(
        &config_path,
        &gateway_toml(
            &ports.gateway_addr(8443),
            &ports.gateway_addr(9443),
            sample_addr,
        ),
    )?;
    let config = Config::load(&config_path).map_err(DemoError::Config)?;
    let running = gateway::server::start(config)
        .await
        .map_err(DemoError::Serve)?;

    // Signal handlers first: a SIGTERM right after the instructions appear
    // must still shut down cleanly (final checkpoint), not kill the process.
    let stop = gateway::commands::termination_signal();
    let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();

    // 4. Tell the user what to paste.
    let token = consent_token(&certs_dir, today)?;
    let admin = running.admin_addr().unwrap_or(running.data_addr());
    let text = instructions(&Instructions {
        dir: &dir,
        certs: &certs_dir,
        config: &config_path,
        data: running.data_addr(),
        admin,
        sample: sample_addr,
        token: &token,
        exe: current_exe(),
    });
    {
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the demo; the gateway keeps serving.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    // 5. Serve until Ctrl-C / SIGTERM; SIGHUP reloads like `credgate serve`.
    wait_for_stop(&running, stop, hup).await;
    tracing::info!("demo: shutting down (final checkpoint of the inquiry log)");
    let stopped = running.shutdown().await.map_err(DemoError::Serve);
    let _ = stop_sample.send(());
    match tokio::time::timeout(SAMPLE_DB_STOP, sample_task).await {
        Ok(Ok(result)) => result?,
        Ok(Err(join)) => tracing::warn!(error = %join, "demo: sample database task failed"),
        Err(_) => tracing::warn!("demo: sample database did not stop in time"),
    }
    pool.close().await;
    stopped?;
    eprintln!("credgate demo: stopped");
    Ok(())
}

/// Resolve on Ctrl-C or SIGTERM; reload policy and certs on SIGHUP.
async fn wait_for_stop(
    running: &gateway::server::Running,
    stop: impl std::future::Future<Output = ()>,
    hup: Option<tokio::signal::unix::Signal>,
) {
    let mut stop = std::pin::pin!(stop);
    let Some(mut hup) = hup else {
        stop.await;
        return;
    };
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading policy and tls material");
                // Errors are logged by reload; the previous versions keep serving.
                let _ = running.reload_async().await;
            }
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), DemoError> {
    std::fs::write(path, text).map_err(|source| DemoError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn current_exe() -> String {
    std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "credgate".to_string())
}

/// A consent token from the natural person in the sample database to
/// `CS-RATE-0007`, valid 30 days, signed with the demo's consent authority.
fn consent_token(certs_dir: &Path, now: OffsetDateTime) -> Result<String, DemoError> {
    let key_path = certs_dir.join(pki::CONSENT_KEY);
    let key = std::fs::read(&key_path).map_err(|source| DemoError::ConsentKey {
        path: key_path.clone(),
        source,
    })?;
    let not_after = (now + time::Duration::days(30))
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default();
    let payload = policy::consent::ConsentPayload {
        subject: sample_db::well_known().natural_person.to_string(),
        grantee: "CS-RATE-0007".to_string(),
        items: CONSENT_ITEMS.iter().map(|s| s.to_string()).collect(),
        fields: CONSENT_FIELDS.iter().map(|s| s.to_string()).collect(),
        not_after,
    };
    policy::consent::sign(&payload, &key).map_err(DemoError::Consent)
}

const CONSENT_ITEMS: [&str; 3] = ["basic", "commendation", "administrative_penalty"];
const CONSENT_FIELDS: [&str; 4] = ["income", "real_estate", "收入", "房产"];

/// The demo policy: the spec's catalogue and roles, the three demo officers
/// valid from 30 days before `today` for a year.
fn policy_toml(today: time::Date) -> String {
    let from = today.checked_sub(time::Duration::days(30)).unwrap_or(today);
    let until = today
        .checked_add(time::Duration::days(365))
        .unwrap_or(today);
    let mut text = format!(
        "# policy.toml written by `credgate demo` (rewritten on every run: edit a copy).\n{}",
        policy::SAMPLE_POLICY
    );
    for o in &OFFICERS {
        let _ = write!(
            text,
            "\n[[officers]]\nid = \"{}\"\nname = \"{}\"\nunit = \"{}\"\nroles = [\"{}\"]\nvalid_from = \"{from}\"\nvalid_until = \"{until}\"\n",
            o.id, o.name, o.unit, o.role
        );
    }
    text
}

/// The gateway config, in the spec's format, paths relative to the demo
/// folder: `demo/gateway.toml` with its `{data}`, `{admin}` and `{upstream}`
/// filled in.
fn gateway_toml(data: &str, admin: &str, upstream: SocketAddr) -> String {
    include_str!("demo/gateway.toml")
        .replace("{data}", data)
        .replace("{admin}", admin)
        .replace("{upstream}", &upstream.to_string())
}

/// What the printed instructions need.
struct Instructions<'a> {
    dir: &'a Path,
    certs: &'a Path,
    config: &'a Path,
    data: SocketAddr,
    admin: SocketAddr,
    sample: SocketAddr,
    token: &'a str,
    exe: String,
}

/// Quote `s` for a POSIX shell (single quotes unless it is plainly safe).
fn sh(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'_' | b'-' | b'.' | b'/' | b':' | b',' | b'@' | b'=' | b'+'
                )
        });
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `curl` with the demo CA and one officer's certificate and key.
fn curl(i: &Instructions<'_>, officer: &str) -> String {
    let path = |name: String| sh(&i.certs.join(name).display().to_string());
    format!(
        "curl -sS -i --cacert {} --cert {} --key {}",
        path(pki::CA_CERT.to_string()),
        path(format!("{officer}.pem")),
        path(format!("{officer}.key")),
    )
}

fn inquiry_headers(purpose: &str, case: &str) -> String {
    format!(
        "-H {} -H {}",
        sh(&format!("Inquiry-Purpose: {purpose}")),
        sh(&format!("Inquiry-Case: {case}"))
    )
}

/// The text printed once everything is up.
fn instructions(i: &Instructions<'_>) -> String {
    let wk = sample_db::well_known();
    let data = format!("https://{}", i.data);
    let admin = format!("https://{}", i.admin);
    let inspector = curl(i, "HN-AMR-0001");
    let inspection = inquiry_headers("administrative_inspection", "HN-2026-00123");
    let exe = sh(&i.exe);
    let mut t = String::new();
    let _ = writeln!(t, "credgate demo is running.");
    let _ = writeln!(t, "  data plane   {data}");
    let _ = writeln!(t, "  admin plane  {admin}");
    let _ = writeln!(
        t,
        "  sample db    http://{}   (the upstream: plain HTTP, unfiltered, loopback only)",
        i.sample
    );
    let _ = writeln!(t, "  files        {}", i.dir.display());
    let _ = writeln!(t, "  config       {}", i.config.display());
    let _ = writeln!(
        t,
        "  console      {admin}/console/   (compliance console in a browser: import {} \
         (PKCS#12, password `{}`) as your certificate and trust {} as an authority; \
         Chromium/Firefox: Settings > Privacy and security > Manage certificates)",
        i.certs.join("CMP-0001.p12").display(),
        certs::pki::P12_PASSWORD,
        i.certs.join("ca.pem").display(),
    );
    let _ = writeln!(t);
    // Li Na's inquiries: what she is shown, refused and told is expired.
    for (comment, path) in [
        (
            "# [allowed] Li Na (HN-AMR-0001, market inspector) reads a company's credit records: \
             expired and restored records are suppressed, religion and tax_paid removed, \
             id numbers and phones masked, the objection labelled:",
            format!("/v1/subjects/{}/records", wk.legal_person),
        ),
        (
            "# [refused] the same officer asks about a natural person: 403 subject_type_not_granted (the refusal is logged too):",
            format!("/v1/subjects/{}/records", wk.natural_person),
        ),
        (
            "# [expired] a penalty past its inquiry period, fetched directly: 451 inquiry_period_expired:",
            format!("/v1/records/{}", wk.expired_record),
        ),
    ] {
        let _ = writeln!(t, "{comment}");
        let _ = writeln!(
            t,
            "{inspector} {inspection} {}",
            sh(&format!("{data}{path}"))
        );
        let _ = writeln!(t);
    }
    let _ = writeln!(
        t,
        "# [consent] Chen Jing (CS-RATE-0007, credit rating agency) with the subject's signed consent \
         (items {}, fields {}; valid 30 days):",
        CONSENT_ITEMS.join(","),
        CONSENT_FIELDS.join(",")
    );
    let _ = writeln!(
        t,
        "{} {} -H {} {}",
        curl(i, "CS-RATE-0007"),
        inquiry_headers("credit_service", "LOAN-APP-7781"),
        sh(&format!("Subject-Consent: {}", i.token)),
        sh(&format!("{data}/v1/subjects/{}/records", wk.natural_person))
    );
    let _ = writeln!(
        t,
        "#   another token: {exe} consent issue --dir {} --subject {} --grantee CS-RATE-0007 --items {} --fields {} --days 30",
        sh(&i.certs.display().to_string()),
        wk.natural_person,
        CONSENT_ITEMS.join(","),
        CONSENT_FIELDS.join(",")
    );
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "# [compliance] Sun Mei (CMP-0001, compliance) reads the inquiry log about the company on the admin plane:"
    );
    let _ = writeln!(
        t,
        "{} {}",
        curl(i, "CMP-0001"),
        sh(&format!(
            "{admin}/audit/entries?subject={}",
            wk.legal_person
        ))
    );
    let _ = writeln!(t);
    let config = sh(&i.config.display().to_string());
    let _ = writeln!(
        t,
        "# [verify] rebuild every chain's Merkle tree and check it against the signed checkpoints and the chains' links:"
    );
    let _ = writeln!(t, "{exe} audit verify --config {config}");
    let _ = writeln!(t);
    let proofs = sh(&i.dir.join("proofs").display().to_string());
    let _ = writeln!(
        t,
        "# [prove] the company's right-to-know report with an inclusion proof per inquiry, each checked offline (after Ctrl-C, or a second later):"
    );
    let _ = writeln!(
        t,
        "{exe} audit subject-report --config {config} --subject {} --proofs {proofs} && for f in {proofs}/*.json; do {exe} audit verify-proof \"$f\" --config {config} || exit 1; done",
        wk.legal_person
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "Press Ctrl-C to stop.");
    t
}

#[cfg(test)]
mod tests;
