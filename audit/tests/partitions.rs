//! Issue 17: the PostgreSQL `entries` table is partitioned by (UTC) month,
//! so an archived month can be moved to cold storage with PostgreSQL's own
//! tools; a store created before partitioning is converted at open and
//! keeps verifying.

mod common;

use audit::{generate_signing_key, AuditLog, Reader, VerifyReport};
use common::{simple, Raw, TestStore};

/// 2026-01-01, 2026-02-01 and 2026-03-01 (UTC) in milliseconds.
const JAN: i64 = 1_767_225_600_000;
const FEB: i64 = 1_769_904_000_000;
const MAR: i64 = 1_772_323_200_000;

/// Partitions of `entries` and their row counts, by name.
async fn partitions(raw: &mut Raw) -> Vec<(String, i64)> {
    let Raw::Postgres(c) = raw else {
        unreachable!("PostgreSQL only")
    };
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = to_regclass('entries') ORDER BY 1",
    )
    .fetch_all(&mut *c)
    .await
    .unwrap();
    let mut out = Vec::new();
    for n in names {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {n}"))
            .fetch_one(&mut *c)
            .await
            .unwrap();
        out.push((n, rows));
    }
    out
}

/// Asserts `entries` is a partitioned table; its partitions and row counts.
async fn partitioned(raw: &mut Raw) -> Vec<(String, i64)> {
    assert_eq!(relkind(raw).await, "p");
    partitions(raw).await
}

async fn relkind(raw: &mut Raw) -> String {
    raw.scalar_string("SELECT relkind::text FROM pg_class WHERE oid = to_regclass('entries')")
        .await
}

/// Appends `per_month` entries in each of January, February and March 2026.
async fn three_months(store: &TestStore, key: &[u8], per_month: u64) -> AuditLog {
    let log = AuditLog::open(&store.config(key, 5)).await.unwrap();
    let mut i = 1;
    for start in [JAN, FEB, MAR] {
        for k in 0..per_month {
            let mut e = simple(i);
            e.time_ms = start + i64::try_from(k).unwrap() * 60_000;
            log.append(e).await.unwrap();
            i += 1;
        }
    }
    log
}

fn intact_entries(report: VerifyReport) -> u64 {
    match report {
        VerifyReport::Intact { entries, .. } => entries,
        other => panic!("not intact: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_go_to_one_partition_per_month() {
    let Some(store) = TestStore::postgres().await else {
        return;
    };
    let key = generate_signing_key().unwrap();
    let log = three_months(&store, &key, 4).await;
    log.shutdown().await.unwrap();
    let mut raw = store.raw().await;
    let parts = partitioned(&mut raw).await;
    let count = |name: &str| parts.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    assert_eq!(count("entries_y2026m01"), Some(4), "{parts:?}");
    assert_eq!(count("entries_y2026m02"), Some(4), "{parts:?}");
    assert_eq!(count("entries_y2026m03"), Some(4), "{parts:?}");
    // Months ahead of the newest entry exist already (empty), and the
    // default partition holds nothing.
    assert_eq!(count("entries_y2026m04"), Some(0), "{parts:?}");
    assert_eq!(count("entries_y2026m05"), Some(0), "{parts:?}");
    assert_eq!(count("entries_default"), Some(0), "{parts:?}");

    let reader = Reader::connect(&store.url).await.unwrap();
    assert_eq!(
        intact_entries(reader.verify(&log.public_key()).await.unwrap()),
        12
    );

    // A month detached from the table (rather than moved to a cold
    // tablespace, which keeps it attached) is no longer in the live log:
    // verify says so (a gap) rather than pretending the log is whole.
    raw.exec("ALTER TABLE entries DETACH PARTITION entries_y2026m02")
        .await;
    let report = reader.verify(&log.public_key()).await.unwrap();
    assert!(!report.is_intact(), "{report:?}");
    raw.exec(&format!(
        "ALTER TABLE entries ATTACH PARTITION entries_y2026m02 FOR VALUES FROM ({FEB}) TO ({MAR})"
    ))
    .await;
    assert_eq!(
        intact_entries(reader.verify(&log.public_key()).await.unwrap()),
        12
    );
    // A duplicated (chain, seq) — the primary key holds time_ms too — is
    // tampering all the same.
    raw.exec(&format!(
        "INSERT INTO entries (chain_id, seq, prev_hash, hash, time_ms, inquiry_id, plane, \
         officer_id, officer_name, unit, cert_fingerprint, purpose, inquiry_case, consent_id, \
         method, path, subject_id, subject_type, items_requested, decision, reason, rule, \
         statutory_basis, status, records_returned, records_suppressed, removed_keys, \
         masked_keys, objection_labeled, upstream_status, latency_ms, tree_nodes) \
         SELECT chain_id, seq, prev_hash, hash, time_ms + 1, inquiry_id, plane, officer_id, \
         officer_name, unit, cert_fingerprint, purpose, inquiry_case, consent_id, method, path, \
         subject_id, subject_type, items_requested, decision, reason, rule, statutory_basis, \
         status, records_returned, records_suppressed, removed_keys, masked_keys, \
         objection_labeled, upstream_status, latency_ms, tree_nodes FROM entries \
         WHERE seq = 3 AND time_ms < {FEB}"
    ))
    .await;
    let report = reader.verify(&log.public_key()).await.unwrap();
    assert!(!report.is_intact(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_from_before_partitioning_is_converted_and_keeps_verifying() {
    let Some(store) = TestStore::postgres().await else {
        return;
    };
    let key = generate_signing_key().unwrap();
    let log = three_months(&store, &key, 6).await;
    log.shutdown().await.unwrap();
    let public_key = log.public_key();
    drop(log);
    // Turn it back into the ordinary table earlier releases created (same
    // columns, primary key and indexes).
    let mut raw = store.raw().await;
    raw.exec(
        "CREATE TABLE entries_plain AS SELECT * FROM entries;
         DROP TABLE entries;
         ALTER TABLE entries_plain RENAME TO entries;
         ALTER TABLE entries ADD PRIMARY KEY (chain_id, seq);
         CREATE INDEX entries_by_officer ON entries (officer_id, time_ms);
         CREATE INDEX entries_by_subject ON entries (subject_id, time_ms);
         CREATE INDEX entries_by_decision ON entries (decision, time_ms);
         CREATE INDEX entries_by_time ON entries (time_ms);
         CREATE INDEX entries_by_inquiry ON entries (inquiry_id);",
    )
    .await;
    assert_eq!(relkind(&mut raw).await, "r");

    // The next writer converts it, then appends on a chain of its own.
    let log = AuditLog::open(&store.config(&key, 5)).await.unwrap();
    let mut e = simple(100);
    e.time_ms = MAR + 86_400_000;
    log.append(e).await.unwrap();
    log.shutdown().await.unwrap();
    let parts = partitioned(&mut raw).await;
    let count = |name: &str| parts.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    assert_eq!(count("entries_y2026m01"), Some(6), "{parts:?}");
    assert_eq!(count("entries_y2026m02"), Some(6), "{parts:?}");
    assert_eq!(count("entries_y2026m03"), Some(7), "{parts:?}");
    // Every search index the old table had is on the partitioned one.
    for index in [
        "entries_by_officer",
        "entries_by_subject",
        "entries_refused_by_decision",
        "entries_by_time",
        "entries_by_unit",
        "entries_by_purpose",
        "entries_by_case",
        "entries_refused_by_reason",
        "entries_by_inquiry",
    ] {
        let on_entries = raw
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() \
                 AND tablename = 'entries' AND indexname = '{index}'"
            ))
            .await;
        assert_eq!(on_entries, 1, "{index} on the partitioned table");
    }
    let reader = Reader::connect(&store.url).await.unwrap();
    assert_eq!(
        intact_entries(reader.verify(&public_key).await.unwrap()),
        19
    );
}

/// Creating a month's partition needs a short exclusive lock on `entries`;
/// a long reader (an export, an archive) delays it, and while it waits,
/// other writers queue behind it. The writer gives up after 50 ms (and
/// tries again 10 s later), so an insert into an existing month by another
/// gateway is held back at most about that long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_month_under_a_long_reader_does_not_stall_other_writers() {
    let Some(store) = TestStore::postgres().await else {
        return;
    };
    // 2030-06-01: far beyond the months made at open.
    const LATER: i64 = 1_906_588_800_000;
    let key = generate_signing_key().unwrap();
    let one = AuditLog::open(&store.config(&key, 5)).await.unwrap();
    let two = AuditLog::open(&store.config(&key, 5)).await.unwrap();
    for (i, log) in [(1, &one), (2, &two)] {
        let mut e = simple(i);
        e.time_ms = JAN;
        log.append(e).await.unwrap();
    }
    let mut raw = store.raw().await;
    raw.exec("BEGIN; SELECT count(*) FROM entries;").await;
    let new_month = async {
        let mut e = simple(3);
        e.time_ms = LATER;
        one.append(e).await
    };
    let existing_month = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let started = std::time::Instant::now();
        let mut e = simple(4);
        e.time_ms = JAN + 1;
        let r = two.append(e).await;
        (r, started.elapsed())
    };
    // The reader holds its lock until both appends are back, so a writer
    // that did not give up on the partition lock would wait for ever (and
    // the insert queued behind it with it): the bound is the test's, not a
    // latency figure, and is loose enough for a loaded CI machine.
    let both = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        tokio::join!(new_month, existing_month)
    })
    .await;
    raw.exec("COMMIT").await;
    let Ok((a, (b, took))) = both else {
        panic!("a new month's partition under a long reader stalled the writers for 20 s");
    };
    // Both entries are in the log (the new month's in the default
    // partition for now), and the other writer was held back for about the
    // 50 ms give-up, not until the reader ended.
    a.unwrap();
    b.unwrap();
    assert!(
        took < std::time::Duration::from_secs(5),
        "an insert into an existing month waited {took:?}"
    );
    one.shutdown().await.unwrap();
    two.shutdown().await.unwrap();
    let reader = Reader::connect(&store.url).await.unwrap();
    assert_eq!(
        intact_entries(reader.verify(&one.public_key()).await.unwrap()),
        4
    );
}
