//! The embedded SQLite store: WAL journal, `synchronous = FULL` (a commit
//! is on disk when it returns), `busy_timeout` bounding how long a write
//! waits for a lock before the batch fails as unavailable.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{impl_common_store, StoreOptions, DDL, SCHEMA_VERSION};
use crate::error::AuditError;

/// SQLite store: one write connection (the writer task is the only writer)
/// and a small pool for readers.
#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    pub(super) write: SqlitePool,
    read: SqlitePool,
    display_url: String,
}

/// The file path in `sqlite://PATH` (or `sqlite:PATH`), query string removed.
fn path_of(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let rest = rest.split('?').next().unwrap_or_default();
    if rest.is_empty() || rest.starts_with(':') {
        return None;
    }
    Some(PathBuf::from(rest))
}

impl SqliteStore {
    pub(crate) async fn connect(url: &str, opts: StoreOptions) -> Result<SqliteStore, AuditError> {
        let path = path_of(url).ok_or_else(|| AuditError::InvalidStoreUrl(url.to_owned()))?;
        if opts.create {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    AuditError::Store(format!("cannot create `{}`: {e}", parent.display()))
                })?;
            }
        } else if !path.is_file() {
            return Err(AuditError::StoreMissing(path.display().to_string()));
        }
        let base = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|e| AuditError::Store(e.to_string()))?
            .filename(&path)
            .create_if_missing(opts.create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(opts.timeout)
            // A batch of 1024 entries touches thousands of table and index
            // pages: a 64 MiB page cache keeps them from spilling to the WAL
            // mid-transaction, statement journals stay in memory, reads map
            // the file instead of copying it, and the WAL is folded back
            // every ~40 MB instead of every 4 MB. Durability is unchanged
            // (WAL + synchronous = FULL).
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            .pragma("mmap_size", "268435456")
            .pragma("wal_autocheckpoint", "10000");
        let open_err =
            |e: sqlx::Error| AuditError::Store(format!("cannot open `{}`: {e}", path.display()));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(opts.timeout.max(std::time::Duration::from_secs(1)))
            .connect_with(base.clone())
            .await
            .map_err(open_err)?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            // Verify and export walk pages of thousands of rows: let the
            // SQLite worker thread run ahead instead of handing over every
            // 50 rows (sqlx's default).
            .connect_with(
                base.create_if_missing(false)
                    .row_buffer_size(1024)
                    // Readers go through the memory map: a small page cache
                    // each keeps four of them from holding 64 MiB apiece.
                    .pragma("cache_size", "-2000"),
            )
            .await
            .map_err(open_err)?;
        Ok(SqliteStore {
            write,
            read,
            display_url: path.display().to_string(),
        })
    }

    async fn migrate_impl(&self) -> Result<(), String> {
        let mut conn = self.write.acquire().await.map_err(|e| e.to_string())?;
        // IMMEDIATE: take the write lock up front so two processes opening
        // the same file at once do not deadlock on an upgrade.
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
        let result: Result<(), String> = async {
            for stmt in DDL {
                sqlx::query(stmt)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_version")
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| e.to_string())?;
            match v {
                None => {
                    sqlx::query("INSERT INTO schema_version (version) VALUES (?)")
                        .bind(SCHEMA_VERSION)
                        .execute(&mut *conn)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(format!(
                        "schema version {v} is newer than supported version {SCHEMA_VERSION}"
                    ))
                }
                Some(v) if v < SCHEMA_VERSION => {
                    return Err(format!(
                        "schema version {v} is older than supported version {SCHEMA_VERSION}: start a new log"
                    ))
                }
                Some(_) => {}
            }
            Ok(())
        }
        .await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let end_result = sqlx::query(end).execute(&mut *conn).await;
        result?;
        end_result.map(|_| ()).map_err(|e| e.to_string())
    }
}

impl_common_store!(SqliteStore, sqlx::Sqlite, sqlx::sqlite::SqliteRow);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_a_file() {
        assert_eq!(path_of("sqlite://a/b.db"), Some(PathBuf::from("a/b.db")));
        assert_eq!(
            path_of("sqlite:///abs/b.db"),
            Some(PathBuf::from("/abs/b.db"))
        );
        assert_eq!(path_of("sqlite:x.db?mode=rwc"), Some(PathBuf::from("x.db")));
        assert_eq!(path_of("sqlite::memory:"), None);
        assert_eq!(path_of("postgres://x"), None);
    }
}
