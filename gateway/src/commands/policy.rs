//! `credgate policy check | explain`: validate the configuration and policy,
//! and show what the policy would decide for one request without sending it.
//!
//! Exit codes: `check` 0 valid, 1 errors found (every one printed with
//! file:line), 2 the config file cannot be read at all; `explain` 0 allow,
//! 1 deny (including requests the gateway would refuse as malformed) or a
//! config or policy that is not valid, 2 the config cannot be read.

use std::path::Path;
use std::process::ExitCode;

use time::OffsetDateTime;

use crate::cli::{CmdResult, PolicyCommand};
use crate::config::{Config, ConfigError};

/// Run one `credgate policy` subcommand.
pub fn run(cmd: PolicyCommand) -> CmdResult {
    match cmd {
        PolicyCommand::Check { config } => check(&config),
        PolicyCommand::Explain {
            config,
            officer,
            purpose,
            path,
            consent,
            case,
        } => explain(
            &config,
            &officer,
            &purpose,
            &path,
            consent.as_deref(),
            &case,
        ),
    }
}

/// Could `credgate policy ...` not even start?
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyCmdError {
    /// The config file is missing or unreadable.
    #[error("cannot read config `{path}`: {why}")]
    Unreadable {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        why: std::io::Error,
    },
}

/// `policy check`: print a summary, or every error.
fn check(path: &Path) -> CmdResult {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(ConfigError::Read { source, .. }) => {
            return Err(PolicyCmdError::Unreadable {
                path: path.to_path_buf(),
                why: source,
            }
            .into());
        }
        Err(errors) => {
            let mut text = errors.to_string();
            append_policy_errors(&mut text, fallback_policy_errors(path, None));
            crate::cli::print_errors(&text);
            return Ok(ExitCode::from(1));
        }
    };
    match config.load_policy() {
        Ok(policy) => {
            outln!(
                "credgate: `{}` is valid: {} officers, {} roles, {} items",
                path.display(),
                policy.officer_count(),
                policy.roles().count(),
                policy.rules().items.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(ConfigError::Policy(errors)) => {
            crate::cli::print_errors(&errors.to_string());
            Ok(ExitCode::from(1))
        }
        Err(other) => {
            // The policy settings (the consent key) failed: still check the
            // policy file itself, so one run shows every error.
            let mut text = other.to_string();
            append_policy_errors(
                &mut text,
                fallback_policy_errors(path, Some(&config.policy_file)),
            );
            crate::cli::print_errors(&text);
            Ok(ExitCode::from(1))
        }
    }
}

/// Add a policy's diagnostics (if any) to an error text, one per line.
fn append_policy_errors(text: &mut String, errors: Option<policy::PolicyErrors>) {
    if let Some(errors) = errors {
        text.push('\n');
        text.push_str(&errors.to_string());
    }
}

/// When the config itself is broken, validate the policy file it names
/// anyway (found via `[policy] file`, resolved against the config's folder)
/// under default settings. `None` if the policy cannot be located or is valid.
fn fallback_policy_errors(config: &Path, known: Option<&Path>) -> Option<policy::PolicyErrors> {
    let policy_path = match known {
        Some(p) => p.to_path_buf(),
        None => {
            let text = std::fs::read_to_string(config).ok()?;
            let table: toml::Table = toml::from_str(&text).ok()?;
            let file = table.get("policy")?.get("file")?.as_str()?;
            let dir = config.parent().unwrap_or_else(|| Path::new(""));
            dir.join(file)
        }
    };
    if !policy_path.is_file() {
        return None;
    }
    policy::Policy::load(&policy_path, &policy::Settings::default()).err()
}

/// `policy explain`: decide at now and print why.
fn explain(
    config_path: &Path,
    officer: &str,
    purpose: &str,
    target: &str,
    consent: Option<&str>,
    case: &str,
) -> CmdResult {
    let config = Config::load(config_path).map_err(config_error)?;
    let policy = config.load_policy().map_err(config_error)?;
    let (name, unit, known) = match policy.officer(officer) {
        Some(o) => (o.name.clone(), o.unit.clone(), true),
        None => (String::new(), String::new(), false),
    };
    let identity = policy::Identity {
        officer_id: officer.to_string(),
        name,
        unit,
        fingerprint: String::new(),
    };
    let (path, query) = policy::inquiry::split_target(target);
    let raw = policy::inquiry::RawRequest {
        path,
        query,
        purpose: Some(purpose.as_bytes()),
        case: Some(case.as_bytes()),
        consent: consent.map(str::as_bytes),
    };
    let inquiry = match policy::inquiry::parse(&raw) {
        Ok(i) => i,
        Err(policy::inquiry::InquiryError::NotFound) => {
            outln!("decision: deny\nstatus: 404\ncode: not_found");
            outln!("rule: `{path}` is not a fronted route; nothing would be sent upstream");
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            outln!("decision: deny\nstatus: 400\ncode: invalid_request");
            outln!("rule: the request is malformed: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let decision = policy::decide(&identity, &inquiry, &policy, OffsetDateTime::now_utc());
    let mut text = policy::explain(&decision);
    if let policy::Decision::Deny(d) = &decision {
        // The pure explanation knows no HTTP; the answer's status is ours.
        let status = crate::server::error::Failure::Denied(d.reason).status();
        text = text.replacen(
            "decision: deny\n",
            &format!("decision: deny\nstatus: {status}\n"),
            1,
        );
    }
    {
        use std::io::Write;
        std::io::stdout().lock().write_all(text.as_bytes())?;
    }
    if !known {
        // An `--officer` the policy does not know is invalid input.
        eprintln!("credgate: officer `{officer}` is not in the policy");
        return Ok(ExitCode::from(1));
    }
    // The command ran and printed the policy's decision, allow or deny:
    // exit 0 (1 is for invalid input: an unknown officer, a malformed
    // request).
    Ok(ExitCode::SUCCESS)
}

/// A config error, a line per problem: a config file that cannot be read is a
/// command that could not run (exit 2); anything else is the config or
/// policy not valid (exit 1).
fn config_error(e: ConfigError) -> Box<dyn std::error::Error + Send + Sync> {
    let text = error_lines(&e.to_string());
    match e {
        ConfigError::Read { .. } => text.into(),
        _ => crate::cli::InvalidInput::new(text).into(),
    }
}

/// A multi-line error display as its non-empty lines, trimmed: each is
/// printed as a `credgate: error: …` line of its own, with the count after
/// several ([`crate::cli::print_errors`], the CLI's error contract).
pub(crate) fn error_lines(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests;
