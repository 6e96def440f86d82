//! The same store test suite against SQLite (tempdir) and PostgreSQL (a
//! fresh schema per test on `CREDGATE_TEST_POSTGRES_URL`): chain integrity
//! under concurrent appends, restart, tampering in the database, store
//! failure and recovery, export, and search. The tamper tests of the
//! verifiable log (linked chains, bracketed exports, proofs, migration of
//! schema-2 stores) are in `transparency.rs`.

mod common;

use std::time::{Duration, Instant};

use audit::entry::entry_hash;
use audit::{
    generate_signing_key, verify_export, AuditError, AuditLog, Decision, Entry, Filter, Reader,
    VerifyReport,
};
use common::{entry, simple, Kind, TestStore};

both_stores!(
    concurrent_appends_form_one_contiguous_chain_and_restart_starts_another,
    changed_field_is_found,
    deleted_entry_is_found,
    swapped_entries_are_found,
    inserted_forged_entry_is_found,
    truncated_chain_is_found,
    forged_checkpoint_signature_is_found,
    unwritable_store_gives_unavailable_then_recovers,
    export_verifies_offline_and_tampered_export_does_not,
    query_filters_and_subject_report,
    reader_connect_fails_clearly_without_a_log,
    tiny_queue_holds_callers_back_without_losing_entries,
    shutdown_commits_what_was_queued_and_seals_the_chain,
    deleted_checkpoint_row_is_found,
    live_chain_is_open_with_its_unsigned_tail_counted,
    deleted_checkpoints_and_rewritten_chain_are_found,
    deleted_final_checkpoint_and_tail_are_found,
    forged_entry_after_final_checkpoint_is_found,
    forged_chain_without_genesis_is_found,
    crash_then_reopen_seals_the_old_chain,
    a_crashed_chain_missing_a_checkpoint_is_not_sealed,
    edited_tree_nodes_are_found,
    a_column_of_another_type_is_named_as_such,
    live_export_verifies_while_appends_continue,
    one_rejected_entry_does_not_fail_its_batch,
    a_second_writer_seals_only_chains_nobody_writes,
);

/// Opens a log, appends `n` simple entries sequentially, shuts it down.
async fn filled(store: &TestStore, key: &[u8], every: u64, n: u64) -> (AuditLog, Vec<u8>) {
    let log = AuditLog::open(&store.config(key, every)).await.unwrap();
    for i in 1..=n {
        let r = log.append(simple(i)).await.unwrap();
        assert_eq!(r.seq, i);
    }
    log.shutdown().await.unwrap();
    let pk = log.public_key();
    (log, pk)
}

/// Asserts tampering found in `chain` at `seq`; returns why.
#[track_caller]
fn assert_tampered(report: VerifyReport, chain: &str, seq: u64) -> String {
    match report {
        VerifyReport::Tampered {
            chain_id,
            first_bad_seq,
            why,
        } => {
            assert_eq!(chain_id, chain, "{why}");
            assert_eq!(first_bad_seq, seq, "{why}");
            why
        }
        other => panic!("expected tampering at seq {seq}, got {other:?}"),
    }
}

async fn concurrent_appends_form_one_contiguous_chain_and_restart_starts_another(
    store: &TestStore,
) {
    let key = generate_signing_key().unwrap();
    let log = AuditLog::open(&store.config(&key, 100)).await.unwrap();
    let tasks = 50;
    let per_task = 10u64;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..per_task {
                let r = log.append(simple(t * 1000 + i)).await.unwrap();
                seqs.push(r.seq);
            }
            seqs
        }));
    }
    let mut seqs = Vec::new();
    for h in handles {
        seqs.extend(h.await.unwrap());
    }
    seqs.sort_unstable();
    let n = tasks * per_task;
    assert_eq!(
        seqs,
        (1..=n).collect::<Vec<_>>(),
        "receipts are 1..=N, no gaps, no repeats"
    );
    log.shutdown().await.unwrap();
    assert!(log.append(simple(1)).await.unwrap_err().is_unavailable());

    let reader = log.reader();
    let all = reader.query(&Filter::default()).await.unwrap();
    assert_eq!(all.len() as u64, n);
    let mut stored: Vec<u64> = all.iter().map(|e| e.seq).collect();
    stored.sort_unstable();
    assert_eq!(stored, (1..=n).collect::<Vec<_>>());
    assert!(all.iter().all(|e| e.chain_id == log.chain_id()));
    let pk = log.public_key();
    assert_eq!(
        reader.verify(&pk).await.unwrap(),
        VerifyReport::Intact {
            entries: n,
            // genesis, one per 100, final
            checkpoints: n / 100 + 2,
            chains: 1,
            open_chains: 0,
            unsigned_entries: 0
        }
    );

    // Restart: a new chain beside the old one; both verify.
    let log2 = AuditLog::open(&store.config(&key, 100)).await.unwrap();
    assert_ne!(log2.chain_id(), log.chain_id());
    for i in 0..7 {
        assert_eq!(log2.append(simple(i)).await.unwrap().seq, i + 1);
    }
    // While it runs, the new chain is open: 7 entries no checkpoint covers yet.
    assert_eq!(
        log2.reader().verify(&pk).await.unwrap(),
        VerifyReport::Intact {
            entries: n + 7,
            checkpoints: n / 100 + 2 + 1,
            chains: 2,
            open_chains: 1,
            unsigned_entries: 7
        }
    );
    log2.shutdown().await.unwrap();
    assert_eq!(
        log2.reader().verify(&pk).await.unwrap(),
        VerifyReport::Intact {
            entries: n + 7,
            checkpoints: n / 100 + 2 + 2,
            chains: 2,
            open_chains: 0,
            unsigned_entries: 0
        }
    );
    // Another key does not verify the checkpoints.
    let other = AuditLog::open(&store.config(&generate_signing_key().unwrap(), 100))
        .await
        .unwrap();
    other.shutdown().await.unwrap();
    assert!(matches!(
        reader.verify(&other.public_key()).await.unwrap(),
        VerifyReport::Tampered { .. }
    ));
}

async fn changed_field_is_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    let reader = log.reader();
    assert_eq!(
        reader.verify(&pk).await.unwrap(),
        VerifyReport::Intact {
            entries: 25,
            // genesis, 10, 20, final at 25
            checkpoints: 4,
            chains: 1,
            open_chains: 0,
            unsigned_entries: 0
        }
    );
    let mut raw = store.raw().await;
    raw.exec("UPDATE entries SET officer_id = 'someone-else' WHERE seq = 7")
        .await;
    assert_tampered(reader.verify(&pk).await.unwrap(), log.chain_id(), 7);
    // Restore, then change a JSON column and a number.
    raw.exec("UPDATE entries SET officer_id = 'HN-AMR-0001' WHERE seq = 7")
        .await;
    assert!(matches!(
        reader.verify(&pk).await.unwrap(),
        VerifyReport::Intact { .. }
    ));
    raw.exec("UPDATE entries SET masked_keys = '[]' WHERE seq = 18")
        .await;
    assert_tampered(reader.verify(&pk).await.unwrap(), log.chain_id(), 18);
    raw.exec("UPDATE entries SET status = 70000 WHERE seq = 3")
        .await;
    assert_tampered(reader.verify(&pk).await.unwrap(), log.chain_id(), 3);
}

async fn deleted_entry_is_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    store
        .raw()
        .await
        .exec("DELETE FROM entries WHERE seq = 5")
        .await;
    assert_tampered(log.reader().verify(&pk).await.unwrap(), log.chain_id(), 5);
}

async fn swapped_entries_are_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    store
        .raw()
        .await
        .exec(
            "UPDATE entries SET seq = -3 WHERE seq = 3; \
             UPDATE entries SET seq = 3 WHERE seq = 4; \
             UPDATE entries SET seq = 4 WHERE seq = -3;",
        )
        .await;
    assert_tampered(log.reader().verify(&pk).await.unwrap(), log.chain_id(), 3);
}

async fn inserted_forged_entry_is_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    let reader = log.reader();
    let all = reader.query(&Filter::default()).await.unwrap();
    let e11 = all.iter().find(|e| e.seq == 11).unwrap();
    let mut forged = all.iter().find(|e| e.seq == 12).unwrap().entry.clone();
    forged.officer_id = "forger".into();
    // The forger even computes a correct hash for the inserted entry.
    let prev = <[u8; 32]>::try_from(hex::decode(&e11.hash).unwrap()).unwrap();
    let h = hex::encode(entry_hash(
        &mut Vec::new(),
        &prev,
        log.chain_id(),
        12,
        &forged,
    ));
    let cols = "chain_id, seq, prev_hash, hash, time_ms, inquiry_id, plane, officer_id, \
        officer_name, unit, cert_fingerprint, purpose, inquiry_case, consent_id, method, path, \
        subject_id, subject_type, items_requested, decision, reason, rule, statutory_basis, status, \
        records_returned, records_suppressed, removed_keys, masked_keys, objection_labeled, \
        upstream_status, latency_ms";
    let select = cols
        .replace(" seq,", " 12,")
        .replace(" hash, time_ms", &format!(" '{h}', time_ms"))
        .replace(" officer_id,", " 'forger',");
    store
        .raw()
        .await
        .exec(&format!(
            "UPDATE entries SET seq = -seq WHERE seq >= 12; \
             UPDATE entries SET seq = -seq + 1 WHERE seq < 0; \
             INSERT INTO entries ({cols}) SELECT {select} FROM entries WHERE seq = 13;"
        ))
        .await;
    let moved = reader
        .query(&Filter {
            officer: Some("forger".into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(moved.len(), 1, "the forged row is in place");
    assert_eq!(moved[0].seq, 12);
    // The forged entry itself links and hashes; the one after it does not.
    assert_tampered(reader.verify(&pk).await.unwrap(), log.chain_id(), 13);
}

async fn truncated_chain_is_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    // The shutdown checkpoint names seq 25; drop the last three entries.
    store
        .raw()
        .await
        .exec("DELETE FROM entries WHERE seq > 22")
        .await;
    assert_tampered(log.reader().verify(&pk).await.unwrap(), log.chain_id(), 23);
    // Dropping every entry of the chain is found too.
    store.raw().await.exec("DELETE FROM entries").await;
    assert_tampered(log.reader().verify(&pk).await.unwrap(), log.chain_id(), 1);
}

async fn forged_checkpoint_signature_is_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    let chain = log.chain_id();
    let mut raw = store.raw().await;
    let note = raw.note(chain, 20, "periodic").await;
    // The same checkpoint text signed under the audit key's name by another key.
    let text = &note[..note.rfind("\n\n").unwrap() + 1];
    let forger = audit::note::NoteSigner::from_pkcs8(
        "credgate-audit",
        audit::note::ED25519,
        &generate_signing_key().unwrap(),
    )
    .unwrap();
    let forged = format!("{text}\n{}", forger.sign_note(text).unwrap());
    raw.exec(&format!(
        "UPDATE notes SET note = '{forged}' WHERE chain_id = '{chain}' AND size = 20"
    ))
    .await;
    assert_tampered(log.reader().verify(&pk).await.unwrap(), chain, 20);
    // The real signature over an altered text (the root of size 10 named
    // for size 20) fails as well.
    let root10 = note_root(&raw.note(chain, 10, "periodic").await);
    let root20 = note_root(&note);
    let altered = note.replacen(&root20, &root10, 1);
    assert_ne!(altered, note);
    raw.exec(&format!(
        "UPDATE notes SET note = '{altered}' WHERE chain_id = '{chain}' AND size = 20"
    ))
    .await;
    assert_tampered(log.reader().verify(&pk).await.unwrap(), chain, 20);
    raw.exec(&format!(
        "UPDATE notes SET note = '{note}' WHERE chain_id = '{chain}' AND size = 20"
    ))
    .await;
    assert!(log.reader().verify(&pk).await.unwrap().is_intact());
}

/// The base64 root hash line (the third line) of a checkpoint note.
fn note_root(note: &str) -> String {
    note.lines().nth(2).unwrap().to_owned()
}

async fn unwritable_store_gives_unavailable_then_recovers(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let log = AuditLog::open(&store.config(&key, 10)).await.unwrap();
    for i in 1..=3 {
        log.append(simple(i)).await.unwrap();
    }
    let mut locker = store.raw().await;
    match store.kind {
        Kind::Sqlite => locker.exec("BEGIN EXCLUSIVE").await,
        Kind::Postgres => {
            locker
                .exec("BEGIN; LOCK TABLE entries IN ACCESS EXCLUSIVE MODE")
                .await
        }
    }
    let started = Instant::now();
    let concurrent: Vec<_> = (0..5)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(simple(100 + i)).await })
        })
        .collect();
    for h in concurrent {
        let err = h.await.unwrap().unwrap_err();
        assert!(matches!(err, AuditError::Unavailable(_)), "{err}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "unavailable must come promptly, took {:?}",
        started.elapsed()
    );
    locker.exec("ROLLBACK").await;
    // No restart: the next append commits and continues the chain at 4.
    let r = log.append(simple(4)).await.unwrap();
    assert_eq!(r.seq, 4);
    log.shutdown().await.unwrap();
    assert_eq!(
        log.reader().verify(&log.public_key()).await.unwrap(),
        VerifyReport::Intact {
            entries: 4,
            // genesis, final
            checkpoints: 2,
            chains: 1,
            open_chains: 0,
            unsigned_entries: 0
        }
    );
}

async fn export_verifies_offline_and_tampered_export_does_not(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    let mut buf: Vec<u8> = Vec::new();
    let n = log
        .reader()
        .export(&Filter::default(), &mut buf)
        .await
        .unwrap();
    assert_eq!(n, 25);
    let text = String::from_utf8(buf.clone()).unwrap();
    assert_eq!(
        text.lines().count(),
        1 + 4 + 25 + 1,
        "header, 4 checkpoints (genesis, 10, 20, final), 25 entries, the end line"
    );
    assert_eq!(
        verify_export(&buf[..], &pk).unwrap(),
        VerifyReport::Intact {
            entries: 25,
            checkpoints: 4,
            chains: 1,
            open_chains: 0,
            unsigned_entries: 0
        }
    );
    let checkpoint_line = |l: &str, size: u64| {
        l.contains(&format!("\"size\":{size},")) && l.contains("\"type\":\"checkpoint\"")
    };
    // The periodic checkpoint at 10 dropped from the file: the checkpoints
    // at 20 and 25 still cover every entry, but the chain's writer signed
    // one at 10 with the entry (its genesis: `every 10`).
    let no_cp10: String = text
        .lines()
        .filter(|l| !checkpoint_line(l, 10))
        .collect::<Vec<_>>()
        .join("\n");
    match verify_export(no_cp10.as_bytes(), &pk).unwrap() {
        VerifyReport::Tampered {
            first_bad_seq, why, ..
        } => {
            assert_eq!(first_bad_seq, 10, "{why}");
            assert!(why.contains("checkpoints deleted"), "{why}");
        }
        other => panic!("expected tampering, got {other:?}"),
    }
    // The checkpoints at 20 and 25 dropped: entries 11..=25 are vouched
    // for by nothing in the file.
    let no_cp20_25: String = text
        .lines()
        .filter(|l| !checkpoint_line(l, 20) && !checkpoint_line(l, 25))
        .collect::<Vec<_>>()
        .join("\n");
    match verify_export(no_cp20_25.as_bytes(), &pk).unwrap() {
        VerifyReport::Tampered {
            chain_id,
            first_bad_seq,
            why,
        } => {
            assert_eq!(
                (chain_id.as_str(), first_bad_seq),
                (log.chain_id(), 11),
                "{why}"
            );
            assert!(why.contains("no signed checkpoint"), "{why}");
        }
        other => panic!("expected tampering, got {other:?}"),
    }
    // The genesis checkpoint dropped: the chain is not proven.
    let no_genesis: String = text
        .lines()
        .filter(|l| !l.contains("\"kind\":\"genesis\""))
        .collect::<Vec<_>>()
        .join("\n");
    assert_tampered(
        verify_export(no_genesis.as_bytes(), &pk).unwrap(),
        log.chain_id(),
        0,
    );
    // Wrong key: refused.
    let other =
        ring::signature::Ed25519KeyPair::from_pkcs8(&generate_signing_key().unwrap()).unwrap();
    use ring::signature::KeyPair;
    assert!(matches!(
        verify_export(&buf[..], other.public_key().as_ref()),
        Err(AuditError::KeyMismatch)
    ));
    // One entry line altered.
    let tampered: String = text
        .lines()
        .map(|l| {
            if l.contains("\"seq\":8,") && l.contains("\"type\":\"entry\"") {
                l.replace("HN-AMR-0001", "HN-AMR-0002")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_tampered(
        verify_export(tampered.as_bytes(), &pk).unwrap(),
        log.chain_id(),
        8,
    );
    // One entry line dropped.
    let dropped: String = text
        .lines()
        .filter(|l| !(l.contains("\"seq\":14,") && l.contains("\"type\":\"entry\"")))
        .collect::<Vec<_>>()
        .join("\n");
    assert_tampered(
        verify_export(dropped.as_bytes(), &pk).unwrap(),
        log.chain_id(),
        14,
    );

    // A time-range export (entries 12..=21) verifies on its own: it is
    // bracketed by the checkpoints at 10 and 25, so it holds entries 11..=25
    // and starts from the tree's frontier at 10.
    let mut part: Vec<u8> = Vec::new();
    let f = Filter {
        from_ms: Some(1_780_000_000_000 + 12),
        to_ms: Some(1_780_000_000_000 + 21),
        ..Filter::default()
    };
    assert_eq!(log.reader().export(&f, &mut part).await.unwrap(), 15);
    let part_text = String::from_utf8(part.clone()).unwrap();
    assert!(part_text.contains("\"type\":\"frontier\""), "{part_text}");
    assert_eq!(
        verify_export(&part[..], &pk).unwrap(),
        VerifyReport::Intact {
            entries: 15,
            // genesis, 10, 20, final at 25
            checkpoints: 4,
            chains: 1,
            open_chains: 0,
            unsigned_entries: 0
        }
    );

    // A CLI reader (no writer) exports only with the signing key, which
    // seals the file; the export is the writer's, byte for byte.
    let reader = Reader::connect(&store.url).await.unwrap();
    let mut cli: Vec<u8> = Vec::new();
    assert!(matches!(
        reader.export(&Filter::default(), &mut cli).await,
        Err(AuditError::ExportUnsigned)
    ));
    let mut keyed: Vec<u8> = Vec::new();
    reader
        .clone()
        .with_signing_key(&key)
        .unwrap()
        .export(&Filter::default(), &mut keyed)
        .await
        .unwrap();
    assert_eq!(keyed, buf);
    assert!(matches!(
        verify_export(&keyed[..], &pk).unwrap(),
        VerifyReport::Intact { entries: 25, .. }
    ));

    // Garbage is a format error, not a verdict.
    assert!(matches!(
        verify_export(&b"not json\n"[..], &pk),
        Err(AuditError::ExportFormat { .. })
    ));
}

async fn query_filters_and_subject_report(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let log = AuditLog::open(&store.config(&key, 1000)).await.unwrap();
    let s1 = "91350100M000100Y43";
    let s2 = "110101199003074477";
    let t0 = 1_780_000_000_000i64;
    let plan = [
        ("A", Some(s1), Decision::Allow, t0 + 50),
        ("A", Some(s2), Decision::Deny, t0 + 10),
        ("B", Some(s1), Decision::Deny, t0 + 30),
        ("B", None, Decision::Error, t0 + 40),
        ("C", Some(s1), Decision::Allow, t0 + 20),
    ];
    for (i, (o, s, d, t)) in plan.iter().enumerate() {
        log.append(entry(i as u64, o, *s, *d, *t)).await.unwrap();
    }
    let r = log.reader();
    let times = |v: &[audit::Entry]| v.iter().map(|e| e.entry.time_ms - t0).collect::<Vec<_>>();

    let all = r.query(&Filter::default()).await.unwrap();
    assert_eq!(times(&all), vec![10, 20, 30, 40, 50], "ordered by time");
    let a = r
        .query(&Filter {
            officer: Some("A".into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(times(&a), vec![10, 50]);
    let by_s1 = r
        .query(&Filter {
            subject: Some(s1.into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(times(&by_s1), vec![20, 30, 50]);
    let deny = r
        .query(&Filter {
            decision: Some(Decision::Deny),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(times(&deny), vec![10, 30]);
    let window = r
        .query(&Filter {
            from_ms: Some(t0 + 20),
            to_ms: Some(t0 + 40),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        times(&window),
        vec![20, 30, 40],
        "from and to are inclusive"
    );
    let combined = r
        .query(&Filter {
            officer: Some("B".into()),
            subject: Some(s1.into()),
            decision: Some(Decision::Deny),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(times(&combined), vec![30]);
    let limited = r
        .query(&Filter {
            limit: Some(2),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(times(&limited), vec![10, 20]);
    assert!(r
        .query(&Filter {
            officer: Some("nobody".into()),
            ..Filter::default()
        })
        .await
        .unwrap()
        .is_empty());

    let report = r.subject_report(s1).await.unwrap();
    assert_eq!(times(&report), vec![20, 30, 50]);
    assert_eq!(
        report
            .iter()
            .map(|e| e.entry.officer_id.as_str())
            .collect::<Vec<_>>(),
        vec!["C", "B", "A"]
    );
    // Every field survives the round trip through the store.
    assert_eq!(a[0].entry, entry(1, "A", Some(s2), Decision::Deny, t0 + 10));
    assert!(r.subject_report("nobody").await.unwrap().is_empty());
    log.shutdown().await.unwrap();
}

async fn reader_connect_fails_clearly_without_a_log(store: &TestStore) {
    let err = Reader::connect(&store.url).await.unwrap_err();
    assert!(matches!(err, AuditError::StoreMissing(_)), "{err}");
    if store.kind == Kind::Sqlite {
        let path = store.url.strip_prefix("sqlite://").unwrap();
        assert!(
            !std::path::Path::new(path).exists(),
            "a reader never creates a log"
        );
    }
    // Once a log exists, the reader connects.
    let log = AuditLog::open(&store.config(&generate_signing_key().unwrap(), 10))
        .await
        .unwrap();
    log.append(simple(1)).await.unwrap();
    log.shutdown().await.unwrap();
    let reader = Reader::connect(&store.url).await.unwrap();
    assert_eq!(reader.query(&Filter::default()).await.unwrap().len(), 1);
    assert!(matches!(
        Reader::connect("mysql://x").await,
        Err(AuditError::InvalidStoreUrl(_))
    ));
}

async fn tiny_queue_holds_callers_back_without_losing_entries(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let mut cfg = store.config(&key, 50);
    cfg.queue_capacity = 1;
    let log = AuditLog::open(&cfg).await.unwrap();
    let handles: Vec<_> = (0..200)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(simple(i)).await.map(|r| r.seq) })
        })
        .collect();
    let mut seqs = Vec::new();
    for h in handles {
        seqs.push(h.await.unwrap().unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    log.shutdown().await.unwrap();
    assert_eq!(
        log.reader().verify(&log.public_key()).await.unwrap(),
        VerifyReport::Intact {
            entries: 200,
            // genesis, 50, 100, 150, 200, final
            checkpoints: 6,
            chains: 1,
            open_chains: 0,
            unsigned_entries: 0
        }
    );
}

async fn shutdown_commits_what_was_queued_and_seals_the_chain(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let log = AuditLog::open(&store.config(&key, 1000)).await.unwrap();
    log.append(simple(1000)).await.unwrap();
    let handles: Vec<_> = (0..300)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(simple(i)).await })
        })
        .collect();
    log.shutdown().await.unwrap();
    log.shutdown().await.unwrap(); // twice is fine
    let mut committed = 1u64;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => committed += 1,
            Err(e) => assert!(e.is_unavailable(), "{e}"),
        }
    }
    let stored = log.reader().query(&Filter::default()).await.unwrap();
    assert_eq!(
        stored.len() as u64,
        committed,
        "every acknowledged entry is stored, no other"
    );
    let report = log.reader().verify(&log.public_key()).await.unwrap();
    // Whatever raced the shutdown, the chain is closed over its last entry:
    // genesis plus the final checkpoint.
    assert_eq!(
        report,
        VerifyReport::Intact {
            entries: committed,
            checkpoints: 2,
            chains: 1,
            open_chains: 0,
            unsigned_entries: 0
        }
    );
    // A wrong-size key is an error, not a verdict.
    assert!(matches!(
        log.reader().verify(&[0u8; 5]).await,
        Err(AuditError::InvalidPublicKey(5))
    ));
}

/// Column list of `entries` after `chain_id, seq, prev_hash, hash`.
const REST_COLS: &str = "time_ms, inquiry_id, plane, officer_id, \
    officer_name, unit, cert_fingerprint, purpose, inquiry_case, consent_id, method, path, \
    subject_id, subject_type, items_requested, decision, reason, rule, statutory_basis, status, \
    records_returned, records_suppressed, removed_keys, masked_keys, objection_labeled, \
    upstream_status, latency_ms";

fn hash_bytes(hex_hash: &str) -> [u8; 32] {
    <[u8; 32]>::try_from(hex::decode(hex_hash).unwrap()).unwrap()
}

/// SQL that copies the row `(src_chain, src_seq)` as `(chain, seq)` with a
/// correct `prev_hash`/`hash` for its content: what a forger with database
/// access (but no signing key) can do. Returns the SQL and the new hash.
fn forged_copy(src: &Entry, chain: &str, seq: u64, prev: [u8; 32]) -> (String, [u8; 32]) {
    let h = entry_hash(&mut Vec::new(), &prev, chain, seq, &src.entry);
    let sql = format!(
        "INSERT INTO entries (chain_id, seq, prev_hash, hash, {REST_COLS}) \
         SELECT '{chain}', {seq}, '{}', '{}', {REST_COLS} FROM entries \
         WHERE chain_id = '{}' AND seq = {};",
        hex::encode(prev),
        hex::encode(h),
        src.chain_id,
        src.seq
    );
    (sql, h)
}

async fn chain_entries(reader: &Reader, chain: &str) -> Vec<Entry> {
    let mut v: Vec<Entry> = reader
        .query(&Filter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.chain_id == chain)
        .collect();
    v.sort_by_key(|e| e.seq);
    v
}

async fn deleted_checkpoint_row_is_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    let chain = log.chain_id();
    let mut raw = store.raw().await;
    // The final checkpoint deleted: the chain reads as open (as a crash
    // leaves it), its entries after the checkpoint at 20 unsigned.
    raw.exec("DELETE FROM notes WHERE kind = 'final'").await;
    assert_eq!(
        log.reader().verify(&pk).await.unwrap(),
        VerifyReport::Intact {
            entries: 25,
            checkpoints: 3,
            chains: 1,
            open_chains: 1,
            unsigned_entries: 5
        }
    );
    // A periodic checkpoint deleted is found: the writer signs one with
    // every entry at a multiple of `every` (its genesis says 10), in the
    // same transaction. Without the rule, deleting the signed checkpoints
    // of a crashed chain's end made it all "unsigned tail", which the next
    // gateway sealed after the store's writer rewrote it (an outside
    // probe).
    raw.exec("DELETE FROM notes WHERE size = 20").await;
    assert_tampered(log.reader().verify(&pk).await.unwrap(), chain, 20);
    // Without its signed genesis the chain is not the signer's.
    raw.exec("DELETE FROM notes WHERE kind = 'genesis'").await;
    assert_tampered(log.reader().verify(&pk).await.unwrap(), chain, 0);
}

async fn live_chain_is_open_with_its_unsigned_tail_counted(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let live = AuditLog::open(&store.config(&key, 10)).await.unwrap();
    for i in 1..=25 {
        live.append(simple(i)).await.unwrap();
    }
    let pk = live.public_key();
    assert_eq!(
        live.reader().verify(&pk).await.unwrap(),
        VerifyReport::Intact {
            entries: 25,
            checkpoints: 3,
            chains: 1,
            open_chains: 1,
            unsigned_entries: 5
        },
        "the open chain is the live writer's: 21..=25 not signed yet"
    );
    live.shutdown().await.unwrap();
    assert_eq!(
        live.reader().verify(&pk).await.unwrap(),
        VerifyReport::Intact {
            entries: 25,
            checkpoints: 4,
            chains: 1,
            open_chains: 0,
            unsigned_entries: 0
        },
        "the final checkpoint covers everything"
    );
    // The live chain's periodic checkpoint at 20 deleted is found, even
    // under a later final one.
    store
        .raw()
        .await
        .exec("DELETE FROM notes WHERE size = 20")
        .await;
    assert_tampered(
        live.reader().verify(&pk).await.unwrap(),
        live.chain_id(),
        20,
    );
}

async fn deleted_checkpoints_and_rewritten_chain_are_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    let reader = log.reader();
    let entries = chain_entries(&reader, log.chain_id()).await;
    // Rewrite seq 7 and recompute every hash from there on, so the chain
    // itself links and hashes; then drop the checkpoints that would object.
    let chain = log.chain_id();
    let mut sql = format!("DELETE FROM notes WHERE chain_id = '{chain}';");
    let mut prev = hash_bytes(&entries[5].hash);
    for e in &entries[6..] {
        let mut n = e.entry.clone();
        if e.seq == 7 {
            n.officer_id = "forger".into();
        }
        let h = entry_hash(&mut Vec::new(), &prev, chain, e.seq, &n);
        sql.push_str(&format!(
            "UPDATE entries SET officer_id = '{}', prev_hash = '{}', hash = '{}' \
             WHERE chain_id = '{chain}' AND seq = {};",
            n.officer_id,
            hex::encode(prev),
            hex::encode(h),
            e.seq
        ));
        prev = h;
    }
    store.raw().await.exec(&sql).await;
    let forged = reader
        .query(&Filter {
            officer: Some("forger".into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(forged.len(), 1, "the rewrite is in place");
    // No signed genesis: the chain is not the signer's.
    assert_tampered(reader.verify(&pk).await.unwrap(), chain, 0);
}

async fn deleted_final_checkpoint_and_tail_are_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    // The gateway restarted: a newer chain is live.
    let live = AuditLog::open(&store.config(&key, 10)).await.unwrap();
    live.append(simple(1)).await.unwrap();
    let chain = log.chain_id();
    store
        .raw()
        .await
        .exec(&format!(
            "DELETE FROM notes WHERE chain_id = '{chain}' AND kind = 'final'; \
             DELETE FROM entries WHERE chain_id = '{chain}' AND seq > 22;"
        ))
        .await;
    assert_tampered(live.reader().verify(&pk).await.unwrap(), chain, 23);
    live.shutdown().await.unwrap();
}

async fn forged_entry_after_final_checkpoint_is_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    let reader = log.reader();
    let entries = chain_entries(&reader, log.chain_id()).await;
    let last = entries.last().unwrap();
    let (sql, _) = forged_copy(last, log.chain_id(), 26, hash_bytes(&last.hash));
    store.raw().await.exec(&sql).await;
    assert_eq!(chain_entries(&reader, log.chain_id()).await.len(), 26);
    assert_tampered(reader.verify(&pk).await.unwrap(), log.chain_id(), 26);
}

async fn forged_chain_without_genesis_is_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 5).await;
    let reader = log.reader();
    let entries = chain_entries(&reader, log.chain_id()).await;
    let forged = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0";
    let mut sql = String::new();
    let mut prev = [0u8; 32];
    for (i, e) in entries.iter().enumerate() {
        let (s, h) = forged_copy(e, forged, i as u64 + 1, prev);
        sql.push_str(&s);
        prev = h;
    }
    store.raw().await.exec(&sql).await;
    assert_tampered(reader.verify(&pk).await.unwrap(), forged, 0);
}

async fn crash_then_reopen_seals_the_old_chain(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    // The "crashed" writer: never shut down, kept alive (so it does not
    // close its chain when dropped) while a new one opens.
    let crashed = AuditLog::open(&store.config(&key, 10)).await.unwrap();
    for i in 1..=15 {
        crashed.append(simple(i)).await.unwrap();
    }
    let pk = crashed.public_key();
    // Before any reopen the chain is open: intact up to its checkpoint at
    // 10, entries 11..=15 counted as unsigned.
    assert_eq!(
        crashed.reader().verify(&pk).await.unwrap(),
        VerifyReport::Intact {
            entries: 15,
            checkpoints: 2,
            chains: 1,
            open_chains: 1,
            unsigned_entries: 5
        }
    );
    if store.kind == Kind::Postgres {
        // On PostgreSQL the live writer's session holds its chain's lock:
        // end that session as a crash would.
        kill_writer_session(store, crashed.chain_id()).await;
    }
    let next = AuditLog::open(&store.config(&key, 10)).await.unwrap();
    for i in 1..=3 {
        next.append(simple(100 + i)).await.unwrap();
    }
    assert_eq!(
        next.reader().verify(&pk).await.unwrap(),
        VerifyReport::Intact {
            entries: 18,
            // old: genesis, 10, sealed at 15; new: genesis
            checkpoints: 4,
            chains: 2,
            // the new chain, live, with its 3 entries
            open_chains: 1,
            unsigned_entries: 3
        }
    );
    assert_eq!(
        store.raw().await.notes(crashed.chain_id()).await,
        vec![
            (0, "genesis".to_owned()),
            (10, "periodic".to_owned()),
            (15, "sealed".to_owned())
        ],
        "sealed over its whole tail, after verifying it"
    );
    if store.kind == Kind::Postgres {
        // On PostgreSQL the old writer, reconnecting, finds its chain
        // sealed by another process and writes nothing more on it.
        for i in 16..=17 {
            let e = crashed.append(simple(i)).await.unwrap_err();
            assert!(e.is_unavailable(), "{e}");
        }
        assert!(next.reader().verify(&pk).await.unwrap().is_intact());
    } else {
        // SQLite has one writer process per file and no session to lose:
        // a writer that somehow kept going after the seal appends, and
        // verify flags it.
        let r = crashed.append(simple(16)).await.unwrap();
        assert_eq!(r.seq, 16);
        assert_tampered(
            next.reader().verify(&pk).await.unwrap(),
            crashed.chain_id(),
            16,
        );
    }
    next.shutdown().await.unwrap();
    std::mem::forget(crashed);
}

/// An outside probe, as the store's writer without the key: it deleted the
/// signed checkpoints of a crashed chain's end (and could then rewrite the
/// entries after the genesis, recomputing their hashes), so the whole chain
/// read as a crash's unsigned tail, which the next writer verified and
/// sealed. The writer signs a checkpoint with every entry at a multiple of
/// `every` (its genesis says which): one missing refuses the seal, and
/// `verify` names it.
async fn a_crashed_chain_missing_a_checkpoint_is_not_sealed(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let crashed = AuditLog::open(&store.config(&key, 5)).await.unwrap();
    for i in 1..=13 {
        crashed.append(simple(i)).await.unwrap();
    }
    let pk = crashed.public_key();
    let chain = crashed.chain_id().to_owned();
    store
        .raw()
        .await
        .exec(&format!(
            "DELETE FROM notes WHERE chain_id = '{chain}' AND kind = 'periodic' AND size = 10"
        ))
        .await;
    assert_tampered(crashed.reader().verify(&pk).await.unwrap(), &chain, 10);
    if store.kind == Kind::Postgres {
        kill_writer_session(store, &chain).await;
    }
    let next = AuditLog::open(&store.config(&key, 5)).await.unwrap();
    assert_eq!(
        store.raw().await.notes(&chain).await,
        vec![(0, "genesis".to_owned()), (5, "periodic".to_owned())],
        "not sealed"
    );
    assert_tampered(next.reader().verify(&pk).await.unwrap(), &chain, 10);
    next.shutdown().await.unwrap();
    std::mem::forget(crashed);
}

/// Stored Merkle tree nodes edited (the entries untouched, so every signed
/// root still holds): proofs through them fail, and `verify` says so (an
/// outside probe: verify said intact while `audit prove` failed).
async fn edited_tree_nodes_are_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 25).await;
    let chain = log.chain_id().to_owned();
    store
        .raw()
        .await
        .exec(&format!(
            "UPDATE entries SET tree_nodes = replace(tree_nodes, '7', '8') \
             WHERE chain_id = '{chain}' AND seq = 4"
        ))
        .await;
    let why = assert_tampered(log.reader().verify(&pk).await.unwrap(), &chain, 4);
    assert!(why.contains("tree nodes"), "{why}");
}

/// A column altered to hold another type (SQLite lets it) is tampering
/// at its row, said in the store's terms — not sqlx's, which names Rust
/// types (an outside probe saw "Rust type `i64`").
async fn a_column_of_another_type_is_named_as_such(store: &TestStore) {
    if store.kind != Kind::Sqlite {
        return;
    }
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(store, &key, 10, 5).await;
    let chain = log.chain_id().to_owned();
    store
        .raw()
        .await
        .exec(&format!(
            "UPDATE entries SET time_ms = 'noon' WHERE chain_id = '{chain}' AND seq = 3"
        ))
        .await;
    let why = assert_tampered(log.reader().verify(&pk).await.unwrap(), &chain, 3);
    assert!(
        why.contains("time_ms") && why.contains("another type"),
        "{why}"
    );
    assert!(!why.contains("Rust"), "{why}");
}

async fn live_export_verifies_while_appends_continue(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    // A checkpoint every 2 entries: many commits land between the export's reads.
    let log = AuditLog::open(&store.config(&key, 2)).await.unwrap();
    let pk = log.public_key();
    for i in 1..=50 {
        log.append(simple(i)).await.unwrap();
    }
    let writer = {
        let log = log.clone();
        tokio::spawn(async move {
            for i in 51..=600 {
                log.append(simple(i)).await.unwrap();
            }
        })
    };
    let mut exports = 0;
    while !writer.is_finished() {
        let mut buf = Vec::new();
        let n = log
            .reader()
            .export(&Filter::default(), &mut buf)
            .await
            .unwrap();
        match verify_export(&buf[..], &pk).unwrap() {
            VerifyReport::Intact { entries, .. } => assert_eq!(entries, n),
            other => panic!("export of a live log does not verify: {other:?}"),
        }
        assert!(matches!(
            log.reader().verify(&pk).await.unwrap(),
            VerifyReport::Intact { .. }
        ));
        exports += 1;
    }
    writer.await.unwrap();
    assert!(exports > 0);
    log.shutdown().await.unwrap();
}

async fn one_rejected_entry_does_not_fail_its_batch(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let log = AuditLog::open(&store.config(&key, 5)).await.unwrap();
    let pk = log.public_key();
    // Hold the writer up behind a lock so the next appends queue into one batch.
    let mut locker = store.raw().await;
    match store.kind {
        Kind::Sqlite => locker.exec("BEGIN EXCLUSIVE").await,
        Kind::Postgres => {
            locker
                .exec("BEGIN; LOCK TABLE entries IN ACCESS EXCLUSIVE MODE")
                .await
        }
    }
    let first = {
        let log = log.clone();
        tokio::spawn(async move { log.append(simple(0)).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    let bad_at = 7;
    let queued: Vec<_> = (1..=12u64)
        .map(|i| {
            let log = log.clone();
            let mut e = simple(i);
            if i == bad_at {
                // PostgreSQL refuses NUL bytes in TEXT.
                e.officer_name = "Li\0Na".into();
            }
            tokio::spawn(async move { (i, log.append(e).await) })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(60)).await;
    locker.exec("ROLLBACK").await;
    first.await.unwrap().unwrap();
    let mut ok = Vec::new();
    for h in queued {
        let (i, r) = h.await.unwrap();
        match r {
            Ok(receipt) => ok.push((i, receipt.seq)),
            Err(e) => {
                assert!(e.is_unavailable(), "{e}");
                assert_eq!(i, bad_at, "only the bad entry fails: {e}");
                assert!(!e.to_string().contains("Li\0Na"));
            }
        }
    }
    let expected_ok = match store.kind {
        // SQLite stores the NUL byte as it is.
        Kind::Sqlite => 12,
        Kind::Postgres => 11,
    };
    assert_eq!(ok.len(), expected_ok, "{ok:?}");
    let mut seqs: Vec<u64> = ok.iter().map(|(_, s)| *s).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (2..2 + expected_ok as u64).collect::<Vec<_>>(),
        "no gap left by the bad entry"
    );
    log.shutdown().await.unwrap();
    assert!(matches!(
        log.reader().verify(&pk).await.unwrap(),
        VerifyReport::Intact { entries, .. } if entries == expected_ok as u64 + 1
    ));
}

/// The advisory lock key of a chain, as the store computes it (FNV-1a 64).
fn chain_lock_key(chain_id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in chain_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// Terminates the PostgreSQL session holding a chain's writer lock.
async fn kill_writer_session(store: &TestStore, chain_id: &str) {
    let bits = chain_lock_key(chain_id) as u64;
    let holders = format!(
        "FROM pg_locks WHERE locktype = 'advisory' \
         AND classid::bigint = {} AND objid::bigint = {} AND objsubid = 1",
        bits >> 32,
        bits & 0xffff_ffff
    );
    let mut raw = store.raw().await;
    raw.exec(&format!("SELECT pg_terminate_backend(pid) {holders}"))
        .await;
    // `pg_terminate_backend` only signals the backend: wait until it has
    // ended and its lock is free (a fixed pause was too short on a loaded
    // machine, and the next writer then found the chain still locked).
    let count = format!("SELECT COUNT(*) {holders}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while raw.scalar_i64(&count).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the killed writer's session still holds its chain's lock after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_second_writer_seals_only_chains_nobody_writes(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let a = AuditLog::open(&store.config(&key, 10)).await.unwrap();
    a.append(simple(1)).await.unwrap();
    let b = AuditLog::open(&store.config(&key, 10)).await.unwrap();
    b.append(simple(2)).await.unwrap();
    // `a` keeps writing after `b` opened.
    a.append(simple(3)).await.unwrap();
    let report = b.reader().verify(&key_of(&a)).await.unwrap();
    match store.kind {
        // PostgreSQL replicas share one store: `a` is live (it holds its
        // chain's lock), so `b` did not seal it and both chains verify.
        Kind::Postgres => assert_eq!(
            report,
            VerifyReport::Intact {
                entries: 3,
                checkpoints: 2,
                chains: 2,
                open_chains: 2,
                unsigned_entries: 3
            }
        ),
        // One gateway process per SQLite file: `b` took `a` for crashed and
        // sealed it at seq 1, so `a`'s later entry is flagged.
        Kind::Sqlite => {
            assert_tampered(report, a.chain_id(), 2);
        }
    }
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

fn key_of(log: &AuditLog) -> Vec<u8> {
    log.public_key()
}

/// SQLite: committed pages are folded from the WAL into the database file
/// in the background while the log is live (the writer's own checkpoint
/// comes only every 4 096 WAL pages), and shutdown leaves no WAL behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_is_folded_into_the_database_while_live() {
    let store = TestStore::sqlite();
    let path = std::path::PathBuf::from(
        store
            .url
            .strip_prefix("sqlite://")
            .expect("test store url is sqlite://PATH"),
    );
    let wal = path.with_extension("db-wal");
    let key = generate_signing_key().unwrap();
    let log = AuditLog::open(&store.config(&key, 1000)).await.unwrap();
    let opened = std::fs::metadata(&path).unwrap().len();
    for i in 1..=200 {
        log.append(simple(i)).await.unwrap();
    }
    // 200 entries are a few hundred KB of WAL: far below the writer's
    // checkpoint threshold, so only the background fold can move them.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now_len = std::fs::metadata(&path).unwrap().len();
        if now_len > opened + 64 * 1024 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "database file stayed at {now_len} bytes (opened at {opened}): the WAL was not folded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    log.shutdown().await.unwrap();
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "shutdown truncates the WAL");
    let reader = Reader::connect(&store.url).await.unwrap();
    assert!(matches!(
        reader.verify(&log.public_key()).await.unwrap(),
        VerifyReport::Intact { .. }
    ));
}

/// SQLite: a value re-stored with another storage class (the same text as
/// a JSONB blob, a number as a real, a blob spliced to look like extra
/// rows) is tampering, whichever way verify reads the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_values_of_a_foreign_type_are_tampering() {
    let store = TestStore::sqlite();
    let key = generate_signing_key().unwrap();
    let (log, pk) = filled(&store, &key, 10, 12).await;
    let reader = log.reader();
    let mut raw = store.raw().await;
    for (tamper, restore) in [
        (
            "UPDATE entries SET officer_name = jsonb(json_quote(officer_name)) WHERE seq = 4",
            "UPDATE entries SET officer_name = officer_name ->> '$' WHERE seq = 4",
        ),
        (
            "UPDATE entries SET status = jsonb(status) WHERE seq = 4",
            "UPDATE entries SET status = status ->> '$' WHERE seq = 4",
        ),
        (
            "UPDATE entries SET latency_ms = CAST(latency_ms AS REAL) + 0.5 WHERE seq = 4",
            "UPDATE entries SET latency_ms = CAST(latency_ms AS INTEGER) WHERE seq = 4",
        ),
    ] {
        raw.exec(tamper).await;
        assert_tampered(reader.verify(&pk).await.unwrap(), log.chain_id(), 4);
        raw.exec(restore).await;
        assert!(
            matches!(
                reader.verify(&pk).await.unwrap(),
                VerifyReport::Intact { .. }
            ),
            "restoring `{restore}` makes the log intact again"
        );
    }
    // A deleted row hidden by a JSONB blob (INT header 0xd3 + 2-byte
    // length) whose payload spells the deleted row into the page's JSON.
    let row5: String = raw
        .scalar_string(
            "SELECT json_array(chain_id, seq, prev_hash, hash, time_ms, inquiry_id, plane, \
             officer_id, officer_name, unit, cert_fingerprint, purpose, inquiry_case, \
             consent_id, method, path, subject_id, subject_type, items_requested, decision, \
             reason, rule, statutory_basis, status, records_returned, records_suppressed, \
             removed_keys, masked_keys, objection_labeled, upstream_status, latency_ms) \
             FROM entries WHERE seq = 5",
        )
        .await;
    let latency4: String = raw
        .scalar_string("SELECT CAST(latency_ms AS TEXT) FROM entries WHERE seq = 4")
        .await;
    let payload = format!("{latency4}],{}", &row5[..row5.len() - 1]);
    let len = payload.len();
    let blob = format!(
        "d3{:02x}{:02x}{}",
        len >> 8,
        len & 0xff,
        hex::encode(payload.as_bytes())
    );
    raw.exec("DELETE FROM entries WHERE seq = 5").await;
    raw.exec(&format!(
        "UPDATE entries SET latency_ms = x'{blob}' WHERE seq = 4"
    ))
    .await;
    assert!(
        !matches!(
            reader.verify(&pk).await.unwrap(),
            VerifyReport::Intact { .. }
        ),
        "a deleted entry spliced back through a blob is found"
    );
}

/// An export longer than the parser's hand-off batches (lines are parsed on
/// a second thread): intact, a changed entry deep in the file, a line no
/// export has (a would-be end marker), a cut-off tail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_exports_verify_across_parse_batches() {
    let store = TestStore::sqlite();
    let key = generate_signing_key().unwrap();
    let log = AuditLog::open(&store.config(&key, 100)).await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    for t in 0..8u64 {
        let log = log.clone();
        set.spawn(async move {
            for i in 0..250u64 {
                log.append(simple(t * 1000 + i)).await.unwrap();
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    log.shutdown().await.unwrap();
    let pk = log.public_key();
    let mut buf: Vec<u8> = Vec::new();
    log.reader()
        .export(&Filter::default(), &mut buf)
        .await
        .unwrap();
    let text = String::from_utf8(buf).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // header, genesis, 20 periodic, final, 2 000 entries, end
    assert_eq!(lines.len(), 1 + 1 + 20 + 1 + 2000 + 1);
    assert!(matches!(
        verify_export(text.as_bytes(), &pk).unwrap(),
        VerifyReport::Intact { entries: 2000, .. }
    ));

    let at = |seq: u64| {
        lines
            .iter()
            .position(|l| {
                l.contains(&format!(r#""seq":{seq},"#)) && l.contains(r#""type":"entry""#)
            })
            .unwrap()
    };
    let mut changed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let i = at(1717);
    changed[i] = changed[i].replacen("HN-AMR-0001", "HN-AMR-0002", 1);
    assert_tampered(
        verify_export(changed.join("\n").as_bytes(), &pk).unwrap(),
        log.chain_id(),
        1717,
    );

    let mut marker: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    marker.insert(at(1300), r#"{"type":"end"}"#.to_owned());
    match verify_export(marker.join("\n").as_bytes(), &pk) {
        Err(AuditError::ExportFormat { line, .. }) => {
            assert_eq!(line, at(1300) as u64 + 1, "1-based number of the bad line")
        }
        other => panic!("expected a format error, got {other:?}"),
    }

    // Without its header line an export is not one, and that is said first
    // (whatever line comes first: here an entry line).
    let entries_only: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains(r#""type":"entry""#))
        .copied()
        .collect();
    match verify_export(entries_only.join("\n").as_bytes(), &pk) {
        Err(AuditError::ExportFormat { line: 1, why }) => assert!(why.contains("header"), "{why}"),
        other => panic!("expected a missing-header error, got {other:?}"),
    }

    let cut = lines[..at(1500)].join("\n");
    assert_tampered(
        verify_export(cut.as_bytes(), &pk).unwrap(),
        log.chain_id(),
        1500,
    );
}
