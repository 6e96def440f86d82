//! Audit public keys this user has pinned, like ssh's `known_hosts`: what
//! `credgate audit verify --export FILE` trusts when neither `--config` nor
//! `--public-key` is given.
//!
//! An export's header names the key that signed it, and a forger who
//! rewrites the file can name their own key and re-sign every checkpoint,
//! so the header alone is never trusted. Instead, every command that
//! loads a gateway's audit signing key (`serve` at start, and each `audit`
//! command given `--config`) records that key's public half here, and an
//! export is checked against the pinned key its header names. A file
//! re-signed with any other key is then tampering; a machine that never
//! ran the gateway pins nothing and is told to pass `--public-key`.
//!
//! The file is `$CREDGATE_TRUSTED_KEYS`, else
//! `$XDG_STATE_HOME/credgate/trusted-audit-keys`, else
//! `$HOME/.local/state/credgate/trusted-audit-keys`: one key per line, 64
//! hex characters, then where it came from and when; `#` starts a comment.
//! Pinning is best effort (a daemon without a writable home pins nothing)
//! and never fails a command. This module must never decide that a key is
//! trusted for any reason other than its line in this file.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable naming the pin file (tests, and operators who
/// keep it elsewhere).
pub const ENV: &str = "CREDGATE_TRUSTED_KEYS";

/// The pin file, or `None` when no location is known (no `HOME`).
pub fn path() -> Option<PathBuf> {
    path_from(|name| std::env::var_os(name))
}

/// [`path`] with the environment given as a lookup.
fn path_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(p) = var(ENV) {
        return Some(PathBuf::from(p));
    }
    let state = var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".local/state")))?;
    Some(state.join("credgate").join("trusted-audit-keys"))
}

/// The keys pinned in `file` (a missing file pins none; lines that are not
/// a key are skipped).
pub fn read(file: &Path) -> std::io::Result<Vec<[u8; 32]>> {
    Ok(read_pins(file)?.into_iter().map(|(key, _)| key).collect())
}

/// The keys pinned in `file`, each with what its line says of where it
/// came from. A file others than its owner may write is refused: anyone
/// who can add a line to it can vouch for any export.
pub fn read_pins(file: &Path) -> std::io::Result<Vec<([u8; 32], String)>> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file)?.permissions().mode();
        if mode & 0o022 != 0 {
            return Err(std::io::Error::other(format!(
                "it may be written by others than its owner (mode {:o}): no key in it is trusted; `chmod go-w` it",
                mode & 0o777
            )));
        }
    }
    Ok(text.lines().filter_map(parse_line).collect())
}

/// The key a line pins, if it pins one, and the rest of the line.
fn parse_line(line: &str) -> Option<([u8; 32], String)> {
    let line = line.trim();
    let (first, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    if first.starts_with('#') {
        return None;
    }
    let key = hex::decode(first).ok()?.try_into().ok()?;
    Some((key, rest.trim().to_owned()))
}

/// Records `key` in `file` unless it is there already; `from` says where it
/// came from (a config path). Returns whether a line was added.
pub fn pin(file: &Path, key: &[u8], from: &Path) -> std::io::Result<bool> {
    if read(file)?.iter().any(|k| k.as_slice() == key) {
        return Ok(false);
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(file)?;
    let when = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    // One write of one line: appends from concurrent pins do not interleave.
    let line = format!(
        "{} {} {when}\n",
        hex::encode(key),
        from.display().to_string().replace(char::is_whitespace, "_")
    );
    out.write_all(line.as_bytes())?;
    Ok(true)
}

/// [`pin_quietly`] the public half of an audit signing key (Ed25519
/// PKCS#8); a key that is not one pins nothing (whoever loads it reports
/// that).
pub fn pin_signing_key_quietly(pkcs8: &[u8], from: &Path) {
    if let Ok(pair) = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8) {
        pin_quietly(ring::signature::KeyPair::public_key(&pair).as_ref(), from);
    }
}

/// [`pin`] at [`path`], best effort: a failure is reported at debug level
/// and otherwise ignored (pinning must never stop a command).
pub fn pin_quietly(key: &[u8], from: &Path) {
    let Some(file) = path() else {
        tracing::debug!("no HOME: the audit key is not pinned for `audit verify --export`");
        return;
    };
    if let Err(e) = pin(&file, key, from) {
        tracing::debug!(
            "cannot pin the audit key in `{}`: {e}; `audit verify --export` will need --public-key",
            file.display()
        );
    }
}

#[cfg(test)]
mod tests;
