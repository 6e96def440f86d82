//! Storage behind one async trait: SQLite (embedded, WAL, `synchronous =
//! FULL`) and PostgreSQL.
//!
//! Schema (created at open, version in `schema_version`):
//! - `entries`: one row per entry, primary key `(chain_id, seq)`, every
//!   field a column (lists and maps as JSON text), indexes for searching by
//!   officer, subject, time and the console's filters (decision and
//!   reason: partial, refusals only);
//! - `checkpoints`: signed checkpoints with their kind and the chain's
//!   cadence, primary key `(chain_id, seq, kind)` (a final or sealed
//!   checkpoint may share its seq with a periodic one).
//!
//! The trait has inserts and reads only: there is no delete or update path.
//! A batch of entries and its checkpoints commit in one transaction. A
//! failed commit says whether the store rejected the data (one bad value:
//! [`CommitError::Rejected`]) or could not be reached, was locked or timed
//! out ([`CommitError::Unavailable`]).

pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::checkpoint::Checkpoint;
use crate::entry::{Entry, NewEntry};
use crate::error::{redact_url, AuditError};
use crate::reader::Filter;

/// Schema version this build writes and understands.
pub(crate) const SCHEMA_VERSION: i64 = 3;

/// What turns a version-2 store into version 3 (after [`DDL`], which
/// creates the new tables): the column of Merkle tree nodes. The trees of
/// chains written before are built by the first writer that opens the
/// store (`writer::migrate_legacy_chains`).
pub(crate) const V2_TO_V3: &[&str] = &["ALTER TABLE entries ADD COLUMN tree_nodes TEXT"];

/// Creates what is missing of the schema on `conn` (`ddl`: [`DDL`] in the
/// backend's dialect) and brings the store to [`SCHEMA_VERSION`], inside
/// the caller's transaction: records the version of a new store, upgrades
/// a version-2 one, and refuses one newer or older than that. `record` is
/// the INSERT of the version in the backend's placeholder syntax.
pub(crate) async fn migrate_schema<DB, S>(
    conn: &mut DB::Connection,
    ddl: impl IntoIterator<Item = S>,
    record: &'static str,
) -> Result<(), String>
where
    DB: sqlx::Database,
    S: AsRef<str>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (Option<i64>,): sqlx::FromRow<'r, DB::Row>,
{
    for stmt in ddl {
        sqlx::query::<DB>(stmt.as_ref())
            .execute(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
    }
    let found: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_version")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
    let upgrade: &[&str] = match found {
        None => &[],
        Some(v) if v > SCHEMA_VERSION => {
            return Err(format!(
                "schema version {v} is newer than supported version {SCHEMA_VERSION}"
            ))
        }
        Some(2) => V2_TO_V3,
        Some(v) if v < SCHEMA_VERSION => {
            return Err(format!(
                "schema version {v} is older than supported version {SCHEMA_VERSION}: \
                 start a new log"
            ))
        }
        Some(_) => return Ok(()),
    };
    for stmt in upgrade {
        sqlx::query::<DB>(stmt)
            .execute(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
    }
    sqlx::query::<DB>(record)
        .bind(SCHEMA_VERSION)
        .execute(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Why a commit failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CommitError {
    /// The store refused a value of the batch (e.g. PostgreSQL refuses a
    /// NUL byte in TEXT): retrying the entries one by one isolates it.
    #[error("audit store rejected the batch: {0}")]
    Rejected(String),
    /// Connectivity, lock or timeout: the outcome may be unknown.
    #[error("audit store unavailable: {0}")]
    Unavailable(String),
}

impl From<CommitError> for AuditError {
    fn from(e: CommitError) -> Self {
        match e {
            CommitError::Rejected(m) | CommitError::Unavailable(m) => AuditError::Unavailable(m),
        }
    }
}

/// Classifies a failed write: data errors are [`CommitError::Rejected`],
/// everything else [`CommitError::Unavailable`].
pub(crate) fn classify(e: &sqlx::Error) -> CommitError {
    let msg = e.to_string();
    let rejected = match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                // SQLSTATE class 22 data exception, 23 integrity violation.
                code.starts_with("22") || code.starts_with("23")
            } else {
                // SQLite primary result codes: TOOBIG 18, CONSTRAINT 19,
                // MISMATCH 20, RANGE 25 (extended codes keep them in the low byte).
                code.parse::<u32>()
                    .map(|c| matches!(c & 0xff, 18 | 19 | 20 | 25))
                    .unwrap_or(false)
            }
        }
        sqlx::Error::Encode(_) | sqlx::Error::ColumnDecode { .. } => true,
        _ => false,
    };
    if rejected {
        CommitError::Rejected(msg)
    } else {
        CommitError::Unavailable(msg)
    }
}

/// Rows per multi-row INSERT of a large batch (32 columns a row: under
/// PostgreSQL's 65 535 and SQLite's 32 766 bind parameters).
pub(crate) const INSERT_CHUNK: usize = 256;

/// Splits rows into INSERT statements of [`INSERT_CHUNK`] rows, then
/// powers of two: at most nine statement shapes, so the prepared-statement
/// cache keeps them all whatever the batch sizes.
pub(crate) fn insert_chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let n = if rows.len() >= INSERT_CHUNK {
            INSERT_CHUNK
        } else {
            // Largest power of two not above the rest.
            1usize << (usize::BITS - 1 - rows.len().leading_zeros())
        };
        let (head, tail) = rows.split_at(n.min(rows.len()));
        rows = tail;
        Some(head)
    })
}

/// The part of `v` from `from`, `len` long, cut to what `v` holds.
pub(crate) fn part<T>(v: &[T], from: usize, len: usize) -> &[T] {
    let end = from.saturating_add(len).min(v.len());
    v.get(from.min(end)..end).unwrap_or(&[])
}

/// Rows per page when walking a chain.
pub(crate) const PAGE: i64 = 8192;

/// Column list of `entries`, in insert/select order.
pub(crate) const ENTRY_COLUMNS: &str =
    "chain_id, seq, prev_hash, hash, time_ms, inquiry_id, plane, \
officer_id, officer_name, unit, cert_fingerprint, purpose, inquiry_case, consent_id, method, path, \
subject_id, subject_type, items_requested, decision, reason, rule, statutory_basis, status, \
records_returned, records_suppressed, removed_keys, masked_keys, objection_labeled, \
upstream_status, latency_ms";

/// DDL, valid for both SQLite and PostgreSQL, run in order at open.
pub(crate) const DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS entries (
        chain_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        time_ms BIGINT NOT NULL,
        inquiry_id TEXT NOT NULL,
        plane TEXT NOT NULL,
        officer_id TEXT NOT NULL,
        officer_name TEXT NOT NULL,
        unit TEXT NOT NULL,
        cert_fingerprint TEXT NOT NULL,
        purpose TEXT,
        inquiry_case TEXT,
        consent_id TEXT,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        subject_id TEXT,
        subject_type TEXT,
        items_requested TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        rule TEXT NOT NULL,
        statutory_basis TEXT,
        status BIGINT NOT NULL,
        records_returned BIGINT NOT NULL,
        records_suppressed TEXT NOT NULL,
        removed_keys TEXT NOT NULL,
        masked_keys TEXT NOT NULL,
        objection_labeled BIGINT NOT NULL,
        upstream_status BIGINT,
        latency_ms BIGINT NOT NULL,
        tree_nodes TEXT,
        PRIMARY KEY (chain_id, seq)
    )",
    "CREATE INDEX IF NOT EXISTS entries_by_officer ON entries (officer_id, time_ms)",
    "CREATE INDEX IF NOT EXISTS entries_by_subject ON entries (subject_id, time_ms)",
    // Refusals and errors only (and below, reasons other than `ok`): the
    // served inquiries that make up most of a log are found through
    // `entries_by_time` when searched for, so these two indexes take no
    // insert for them — two b-trees fewer per served inquiry (issue 18).
    // A search must repeat the index's condition literally for SQLite to
    // use it (`Store::push_filter`). The full indexes of earlier builds,
    // same columns and another name, are dropped.
    "DROP INDEX IF EXISTS entries_by_decision",
    "CREATE INDEX IF NOT EXISTS entries_refused_by_decision ON entries (decision, time_ms) \
     WHERE decision <> 'allow'",
    "CREATE INDEX IF NOT EXISTS entries_by_time ON entries (time_ms)",
    // The console's search filters (issue 16): each served by an index
    // that also orders by time, for keyset paging.
    "CREATE INDEX IF NOT EXISTS entries_by_unit ON entries (unit, time_ms)",
    "CREATE INDEX IF NOT EXISTS entries_by_purpose ON entries (purpose, time_ms)",
    "CREATE INDEX IF NOT EXISTS entries_by_case ON entries (inquiry_case, time_ms)",
    "DROP INDEX IF EXISTS entries_by_reason",
    "CREATE INDEX IF NOT EXISTS entries_refused_by_reason ON entries (reason, time_ms) \
     WHERE reason <> 'ok'",
    "CREATE TABLE IF NOT EXISTS checkpoints (
        chain_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        time_ms BIGINT NOT NULL,
        signature TEXT NOT NULL,
        kind TEXT NOT NULL,
        every BIGINT NOT NULL,
        PRIMARY KEY (chain_id, seq, kind)
    )",
    "CREATE INDEX IF NOT EXISTS entries_by_inquiry ON entries (inquiry_id)",
    "CREATE TABLE IF NOT EXISTS notes (
        chain_id TEXT NOT NULL,
        size BIGINT NOT NULL,
        kind TEXT NOT NULL,
        time_ms BIGINT NOT NULL,
        note TEXT NOT NULL,
        PRIMARY KEY (chain_id, size, kind)
    )",
    "CREATE TABLE IF NOT EXISTS cosignatures (
        chain_id TEXT NOT NULL,
        size BIGINT NOT NULL,
        witness TEXT NOT NULL,
        time_ms BIGINT NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (chain_id, size, witness)
    )",
];

/// What one transaction inserts: entries with their rows' Merkle nodes
/// (`nodes[i]` for `entries[i]`, see [`crate::merkle`]) and checkpoint notes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Batch<'a> {
    pub(crate) entries: &'a [Entry],
    pub(crate) nodes: &'a [String],
    pub(crate) notes: &'a [NoteRow],
}

impl<'a> Batch<'a> {
    /// Checkpoint notes alone.
    pub(crate) fn notes(notes: &'a [NoteRow]) -> Self {
        Batch {
            notes,
            ..Batch::default()
        }
    }
}

/// The columns `notes` and `cosignatures` share, in table order: chain,
/// size, who or what signed (a note's kind, a cosignature's witness), time,
/// the signed text (the note, the cosignature line).
pub(crate) type SignedColumns = (String, i64, String, i64, String);

/// A row of `notes` or `cosignatures`, read and written through
/// [`SignedColumns`] (one query each for both tables).
pub(crate) trait SignedRow: Sized {
    /// The table.
    const TABLE: &'static str;
    /// Its five columns, in [`SignedColumns`] order.
    const COLUMNS: &'static str;
    /// The third column (who or what signed): rows sort by size, then it.
    const BY: &'static str;
    /// The row from its columns. A negative size only comes from an
    /// altered row (it reads as `u64::MAX`; its signature then fails).
    fn from_columns(c: SignedColumns) -> Self;
    /// The row's columns, for binding.
    fn columns(&self) -> (&str, u64, &str, i64, &str);
}

/// Declares a row type of a signed table and its [`SignedRow`].
macro_rules! signed_row {
    ($(#[$doc:meta])* $row:ident in $table:literal { $by:ident, $text:ident }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) struct $row {
            pub(crate) chain_id: String,
            pub(crate) size: u64,
            pub(crate) $by: String,
            pub(crate) time_ms: i64,
            pub(crate) $text: String,
        }

        impl SignedRow for $row {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static str =
                concat!("chain_id, size, ", stringify!($by), ", time_ms, ", stringify!($text));
            const BY: &'static str = stringify!($by);
            fn from_columns((chain_id, size, $by, time_ms, $text): SignedColumns) -> Self {
                let size = u64::try_from(size).unwrap_or(u64::MAX);
                $row { chain_id, size, $by, time_ms, $text }
            }
            fn columns(&self) -> (&str, u64, &str, i64, &str) {
                (&self.chain_id, self.size, &self.$by, self.time_ms, &self.$text)
            }
        }
    };
}

signed_row! {
    /// A stored checkpoint note (see [`crate::tree_head`]), as its row holds it.
    NoteRow in "notes" { kind, note }
}

signed_row! {
    /// A witness's cosignature line over one stored checkpoint.
    CosigRow in "cosignatures" { witness, line }
}

/// What is wrong with a stored column sqlx could not decode, in the
/// store's terms: its name and that it holds a value of another type (not
/// sqlx's wording, which names Rust types).
pub(crate) fn column_problem<R: sqlx::Row>(e: &sqlx::Error, row: &R) -> String {
    match e {
        sqlx::Error::ColumnDecode { index, .. } => {
            let index = index.trim_matches('"');
            let name = index
                .parse::<usize>()
                .ok()
                .and_then(|i| {
                    row.columns()
                        .get(i)
                        .map(|c| sqlx::Column::name(c).to_owned())
                })
                .unwrap_or_else(|| index.to_owned());
            format!("column {name} holds a value of another type than the schema's")
        }
        sqlx::Error::ColumnNotFound(name) => format!("column {name} is missing"),
        _ => "a column could not be read".to_owned(),
    }
}

/// A stored row that could not be turned back into an [`Entry`].
#[derive(Debug, Clone)]
pub(crate) struct BadRow {
    pub(crate) chain_id: String,
    pub(crate) seq: i64,
    pub(crate) why: String,
}

impl From<BadRow> for AuditError {
    fn from(b: BadRow) -> Self {
        AuditError::Corrupt {
            chain_id: b.chain_id,
            seq: b.seq,
            why: b.why,
        }
    }
}

/// Column values of one `entries` row, as the database returns them (or
/// as a JSON array of the columns in [`ENTRY_COLUMNS`] order: see
/// `SqliteStore::entries_after_json`).
#[derive(serde::Deserialize)]
pub(crate) struct RowParts {
    pub(crate) chain_id: String,
    pub(crate) seq: i64,
    pub(crate) prev_hash: String,
    pub(crate) hash: String,
    pub(crate) time_ms: i64,
    pub(crate) inquiry_id: String,
    pub(crate) plane: String,
    pub(crate) officer_id: String,
    pub(crate) officer_name: String,
    pub(crate) unit: String,
    pub(crate) cert_fingerprint: String,
    pub(crate) purpose: Option<String>,
    pub(crate) case: Option<String>,
    pub(crate) consent_id: Option<String>,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) subject_id: Option<String>,
    pub(crate) subject_type: Option<String>,
    pub(crate) items_requested: String,
    pub(crate) decision: String,
    pub(crate) reason: String,
    pub(crate) rule: String,
    pub(crate) statutory_basis: Option<String>,
    pub(crate) status: i64,
    pub(crate) records_returned: i64,
    pub(crate) records_suppressed: String,
    pub(crate) removed_keys: String,
    pub(crate) masked_keys: String,
    pub(crate) objection_labeled: i64,
    pub(crate) upstream_status: Option<i64>,
    pub(crate) latency_ms: i64,
}

impl RowParts {
    /// Converts column values into an [`Entry`], rejecting anything out of
    /// range or malformed (which only an altered row can contain).
    pub(crate) fn into_entry(self) -> Result<Entry, BadRow> {
        let chain_id = self.chain_id;
        let seq = self.seq;
        let bad = |why: &str| BadRow {
            chain_id: chain_id.clone(),
            seq,
            why: why.to_owned(),
        };
        let list = |s: &str, name: &str| -> Result<Vec<String>, BadRow> {
            serde_json::from_str(s).map_err(|_| bad(&format!("`{name}` is not a JSON list")))
        };
        let entry = NewEntry {
            time_ms: self.time_ms,
            inquiry_id: self.inquiry_id,
            plane: self.plane,
            officer_id: self.officer_id,
            officer_name: self.officer_name,
            unit: self.unit,
            cert_fingerprint: self.cert_fingerprint,
            purpose: self.purpose,
            case: self.case,
            consent_id: self.consent_id,
            method: self.method,
            path: self.path,
            subject_id: self.subject_id,
            subject_type: self.subject_type,
            items_requested: list(&self.items_requested, "items_requested")?,
            decision: self
                .decision
                .parse()
                .map_err(|_| bad("`decision` is not allow, deny or error"))?,
            reason: self.reason,
            rule: self.rule,
            statutory_basis: self.statutory_basis,
            status: u16::try_from(self.status).map_err(|_| bad("`status` out of range"))?,
            records_returned: u32::try_from(self.records_returned)
                .map_err(|_| bad("`records_returned` out of range"))?,
            records_suppressed: serde_json::from_str::<BTreeMap<String, u32>>(
                &self.records_suppressed,
            )
            .map_err(|_| bad("`records_suppressed` is not a JSON map of counts"))?,
            removed_keys: list(&self.removed_keys, "removed_keys")?,
            masked_keys: list(&self.masked_keys, "masked_keys")?,
            objection_labeled: u32::try_from(self.objection_labeled)
                .map_err(|_| bad("`objection_labeled` out of range"))?,
            upstream_status: match self.upstream_status {
                None => None,
                Some(s) => {
                    Some(u16::try_from(s).map_err(|_| bad("`upstream_status` out of range"))?)
                }
            },
            latency_ms: u64::try_from(self.latency_ms)
                .map_err(|_| bad("`latency_ms` out of range"))?,
        };
        let seq_u = u64::try_from(seq)
            .ok()
            .filter(|s| *s >= 1)
            .ok_or_else(|| bad("`seq` is not positive"))?;
        Ok(Entry {
            chain_id,
            seq: seq_u,
            prev_hash: self.prev_hash,
            hash: self.hash,
            entry,
        })
    }
}

/// The JSON-text columns of an entry, computed once before binding.
pub(crate) struct JsonCols {
    pub(crate) items_requested: String,
    pub(crate) records_suppressed: String,
    pub(crate) removed_keys: String,
    pub(crate) masked_keys: String,
}

impl JsonCols {
    pub(crate) fn of(e: &NewEntry) -> JsonCols {
        // Serialising Vec<String> / BTreeMap<String, u32> cannot fail.
        let j = |r: Result<String, serde_json::Error>| r.unwrap_or_else(|_| "[]".to_owned());
        JsonCols {
            items_requested: j(serde_json::to_string(&e.items_requested)),
            records_suppressed: serde_json::to_string(&e.records_suppressed)
                .unwrap_or_else(|_| "{}".to_owned()),
            removed_keys: j(serde_json::to_string(&e.removed_keys)),
            masked_keys: j(serde_json::to_string(&e.masked_keys)),
        }
    }
}

/// u64 → BIGINT. The writer clamps entry values to `i64::MAX` before
/// hashing, so this never changes a hashed value.
pub(crate) fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// What every store offers. No method removes or changes a row.
pub(crate) trait Store {
    /// Creates the schema if missing; checks its version.
    async fn migrate(&self) -> Result<(), AuditError>;
    /// Checks that a log exists here (for readers).
    async fn check_exists(&self) -> Result<(), AuditError>;
    /// Inserts a [`Batch`] in one transaction.
    async fn commit(&self, batch: Batch<'_>) -> Result<(), CommitError>;
    /// Every checkpoint note of a chain, by size then kind.
    async fn notes(&self, chain_id: &str) -> Result<Vec<NoteRow>, AuditError>;
    /// A chain's latest checkpoint note (largest size; of two at one size,
    /// the last by kind) with the cosignature lines stored for its size, in
    /// one query.
    async fn latest_note(
        &self,
        chain_id: &str,
    ) -> Result<Option<(NoteRow, Vec<String>)>, AuditError>;
    /// The stored Merkle nodes (hex, see [`crate::merkle`]) of the rows at
    /// these seqs; rows that do not exist are left out.
    async fn tree_nodes(
        &self,
        chain_id: &str,
        seqs: &[u64],
    ) -> Result<Vec<(u64, Option<String>)>, AuditError>;
    /// The entry with this inquiry id, if any.
    async fn find_inquiry(&self, inquiry_id: &str) -> Result<Option<Entry>, AuditError>;
    /// Stores a witness cosignature (a repeat is ignored).
    async fn add_cosignature(&self, c: &CosigRow) -> Result<(), AuditError>;
    /// The cosignatures stored for a chain's checkpoint of `size`.
    async fn cosignatures(&self, chain_id: &str, size: u64) -> Result<Vec<CosigRow>, AuditError>;
    /// Fills in the Merkle nodes of rows written before schema 3 (the one
    /// update the store allows: a NULL column, never a value).
    async fn set_tree_nodes(
        &self,
        chain_id: &str,
        rows: &[(u64, String)],
    ) -> Result<(), AuditError>;
    /// Chains with legacy (schema 2) checkpoints and no checkpoint note yet.
    async fn legacy_chains(&self) -> Result<Vec<String>, AuditError>;
    /// Highest `(seq, hash)` of a chain (on the write connection).
    async fn head(&self, chain_id: &str) -> Result<Option<(u64, String)>, AuditError>;
    /// Highest seq of a chain as readers see it (0: no entry).
    async fn last_seq(&self, chain_id: &str) -> Result<u64, AuditError>;
    /// Every chain id found in entries or checkpoints.
    async fn chains(&self) -> Result<Vec<String>, AuditError>;
    /// Chain ids with a checkpoint note but no final or sealed one.
    async fn open_chains(&self) -> Result<Vec<String>, AuditError>;
    /// Whether a chain's newest checkpoint is a `final` one: its gateway
    /// shut down cleanly (not a crash, not still running).
    async fn ended_cleanly(&self, chain_id: &str) -> Result<bool, AuditError>;
    /// Up to `limit` rows of a chain with `seq > after`, by seq.
    async fn entries_after(
        &self,
        chain_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Result<Entry, BadRow>>, AuditError>;
    /// Every checkpoint of a chain, by seq then kind. A row with an
    /// unknown kind is [`AuditError::Corrupt`].
    async fn checkpoints(&self, chain_id: &str) -> Result<Vec<Checkpoint>, AuditError>;
    /// Entries matching a filter, by time, chain, seq.
    async fn query(&self, f: &Filter) -> Result<Vec<Entry>, AuditError>;
    /// Per chain, the lowest and highest seq of the entries matching a
    /// filter (for export ranges), computed in the database.
    async fn matching_ranges(&self, f: &Filter) -> Result<Vec<(String, i64, i64)>, AuditError>;
    /// Entries of a plane per day and unit (see `Reader::daily_counts`).
    async fn daily_counts(
        &self,
        plane: &str,
        start_ms: i64,
        days: u32,
    ) -> Result<Vec<(u32, String, u64)>, AuditError>;
    /// Refused entries since `from_ms` per reason, most frequent first.
    async fn refusal_counts(&self, from_ms: i64) -> Result<Vec<(String, u64)>, AuditError>;
    /// Entries (every plane, every chain) with `from_ms <= time_ms < to_ms`.
    async fn count_between(&self, from_ms: i64, to_ms: i64) -> Result<u64, AuditError>;
}

/// Connection settings common to both stores.
#[derive(Debug, Clone)]
pub(crate) struct StoreOptions {
    /// Lock / busy / statement timeout for writes.
    pub(crate) timeout: Duration,
    /// Whether to create the database file if missing (SQLite).
    pub(crate) create: bool,
    /// Lock key of the chain this process writes (see [`chain_lock_key`]):
    /// PostgreSQL's write connection holds it as a session advisory lock,
    /// so other processes can tell the chain is live.
    pub(crate) owner: Option<Owner>,
    /// SQLite writer: refuse a batch (unavailable) when the file system
    /// under the store has less than this many bytes free (0: no floor).
    pub(crate) min_free_bytes: u64,
}

/// The chain a writer owns: its id and advisory lock key.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    /// [`chain_lock_key`] of `chain_id`.
    pub(crate) key: i64,
    /// The chain.
    pub(crate) chain_id: std::sync::Arc<str>,
}

/// The advisory lock key of a chain (FNV-1a 64 of its id).
pub(crate) fn chain_lock_key(chain_id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in chain_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_be_bytes(h.to_be_bytes())
}

/// A claim on a chain nobody writes any more (see [`AnyStore::claim_chain`]).
pub(crate) enum ChainClaim {
    /// SQLite: one writer process per file, nothing to hold.
    Free,
    /// PostgreSQL: the advisory lock, held on this connection until released.
    Pg(sqlx::pool::PoolConnection<sqlx::Postgres>, i64),
}

impl ChainClaim {
    /// Gives the claim up.
    pub(crate) async fn release(self) {
        if let ChainClaim::Pg(mut conn, key) = self {
            if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(key)
                .execute(&mut *conn)
                .await
            {
                // Dropping the connection from the pool ends the session
                // and with it the lock.
                tracing::warn!(error = %e, "releasing an audit chain lock failed");
                conn.detach();
            }
        }
    }
}

/// The store chosen by URL.
#[derive(Debug, Clone)]
pub(crate) enum AnyStore {
    /// Embedded SQLite.
    Sqlite(sqlite::SqliteStore),
    /// PostgreSQL.
    Postgres(postgres::PgStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $e,
            AnyStore::Postgres($s) => $e,
        }
    };
}

impl AnyStore {
    /// Connects by URL scheme.
    pub(crate) async fn connect(url: &str, opts: StoreOptions) -> Result<AnyStore, AuditError> {
        if url.starts_with("sqlite:") {
            Ok(AnyStore::Sqlite(
                sqlite::SqliteStore::connect(url, opts).await?,
            ))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(AnyStore::Postgres(
                postgres::PgStore::connect(url, opts).await?,
            ))
        } else {
            Err(AuditError::InvalidStoreUrl(redact_url(url)))
        }
    }

    pub(crate) async fn migrate(&self) -> Result<(), AuditError> {
        dispatch!(self, s => s.migrate().await)
    }
    pub(crate) async fn check_exists(&self) -> Result<(), AuditError> {
        dispatch!(self, s => s.check_exists().await)
    }
    pub(crate) async fn commit(&self, batch: Batch<'_>) -> Result<(), CommitError> {
        let result = dispatch!(self, s => s.commit(batch).await);
        if let (Ok(()), AnyStore::Sqlite(s)) = (&result, self) {
            s.committed();
        }
        result
    }
    /// Free bytes under a SQLite writer's store file (None otherwise).
    pub(crate) fn free_bytes(&self) -> Option<u64> {
        match self {
            AnyStore::Sqlite(s) => s.free_bytes(),
            AnyStore::Postgres(_) => None,
        }
    }
    pub(crate) async fn last_seq(&self, chain_id: &str) -> Result<u64, AuditError> {
        dispatch!(self, s => s.last_seq(chain_id).await)
    }
    /// Closes the write connection (after the final checkpoint): on
    /// PostgreSQL this also gives up the chain's writer lock.
    pub(crate) async fn close_writer(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close_writer().await,
            AnyStore::Postgres(s) => s.write.close().await,
        }
    }
    /// Closes every connection (writer and readers) and waits until they
    /// are: no file of the store stays open afterwards.
    pub(crate) async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
    /// Claims a chain that no live process writes (PostgreSQL: its advisory
    /// lock is free), or None if a live writer holds it. SQLite always
    /// grants the claim: one gateway process writes one file.
    pub(crate) async fn claim_chain(
        &self,
        chain_id: &str,
    ) -> Result<Option<ChainClaim>, AuditError> {
        match self {
            AnyStore::Sqlite(_) => Ok(Some(ChainClaim::Free)),
            AnyStore::Postgres(s) => s.claim_chain(chain_lock_key(chain_id)).await,
        }
    }
    pub(crate) async fn head(&self, chain_id: &str) -> Result<Option<(u64, String)>, AuditError> {
        dispatch!(self, s => s.head(chain_id).await)
    }
    pub(crate) async fn chains(&self) -> Result<Vec<String>, AuditError> {
        dispatch!(self, s => s.chains().await)
    }
    pub(crate) async fn open_chains(&self) -> Result<Vec<String>, AuditError> {
        dispatch!(self, s => s.open_chains().await)
    }
    pub(crate) async fn ended_cleanly(&self, chain_id: &str) -> Result<bool, AuditError> {
        dispatch!(self, s => s.ended_cleanly(chain_id).await)
    }
    pub(crate) async fn entries_after(
        &self,
        chain_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Result<Entry, BadRow>>, AuditError> {
        if let AnyStore::Sqlite(s) = self {
            if let Some(page) = s.entries_after_json(chain_id, after, limit).await {
                return Ok(page);
            }
        }
        dispatch!(self, s => s.entries_after(chain_id, after, limit).await)
    }
    pub(crate) async fn checkpoints(&self, chain_id: &str) -> Result<Vec<Checkpoint>, AuditError> {
        dispatch!(self, s => s.checkpoints(chain_id).await)
    }
    pub(crate) async fn query(&self, f: &Filter) -> Result<Vec<Entry>, AuditError> {
        dispatch!(self, s => s.query(f).await)
    }
    pub(crate) async fn notes(&self, chain_id: &str) -> Result<Vec<NoteRow>, AuditError> {
        dispatch!(self, s => s.notes(chain_id).await)
    }
    pub(crate) async fn latest_note(
        &self,
        chain_id: &str,
    ) -> Result<Option<(NoteRow, Vec<String>)>, AuditError> {
        dispatch!(self, s => s.latest_note(chain_id).await)
    }
    pub(crate) async fn tree_nodes(
        &self,
        chain_id: &str,
        seqs: &[u64],
    ) -> Result<Vec<(u64, Option<String>)>, AuditError> {
        dispatch!(self, s => s.tree_nodes(chain_id, seqs).await)
    }
    pub(crate) async fn find_inquiry(&self, inquiry_id: &str) -> Result<Option<Entry>, AuditError> {
        dispatch!(self, s => s.find_inquiry(inquiry_id).await)
    }
    pub(crate) async fn add_cosignature(&self, c: &CosigRow) -> Result<(), AuditError> {
        dispatch!(self, s => s.add_cosignature(c).await)
    }
    pub(crate) async fn cosignatures(
        &self,
        chain_id: &str,
        size: u64,
    ) -> Result<Vec<CosigRow>, AuditError> {
        dispatch!(self, s => s.cosignatures(chain_id, size).await)
    }
    pub(crate) async fn set_tree_nodes(
        &self,
        chain_id: &str,
        rows: &[(u64, String)],
    ) -> Result<(), AuditError> {
        dispatch!(self, s => s.set_tree_nodes(chain_id, rows).await)
    }
    pub(crate) async fn legacy_chains(&self) -> Result<Vec<String>, AuditError> {
        dispatch!(self, s => s.legacy_chains().await)
    }
    pub(crate) async fn matching_ranges(
        &self,
        f: &Filter,
    ) -> Result<Vec<(String, i64, i64)>, AuditError> {
        dispatch!(self, s => s.matching_ranges(f).await)
    }
    pub(crate) async fn daily_counts(
        &self,
        plane: &str,
        start_ms: i64,
        days: u32,
    ) -> Result<Vec<(u32, String, u64)>, AuditError> {
        dispatch!(self, s => s.daily_counts(plane, start_ms, days).await)
    }
    pub(crate) async fn refusal_counts(
        &self,
        from_ms: i64,
    ) -> Result<Vec<(String, u64)>, AuditError> {
        dispatch!(self, s => s.refusal_counts(from_ms).await)
    }
    pub(crate) async fn count_between(&self, from_ms: i64, to_ms: i64) -> Result<u64, AuditError> {
        dispatch!(self, s => s.count_between(from_ms, to_ms).await)
    }
}

/// Implements [`Store`] for a sqlx backend; the SQL is shared, the
/// placeholders come from `QueryBuilder`.
macro_rules! impl_common_store {
    ($store:ty, $db:ty, $row:ty) => {
        impl $store {
            /// Every row `qb` selects, read on a read connection; a failure
            /// is a store error.
            async fn read_all<T>(
                &self,
                qb: sqlx::QueryBuilder<'_, $db>,
            ) -> Result<Vec<T>, $crate::error::AuditError>
            where
                T: for<'r> sqlx::FromRow<'r, $row>,
            {
                let rows = self.read_rows(qb).await?;
                rows.iter()
                    .map(|row| T::from_row(row))
                    .collect::<Result<Vec<T>, sqlx::Error>>()
                    .map_err(|e| $crate::error::AuditError::Store(e.to_string()))
            }

            /// The raw rows `qb` selects, read on a read connection.
            async fn read_rows(
                &self,
                mut qb: sqlx::QueryBuilder<'_, $db>,
            ) -> Result<Vec<$row>, $crate::error::AuditError> {
                qb.build()
                    .fetch_all(&self.read)
                    .await
                    .map_err(|e| $crate::error::AuditError::Store(e.to_string()))
            }

            /// The entries `qb` selects (its columns [`ENTRY_COLUMNS`]); the
            /// first row that is not a valid entry fails the read.
            async fn read_entries(
                &self,
                qb: sqlx::QueryBuilder<'_, $db>,
            ) -> Result<Vec<$crate::entry::Entry>, $crate::error::AuditError> {
                let rows = self.read_rows(qb).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let parts = Self::row_parts(row)
                        .map_err(|e| $crate::error::AuditError::Store(e.to_string()))?;
                    out.push(parts.into_entry()?);
                }
                Ok(out)
            }

            fn row_parts(row: &$row) -> Result<$crate::store::RowParts, sqlx::Error> {
                use sqlx::Row;
                Ok($crate::store::RowParts {
                    chain_id: row.try_get(0)?,
                    seq: row.try_get(1)?,
                    prev_hash: row.try_get(2)?,
                    hash: row.try_get(3)?,
                    time_ms: row.try_get(4)?,
                    inquiry_id: row.try_get(5)?,
                    plane: row.try_get(6)?,
                    officer_id: row.try_get(7)?,
                    officer_name: row.try_get(8)?,
                    unit: row.try_get(9)?,
                    cert_fingerprint: row.try_get(10)?,
                    purpose: row.try_get(11)?,
                    case: row.try_get(12)?,
                    consent_id: row.try_get(13)?,
                    method: row.try_get(14)?,
                    path: row.try_get(15)?,
                    subject_id: row.try_get(16)?,
                    subject_type: row.try_get(17)?,
                    items_requested: row.try_get(18)?,
                    decision: row.try_get(19)?,
                    reason: row.try_get(20)?,
                    rule: row.try_get(21)?,
                    statutory_basis: row.try_get(22)?,
                    status: row.try_get(23)?,
                    records_returned: row.try_get(24)?,
                    records_suppressed: row.try_get(25)?,
                    removed_keys: row.try_get(26)?,
                    masked_keys: row.try_get(27)?,
                    objection_labeled: row.try_get(28)?,
                    upstream_status: row.try_get(29)?,
                    latency_ms: row.try_get(30)?,
                })
            }

            fn push_filter<'a>(qb: &mut sqlx::QueryBuilder<'a, $db>, f: &'a $crate::reader::Filter) {
                qb.push(" WHERE 1 = 1");
                if let Some(o) = &f.officer {
                    qb.push(" AND officer_id = ").push_bind(o.as_str());
                }
                if let Some(s) = &f.subject {
                    qb.push(" AND subject_id = ").push_bind(s.as_str());
                }
                if let Some(t) = f.from_ms {
                    qb.push(" AND time_ms >= ").push_bind(t);
                }
                if let Some(t) = f.to_ms {
                    qb.push(" AND time_ms <= ").push_bind(t);
                }
                if let Some(d) = f.decision {
                    qb.push(" AND decision = ").push_bind(d.as_str());
                    // Implied by the term before; spelt out so that SQLite
                    // uses the partial index `entries_refused_by_decision`.
                    if d != $crate::entry::Decision::Allow {
                        qb.push(" AND decision <> 'allow'");
                    }
                }
                if let Some(p) = &f.plane {
                    qb.push(" AND plane = ").push_bind(p.as_str());
                }
                if let Some(u) = &f.unit {
                    qb.push(" AND unit = ").push_bind(u.as_str());
                }
                if let Some(p) = &f.purpose {
                    qb.push(" AND purpose = ").push_bind(p.as_str());
                }
                if let Some(c) = &f.case {
                    qb.push(" AND inquiry_case = ").push_bind(c.as_str());
                }
                if let Some(r) = &f.reason {
                    qb.push(" AND reason = ").push_bind(r.as_str());
                    // As for the decision: `entries_refused_by_reason`.
                    if r != "ok" {
                        qb.push(" AND reason <> 'ok'");
                    }
                }
                // Keyset paging: seek past the cursor. The plain bound on
                // time_ms lets every (column, time_ms) index range-scan;
                // the rest breaks ties within one millisecond.
                if let Some(c) = &f.after {
                    let (cmp, bound) = if f.newest_first { ("<", " AND time_ms <= ") } else { (">", " AND time_ms >= ") };
                    let seq = $crate::store::big(c.seq);
                    qb.push(bound).push_bind(c.time_ms);
                    qb.push(format!(" AND (time_ms {cmp} ")).push_bind(c.time_ms);
                    qb.push(format!(" OR chain_id {cmp} ")).push_bind(c.chain_id.as_str());
                    qb.push(" OR (chain_id = ").push_bind(c.chain_id.as_str());
                    qb.push(format!(" AND seq {cmp} ")).push_bind(seq).push("))");
                }
                if f.newest_first {
                    qb.push(" ORDER BY time_ms DESC, chain_id DESC, seq DESC");
                } else {
                    qb.push(" ORDER BY time_ms, chain_id, seq");
                }
                if let Some(l) = f.limit {
                    qb.push(" LIMIT ").push_bind($crate::store::big(l));
                }
            }

            /// Appends `{verb} INTO entries (...) VALUES (...), ...` of
            /// `rows` (with their JSON columns `json`, same order); `verb`
            /// is `INSERT` or SQLite's `INSERT OR ROLLBACK`.
            fn push_entry_rows<'q>(
                qb: &mut sqlx::QueryBuilder<'q, $db>,
                verb: &str,
                rows: &'q [$crate::entry::Entry],
                json: &'q [$crate::store::JsonCols],
                nodes: &'q [String],
            ) {
                use $crate::store::big;
                qb.push(format!("{verb} INTO entries ({}, tree_nodes) ", $crate::store::ENTRY_COLUMNS));
                qb.push_values(rows.iter().zip(json.iter()).enumerate(), |mut b, (i, (e, j))| {
                    let n = &e.entry;
                    b.push_bind(e.chain_id.as_str())
                        .push_bind(big(e.seq))
                        .push_bind(e.prev_hash.as_str())
                        .push_bind(e.hash.as_str())
                        .push_bind(n.time_ms)
                        .push_bind(n.inquiry_id.as_str())
                        .push_bind(n.plane.as_str())
                        .push_bind(n.officer_id.as_str())
                        .push_bind(n.officer_name.as_str())
                        .push_bind(n.unit.as_str())
                        .push_bind(n.cert_fingerprint.as_str())
                        .push_bind(n.purpose.as_deref())
                        .push_bind(n.case.as_deref())
                        .push_bind(n.consent_id.as_deref())
                        .push_bind(n.method.as_str())
                        .push_bind(n.path.as_str())
                        .push_bind(n.subject_id.as_deref())
                        .push_bind(n.subject_type.as_deref())
                        .push_bind(j.items_requested.as_str())
                        .push_bind(n.decision.as_str())
                        .push_bind(n.reason.as_str())
                        .push_bind(n.rule.as_str())
                        .push_bind(n.statutory_basis.as_deref())
                        .push_bind(i64::from(n.status))
                        .push_bind(i64::from(n.records_returned))
                        .push_bind(j.records_suppressed.as_str())
                        .push_bind(j.removed_keys.as_str())
                        .push_bind(j.masked_keys.as_str())
                        .push_bind(i64::from(n.objection_labeled))
                        .push_bind(n.upstream_status.map(i64::from))
                        .push_bind(big(n.latency_ms))
                        .push_bind(nodes.get(i).map(String::as_str));
                });
            }

            /// Appends an `INSERT INTO notes|cosignatures (...) VALUES ...`.
            fn push_signed_rows<'q, R: $crate::store::SignedRow>(
                qb: &mut sqlx::QueryBuilder<'q, $db>,
                rows: &'q [R],
            ) {
                qb.push(format!("INSERT INTO {} ({}) ", R::TABLE, R::COLUMNS));
                qb.push_values(rows.iter(), |mut b, r| {
                    let (chain_id, size, by, time_ms, text) = r.columns();
                    b.push_bind(chain_id)
                        .push_bind($crate::store::big(size))
                        .push_bind(by)
                        .push_bind(time_ms)
                        .push_bind(text);
                });
            }

            /// The rows of a signed table for `chain_id` (of one size, if
            /// given), by size then signer.
            async fn read_signed<R: $crate::store::SignedRow>(
                &self,
                chain_id: &str,
                size: Option<u64>,
            ) -> Result<Vec<R>, $crate::error::AuditError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM {} WHERE chain_id = ",
                    R::COLUMNS,
                    R::TABLE
                ));
                qb.push_bind(chain_id);
                if let Some(size) = size {
                    qb.push(" AND size = ").push_bind($crate::store::big(size));
                }
                qb.push(format!(" ORDER BY size, {}", R::BY));
                let rows: Vec<$crate::store::SignedColumns> = self.read_all(qb).await?;
                Ok(rows.into_iter().map(R::from_columns).collect())
            }
        }

        impl $crate::store::Store for $store {
            async fn migrate(&self) -> Result<(), $crate::error::AuditError> {
                self.migrate_impl().await.map_err(|e| $crate::error::AuditError::Store(e))
            }

            async fn check_exists(&self) -> Result<(), $crate::error::AuditError> {
                let v: Result<Option<i64>, sqlx::Error> =
                    sqlx::query_scalar("SELECT MAX(version) FROM schema_version")
                        .fetch_one(&self.read)
                        .await;
                match v {
                    Ok(Some(v)) if v > $crate::store::SCHEMA_VERSION => {
                        Err($crate::error::AuditError::SchemaTooNew {
                            found: v,
                            supported: $crate::store::SCHEMA_VERSION,
                        })
                    }
                    Ok(Some(v)) if v < $crate::store::SCHEMA_VERSION => {
                        Err($crate::error::AuditError::SchemaTooOld {
                            found: v,
                            supported: $crate::store::SCHEMA_VERSION,
                        })
                    }
                    Ok(Some(_)) => Ok(()),
                    _ => Err($crate::error::AuditError::StoreMissing(self.display_url.clone())),
                }
            }

            async fn commit(
                &self,
                batch: $crate::store::Batch<'_>,
            ) -> Result<(), $crate::store::CommitError> {
                self.commit_batch(batch).await
            }

            async fn notes(
                &self,
                chain_id: &str,
            ) -> Result<Vec<$crate::store::NoteRow>, $crate::error::AuditError> {
                self.read_signed(chain_id, None).await
            }

            async fn latest_note(
                &self,
                chain_id: &str,
            ) -> Result<Option<($crate::store::NoteRow, Vec<String>)>, $crate::error::AuditError> {
                // One round trip: the latest note, joined with its size's
                // cosignatures (one row per cosignature, or one with NULL).
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT n.size, n.kind, n.time_ms, n.note, c.line FROM \
                     (SELECT size, kind, time_ms, note FROM notes WHERE chain_id = ",
                );
                qb.push_bind(chain_id)
                    .push(" ORDER BY size DESC, kind DESC LIMIT 1) AS n \
                           LEFT JOIN cosignatures c ON c.chain_id = ")
                    .push_bind(chain_id)
                    .push(" AND c.size = n.size ORDER BY c.witness");
                let rows: Vec<(i64, String, i64, String, Option<String>)> = self.read_all(qb).await?;
                let Some((size, kind, time_ms, note, _)) = rows.first().cloned() else {
                    return Ok(None);
                };
                let lines = rows.into_iter().filter_map(|r| r.4).collect();
                let columns = (chain_id.to_owned(), size, kind, time_ms, note);
                Ok(Some((<$crate::store::NoteRow as $crate::store::SignedRow>::from_columns(columns), lines)))
            }

            async fn tree_nodes(
                &self,
                chain_id: &str,
                seqs: &[u64],
            ) -> Result<Vec<(u64, Option<String>)>, $crate::error::AuditError> {
                if seqs.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT seq, tree_nodes FROM entries WHERE chain_id = ",
                );
                qb.push_bind(chain_id).push(" AND seq IN (");
                let mut sep = qb.separated(", ");
                for s in seqs {
                    sep.push_bind($crate::store::big(*s));
                }
                qb.push(")");
                let rows: Vec<(i64, Option<String>)> = self.read_all(qb).await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(s, n)| u64::try_from(s).ok().map(|s| (s, n)))
                    .collect())
            }

            async fn find_inquiry(
                &self,
                inquiry_id: &str,
            ) -> Result<Option<$crate::entry::Entry>, $crate::error::AuditError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM entries WHERE inquiry_id = ",
                    $crate::store::ENTRY_COLUMNS
                ));
                qb.push_bind(inquiry_id).push(" ORDER BY time_ms, chain_id, seq LIMIT 1");
                Ok(self.read_entries(qb).await?.into_iter().next())
            }

            async fn add_cosignature(
                &self,
                c: &$crate::store::CosigRow,
            ) -> Result<(), $crate::error::AuditError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new("");
                Self::push_signed_rows(&mut qb, std::slice::from_ref(c));
                qb.push(" ON CONFLICT DO NOTHING");
                // Not on the writer's connection: cosignatures of the final
                // checkpoint arrive after the writer closed it.
                qb.build()
                    .execute(&self.read)
                    .await
                    .map_err(|e| $crate::error::AuditError::Unavailable(e.to_string()))?;
                Ok(())
            }

            async fn cosignatures(
                &self,
                chain_id: &str,
                size: u64,
            ) -> Result<Vec<$crate::store::CosigRow>, $crate::error::AuditError> {
                self.read_signed(chain_id, Some(size)).await
            }

            async fn set_tree_nodes(
                &self,
                chain_id: &str,
                rows: &[(u64, String)],
            ) -> Result<(), $crate::error::AuditError> {
                let err = |e: sqlx::Error| $crate::error::AuditError::Store(e.to_string());
                let mut tx = self.write.begin().await.map_err(err)?;
                for (seq, nodes) in rows {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE entries SET tree_nodes = ");
                    qb.push_bind(nodes.as_str())
                        .push(" WHERE chain_id = ")
                        .push_bind(chain_id)
                        .push(" AND seq = ")
                        .push_bind($crate::store::big(*seq))
                        .push(" AND tree_nodes IS NULL");
                    qb.build().execute(&mut *tx).await.map_err(err)?;
                }
                tx.commit().await.map_err(err)
            }

            async fn legacy_chains(&self) -> Result<Vec<String>, $crate::error::AuditError> {
                sqlx::query_scalar(
                    "SELECT DISTINCT chain_id FROM checkpoints \
                     WHERE chain_id NOT IN (SELECT chain_id FROM notes) ORDER BY chain_id",
                )
                .fetch_all(&self.write)
                .await
                .map_err(|e| $crate::error::AuditError::Store(e.to_string()))
            }

            async fn last_seq(&self, chain_id: &str) -> Result<u64, $crate::error::AuditError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT MAX(seq) FROM entries WHERE chain_id = ");
                qb.push_bind(chain_id);
                let v: Option<i64> = qb
                    .build_query_scalar()
                    .fetch_one(&self.read)
                    .await
                    .map_err(|e| $crate::error::AuditError::Store(e.to_string()))?;
                Ok(v.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
            }

            async fn head(
                &self,
                chain_id: &str,
            ) -> Result<Option<(u64, String)>, $crate::error::AuditError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT seq, hash FROM entries WHERE chain_id = ");
                qb.push_bind(chain_id).push(" ORDER BY seq DESC LIMIT 1");
                let row: Option<(i64, String)> = qb
                    .build_query_as()
                    .fetch_optional(&self.write)
                    .await
                    .map_err(|e| $crate::error::AuditError::Unavailable(e.to_string()))?;
                Ok(row.map(|(s, h)| (u64::try_from(s).unwrap_or(0), h)))
            }

            async fn chains(&self) -> Result<Vec<String>, $crate::error::AuditError> {
                sqlx::query_scalar(
                    "SELECT chain_id FROM entries GROUP BY chain_id \
                     UNION SELECT chain_id FROM checkpoints \
                     UNION SELECT chain_id FROM notes ORDER BY 1",
                )
                .fetch_all(&self.read)
                .await
                .map_err(|e| $crate::error::AuditError::Store(e.to_string()))
            }

            async fn open_chains(&self) -> Result<Vec<String>, $crate::error::AuditError> {
                sqlx::query_scalar(
                    "SELECT chain_id FROM notes GROUP BY chain_id \
                     HAVING SUM(CASE WHEN kind IN ('final', 'sealed') THEN 1 ELSE 0 END) = 0 \
                     ORDER BY chain_id",
                )
                .fetch_all(&self.write)
                .await
                .map_err(|e| $crate::error::AuditError::Store(e.to_string()))
            }

            async fn ended_cleanly(&self, chain_id: &str) -> Result<bool, $crate::error::AuditError> {
                // The notes of the chain's largest size (the primary key's
                // prefix): a `final` among them is a clean shutdown.
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT kind FROM notes WHERE chain_id = ",
                );
                qb.push_bind(chain_id)
                    .push(" AND size = (SELECT MAX(size) FROM notes WHERE chain_id = ")
                    .push_bind(chain_id)
                    .push(")");
                let kinds: Vec<(String,)> = self.read_all(qb).await?;
                Ok(kinds.iter().any(|(k,)| k == "final"))
            }

            async fn entries_after(
                &self,
                chain_id: &str,
                after: i64,
                limit: i64,
            ) -> Result<Vec<Result<$crate::entry::Entry, $crate::store::BadRow>>, $crate::error::AuditError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM entries WHERE chain_id = ",
                    $crate::store::ENTRY_COLUMNS
                ));
                qb.push_bind(chain_id)
                    .push(" AND seq > ")
                    .push_bind(after)
                    .push(" ORDER BY seq LIMIT ")
                    .push_bind(limit);
                let rows = self.read_rows(qb).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    out.push(match Self::row_parts(row) {
                        Ok(p) => p.into_entry(),
                        Err(e) => Err($crate::store::BadRow {
                            chain_id: chain_id.to_owned(),
                            seq: sqlx::Row::try_get::<i64, _>(row, 1).unwrap_or(0),
                            why: $crate::store::column_problem(&e, row),
                        }),
                    });
                }
                Ok(out)
            }

            async fn checkpoints(
                &self,
                chain_id: &str,
            ) -> Result<Vec<$crate::checkpoint::Checkpoint>, $crate::error::AuditError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT chain_id, seq, hash, time_ms, signature, kind, every FROM checkpoints WHERE chain_id = ",
                );
                qb.push_bind(chain_id).push(" ORDER BY seq, kind");
                type CpRow = (String, i64, String, i64, String, String, i64);
                let rows: Vec<CpRow> = self.read_all(qb).await?;
                rows.into_iter()
                    .map(|(chain_id, seq, hash, time_ms, signature, kind, every)| {
                        let kind = kind.parse().map_err(|_| $crate::error::AuditError::Corrupt {
                            chain_id: chain_id.clone(),
                            seq,
                            why: "checkpoint of unknown kind".into(),
                        })?;
                        Ok($crate::checkpoint::Checkpoint {
                            chain_id,
                            kind,
                            // A negative number can only come from an altered
                            // row; it then fails its signature check.
                            every: u64::try_from(every).unwrap_or(u64::MAX),
                            seq: u64::try_from(seq).unwrap_or(u64::MAX),
                            hash,
                            time_ms,
                            signature,
                        })
                    })
                    .collect()
            }

            async fn query(
                &self,
                f: &$crate::reader::Filter,
            ) -> Result<Vec<$crate::entry::Entry>, $crate::error::AuditError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM entries",
                    $crate::store::ENTRY_COLUMNS
                ));
                Self::push_filter(&mut qb, f);
                self.read_entries(qb).await
            }

            async fn matching_ranges(
                &self,
                f: &$crate::reader::Filter,
            ) -> Result<Vec<(String, i64, i64)>, $crate::error::AuditError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT chain_id, MIN(seq), MAX(seq) FROM (SELECT chain_id, seq FROM entries",
                );
                Self::push_filter(&mut qb, f);
                qb.push(") AS matching GROUP BY chain_id ORDER BY chain_id");
                self.read_all(qb).await
            }

            async fn daily_counts(
                &self,
                plane: &str,
                start_ms: i64,
                days: u32,
            ) -> Result<Vec<(u32, String, u64)>, $crate::error::AuditError> {
                let end_ms = start_ms.saturating_add(i64::from(days).saturating_mul(86_400_000));
                let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT (time_ms - ");
                qb.push_bind(start_ms)
                    .push(") / 86400000 AS day, unit, COUNT(*) FROM entries WHERE plane = ")
                    .push_bind(plane)
                    .push(" AND time_ms >= ")
                    .push_bind(start_ms)
                    .push(" AND time_ms < ")
                    .push_bind(end_ms)
                    .push(" GROUP BY 1, unit ORDER BY 1, unit");
                let rows: Vec<(i64, String, i64)> = self.read_all(qb).await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(d, u, n)| Some((u32::try_from(d).ok()?, u, u64::try_from(n).ok()?)))
                    .collect())
            }

            async fn refusal_counts(
                &self,
                from_ms: i64,
            ) -> Result<Vec<(String, u64)>, $crate::error::AuditError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT reason, COUNT(*) FROM entries \
                     WHERE decision = 'deny' AND decision <> 'allow' AND time_ms >= ",
                );
                qb.push_bind(from_ms)
                    .push(" GROUP BY reason ORDER BY 2 DESC, reason");
                let rows: Vec<(String, i64)> = self.read_all(qb).await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(r, n)| Some((r, u64::try_from(n).ok()?)))
                    .collect())
            }

            async fn count_between(
                &self,
                from_ms: i64,
                to_ms: i64,
            ) -> Result<u64, $crate::error::AuditError> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT COUNT(*) FROM entries WHERE time_ms >= ",
                );
                qb.push_bind(from_ms).push(" AND time_ms < ").push_bind(to_ms);
                let (n,): (i64,) = qb
                    .build_query_as()
                    .fetch_one(&self.read)
                    .await
                    .map_err(|e| $crate::error::AuditError::Store(e.to_string()))?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
        }
    };
}
pub(crate) use impl_common_store;

#[cfg(test)]
mod tests;
