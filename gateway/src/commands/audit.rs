//! `credgate audit verify | query | export | subject-report | alerts | lift`
//! (`archive` is in [`crate::commands::archive`]):
//! the compliance officer's view of the inquiry log from the command line.
//! `lift` is the one command that writes: a logged lift entry (plane
//! `alert`, reason `lift`) on a chain of its own, which running gateways
//! poll for.
//!
//! Each command reads `gateway.toml` for the store URL and the audit signing
//! key (the verify key is its Ed25519 public half), opens an `audit::Reader`
//! on a small current-thread tokio runtime and prints. `verify` exits 0
//! intact, 1 tampering found, 2 could not run (`verify-proof` likewise);
//! the others 0, 1 for invalid input (arguments, a config that is not
//! valid), 2 when they could not run (config unreadable, no store).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::audit_api::{build_filter, entry_json, format_ms, parse_subject};
use crate::cli::{AuditCommand, CmdResult, InvalidInput, LogFormat, LogRange, OutputFormat};
use crate::commands::policy::error_lines;
use crate::config::Config;

/// Why an audit command stopped: exit 2 (could not run), or 1 where
/// [`AuditCmdError::is_invalid_input`] says so (`verify`, `verify-proof`
/// and `archive` exit 2 on every error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditCmdError {
    /// The config could not be loaded (read).
    #[error("{0}")]
    Config(String),
    /// The config (or a key file it names) is not valid.
    #[error("{0}")]
    InvalidConfig(String),
    /// The signing key is not an Ed25519 PKCS#8 key.
    #[error("the audit signing key configured in `{0}` is not an Ed25519 PKCS#8 key")]
    SigningKey(PathBuf),
    /// A file could not be opened, written or renamed.
    #[error("cannot {action} `{path}`: {why}")]
    File {
        /// What was attempted.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        why: std::io::Error,
    },
    /// An export file was given without a trusted key to check it against.
    #[error("cannot verify `{file}` without a trusted key: pass `--config` or `--public-key` (the export's own header names {named}, which a forger could replace; no audit key is pinned on this machine for this user, see `credgate audit verify --help`)")]
    UntrustedExport {
        /// The export file.
        file: PathBuf,
        /// What the header names (hex key, or a note that it names none).
        named: String,
    },
    /// `--public-key` is not 64 hex characters.
    #[error("`--public-key` must be the 32-byte Ed25519 public key as 64 hex characters")]
    BadPublicKey,
    /// The tokio runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl AuditCmdError {
    /// Whether the operator's input is at fault (exit 1 for the commands
    /// without exit codes of their own): a config or key that is not
    /// valid, a `--public-key` that is not one.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            AuditCmdError::InvalidConfig(_)
                | AuditCmdError::SigningKey(_)
                | AuditCmdError::BadPublicKey
                | AuditCmdError::UntrustedExport { .. }
        )
    }
}

/// Run one `credgate audit` subcommand.
pub fn run(cmd: AuditCommand, _log: LogFormat) -> CmdResult {
    match cmd {
        AuditCommand::Verify {
            config,
            export,
            public_key,
            require_witness,
        } => verify(
            config.as_deref(),
            export.as_deref(),
            public_key.as_deref(),
            &require_witness,
        ),
        AuditCommand::Key { config } => {
            let (config, public_key) = load(&config)?;
            let key: [u8; 32] = public_key
                .as_slice()
                .try_into()
                .map_err(|_| AuditCmdError::BadPublicKey)?;
            let v = audit::note::Verifier::new(&config.audit_key_name, audit::note::ED25519, key)
                .map_err(|e| AuditCmdError::InvalidConfig(format!("[audit] key_name: {e}")))?;
            outln!("{}", v.to_vkey());
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Prove {
            config,
            inquiry,
            out,
        } => {
            let (config, _) = load(&config)?;
            let bundle = runtime()?
                .block_on(async {
                    let reader = audit::Reader::connect(&config.audit_store_url).await?;
                    proof_with_retry(&reader, &inquiry).await
                })
                .map_err(|e| match e {
                    // No such inquiry in the log: the `--inquiry` given is wrong.
                    e @ audit::AuditError::NotFound(_) => InvalidInput::new(e).into(),
                    e => Box::<dyn std::error::Error + Send + Sync>::from(e),
                })?;
            write_bundle(&out, &bundle)?;
            outln!(
                "credgate: wrote the inclusion proof of inquiry {inquiry} (entry {} of chain {}, tree size {}) to `{}`",
                bundle.entry.seq,
                bundle.chain_id,
                bundle.tree_size,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::VerifyProof {
            file,
            config,
            public_key,
            witness_key,
        } => verify_proof(
            &file,
            config.as_deref(),
            public_key.as_deref(),
            &witness_key,
        ),
        AuditCommand::Query {
            config,
            officer,
            subject,
            from,
            to,
            decision,
            format,
        } => {
            let filter = build_filter(
                officer.as_deref(),
                subject.as_deref(),
                from.as_deref(),
                to.as_deref(),
                decision.as_deref(),
            )?;
            let (config, _) = load(&config)?;
            let found = runtime()?.block_on(async {
                let reader = audit::Reader::connect(&config.audit_store_url).await?;
                reader.query(&filter).await
            })?;
            let mut out = std::io::stdout().lock();
            print_entries(&mut out, &found, format)?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export {
            range: LogRange { config, from, to },
            out,
        } => {
            let filter = build_filter(None, None, from.as_deref(), to.as_deref(), None)?;
            let (config, public_key) = load(&config)?;
            let written = export(&config, &filter, &out)?;
            outln!(
                "credgate: wrote {written} entries to `{}`; verify it offline with credgate audit verify --export {} --public-key {}",
                out.display(),
                out.display(),
                hex::encode(&public_key)
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Archive {
            config,
            before,
            out,
        } => {
            let (config, public_key) = load(&config)?;
            crate::commands::archive::run(&config, &public_key, before, &out)
        }
        AuditCommand::Alerts {
            range: LogRange { config, from, to },
            rule,
        } => {
            // The range is checked again by `query_alerts`; checked here
            // first so a bad `--from` is reported as such (exit 1) before
            // the store is looked for.
            build_filter(None, None, from.as_deref(), to.as_deref(), None)?;
            let (config, _) = load(&config)?;
            let found = runtime()?.block_on(async {
                let reader = audit::Reader::connect(&config.audit_store_url)
                    .await
                    .map_err(AlertsCmdError::Store)?;
                crate::audit_api::query_alerts(
                    &reader,
                    from.as_deref(),
                    to.as_deref(),
                    rule.as_deref(),
                )
                .await
                .map_err(AlertsCmdError::Query)?
                .map_err(AlertsCmdError::Store)
            })?;
            let mut out = std::io::stdout().lock();
            for a in &found {
                writeln!(out, "{}", alert_line(a))?;
            }
            if found.is_empty() {
                eprintln!("credgate: no alerts");
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Lift {
            config,
            officer,
            reason,
        } => {
            let (config, _) = load(&config)?;
            let audit_cfg = audit::AuditConfig {
                // Gateways may be writing their chains right now: sealing
                // theirs would turn their next entries into "tampering".
                seal_open_chains: false,
                ..config.audit_config().map_err(config_error)?
            };
            let rt = runtime()?;
            // A suspension whose time is over may still be lifted (that
            // restarts the officer's alert windows); the clock of the
            // gateways, not this machine's, decides whether it is in force.
            if rt.block_on(suspended_until(&config, &officer))?.is_none() {
                eprintln!(
                    "credgate: error: officer `{officer}` is not suspended by a misuse alert: nothing to lift (no lift written)"
                );
                return Ok(ExitCode::from(1));
            }
            let id = crate::server::journal::new_inquiry_id(&ring::rand::SystemRandom::new());
            let entry = lift_entry(&officer, &reason, id.clone());
            let warnings = rt.block_on(async {
                let log = audit::AuditLog::open(&audit_cfg).await?;
                let appended = log.append(entry).await;
                let closed = log.shutdown().await;
                appended?;
                closed?;
                // The lift's chain, like every chain, goes to the witnesses
                // (a gateway submits only its own): without this, `verify
                // --require-witness` failed on an honest log until the
                // next gateway start.
                Ok::<_, audit::AuditError>(witness_own_chain(&config, &log).await)
            })?;
            for w in &warnings {
                eprintln!("credgate: warning: {w}");
            }
            outln!(
                "credgate: lifted officer {officer} (logged as inquiry {id}); running gateways serve the officer again within about a second"
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::SubjectReport {
            config,
            subject,
            proofs,
        } => {
            let subject = parse_subject(&subject)?;
            let (config, _) = load(&config)?;
            let rt = runtime()?;
            let reader = rt.block_on(audit::Reader::connect(&config.audit_store_url))?;
            let found = rt.block_on(reader.subject_report(&subject))?;
            // Every proof first: a report is printed only when each of its
            // lines can be proved (or no proofs were asked for).
            let mut bundles = Vec::new();
            if proofs.is_some() {
                for e in &found {
                    let inquiry = &e.entry.inquiry_id;
                    let bundle = rt
                        .block_on(proof_with_retry(&reader, inquiry))
                        .map_err(|e| proof_error(inquiry, e))?;
                    bundles.push((bundle_file_name(inquiry), bundle));
                }
            }
            let mut out = std::io::stdout().lock();
            print_subject_report(&mut out, &subject, &found)?;
            if let Some(dir) = proofs {
                std::fs::create_dir_all(&dir).map_err(|why| AuditCmdError::File {
                    action: "create",
                    path: dir.clone(),
                    why,
                })?;
                for (name, bundle) in &bundles {
                    write_bundle(&dir.join(name), bundle)?;
                }
                writeln!(
                    out,
                    "{} inclusion proofs written to `{}`; check each with: credgate audit verify-proof FILE --public-key {}",
                    found.len(),
                    dir.display(),
                    hex::encode(load_public(&config)?)
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Why `audit alerts` could not list.
#[derive(Debug, thiserror::Error)]
enum AlertsCmdError {
    #[error(transparent)]
    Query(crate::audit_api::QueryError),
    #[error(transparent)]
    Store(audit::AuditError),
}

/// One line of `audit alerts`.
fn alert_line(a: &serde_json::Value) -> String {
    let s = |k: &str| a[k].as_str().unwrap_or("-").to_owned();
    if s("kind") == crate::audit_api::WITNESS_CONFLICT {
        // What the witness refused, which chain and sizes (an outside
        // probe: the line said none of it).
        return format!("{}  {}  {}", s("time"), s("kind"), s("message"));
    }
    let action = match a["suspended_until"].as_str() {
        Some(until) => format!("suspend until {until}"),
        None => "alert".to_owned(),
    };
    format!(
        "{}  {}  {}  officer={} subject={} count={} window={} inquiries={}..{} action={action}",
        s("time"),
        s("rule"),
        s("kind"),
        s("officer"),
        s("subject"),
        a["count"],
        s("window"),
        s("first_inquiry"),
        s("last_inquiry"),
    )
}

/// When the officer's latest suspension by a misuse alert ends (UTC ms), as
/// the log says: suspending alert entries after the last lift. `None` when
/// there is none.
async fn suspended_until(config: &Config, officer: &str) -> Result<Option<i64>, audit::AuditError> {
    let reader = audit::Reader::connect(&config.audit_store_url).await?;
    let entries = reader
        .query(&audit::Filter {
            officer: Some(officer.to_owned()),
            plane: Some("alert".into()),
            ..audit::Filter::default()
        })
        .await;
    reader.close().await;
    let mut until: Option<i64> = None;
    for e in entries? {
        match e.entry.reason.as_str() {
            "alert" => {
                let suspends = policy::alerts::AlertRecord::parse(&e.entry.rule)
                    .and_then(|r| r.suspend_until_ms);
                if let Some(u) = suspends {
                    until = Some(until.map_or(u, |t| t.max(u)));
                }
            }
            "lift" => until = None,
            _ => {}
        }
    }
    Ok(until)
}

/// Who ran a command that writes to the log (a lift), as the machine
/// knows them: the login name (`$USER`, `$LOGNAME`) and the process's user
/// id, read from the kernel (the variable alone is anybody's to set).
fn operator() -> String {
    let name = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()));
    let uid = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    };
    match (name, uid) {
        (Some(n), Some(u)) => format!("operator {n} (uid {u})"),
        (None, Some(u)) => format!("operator uid {u}"),
        (Some(n), None) => format!("operator {n}"),
        (None, None) => "operator unknown".into(),
    }
}

/// The logged lift of an officer's suspension.
/// Submits the latest checkpoint of the chain `log` wrote (from size 0: a
/// command's chain is new) to every witness of `config` and stores each
/// cosignature. What did not work is returned as warnings: the command's
/// entry is committed either way, and the next gateway start submits every
/// chain not yet cosigned.
async fn witness_own_chain(config: &Config, log: &audit::AuditLog) -> Vec<String> {
    let chain = log.chain_id().to_owned();
    let reader = log.reader();
    let mut warnings = Vec::new();
    if config.witnesses.is_empty() {
        return warnings;
    }
    let (size, note) = match reader.latest_checkpoint(&chain).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return vec![format!(
                "chain {chain} has no checkpoint to submit to the witnesses"
            )]
        }
        Err(e) => return vec![format!("cannot read chain {chain}'s checkpoint: {e}")],
    };
    let proof = match reader.consistency_proof(&chain, 0, size).await {
        Ok(p) => p,
        Err(e) => return vec![format!("no consistency proof for chain {chain}: {e}")],
    };
    for w in &config.witnesses {
        let later = "the next gateway start submits it";
        let client = match w.client() {
            Ok(c) => c,
            Err(e) => {
                warnings.push(format!("witness {}: {e}; {later}", w.name));
                continue;
            }
        };
        match client.add_checkpoint(0, &proof, &note).await {
            Ok(crate::witness::client::AddOutcome::Cosigned { line, .. }) => {
                if let Err(e) = log.add_cosignature(&chain, size, &w.name, &line).await {
                    warnings.push(format!(
                        "witness {} cosigned chain {chain}, but the cosignature was not stored: {e}",
                        w.name
                    ));
                }
            }
            Ok(crate::witness::client::AddOutcome::Conflict { size: theirs }) => {
                warnings.push(format!(
                    "witness {} did not cosign chain {chain}: it holds size {theirs} of it",
                    w.name
                ))
            }
            Ok(crate::witness::client::AddOutcome::Refused { status, .. }) => {
                warnings.push(format!(
                    "witness {} refused chain {chain}'s checkpoint (HTTP {status}); {later}",
                    w.name
                ))
            }
            Err(e) => warnings.push(format!(
                "witness {} did not cosign chain {chain}: {e}; {later}",
                w.name
            )),
        }
    }
    warnings
}

fn lift_entry(officer: &str, reason: &str, inquiry_id: String) -> audit::NewEntry {
    use crate::server::journal::clean;
    let time_ms = i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX);
    audit::NewEntry {
        officer_id: clean(officer),
        officer_name: "credgate audit lift".into(),
        unit: clean(&operator()),
        method: "LIFT".into(),
        path: "/alerts/lift".into(),
        rule: clean(&policy::alerts::lift_text(officer, reason)),
        ..crate::server::journal::own_entry(
            time_ms,
            inquiry_id,
            "alert",
            audit::Decision::Allow,
            "lift",
            200,
        )
    }
}

/// Load the config and derive the audit public key from its signing key.
fn load(path: &Path) -> Result<(Config, Vec<u8>), AuditCmdError> {
    let config = Config::load(path).map_err(config_error)?;
    let audit = config.audit_config().map_err(config_error)?;
    let pair =
        ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&audit.signing_key_pkcs8)
            .map_err(|_| AuditCmdError::SigningKey(path.to_path_buf()))?;
    let public = ring::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec();
    // So that `audit verify --export` on this machine knows the key.
    crate::trusted_keys::pin_quietly(&public, path);
    Ok((config, public))
}

/// A config error, a line per problem: a config file that cannot be read is a
/// command that could not run; anything else is the config not valid.
fn config_error(e: crate::config::ConfigError) -> AuditCmdError {
    let text = error_lines(&e.to_string());
    match e {
        crate::config::ConfigError::Read { .. } => AuditCmdError::Config(text),
        _ => AuditCmdError::InvalidConfig(text),
    }
}

/// The audit public key of a loaded config.
fn load_public(config: &Config) -> Result<Vec<u8>, AuditCmdError> {
    load(&config.path).map(|(_, k)| k)
}

/// An inclusion proof, waiting once (a checkpoint comes at least every
/// `checkpoint_interval_ms`) when the entry is not covered yet.
async fn proof_with_retry(
    reader: &audit::Reader,
    inquiry: &str,
) -> Result<audit::reader::ProofBundle, audit::AuditError> {
    for _ in 0..3 {
        match reader.inclusion_proof(inquiry).await {
            Err(audit::AuditError::ProofPending) => {
                tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            }
            other => return other,
        }
    }
    reader.inclusion_proof(inquiry).await
}

/// Why an inquiry of a subject report could not be proved, saying what to
/// do: a chain no checkpoint covers yet is sealed by the next gateway that
/// opens the store; a stored entry that does not reproduce its signed root
/// is the log not verifying.
fn proof_error(inquiry: &str, e: audit::AuditError) -> Box<dyn std::error::Error + Send + Sync> {
    match e {
        audit::AuditError::ProofPending => format!(
            "inquiry {inquiry}: no signed checkpoint covers it yet (its gateway stopped before signing one): start `credgate serve` on this store, which seals the chain, then run this again"
        )
        .into(),
        audit::AuditError::Corrupt { .. } => format!(
            "inquiry {inquiry}: tampering found, no report printed: {e} (run `credgate audit verify` for the whole log)"
        )
        .into(),
        other => other.into(),
    }
}

/// A file name for an inquiry's bundle: the id with anything but letters,
/// digits, `-` and `_` replaced.
fn bundle_file_name(inquiry: &str) -> String {
    let safe: String = inquiry
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.json")
}

/// Writes a proof bundle as pretty JSON.
fn write_bundle(path: &Path, bundle: &audit::reader::ProofBundle) -> Result<(), AuditCmdError> {
    let text = serde_json::to_string_pretty(bundle).unwrap_or_default();
    std::fs::write(path, text + "\n").map_err(|why| AuditCmdError::File {
        action: "write",
        path: path.to_path_buf(),
        why,
    })
}

/// `audit verify-proof`: exit 0 valid, 1 invalid, 2 could not run.
fn verify_proof(
    file: &Path,
    config: Option<&Path>,
    public_key: Option<&str>,
    witness_keys: &[String],
) -> CmdResult {
    let key = match (config, public_key) {
        (Some(c), _) => audit::tree_head::LogKey::raw(&load(c)?.1)?,
        (None, Some(k)) if k.contains('+') => audit::tree_head::LogKey::from_vkey(k.trim())?,
        (None, Some(k)) => match hex::decode(k.trim()) {
            Ok(raw) if raw.len() == 32 => audit::tree_head::LogKey::raw(&raw)?,
            _ => return Err(AuditCmdError::BadPublicKey.into()),
        },
        (None, None) => return Err("give `--config FILE` or `--public-key KEY`".into()),
    };
    let mut witnesses = Vec::new();
    for w in witness_keys {
        let v = audit::note::Verifier::parse(w.trim())
            .map_err(|e| format!("`--witness-key {w}`: {e}"))?;
        // The log's own key (type 0x01) would "verify" the checkpoint's
        // own signature line and report a cosignature nobody made.
        if v.kind != audit::note::COSIGNATURE_V1 {
            return Err(format!(
                "`--witness-key {w}`: not a witness key (a cosignature/v1 key, type 0x04, \
                 as `credgate witness init` prints it)"
            )
            .into());
        }
        witnesses.push(v);
    }
    let text = std::fs::read_to_string(file).map_err(|why| AuditCmdError::File {
        action: "read",
        path: file.to_path_buf(),
        why,
    })?;
    match audit::reader::verify_bundle(&text, &key, &witnesses) {
        Ok(r) => {
            let by = if r.witnesses.is_empty() {
                String::new()
            } else {
                format!(", cosigned by {}", r.witnesses.join(", "))
            };
            outln!(
                "valid: entry {} is in the tree of {} entries of `{}`, signed by the audit key{by}",
                r.seq,
                r.tree_size,
                r.origin
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            outln!("invalid: {why}");
            Ok(ExitCode::from(1))
        }
    }
}

/// A current-thread runtime for the reader's async calls.
fn runtime() -> Result<tokio::runtime::Runtime, AuditCmdError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AuditCmdError::Runtime)
}

/// `audit verify`: the store (with `--config`) or an export file, which is
/// checked only against a trusted key (`--config`, `--public-key`, or with
/// neither the key its header names if this user pinned it,
/// [`crate::trusted_keys`]), never against an unpinned header key.
fn verify(
    config: Option<&Path>,
    export: Option<&Path>,
    public_key: Option<&str>,
    require_witness: &[String],
) -> CmdResult {
    let mut vouched_by: Option<String> = None;
    let mut selection: Option<String> = None;
    let report = match (config, export) {
        (config, Some(file)) => {
            let public_key = match (config, public_key) {
                (Some(c), _) => load(c)?.1,
                // The signed-note verifier key (`name+hash+base64`, as
                // `verify-proof` takes it and `audit key` prints it) or hex.
                (None, Some(k)) if k.contains('+') => {
                    audit::tree_head::LogKey::from_vkey(k.trim())?
                        .public_key()
                        .to_vec()
                }
                (None, Some(hex_key)) => match hex::decode(hex_key.trim()) {
                    Ok(key) if key.len() == 32 => key,
                    _ => return Err(AuditCmdError::BadPublicKey.into()),
                },
                (None, None) => match trusted_header_key(file)? {
                    Pinned::Key(key, from) => {
                        // Said after the verdict: which trusted key vouched,
                        // and why it is trusted.
                        vouched_by = Some(format!(
                            "checked against the audit key {} pinned in this user's trusted keys ({})",
                            hex::encode(&key),
                            if from.is_empty() { "no origin noted" } else { from.as_str() }
                        ));
                        key
                    }
                    Pinned::Other { named, pins } => {
                        outln!(
                            "tampering found: `{}`: it is signed by key {named}, which is not one of the audit keys pinned in `{}`; if it is genuine, verify it with --public-key",
                            file.display(),
                            pins.display()
                        );
                        return Ok(ExitCode::from(1));
                    }
                    Pinned::Nothing { named } => {
                        return Err(AuditCmdError::UntrustedExport {
                            file: file.to_path_buf(),
                            named,
                        }
                        .into());
                    }
                },
            };
            let reader = BufReader::new(File::open(file).map_err(|why| AuditCmdError::File {
                action: "open",
                path: file.to_path_buf(),
                why,
            })?);
            match audit::verify_export_any_version(reader, &public_key) {
                Ok((report, facts)) if facts.sealed => {
                    // What the file is, as sealed with it: the whole log, or
                    // a selection that must not pass for it.
                    selection = facts.selection;
                    report
                }
                // A version 3 export (before exports were sealed): its
                // chains are checked, but nothing in it can show a cut at a
                // chain's boundary; this command cannot vouch for it whole.
                Ok((audit::VerifyReport::Intact { entries, chains, .. }, _)) => {
                    return Err(format!(
                        "`{}` is a version 3 export (made before exports were sealed): its {chains} chains and {entries} entries verify, but a file cut at a chain's boundary or missing a whole chain would too; compare its SHA-256 with the one recorded when it was made (an archive's SHA256SUMS), or export again from the store",
                        file.display()
                    )
                    .into())
                }
                Ok((report, _)) => report,
                // A file that does not read as an export made with this
                // key (cut mid-line, header gone or swapped, lines that are
                // not export lines) is a file that fails verification, not
                // a verifier that could not run.
                Err(e) if export_damaged(&e) => {
                    let why = match &e {
                        audit::AuditError::Io(_) => "not UTF-8 text".to_string(),
                        e => e.to_string(),
                    };
                    outln!("tampering found: `{}`: {why}", file.display());
                    return Ok(ExitCode::from(1));
                }
                // A file that cannot be read (a folder, an I/O error).
                Err(audit::AuditError::Io(why)) => {
                    return Err(AuditCmdError::File {
                        action: "read",
                        path: file.to_path_buf(),
                        why,
                    }
                    .into())
                }
                Err(e) => return Err(e.into()),
            }
        }
        (Some(c), None) => {
            let (config, public_key) = load(c)?;
            let rt = runtime()?;
            let reader = rt.block_on(audit::Reader::connect(&config.audit_store_url))?;
            let report = rt.block_on(reader.verify(&public_key))?;
            if report.is_intact() {
                for name in require_witness {
                    // A running gateway signs a checkpoint every second and
                    // has it cosigned off the request path: between reading
                    // the store and asking the witness, either may have
                    // moved on. A failure is therefore checked once more,
                    // after both had time to settle, with fresh reads.
                    let mut verdict =
                        rt.block_on(check_witness(&config, &reader, &public_key, name))?;
                    if verdict.is_err() {
                        std::thread::sleep(std::time::Duration::from_secs(3));
                        verdict =
                            rt.block_on(check_witness(&config, &reader, &public_key, name))?;
                    }
                    if let Err(why) = verdict {
                        outln!("not vouched for by witness {name}: {why}");
                        return Ok(ExitCode::from(1));
                    }
                    outln!("witness {name}: every chain's latest checkpoint is cosigned, and every checkpoint it cosigned is consistent with the store");
                }
            }
            report
        }
        // clap requires one of the two; nothing to verify otherwise.
        (None, None) => return Err("give `--config FILE` or `--export FILE`".into()),
    };
    match report {
        audit::VerifyReport::Intact {
            entries,
            checkpoints,
            chains,
            open_chains,
            unsigned_entries,
        } => {
            let open = if open_chains > 0 {
                format!(
                    "; {open_chains} open (no final checkpoint yet), {unsigned_entries} entries after their last checkpoint"
                )
            } else {
                String::new()
            };
            outln!(
                "intact: {entries} entries, {checkpoints} signed checkpoints, {chains} chains{open}"
            );
            if let Some(what) = selection {
                outln!("the export holds: {what} (as sealed with the file)");
            }
            if let Some(line) = vouched_by {
                outln!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        audit::VerifyReport::Tampered { chain_id, why, .. }
            if chain_id == audit::reader::WHOLE_FILE =>
        {
            let file = export.map(|f| f.display().to_string()).unwrap_or_default();
            outln!("tampering found: `{file}`: {why}");
            Ok(ExitCode::from(1))
        }
        audit::VerifyReport::Tampered {
            chain_id,
            first_bad_seq,
            why,
        } => {
            outln!(
                "tampering found: chain {chain_id}, first bad sequence number {first_bad_seq}: {why}"
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// Whether an export failed to verify because of what the file holds (a
/// line that is not an export line, a header gone or naming another key,
/// bytes that are not UTF-8): exit 1, tampering. A read that failed, or
/// the verifier's own failure, is not the file's fault (exit 2).
pub(super) fn export_damaged(e: &audit::AuditError) -> bool {
    match e {
        audit::AuditError::ExportFormat { .. } => true,
        audit::AuditError::KeyMismatch => true,
        audit::AuditError::Io(io) => io.kind() == std::io::ErrorKind::InvalidData,
        _ => false,
    }
}

/// `audit verify --require-witness NAME` (after an intact verify): asks
/// the witness for its latest view of every chain it holds for this log and
/// checks that the store holds a tree consistent with each, and that every
/// chain's latest checkpoint is cosigned by it. `Ok(Err(why))` is a
/// failed check (exit 1); `Err` could not run (exit 2).
async fn check_witness(
    config: &Config,
    reader: &audit::Reader,
    public_key: &[u8],
    name: &str,
) -> Result<Result<(), String>, Box<dyn std::error::Error + Send + Sync>> {
    use audit::tree_head::LogKey;
    let w = config
        .witnesses
        .iter()
        .find(|w| w.name == name)
        .ok_or_else(|| {
            format!(
                "no witness `{name}` in [[audit.witnesses]] of `{}`",
                config.path.display()
            )
        })?;
    let pem = std::fs::read(&w.ca).map_err(|why| AuditCmdError::File {
        action: "read",
        path: w.ca.clone(),
        why,
    })?;
    let client = crate::witness::client::WitnessClient::new(&w.name, &w.url, &w.key, &pem)?;
    let key = LogKey::raw(public_key)?;
    // The store's chains by origin, with their latest checkpoint.
    let mut ours: std::collections::BTreeMap<
        String,
        (String, audit::tree_head::Checkpoint, String),
    > = std::collections::BTreeMap::new();
    for chain in reader.chains().await? {
        let Some((_, note)) = reader.latest_checkpoint(&chain).await? else {
            return Ok(Err(format!("chain {chain} has no checkpoint")));
        };
        let cp = key.open(&note).map_err(|e| format!("chain {chain}: {e}"))?;
        ours.insert(cp.origin.clone(), (chain, cp, note));
    }
    // 1. Every checkpoint the witness cosigned for this log must be
    //    consistent with the store.
    for origin in client.origins().await? {
        let Some(text) = client.latest(&origin).await? else {
            continue;
        };
        let Ok(theirs) = key.open(&text) else {
            continue; // another log's origin, or not signed by this key
        };
        if !client.cosigned(&text, "") {
            return Ok(Err(format!(
                "its latest checkpoint of `{origin}` carries no valid cosignature of its own"
            )));
        }
        let Some((chain, mine, _)) = ours.get(&origin) else {
            return Ok(Err(format!(
                "it cosigned `{origin}` at size {}, but the store holds no such chain (deleted?)",
                theirs.size
            )));
        };
        if theirs.size > mine.size {
            return Ok(Err(format!(
                "it cosigned chain {chain} at size {}, but the store's chain is signed only to size {} (cut?)",
                theirs.size, mine.size
            )));
        }
        let proof = reader
            .consistency_proof(chain, theirs.size, mine.size)
            .await?;
        if !audit::merkle::verify_consistency(
            theirs.size,
            mine.size,
            &theirs.root,
            &mine.root,
            &proof,
        ) {
            return Ok(Err(format!(
                "the store's chain {chain} is not consistent with the checkpoint it cosigned at size {} (rewritten?)",
                theirs.size
            )));
        }
    }
    // 2. Every chain's latest checkpoint must carry its cosignature.
    for (origin, (chain, cp, note)) in &ours {
        let stored = client.cosigned(note, "");
        let at_witness = match client.latest(origin).await? {
            Some(text) => key
                .open(&text)
                .is_ok_and(|t| t.size == cp.size && t.root == cp.root),
            None => false,
        };
        if !stored && !at_witness {
            return Ok(Err(format!(
                "the latest checkpoint of chain {chain} (size {}) is not cosigned by it",
                cp.size
            )));
        }
    }
    Ok(Ok(()))
}

/// The public key named in an export's header line (shown, never trusted).
/// What `audit verify --export` without a key trusts: the key the export's
/// header names, only when this user pinned it ([`crate::trusted_keys`]).
enum Pinned {
    /// The header names a pinned key; what its pin line says of where it
    /// came from.
    Key(Vec<u8>, String),
    /// Keys are pinned, and the header names none of them (or no key).
    Other {
        /// What the header names.
        named: String,
        /// The pin file.
        pins: PathBuf,
    },
    /// Nothing is pinned here: no trusted key to check against.
    Nothing {
        /// What the header names.
        named: String,
    },
}

fn trusted_header_key(file: &Path) -> Result<Pinned, AuditCmdError> {
    let header = match export_header_key(file) {
        // An unreadable file could not be verified at all (exit 2).
        Err(e @ AuditCmdError::File { .. }) => return Err(e),
        Err(_) => None,
        Ok(key) => Some(key),
    };
    let named = header
        .as_ref()
        .map(|k| format!("`{}`", hex::encode(k)))
        .unwrap_or_else(|| "no key".to_string());
    let Some(pins) = crate::trusted_keys::path() else {
        return Ok(Pinned::Nothing { named });
    };
    let pinned = crate::trusted_keys::read_pins(&pins).map_err(|why| AuditCmdError::File {
        action: "trust",
        path: pins.clone(),
        why,
    })?;
    if pinned.is_empty() {
        return Ok(Pinned::Nothing { named });
    }
    match header {
        Some(key) => match pinned
            .into_iter()
            .find(|(k, _)| k.as_slice() == key.as_slice())
        {
            Some((_, from)) => Ok(Pinned::Key(key, from)),
            None => Ok(Pinned::Other { named, pins }),
        },
        None => Ok(Pinned::Other { named, pins }),
    }
}

fn export_header_key(file: &Path) -> Result<Vec<u8>, AuditCmdError> {
    use std::io::Read;
    // The header line only (bounded: a file without a newline is read no
    // further than a header could be long); bytes that are not UTF-8 are a
    // header that names no key, not a file that cannot be read.
    let mut first = Vec::new();
    File::open(file)
        .and_then(|f| BufReader::new(f.take(64 * 1024)).read_until(b'\n', &mut first))
        .map_err(|why| AuditCmdError::File {
            action: "read",
            path: file.to_path_buf(),
            why,
        })?;
    let first = String::from_utf8(first).map_err(|_| AuditCmdError::BadPublicKey)?;
    let bad = || AuditCmdError::BadPublicKey;
    let header: serde_json::Value = serde_json::from_str(&first).map_err(|_| bad())?;
    let hex_key = header
        .get("public_key")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(bad)?;
    match hex::decode(hex_key) {
        Ok(key) if key.len() == 32 => Ok(key),
        _ => Err(bad()),
    }
}

/// `audit export`: write to `OUT.partial`, then rename, so a failed export
/// never leaves a truncated file under the final name.
pub(super) fn export(
    config: &Config,
    filter: &audit::Filter,
    out: &Path,
) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    // The signing key seals the file's end line.
    let signing_key = config
        .audit_config()
        .map_err(config_error)?
        .signing_key_pkcs8;
    let mut partial = out.as_os_str().to_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = File::create(&partial).map_err(|why| AuditCmdError::File {
        action: "create",
        path: partial.clone(),
        why,
    })?;
    let mut writer = BufWriter::new(file);
    let result = runtime()?.block_on(async {
        let reader = audit::Reader::connect(&config.audit_store_url)
            .await?
            .with_signing_key(&signing_key)?;
        reader.export(filter, &mut writer).await
    });
    let written = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
    };
    let finish = writer
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all());
    if let Err(why) = finish {
        let _ = std::fs::remove_file(&partial);
        return Err(AuditCmdError::File {
            action: "write",
            path: partial,
            why,
        }
        .into());
    }
    std::fs::rename(&partial, out).map_err(|why| AuditCmdError::File {
        action: "rename into",
        path: out.to_path_buf(),
        why,
    })?;
    Ok(written)
}

/// Columns of `audit query --format table|csv`.
const QUERY_COLUMNS: [&str; 12] = [
    "time",
    "chain",
    "seq",
    "inquiry_id",
    "officer",
    "unit",
    "purpose",
    "case",
    "subject",
    "decision",
    "reason",
    "status",
];

/// The cells of one entry, in [`QUERY_COLUMNS`] order.
fn query_row(entry: &audit::Entry) -> Vec<String> {
    let e = &entry.entry;
    vec![
        format_ms(e.time_ms),
        entry.chain_id.clone(),
        entry.seq.to_string(),
        e.inquiry_id.clone(),
        e.officer_id.clone(),
        e.unit.clone(),
        e.purpose.clone().unwrap_or_default(),
        e.case.clone().unwrap_or_default(),
        e.subject_id.clone().unwrap_or_default(),
        e.decision.as_str().to_string(),
        e.reason.clone(),
        e.status.to_string(),
    ]
}

/// Print query results in the chosen format.
fn print_entries(
    out: &mut dyn Write,
    entries: &[audit::Entry],
    format: OutputFormat,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Json => {
            let list: Vec<serde_json::Value> = entries.iter().map(entry_json).collect();
            let text = serde_json::to_string_pretty(&list).map_err(std::io::Error::other)?;
            writeln!(out, "{text}")
        }
        OutputFormat::Csv => {
            writeln!(out, "{}", csv_line(QUERY_COLUMNS.iter().copied()))?;
            for entry in entries {
                let row = query_row(entry);
                writeln!(out, "{}", csv_line(row.iter().map(String::as_str)))?;
            }
            Ok(())
        }
        OutputFormat::Table => {
            // The chain id (32 hex digits) is in JSON and CSV; the table
            // stays readable without it.
            let keep = |i: &usize| QUERY_COLUMNS.get(*i) != Some(&"chain");
            let header: Vec<&str> = (0..QUERY_COLUMNS.len())
                .filter(keep)
                .filter_map(|i| QUERY_COLUMNS.get(i).copied())
                .collect();
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    query_row(e)
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| keep(i))
                        .map(|(_, c)| c)
                        .collect()
                })
                .collect();
            write_table(out, &header, &rows)?;
            writeln!(out, "({} entries)", entries.len())
        }
    }
}

/// `audit subject-report`: who looked this subject up, when, why, and the outcome.
fn print_subject_report(
    out: &mut dyn Write,
    subject: &str,
    entries: &[audit::Entry],
) -> std::io::Result<()> {
    writeln!(out, "inquiries about subject {subject}: {}", entries.len())?;
    if entries.is_empty() {
        return Ok(());
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|entry| {
            let e = &entry.entry;
            vec![
                format_ms(e.time_ms),
                e.unit.clone(),
                if e.officer_name.is_empty() {
                    e.officer_id.clone()
                } else {
                    format!("{} ({})", e.officer_name, e.officer_id)
                },
                e.purpose.clone().unwrap_or_default(),
                e.decision.as_str().to_string(),
            ]
        })
        .collect();
    write_table(
        out,
        &["time", "unit", "officer", "purpose", "decision"],
        &rows,
    )
}

/// Aligned columns (widths by character, so CJK text lines up approximately).
fn write_table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            if i + 1 < cells.len() {
                let pad = w.saturating_sub(cell.chars().count());
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        text
    };
    let upper: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
    writeln!(out, "{}", line(upper.iter().map(String::as_str).collect()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// One CSV record (RFC 4180 quoting). A cell that a spreadsheet would run
/// as a formula (`=`, `+`, `-`, `@`, tab, CR first — e.g. a client-chosen
/// `Inquiry-Case`) is prefixed with `'` so opening the export is safe.
fn csv_line<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    cells
        .map(|c| {
            let c = if c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{c}")
            } else {
                c.to_string()
            };
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests;
