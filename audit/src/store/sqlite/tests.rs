use super::*;
use crate::store::{Batch, Store};

/// A batch of entries alone.
fn entries(entries: &[Entry]) -> Batch<'_> {
    Batch {
        entries,
        ..Batch::default()
    }
}

fn entry(seq: u64) -> Entry {
    Entry {
        chain_id: "c0".into(),
        seq,
        prev_hash: "0".repeat(64),
        hash: format!("{seq:064x}"),
        entry: crate::entry::tests::sample(seq),
    }
}

/// A migrated store in a new temporary directory (kept alive by the
/// returned guard).
async fn fresh_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_in(dir.path()).await;
    (dir, store)
}

/// The store `t.db` in `dir`, created if missing, migrated.
async fn open_in(dir: &std::path::Path) -> SqliteStore {
    let url = format!("sqlite://{}/t.db", dir.display());
    let opts = StoreOptions {
        timeout: Duration::from_secs(2),
        create: true,
        owner: None,
        min_free_bytes: 0,
    };
    let store = SqliteStore::connect(&url, opts).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn count(store: &SqliteStore) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM entries")
        .fetch_one(&store.read)
        .await
        .unwrap()
}

/// The one-round-trip batch: a rejected batch rolls back all of its
/// rows and leaves the write connection usable; a full batch of 1 024
/// rows fits one statement.
#[tokio::test]
async fn a_rejected_batch_leaves_nothing_and_the_next_commits() {
    let (_dir, store) = fresh_store().await;
    store.commit(entries(&[entry(1), entry(2)])).await.unwrap();
    // seq 3 is new, seq 2 repeats the primary key: the whole batch fails.
    let err = store
        .commit(entries(&[entry(3), entry(2)]))
        .await
        .unwrap_err();
    assert!(matches!(err, CommitError::Rejected(_)), "{err:?}");
    assert_eq!(
        count(&store).await,
        2,
        "nothing of the rejected batch stays"
    );
    let big: Vec<Entry> = (3..3 + 1024).map(entry).collect();
    store.commit(entries(&big)).await.unwrap();
    assert_eq!(count(&store).await, 2 + 1024);
    store.close_writer().await;
}

/// Batches above the one-trip size go in several statements of kept
/// shapes: a repeated key in the last of them still rolls back every row
/// of the batch (and its notes), the connection stays usable, and the
/// kept statements serve the next batches of every size.
#[tokio::test]
async fn a_large_batch_commits_or_fails_as_one_and_kept_statements_are_reused() {
    let (_dir, store) = fresh_store().await;
    let note = |size: u64| NoteRow {
        chain_id: "c0".into(),
        size,
        kind: "periodic".into(),
        time_ms: 1,
        note: format!("note {size}"),
    };
    let notes_count = |store: &SqliteStore| {
        let read = store.read.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM notes")
                .fetch_one(&read)
                .await
                .unwrap()
        }
    };
    // 300 rows (256 + 32 + 8 + 4), the last one repeating seq 1.
    store.commit(entries(&[entry(1)])).await.unwrap();
    let mut bad: Vec<Entry> = (2..301).map(entry).collect();
    bad.push(entry(1));
    let err = store
        .commit(Batch {
            entries: &bad,
            notes: &[note(300)],
            ..Batch::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CommitError::Rejected(_)), "{err:?}");
    assert_eq!(count(&store).await, 1);
    assert_eq!(notes_count(&store).await, 0);
    // Every size up to 130 twice (the second time from kept statements),
    // with a note now and then.
    let mut seq = 2;
    for round in 0..2 {
        for n in 1..=130u64 {
            let rows: Vec<Entry> = (seq..seq + n).map(entry).collect();
            seq += n;
            let notes = if n % 50 == 0 {
                vec![note(seq + round)]
            } else {
                vec![]
            };
            store
                .commit(Batch {
                    entries: &rows,
                    notes: &notes,
                    ..Batch::default()
                })
                .await
                .unwrap();
        }
    }
    assert_eq!(count(&store).await, seq as i64 - 1);
    assert_eq!(notes_count(&store).await, 4);
    store.close_writer().await;
}

/// The one-value page read is taken for intact rows (not silently
/// replaced by the column path) and gives the rows as stored.
#[tokio::test]
async fn a_page_of_intact_rows_is_read_as_one_json_value() {
    let (_dir, store) = fresh_store().await;
    let rows: Vec<Entry> = (1..=5).map(entry).collect();
    store.commit(entries(&rows)).await.unwrap();
    let page = store
        .entries_after_json("c0", 1, 3)
        .await
        .expect("intact rows take the JSON path");
    let got: Vec<Entry> = page.into_iter().map(Result::unwrap).collect();
    let want = &rows[1..4];
    assert_eq!(got.len(), 3);
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            serde_json::to_value(g).unwrap(),
            serde_json::to_value(w).unwrap()
        );
    }
    store.close_writer().await;
}

/// The query plan of one console search (a page of 51, newest first,
/// after a cursor), as SQLite's `EXPLAIN QUERY PLAN` lines.
async fn plan(store: &SqliteStore, f: &crate::reader::Filter) -> Vec<String> {
    let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
        "EXPLAIN QUERY PLAN SELECT {} FROM entries",
        crate::store::ENTRY_COLUMNS
    ));
    SqliteStore::push_filter(&mut qb, f);
    let rows: Vec<(i64, i64, i64, String)> =
        qb.build_query_as().fetch_all(&store.read).await.unwrap();
    rows.into_iter().map(|r| r.3).collect()
}

/// Every search filter of the console is served by its own index,
/// which also yields the time order: no table scan, no sort of every
/// matching row (issue 16: search on a store of years). A tie-break
/// sort within one millisecond ("RIGHT PART OF ORDER BY") is fine.
#[tokio::test]
async fn every_search_filter_has_an_index_in_time_order() {
    use crate::reader::{Cursor, Filter};
    let (_dir, store) = fresh_store().await;
    let rows: Vec<Entry> = (1..=50).map(entry).collect();
    store.commit(entries(&rows)).await.unwrap();
    let page = |f: Filter| Filter {
        newest_first: true,
        limit: Some(51),
        after: Some(Cursor {
            time_ms: 1_780_000_000_000,
            chain_id: "c0".into(),
            seq: 40,
        }),
        ..f
    };
    let some = || Some("x".to_string());
    let cases = [
        (
            "entries_by_officer",
            Filter {
                officer: some(),
                ..Filter::default()
            },
        ),
        (
            "entries_by_unit",
            Filter {
                unit: some(),
                ..Filter::default()
            },
        ),
        (
            "entries_by_subject",
            Filter {
                subject: some(),
                ..Filter::default()
            },
        ),
        (
            "entries_by_purpose",
            Filter {
                purpose: some(),
                ..Filter::default()
            },
        ),
        (
            "entries_by_case",
            Filter {
                case: some(),
                ..Filter::default()
            },
        ),
        (
            "entries_refused_by_reason",
            Filter {
                reason: some(),
                ..Filter::default()
            },
        ),
        (
            "entries_refused_by_decision",
            Filter {
                decision: Some(crate::entry::Decision::Deny),
                ..Filter::default()
            },
        ),
        (
            "entries_by_time",
            Filter {
                from_ms: Some(0),
                to_ms: Some(i64::MAX),
                ..Filter::default()
            },
        ),
        ("entries_by_time", Filter::default()),
    ];
    for (index, f) in cases {
        for f in [
            page(f.clone()),
            Filter {
                after: None,
                ..page(f)
            },
        ] {
            let lines = plan(&store, &f).await;
            let text = lines.join(" | ");
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains(&format!("USING INDEX {index}"))),
                "{index}: {text}"
            );
            assert!(
                !lines
                    .iter()
                    .any(|l| l.contains("USE TEMP B-TREE FOR ORDER BY")),
                "{index}: every match sorted: {text}"
            );
        }
    }
    store.close_writer().await;
}

/// The decision and reason indexes hold refusals only; a search by either
/// still finds exactly the matching entries, served ones included (those
/// through the time index).
#[tokio::test]
async fn searches_by_decision_and_reason_find_served_and_refused_entries() {
    use crate::entry::Decision;
    use crate::reader::Filter;
    let (_dir, store) = fresh_store().await;
    let kinds = [
        (Decision::Allow, "ok"),
        (Decision::Deny, "purpose_not_allowed"),
        (Decision::Error, "upstream_unavailable"),
        (Decision::Deny, "ok"),
    ];
    let rows: Vec<Entry> = (1..=40)
        .map(|i| {
            let mut e = entry(i);
            let (d, r) = kinds[(i % 4) as usize];
            e.entry.decision = d;
            e.entry.reason = r.into();
            e
        })
        .collect();
    store.commit(entries(&rows)).await.unwrap();
    let seqs = |want: &dyn Fn(&Entry) -> bool| -> Vec<u64> {
        rows.iter().filter(|e| want(e)).map(|e| e.seq).collect()
    };
    for d in [Decision::Allow, Decision::Deny, Decision::Error] {
        let got = store
            .query(&Filter {
                decision: Some(d),
                ..Filter::default()
            })
            .await
            .unwrap();
        let got: Vec<u64> = got.iter().map(|e| e.seq).collect();
        assert_eq!(got, seqs(&|e| e.entry.decision == d), "{d:?}");
    }
    for r in ["ok", "purpose_not_allowed", "upstream_unavailable", "none"] {
        let got = store
            .query(&Filter {
                reason: Some(r.into()),
                ..Filter::default()
            })
            .await
            .unwrap();
        let got: Vec<u64> = got.iter().map(|e| e.seq).collect();
        assert_eq!(got, seqs(&|e| e.entry.reason == r), "{r}");
    }
    let refused = store.refusal_counts(0).await.unwrap();
    assert_eq!(
        refused,
        vec![
            ("ok".to_string(), 10),
            ("purpose_not_allowed".to_string(), 10)
        ]
    );
    store.close_writer().await;
}

/// A store made by an earlier build has full indexes on decision and
/// reason (every served inquiry in them); opening it drops them and builds
/// the partial ones, keeping every row.
#[tokio::test]
async fn opening_an_older_store_replaces_its_full_decision_and_reason_indexes() {
    let (dir, store) = fresh_store().await;
    store.commit(entries(&[entry(1), entry(2)])).await.unwrap();
    for stmt in [
        "DROP INDEX entries_refused_by_decision",
        "DROP INDEX entries_refused_by_reason",
        "CREATE INDEX entries_by_decision ON entries (decision, time_ms)",
        "CREATE INDEX entries_by_reason ON entries (reason, time_ms)",
    ] {
        sqlx::query(stmt).execute(&store.write).await.unwrap();
    }
    store.close().await;
    let store = open_in(dir.path()).await;
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' \
         AND (name LIKE '%decision' OR name LIKE '%reason') ORDER BY name",
    )
    .fetch_all(&store.read)
    .await
    .unwrap();
    assert_eq!(
        indexes,
        ["entries_refused_by_decision", "entries_refused_by_reason"]
    );
    assert_eq!(count(&store).await, 2);
    store.close_writer().await;
}

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
