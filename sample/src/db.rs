//! The sample credit database: the spec's upstream API over a seeded SQLite file.
//!
//! This module owns a stand-in for a social-credit platform's database so the
//! gateway can be demonstrated and load-tested without one:
//!
//! - [`open_or_seed`] opens (or creates and seeds) a SQLite file in WAL mode
//!   with two tables, `subjects (id, type, json)` and
//!   `records (id, subject_id, item, decided_on, json)`, filled with a
//!   deterministic, realistic data set (valid GB 11643 / GB 32100 ids, Chinese
//!   names, addresses and companies, records exercising every lifecycle rule
//!   and nested sensitive keys);
//! - [`serve`] answers `GET /v1/subjects/{id}`, `GET /v1/subjects/{id}/records`
//!   and `GET /v1/records/{id}` in the spec's upstream record format over
//!   plain HTTP/1.1;
//! - [`well_known`] names subjects and records with known properties for
//!   demos and tests.
//!
//! It enforces nothing: it serves every field, including the ones the gateway
//! must remove, and records nothing about who asked.

mod http;
mod ids;
mod names;
mod seed;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use sqlx::sqlite::{SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use thiserror::Error;

use gateway::cli::CmdResult;

use crate::SampleDbArgs;

pub use http::serve;

/// Why the sample database could not be opened, seeded or served.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SampleDbError {
    /// The database file's folder could not be created.
    #[error("cannot create folder `{path}`: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The SQLite file could not be opened or its schema created.
    #[error("cannot open sample database `{path}`: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: sqlx::Error,
    },
    /// Writing the seed data failed.
    #[error("cannot seed sample database `{path}`: {source}")]
    Seed {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: sqlx::Error,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        /// The address as given.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl From<gateway::commands::BindError> for SampleDbError {
    fn from(e: gateway::commands::BindError) -> Self {
        SampleDbError::Bind {
            addr: e.addr,
            source: e.source,
        }
    }
}

/// Ids in every seeded database with known properties, for demos and tests.
///
/// Dates are relative to the day the database was seeded, so the properties
/// hold for a freshly seeded database whatever the calendar says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WellKnown {
    /// A legal person (GB 32100) with records of every kind: live, expired,
    /// extended by `punishment_ends`, restored, under objection, withheld,
    /// a commendation and a basic record; its subject carries prohibited
    /// (`Religion`, `宗教信仰`), consent-required (`tax_paid`, `income`,
    /// `real_estate`, `纳税`) and masked (`id_number`, `phone`) keys at
    /// several depths (its pending record's notes hold `病史`).
    pub legal_person: &'static str,
    /// The natural person who is `legal_person`'s legal representative.
    pub legal_representative: &'static str,
    /// A natural person (GB 11643, check character `X`) with every
    /// consent-required field (`income`, `savings`, `securities`,
    /// `commercial_insurance`, `real_estate`, `tax_paid`) and prohibited ones
    /// (`religion`, `blood_type`, `health.illness`, `health.medical_history`),
    /// and the same in Chinese under `家庭情况` (`宗教信仰`, `血型`, `指纹`,
    /// `基因`, `收入`, `存款`, `房产`, `身份证号`, `手机号码`).
    pub natural_person: &'static str,
    /// `administrative_penalty` of `legal_person` with `objection: "pending"`,
    /// inside its inquiry period, with `medical_history` nested under `data`.
    pub objection_pending_record: &'static str,
    /// `administrative_penalty` of `legal_person` decided 1500 days before
    /// seeding: its 1095-day inquiry period has ended.
    pub expired_record: &'static str,
    /// `administrative_penalty` of `legal_person` decided 2000 days before
    /// seeding whose `punishment_ends` lies 600 days after seeding: servable.
    pub extended_record: &'static str,
    /// `court_enforcement` of `legal_person` with `restored: true`.
    pub restored_record: &'static str,
    /// Live `court_enforcement` of `legal_person` (700 days old) with the
    /// representative's `id_number`, `phone` and `illness` nested four deep.
    pub enforcement_record: &'static str,
    /// `commendation` of `legal_person`, shown.
    pub commendation_record: &'static str,
    /// `commendation` of `legal_person` with `withheld_by_subject: true`.
    pub withheld_record: &'static str,
    /// `basic` record of `legal_person`.
    pub basic_record: &'static str,
}

/// The well-known ids, present in every seeded database whatever its size.
pub fn well_known() -> WellKnown {
    use seed::fixture as f;
    WellKnown {
        legal_person: f::LEGAL_PERSON,
        legal_representative: f::LEGAL_REPRESENTATIVE,
        natural_person: f::NATURAL_PERSON,
        objection_pending_record: f::OBJECTION_PENDING,
        expired_record: f::EXPIRED,
        extended_record: f::EXTENDED,
        restored_record: f::RESTORED,
        enforcement_record: f::ENFORCEMENT,
        commendation_record: f::COMMENDATION,
        withheld_record: f::WITHHELD,
        basic_record: f::BASIC,
    }
}

/// Schema, applied on every open (idempotent).
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS subjects (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        json TEXT NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS records (
        id TEXT PRIMARY KEY,
        subject_id TEXT NOT NULL REFERENCES subjects(id),
        item TEXT NOT NULL,
        decided_on TEXT NOT NULL,
        json TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS records_by_subject ON records (subject_id, item, decided_on)",
    "CREATE INDEX IF NOT EXISTS subjects_by_type ON subjects (type)",
];

/// Rows per multi-row `INSERT` while seeding.
const SEED_BATCH: usize = 100;

/// Open the sample database at `db`, creating and seeding it when the file is
/// missing or holds no subjects (`subjects` natural persons and `subjects`
/// legal persons, at least the well-known ones). An existing database is
/// reused as is. A progress line goes to stderr while seeding.
pub async fn open_or_seed(db: &Path, subjects: u32) -> Result<SqlitePool, SampleDbError> {
    let options = gateway::sqlite_file::options(db)
        .map_err(|(path, source)| SampleDbError::CreateDir { path, source })?
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true);
    let open_err = |source| SampleDbError::Open {
        path: db.to_path_buf(),
        source,
    };
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        .connect_with(options)
        .await
        .map_err(open_err)?;
    for stmt in SCHEMA {
        sqlx::query(stmt).execute(&pool).await.map_err(open_err)?;
    }
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM subjects")
        .fetch_one(&pool)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(open_err)?;
    if count == 0 {
        seed_into(&pool, db, subjects)
            .await
            .map_err(|source| SampleDbError::Seed {
                path: db.to_path_buf(),
                source,
            })?;
    }
    Ok(pool)
}

/// Today's date in the platform's time zone (+08:00): the seeding anchor.
fn platform_today() -> time::Date {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::now_utc().to_offset(offset).date()
}

/// Progress on stderr: a rewritten line on a terminal, start and end lines otherwise.
struct Progress {
    path: String,
    total: usize,
    tty: bool,
    started: Instant,
}

impl Progress {
    fn start(path: &Path, total: usize) -> Self {
        let p = Progress {
            path: path.display().to_string(),
            total,
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
        };
        if !p.tty {
            eprintln!(
                "credgate sample-db: seeding `{}` with {} subjects ...",
                p.path, p.total
            );
        }
        p
    }

    fn update(&self, done: usize) {
        if self.tty {
            eprint!(
                "\rcredgate sample-db: seeding `{}`: {done}/{} subjects",
                self.path, self.total
            );
        }
    }

    fn finish(&self, records: usize) {
        let secs = self.started.elapsed().as_secs_f64();
        if self.tty {
            eprintln!();
        }
        eprintln!(
            "credgate sample-db: seeded {} subjects and {records} records in {secs:.1}s",
            self.total
        );
    }
}

/// Generate the data set and write it in one transaction.
async fn seed_into(pool: &SqlitePool, db: &Path, subjects: u32) -> Result<(), sqlx::Error> {
    let anchor = platform_today();
    let generated = seed::Generator::new(anchor).generate(subjects);
    let progress = Progress::start(db, generated.len());
    let mut records = Vec::new();
    let mut tx = pool.begin().await?;
    let mut done = 0usize;
    for chunk in generated.chunks(SEED_BATCH) {
        let mut sql = String::from("INSERT INTO subjects (id, type, json) VALUES ");
        push_placeholders(&mut sql, chunk.len(), 3);
        let mut q = sqlx::query(&sql);
        for g in chunk {
            q = q
                .bind(&g.subject.id)
                .bind(g.subject.kind)
                .bind(&g.subject.json);
        }
        q.execute(&mut *tx).await?;
        records.extend(chunk.iter().flat_map(|g| g.records.iter()));
        done += chunk.len();
        progress.update(done);
    }
    for chunk in records.chunks(SEED_BATCH) {
        let mut sql =
            String::from("INSERT INTO records (id, subject_id, item, decided_on, json) VALUES ");
        push_placeholders(&mut sql, chunk.len(), 5);
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(&r.id)
                .bind(&r.subject_id)
                .bind(r.item)
                .bind(&r.decided_on)
                .bind(&r.json);
        }
        q.execute(&mut *tx).await?;
    }
    for (key, value) in [
        ("anchor", anchor.to_string()),
        ("subjects_per_type", subjects.to_string()),
        ("generator", "1".to_string()),
    ] {
        sqlx::query("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    sqlx::query("PRAGMA optimize").execute(pool).await?;
    progress.finish(records.len());
    Ok(())
}

/// Append `rows` groups of `cols` `?` placeholders: `(?,?),(?,?)`.
fn push_placeholders(sql: &mut String, rows: usize, cols: usize) {
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..cols {
            if c > 0 {
                sql.push(',');
            }
            sql.push('?');
        }
        sql.push(')');
    }
}

/// `credgate sample-db`: seed if needed, print the address, serve until Ctrl-C.
pub fn run_cli(args: &SampleDbArgs) -> CmdResult {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(SampleDbError::Runtime)?;
    rt.block_on(async {
        let pool = open_or_seed(&args.db, args.subjects).await?;
        let listener = bind(&args.listen).await?;
        let addr = listener
            .local_addr()
            .map_err(|source| SampleDbError::Bind {
                addr: args.listen.clone(),
                source,
            })?;
        let stop = gateway::commands::termination_signal();
        println!("credgate sample-db: listening on http://{addr}");
        serve(listener, pool.clone(), stop).await?;
        pool.close().await;
        Ok::<_, SampleDbError>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Bind a TCP listener on `addr` (`host:port`; a socket address or a name).
pub(crate) async fn bind(addr: &str) -> Result<tokio::net::TcpListener, SampleDbError> {
    Ok(gateway::commands::bind(addr).await?)
}

#[cfg(test)]
mod tests;
