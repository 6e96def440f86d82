//! `credgate consent issue`: a signed consent token on stdout.
//!
//! A development stand-in for the platform's consent service: it signs a
//! `policy::consent::ConsentPayload` with `DIR/consent-authority.pk8`. The
//! token is the only thing printed on stdout (so `$(credgate consent issue
//! ...)` works); it is never written to stderr or to an error message.

use std::path::PathBuf;
use std::process::ExitCode;

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::cli::{CmdResult, ConsentCommand};

/// Refused `consent issue` arguments.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentCmdError {
    /// Not a GB 11643 / GB 32100 identifier.
    #[error("invalid subject id `{id}`: {why}")]
    Subject {
        /// The id as given.
        id: String,
        /// Why it was refused.
        why: String,
    },
    /// `--grantee` empty.
    #[error("`--grantee` must not be empty")]
    EmptyGrantee,
    /// `--items` empty.
    #[error("`--items` must name at least one item")]
    NoItems,
    /// `--days 0`: a token that is already expired.
    #[error("`--days` must be at least 1")]
    ZeroDays,
    /// `now + days` is not a representable date.
    #[error("`--days {0}` lies too far in the future")]
    TooFar(u32),
    /// The consent-authority key could not be read.
    #[error("cannot read consent-authority key `{path}`: {why}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        why: std::io::Error,
    },
    /// Signing failed (usually: the key file is not an Ed25519 PKCS#8 key).
    #[error("cannot sign with `{path}`: {why}")]
    Sign {
        /// The key file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
}

impl ConsentCmdError {
    /// Whether the arguments are at fault (exit 1): everything but a key
    /// file that could not be read (exit 2). A key file that reads but
    /// cannot sign is the PKI folder given being wrong: exit 1.
    pub fn is_invalid_input(&self) -> bool {
        !matches!(self, ConsentCmdError::Key { .. })
    }
}

/// Run one `credgate consent` subcommand.
pub fn run(cmd: ConsentCommand) -> CmdResult {
    match cmd {
        ConsentCommand::Issue {
            dir,
            subject,
            grantee,
            items,
            fields,
            days,
        } => {
            let token = issue(&dir, &subject, &grantee, &items, &fields, days)?;
            outln!("{token}");
            if days > 365 {
                eprintln!(
                    "credgate: note: a gateway with the default `max_days = 365` refuses tokens valid for {days} days"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Build and sign a token valid from now for `days` days.
fn issue(
    dir: &std::path::Path,
    subject: &str,
    grantee: &str,
    items: &[String],
    fields: &[String],
    days: u32,
) -> Result<String, ConsentCmdError> {
    let (subject, _) =
        policy::subject::canonical(subject).map_err(|e| ConsentCmdError::Subject {
            id: subject.to_string(),
            why: e.to_string(),
        })?;
    let subject = subject.as_str();
    let grantee = grantee.trim();
    if grantee.is_empty() {
        return Err(ConsentCmdError::EmptyGrantee);
    }
    let items = clean_list(items);
    if items.is_empty() {
        return Err(ConsentCmdError::NoItems);
    }
    if days == 0 {
        return Err(ConsentCmdError::ZeroDays);
    }
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .map_err(|_| ConsentCmdError::TooFar(days))?;
    let not_after = now
        .checked_add(Duration::days(i64::from(days)))
        .ok_or(ConsentCmdError::TooFar(days))?
        .format(&Rfc3339)
        .map_err(|_| ConsentCmdError::TooFar(days))?;
    let path = dir.join(certs::pki::CONSENT_KEY);
    let key = std::fs::read(&path).map_err(|why| ConsentCmdError::Key {
        path: path.clone(),
        why,
    })?;
    let payload = policy::consent::ConsentPayload {
        subject: subject.to_string(),
        grantee: grantee.to_string(),
        items,
        fields: clean_list(fields),
        not_after,
    };
    policy::consent::sign(&payload, &key).map_err(|e| ConsentCmdError::Sign {
        path,
        why: e.to_string(),
    })
}

/// Trim entries, drop empty ones (`--fields ""`) and duplicates, keep order.
fn clean_list(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == item) {
            out.push(item.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests;
