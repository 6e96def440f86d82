//! The witness's memory: its own SQLite file holding, per origin, the latest
//! checkpoint it cosigned (size, root, and the note with the log's signature
//! and its cosignature), plus a `rejected` table of validly signed
//! checkpoints it refused as inconsistent (evidence of a misbehaving log).
//!
//! Every operation runs on one connection behind a mutex, and
//! [`State::check_and_update`] runs inside a `BEGIN IMMEDIATE` transaction:
//! reading the stored size, deciding, and writing the new checkpoint are one
//! atomic step, so two concurrent submissions can never both be cosigned
//! from the same old size (nor can another process on the same file
//! interleave). A cosignature is handed out only after the commit returned.

use std::path::{Path, PathBuf};

use audit::note::Hash;
use sqlx::sqlite::SqliteSynchronous;
use sqlx::{ConnectOptions as _, Connection as _, Row as _, SqliteConnection};
use tokio::sync::Mutex;

/// Schema, applied on every open (idempotent).
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS checkpoints (
        origin TEXT PRIMARY KEY,
        size INTEGER NOT NULL CHECK (size >= 0),
        root BLOB NOT NULL CHECK (length(root) = 32),
        note TEXT NOT NULL,
        cosigned_at INTEGER NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS rejected (
        id INTEGER PRIMARY KEY,
        origin TEXT NOT NULL,
        old INTEGER NOT NULL,
        size INTEGER NOT NULL,
        reason TEXT NOT NULL,
        note TEXT NOT NULL,
        proof TEXT NOT NULL,
        at INTEGER NOT NULL
    )",
];

/// Why the state file could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The folder of the state file could not be created.
    #[error("cannot create folder `{path}`: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The SQLite file could not be opened or its schema created.
    #[error("cannot open witness state `{path}`: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The SQLite error.
        source: sqlx::Error,
    },
    /// A query failed.
    #[error("witness state: {0}")]
    Sqlite(#[from] sqlx::Error),
    /// A stored row does not hold what this code writes.
    #[error("witness state holds an invalid row for origin `{0}`")]
    Corrupt(String),
    /// A size does not fit SQLite's signed 64-bit integers.
    #[error("tree size {0} is too large to store")]
    SizeTooLarge(u64),
}

/// The latest checkpoint cosigned for one origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The checkpoint note with the log's signature(s) and the cosignature.
    pub note: String,
    /// POSIX seconds of the cosignature.
    pub cosigned_at: u64,
}

/// A checkpoint refused although the log validly signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The old size the submitter claimed.
    pub old: u64,
    /// The checkpoint's size.
    pub size: u64,
    /// Why it was refused.
    pub reason: &'static str,
    /// The submitted checkpoint note.
    pub note: String,
    /// The submitted proof lines (base64, newline-separated).
    pub proof: String,
}

/// What a decision inside [`State::check_and_update`] wants done.
#[derive(Debug)]
pub enum Step<T, R> {
    /// Replace the origin's latest checkpoint, then answer `T`.
    Store {
        /// The new latest checkpoint.
        latest: Latest,
        /// The answer once it is committed.
        answer: T,
    },
    /// Change nothing (but record `evidence`, if any), then answer `R`.
    Refuse {
        /// A refused, validly signed checkpoint to keep.
        evidence: Option<Evidence>,
        /// The answer.
        answer: R,
    },
}

/// The witness state file.
#[derive(Debug)]
pub struct State {
    /// INVARIANT: the only connection to the file this process uses, so the
    /// mutex serialises every read and check-and-update.
    conn: Mutex<SqliteConnection>,
    /// The file, for messages.
    path: PathBuf,
}

fn to_i64(v: u64) -> Result<i64, StateError> {
    i64::try_from(v).map_err(|_| StateError::SizeTooLarge(v))
}

impl State {
    /// Opens (creating if needed) the state file at `path`, in WAL mode with
    /// `synchronous = FULL`: a commit is on disk when it returns.
    pub async fn open(path: &Path) -> Result<State, StateError> {
        let options = crate::sqlite_file::options(path)
            .map_err(|(path, source)| StateError::CreateDir { path, source })?;
        let open_err = |source| StateError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = options
            .synchronous(SqliteSynchronous::Full)
            .connect()
            .await
            .map_err(open_err)?;
        for stmt in SCHEMA {
            sqlx::query(stmt)
                .execute(&mut conn)
                .await
                .map_err(open_err)?;
        }
        Ok(State {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The latest checkpoint cosigned for `origin`.
    pub async fn latest(&self, origin: &str) -> Result<Option<Latest>, StateError> {
        let mut conn = self.conn.lock().await;
        read_latest(&mut conn, origin).await
    }

    /// Every origin with a cosigned checkpoint, sorted.
    pub async fn origins(&self) -> Result<Vec<String>, StateError> {
        let mut conn = self.conn.lock().await;
        let rows = sqlx::query("SELECT origin FROM checkpoints ORDER BY origin")
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(StateError::from))
            .collect()
    }

    /// How many refused checkpoints were kept as evidence for `origin`.
    pub async fn rejected_count(&self, origin: &str) -> Result<u64, StateError> {
        let mut conn = self.conn.lock().await;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM rejected WHERE origin = ?1")
            .bind(origin)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// Atomically: read `origin`'s latest checkpoint, let `decide` look at
    /// it, and apply its [`Step`] — all in one `BEGIN IMMEDIATE`
    /// transaction, committed before this returns. On any error nothing is
    /// changed.
    pub async fn check_and_update<T, R>(
        &self,
        origin: &str,
        decide: impl FnOnce(Option<&Latest>) -> Step<T, R>,
    ) -> Result<Result<T, R>, StateError> {
        let mut conn = self.conn.lock().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let current = read_latest(&mut tx, origin).await?;
        match decide(current.as_ref()) {
            Step::Store { latest, answer } => {
                sqlx::query(
                    "INSERT INTO checkpoints (origin, size, root, note, cosigned_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (origin) DO UPDATE SET size = excluded.size,
                       root = excluded.root, note = excluded.note,
                       cosigned_at = excluded.cosigned_at",
                )
                .bind(origin)
                .bind(to_i64(latest.size)?)
                .bind(latest.root.as_slice())
                .bind(&latest.note)
                .bind(to_i64(latest.cosigned_at)?)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Ok(answer))
            }
            Step::Refuse { evidence, answer } => {
                if let Some(e) = evidence {
                    let at = super::now_secs();
                    sqlx::query(
                        "INSERT INTO rejected (origin, old, size, reason, note, proof, at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )
                    .bind(origin)
                    .bind(to_i64(e.old)?)
                    .bind(to_i64(e.size)?)
                    .bind(e.reason)
                    .bind(&e.note)
                    .bind(&e.proof)
                    .bind(to_i64(at)?)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok(Err(answer))
            }
        }
    }

    /// Closes the connection (checkpointing the WAL).
    pub async fn close(self) -> Result<(), StateError> {
        self.conn.into_inner().close().await?;
        Ok(())
    }
}

async fn read_latest(
    conn: &mut SqliteConnection,
    origin: &str,
) -> Result<Option<Latest>, StateError> {
    let row =
        sqlx::query("SELECT size, root, note, cosigned_at FROM checkpoints WHERE origin = ?1")
            .bind(origin)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let corrupt = || StateError::Corrupt(origin.to_owned());
    let size: i64 = row.try_get(0)?;
    let root: Vec<u8> = row.try_get(1)?;
    let note: String = row.try_get(2)?;
    let at: i64 = row.try_get(3)?;
    Ok(Some(Latest {
        size: u64::try_from(size).map_err(|_| corrupt())?,
        root: Hash::try_from(root).map_err(|_| corrupt())?,
        note,
        cosigned_at: u64::try_from(at).map_err(|_| corrupt())?,
    }))
}
