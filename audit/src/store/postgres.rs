//! The PostgreSQL store. Writes run on a dedicated connection with
//! `lock_timeout` and `statement_timeout` set, so a locked table fails a
//! batch as unavailable within a bounded time. Schema creation is
//! serialised across processes with a transaction-scoped advisory lock.
//! Accepts any `postgres://` URL sqlx understands, including
//! `?options=-csearch_path%3D...` to place the tables in a schema.
//!
//! `entries` is partitioned by month (UTC calendar months of `time_ms`,
//! partitions named `entries_yYYYYmMM`, plus `entries_default` for a row
//! no month partition takes), so a month an operator has archived
//! (`credgate audit archive`) can be detached and moved to cold storage by
//! PostgreSQL's own tools. The writer creates the partition of every month
//! a batch touches, and the next [`MONTHS_AHEAD`], before it inserts; a
//! store created before partitioning is converted once, at open. The
//! primary key is `(chain_id, seq, time_ms)` (a partitioned table's unique
//! keys must hold its partition key); a second row with the same
//! `(chain_id, seq)` is what `audit verify` reports as tampering.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::{
    classify, impl_common_store, migrate_schema, Batch, CommitError, JsonCols, StoreOptions, DDL,
};
use crate::error::{redact_url, AuditError};

/// Advisory lock key taken while creating the schema or a partition, mixed
/// with the current schema's name ([`SCHEMA_LOCK`]): logs in different
/// schemas of one database do not wait on each other (advisory locks are
/// database-wide), gateways sharing one log do.
const MIGRATION_LOCK: i64 = 0x6372_6564_6761_7465; // "credgate"

/// Takes [`MIGRATION_LOCK`] for this schema until the transaction ends.
const SCHEMA_LOCK: &str =
    "SELECT pg_advisory_xact_lock($1 # hashtext(coalesce(current_schema(), ''))::bigint)";

/// Month partitions created ahead of the newest entry's month.
const MONTHS_AHEAD: i64 = 2;
/// Month partitions made at open, from the current month on: the writer
/// then rarely creates one while it commits.
const MONTHS_AT_OPEN: i64 = 12;
/// How long batches stop trying to create a partition after a failure.
const PARTITION_RETRY: std::time::Duration = std::time::Duration::from_secs(10);

/// PostgreSQL store: one write connection and a small reader pool.
#[derive(Debug, Clone)]
pub(crate) struct PgStore {
    pub(super) write: PgPool,
    read: PgPool,
    display_url: String,
    /// Months (see [`month_of_ms`]) whose partition this process knows
    /// exists.
    partitions: Arc<Mutex<BTreeSet<i64>>>,
    /// When batches may try to create partitions again after a failure.
    partition_retry: Arc<Mutex<Option<std::time::Instant>>>,
}

/// Months since year 0 (`year * 12 + month - 1`) of a UTC instant.
pub(crate) fn month_of_ms(ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(ms.div_euclid(86_400_000));
    y * 12 + (m - 1)
}

/// First millisecond (UTC) of a month counted as in [`month_of_ms`].
pub(crate) fn month_start_ms(month: i64) -> i64 {
    let (y, m) = (month.div_euclid(12), month.rem_euclid(12) + 1);
    days_from_civil(y, m, 1) * 86_400_000
}

/// Partition name of a month: `entries_y2026m12`.
fn partition_name(month: i64) -> String {
    format!(
        "entries_y{:04}m{:02}",
        month.div_euclid(12),
        month.rem_euclid(12) + 1
    )
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (the
/// proleptic Gregorian calendar; H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a civil date (inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `entries` DDL with the table partitioned by `time_ms`.
fn partitioned(stmt: &str) -> String {
    if !stmt.contains("CREATE TABLE IF NOT EXISTS entries (") {
        return stmt.to_owned();
    }
    stmt.replace(
        "PRIMARY KEY (chain_id, seq)\n    )",
        "PRIMARY KEY (chain_id, seq, time_ms)\n    ) PARTITION BY RANGE (time_ms)",
    )
}

/// `CREATE TABLE` of one month's partition (or the default one).
fn create_partition(month: Option<i64>) -> String {
    match month {
        Some(m) => format!(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF entries FOR VALUES FROM ({}) TO ({})",
            partition_name(m),
            month_start_ms(m),
            month_start_ms(m + 1)
        ),
        None => "CREATE TABLE IF NOT EXISTS entries_default PARTITION OF entries DEFAULT".into(),
    }
}

impl PgStore {
    pub(super) async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    pub(crate) async fn connect(url: &str, opts: StoreOptions) -> Result<PgStore, AuditError> {
        let display_url = redact_url(url);
        // The server's notices ("relation … already exists, skipping" at
        // every start's idempotent DDL) are not the operator's business;
        // warnings and errors still come through.
        let base = PgConnectOptions::from_str(url)
            .map_err(|_| AuditError::InvalidStoreUrl(display_url.clone()))?
            .options([("client_min_messages", "warning")]);
        let ms = opts.timeout.as_millis().max(1);
        let write_opts = base.clone().options([
            ("lock_timeout", format!("{ms}")),
            ("statement_timeout", format!("{ms}")),
            // A connection cut without a reset (a dropped route, a failed
            // primary) is noticed by the server within about a minute, so
            // the session's chain lock does not outlive it for hours.
            ("tcp_keepalives_idle", "30".to_owned()),
            ("tcp_keepalives_interval", "10".to_owned()),
            ("tcp_keepalives_count", "3".to_owned()),
        ]);
        let acquire = opts.timeout.max(std::time::Duration::from_secs(1));
        let open_err =
            |e: sqlx::Error| AuditError::Store(format!("cannot connect to `{display_url}`: {e}"));
        let mut write = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(acquire);
        if let Some(owner) = opts.owner.clone() {
            // The write connection holds the chain's advisory lock for the
            // life of the session (retaken on a reconnect) and is never
            // retired while idle, so other processes see the chain is live.
            //
            // A reconnect (the server restarted, a failover) finds the lock
            // gone with the old session: another process starting meanwhile
            // may have claimed the chain and sealed it. The connection is
            // then refused — while someone else holds the lock, or for good
            // once the chain is closed — so the writer fails closed (503)
            // instead of appending after a checkpoint that closed its chain.
            write = write
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .after_connect(move |conn, _meta| {
                    let owner = owner.clone();
                    Box::pin(async move {
                        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                            .bind(owner.key)
                            .fetch_one(&mut *conn)
                            .await?;
                        if !got {
                            return Err(sqlx::Error::Protocol(
                                "another process holds this chain's lock".into(),
                            ));
                        }
                        // No table yet: a fresh store, nothing closed.
                        let exists: bool =
                            sqlx::query_scalar("SELECT to_regclass('notes') IS NOT NULL")
                                .fetch_one(&mut *conn)
                                .await?;
                        let closed: bool = exists
                            && sqlx::query_scalar(
                                "SELECT EXISTS (SELECT 1 FROM notes \
                                 WHERE chain_id = $1 AND kind IN ('sealed', 'final'))",
                            )
                            .bind(owner.chain_id.as_ref())
                            .fetch_one(&mut *conn)
                            .await?;
                        if closed {
                            tracing::error!(chain_id = %owner.chain_id, "this gateway's inquiry log chain was sealed by another process while the store was unreachable: appends refused; restart the gateway to start a new chain");
                            return Err(sqlx::Error::Protocol(
                                "this chain was closed by another process".into(),
                            ));
                        }
                        Ok(())
                    })
                });
        }
        let write = write.connect_with(write_opts).await.map_err(open_err)?;
        let read = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(acquire.max(std::time::Duration::from_secs(10)))
            .connect_with(base)
            .await
            .map_err(open_err)?;
        Ok(PgStore {
            write,
            read,
            display_url,
            partitions: Arc::new(Mutex::new(BTreeSet::new())),
            partition_retry: Arc::new(Mutex::new(None)),
        })
    }

    /// Makes sure the partition of every month in `months` (and the
    /// [`MONTHS_AHEAD`] after the last) exists, in a transaction of its own
    /// serialised with other processes. A partition that cannot be created
    /// is only a warning: its rows go to `entries_default` (still in the
    /// log, only not movable by month).
    async fn ensure_partitions(&self, months: &BTreeSet<i64>) {
        let missing: Vec<i64> = {
            let known = match self.partitions.lock() {
                Ok(k) => k,
                Err(p) => p.into_inner(),
            };
            let last = months.iter().next_back().copied();
            months
                .iter()
                .copied()
                .chain(last.into_iter().flat_map(|l| l + 1..=l + MONTHS_AHEAD))
                .filter(|m| !known.contains(m))
                .collect()
        };
        if missing.is_empty() {
            return;
        }
        // After a failure, a batch does not try again for a while: creating
        // a partition needs a short exclusive lock on `entries`, which a
        // long reader (an export, an archive) delays; while it waits, other
        // writers queue behind it.
        {
            let retry = match self.partition_retry.lock() {
                Ok(r) => r,
                Err(p) => p.into_inner(),
            };
            if retry.is_some_and(|at| std::time::Instant::now() < at) {
                return;
            }
        }
        let result = self.create_partitions(&missing).await;
        let mut retry = match self.partition_retry.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        match result {
            Ok(()) => {
                *retry = None;
                let mut known = match self.partitions.lock() {
                    Ok(k) => k,
                    Err(p) => p.into_inner(),
                };
                known.extend(missing);
            }
            Err(e) => {
                *retry = Some(std::time::Instant::now() + PARTITION_RETRY);
                tracing::warn!(
                    error = %e,
                    "cannot create the month partitions of the inquiry log yet (tried again in 10 s); rows of a month without one go to entries_default"
                );
            }
        }
    }

    async fn create_partitions(&self, months: &[i64]) -> Result<(), sqlx::Error> {
        let mut tx = self.write.begin().await?;
        // Never hold the writers of other gateways queued behind this DDL
        // for long: give up quickly, a later batch tries again.
        sqlx::query("SET LOCAL lock_timeout = '50ms'")
            .execute(&mut *tx)
            .await?;
        sqlx::query(SCHEMA_LOCK)
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        for m in months {
            // A month whose rows went to the default partition cannot get
            // its own partition any more (PostgreSQL refuses): leave it.
            let in_default: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM entries_default WHERE time_ms >= $1 AND time_ms < $2)",
            )
            .bind(month_start_ms(*m))
            .bind(month_start_ms(m + 1))
            .fetch_one(&mut *tx)
            .await?;
            if !in_default {
                sqlx::query(&create_partition(Some(*m)))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await
    }

    /// Converts an `entries` table created before partitioning (inside the
    /// migration's transaction): the rows are copied into a partitioned
    /// table of the same columns, month by month, and the old table is
    /// dropped; indexes are created again by the DDL that follows.
    async fn partition_existing(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    ) -> Result<(), String> {
        let e = |e: sqlx::Error| e.to_string();
        sqlx::query("ALTER TABLE entries RENAME TO entries_unpartitioned")
            .execute(&mut **tx)
            .await
            .map_err(e)?;
        let pk: Option<String> = sqlx::query_scalar(
            "SELECT conname::text FROM pg_constraint \
             WHERE conrelid = to_regclass('entries_unpartitioned') AND contype = 'p'",
        )
        .fetch_optional(&mut **tx)
        .await
        .map_err(e)?;
        if let Some(pk) = pk {
            sqlx::query(&format!(
                "ALTER TABLE entries_unpartitioned RENAME CONSTRAINT \"{}\" TO entries_unpartitioned_pkey",
                pk.replace('"', "")
            ))
            .execute(&mut **tx)
            .await
            .map_err(e)?;
        }
        let entries_ddl = DDL
            .iter()
            .find(|s| s.contains("CREATE TABLE IF NOT EXISTS entries ("))
            .map(|s| partitioned(s))
            .ok_or("no entries DDL")?;
        sqlx::query(&entries_ddl)
            .execute(&mut **tx)
            .await
            .map_err(e)?;
        sqlx::query(&create_partition(None))
            .execute(&mut **tx)
            .await
            .map_err(e)?;
        // Months with rows only (a log with a wild clock value must not
        // make thousands of empty partitions).
        let days: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT (time_ms / 86400000)::bigint FROM entries_unpartitioned",
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(e)?;
        let months: BTreeSet<i64> = days
            .into_iter()
            .map(|day| month_of_ms(day * 86_400_000))
            .collect();
        for m in months {
            sqlx::query(&create_partition(Some(m)))
                .execute(&mut **tx)
                .await
                .map_err(e)?;
        }
        let cols = format!("{}, tree_nodes", super::ENTRY_COLUMNS);
        let copied = sqlx::query(&format!(
            "INSERT INTO entries ({cols}) SELECT {cols} FROM entries_unpartitioned"
        ))
        .execute(&mut **tx)
        .await
        .map_err(e)?
        .rows_affected();
        sqlx::query("DROP TABLE entries_unpartitioned")
            .execute(&mut **tx)
            .await
            .map_err(e)?;
        tracing::info!(
            rows = copied,
            "inquiry log entries table partitioned by month"
        );
        Ok(())
    }

    async fn migrate_impl(&self) -> Result<(), String> {
        let mut tx = self.read.begin().await.map_err(|e| e.to_string())?;
        sqlx::query(SCHEMA_LOCK)
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        // 'r' an ordinary table (a store from before partitioning), 'p'
        // partitioned, None a new store.
        let kind: Option<String> = sqlx::query_scalar(
            "SELECT relkind::text FROM pg_class WHERE oid = to_regclass('entries')",
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
        migrate_schema::<sqlx::Postgres, _>(
            &mut *tx,
            DDL.iter().map(|stmt| partitioned(stmt)),
            "INSERT INTO schema_version (version) VALUES ($1)",
        )
        .await?;
        if kind.as_deref() == Some("r") {
            Self::partition_existing(&mut tx).await?;
            for stmt in DDL {
                sqlx::query(stmt)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        sqlx::query(&create_partition(None))
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        self.partitions_ahead(&mut tx).await;
        tx.commit().await.map_err(|e| e.to_string())
    }

    /// Inside the migration: the partitions of this month and the next
    /// [`MONTHS_AT_OPEN`] (those missing; each waits at most 1 s for its
    /// lock and is skipped, with a warning, when it cannot be made: a batch
    /// tries again later). The months found or made are remembered.
    async fn partitions_ahead(&self, tx: &mut sqlx::Transaction<'_, sqlx::Postgres>) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let first = month_of_ms(now_ms);
        let mut made = Vec::new();
        for m in first..=first + MONTHS_AT_OPEN {
            let exists: Result<bool, sqlx::Error> =
                sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                    .bind(partition_name(m))
                    .fetch_one(&mut **tx)
                    .await;
            match exists {
                Ok(true) => {
                    made.push(m);
                    continue;
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list the inquiry log's month partitions");
                    return;
                }
            }
            let attempt = async {
                sqlx::query("SAVEPOINT credgate_partition")
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("SET LOCAL lock_timeout = '1s'")
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(&create_partition(Some(m)))
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("RELEASE SAVEPOINT credgate_partition")
                    .execute(&mut **tx)
                    .await
            };
            match attempt.await {
                Ok(_) => made.push(m),
                Err(e) => {
                    let _ = sqlx::query("ROLLBACK TO SAVEPOINT credgate_partition")
                        .execute(&mut **tx)
                        .await;
                    tracing::warn!(error = %e, month = %partition_name(m), "month partition not created at open; a batch tries again later");
                }
            }
        }
        let mut known = match self.partitions.lock() {
            Ok(k) => k,
            Err(p) => p.into_inner(),
        };
        known.extend(made);
    }
}

impl PgStore {
    /// Takes the advisory lock `key` on a reader connection if it is free.
    pub(crate) async fn claim_chain(
        &self,
        key: i64,
    ) -> Result<Option<super::ChainClaim>, AuditError> {
        let err = |e: sqlx::Error| AuditError::Store(e.to_string());
        let mut conn = self.read.acquire().await.map_err(err)?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await
            .map_err(err)?;
        Ok(got.then_some(super::ChainClaim::Pg(conn, key)))
    }
}

impl PgStore {
    /// Inserts a batch in one transaction: entries in multi-row INSERTs of
    /// a few fixed shapes ([`super::insert_chunks`], so prepared statements
    /// are reused), then the checkpoints.
    async fn commit_batch(&self, batch: Batch<'_>) -> Result<(), CommitError> {
        let (entries, nodes, notes) = (batch.entries, batch.nodes, batch.notes);
        let unavailable = |e: sqlx::Error| CommitError::Unavailable(e.to_string());
        let months: BTreeSet<i64> = entries
            .iter()
            .map(|e| month_of_ms(e.entry.time_ms))
            .collect();
        self.ensure_partitions(&months).await;
        let mut tx = self.write.begin().await.map_err(unavailable)?;
        // A statement refused for its data is a rejection; the commit
        // itself failing leaves the outcome unknown.
        let mut first = 0usize;
        for chunk in super::insert_chunks(entries) {
            let json: Vec<JsonCols> = chunk.iter().map(|e| JsonCols::of(&e.entry)).collect();
            let mut qb = sqlx::QueryBuilder::new("");
            let chunk_nodes = super::part(nodes, first, chunk.len());
            first += chunk.len();
            Self::push_entry_rows(&mut qb, "INSERT", chunk, &json, chunk_nodes);
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| classify(&e))?;
        }
        if !notes.is_empty() {
            let mut qb = sqlx::QueryBuilder::new("");
            Self::push_signed_rows(&mut qb, notes);
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| classify(&e))?;
        }
        tx.commit().await.map_err(unavailable)
    }
}

impl_common_store!(PgStore, sqlx::Postgres, sqlx::postgres::PgRow);

#[cfg(test)]
mod tests;
