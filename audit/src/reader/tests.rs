use super::*;

/// The fast entry-line path and the tagged path read the same line the
/// same way, whatever the key order; a wrong tag never takes it.
#[test]
fn entry_lines_parse_the_same_by_either_path() {
    let line = ExportLine::Entry(Box::new(Entry {
        chain_id: "c".into(),
        seq: 3,
        prev_hash: "a".repeat(64),
        hash: "b".repeat(64),
        entry: crate::entry::tests::sample(3),
    }));
    let text = serde_json::to_string(&line).unwrap();
    assert!(text.starts_with(r#"{"type":"entry","#), "{text}");
    let mut v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    let tag = v.shift_remove("type").unwrap();
    v.insert("type".into(), tag);
    let reordered = serde_json::to_string(&v).unwrap();
    assert!(!reordered.starts_with(r#"{"type""#));
    let fast = serde_json::to_value(parse_export_line(&text).unwrap()).unwrap();
    let slow = serde_json::to_value(parse_export_line(&reordered).unwrap()).unwrap();
    assert_eq!(fast, slow);
    assert_eq!(fast, serde_json::to_value(&line).unwrap());
    let wrong = text.replacen(r#""type":"entry""#, r#""type":"entry ""#, 1);
    assert!(parse_export_line(&wrong).is_err());
}

/// The export in its simplest form, the reference the chunked, paged
/// export must match byte for byte: one writer, each chain's entries read
/// in one query, no chunks (it chooses what to export with the same
/// `export_plan`).
async fn old_export(
    reader: &Reader,
    f: &Filter,
    public_key: &[u8],
    out: &mut (dyn Write + Send),
) -> Result<u64, AuditError> {
    old_write_line(out, &header_line(public_key))?;
    let mut written = 0u64;
    for (chain_id, lo, hi) in reader.store.matching_ranges(f).await? {
        let span = (u64::try_from(lo).unwrap(), u64::try_from(hi).unwrap());
        let notes = reader.store.notes(&chain_id).await?;
        let Some((start, end, lines)) = export_plan(&chain_id, notes, span.0, span.1) else {
            continue;
        };
        for line in &lines {
            old_write_line(out, line)?;
        }
        if let Some(line) = frontier_line(&reader.store, &chain_id, start).await? {
            old_write_line(out, &line)?;
        }
        let all = i64::try_from(end - start).unwrap();
        let entries = reader
            .store
            .entries_after(&chain_id, crate::store::big(start), all)
            .await?;
        for e in entries {
            old_write_line(out, &ExportLine::Entry(Box::new(e?)))?;
            written += 1;
        }
    }
    out.flush()?;
    Ok(written)
}

fn old_write_line(out: &mut (dyn Write + Send), line: &ExportLine) -> Result<(), AuditError> {
    serde_json::to_writer(&mut *out, line).map_err(|e| AuditError::Io(e.into()))?;
    out.write_all(b"\n")?;
    Ok(())
}

/// A log of three chains (the first two closed by shutdown), with
/// checkpoints every 3 entries, entries of two officers and subjects.
async fn three_chains() -> (tempfile::TempDir, Reader, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/log.db", dir.path().display());
    let cfg = crate::AuditConfig {
        store_url: url.clone(),
        signing_key_pkcs8: crate::generate_signing_key().unwrap(),
        checkpoint_every: 3,
        ..Default::default()
    };
    let mut key = Vec::new();
    let mut i = 0u64;
    for (chain, n) in [(0, 20u64), (1, 7), (2, 11)] {
        let log = crate::AuditLog::open(&cfg).await.unwrap();
        for _ in 0..n {
            let mut e = crate::entry::tests::sample(i);
            if i.is_multiple_of(3) {
                e.officer_id = "CS-RATE-0007".into();
            }
            if i.is_multiple_of(4) {
                e.decision = Decision::Deny;
            }
            log.append(e).await.unwrap();
            i += 1;
        }
        key = log.public_key();
        if chain < 2 {
            log.shutdown().await.unwrap();
        } else {
            log.checkpoint().await.unwrap();
            log.shutdown().await.unwrap();
        }
    }
    let reader = Reader::connect(&url).await.unwrap();
    (dir, reader, key)
}

/// The chunked export, whatever its page and chunk sizes, writes
/// exactly the bytes the in-memory export wrote, for the whole log and
/// for filters that cut segments out of chains; and it verifies.
#[tokio::test]
async fn chunked_export_is_byte_identical_to_the_in_memory_one() {
    let (_dir, reader, key) = three_chains().await;
    assert_eq!(reader.chains().await.unwrap().len(), 3);
    let filters = [
        Filter::default(),
        Filter {
            officer: Some("CS-RATE-0007".into()),
            ..Filter::default()
        },
        Filter {
            from_ms: Some(1_780_000_000_000 + 9),
            to_ms: Some(1_780_000_000_000 + 24),
            ..Filter::default()
        },
        Filter {
            decision: Some(Decision::Deny),
            from_ms: Some(1_780_000_000_000 + 30),
            ..Filter::default()
        },
    ];
    for f in &filters {
        let mut old = Vec::new();
        let old_n = old_export(&reader, f, &key, &mut old).await.unwrap();
        let mut now = Vec::new();
        let n = reader.export_with_key(f, &key, &mut now).await.unwrap();
        assert_eq!(n, old_n, "{f:?}");
        assert_eq!(now, old, "{f:?}");
        for (page, chunk) in [(1, 1), (2, 100), (7, 4096), (PAGE, 1 << 20)] {
            let mut chunks: Vec<Vec<u8>> = Vec::new();
            let n = reader
                .export_chunks(f, &key, page, chunk, |c| {
                    chunks.push(c);
                    std::future::ready(Ok(()))
                })
                .await
                .unwrap();
            assert_eq!(n, old_n);
            assert!(chunks.iter().all(|c| c.ends_with(b"\n")), "whole lines");
            assert_eq!(chunks.concat(), old, "{f:?} page {page} chunk {chunk}");
        }
        let report = verify_export(std::io::Cursor::new(&old), &key).unwrap();
        assert!(matches!(report, VerifyReport::Intact { .. }), "{report:?}");
    }
    let mut full = Vec::new();
    reader
        .export_with_key(&Filter::default(), &key, &mut full)
        .await
        .unwrap();
    let report = verify_export(std::io::Cursor::new(&full), &key).unwrap();
    assert!(
        matches!(
            report,
            VerifyReport::Intact {
                entries: 38,
                chains: 3,
                ..
            }
        ),
        "{report:?}"
    );
}

/// A failing sink stops the export with its error.
#[tokio::test]
async fn a_failing_sink_stops_the_export() {
    let (_dir, reader, key) = three_chains().await;
    let mut calls = 0;
    let r = reader
        .export_chunks(&Filter::default(), &key, 4, 64, |_| {
            calls += 1;
            std::future::ready(if calls < 3 {
                Ok(())
            } else {
                Err(AuditError::Io(std::io::ErrorKind::BrokenPipe.into()))
            })
        })
        .await;
    assert!(matches!(r, Err(AuditError::Io(_))), "{r:?}");
    assert_eq!(calls, 3);
}
