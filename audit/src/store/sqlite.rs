//! The embedded SQLite store: WAL journal, `synchronous = FULL` (a commit
//! is on disk when it returns), `busy_timeout` bounding how long a write
//! waits for a lock before the batch fails as unavailable.
//!
//! WAL checkpoints (copying committed pages from the WAL back into the
//! database file) are mostly taken off the commit path: a background task
//! on a connection of its own runs `PRAGMA wal_checkpoint(PASSIVE)` at most
//! every [`FOLD_INTERVAL`] after commits; once it has copied every frame,
//! the writer's next transaction starts the WAL over, so the WAL stays
//! small. The writer's own automatic checkpoint (every 16 384 WAL pages,
//! 64 MiB) only comes due if the folder falls behind; at 4 096 pages it
//! still ran inside commits often enough to cost ~9 % of the writer
//! thread under sustained load.
//! Without the folder, the commit that crossed the threshold copied the
//! whole WAL and fsynced the database file before its waiters got an answer
//! (a latency spike for every request in that batch); a passive checkpoint
//! never blocks the writer. Durability is unchanged: a commit is durable
//! once its WAL frames are fsynced.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{
    classify, impl_common_store, migrate_schema, Batch, CommitError, JsonCols, NoteRow,
    StoreOptions, DDL,
};
use crate::entry::Entry;
use crate::error::AuditError;

/// SQLite store: one write connection (the writer task is the only writer)
/// and a small pool for readers.
#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    pub(super) write: SqlitePool,
    read: SqlitePool,
    display_url: String,
    /// The WAL folder (writers only; readers never write the WAL).
    fold: Option<Arc<Fold>>,
    /// The writer's checks before each batch (writers only).
    guard: Option<Arc<FileGuard>>,
}

/// What the writer checks before each batch, so that entries never go to a
/// file nobody will read and the disk never fills up under the log:
/// - the store file is still the one opened (same device and inode): a
///   deleted file would otherwise take writes into an unlinked inode, and
///   a replaced one would split the log in two;
/// - the file system under it has at least `min_free_bytes` free.
///
/// Either failing makes the batch unavailable (the gateway answers 503
/// `audit_unavailable`); the free-space check passes again by itself once
/// space returns, a deleted or replaced file needs a restart.
#[derive(Debug)]
struct FileGuard {
    path: PathBuf,
    dir: PathBuf,
    dev: u64,
    ino: u64,
    min_free_bytes: u64,
}

impl FileGuard {
    fn new(path: &std::path::Path, min_free_bytes: u64) -> Result<FileGuard, AuditError> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| AuditError::Store(format!("cannot stat `{}`: {e}", path.display())))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(FileGuard {
            path: path.to_path_buf(),
            dir,
            dev: meta.dev(),
            ino: meta.ino(),
            min_free_bytes,
        })
    }

    fn check(&self) -> Result<(), CommitError> {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(&self.path) {
            Ok(m) if m.dev() == self.dev && m.ino() == self.ino => {}
            Ok(_) => {
                return Err(CommitError::Unavailable(format!(
                    "the store file `{}` was replaced while open: restart to use the new file",
                    self.path.display()
                )))
            }
            Err(e) => {
                return Err(CommitError::Unavailable(format!(
                    "the store file `{}` is gone ({e}): restore it and restart",
                    self.path.display()
                )))
            }
        }
        if self.min_free_bytes > 0 {
            let free = free_bytes(&self.dir).map_err(|e| {
                CommitError::Unavailable(format!(
                    "cannot read the free space under `{}`: {e}",
                    self.dir.display()
                ))
            })?;
            if free < self.min_free_bytes {
                return Err(CommitError::Unavailable(format!(
                    "{free} bytes free under `{}`, below [audit] min_free_bytes = {}",
                    self.dir.display(),
                    self.min_free_bytes
                )));
            }
        }
        Ok(())
    }
}

/// Bytes an unprivileged writer may still use on the file system of `dir`.
pub(crate) fn free_bytes(dir: &std::path::Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(dir)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Handle on the WAL folder task. Dropping the last clone of the store
/// stops the task (so a log that fails to open leaks no connection).
#[derive(Debug)]
struct Fold {
    wake: Arc<Notify>,
    stop: Arc<AtomicBool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Fold {
    /// Tells the task to stop and waits for it to finish its checkpoint.
    async fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for Fold {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }
}

/// Shortest pause between two background WAL checkpoints.
const FOLD_INTERVAL: Duration = Duration::from_millis(100);

/// The WAL checkpoint task: after each wake-up (a commit), folds the WAL
/// into the database file; stops when told to.
async fn fold_wal(conn: SqlitePool, wake: Arc<Notify>, stop: Arc<AtomicBool>) {
    loop {
        wake.notified().await;
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&conn)
            .await
        {
            // Not fatal: the writer's own checkpoint folds what is left.
            tracing::warn!(error = %e, "inquiry log WAL checkpoint failed");
        }
        tokio::time::sleep(FOLD_INTERVAL).await;
    }
    conn.close().await;
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
            // mid-transaction, statement journals stay in memory and reads
            // map the file instead of copying it. Durability is unchanged
            // (WAL + synchronous = FULL).
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            .pragma("mmap_size", "268435456")
            // The writer checkpoints itself only if the background folder
            // falls 16 384 pages (64 MiB) behind (see the module docs).
            // No `journal_size_limit`: cutting the WAL back each time it
            // starts over (and growing it again) cost 5-20 % of appends/s
            // and doubled the latency of a lone commit; the WAL file keeps
            // the largest size it reached (the folder keeps that small).
            .pragma("wal_autocheckpoint", "16384");
        let open_err =
            |e: sqlx::Error| AuditError::Store(format!("cannot open `{}`: {e}", path.display()));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(opts.timeout.max(std::time::Duration::from_secs(1)))
            // The batch INSERTs' shapes (`commit_batch`) and the rest.
            .connect_with(
                base.clone()
                    .statement_cache_capacity(SQLITE_ONE_TRIP_ROWS + 64),
            )
            .await
            .map_err(open_err)?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            // Verify and export walk pages of thousands of rows: let the
            // SQLite worker thread run ahead instead of handing over every
            // 50 rows (sqlx's default).
            .connect_with(
                base.clone()
                    .create_if_missing(false)
                    .row_buffer_size(1024)
                    // Readers read through a small page cache (four of them
                    // must not hold 64 MiB apiece) and do not map the file:
                    // each connection's map counts in the process's RSS on
                    // its own, so walks of a big log (exports, verify) would
                    // show as up to 4 x 256 MiB resident (issue 15). The
                    // kernel's page cache still holds the file.
                    .pragma("cache_size", "-2000")
                    .pragma("mmap_size", "0"),
            )
            .await
            .map_err(open_err)?;
        let fold = if opts.create {
            let conn = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(base.create_if_missing(false).pragma("cache_size", "-2000"))
                .await
                .map_err(open_err)?;
            let wake = Arc::new(Notify::new());
            let stop = Arc::new(AtomicBool::new(false));
            let task = tokio::spawn(fold_wal(conn, wake.clone(), stop.clone()));
            Some(Arc::new(Fold {
                wake,
                stop,
                task: Mutex::new(Some(task)),
            }))
        } else {
            None
        };
        let guard = if opts.create {
            Some(Arc::new(FileGuard::new(&path, opts.min_free_bytes)?))
        } else {
            None
        };
        Ok(SqliteStore {
            write,
            read,
            display_url: path.display().to_string(),
            fold,
            guard,
        })
    }

    /// Free bytes under the store file (writers only).
    pub(super) fn free_bytes(&self) -> Option<u64> {
        let guard = self.guard.as_ref()?;
        free_bytes(&guard.dir).ok()
    }

    /// A commit landed: let the WAL folder run.
    pub(super) fn committed(&self) {
        if let Some(fold) = &self.fold {
            fold.wake.notify_one();
        }
    }

    /// Closes the write connection, stops the WAL folder (waiting for a
    /// checkpoint it is running), then folds and truncates the WAL.
    pub(super) async fn close(&self) {
        // The WAL folder has a connection of its own: stopped here too, in
        // case the writer ended without closing it (stopping twice is fine).
        if let Some(fold) = &self.fold {
            fold.stop().await;
        }
        self.write.close().await;
        self.read.close().await;
    }

    pub(super) async fn close_writer(&self) {
        self.write.close().await;
        if let Some(fold) = &self.fold {
            fold.stop().await;
        }
        // (busy, log frames, checkpointed frames); busy = 1 means a reader
        // kept part of the WAL: it is folded at the next open instead.
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.read)
            .await
        {
            Ok((0, _, _)) => {}
            Ok((_, log, done)) => {
                tracing::info!(log, done, "inquiry log WAL not truncated at close: in use");
            }
            Err(e) => tracing::warn!(error = %e, "inquiry log WAL checkpoint at close failed"),
        }
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
            migrate_schema::<sqlx::Sqlite, _>(
                &mut *conn,
                DDL,
                "INSERT INTO schema_version (version) VALUES (?)",
            )
            .await?;
            Ok(())
        }
        .await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let end_result = sqlx::query(end).execute(&mut *conn).await;
        result?;
        end_result.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Batches of up to this many rows commit in one round trip whose
/// statement is prepared once per size and kept (at most this many shapes
/// in the write connection's statement cache).
const SQLITE_ONE_TRIP_ROWS: usize = 64;

impl SqliteStore {
    /// Commits a batch of entries and checkpoint notes in one transaction
    /// (`BEGIN IMMEDIATE ... COMMIT`).
    ///
    /// Preparing the multi-row INSERT was a fifth of the writer thread's
    /// time (SQLite parses and compiles 32 placeholders per row) when each
    /// batch's statement was built afresh, so the statements are now
    /// prepared once and kept, in a few shapes:
    /// - up to [`SQLITE_ONE_TRIP_ROWS`] entries: ONE round trip to sqlx's
    ///   SQLite connection thread, `BEGIN IMMEDIATE; INSERT OR ROLLBACK
    ///   INTO entries VALUES (n rows); COMMIT` as one multi-statement query
    ///   (a statement per size; with notes, about once a second, it holds
    ///   their INSERT too and is not kept);
    /// - more: `BEGIN IMMEDIATE`, then INSERTs of the shapes of
    ///   [`super::insert_chunks`] (256 rows, then powers of two), then the
    ///   notes and `COMMIT`: a round trip each, which costs less than
    ///   preparing 64 rows does.
    ///
    /// Each round trip costs two thread hand-offs (~0.2-0.4 ms on a loaded
    /// 2-core VM), which is why small batches, the common case, take one.
    ///
    /// `OR ROLLBACK`: a constraint failure rolls back the whole transaction
    /// (the batch fails as one, as it would anyway) instead of undoing just
    /// that statement, so SQLite keeps no statement journal — a copy of
    /// every page the multi-row INSERT touches, ~8 % of the writer thread.
    ///
    /// If any statement fails, the transaction is rolled back (a further
    /// round trip, only then) so the connection is clean for the next
    /// batch; a data error is [`CommitError::Rejected`], anything else
    /// [`CommitError::Unavailable`].
    async fn commit_batch(&self, batch: Batch<'_>) -> Result<(), CommitError> {
        let (entries, nodes, notes) = (batch.entries, batch.nodes, batch.notes);
        if let Some(guard) = &self.guard {
            guard.check()?;
        }
        let json: Vec<JsonCols> = entries.iter().map(|e| JsonCols::of(&e.entry)).collect();
        let mut conn = self
            .write
            .acquire()
            .await
            .map_err(|e| CommitError::Unavailable(e.to_string()))?;
        let result = if entries.len() <= SQLITE_ONE_TRIP_ROWS {
            let mut qb = sqlx::QueryBuilder::new("BEGIN IMMEDIATE; ");
            if !entries.is_empty() {
                Self::push_entry_rows(&mut qb, "INSERT OR ROLLBACK", entries, &json, nodes);
                qb.push("; ");
            }
            Self::run_to_commit(&mut conn, qb, notes).await
        } else {
            Self::commit_in_chunks(&mut conn, entries, &json, nodes, notes).await
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                // Whatever failed, leave no transaction open on the one
                // write connection ("no transaction is active" is fine).
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(classify(&e))
            }
        }
    }

    /// The transaction of a batch of more than [`SQLITE_ONE_TRIP_ROWS`]
    /// entries, a statement of a kept shape per round trip.
    async fn commit_in_chunks(
        conn: &mut sqlx::SqliteConnection,
        entries: &[Entry],
        json: &[JsonCols],
        nodes: &[String],
        notes: &[NoteRow],
    ) -> Result<(), sqlx::Error> {
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let mut first = 0usize;
        for chunk in super::insert_chunks(entries) {
            let mut qb = sqlx::QueryBuilder::new("");
            Self::push_entry_rows(
                &mut qb,
                "INSERT OR ROLLBACK",
                chunk,
                super::part(json, first, chunk.len()),
                super::part(nodes, first, chunk.len()),
            );
            first += chunk.len();
            qb.build().execute(&mut *conn).await?;
        }
        Self::run_to_commit(conn, sqlx::QueryBuilder::new(""), notes).await
    }

    /// Ends `qb` with the INSERT of `notes` and `COMMIT`, and runs it: a
    /// kept statement unless it holds notes (about once a second).
    async fn run_to_commit<'q>(
        conn: &mut sqlx::SqliteConnection,
        mut qb: sqlx::QueryBuilder<'q, sqlx::Sqlite>,
        notes: &'q [NoteRow],
    ) -> Result<(), sqlx::Error> {
        if !notes.is_empty() {
            Self::push_signed_rows(&mut qb, notes);
            qb.push("; ");
        }
        qb.push("COMMIT");
        qb.build()
            .persistent(notes.is_empty())
            .execute(conn)
            .await
            .map(|_| ())
    }
}

/// A page of a chain as ONE value: a JSON array of rows, each a JSON array
/// of the columns in `ENTRY_COLUMNS` order (built from that list, so the
/// order always matches `RowParts`); with the page's row count and
/// the number of rows holding a BLOB.
///
/// INVARIANT: the JSON is used only when no row holds a BLOB and the row
/// count matches. SQLite's `json_array` renders a BLOB that looks like
/// JSONB by copying its payload into the text unescaped, so a forged blob
/// could splice rows into (or hide them from) the page. A REAL renders
/// with a fraction or exponent, which the typed parse refuses (no integer
/// or string column accepts it). Only an altered row holds either, and the
/// column path then reports it.
static PAGE_AS_JSON: LazyLock<String> = LazyLock::new(|| {
    let blobs: Vec<String> = super::ENTRY_COLUMNS
        .split(',')
        .map(|c| format!("typeof({}) = 'blob'", c.trim()))
        .collect();
    format!(
        "SELECT json_group_array(json_array({})), COUNT(*), TOTAL(max({})) FROM \
         (SELECT * FROM entries WHERE chain_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3)",
        super::ENTRY_COLUMNS,
        blobs.join(", ")
    )
});

impl SqliteStore {
    /// Up to `limit` rows of a chain after `after`, fetched as one JSON
    /// value built by SQLite instead of 31 values per row through sqlx
    /// (each value is copied and allocated on its own, which made reading
    /// the rows most of a verify's time).
    ///
    /// None when the page cannot be read this way — any error, a value of
    /// an unexpected type (a blob anywhere, a real or text where a number
    /// belongs, a number where text belongs, invalid UTF-8: only an altered
    /// row has one), a row count
    /// that differs from the rows parsed, rows out of order — and the
    /// caller then reads the page column by column, which reports exactly
    /// which row is bad. So both paths accept the same rows.
    pub(super) async fn entries_after_json(
        &self,
        chain_id: &str,
        after: i64,
        limit: i64,
    ) -> Option<Vec<Result<Entry, super::BadRow>>> {
        let (text, count, blobs): (String, i64, f64) = sqlx::query_as(PAGE_AS_JSON.as_str())
            .bind(chain_id)
            .bind(after)
            .bind(limit)
            .fetch_one(&self.read)
            .await
            .ok()?;
        if blobs != 0.0 {
            return None;
        }
        let rows: Vec<super::RowParts> = serde_json::from_str(&text).ok()?;
        if i64::try_from(rows.len()).ok()? != count {
            return None;
        }
        let mut last = after;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if row.seq <= last || row.chain_id != chain_id {
                return None;
            }
            last = row.seq;
            out.push(row.into_entry());
        }
        Some(out)
    }
}

impl_common_store!(SqliteStore, sqlx::Sqlite, sqlx::sqlite::SqliteRow);

#[cfg(test)]
mod tests;
