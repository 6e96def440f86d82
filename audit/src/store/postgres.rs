//! The PostgreSQL store. Writes run on a dedicated connection with
//! `lock_timeout` and `statement_timeout` set, so a locked table fails a
//! batch as unavailable within a bounded time. Schema creation is
//! serialised across processes with a transaction-scoped advisory lock.
//! Accepts any `postgres://` URL sqlx understands, including
//! `?options=-csearch_path%3D...` to place the tables in a schema.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::{
    classify, impl_common_store, CommitError, JsonCols, NoteRow, StoreOptions, DDL, SCHEMA_VERSION,
    V2_TO_V3,
};
use crate::entry::Entry;
use crate::error::{redact_url, AuditError};

/// Advisory lock key taken while creating the schema.
const MIGRATION_LOCK: i64 = 0x6372_6564_6761_7465; // "credgate"

/// PostgreSQL store: one write connection and a small reader pool.
#[derive(Debug, Clone)]
pub(crate) struct PgStore {
    pub(super) write: PgPool,
    read: PgPool,
    display_url: String,
}

impl PgStore {
    pub(super) async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    pub(crate) async fn connect(url: &str, opts: StoreOptions) -> Result<PgStore, AuditError> {
        let display_url = redact_url(url);
        let base = PgConnectOptions::from_str(url)
            .map_err(|_| AuditError::InvalidStoreUrl(display_url.clone()))?;
        let ms = opts.timeout.as_millis().max(1);
        let write_opts = base.clone().options([
            ("lock_timeout", format!("{ms}")),
            ("statement_timeout", format!("{ms}")),
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
        })
    }

    async fn migrate_impl(&self) -> Result<(), String> {
        let mut tx = self.read.begin().await.map_err(|e| e.to_string())?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        for stmt in DDL {
            sqlx::query(stmt)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
        }
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_version")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        match v {
            None => {
                sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                    .bind(SCHEMA_VERSION)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(format!(
                    "schema version {v} is newer than supported version {SCHEMA_VERSION}"
                ))
            }
            Some(2) => {
                for stmt in V2_TO_V3 {
                    sqlx::query(stmt)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                    .bind(SCHEMA_VERSION)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Some(v) if v < SCHEMA_VERSION => {
                return Err(format!(
                    "schema version {v} is older than supported version {SCHEMA_VERSION}: start a new log"
                ))
            }
            Some(_) => {}
        }
        tx.commit().await.map_err(|e| e.to_string())
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
    async fn commit_batch(
        &self,
        entries: &[Entry],
        nodes: &[String],
        notes: &[NoteRow],
    ) -> Result<(), CommitError> {
        let unavailable = |e: sqlx::Error| CommitError::Unavailable(e.to_string());
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
            Self::push_note_rows(&mut qb, notes);
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| classify(&e))?;
        }
        tx.commit().await.map_err(unavailable)
    }
}

impl_common_store!(PgStore, sqlx::Postgres, sqlx::postgres::PgRow);
