//! A SQLite file of credgate's own that is not the inquiry log (the
//! witness's state, the sample database): where and how it is opened, in
//! one place.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

/// Options for the SQLite file at `path`, its folder created first if
/// missing: the file created if missing, WAL journal, a 5 s busy timeout.
/// The caller sets `synchronous`. `Err`: the folder that could not be
/// created, and why.
pub fn options(path: &Path) -> Result<SqliteConnectOptions, (PathBuf, std::io::Error)> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| (parent.to_path_buf(), e))?;
    }
    Ok(SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5)))
}
