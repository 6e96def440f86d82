//! `credgate audit archive --config FILE --before YYYY-MM --out DIR`: every
//! whole month of the log before `--before`, each as a bracketed export of
//! its own (`credgate-audit-YYYY-MM.jsonl`), verified offline against the
//! configured audit key right after it is written, and listed with its
//! SHA-256 in `DIR/SHA256SUMS` (the format `sha256sum -c` reads).
//!
//! Months are UTC calendar months, the same boundaries as the PostgreSQL
//! store's monthly partitions of `entries`, so one archive file answers for
//! one partition an operator moves to cold storage. A bracketed export runs
//! from the last signed checkpoint before the month to the first one after
//! it, so it may hold a few entries of the neighbouring months: that is what
//! makes every entry of the month provably in the log.
//!
//! A month is archived only when its file verifies against the key *and*
//! holds every entry the store has for that month (a bracketed export
//! leaves out entries no signed checkpoint covers yet); the last month is
//! taken only once it has been over for two checkpoint intervals and a
//! minute.
//!
//! Archiving never deletes anything (the gateway has no delete path). A
//! month whose file already exists is not rewritten: the file is verified
//! again, checked against the digest `SHA256SUMS` recorded for it, and
//! kept; a recorded digest is never replaced. Exit 0 when every month is
//! archived, 1 when one is not (a newly written file that is not whole is
//! removed; the month and the reason are named), 2 when it could not run.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::CmdResult;
use crate::config::Config;

/// A calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    year: i32,
    month: u8,
}

impl Month {
    /// The month holding `ms` (milliseconds since the epoch, UTC).
    fn of_ms(ms: i64) -> Option<Month> {
        let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok()?;
        Some(Month {
            year: t.year(),
            month: u8::from(t.month()),
        })
    }

    /// The month after this one.
    fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Its first millisecond (UTC).
    fn start_ms(self) -> Option<i64> {
        let month = time::Month::try_from(self.month).ok()?;
        let day = time::Date::from_calendar_date(self.year, month, 1).ok()?;
        Some(day.midnight().assume_utc().unix_timestamp() * 1000)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// `--before`: `YYYY-MM`, a month that has begun (the months archived, all
/// before it, are then over).
pub fn before_month(text: &str) -> Result<Month, String> {
    let bad = || format!("`{text}` is not a month like 2026-11 (YYYY-MM)");
    let (y, m) = text.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&month) || year < 1970 {
        return Err(bad());
    }
    let asked = Month { year, month };
    let now = Month::of_ms(now_ms()).ok_or_else(bad)?;
    if asked > now {
        return Err(format!(
            "the months before {asked} include {now}, which is not over yet: archive only whole months (at most --before {now})"
        ));
    }
    Ok(asked)
}

/// Besides two checkpoint intervals, how long after a month ends before it
/// is archived (clock differences between gateways and this machine).
const SETTLE_MARGIN_MS: i64 = 60_000;

fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() * 1000
}

/// What happened to one month.
enum Outcome {
    /// Written now (entries in the file) and verified.
    Written(u64),
    /// Its file was there already and verified again.
    Kept,
    /// The export did not verify: why (the file is removed).
    Tampered(String),
}

/// Runs `audit archive`.
pub fn run(config: &Config, public_key: &[u8], before: Month, out: &Path) -> CmdResult {
    // The store first: a run that cannot read it leaves no folder behind.
    let Some(first) = first_month(config)? else {
        outln!("credgate: the log holds no entry; nothing to archive");
        return Ok(ExitCode::SUCCESS);
    };
    // The month before `--before` must have been over for a while: entries
    // committed in its last seconds are covered by a signed checkpoint only
    // at the next checkpoint (at most `checkpoint_interval_ms` later).
    let settle_ms = i64::try_from(config.checkpoint_interval_ms)
        .unwrap_or(i64::MAX)
        .saturating_mul(2)
        .saturating_add(SETTLE_MARGIN_MS);
    if before
        .start_ms()
        .is_some_and(|b| now_ms() < b.saturating_add(settle_ms))
    {
        return Err(format!(
            "the month before {before} ended less than {} s ago: its last entries may not be under a signed checkpoint yet; run the archive again a little later",
            settle_ms / 1000
        )
        .into());
    }
    std::fs::create_dir_all(out).map_err(|why| super::audit::AuditCmdError::File {
        action: "create the folder",
        path: out.to_path_buf(),
        why,
    })?;
    let recorded = read_sums(out);
    let mut month = first;
    let mut sums: Vec<(String, String)> = Vec::new();
    let mut failed = 0u32;
    let (mut written_months, mut kept_months) = (0u32, 0u32);
    while month < before {
        let next = month.next();
        let (Some(from), Some(to)) = (month.start_ms(), next.start_ms()) else {
            return Err(format!("month {month} is out of range").into());
        };
        let name = format!("credgate-audit-{month}.jsonl");
        let path = out.join(&name);
        let filter = audit::Filter {
            from_ms: Some(from),
            to_ms: Some(to - 1),
            ..audit::Filter::default()
        };
        let mut outcome = archive_month(config, public_key, &filter, &path, (from, to))?;
        // A kept file must still be the one archived.
        if let (Outcome::Kept, Some(want)) = (&outcome, recorded.get(&name)) {
            if &sha256_file(&path)? != want {
                outcome = Outcome::Tampered(
                    "the file's SHA-256 is not the one SHA256SUMS recorded for it".into(),
                );
            }
        }
        let ok = matches!(outcome, Outcome::Written(_) | Outcome::Kept);
        match outcome {
            Outcome::Written(n) => {
                written_months += 1;
                outln!(
                    "{month}: {n} entries written to `{}`, verified",
                    path.display()
                );
            }
            Outcome::Kept => {
                kept_months += 1;
                outln!(
                    "{month}: `{}` was already there; verified again, kept",
                    path.display()
                );
            }
            Outcome::Tampered(why) => {
                failed += 1;
                outln!("{month}: NOT archived, the export does not verify: {why}");
            }
        }
        // Only a verified file is recorded, and a recorded line is never
        // replaced (SHA256SUMS keeps vouching for what was archived).
        if ok && path.exists() && !recorded.contains_key(&name) {
            sums.push((sha256_file(&path)?, name));
        }
        month = next;
    }
    write_sums(out, &sums)?;
    outln!(
        "credgate: {written_months} month(s) archived, {kept_months} kept, {failed} failed; checksums in `{}`",
        out.join("SHA256SUMS").display()
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The month of the earliest entry, if any.
fn first_month(config: &Config) -> Result<Option<Month>, Box<dyn std::error::Error + Send + Sync>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let first = rt.block_on(async {
        let reader = audit::Reader::connect(&config.audit_store_url).await?;
        let filter = audit::Filter {
            limit: Some(1),
            ..audit::Filter::default()
        };
        let r = reader.query(&filter).await;
        reader.close().await;
        r
    })?;
    Ok(first.first().and_then(|e| Month::of_ms(e.entry.time_ms)))
}

/// Writes (or re-checks) one month's export and verifies it.
fn archive_month(
    config: &Config,
    public_key: &[u8],
    filter: &audit::Filter,
    path: &Path,
    (from, to): (i64, i64),
) -> Result<Outcome, Box<dyn std::error::Error + Send + Sync>> {
    let existed = path.exists();
    let written = if existed {
        None
    } else {
        Some(super::audit::export(config, filter, path)?)
    };
    let file = File::open(path).map_err(|why| super::audit::AuditCmdError::File {
        action: "open",
        path: path.to_path_buf(),
        why,
    })?;
    // A month archived before exports were sealed (version 3) is still
    // read: its chains are checked here, and SHA256SUMS (checked by the
    // caller for a kept file) vouches for the rest of its bytes.
    let verified = match audit::verify_export_any_version(BufReader::new(file), public_key) {
        Ok((report, _)) => report,
        // A file that does not read as an export of this log is a month
        // that does not verify (exit 1), not a run that could not go on.
        Err(e) if super::audit::export_damaged(&e) => {
            if !existed {
                let _ = std::fs::remove_file(path);
            }
            return Ok(Outcome::Tampered(format!("the file: {e}")));
        }
        Err(e) => return Err(e.into()),
    };
    match verified {
        audit::VerifyReport::Intact { .. } => {
            // Intact is not whole: a bracketed export leaves out entries no
            // signed checkpoint covers yet. Every entry of the month must be
            // in the file.
            let in_file = entries_between(path, from, to)?;
            let in_store = store_count(config, from, to)?;
            if in_file < in_store {
                if !existed {
                    let _ = std::fs::remove_file(path);
                }
                return Ok(Outcome::Tampered(format!(
                    "the file holds {in_file} of the month's {in_store} entries (the rest are not under a signed checkpoint yet, or missing from it)"
                )));
            }
            Ok(match written {
                Some(n) => Outcome::Written(n),
                None => Outcome::Kept,
            })
        }
        audit::VerifyReport::Tampered {
            chain_id,
            first_bad_seq,
            why,
        } => {
            if !existed {
                let _ = std::fs::remove_file(path);
            }
            Ok(Outcome::Tampered(
                if chain_id == audit::reader::WHOLE_FILE {
                    format!("the file: {why}")
                } else {
                    format!("chain {chain_id}, sequence number {first_bad_seq}: {why}")
                },
            ))
        }
    }
}

/// Entries of an export file with `from <= time_ms < to`.
fn entries_between(
    path: &Path,
    from: i64,
    to: i64,
) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    use std::io::BufRead;
    let file = File::open(path).map_err(|why| super::audit::AuditCmdError::File {
        action: "open",
        path: path.to_path_buf(),
        why,
    })?;
    let mut n = 0u64;
    for line in BufReader::new(file).lines() {
        let line = line?;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["type"] == "entry" {
            if let Some(t) = v["entry"]["time_ms"].as_i64() {
                if (from..to).contains(&t) {
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

/// Entries the store holds with `from <= time_ms < to`.
fn store_count(
    config: &Config,
    from: i64,
    to: i64,
) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(async {
        let reader = audit::Reader::connect(&config.audit_store_url).await?;
        let n = reader.count_between(from, to).await;
        reader.close().await;
        n
    })?)
}

/// The lines of an existing `SHA256SUMS`: file name → digest.
fn read_sums(out: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_to_string(out.join("SHA256SUMS"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(sum, name)| (name.to_owned(), sum.to_owned()))
        .collect()
}

fn sha256_file(path: &Path) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let mut f = File::open(path).map_err(|why| super::audit::AuditCmdError::File {
        action: "open",
        path: path.to_path_buf(),
        why,
    })?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(hex::encode(ctx.finish()))
}

/// `SHA256SUMS` for every archive file in `out` (this run's and earlier
/// runs' alike), written through a temporary file and a rename.
fn write_sums(
    out: &Path,
    this_run: &[(String, String)],
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let sums_path = out.join("SHA256SUMS");
    let mut lines: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(&sums_path) {
        for line in text.lines() {
            if let Some((sum, name)) = line.split_once("  ") {
                lines.insert(name.to_owned(), sum.to_owned());
            }
        }
    }
    for (sum, name) in this_run {
        lines.insert(name.clone(), sum.clone());
    }
    let tmp: PathBuf = out.join("SHA256SUMS.partial");
    let mut f = File::create(&tmp).map_err(|why| super::audit::AuditCmdError::File {
        action: "create",
        path: tmp.clone(),
        why,
    })?;
    for (name, sum) in &lines {
        writeln!(f, "{sum}  {name}")?;
    }
    f.sync_all()?;
    std::fs::rename(&tmp, &sums_path).map_err(|why| super::audit::AuditCmdError::File {
        action: "rename into",
        path: sums_path.clone(),
        why,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests;
