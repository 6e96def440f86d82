//! The `credgate` command line (clap). Each subcommand is a thin call into the
//! module that owns it; errors end as one line on stderr and a non-zero exit.
//!
//! The demo and the sample credit database are not the gateway's: their
//! subcommands come from another crate (`sample`) as an [`Extra`] the
//! binary names when it calls [`main`]; they are listed after `serve`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Writes `args` and a line feed to standard output ([`outln!`]).
pub fn out_line(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)?;
    out.write_all(b"\n")
}

/// Result of a subcommand: an exit code, or an error printed as one line.
pub type CmdResult = Result<ExitCode, Box<dyn std::error::Error + Send + Sync>>;

/// Subcommands another crate adds to `credgate` (the `sample` crate's
/// `demo` and `sample-db`): parsed with the gateway's own, run with the
/// same error format and exit codes.
pub trait Extra: Subcommand + std::fmt::Debug {
    /// Run the subcommand.
    fn run(self, log: LogFormat) -> CmdResult;
}

/// The `--help` text's first line, as the binary has always printed it.
const ABOUT: &str = "credgate: the mTLS gateway binary, listeners, upstream client, CLI, demo and sample credit database";

/// credgate — privacy-preserving query gateway for social-credit information platforms.
#[derive(Debug, Parser)]
#[command(name = "credgate", version, about = ABOUT)]
pub struct Cli<X: Extra> {
    /// Process log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command<X>,
}

/// Process log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command<X: Extra> {
    /// Run the gateway (data plane + admin plane).
    Serve {
        /// gateway.toml
        #[arg(long)]
        config: PathBuf,
        /// Allow `[server] danger_fixed_clock` (tests only): without this
        /// flag a config that sets it is refused.
        #[arg(long)]
        danger_fixed_clock: bool,
    },
    /// The subcommands of another crate (the demo and the sample database).
    #[command(flatten)]
    Extra(X),
    /// Development PKI.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Consent tokens (a dev tool standing in for the platform's consent service).
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Check and explain the policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Verify, search and export the inquiry log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// An independent witness that cosigns consistent log checkpoints (C2SP tlog-witness).
    #[command(subcommand)]
    Witness(WitnessCommand),
}

/// `credgate witness ...`
#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Create a witness: witness.toml, cosigning key, self-signed TLS certificate;
    /// prints the witness's verifier key as the last line.
    Init {
        /// Folder for the witness's files (must not hold a witness yet).
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on, `host:port`; the host goes into the certificate.
        #[arg(long)]
        listen: String,
        /// Key name of the cosigning key, e.g. `witness.example/w1`.
        #[arg(long)]
        name: String,
        /// Verifier key of a log to witness (signed-note vkey, type 0x01); repeatable.
        #[arg(long)]
        log_key: Vec<String>,
        /// Origin prefix of the logs given with `--log-key`.
        #[arg(long, default_value = "credgate.local/")]
        origin_prefix: String,
    },
    /// Run the witness until SIGTERM / Ctrl-C.
    Serve {
        /// witness.toml
        #[arg(long)]
        config: PathBuf,
    },
}

/// `credgate certs ...`
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Dev PKI: CA, server cert, audit signing key, consent-authority key, empty CRL.
    Init {
        /// PKI folder.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Client cert + key (PEM and PKCS#12) for one officer.
    Issue {
        /// PKI folder.
        #[arg(long)]
        dir: PathBuf,
        /// Officer id (subject serialNumber).
        #[arg(long)]
        officer_id: String,
        /// Officer name (subject CN).
        #[arg(long)]
        name: String,
        /// Unit (subject O).
        #[arg(long)]
        unit: String,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Output prefix: writes PREFIX.pem, PREFIX.key, PREFIX.p12.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add a certificate to the CRL the gateway reads.
    Revoke {
        /// PKI folder.
        #[arg(long)]
        dir: PathBuf,
        /// Certificate (PEM) to revoke.
        #[arg(long)]
        cert: PathBuf,
    },
    /// The CRL itself.
    #[command(subcommand)]
    Crl(CrlCommand),
}

/// `credgate certs crl ...`
#[derive(Debug, Subcommand)]
pub enum CrlCommand {
    /// Re-sign the CRL with a new next_update (same revoked serials, CRL number + 1).
    Refresh {
        /// PKI folder.
        #[arg(long)]
        dir: PathBuf,
        /// Days until the new next_update (1 to 3650).
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
}

/// `credgate consent ...`
#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Print a signed consent token.
    Issue {
        /// PKI folder holding consent-authority.pk8.
        #[arg(long)]
        dir: PathBuf,
        /// Subject identifier the consent is about.
        #[arg(long)]
        subject: String,
        /// Officer id the consent is granted to.
        #[arg(long)]
        grantee: String,
        /// Items, comma-separated.
        #[arg(long, value_delimiter = ',')]
        items: Vec<String>,
        /// Consent-required fields, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "")]
        fields: Vec<String>,
        /// Days until the token expires.
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
}

/// `credgate policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate config + policy; print every error with file:line.
    Check {
        /// gateway.toml
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the decision and the rule that made it, without sending anything.
    Explain {
        /// gateway.toml
        #[arg(long)]
        config: PathBuf,
        /// Officer id.
        #[arg(long)]
        officer: String,
        /// Purpose code.
        #[arg(long)]
        purpose: String,
        /// Request path (with query).
        #[arg(long)]
        path: String,
        /// Consent token.
        #[arg(long)]
        consent: Option<String>,
        /// Case number (defaults to `explain`).
        #[arg(long, default_value = "explain")]
        case: String,
    },
}

/// Output format of `audit query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns.
    Table,
    /// A JSON array.
    Json,
    /// CSV with a header row.
    Csv,
}

/// `credgate audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and check checkpoint signatures (exit 0 intact, 1 tampered, 2 could not run).
    Verify {
        /// gateway.toml
        #[arg(long, required_unless_present = "export")]
        config: Option<PathBuf>,
        /// An export file to verify offline.
        #[arg(long)]
        export: Option<PathBuf>,
        /// The trusted audit public key (64 hex characters) for `--export`
        /// without `--config`; `audit export` prints it. Without either,
        /// the export is checked against the keys pinned for this user by
        /// `serve` and the `audit` commands given `--config` (the file
        /// `$CREDGATE_TRUSTED_KEYS`, else
        /// `~/.local/state/credgate/trusted-audit-keys`).
        #[arg(long, requires = "export", conflicts_with = "config")]
        public_key: Option<String>,
        /// Also require witness NAME (`[[audit.witnesses]]`) to vouch for
        /// every chain: each checkpoint it cosigned must be consistent with
        /// the store, and every chain's latest checkpoint cosigned by it.
        #[arg(long, requires = "config", conflicts_with = "export")]
        require_witness: Vec<String>,
    },
    /// Print the audit key's signed-note verifier key (`name+id+base64`):
    /// what witnesses (`witness init --log-key`) and verifiers are given.
    Key {
        /// gateway.toml
        #[arg(long)]
        config: PathBuf,
    },
    /// Write the inclusion proof bundle of one inquiry (JSON), checkable
    /// offline with `audit verify-proof`.
    Prove {
        /// gateway.toml
        #[arg(long)]
        config: PathBuf,
        /// The inquiry id (the `Inquiry-Id` the gateway answered with).
        #[arg(long)]
        inquiry: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check an inclusion proof bundle offline (exit 0 valid, 1 invalid, 2
    /// could not run).
    VerifyProof {
        /// The bundle (from `audit prove`, `/audit/proof` or
        /// `subject-report --proofs`).
        file: PathBuf,
        /// gateway.toml (its audit signing key gives the trusted key).
        #[arg(long, required_unless_present = "public_key")]
        config: Option<PathBuf>,
        /// The trusted audit key: 64 hex characters, or its signed-note
        /// verifier key (`name+id+base64`).
        #[arg(long, conflicts_with = "config")]
        public_key: Option<String>,
        /// A witness's verifier key: its cosignature must be on the
        /// checkpoint and verify (repeatable).
        #[arg(long)]
        witness_key: Vec<String>,
    },
    /// Search the log.
    Query {
        /// gateway.toml
        #[arg(long)]
        config: PathBuf,
        /// Officer id.
        #[arg(long)]
        officer: Option<String>,
        /// Subject id.
        #[arg(long)]
        subject: Option<String>,
        /// From (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// To (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        /// allow or deny.
        #[arg(long)]
        decision: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// JSON Lines with chain fields and checkpoints, verifiable offline.
    Export {
        /// The log and the time range.
        #[command(flatten)]
        range: LogRange,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Every whole (UTC) month before `--before` as a verified bracketed
    /// export of its own in DIR, with SHA256SUMS (exit 0 all verified, 1 a
    /// month did not, 2 could not run). Deletes nothing.
    Archive {
        /// gateway.toml
        #[arg(long)]
        config: PathBuf,
        /// The first month NOT archived (YYYY-MM); at most the current one.
        #[arg(long, value_parser = crate::commands::archive::before_month)]
        before: crate::commands::archive::Month,
        /// The folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// The misuse alerts that fired, one line each.
    Alerts {
        /// The log and the time range.
        #[command(flatten)]
        range: LogRange,
        /// Only this alert rule (its name).
        #[arg(long)]
        rule: Option<String>,
    },
    /// Lift an officer's suspension by a misuse alert (logged, with the
    /// reason); running gateways notice it within about a second.
    Lift {
        /// gateway.toml
        #[arg(long)]
        config: PathBuf,
        /// The suspended officer's id.
        #[arg(long, value_parser = printable_text)]
        officer: String,
        /// Why the suspension is lifted (recorded in the log).
        #[arg(long, value_parser = printable_text)]
        reason: String,
    },
    /// Every inquiry about one subject: time, unit, purpose, decision.
    SubjectReport {
        /// gateway.toml
        #[arg(long)]
        config: PathBuf,
        /// Subject id.
        #[arg(long)]
        subject: String,
        /// Also write one inclusion proof bundle per inquiry into this
        /// folder (`<inquiry id>.json`), so the subject can check each line.
        #[arg(long)]
        proofs: Option<PathBuf>,
    },
}

/// `--config FILE [--from T] [--to T]`: a log and a time range in it
/// (`audit export`, `audit alerts`).
#[derive(Debug, Args)]
pub struct LogRange {
    /// gateway.toml
    #[arg(long)]
    pub config: PathBuf,
    /// From (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// To (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
}

/// Non-empty text without control characters (officer ids, reasons).
fn printable_text(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if text.chars().any(policy::inquiry::is_hidden_char) {
        return Err("must not contain control or invisible characters".into());
    }
    if text.len() > 256 {
        return Err("must be at most 256 bytes".into());
    }
    Ok(text.to_owned())
}

/// Parse the command line (the gateway's subcommands and `X`'s) and run it.
///
/// Errors follow one format (SPEC "Messages that say what is wrong"): each
/// on its own line as `credgate: error: …` (`file:line:col:` first where
/// there is a position), then `credgate: N error(s)` when there are several;
/// exit code 1 for invalid input (command line, config, policy, key files),
/// 2 when the command could not run (ports, stores, I/O).
pub fn main<X: Extra>() -> ExitCode {
    let cli = match Cli::<X>::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error::<X>(&e),
    };
    // `audit verify`, `verify-proof` and `archive` have exit codes of their
    // own (1 is "tampering found" / "invalid" / "a month did not verify"):
    // an error that stops them is "could not run", exit 2.
    let own_exit_codes = matches!(
        cli.command,
        Command::Audit(
            AuditCommand::Verify { .. }
                | AuditCommand::VerifyProof { .. }
                | AuditCommand::Archive { .. }
        )
    );
    let result = match cli.command {
        Command::Serve {
            config,
            danger_fixed_clock,
        } => crate::commands::serve::run(&config, danger_fixed_clock, cli.log_format),
        Command::Extra(cmd) => cmd.run(cli.log_format),
        Command::Certs(cmd) => crate::commands::certs::run(cmd),
        Command::Consent(cmd) => crate::commands::consent::run(cmd),
        Command::Policy(cmd) => crate::commands::policy::run(cmd),
        Command::Audit(cmd) => crate::commands::audit::run(cmd, cli.log_format),
        Command::Witness(cmd) => crate::commands::witness::run(cmd, cli.log_format),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            print_errors(&e.to_string());
            if !own_exit_codes && is_invalid_input(e.as_ref()) {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

/// A command line clap refused: `--help` and `--version` print and exit 0;
/// anything else is invalid input (exit 1), printed as ONE
/// `credgate: error: …` line: clap's details (the missing arguments, the
/// possible values, a tip) folded into it, its usage block left out, and
/// the `--help` of the subcommand that was given named instead.
fn usage_error<X: Extra>(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let root = <Cli<X> as clap::CommandFactory>::command();
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let (path, subcommands) = invoked(&root, &args);
    eprintln!("credgate: error: {}", usage_message(e, &path, &subcommands));
    // `audit verify` and `audit verify-proof` answer 1 for tampering or an
    // invalid proof: a command line they cannot run with is 2 there.
    // (`audit archive` keeps 1 for invalid input, e.g. a `--before` month
    // that is not over yet.)
    if [" audit verify", " audit verify-proof"]
        .iter()
        .any(|c| path.ends_with(c))
    {
        return ExitCode::from(2);
    }
    ExitCode::from(1)
}

/// The one-line message for a refused command line; `path` is the
/// subcommand given (`credgate witness init`), `subcommands` its own.
fn usage_message(e: &clap::Error, path: &str, subcommands: &[String]) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let see = format!("(see `{path} --help`)");
    match e.kind() {
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            if !subcommands.is_empty() =>
        {
            return format!(
                "missing subcommand: one of {} {see}",
                subcommands.join(", ")
            );
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            return format!("missing arguments {see}");
        }
        ErrorKind::MissingRequiredArgument => {
            if let Some(ContextValue::Strings(missing)) = e.get(ContextKind::InvalidArg) {
                if !missing.is_empty() {
                    return format!("missing required argument(s): {} {see}", missing.join(", "));
                }
            }
        }
        _ => {}
    }
    // Anything else: clap's first line, and the detail lines before its
    // usage block (possible values, tips), joined into one.
    let text = e.render().to_string();
    let mut parts: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() {
            continue;
        }
        parts.push(line.strip_prefix("error: ").unwrap_or(line).to_owned());
    }
    if parts.is_empty() {
        parts.push("invalid command line".to_owned());
    }
    format!("{} {see}", parts.join("; "))
}

/// The subcommand the command line names (`credgate audit query`, or just
/// `credgate`) and the names of that subcommand's own subcommands. Walks
/// the words that name subcommands, skipping options (and the value of an
/// option that takes one, e.g. `--log-format json`); stops at the first
/// word that names none.
fn invoked(root: &clap::Command, args: &[std::ffi::OsString]) -> (String, Vec<String>) {
    let mut cmd = root;
    let mut path = root.get_name().to_owned();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let Some(word) = word.to_str() else { break };
        if word == "--" {
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let takes_value = cmd
                .get_arguments()
                .chain(root.get_arguments())
                .any(|a| a.get_long() == Some(long) && a.get_action().takes_values());
            if takes_value {
                words.next();
            }
            continue;
        }
        if word.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(word) {
            Some(sub) => {
                path.push(' ');
                path.push_str(sub.get_name());
                cmd = sub;
            }
            None => break,
        }
    }
    let subcommands = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_owned())
        .collect();
    (path, subcommands)
}

/// Prints an error display, one `credgate: error:` line per line of it, and
/// a count when there are several.
pub fn print_errors(text: &str) {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    for line in &lines {
        eprintln!("credgate: error: {line}");
    }
    if lines.len() > 1 {
        eprintln!("credgate: {} error(s)", lines.len());
    }
}

/// An error that is the operator's input being wrong (exit 1): a command
/// wraps in it what it knows to be the input's fault, when the error's own
/// type cannot say (a PKI file that is not what it must be, a config that
/// is not valid). Shows as the wrapped error.
#[derive(Debug)]
pub struct InvalidInput(pub Box<dyn std::error::Error + Send + Sync>);

impl InvalidInput {
    /// Wrap an error (or a message) as the input's fault.
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        InvalidInput(e.into())
    }
}

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for InvalidInput {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Whether an error is the operator's input being wrong (arguments, config,
/// policy, key files) rather than the command failing to run (a file that
/// cannot be read, a store that is not there, a port, I/O).
fn is_invalid_input(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(err) = source {
        if err.downcast_ref::<InvalidInput>().is_some()
            || err.downcast_ref::<crate::audit_api::QueryError>().is_some()
            || err
                .downcast_ref::<crate::commands::certs::CertsCmdError>()
                .is_some()
        {
            return true;
        }
        if let Some(c) = err.downcast_ref::<crate::commands::consent::ConsentCmdError>() {
            return c.is_invalid_input();
        }
        if let Some(a) = err.downcast_ref::<crate::commands::audit::AuditCmdError>() {
            return a.is_invalid_input();
        }
        let config = err
            .downcast_ref::<crate::config::ConfigError>()
            .or_else(|| match err.downcast_ref::<crate::server::ServeError>() {
                Some(crate::server::ServeError::Config(c)) => Some(c),
                _ => None,
            });
        if let Some(c) = config {
            return !matches!(c, crate::config::ConfigError::Read { .. });
        }
        source = err.source();
    }
    false
}
