//! `credgate certs init | issue | revoke | crl refresh`: the development PKI.
//!
//! Thin wrappers over `certs::pki` that print the paths written. The PKI
//! itself (what is generated, key types, file names) is owned by `certs`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use certs::pki;

use crate::cli::{CertsCommand, CmdResult, CrlCommand, InvalidInput};

/// Longest `certs crl refresh --days`.
const MAX_CRL_DAYS: u32 = 3650;

/// Refused `certs` arguments (before anything is written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertsCmdError {
    /// `--days 0`.
    #[error("`--days` must be at least 1")]
    ZeroDays,
    /// An empty `--officer-id`, `--name` or `--unit`.
    #[error("`{0}` must not be empty")]
    Empty(&'static str),
    /// `certs issue --days` so large the end date is not a date.
    #[error("`--days {0}` lies too far in the future")]
    TooFar(u32),
    /// `certs crl refresh --days` out of range.
    #[error("`--days` must be between 1 and {MAX_CRL_DAYS}, not {0}")]
    CrlDays(u32),
}

/// A `certs::pki` error as the command's: the PKI folder or a file given
/// holding the wrong thing, or an output that exists already, is the
/// operator's input (exit 1); a file that cannot be read or written, or a
/// key that cannot be generated, is a command that could not run (exit 2).
fn pki_error(e: pki::PkiError) -> Box<dyn std::error::Error + Send + Sync> {
    use pki::PkiError;
    match e {
        PkiError::Read { .. } | PkiError::Write { .. } | PkiError::Generate { .. } => e.into(),
        e => InvalidInput::new(e).into(),
    }
}

/// Run one `credgate certs` subcommand.
pub fn run(cmd: CertsCommand) -> CmdResult {
    match cmd {
        CertsCommand::Init { dir } => {
            pki::init(&dir).map_err(pki_error)?;
            outln!("credgate: dev PKI created in `{}`:", dir.display());
            for name in pki::INIT_FILES {
                print_written(&dir.join(name))?;
            }
            write_sample_policy(&dir)?;
            Ok(ExitCode::SUCCESS)
        }
        CertsCommand::Issue {
            dir,
            officer_id,
            name,
            unit,
            days,
            out,
        } => {
            if days == 0 {
                return Err(CertsCmdError::ZeroDays.into());
            }
            for (flag, value) in [
                ("--officer-id", &officer_id),
                ("--name", &name),
                ("--unit", &unit),
            ] {
                if value.trim().is_empty() {
                    return Err(CertsCmdError::Empty(flag).into());
                }
            }
            let now = time::OffsetDateTime::now_utc();
            // X.509 times end with the year 9999.
            let last = time::Date::from_calendar_date(9999, time::Month::December, 31)
                .map(|d| d.midnight().assume_utc());
            match (now.checked_add(time::Duration::days(i64::from(days))), last) {
                (Some(end), Ok(last)) if end <= last => {}
                _ => return Err(CertsCmdError::TooFar(days).into()),
            }
            let spec = pki::OfficerSpec::for_days(&officer_id, &name, &unit, days, now);
            let issued = pki::issue(&dir, &spec, &out).map_err(pki_error)?;
            outln!("credgate: certificate for officer `{officer_id}` issued, valid {days} days:");
            for path in [&issued.cert, &issued.key, &issued.p12] {
                print_written(path)?;
            }
            outln!(
                "  (the PKCS#12 bundle's password is `{}`)",
                pki::P12_PASSWORD
            );
            Ok(ExitCode::SUCCESS)
        }
        CertsCommand::Revoke { dir, cert } => {
            let crl: PathBuf = dir.join(pki::CRL);
            match pki::revoke_outcome(&dir, &cert).map_err(pki_error)? {
                pki::Revocation::Added => {
                    outln!(
                        "credgate: `{}` revoked; CRL updated: {}",
                        cert.display(),
                        crl.display()
                    );
                    outln!(
                        "  a running gateway picks it up on SIGHUP or when it notices the change"
                    );
                }
                pki::Revocation::AlreadyRevoked => outln!(
                    "credgate: `{}` was already revoked; CRL unchanged: {}",
                    cert.display(),
                    crl.display()
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        CertsCommand::Crl(CrlCommand::Refresh { dir, days }) => {
            if !(1..=MAX_CRL_DAYS).contains(&days) {
                eprintln!("credgate: error: {}", CertsCmdError::CrlDays(days));
                return Ok(ExitCode::from(1));
            }
            let done = pki::refresh_crl(&dir, days).map_err(pki_error)?;
            let show = |t: time::OffsetDateTime| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|_| t.to_string())
            };
            outln!(
                "credgate: CRL re-signed: {} ({} revoked serial{}, unchanged; CRL number {})",
                done.path.display(),
                done.revoked,
                if done.revoked == 1 { "" } else { "s" },
                done.number
            );
            outln!("  this_update {}", show(done.this_update));
            match done.previous_next_update {
                Some(before) => outln!(
                    "  next_update {} (was {})",
                    show(done.next_update),
                    show(before)
                ),
                None => outln!("  next_update {}", show(done.next_update)),
            }
            outln!("  a running gateway picks it up on SIGHUP or when it notices the change");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The sample policy `certs init` writes beside the PKI (never over a file
/// already there): the SPEC's catalogue and field lists with their Chinese
/// names, and no officer yet.
pub const SAMPLE_POLICY_FILE: &str = "policy.toml";

fn write_sample_policy(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(SAMPLE_POLICY_FILE);
    let text = format!(
        "# Sample policy written by `credgate certs init`: edit it, then add one\n\
         # [[officers]] table per certificate issued with `credgate certs issue`\n\
         # (id = its --officer-id, name, unit, roles, valid_from, valid_until).\n\
         # `credgate policy check --config gateway.toml` checks it.\n{}",
        policy::SAMPLE_POLICY
    );
    // `create_new`: never over a file, nor through a symlink, already there.
    let written = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            outln!(
                "  kept {} (a sample policy is not written over it)",
                path.display()
            );
            return Ok(());
        }
        Err(e) => Err(e),
        Ok(mut f) => f.write_all(text.as_bytes()).and_then(|()| f.sync_all()),
    };
    match written {
        Ok(()) => print_written(&path)?,
        // The PKI is made: a sample policy that could not be written is
        // worth a warning, not a failed `certs init` nobody can re-run.
        Err(e) => eprintln!(
            "credgate: warning: sample policy not written to `{}`: {e}",
            path.display()
        ),
    }
    Ok(())
}

/// Print one written file (only if it is really there).
fn print_written(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        outln!("  wrote {}", path.display());
    }
    Ok(())
}
