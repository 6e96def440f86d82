//! Test support: a fresh SQLite file or PostgreSQL schema per test, raw SQL
//! access to it (for tampering), and sample entries.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::str::FromStr;

use audit::{AuditConfig, Decision, NewEntry};
use sqlx::Connection;

/// Where a test's log lives.
pub(crate) struct TestStore {
    pub url: String,
    pub kind: Kind,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

/// Which backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// A raw connection for tampering and locking.
pub(crate) enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Raw {
    pub(crate) async fn exec(&mut self, sql: &str) {
        match self {
            Raw::Sqlite(c) => {
                sqlx::raw_sql(sql).execute(c).await.unwrap();
            }
            Raw::Postgres(c) => {
                sqlx::raw_sql(sql).execute(c).await.unwrap();
            }
        }
    }

    pub(crate) async fn scalar_string(&mut self, sql: &str) -> String {
        match self {
            Raw::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
            Raw::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
        }
    }

    /// A query's single integer (e.g. a `COUNT(*)`).
    pub(crate) async fn scalar_i64(&mut self, sql: &str) -> i64 {
        match self {
            Raw::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
            Raw::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
        }
    }

    /// The checkpoint notes of a chain as `(size, kind)`, by size then kind.
    pub(crate) async fn notes(&mut self, chain_id: &str) -> Vec<(i64, String)> {
        let sql = format!(
            "SELECT size, kind FROM notes WHERE chain_id = '{chain_id}' ORDER BY size, kind"
        );
        match self {
            Raw::Sqlite(c) => sqlx::query_as(&sql).fetch_all(c).await.unwrap(),
            Raw::Postgres(c) => sqlx::query_as(&sql).fetch_all(c).await.unwrap(),
        }
    }

    /// The signed note text of a chain's checkpoint of this size and kind.
    pub(crate) async fn note(&mut self, chain_id: &str, size: u64, kind: &str) -> String {
        self.scalar_string(&format!(
            "SELECT note FROM notes WHERE chain_id = '{chain_id}' AND size = {size} \
             AND kind = '{kind}'"
        ))
        .await
    }
}

fn random_suffix() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    ring::rand::SystemRandom::new().fill(&mut b).unwrap();
    hex::encode(b)
}

impl TestStore {
    pub(crate) fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/dir/log.db", dir.path().display());
        TestStore {
            url,
            kind: Kind::Sqlite,
            _dir: Some(dir),
            schema: None,
        }
    }

    /// A fresh schema on the test PostgreSQL, or None (with a loud notice)
    /// when `CREDGATE_TEST_POSTGRES_URL` is unset outside CI. In CI a missing
    /// URL fails the test.
    pub(crate) async fn postgres() -> Option<TestStore> {
        let base = match std::env::var("CREDGATE_TEST_POSTGRES_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                if std::env::var_os("CI").is_some() {
                    panic!(
                        "CREDGATE_TEST_POSTGRES_URL is not set but CI is: the PostgreSQL \
                         store tests must run in CI (e.g. postgres://postgres@127.0.0.1:5432/test)"
                    );
                }
                // Straight to stderr: libtest would hide an eprintln! of a passing test.
                use std::io::Write;
                let _ = std::io::stderr().write_all(
                    b"\n!! NOTICE: CREDGATE_TEST_POSTGRES_URL unset: PostgreSQL store test NOT RUN !!\n",
                );
                return None;
            }
        };
        let schema = format!("cg_test_{}", random_suffix());
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
        Some(TestStore {
            url,
            kind: Kind::Postgres,
            _dir: None,
            schema: Some((base, schema)),
        })
    }

    /// A SQLite store holding a copy of `fixture` (a store file written by
    /// an earlier release): tests may alter the copy, never the fixture.
    pub(crate) fn sqlite_copy_of(fixture: &std::path::Path) -> TestStore {
        let store = TestStore::sqlite();
        let path = std::path::PathBuf::from(store.url.strip_prefix("sqlite://").unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::copy(fixture, &path).unwrap();
        store
    }

    pub(crate) async fn raw(&self) -> Raw {
        match self.kind {
            Kind::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap();
                let opts = sqlx::sqlite::SqliteConnectOptions::from_str("sqlite://")
                    .unwrap()
                    .filename(path);
                Raw::Sqlite(sqlx::SqliteConnection::connect_with(&opts).await.unwrap())
            }
            Kind::Postgres => Raw::Postgres(sqlx::PgConnection::connect(&self.url).await.unwrap()),
        }
    }

    pub(crate) fn config(&self, key: &[u8], checkpoint_every: u64) -> AuditConfig {
        AuditConfig {
            store_url: self.url.clone(),
            signing_key_pkcs8: key.to_vec(),
            checkpoint_every,
            queue_capacity: 4096,
            store_timeout_ms: 300,
            // No checkpoints by the clock unless a test asks for them: the
            // counts the tests assert stay exact however slow the machine.
            checkpoint_interval_ms: 3_600_000,
            ..AuditConfig::default()
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.schema.take() {
            // Drop the schema from a plain thread: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&base).await {
                        let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .execute(&mut c)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A sample entry; `i` makes it unique.
pub(crate) fn entry(
    i: u64,
    officer: &str,
    subject: Option<&str>,
    decision: Decision,
    time_ms: i64,
) -> NewEntry {
    let mut suppressed = BTreeMap::new();
    if i.checked_rem(3) == Some(0) {
        suppressed.insert("inquiry_period_expired".to_owned(), 1);
    }
    NewEntry {
        time_ms,
        inquiry_id: format!("inq-{i}"),
        plane: "data".into(),
        officer_id: officer.into(),
        officer_name: format!("Officer {officer}"),
        unit: "Hunan AMR".into(),
        cert_fingerprint: "ab".repeat(32),
        purpose: Some("administrative_permit".into()),
        case: Some(format!("CASE-{i}")),
        consent_id: None,
        method: "GET".into(),
        path: format!("/v1/subjects/{}", subject.unwrap_or("-")),
        subject_id: subject.map(str::to_owned),
        subject_type: subject.map(|_| "legal_person".to_owned()),
        items_requested: vec!["basic".into()],
        decision,
        reason: if decision == Decision::Allow {
            "ok".into()
        } else {
            "item_not_granted".into()
        },
        rule: "role:market_inspector".into(),
        statutory_basis: None,
        status: if decision == Decision::Allow {
            200
        } else {
            403
        },
        records_returned: (i % 5) as u32,
        records_suppressed: suppressed,
        removed_keys: vec!["religion".into()],
        masked_keys: vec!["id_number".into()],
        objection_labeled: 0,
        upstream_status: if decision == Decision::Allow {
            Some(200)
        } else {
            None
        },
        latency_ms: i,
    }
}

/// A plain allowed entry at time `1_780_000_000_000 + i`.
pub(crate) fn simple(i: u64) -> NewEntry {
    entry(
        i,
        "HN-AMR-0001",
        Some("91350100M000100Y43"),
        Decision::Allow,
        1_780_000_000_000 + i as i64,
    )
}

/// Declares one test per backend from an `async fn(&TestStore)`.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = $crate::common::TestStore::sqlite();
                    super::$name(&store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(store) = $crate::common::TestStore::postgres().await else { return };
                    super::$name(&store).await;
                }
            )*
        }
    };
}
