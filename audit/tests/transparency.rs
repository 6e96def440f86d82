//! The inquiry log against its operator (issue 12): tampering by someone
//! who can write the store — deleting whole chains, cutting the newest
//! entries together with their checkpoints, rewriting history with the
//! hash chain recomputed, restarting so the next writer seals what it finds
//! — and forged, cut and front-trimmed exports; inclusion and consistency
//! proofs; checkpoints by the clock; migration of a schema-2 store.
//!
//! Every tamper test here says why the code before the verifiable log
//! (hash chain + v2 checkpoints, commit b310c7f) missed it. SQLite and
//! PostgreSQL via `both_stores!`, except the migration (its fixture is a
//! SQLite file written by the previous release).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use audit::entry::entry_hash;
use audit::merkle::verify_consistency;
use audit::reader::verify_bundle;
use audit::tree_head::{Checkpoint, Kind as CpKind, LogKey};
use audit::{
    generate_signing_key, verify_export, AuditError, AuditLog, Entry, Filter, Reader, VerifyReport,
};
use common::{simple, TestStore};

both_stores!(
    a_whole_older_chain_deleted_is_found,
    an_older_chain_cut_with_its_checkpoints_is_found_after_a_restart,
    newest_entries_cut_with_their_checkpoints_then_a_restart,
    a_rewritten_entry_with_recomputed_hashes_is_found,
    forged_cut_and_trimmed_exports_are_refused,
    inclusion_and_consistency_proofs_verify_and_any_flipped_bit_fails,
    checkpoints_come_by_the_clock_and_at_shutdown,
    a_crashed_chain_that_does_not_verify_is_not_sealed,
);

/// Opens a log, appends `simple(first + 1 ..= first + n)`, shuts it down.
async fn filled(store: &TestStore, key: &[u8], every: u64, n: u64, first: u64) -> AuditLog {
    let log = AuditLog::open(&store.config(key, every)).await.unwrap();
    for i in 1..=n {
        assert_eq!(log.append(simple(first + i)).await.unwrap().seq, i);
    }
    log.shutdown().await.unwrap();
    log
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
            assert_eq!(
                (chain_id.as_str(), first_bad_seq),
                (chain, seq),
                "tampering found elsewhere: {why}"
            );
            why
        }
        other => panic!("expected tampering in {chain} at seq {seq}, got {other:?}"),
    }
}

fn intact(entries: u64, checkpoints: u64, chains: u64, open: u64, unsigned: u64) -> VerifyReport {
    VerifyReport::Intact {
        entries,
        checkpoints,
        chains,
        open_chains: open,
        unsigned_entries: unsigned,
    }
}

fn hash_bytes(hex_hash: &str) -> [u8; 32] {
    <[u8; 32]>::try_from(hex::decode(hex_hash).unwrap()).unwrap()
}

fn sized(notes: &[(i64, &str)]) -> Vec<(i64, String)> {
    notes.iter().map(|(s, k)| (*s, k.to_string())).collect()
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

/// A chain's checkpoint of this size and kind, opened with the key.
async fn checkpoint(
    store: &TestStore,
    key: &LogKey,
    chain: &str,
    size: u64,
    kind: &str,
) -> Checkpoint {
    let note = store.raw().await.note(chain, size, kind).await;
    key.open(&note).unwrap()
}

/// SQL that rewrites entry `at` of a chain (its officer) and recomputes
/// `prev_hash`/`hash` of it and every later entry, so the hash chain
/// links and hashes again: what someone with write access to the store
/// can do without any key.
fn rewrite_from(entries: &[Entry], at: u64) -> String {
    let chain = &entries[0].chain_id;
    let mut sql = String::new();
    let mut prev = hash_bytes(&entries[(at - 2) as usize].hash);
    for e in &entries[(at - 1) as usize..] {
        let mut n = e.entry.clone();
        if e.seq == at {
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
    sql
}

/// SQL deleting a chain's entries after `seq` and its notes beyond `size`.
fn cut(chain: &str, seq: u64, size: u64) -> String {
    format!(
        "DELETE FROM entries WHERE chain_id = '{chain}' AND seq > {seq}; \
         DELETE FROM notes WHERE chain_id = '{chain}' AND size > {size};"
    )
}

/// Case 1: a whole older chain deleted — all its entries and checkpoints.
///
/// Before: verify walked the chains the store held, each against its own
/// checkpoints; nothing recorded that a chain had existed, so removing
/// every row of one left an intact log. Now each chain's genesis links the
/// latest checkpoint of every chain before it.
async fn a_whole_older_chain_deleted_is_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let a = filled(store, &key, 2, 5, 100).await;
    let b = filled(store, &key, 2, 3, 200).await;
    let c = AuditLog::open(&store.config(&key, 2)).await.unwrap();
    c.append(simple(300)).await.unwrap();
    let pk = c.public_key();
    // a: genesis, 2, 4, final 5; b: genesis, 2, final 3; c (live): genesis.
    assert_eq!(c.reader().verify(&pk).await.unwrap(), intact(9, 8, 3, 1, 1));
    // b is linked only by c's genesis.
    store
        .raw()
        .await
        .exec(&format!(
            "DELETE FROM entries WHERE chain_id = '{b}'; DELETE FROM notes WHERE chain_id = '{b}';",
            b = b.chain_id()
        ))
        .await;
    let why = assert_tampered(c.reader().verify(&pk).await.unwrap(), c.chain_id(), 0);
    assert!(
        why.contains(b.chain_id()) && why.contains("missing"),
        "{why}"
    );
    // a, the oldest, is linked by both later chains' genesis.
    store
        .raw()
        .await
        .exec(&format!(
            "DELETE FROM entries WHERE chain_id = '{a}'; DELETE FROM notes WHERE chain_id = '{a}';",
            a = a.chain_id()
        ))
        .await;
    assert!(!c.reader().verify(&pk).await.unwrap().is_intact());
    c.shutdown().await.unwrap();
}

/// Case 2: an older chain cut: its newest entries deleted together with the
/// checkpoints beyond the cut, then a restart.
///
/// Before: an older chain without a final checkpoint was flagged, but the
/// next open sealed every open chain at whatever head it found, so after a
/// restart the cut chain read as closed and intact. Now the next chain's
/// genesis names the cut chain's size and root (here its final
/// checkpoint at 10): the chain is shorter than named.
async fn an_older_chain_cut_with_its_checkpoints_is_found_after_a_restart(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    // a: genesis, 3, 6, 9, final 10.
    let a = filled(store, &key, 3, 10, 0).await;
    // b's genesis links a at its final checkpoint (10).
    let b = filled(store, &key, 3, 2, 100).await;
    let pk = b.public_key();
    let origin_a = checkpoint(
        store,
        &LogKey::raw(&pk).unwrap(),
        a.chain_id(),
        0,
        "genesis",
    )
    .await
    .origin;
    let genesis_b = checkpoint(
        store,
        &LogKey::raw(&pk).unwrap(),
        b.chain_id(),
        0,
        "genesis",
    )
    .await;
    assert_eq!(
        genesis_b
            .links
            .iter()
            .map(|l| (l.origin.as_str(), l.size))
            .collect::<Vec<_>>(),
        vec![(origin_a.as_str(), 10)]
    );
    // Cut at a checkpoint: entries 7..=10 and the checkpoints at 9 and 10.
    store.raw().await.exec(&cut(a.chain_id(), 6, 6)).await;
    let restarted = AuditLog::open(&store.config(&key, 3)).await.unwrap();
    let why = assert_tampered(
        restarted.reader().verify(&pk).await.unwrap(),
        a.chain_id(),
        7,
    );
    assert!(
        why.contains("truncated") && why.contains("size 10"),
        "{why}"
    );
    restarted.shutdown().await.unwrap();
    assert_tampered(
        restarted.reader().verify(&pk).await.unwrap(),
        a.chain_id(),
        7,
    );
}

/// Case 3: the newest entries of the latest chain cut together with their
/// checkpoints (its final one too), then a restart.
///
/// Before: the restart sealed the cut head and verify found nothing, in
/// both cases below. Now (a) when a later chain was opened after the cut
/// chain's final checkpoint, its genesis link names the real size, and
/// verify finds the cut whether or not the next open sealed the head;
/// (b) when no later chain exists, nothing left in the store remembers the
/// cut-off part: verify reports an open chain (entries after its last
/// checkpoint counted as unsigned, not vouched for), and after a restart
/// the chain is sealed at its cut head. Only a witness that cosigned the
/// final checkpoint catches (b): `audit verify --require-witness` (tested
/// with the gateway's witness tests).
async fn newest_entries_cut_with_their_checkpoints_then_a_restart(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    // (a) a: genesis, 4, 8, final 10; then b opened (linking a at 10) and
    // stopped. Cut a between checkpoints: entries 6..=10, notes 8 and 10.
    let a = filled(store, &key, 4, 10, 0).await;
    let b = filled(store, &key, 4, 1, 100).await;
    let pk = b.public_key();
    store.raw().await.exec(&cut(a.chain_id(), 5, 5)).await;
    let c = AuditLog::open(&store.config(&key, 4)).await.unwrap();
    let why = assert_tampered(c.reader().verify(&pk).await.unwrap(), a.chain_id(), 6);
    assert!(why.contains("truncated"), "{why}");
    c.shutdown().await.unwrap();

    // (b) On a store of its own: the only chain, cut the same way.
    let other = match store.kind {
        common::Kind::Sqlite => TestStore::sqlite(),
        common::Kind::Postgres => TestStore::postgres().await.unwrap(),
    };
    let a = filled(&other, &key, 4, 10, 0).await;
    other.raw().await.exec(&cut(a.chain_id(), 5, 5)).await;
    // Open, not tampered: intact up to its checkpoint at 4, entry 5 unsigned.
    assert_eq!(a.reader().verify(&pk).await.unwrap(), intact(5, 2, 1, 1, 1));
    // A restart verifies the tail from the checkpoint at 4 and seals it: the
    // store alone can no longer tell (the witness case, see above).
    let next = AuditLog::open(&other.config(&key, 4)).await.unwrap();
    assert_eq!(
        other.raw().await.notes(a.chain_id()).await,
        sized(&[(0, "genesis"), (4, "periodic"), (5, "sealed")])
    );
    assert_eq!(
        next.reader().verify(&pk).await.unwrap(),
        intact(5, 4, 2, 1, 0)
    );
    next.shutdown().await.unwrap();
}

/// Case 4: an entry rewritten, the hash chain recomputed from it on, the newer
/// checkpoints dropped, and a restart.
///
/// Before: checkpoints named the chain hash at their seq; with the rewrite
/// after the last periodic checkpoint (17 of 18, one every 5) and the final
/// checkpoint dropped, the restart sealed the rewritten head and verify
/// found a chain that linked, hashed and was sealed. Now a checkpoint names
/// the Merkle root over the entries' content, which a recomputed hash chain
/// does not restore, and the next chain's genesis link still names the
/// original root at 18.
async fn a_rewritten_entry_with_recomputed_hashes_is_found(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    // a: genesis, 5, 10, 15, final 18; b links a at 18.
    let a = filled(store, &key, 5, 18, 0).await;
    let b = filled(store, &key, 5, 1, 100).await;
    let pk = b.public_key();
    let reader = b.reader();
    let entries = chain_entries(&reader, a.chain_id()).await;
    store.raw().await.exec(&rewrite_from(&entries, 17)).await;
    let forged = reader
        .query(&Filter {
            officer: Some("forger".into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(forged.len(), 1, "the rewrite is in place");
    // With the checkpoints kept, the final one's root no longer matches.
    let why = assert_tampered(reader.verify(&pk).await.unwrap(), a.chain_id(), 18);
    assert!(why.contains("root"), "{why}");
    // Drop the final checkpoint and restart: b's link still names the
    // original root at 18 (and a seal over the rewritten tree, if the next
    // open signs one, names another root for the same size).
    store
        .raw()
        .await
        .exec(&format!(
            "DELETE FROM notes WHERE chain_id = '{}' AND size > 15",
            a.chain_id()
        ))
        .await;
    let c = AuditLog::open(&store.config(&key, 5)).await.unwrap();
    let why = assert_tampered(c.reader().verify(&pk).await.unwrap(), a.chain_id(), 18);
    assert!(why.contains("root"), "{why}");
    c.shutdown().await.unwrap();
}

/// Lines of a text, owned.
fn lines_of(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

fn is_entry(l: &str, seq: u64) -> bool {
    l.contains(r#""type":"entry""#) && l.contains(&format!(r#""seq":{seq},"#))
}

fn is_checkpoint(l: &str, size: u64) -> bool {
    l.contains(r#""type":"checkpoint""#) && l.contains(&format!(r#""size":{size},"#))
}

fn verify_lines(lines: &[String], pk: &[u8]) -> VerifyReport {
    verify_export(lines.join("\n").as_bytes(), pk).unwrap()
}

/// Case 5: forged, cut and front-trimmed exports, and an altered frontier.
///
/// Before: the export verifier accepted an open end (entries after the last
/// checkpoint in the file) and, for a file starting mid-chain, took the
/// first entry's `prev_hash` on trust. So a header, a real genesis line and
/// invented hash-consistent entries verified; so did a file cut between
/// two checkpoints, and one whose first entries were removed. Now every
/// entry must be covered by a signed checkpoint in the file (the Merkle
/// root over the entries at its size), and a file starting mid-chain
/// starts from the tree's frontier, whose root must be a checkpoint's.
async fn forged_cut_and_trimmed_exports_are_refused(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    // genesis, 10, 20, final 25.
    let log = filled(store, &key, 10, 25, 0).await;
    let pk = log.public_key();
    let chain = log.chain_id();
    let mut buf = Vec::new();
    assert_eq!(
        log.reader()
            .export(&Filter::default(), &mut buf)
            .await
            .unwrap(),
        25
    );
    let full = lines_of(&String::from_utf8(buf).unwrap());
    assert_eq!(verify_lines(&full, &pk), intact(25, 4, 1, 0, 0));

    // Forged: the header, the real genesis line, invented entries that
    // link and hash.
    let invent = |n: u64| -> Vec<String> {
        let mut prev = [0u8; 32];
        (1..=n)
            .map(|seq| {
                let mut e = simple(900 + seq);
                e.officer_id = "invented".into();
                let h = entry_hash(&mut Vec::new(), &prev, chain, seq, &e);
                let line = serde_json::json!({
                    "type": "entry",
                    "chain_id": chain,
                    "seq": seq,
                    "prev_hash": hex::encode(prev),
                    "hash": hex::encode(h),
                    "entry": e,
                })
                .to_string();
                prev = h;
                line
            })
            .collect()
    };
    let mut forged: Vec<String> = full
        .iter()
        .filter(|l| {
            !l.contains(r#""type":"entry""#)
                && !l.contains(r#""type":"checkpoint""#)
                && !l.contains(r#""type":"end""#)
        })
        .cloned()
        .collect();
    forged.extend(full.iter().filter(|l| is_checkpoint(l, 0)).cloned());
    assert_eq!(forged.len(), 2, "header and genesis");
    forged.extend(invent(3));
    let why = assert_tampered(verify_lines(&forged, &pk), chain, 1);
    assert!(why.contains("no signed checkpoint"), "{why}");
    // The same with every real checkpoint line and 25 invented entries:
    // the roots do not match.
    let mut forged: Vec<String> = full
        .iter()
        .filter(|l| !l.contains(r#""type":"entry""#))
        .cloned()
        .collect();
    forged.extend(invent(25));
    assert_tampered(verify_lines(&forged, &pk), chain, 10);

    // Cut between two checkpoints, the checkpoint lines after the cut
    // removed too: entries 11..=15 are covered by nothing.
    let cut: Vec<String> = full
        .iter()
        .filter(|l| {
            !(16..=25).any(|s| is_entry(l, s)) && !is_checkpoint(l, 20) && !is_checkpoint(l, 25)
        })
        .cloned()
        .collect();
    let why = assert_tampered(verify_lines(&cut, &pk), chain, 11);
    assert!(why.contains("no signed checkpoint"), "{why}");
    // Cut with the checkpoint lines kept: they name entries not there.
    let cut: Vec<String> = full
        .iter()
        .filter(|l| !(16..=25).any(|s| is_entry(l, s)))
        .cloned()
        .collect();
    let why = assert_tampered(verify_lines(&cut, &pk), chain, 16);
    assert!(why.contains("truncated"), "{why}");
    // Cut exactly at a checkpoint, the checkpoint line after it removed:
    // every entry left is covered, line for line what the export of
    // entries 1..=20 holds — but that export has a header naming its
    // selection and an end line of its own, and the full export's end line
    // does not seal the cut file.
    let cut: Vec<String> = full
        .iter()
        .filter(|l| !(21..=25).any(|s| is_entry(l, s)) && !is_checkpoint(l, 25))
        .cloned()
        .collect();
    match verify_lines(&cut, &pk) {
        VerifyReport::Tampered { chain_id, why, .. } => {
            assert_eq!(chain_id, audit::reader::WHOLE_FILE, "{why}")
        }
        other => panic!("expected tampering, got {other:?}"),
    }
    let mut upto20 = Vec::new();
    let f = Filter {
        to_ms: Some(1_780_000_000_000 + 20),
        ..Filter::default()
    };
    log.reader().export(&f, &mut upto20).await.unwrap();
    let upto20 = lines_of(&String::from_utf8(upto20).unwrap());
    // Line for line but the header (which names the selection) and the end.
    assert_eq!(upto20[1..upto20.len() - 1], cut[1..cut.len() - 1]);
    assert!(
        upto20[0].contains("\"selection\":\"to_ms="),
        "{}",
        upto20[0]
    );
    assert_eq!(verify_lines(&upto20, &pk), intact(20, 3, 1, 0, 0));

    // Front-trimmed: the first entry lines removed.
    let trimmed: Vec<String> = full
        .iter()
        .filter(|l| !(1..=3).any(|s| is_entry(l, s)))
        .cloned()
        .collect();
    let why = assert_tampered(verify_lines(&trimmed, &pk), chain, 1);
    assert!(why.contains("gap"), "{why}");
    // A ranged export starts at a frontier (entries 12..=21 → 11..=25,
    // from the frontier at 10). Trimmed, the frontier untouched:
    let mut part = Vec::new();
    let f = Filter {
        from_ms: Some(1_780_000_000_000 + 12),
        to_ms: Some(1_780_000_000_000 + 21),
        ..Filter::default()
    };
    assert_eq!(log.reader().export(&f, &mut part).await.unwrap(), 15);
    let part = lines_of(&String::from_utf8(part).unwrap());
    assert_eq!(verify_lines(&part, &pk), intact(15, 4, 1, 0, 0));
    let trimmed: Vec<String> = part
        .iter()
        .filter(|l| !(11..=13).any(|s| is_entry(l, s)))
        .cloned()
        .collect();
    let why = assert_tampered(verify_lines(&trimmed, &pk), chain, 11);
    assert!(why.contains("gap"), "{why}");
    // ... and with the frontier line removed as well.
    let no_frontier: Vec<String> = trimmed
        .iter()
        .filter(|l| !l.contains(r#""type":"frontier""#))
        .cloned()
        .collect();
    assert_tampered(verify_lines(&no_frontier, &pk), chain, 1);

    // The frontier line altered: one hash, or its size.
    let fi = part
        .iter()
        .position(|l| l.contains(r#""type":"frontier""#))
        .unwrap();
    let mut frontier: serde_json::Value = serde_json::from_str(&part[fi]).unwrap();
    assert_eq!(frontier["size"], 10);
    let mut altered = frontier.clone();
    let h0 = altered["hashes"][0].as_str().unwrap().to_owned();
    let flipped = flip_b64(&h0);
    altered["hashes"][0] = serde_json::Value::String(flipped);
    let mut bad = part.clone();
    bad[fi] = altered.to_string();
    let why = assert_tampered(verify_lines(&bad, &pk), chain, 10);
    assert!(why.contains("frontier"), "{why}");
    frontier["size"] = serde_json::json!(11);
    let mut bad = part.clone();
    bad[fi] = frontier.to_string();
    assert_tampered(verify_lines(&bad, &pk), chain, 11);
}

/// Flips one bit of the first byte a base64 text encodes.
fn flip_b64(s: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut bytes = b64.decode(s).unwrap();
    bytes[0] ^= 0x01;
    b64.encode(bytes)
}

/// Case 6: inclusion proofs for every entry, and what breaks them; consistency
/// proofs between checkpoints.
async fn inclusion_and_consistency_proofs_verify_and_any_flipped_bit_fails(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    // genesis, 4, 8, final 10.
    let log = filled(store, &key, 4, 10, 0).await;
    let pk = log.public_key();
    let lk = LogKey::raw(&pk).unwrap();
    let chain = log.chain_id();
    let reader = log.reader();
    let check = |b: &audit::reader::ProofBundle| {
        verify_bundle(&serde_json::to_string(b).unwrap(), &lk, &[])
    };
    for seq in 1..=10u64 {
        let bundle = reader.inclusion_proof(&format!("inq-{seq}")).await.unwrap();
        assert_eq!(
            (
                bundle.chain_id.as_str(),
                bundle.leaf_index,
                bundle.tree_size,
                bundle.entry.seq
            ),
            (chain, seq - 1, 10, seq)
        );
        let report = check(&bundle).unwrap();
        assert_eq!((report.seq, report.tree_size), (seq, 10));
        assert!(!bundle.inclusion_proof.is_empty());
        for i in 0..bundle.inclusion_proof.len() {
            let mut b = bundle.clone();
            b.inclusion_proof[i] = flip_b64(&b.inclusion_proof[i]);
            assert!(check(&b).is_err(), "seq {seq}: proof hash {i} flipped");
        }
        let mut b = bundle.clone();
        b.inclusion_proof.pop();
        assert!(check(&b).is_err(), "seq {seq}: a proof hash missing");
        for index in [bundle.leaf_index ^ 1, bundle.leaf_index + 1] {
            let mut b = bundle.clone();
            b.leaf_index = index;
            assert!(check(&b).is_err(), "seq {seq}: leaf index {index}");
        }
        for size in [9, 11, 8] {
            let mut b = bundle.clone();
            b.tree_size = size;
            assert!(check(&b).is_err(), "seq {seq}: tree size {size}");
        }
        // The checkpoint's signature, and its root under the signature.
        let mut b = bundle.clone();
        let sig_line = b.checkpoint.lines().last().unwrap().to_owned();
        let sig = sig_line.rsplit(' ').next().unwrap();
        b.checkpoint = b.checkpoint.replace(sig, &flip_sig(sig));
        assert_ne!(b.checkpoint, bundle.checkpoint);
        assert!(check(&b).is_err(), "seq {seq}: signature flipped");
        let mut b = bundle.clone();
        let root = b.checkpoint.lines().nth(2).unwrap().to_owned();
        b.checkpoint = b.checkpoint.replacen(&root, &flip_b64(&root), 1);
        assert!(check(&b).is_err(), "seq {seq}: root flipped");
        // A field of the entry, its hash, its seq.
        let mut b = bundle.clone();
        b.entry.entry.officer_id.push('x');
        assert!(check(&b).is_err(), "seq {seq}: entry field");
        let mut b = bundle.clone();
        b.entry.entry.latency_ms ^= 1;
        assert!(check(&b).is_err(), "seq {seq}: entry number");
        let mut b = bundle.clone();
        b.entry.hash = flip_hex(&b.entry.hash);
        assert!(check(&b).is_err(), "seq {seq}: entry hash");
        let mut b = bundle.clone();
        b.entry.seq += 1;
        b.leaf_index += 1;
        assert!(check(&b).is_err(), "seq {seq}: entry moved");
        // Another key does not verify it.
        let other = other_key();
        assert!(verify_bundle(&serde_json::to_string(&bundle).unwrap(), &other, &[]).is_err());
    }
    assert!(reader
        .inclusion_proof("inq-none")
        .await
        .unwrap_err()
        .is_not_found());

    // Consistency between every two checkpoint sizes.
    let sizes = [
        (0, "genesis"),
        (4, "periodic"),
        (8, "periodic"),
        (10, "final"),
    ];
    for (i, &(from, fk)) in sizes.iter().enumerate() {
        for &(to, tk) in &sizes[i..] {
            let old = checkpoint(store, &lk, chain, from, fk).await;
            let new = checkpoint(store, &lk, chain, to, tk).await;
            let proof = reader.consistency_proof(chain, from, to).await.unwrap();
            assert!(
                verify_consistency(from, to, &old.root, &new.root, &proof),
                "{from} -> {to}"
            );
            if from > 0 && from < to {
                assert!(!verify_consistency(from, to, &new.root, &old.root, &proof));
                for j in 0..proof.len() {
                    let mut p = proof.clone();
                    p[j][31] ^= 0x80;
                    assert!(
                        !verify_consistency(from, to, &old.root, &new.root, &p),
                        "{from} -> {to}: hash {j}"
                    );
                }
            }
        }
    }
    assert!(reader
        .consistency_proof(chain, 4, 11)
        .await
        .unwrap_err()
        .is_not_found());

    // An entry no checkpoint covers yet: proof pending, until one does.
    let mut cfg = store.config(&key, 1_000_000);
    cfg.checkpoint_interval_ms = 3_600_000;
    let pending = AuditLog::open(&cfg).await.unwrap();
    pending.append(simple(500)).await.unwrap();
    assert!(matches!(
        pending.reader().inclusion_proof("inq-500").await,
        Err(AuditError::ProofPending)
    ));
    pending.shutdown().await.unwrap();
    let bundle = pending.reader().inclusion_proof("inq-500").await.unwrap();
    assert_eq!(
        (bundle.chain_id.as_str(), bundle.tree_size),
        (pending.chain_id(), 1)
    );
    check(&bundle).unwrap();
}

fn other_key() -> LogKey {
    use ring::signature::KeyPair as _;
    let pair =
        ring::signature::Ed25519KeyPair::from_pkcs8(&generate_signing_key().unwrap()).unwrap();
    LogKey::raw(pair.public_key().as_ref()).unwrap()
}

/// Flips a bit in the signature bytes (after the 4-byte key id) of a
/// signature line's base64.
fn flip_sig(s: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut bytes = b64.decode(s).unwrap();
    bytes[10] ^= 0x01;
    b64.encode(bytes)
}

fn flip_hex(s: &str) -> String {
    let mut b = hex::decode(s).unwrap();
    b[0] ^= 0x01;
    hex::encode(b)
}

/// Case 8: a checkpoint at least every `checkpoint_interval_ms` while entries
/// arrive — also when they stop (the writer wakes up for it) — none while
/// idle, and a final one at shutdown.
async fn checkpoints_come_by_the_clock_and_at_shutdown(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let mut cfg = store.config(&key, 1_000_000);
    cfg.checkpoint_interval_ms = 200;
    let log = AuditLog::open(&cfg).await.unwrap();
    let chain = log.chain_id().to_owned();
    let reader = log.reader();
    for i in 1..=3 {
        log.append(simple(i)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (size, note) = reader.latest_checkpoint(&chain).await.unwrap().unwrap();
    assert_eq!(
        size, 3,
        "a checkpoint covers the entries without a further append"
    );
    let cp = LogKey::raw(&log.public_key()).unwrap().open(&note).unwrap();
    assert_eq!((cp.size, cp.kind), (3, CpKind::Periodic));
    assert!(reader.verify(&log.public_key()).await.unwrap().is_intact());
    let notes = store.raw().await.notes(&chain).await;
    // Idle: nothing new to sign.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(store.raw().await.notes(&chain).await, notes);
    // A steady trickle for ~1 s: checkpoints keep coming.
    let started = std::time::Instant::now();
    let mut n = 3;
    while started.elapsed() < Duration::from_millis(1000) {
        n += 1;
        log.append(simple(n)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let during = store.raw().await.notes(&chain).await;
    let periodic_during = during
        .iter()
        .filter(|(s, k)| k == "periodic" && *s > 3)
        .count();
    assert!(periodic_during >= 3, "{during:?}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        reader.latest_checkpoint(&chain).await.unwrap().unwrap().0,
        n,
        "the last entries are covered once they stop"
    );
    log.shutdown().await.unwrap();
    let after = store.raw().await.notes(&chain).await;
    assert!(after.contains(&(n as i64, "final".to_owned())), "{after:?}");
    assert!(matches!(
        reader.verify(&log.public_key()).await.unwrap(),
        VerifyReport::Intact { entries, open_chains: 0, unsigned_entries: 0, .. } if entries == n
    ));
}

/// Case 9: the next open seals a chain a crash left open only after verifying
/// it from its last checkpoint through its unsigned tail.
///
/// Before: the next open signed a `sealed` checkpoint over whatever head
/// the chain had, forged rows included, so the forgery became part of the
/// signed history. Now a chain that does not verify is left unsealed and
/// `audit verify` reports it.
async fn a_crashed_chain_that_does_not_verify_is_not_sealed(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    // Crashed chains: shut down, their final checkpoint then removed — the
    // store as a kill -9 after the last append leaves it (with one every 5
    // and 7 entries: genesis, 5; 6 and 7 unsigned).
    let crashed = |every: u64, n: u64, first: u64| {
        let key = key.clone();
        async move {
            let log = filled(store, &key, every, n, first).await;
            store
                .raw()
                .await
                .exec(&format!(
                    "DELETE FROM notes WHERE chain_id = '{}' AND kind = 'final'",
                    log.chain_id()
                ))
                .await;
            log
        }
    };
    // a: a forged row with a wrong hash appended to its tail.
    let a = crashed(5, 7, 0).await;
    let pk = a.public_key();
    assert_eq!(a.reader().verify(&pk).await.unwrap(), intact(7, 2, 1, 1, 2));
    let cols = "time_ms, inquiry_id, plane, officer_id, officer_name, unit, cert_fingerprint, \
        purpose, inquiry_case, consent_id, method, path, subject_id, subject_type, \
        items_requested, decision, reason, rule, statutory_basis, status, records_returned, \
        records_suppressed, removed_keys, masked_keys, objection_labeled, upstream_status, \
        latency_ms";
    let mut raw = store.raw().await;
    let h7 = raw
        .scalar_string(&format!(
            "SELECT hash FROM entries WHERE chain_id = '{}' AND seq = 7",
            a.chain_id()
        ))
        .await;
    raw.exec(&format!(
        "INSERT INTO entries (chain_id, seq, prev_hash, hash, {cols}) \
         SELECT chain_id, 8, '{h7}', '{}', {cols} FROM entries \
         WHERE chain_id = '{}' AND seq = 7",
        "ab".repeat(32),
        a.chain_id()
    ))
    .await;
    // b: the stored tree nodes of its signed part altered (entry 5's leaf
    // replaced by entry 1's): not the nodes its entries make — proofs
    // through them would fail — so not sealed, and verify names them.
    let b = crashed(5, 7, 100).await;
    raw.exec(&format!(
        "UPDATE entries SET tree_nodes = (SELECT tree_nodes FROM entries \
         WHERE chain_id = '{b}' AND seq = 1) WHERE chain_id = '{b}' AND seq = 5",
        b = b.chain_id()
    ))
    .await;
    // c: crashed before its first periodic checkpoint (genesis only), its
    // first entry's prev_hash changed and every hash recomputed: the tree
    // (over content only) is unchanged, the hash chain no longer starts at
    // the genesis hash.
    let c = crashed(1000, 3, 200).await;
    let entries = chain_entries(&c.reader(), c.chain_id()).await;
    let mut sql = String::new();
    let mut prev = [0x11u8; 32];
    for e in &entries {
        let h = entry_hash(&mut Vec::new(), &prev, c.chain_id(), e.seq, &e.entry);
        sql.push_str(&format!(
            "UPDATE entries SET prev_hash = '{}', hash = '{}' WHERE chain_id = '{}' AND seq = {};",
            hex::encode(prev),
            hex::encode(h),
            c.chain_id(),
            e.seq
        ));
        prev = h;
    }
    raw.exec(&sql).await;
    // d: crashed before its first periodic checkpoint, intact: sealed.
    let d = crashed(1000, 3, 300).await;

    let next = AuditLog::open(&store.config(&key, 5)).await.unwrap();
    let unsealed = sized(&[(0, "genesis"), (5, "periodic")]);
    assert_eq!(
        raw.notes(a.chain_id()).await,
        unsealed,
        "a forged tail is not sealed"
    );
    assert_eq!(
        raw.notes(b.chain_id()).await,
        unsealed,
        "altered tree nodes are not sealed"
    );
    assert_eq!(
        raw.notes(c.chain_id()).await,
        sized(&[(0, "genesis")]),
        "a hash chain not starting at the genesis hash is not sealed"
    );
    assert_eq!(
        raw.notes(d.chain_id()).await,
        sized(&[(0, "genesis"), (3, "sealed")]),
        "an intact chain with only its genesis checkpoint is sealed"
    );
    // verify reports the first tampered chain in chain-id order: a at its
    // forged row, b at its altered tree nodes (proofs read them), or c at
    // its first entry.
    let (first, seq, said) = [
        (a.chain_id(), 8, "hash"),
        (b.chain_id(), 5, "tree nodes"),
        (c.chain_id(), 1, "hash"),
    ]
    .into_iter()
    .min_by_key(|(chain, ..)| *chain)
    .unwrap();
    let why = assert_tampered(next.reader().verify(&pk).await.unwrap(), first, seq);
    assert!(why.contains(said), "{why}");
    // The new chain links each at the latest checkpoint it has: a and b at
    // 5 (unsealed), c at its genesis, d at its seal.
    let lk = LogKey::raw(&pk).unwrap();
    let genesis = checkpoint(store, &lk, next.chain_id(), 0, "genesis").await;
    let mut links: Vec<u64> = genesis.links.iter().map(|l| l.size).collect();
    links.sort_unstable();
    assert_eq!(links, vec![0, 3, 5, 5]);
    next.shutdown().await.unwrap();
}

/// The next open seals a chain a crash (or someone) left open only after
/// verifying it whole (`writer::verify_whole_chain`), against what the
/// genesis links of later chains name for it too: a cut chain whose final
/// checkpoint a later chain links (cases 2, 3a above) — or a rewritten one
/// (case 4) — gets no `sealed` checkpoint, and `audit verify` reports it.
async fn no_seal_over_a_chain_a_later_link_contradicts(store: &TestStore) {
    let key = generate_signing_key().unwrap();
    let a = filled(store, &key, 3, 10, 0).await;
    let b = filled(store, &key, 3, 2, 100).await;
    store.raw().await.exec(&cut(a.chain_id(), 6, 6)).await;
    let restarted = AuditLog::open(&store.config(&key, 3)).await.unwrap();
    assert_eq!(
        store.raw().await.notes(a.chain_id()).await,
        sized(&[(0, "genesis"), (3, "periodic"), (6, "periodic")]),
        "b's genesis names a at 10: a cut at 6 must not be sealed"
    );
    assert_tampered(
        restarted.reader().verify(&b.public_key()).await.unwrap(),
        a.chain_id(),
        7,
    );
    restarted.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_no_seal_over_a_chain_a_later_link_contradicts() {
    no_seal_over_a_chain_a_later_link_contradicts(&TestStore::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_no_seal_over_a_chain_a_later_link_contradicts() {
    let Some(store) = TestStore::postgres().await else {
        return;
    };
    no_seal_over_a_chain_a_later_link_contradicts(&store).await;
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v2-store")
}

/// Chains of the schema-2 fixture: closed by a final checkpoint at 5, and
/// left open by a kill -9 at 3.
const V2_CLOSED: &str = "bee45f5b3893606780078ff821e8b957";
const V2_OPEN: &str = "7293dec85fe4753c95590ee31be05475";

/// Case 7: a schema-2 store written by the previous release: the first open
/// verifies each chain the old way, builds its Merkle tree and signs a
/// genesis and a sealed checkpoint over it; everything verifies and proves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_v2_store_migrates_verifies_and_proves() {
    let store = TestStore::sqlite_copy_of(&fixture_dir().join("inquiries.db"));
    let key = std::fs::read(fixture_dir().join("audit-signing.pk8")).unwrap();
    let log = AuditLog::open(&store.config(&key, 10)).await.unwrap();
    let pk = log.public_key();
    let lk = LogKey::raw(&pk).unwrap();
    // 2 migrated chains (genesis + sealed each) and the new one (genesis).
    assert_eq!(
        log.reader().verify(&pk).await.unwrap(),
        intact(8, 5, 3, 1, 0)
    );
    let mut raw = store.raw().await;
    assert_eq!(
        raw.notes(V2_CLOSED).await,
        sized(&[(0, "genesis"), (5, "sealed")])
    );
    assert_eq!(
        raw.notes(V2_OPEN).await,
        sized(&[(0, "genesis"), (3, "sealed")])
    );
    let genesis = checkpoint(&store, &lk, log.chain_id(), 0, "genesis").await;
    let mut links: Vec<(String, u64)> = genesis
        .links
        .iter()
        .map(|l| (l.origin.clone(), l.size))
        .collect();
    links.sort();
    let mut want = vec![
        (format!("credgate.local/{V2_CLOSED}"), 5),
        (format!("credgate.local/{V2_OPEN}"), 3),
    ];
    want.sort();
    assert_eq!(links, want);
    // Proofs for migrated entries (seq 1 of the closed chain, 3 of the open one).
    for (inquiry, chain, seq, size) in [
        ("46bdd7d2c939bcec89e85a2ae2b6b177", V2_CLOSED, 1, 5),
        ("79b425d0dd643f1e0b81d1aee63f21c2", V2_CLOSED, 5, 5),
        ("eb76ba477271dcd8e57e415c454ef5f0", V2_OPEN, 3, 3),
    ] {
        let b = log.reader().inclusion_proof(inquiry).await.unwrap();
        assert_eq!(
            (b.chain_id.as_str(), b.entry.seq, b.tree_size),
            (chain, seq, size)
        );
        let r = verify_bundle(&serde_json::to_string(&b).unwrap(), &lk, &[]).unwrap();
        assert_eq!(r.seq, seq);
    }
    let proof = log
        .reader()
        .consistency_proof(V2_CLOSED, 0, 5)
        .await
        .unwrap();
    assert!(proof.is_empty());
    for i in 1..=3 {
        log.append(simple(i)).await.unwrap();
    }
    log.shutdown().await.unwrap();
    // A second open migrates nothing again.
    let again = AuditLog::open(&store.config(&key, 10)).await.unwrap();
    assert_eq!(
        raw.notes(V2_CLOSED).await,
        sized(&[(0, "genesis"), (5, "sealed")])
    );
    assert_eq!(
        again.reader().verify(&pk).await.unwrap(),
        intact(11, 7, 4, 1, 0)
    );
    again.shutdown().await.unwrap();
    // And a whole export of it verifies offline.
    let mut buf = Vec::new();
    let reader = Reader::connect(&store.url)
        .await
        .unwrap()
        .with_signing_key(&key)
        .unwrap();
    assert_eq!(
        reader.export(&Filter::default(), &mut buf).await.unwrap(),
        11
    );
    // (the empty chain of the second open has no entry to export)
    assert!(matches!(
        verify_export(&buf[..], &pk).unwrap(),
        VerifyReport::Intact {
            entries: 11,
            chains: 3,
            ..
        }
    ));
}

/// Case 7: a schema-2 store altered before the upgrade: the migration verifies
/// before it signs, so the altered chain gets no checkpoint and verify
/// reports it; the intact chain is migrated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tampered_v2_store_is_not_signed_by_the_migration() {
    let store = TestStore::sqlite_copy_of(&fixture_dir().join("inquiries.db"));
    let key = std::fs::read(fixture_dir().join("audit-signing.pk8")).unwrap();
    let mut raw = store.raw().await;
    raw.exec(&format!(
        "UPDATE entries SET officer_id = 'someone-else' WHERE chain_id = '{V2_CLOSED}' AND seq = 3"
    ))
    .await;
    let log = AuditLog::open(&store.config(&key, 10)).await.unwrap();
    let pk = log.public_key();
    assert!(
        raw.notes(V2_CLOSED).await.is_empty(),
        "nothing signed over the altered chain"
    );
    assert_eq!(
        raw.notes(V2_OPEN).await,
        sized(&[(0, "genesis"), (3, "sealed")])
    );
    let why = assert_tampered(log.reader().verify(&pk).await.unwrap(), V2_CLOSED, 0);
    assert!(why.contains("genesis"), "{why}");
    let genesis = checkpoint(
        &store,
        &LogKey::raw(&pk).unwrap(),
        log.chain_id(),
        0,
        "genesis",
    )
    .await;
    assert_eq!(
        genesis.links.iter().map(|l| l.size).collect::<Vec<_>>(),
        vec![3],
        "only the verified chain is linked"
    );
    log.shutdown().await.unwrap();
}
