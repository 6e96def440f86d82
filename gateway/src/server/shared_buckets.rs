//! Token buckets shared by every gateway on one PostgreSQL store (issue 17):
//! the per-officer rate limits and the per-certificate refusal budget hold
//! across the cluster, coordinated through the database the inquiry log
//! already uses — no other server.
//!
//! Owns:
//! - the table `credgate_buckets` (UNLOGGED: a crash of PostgreSQL resets
//!   the buckets to full, which costs at most one burst per officer; it
//!   never holds an entry of the log), one row per bucket key: tokens,
//!   the database time of the last refill, the tokens granted by the last
//!   lease. Created at start under a transaction-scoped advisory lock;
//! - leases: a gateway takes a few tokens at once ([`lease_size`]: one for
//!   slow rates, up to [`MAX_LEASE`] for fast ones) in ONE statement that
//!   refills the bucket by the database clock (every gateway shares it),
//!   gives back what an expired lease left unused, and takes up to the
//!   lease; the next inquiries of that key on this gateway spend the lease
//!   without touching the database. A lease lives [`LEASE_TTL`]; what it
//!   did not spend goes back to the bucket with the next lease or the
//!   periodic [`SharedBuckets::sweep`]. So the cluster never admits more
//!   than the bucket grants (no over-admission), and under-admission is
//!   bounded by the tokens leased to other gateways for at most
//!   [`LEASE_TTL`];
//! - an empty bucket's refusals: when a lease gets nothing, the key is
//!   refused locally until the bucket's next token is due (a flood of
//!   refused requests does not become a flood of statements).
//!
//! Fails closed: a statement that fails or times out (the store timeout)
//! is [`SharedError::Unavailable`]; the caller answers 503
//! `audit_unavailable`, as for the log.
//!
//! Never: stores anything but the bucket key (role and officer id, or a
//! certificate fingerprint) and counts.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// Most tokens one lease takes.
pub const MAX_LEASE: u32 = 64;

/// How long a lease's tokens may be spent before they go back.
pub const LEASE_TTL: Duration = Duration::from_millis(500);

/// Advisory lock key taken while creating the table ("cgbucket").
const TABLE_LOCK: i64 = 0x6367_6275_636b_6574;

const DDL: &str = "CREATE UNLOGGED TABLE IF NOT EXISTS credgate_buckets (
    key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    granted DOUBLE PRECISION NOT NULL,
    updated_ms BIGINT NOT NULL
)";

/// Refill, give back, take: one statement, one row lock. `$1` key, `$2`
/// burst, `$3` tokens wanted, `$4` tokens per millisecond, `$5` tokens
/// given back. Every gateway refills by the database's clock.
const LEASE_SQL: &str = "INSERT INTO credgate_buckets AS b (key, tokens, granted, updated_ms)
SELECT $1, $2 - LEAST(FLOOR($2), $3), LEAST(FLOOR($2), $3),
       (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT
ON CONFLICT (key) DO UPDATE SET
    tokens = LEAST($2, b.tokens + $5 + GREATEST(0, EXCLUDED.updated_ms - b.updated_ms) * $4)
        - LEAST(FLOOR(LEAST($2, b.tokens + $5 + GREATEST(0, EXCLUDED.updated_ms - b.updated_ms) * $4)), $3),
    granted = LEAST(FLOOR(LEAST($2, b.tokens + $5 + GREATEST(0, EXCLUDED.updated_ms - b.updated_ms) * $4)), $3),
    updated_ms = GREATEST(b.updated_ms, EXCLUDED.updated_ms)
RETURNING granted, tokens";

const GIVE_BACK_SQL: &str =
    "UPDATE credgate_buckets SET tokens = LEAST($2, tokens + $3) WHERE key = $1";

/// The shared store could not be asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SharedError {
    /// Unreachable, locked or timed out: fail closed.
    #[error("shared limits unavailable: {0}")]
    Unavailable(String),
}

/// A bucket's rate: `rate_per_sec` tokens per second, at most `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketRate {
    /// Tokens added per second.
    pub rate_per_sec: f64,
    /// Bucket size.
    pub burst: u32,
}

impl BucketRate {
    /// `count` per `per`, burst `burst`.
    pub fn new(count: u32, per: Duration, burst: u32) -> BucketRate {
        BucketRate {
            rate_per_sec: f64::from(count) / per.as_secs_f64().max(f64::MIN_POSITIVE),
            burst: burst.max(1),
        }
    }
}

/// Tokens one lease takes for a bucket of `burst`: a thirty-second of it,
/// at least 1, at most [`MAX_LEASE`] (so three gateways hold at most ~10 %
/// of a bucket between them).
pub fn lease_size(burst: u32) -> u32 {
    (burst / 32).clamp(1, MAX_LEASE)
}

/// This gateway's view of one key.
#[derive(Debug, Clone, Copy)]
struct Local {
    /// Leased tokens not spent yet.
    tokens: u32,
    leased_at: Instant,
    /// The bucket was empty: refuse locally until then.
    empty_until: Option<Instant>,
    burst: u32,
}

/// The shared buckets (see the module docs).
#[derive(Debug)]
pub struct SharedBuckets {
    pool: PgPool,
    local: Mutex<HashMap<String, Local>>,
    /// Bound on a statement as this gateway waits for it: the server's
    /// `statement_timeout` ends only statements it received, not one lost
    /// on a connection that stopped forwarding.
    timeout: Duration,
}

fn unavailable(e: sqlx::Error) -> SharedError {
    SharedError::Unavailable(e.to_string())
}

impl SharedBuckets {
    /// Connects to the store (`postgres://...`, as `[audit] store`) with
    /// `timeout` on every statement and on taking a connection, and
    /// creates the table if missing.
    pub async fn connect(url: &str, timeout: Duration) -> Result<SharedBuckets, SharedError> {
        let ms = timeout.as_millis().max(1);
        let opts = PgConnectOptions::from_str(url)
            .map_err(|_| SharedError::Unavailable("the store URL is not a PostgreSQL URL".into()))?
            .options([
                ("lock_timeout", format!("{ms}")),
                ("statement_timeout", format!("{ms}")),
                ("client_min_messages", "warning".to_owned()),
            ]);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout.max(Duration::from_millis(100)))
            .connect_with(opts)
            .await
            .map_err(unavailable)?;
        let mut tx = pool.begin().await.map_err(unavailable)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(TABLE_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        sqlx::query(DDL)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(SharedBuckets {
            pool,
            local: Mutex::new(HashMap::new()),
            timeout: timeout.max(Duration::from_millis(100)),
        })
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, HashMap<String, Local>> {
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Spends one token of `key`'s bucket: `Ok(Ok(()))` admitted,
    /// `Ok(Err(seconds))` refused with that `Retry-After` (at least 1),
    /// `Err` the database could not be asked (fail closed).
    pub async fn take(&self, key: &str, rate: BucketRate) -> Result<Result<(), u64>, SharedError> {
        let now = Instant::now();
        let give_back = {
            let mut local = self.locked();
            match local.get_mut(key) {
                Some(l) if l.empty_until.is_some_and(|u| u > now) => {
                    let wait = l.empty_until.map_or(Duration::ZERO, |u| u - now);
                    return Ok(Err(retry_secs(wait)));
                }
                Some(l) if l.tokens > 0 && now.duration_since(l.leased_at) < LEASE_TTL => {
                    l.tokens -= 1;
                    return Ok(Ok(()));
                }
                // An expired lease's unspent tokens go back with this lease.
                Some(l) => std::mem::take(&mut l.tokens),
                None => 0,
            }
        };
        let want = lease_size(rate.burst);
        let leased = sqlx::query_as::<_, (f64, f64)>(LEASE_SQL)
            .bind(key)
            .bind(f64::from(rate.burst))
            .bind(f64::from(want))
            .bind(rate.rate_per_sec / 1000.0)
            .bind(f64::from(give_back))
            .fetch_one(&self.pool);
        // The tokens given back are lost with a statement that failed or
        // timed out: the bucket errs towards refusing. (An outside probe:
        // a store that stopped answering mid-statement held a request
        // 748 s, then served it.)
        let (granted, left) = match tokio::time::timeout(self.timeout, leased).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(unavailable(e)),
            Err(_) => {
                return Err(SharedError::Unavailable(format!(
                    "the store did not answer within {} ms",
                    self.timeout.as_millis()
                )))
            }
        };
        let granted = if granted.is_finite() && granted >= 1.0 {
            granted.min(f64::from(MAX_LEASE)) as u32
        } else {
            0
        };
        let now = Instant::now();
        let mut local = self.locked();
        let l = local.entry(key.to_owned()).or_insert(Local {
            tokens: 0,
            leased_at: now,
            empty_until: None,
            burst: rate.burst,
        });
        l.burst = rate.burst;
        if granted == 0 {
            let missing = (1.0 - left).max(0.0);
            let wait = Duration::from_secs_f64(
                (missing / rate.rate_per_sec.max(f64::MIN_POSITIVE)).clamp(0.001, 86_400.0),
            );
            l.tokens = 0;
            l.empty_until = Some(now + wait);
            return Ok(Err(retry_secs(wait)));
        }
        // Tokens another request of this key leased meanwhile stay spendable.
        l.tokens = l.tokens.saturating_add(granted - 1);
        l.leased_at = now;
        l.empty_until = None;
        Ok(Ok(()))
    }

    /// Gives the unspent tokens of expired leases back to their buckets and
    /// forgets idle keys (run every second). A failure keeps nothing: the
    /// tokens are lost, erring towards refusing.
    pub async fn sweep(&self) {
        let now = Instant::now();
        let back: Vec<(String, u32, u32)> = {
            let mut local = self.locked();
            let mut back = Vec::new();
            local.retain(|key, l| {
                let expired = now.duration_since(l.leased_at) >= LEASE_TTL;
                if expired && l.tokens > 0 {
                    back.push((key.clone(), std::mem::take(&mut l.tokens), l.burst));
                }
                let refusing = l.empty_until.is_some_and(|u| u > now);
                !expired || refusing
            });
            back
        };
        for (key, tokens, burst) in back {
            let given = sqlx::query(GIVE_BACK_SQL)
                .bind(&key)
                .bind(f64::from(burst))
                .bind(f64::from(tokens))
                .execute(&self.pool);
            match tokio::time::timeout(self.timeout, given).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "shared limits: unspent lease not given back")
                }
                Err(_) => tracing::warn!(
                    "shared limits: unspent lease not given back: the store did not answer in time"
                ),
            }
        }
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.sweep().await;
        self.pool.close().await;
    }
}

/// Whole seconds to wait, at least 1.
fn retry_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The bucket key of a role's rate for one officer.
pub fn rate_key(role: &str, officer: &str) -> String {
    format!("rate\u{1f}{role}\u{1f}{officer}")
}

/// The bucket key of a certificate's refusal budget.
pub fn refusal_key(fingerprint: &str) -> String {
    format!("refusal\u{1f}{fingerprint}")
}

#[cfg(test)]
mod tests;
