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
    key: &ExportKey,
    out: &mut Vec<u8>,
) -> Result<u64, AuditError> {
    old_write_line(out, &header_line(key.public_key(), f))?;
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
    let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, out)
        .as_ref()
        .try_into()
        .unwrap();
    old_write_line(
        out,
        &ExportLine::End {
            entries: written,
            sha256: hex::encode(digest),
            signature: key.sign_end(&digest, written),
        },
    )?;
    Ok(written)
}

fn old_write_line(out: &mut Vec<u8>, line: &ExportLine) -> Result<(), AuditError> {
    serde_json::to_writer(&mut *out, line).map_err(|e| AuditError::Io(e.into()))?;
    out.write_all(b"\n")?;
    Ok(())
}

/// A log of three chains (the first two closed by shutdown), with
/// checkpoints every 3 entries, entries of two officers and subjects.
async fn three_chains() -> (tempfile::TempDir, Reader, Vec<u8>) {
    let (dir, reader, (_, key)) = three_chains_with_key().await;
    (dir, reader, key)
}

/// [`three_chains`], with the audit key that signs its export end lines.
async fn three_chains_with_key() -> (tempfile::TempDir, Reader, (ExportKey, Vec<u8>)) {
    chains_of(&[20, 7, 11]).await
}

/// A log of one chain per size in `sizes` (each closed by shutdown, the
/// last after an explicit checkpoint), checkpoints every 3 entries, entries
/// of two officers and subjects; with the audit key that signs export end
/// lines.
async fn chains_of(sizes: &[u64]) -> (tempfile::TempDir, Reader, (ExportKey, Vec<u8>)) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/log.db", dir.path().display());
    let pkcs8 = crate::generate_signing_key().unwrap();
    let cfg = crate::AuditConfig {
        store_url: url.clone(),
        signing_key_pkcs8: pkcs8.clone(),
        checkpoint_every: 3,
        ..Default::default()
    };
    let mut key = Vec::new();
    let mut i = 0u64;
    for (chain, &n) in sizes.iter().enumerate() {
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
        if chain + 1 == sizes.len() {
            log.checkpoint().await.unwrap();
        }
        log.shutdown().await.unwrap();
    }
    let reader = Reader::connect(&url)
        .await
        .unwrap()
        .with_signing_key(&pkcs8)
        .unwrap();
    (dir, reader, (ExportKey::from_pkcs8(&pkcs8).unwrap(), key))
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
        let export_key = reader.export_key.clone().unwrap();
        let old_n = old_export(&reader, f, &export_key, &mut old).await.unwrap();
        let mut now = Vec::new();
        let n = reader.export(f, &mut now).await.unwrap();
        assert_eq!(n, old_n, "{f:?}");
        assert_eq!(now, old, "{f:?}");
        for (page, chunk) in [(1, 1), (2, 100), (7, 4096), (PAGE, 1 << 20)] {
            let mut chunks: Vec<Vec<u8>> = Vec::new();
            let n = reader
                .export_chunks(f, page, chunk, |c| {
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
    reader.export(&Filter::default(), &mut full).await.unwrap();
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
    let (_dir, reader, _key) = three_chains().await;
    let mut calls = 0;
    let r = reader
        .export_chunks(&Filter::default(), 4, 64, |_| {
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

/// The end line seals the file: cut after any line, with one chain's
/// lines taken out whole, with a line after the end, or with the end's
/// count or signature changed, an export fails — though every chain left
/// in it would verify on its own.
#[tokio::test]
async fn an_export_cut_anywhere_or_missing_a_chain_fails_its_seal() {
    let (_dir, reader, key) = three_chains().await;
    let mut full = Vec::new();
    reader.export(&Filter::default(), &mut full).await.unwrap();
    let text = String::from_utf8(full).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let verify = |lines: &[String]| {
        let mut file = lines.join("\n");
        file.push('\n');
        verify_export(std::io::Cursor::new(file), &key).unwrap()
    };
    let is_unsealed = |r: &VerifyReport| matches!(r, VerifyReport::Tampered { chain_id, first_bad_seq: 0, .. } if chain_id == WHOLE_FILE);
    assert!(matches!(
        verify(&lines),
        VerifyReport::Intact {
            entries: 38,
            chains: 3,
            ..
        }
    ));
    // Blank lines and CRLF line ends change nothing.
    let mut spaced = lines.clone();
    spaced.insert(3, String::new());
    assert!(matches!(verify(&spaced), VerifyReport::Intact { .. }));
    let crlf: Vec<String> = lines.iter().map(|l| format!("{l}\r")).collect();
    assert!(matches!(verify(&crlf), VerifyReport::Intact { .. }));
    for cut in 1..lines.len() {
        // Mid-chain, the chain check names the first entry no checkpoint
        // covers; at a chain's boundary only the seal can tell.
        let r = verify(&lines[..cut]);
        assert!(
            matches!(r, VerifyReport::Tampered { .. }),
            "cut after line {cut}: {r:?}"
        );
        let entry = |l: &str| l.starts_with("{\"type\":\"entry\"");
        if cut == 1 || (entry(&lines[cut - 1]) && !entry(&lines[cut])) {
            assert!(is_unsealed(&r), "cut after line {cut}: {r:?}");
        }
    }
    let chain_of = |line: &str| {
        serde_json::from_str::<serde_json::Value>(line).unwrap()["chain_id"]
            .as_str()
            .map(str::to_owned)
    };
    let chains: std::collections::BTreeSet<String> =
        lines.iter().filter_map(|l| chain_of(l)).collect();
    assert_eq!(chains.len(), 3);
    for gone in &chains {
        let kept: Vec<String> = lines
            .iter()
            .filter(|l| chain_of(l).as_ref() != Some(gone))
            .cloned()
            .collect();
        let r = verify(&kept);
        assert!(is_unsealed(&r), "chain {gone} taken out: {r:?}");
    }
    let mut after = lines.clone();
    after.push(lines[1].clone());
    let r = verify(&after);
    assert!(
        matches!(r, VerifyReport::Tampered { .. }),
        "a line after the end: {r:?}"
    );
    let mut after_end = lines.clone();
    after_end.push(
        lines
            .last()
            .unwrap()
            .replacen("\"entries\":38", "\"entries\":0", 1),
    );
    assert!(verify_export(std::io::Cursor::new(after_end.join("\n")), &key).is_err());
    let end = lines.last().unwrap().clone();
    let mut recounted = lines.clone();
    *recounted.last_mut().unwrap() = end.replacen("\"entries\":38", "\"entries\":37", 1);
    assert_ne!(recounted, lines);
    assert!(is_unsealed(&verify(&recounted)), "another count");
    // Re-sealed by another key after a chain was taken out: still not
    // the audit key's.
    let other = ExportKey::from_pkcs8(&crate::generate_signing_key().unwrap()).unwrap();
    let kept: Vec<String> = lines[..lines.len() - 1]
        .iter()
        .filter(|l| chain_of(l).as_ref() != chains.iter().next())
        .cloned()
        .collect();
    let r = verify(&with_end_line(kept, &other));
    assert!(is_unsealed(&r), "re-sealed by another key: {r:?}");
    // Two end lines: not an export.
    let mut twice = lines.clone();
    twice.insert(1, end);
    assert!(verify_export(std::io::Cursor::new(twice.join("\n")), &key).is_err());
}

/// `lines` (an export without its end line) with an end line signed by
/// `key` over them, as whoever holds that key can write one.
fn with_end_line(mut lines: Vec<String>, key: &ExportKey) -> Vec<String> {
    let mut digest = LinesDigest::new();
    for l in &lines {
        digest.line(l);
    }
    let digest = digest.finish();
    let n = lines
        .iter()
        .filter(|l| l.starts_with("{\"type\":\"entry\""))
        .count() as u64;
    lines.push(
        serde_json::to_string(&ExportLine::End {
            entries: n,
            sha256: hex::encode(digest),
            signature: key.sign_end(&digest, n),
        })
        .unwrap(),
    );
    lines
}

/// Who holds the audit key can sign an end line again over an edited
/// file: a whole-log export must then still hold every chain a genesis
/// links, to the linked size (an outside probe dropped the oldest chain,
/// cut another with its checkpoints, duplicated a checkpoint line, and
/// re-signed: each read "intact, whole log"). The newest chain, which no
/// genesis links, can be dropped or cut only with a witness to tell.
#[tokio::test]
async fn a_resealed_whole_log_export_missing_a_linked_chain_is_tampered() {
    let (_dir, reader, pk) = three_chains_with_key().await;
    let (key, pk) = pk;
    let mut full = Vec::new();
    reader.export(&Filter::default(), &mut full).await.unwrap();
    let text = String::from_utf8(full).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let body = &lines[..lines.len() - 1];
    let reseal = |kept: Vec<String>| {
        let kept = with_end_line(kept, &key);
        let mut file = kept.join("\n");
        file.push('\n');
        verify_export(std::io::Cursor::new(file), &pk).unwrap()
    };
    // Re-sealed unchanged: intact.
    assert!(reseal(body.to_vec()).is_intact());
    let value = |l: &str| serde_json::from_str::<serde_json::Value>(l).unwrap();
    let chain_of = |l: &str| value(l)["chain_id"].as_str().map(str::to_owned);
    // Chains in the order written: the first two are linked by a genesis.
    let mut order: Vec<String> = Vec::new();
    for l in body {
        if let Some(c) = chain_of(l) {
            if !order.contains(&c) {
                order.push(c);
            }
        }
    }
    let mut by_size: Vec<(String, u64)> = Vec::new();
    for c in &order {
        let n = body
            .iter()
            .filter(|l| chain_of(l).as_ref() == Some(c) && l.starts_with("{\"type\":\"entry\""))
            .count() as u64;
        by_size.push((c.clone(), n));
    }
    let oldest = by_size.iter().find(|(_, n)| *n == 20).unwrap().0.clone();
    let dropped: Vec<String> = body
        .iter()
        .filter(|l| chain_of(l).as_ref() != Some(&oldest))
        .cloned()
        .collect();
    match reseal(dropped) {
        VerifyReport::Tampered { why, .. } => assert!(why.contains("is missing"), "{why}"),
        other => panic!("dropped chain: {other:?}"),
    }
    // The oldest chain cut to 10 entries with its checkpoints past 9.
    let cut: Vec<String> = body
        .iter()
        .filter(|l| {
            if chain_of(l).as_ref() != Some(&oldest) {
                return true;
            }
            let v = value(l);
            let past = |k: &str| v[k].as_u64().is_some_and(|n| n > 9);
            !(past("seq") || (v["type"] == "checkpoint" && past("size")))
        })
        .cloned()
        .collect();
    match reseal(cut) {
        VerifyReport::Tampered { chain_id, why, .. } => {
            assert_eq!(chain_id, oldest, "{why}");
        }
        other => panic!("cut chain: {other:?}"),
    }
    // A checkpoint line given twice.
    let cp = body
        .iter()
        .position(|l| l.starts_with("{\"type\":\"checkpoint\""))
        .unwrap();
    let mut twice = body.to_vec();
    twice.insert(cp + 1, body[cp].clone());
    match reseal(twice) {
        VerifyReport::Tampered { why, .. } => assert!(why.contains("given twice"), "{why}"),
        other => panic!("duplicated checkpoint: {other:?}"),
    }
}

/// A gateway that started and stopped without logging anything leaves a
/// chain with no entry — no line in an export — which the next chain's
/// genesis links at size 0: the whole-log export still verifies (the
/// reviewer of the link check).
#[tokio::test]
async fn a_whole_log_export_with_an_empty_linked_chain_verifies() {
    let (_dir, reader, (_, key)) = chains_of(&[5, 0, 4]).await;
    let mut full = Vec::new();
    reader.export(&Filter::default(), &mut full).await.unwrap();
    let report = verify_export(std::io::Cursor::new(&full), &key).unwrap();
    assert!(
        matches!(report, VerifyReport::Intact { entries: 9, .. }),
        "{report:?}"
    );
}

/// A version 3 export (before exports were sealed: no end line) is refused
/// by `verify_export` and read by `verify_export_any_version`, which checks
/// its chains and says it is not sealed — and so cannot see a chain taken
/// out whole.
#[tokio::test]
async fn a_version_3_export_is_read_as_unsealed() {
    let (_dir, reader, key) = three_chains().await;
    let mut full = Vec::new();
    reader.export(&Filter::default(), &mut full).await.unwrap();
    let text = String::from_utf8(full).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.pop(); // the end line
    lines[0] = lines[0].replacen("\"version\":4", "\"version\":3", 1);
    let v3 = lines.join("\n") + "\n";
    assert!(matches!(
        verify_export(std::io::Cursor::new(&v3), &key),
        Err(AuditError::ExportFormat { line: 1, .. })
    ));
    let (report, facts) = verify_export_any_version(std::io::Cursor::new(&v3), &key).unwrap();
    assert!(!facts.sealed);
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
    // Its chains are still checked entry by entry.
    let edited = v3.replacen("CS-RATE-0007", "CS-RATE-0008", 1);
    assert_ne!(edited, v3);
    let (report, _) = verify_export_any_version(std::io::Cursor::new(&edited), &key).unwrap();
    assert!(
        matches!(report, VerifyReport::Tampered { .. }),
        "{report:?}"
    );
    // A version 4 file read the same way is sealed.
    let (report, facts) = verify_export_any_version(std::io::Cursor::new(&text), &key).unwrap();
    assert!(facts.sealed && report.is_intact());
    assert_eq!(facts.selection.as_deref(), Some("whole log"));
    // An end line in a version 3 file is not one.
    let mut with_end = lines.clone();
    with_end.push(text.lines().last().unwrap().to_owned());
    assert!(verify_export_any_version(std::io::Cursor::new(with_end.join("\n")), &key).is_err());
}
