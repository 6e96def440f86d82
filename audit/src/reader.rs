//! Reading the log: search, subject report, verification against the store,
//! proofs, and JSON Lines export (plus its offline verifier).
//!
//! ## Export format (JSON Lines, version 4)
//!
//! 1. a header: `{"type":"header","format":"credgate-audit-export","version":4,"public_key":HEX}`;
//! 2. per chain segment: its checkpoint lines
//!    `{"type":"checkpoint","chain_id":..,"size":..,"kind":..,"note":"<signed note>"}`,
//!    a frontier line `{"type":"frontier","chain_id":..,"size":N,"hashes":[base64..]}`
//!    when the segment starts after the chain's first entry (the roots of
//!    the perfect subtrees the tree of its first `N` entries consists of,
//!    see [`crate::merkle::peak_ids`]), then its entry lines
//!    `{"type":"entry","chain_id":..,"seq":..,"prev_hash":..,"hash":..,"entry":{..}}`
//!    in seq order;
//! 3. the end line `{"type":"end","entries":N,"sha256":HEX,"signature":BASE64}`,
//!    which seals every line before it with the audit key
//!    ([`crate::export_seal`]): a file cut anywhere, or with a chain's
//!    segment taken out whole, fails however well what is left verifies.
//!
//! **Bracketed.** A segment always runs from one signed checkpoint to
//! another: from the latest checkpoint at or before the first matching
//! entry (size `N`, the frontier's) to the first checkpoint at or after
//! the last one, so it may hold entries outside the filter. Entries no
//! checkpoint covers yet (a live chain's newest, at most
//! `checkpoint_interval_ms` old) are left out. Each segment carries the
//! chain's genesis checkpoint and every checkpoint within the segment.
//! The offline verifier rebuilds the tree from the frontier (whose root
//! must be the checkpoint's at `N`) through every entry, checks the root
//! at every checkpoint, and **refuses any entry no signed checkpoint in the
//! file covers** — a cut file, a prefix removed without its checkpoint, or
//! invented entries all fail.
//!
//! ## Store verification
//!
//! [`Reader::verify`] opens every chain's checkpoints with the audit key
//! (each chain needs a signed genesis), collects the roots they name and
//! the roots the chains' genesis checkpoints name for the chains before
//! them (a linked chain missing from the store fails), and walks every
//! chain (see [`crate::verify`]). Open chains — no final or sealed
//! checkpoint — are reported with their unsigned tail, not as tampering;
//! cutting the newest entries of a chain together with its checkpoints is
//! what witnesses catch ([`crate::tree_head`], `audit verify
//! --require-witness`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use std::sync::Arc;

use crate::entry::{canonical_bytes, entry_hashes, parse_hash, Decision, Entry, NewEntry};
use crate::error::AuditError;
use crate::export_seal::{ExportKey, LinesDigest};
use crate::merkle::{self, CompactTree, Hash, NodeId};
use crate::store::{AnyStore, BadRow, NoteRow, StoreOptions, PAGE};
use crate::tree_head::{Checkpoint, LogKey};
use crate::verify::{open_checkpoints, Tamper, TreeWalker, VerifyReport, Walked};

/// Export format name in the header line.
const EXPORT_FORMAT: &str = "credgate-audit-export";
/// Export format version in the header line.
const EXPORT_VERSION: u32 = 4;
/// The version before exports were sealed, still read by
/// [`verify_export_any_version`].
const UNSEALED_VERSION: u32 = 3;

/// What to search for. All set fields must match; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Officer id, exact.
    pub officer: Option<String>,
    /// Subject id, exact.
    pub subject: Option<String>,
    /// Earliest `time_ms`, inclusive.
    pub from_ms: Option<i64>,
    /// Latest `time_ms`, inclusive.
    pub to_ms: Option<i64>,
    /// Decision.
    pub decision: Option<Decision>,
    /// Plane (`data`, `admin`, `alert`), exact.
    pub plane: Option<String>,
    /// At most this many entries (the earliest ones; the newest ones with
    /// `newest_first`).
    pub limit: Option<u64>,
    /// Unit (the officer's organisation), exact.
    pub unit: Option<String>,
    /// Declared purpose code, exact.
    pub purpose: Option<String>,
    /// Declared case or file number, exact.
    pub case: Option<String>,
    /// Reason code (`ok`, `purpose_not_granted`, `alert` ...), exact.
    pub reason: Option<String>,
    /// Keyset paging: only entries after this position in the order
    /// (before it with `newest_first`). The store seeks to it through an
    /// index; no rows are skipped by counting.
    pub after: Option<Cursor>,
    /// Newest first (time, chain, seq descending) instead of oldest first.
    pub newest_first: bool,
}

/// A position in the search order: the (time, chain, seq) of the last
/// entry of a page, from which the next page continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The entry's `time_ms`.
    pub time_ms: i64,
    /// Its chain.
    pub chain_id: String,
    /// Its seq.
    pub seq: u64,
}

impl Cursor {
    /// The position of `e`.
    pub fn of(e: &Entry) -> Cursor {
        Cursor {
            time_ms: e.entry.time_ms,
            chain_id: e.chain_id.clone(),
            seq: e.seq,
        }
    }

    /// As text for a URL: `TIME.CHAIN.SEQ`.
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.time_ms, self.chain_id, self.seq)
    }

    /// Parses [`Cursor::encode`]'s text; `None` if it is not one.
    pub fn decode(text: &str) -> Option<Cursor> {
        let mut parts = text.split('.');
        let time_ms = parts.next()?.parse::<i64>().ok()?;
        let chain_id = parts.next()?;
        let seq = parts.next()?.parse::<u64>().ok()?;
        if parts.next().is_some()
            || time_ms < 0
            || seq == 0
            || chain_id.is_empty()
            || chain_id.len() > 64
            || !chain_id.bytes().all(|b| b.is_ascii_alphanumeric())
            || i64::try_from(seq).is_err()
        {
            return None;
        }
        Some(Cursor {
            time_ms,
            chain_id: chain_id.to_owned(),
            seq,
        })
    }
}

/// One chain's state as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStatus {
    /// The chain id.
    pub chain_id: String,
    /// Entries in the chain (its highest seq).
    pub entries: u64,
    /// The latest checkpoint note, if any: `(size, signed at (UTC ms), note)`.
    pub latest: Option<(u64, i64, String)>,
    /// Witness cosignature lines stored for that checkpoint, by witness.
    pub cosignatures: Vec<(String, String)>,
}

/// Read access to a log (no writer). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Reader {
    store: AnyStore,
    /// The audit key exports are signed with, when known.
    export_key: Option<Arc<ExportKey>>,
}

/// One line of an export file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ExportLine {
    Header {
        format: String,
        version: u32,
        public_key: String,
        /// What was asked for (the filter, in words): sealed with the rest
        /// of the file, so a selection cannot pass for the whole log.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selection: Option<String>,
    },
    Checkpoint {
        chain_id: String,
        size: u64,
        kind: String,
        note: String,
    },
    Frontier {
        chain_id: String,
        size: u64,
        hashes: Vec<String>,
    },
    /// An entry as committed: its fields follow the tag.
    Entry(Box<Entry>),
    /// The last line: what seals the lines before it
    /// ([`crate::export_seal`]).
    End {
        entries: u64,
        sha256: String,
        signature: String,
    },
}

/// An entry line, parsed without going through [`ExportLine`]: serde's
/// internally tagged enums buffer the whole line into an intermediate tree
/// first, which made parsing half of an offline verify's time. Used only
/// for lines that start exactly as [`Reader::export`] writes entry lines;
/// anything else takes the tagged path, so both accept the same lines.
#[derive(Deserialize)]
struct EntryLine {
    #[serde(rename = "type")]
    _type: EntryTag,
    chain_id: String,
    seq: u64,
    prev_hash: String,
    hash: String,
    entry: NewEntry,
}

/// The only `type` an [`EntryLine`] accepts.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum EntryTag {
    Entry,
}

/// A chain whose stored Merkle tree nodes (for its tree at `seq`) are
/// missing.
fn nodes_missing(chain_id: &str, seq: u64) -> AuditError {
    AuditError::Corrupt {
        chain_id: chain_id.to_owned(),
        seq: crate::store::big(seq),
        why: "stored tree nodes are missing".into(),
    }
}

/// An export's first line.
fn header_line(public_key: &[u8], f: &Filter) -> ExportLine {
    ExportLine::Header {
        format: EXPORT_FORMAT.to_owned(),
        version: EXPORT_VERSION,
        public_key: hex::encode(public_key),
        selection: Some(selection(f)),
    }
}

/// An export's filter in words (`whole log`, or `officer=…, from=… ms`):
/// what `verify_export` reports the file to be.
fn selection(f: &Filter) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut text = |name: &str, v: &Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{name}={v}"));
        }
    };
    text("officer", &f.officer);
    text("subject", &f.subject);
    text("unit", &f.unit);
    text("purpose", &f.purpose);
    text("case", &f.case);
    text("reason", &f.reason);
    text("plane", &f.plane);
    if let Some(d) = f.decision {
        parts.push(format!("decision={}", d.as_str()));
    }
    if let Some(ms) = f.from_ms {
        parts.push(format!("from_ms={ms}"));
    }
    if let Some(ms) = f.to_ms {
        parts.push(format!("to_ms={ms}"));
    }
    if parts.is_empty() {
        WHOLE_LOG.to_owned()
    } else {
        parts.join(", ")
    }
}

/// What an export carries of a chain whose matching entries are
/// `lo..=hi`: the span of entries `start+1..=end` from the latest
/// checkpoint before `lo` to the first at or after `hi` (or the latest there
/// is), and its checkpoint lines (the genesis and every checkpoint in the
/// span). `None`: the chain has nothing to export.
fn export_plan(
    chain_id: &str,
    notes: Vec<NoteRow>,
    lo: u64,
    hi: u64,
) -> Option<(u64, u64, Vec<ExportLine>)> {
    let sizes = || notes.iter().map(|n| n.size);
    let start = sizes().filter(|s| *s < lo).max().unwrap_or(0);
    let end = sizes()
        .filter(|s| *s >= hi)
        .min()
        .or_else(|| sizes().max())
        .unwrap_or(0);
    if end <= start {
        return None;
    }
    let lines = notes
        .into_iter()
        .filter(|n| n.kind == "genesis" || (start..=end).contains(&n.size))
        .map(|n| ExportLine::Checkpoint {
            chain_id: chain_id.to_owned(),
            size: n.size,
            kind: n.kind,
            note: n.note,
        })
        .collect();
    Some((start, end, lines))
}

/// The frontier line an export starting after entry `start` of a chain
/// carries (none from the start of the chain).
async fn frontier_line(
    store: &AnyStore,
    chain_id: &str,
    start: u64,
) -> Result<Option<ExportLine>, AuditError> {
    if start == 0 {
        return Ok(None);
    }
    let tree = frontier(store, chain_id, start)
        .await?
        .ok_or_else(|| nodes_missing(chain_id, start))?;
    Ok(Some(ExportLine::Frontier {
        chain_id: chain_id.to_owned(),
        size: start,
        hashes: tree.peaks().iter().map(|h| B64.encode(h)).collect(),
    }))
}

/// Parses one export line.
fn parse_export_line(line: &str) -> Result<ExportLine, serde_json::Error> {
    if line.starts_with(r#"{"type":"entry","#) {
        let e: EntryLine = serde_json::from_str(line)?;
        return Ok(ExportLine::Entry(Box::new(Entry {
            chain_id: e.chain_id,
            seq: e.seq,
            prev_hash: e.prev_hash,
            hash: e.hash,
            entry: e.entry,
        })));
    }
    serde_json::from_str(line)
}

fn tampered(chain_id: &str, t: Tamper) -> VerifyReport {
    t.report(chain_id)
}

/// Format name of an inclusion proof bundle.
pub const PROOF_FORMAT: &str = "credgate-inclusion-proof";

/// An inclusion proof of one inquiry's entry: everything a subject or an
/// auditor needs to check it offline with the audit public key (and any
/// witness keys), see [`verify_bundle`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// Always [`PROOF_FORMAT`].
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// The chain the entry belongs to.
    pub chain_id: String,
    /// The entry's leaf index (`seq - 1`).
    pub leaf_index: u64,
    /// The tree size the proof is for (the checkpoint's).
    pub tree_size: u64,
    /// The entry as stored.
    pub entry: Entry,
    /// RFC 9162 inclusion proof, base64 hashes, leaf side first.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint note (with any witness cosignatures).
    pub checkpoint: String,
}

/// What [`verify_bundle`] established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleReport {
    /// The checkpoint's origin.
    pub origin: String,
    /// Its tree size.
    pub tree_size: u64,
    /// The entry's seq.
    pub seq: u64,
    /// Names of the witnesses whose cosignatures verified.
    pub witnesses: Vec<String>,
}

/// Checks a proof bundle offline: the entry's own hash, its leaf's
/// inclusion in the checkpoint's tree, the checkpoint's signature by the
/// audit key, and a valid cosignature by each of `witnesses`. The error
/// says what failed.
pub fn verify_bundle(
    json: &str,
    key: &LogKey,
    witnesses: &[crate::note::Verifier],
) -> Result<BundleReport, String> {
    let b: ProofBundle =
        serde_json::from_str(json).map_err(|e| format!("not a proof bundle: {e}"))?;
    if b.format != PROOF_FORMAT || b.version != 1 {
        return Err(format!(
            "unsupported bundle format `{}` version {}",
            b.format, b.version
        ));
    }
    let e = &b.entry;
    if e.chain_id != b.chain_id {
        return Err("the entry belongs to another chain than the bundle names".into());
    }
    if e.seq == 0 || b.leaf_index != e.seq - 1 {
        return Err("leaf index does not match the entry's seq".into());
    }
    let prev = parse_hash(&e.prev_hash).ok_or("prev_hash is not a hex sha-256")?;
    let mut scratch = Vec::new();
    let (link, leaf) = entry_hashes(&mut scratch, &prev, &e.chain_id, e.seq, &e.entry);
    if hex::encode(link) != e.hash {
        return Err("the entry does not match its hash".into());
    }
    let cp = key.open(&b.checkpoint).map_err(|e| e.to_string())?;
    if !cp.origin.contains(&b.chain_id) {
        return Err("the checkpoint is another chain's".into());
    }
    if cp.size != b.tree_size {
        return Err("tree size differs from the checkpoint's".into());
    }
    let proof = b
        .inclusion_proof
        .iter()
        .map(|h| decode_hash(h).ok_or("a proof hash is not base64 of 32 bytes"))
        .collect::<Result<Vec<Hash>, _>>()?;
    if !merkle::verify_inclusion(&leaf, b.leaf_index, b.tree_size, &proof, &cp.root) {
        return Err("the inclusion proof does not lead to the checkpoint's root".into());
    }
    let note = crate::note::Note::parse(&b.checkpoint).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    for w in witnesses {
        note.verify(std::slice::from_ref(w))
            .map_err(|e| format!("no valid cosignature by witness {}: {e}", w.name))?;
        names.push(w.name.clone());
    }
    Ok(BundleReport {
        origin: cp.origin,
        tree_size: cp.size,
        seq: e.seq,
        witnesses: names,
    })
}

/// A checkpoint note with stored cosignature lines added (a line that does
/// not fit is left out, not served).
fn add_cosignatures(note: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return note.to_owned();
    }
    let Ok(mut parsed) = crate::note::Note::parse(note) else {
        return note.to_owned();
    };
    for line in lines {
        let _ = parsed.add_sig_lines(line);
    }
    parsed.to_string()
}

/// Decodes a base64 SHA-256 hash.
pub(crate) fn decode_hash(s: &str) -> Option<Hash> {
    B64.decode(s)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
}

/// The perfect tree nodes of a chain named by `ids`, from their rows;
/// None if one is missing or unreadable.
pub(crate) async fn fetch_nodes(
    store: &AnyStore,
    chain_id: &str,
    ids: &[NodeId],
) -> Result<Option<BTreeMap<NodeId, Hash>>, AuditError> {
    let mut seqs: Vec<u64> = ids.iter().filter_map(|n| n.seq()).collect();
    if seqs.len() != ids.len() {
        return Ok(None);
    }
    seqs.sort_unstable();
    seqs.dedup();
    let rows: BTreeMap<u64, Option<String>> = store
        .tree_nodes(chain_id, &seqs)
        .await?
        .into_iter()
        .collect();
    let mut out = BTreeMap::new();
    for id in ids {
        let Some(seq) = id.seq() else { return Ok(None) };
        let Some(Some(text)) = rows.get(&seq) else {
            return Ok(None);
        };
        let at = usize::from(id.level) * 64;
        if text.len() != merkle::nodes_in_row(seq) * 64 {
            return Ok(None);
        }
        let Some(h) = text.get(at..at + 64).and_then(parse_hash) else {
            return Ok(None);
        };
        out.insert(*id, h);
    }
    Ok(Some(out))
}

/// The tree of a chain's first `size` entries in compact form, from the
/// stored nodes (not verified: callers compare its root with a signed one).
pub(crate) async fn frontier(
    store: &AnyStore,
    chain_id: &str,
    size: u64,
) -> Result<Option<CompactTree>, AuditError> {
    let ids = merkle::peak_ids(size);
    let Some(nodes) = fetch_nodes(store, chain_id, &ids).await? else {
        return Ok(None);
    };
    let peaks: Vec<Hash> = ids.iter().filter_map(|id| nodes.get(id).copied()).collect();
    Ok(CompactTree::from_peaks(size, peaks))
}

impl Reader {
    pub(crate) fn from_store(store: AnyStore, export_key: Option<Arc<ExportKey>>) -> Reader {
        Reader { store, export_key }
    }

    /// Gives the reader the audit signing key (Ed25519 PKCS#8) that
    /// [`Reader::export`] names in the header and seals the export with. A
    /// reader made by `AuditLog::reader` already has it.
    pub fn with_signing_key(mut self, pkcs8: &[u8]) -> Result<Reader, AuditError> {
        self.export_key = Some(Arc::new(ExportKey::from_pkcs8(pkcs8)?));
        Ok(self)
    }

    /// Opens an existing log for reading (the CLI's path). Fails with
    /// [`AuditError::StoreMissing`] if there is no log at `store_url`.
    pub async fn connect(store_url: &str) -> Result<Reader, AuditError> {
        let opts = StoreOptions {
            timeout: std::time::Duration::from_secs(5),
            create: false,
            owner: None,
            min_free_bytes: 0,
        };
        let store = AnyStore::connect(store_url, opts).await?;
        store.check_exists().await?;
        Ok(Reader {
            store,
            export_key: None,
        })
    }

    /// Closes this reader's connections to the store (and those of its
    /// clones) and waits until they are closed.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Entries matching `f`, ordered by time, then chain, then seq.
    pub async fn query(&self, f: &Filter) -> Result<Vec<Entry>, AuditError> {
        self.store.query(f).await
    }

    /// The entry with this inquiry id, if any.
    pub async fn find_inquiry(&self, inquiry_id: &str) -> Result<Option<Entry>, AuditError> {
        self.store.find_inquiry(inquiry_id).await
    }

    /// Whether a chain ended with a clean shutdown: its newest checkpoint
    /// is `final` (not sealed after a crash, not a running gateway's).
    pub async fn ended_cleanly(&self, chain_id: &str) -> Result<bool, AuditError> {
        self.store.ended_cleanly(chain_id).await
    }

    /// One chain's length, latest checkpoint and its stored cosignatures.
    pub async fn chain_status(&self, chain_id: &str) -> Result<ChainStatus, AuditError> {
        let entries = self.store.last_seq(chain_id).await?;
        let latest = self.store.latest_note(chain_id).await?;
        let cosignatures = match &latest {
            Some((n, _)) => self.cosignatures(chain_id, n.size).await?,
            None => Vec::new(),
        };
        Ok(ChainStatus {
            chain_id: chain_id.to_owned(),
            entries,
            latest: latest.map(|(n, lines)| (n.size, n.time_ms, add_cosignatures(&n.note, &lines))),
            cosignatures,
        })
    }

    /// Entries of `plane` per day and unit from `start_ms` for `days` days
    /// (day `i` is `[start_ms + i·86 400 000, +86 400 000)`), counted in the
    /// database: `(day, unit, count)`, by day then unit.
    pub async fn daily_counts(
        &self,
        plane: &str,
        start_ms: i64,
        days: u32,
    ) -> Result<Vec<(u32, String, u64)>, AuditError> {
        self.store.daily_counts(plane, start_ms, days).await
    }

    /// Entries of every plane and chain with `from_ms <= time_ms < to_ms`,
    /// counted in the database.
    pub async fn count_between(&self, from_ms: i64, to_ms: i64) -> Result<u64, AuditError> {
        self.store.count_between(from_ms, to_ms).await
    }

    /// Refused entries (`decision = deny`) at or after `from_ms` per
    /// reason code, most frequent first.
    pub async fn refusal_counts(&self, from_ms: i64) -> Result<Vec<(String, u64)>, AuditError> {
        self.store.refusal_counts(from_ms).await
    }

    /// Every inquiry about one subject, oldest first.
    pub async fn subject_report(&self, subject_id: &str) -> Result<Vec<Entry>, AuditError> {
        // Inquiries are data-plane entries: not a compliance officer's
        // read of the log, nor an alert that names the subject.
        let f = Filter {
            subject: Some(subject_id.to_owned()),
            plane: Some("data".into()),
            ..Filter::default()
        };
        self.store.query(&f).await
    }

    /// Walks every chain in the store and checks it (see [`crate::verify`]
    /// and the module docs). `public_key` is the raw 32-byte Ed25519 key of
    /// the audit signer.
    pub async fn verify(&self, public_key: &[u8]) -> Result<VerifyReport, AuditError> {
        let key = LogKey::raw(public_key)?;
        // Checkpoints first: entries committed after they were read are
        // an open chain's unsigned tail, never a mismatch.
        let mut chains: Vec<(String, Vec<Checkpoint>)> = Vec::new();
        for chain_id in self.store.chains().await? {
            let rows: Vec<(u64, String, String)> = self
                .store
                .notes(&chain_id)
                .await?
                .into_iter()
                .map(|n| (n.size, n.kind, n.note))
                .collect();
            match open_checkpoints(&chain_id, &rows, &key) {
                Ok(cps) => chains.push((chain_id, cps)),
                Err(t) => return Ok(tampered(&chain_id, t)),
            }
        }
        let mut walkers = Vec::with_capacity(chains.len());
        let mut by_origin: BTreeMap<String, usize> = BTreeMap::new();
        for (i, (chain_id, cps)) in chains.iter().enumerate() {
            match TreeWalker::new(chain_id, cps) {
                Ok(w) => walkers.push(w),
                Err(t) => return Ok(tampered(chain_id, t)),
            }
            if let Some(cp) = cps.first() {
                by_origin.insert(cp.origin.clone(), i);
            }
        }
        // Links: every chain a genesis names must be here, at least as
        // long as named, with the named root at that size.
        for (chain_id, cps) in &chains {
            for link in cps.iter().flat_map(|c| c.links.iter()) {
                let Some(&j) = by_origin.get(&link.origin) else {
                    return Ok(VerifyReport::Tampered {
                        chain_id: chain_id.clone(),
                        first_bad_seq: 0,
                        why: format!(
                            "chain `{}` named by this chain's genesis checkpoint (at size {}) is missing from the store",
                            link.origin, link.size
                        ),
                    });
                };
                if let Some(w) = walkers.get_mut(j) {
                    if let Err(t) = w.expect_root(
                        link.size,
                        link.root,
                        format!("genesis link from chain {chain_id}"),
                    ) {
                        return Ok(tampered(&chains[j].0, t));
                    }
                }
            }
        }
        let (mut entries, mut checkpoints, mut n, mut open, mut unsigned) = (0, 0, 0, 0, 0);
        for ((chain_id, _), w) in chains.iter().zip(walkers) {
            let walked = match self.walk(chain_id, w).await? {
                Ok(w) => w,
                Err(report) => return Ok(report),
            };
            // Checkpoints at multiples of `every` past those read first
            // must be there now (committed with their entries).
            if !walked.unconfirmed.is_empty() {
                // Only the genesis (the chain's origin) and the notes at
                // those sizes are opened again.
                let rows: Vec<(u64, String, String)> = self
                    .store
                    .notes(chain_id)
                    .await?
                    .into_iter()
                    .filter(|n| n.kind == "genesis" || walked.unconfirmed.contains(&n.size))
                    .map(|n| (n.size, n.kind, n.note))
                    .collect();
                let now: std::collections::HashSet<u64> =
                    match open_checkpoints(chain_id, &rows, &key) {
                        Ok(cps) => cps.iter().map(|c| c.size).collect(),
                        Err(t) => return Ok(tampered(chain_id, t)),
                    };
                if let Some(&size) = walked.unconfirmed.iter().find(|s| !now.contains(s)) {
                    return Ok(tampered(chain_id, crate::verify::missing_checkpoint(size)));
                }
            }
            entries += walked.entries;
            checkpoints += walked.checkpoints;
            n += 1;
            if !walked.closed {
                open += 1;
                unsigned += walked.unsigned;
            }
        }
        Ok(VerifyReport::Intact {
            entries,
            checkpoints,
            chains: n,
            open_chains: open,
            unsigned_entries: unsigned,
        })
    }

    /// Feeds every stored entry of one chain to its walker. The next page
    /// is fetched and decoded on another task while this one hashes the
    /// current page.
    async fn walk(
        &self,
        chain_id: &str,
        mut v: TreeWalker,
    ) -> Result<Result<Walked, VerifyReport>, AuditError> {
        let mut next = 1u64;
        let mut scratch = Vec::with_capacity(1024);
        let mut prefetch = Prefetch::start(&self.store, chain_id, i64::MIN);
        loop {
            let page = prefetch.take().await?;
            let n = page.len();
            let full = i64::try_from(n).unwrap_or(i64::MAX) >= PAGE;
            if full {
                let last = page.last().map(|row| match row {
                    Ok(e) => crate::store::big(e.seq),
                    Err(bad) => bad.seq,
                });
                if let Some(after) = last {
                    prefetch = Prefetch::start(&self.store, chain_id, after);
                }
            }
            let mut computed = Vec::with_capacity(n);
            for row in page {
                match row {
                    Ok(e) => {
                        if let Err(t) = v.push(&mut scratch, &e) {
                            return Ok(Err(tampered(chain_id, t)));
                        }
                        computed.push((e.seq, v.completed_hex()));
                        next = e.seq.saturating_add(1);
                    }
                    Err(bad) => {
                        let seq = u64::try_from(bad.seq)
                            .ok()
                            .filter(|s| *s >= 1)
                            .unwrap_or(next);
                        return Ok(Err(VerifyReport::Tampered {
                            chain_id: chain_id.to_owned(),
                            first_bad_seq: seq.min(next),
                            why: format!("stored entry unreadable: {}", bad.why),
                        }));
                    }
                }
            }
            if let Err(t) =
                crate::verify::check_stored_nodes(&self.store, chain_id, &computed).await?
            {
                return Ok(Err(tampered(chain_id, t)));
            }
            if !full {
                break;
            }
        }
        Ok(v.finish().map_err(|t| tampered(chain_id, t)))
    }

    /// Every chain id in the store.
    pub async fn chains(&self) -> Result<Vec<String>, AuditError> {
        self.store.chains().await
    }

    /// The latest checkpoint of a chain as a signed note, with the witness
    /// cosignatures stored for it; None if the chain has none.
    pub async fn latest_checkpoint(
        &self,
        chain_id: &str,
    ) -> Result<Option<(u64, String)>, AuditError> {
        Ok(self
            .store
            .latest_note(chain_id)
            .await?
            .map(|(n, lines)| (n.size, add_cosignatures(&n.note, &lines))))
    }

    /// The cosignature lines stored for a chain's checkpoint of `size`, by
    /// witness (the name the gateway knows it under). Stored, not checked:
    /// verify a line before trusting it.
    pub async fn cosignatures(
        &self,
        chain_id: &str,
        size: u64,
    ) -> Result<Vec<(String, String)>, AuditError> {
        Ok(self
            .store
            .cosignatures(chain_id, size)
            .await?
            .into_iter()
            .map(|c| (c.witness, c.line))
            .collect())
    }

    /// The inclusion proof bundle of the entry with this inquiry id,
    /// against the chain's latest checkpoint. [`AuditError::NotFound`] if
    /// there is no such entry, [`AuditError::ProofPending`] if no
    /// checkpoint covers it yet. The proof is checked against the signed
    /// root before it is handed out (altered tree nodes are
    /// [`AuditError::Corrupt`]).
    pub async fn inclusion_proof(&self, inquiry_id: &str) -> Result<ProofBundle, AuditError> {
        let entry =
            self.store.find_inquiry(inquiry_id).await?.ok_or_else(|| {
                AuditError::NotFound(format!("no inquiry `{inquiry_id}` in the log"))
            })?;
        // Proved against the chain's latest checkpoint (the one most likely
        // cosigned by now); none covering the entry yet: pending.
        let Some((note, lines)) = self
            .store
            .latest_note(&entry.chain_id)
            .await?
            .filter(|(n, _)| n.size >= entry.seq)
        else {
            return Err(AuditError::ProofPending);
        };
        let size = note.size;
        let proof = self.inclusion_hashes(&entry, size, &note.note).await?;
        let checkpoint = add_cosignatures(&note.note, &lines);
        Ok(ProofBundle {
            format: PROOF_FORMAT.to_owned(),
            version: 1,
            chain_id: entry.chain_id.clone(),
            leaf_index: entry.seq - 1,
            tree_size: size,
            inclusion_proof: proof.iter().map(|h| B64.encode(h)).collect(),
            checkpoint,
            entry,
        })
    }

    async fn inclusion_hashes(
        &self,
        e: &Entry,
        size: u64,
        note: &str,
    ) -> Result<Vec<Hash>, AuditError> {
        let corrupt = |why: &str| AuditError::Corrupt {
            chain_id: e.chain_id.clone(),
            seq: crate::store::big(e.seq),
            why: why.to_owned(),
        };
        let plan = merkle::inclusion_plan(e.seq - 1, size)
            .ok_or_else(|| corrupt("entry beyond its checkpoint"))?;
        let nodes = fetch_nodes(&self.store, &e.chain_id, &plan.nodes())
            .await?
            .ok_or_else(|| nodes_missing(&e.chain_id, e.seq))?;
        let proof = plan
            .assemble(&nodes)
            .ok_or_else(|| nodes_missing(&e.chain_id, e.seq))?;
        let mut bytes = Vec::new();
        canonical_bytes(&mut bytes, &e.chain_id, e.seq, &e.entry);
        let leaf = merkle::leaf_hash(&bytes);
        let root = crate::note::Note::parse(note)
            .ok()
            .and_then(|n| crate::note::TreeHead::parse(&n.text).ok())
            .map(|h| h.root)
            .ok_or_else(|| corrupt("checkpoint note unreadable"))?;
        if !merkle::verify_inclusion(&leaf, e.seq - 1, size, &proof, &root) {
            return Err(corrupt(
                "entry or tree nodes do not reproduce the signed root",
            ));
        }
        Ok(proof)
    }

    /// An RFC 9162 consistency proof between the chain's trees of `from`
    /// and `to` entries (`to` at most the chain's length).
    pub async fn consistency_proof(
        &self,
        chain_id: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<Hash>, AuditError> {
        let last = self.store.last_seq(chain_id).await?;
        if to > last {
            return Err(AuditError::NotFound(format!(
                "chain holds {last} entries, fewer than {to}"
            )));
        }
        let plan = merkle::consistency_plan(from, to)
            .ok_or_else(|| AuditError::NotFound("from is larger than to".into()))?;
        let nodes = fetch_nodes(&self.store, chain_id, &plan.nodes())
            .await?
            .ok_or_else(|| nodes_missing(chain_id, to))?;
        plan.assemble(&nodes)
            .ok_or_else(|| nodes_missing(chain_id, to))
    }

    /// Writes a JSON Lines export (format in the module docs) of the entries
    /// matching `f`, bracketed by signed checkpoints, with the reader's key
    /// (see [`Reader::with_signing_key`]; without one there is no export)
    /// named in the header and sealing the end line. Returns the number of
    /// entry lines written.
    pub async fn export(
        &self,
        f: &Filter,
        out: &mut (dyn Write + Send),
    ) -> Result<u64, AuditError> {
        let written = self
            .export_chunks(f, PAGE, EXPORT_CHUNK, |chunk| {
                let wrote = out.write_all(&chunk).map_err(AuditError::Io);
                std::future::ready(wrote)
            })
            .await?;
        out.flush()?;
        Ok(written)
    }

    /// The export of [`Reader::export`], handed to `send` in
    /// chunks of whole lines of about `chunk_bytes` (the last one smaller),
    /// reading the store `page` entries at a time: memory stays bounded by
    /// a page, a chunk and one chain's checkpoint notes, whatever the size
    /// of the log. The bytes are exactly those of
    /// [`Reader::export`]. An error from `send` (e.g. the reader
    /// went away) stops the export and is returned. Returns the number of
    /// entry lines sent.
    pub async fn export_chunks<S, Fut>(
        &self,
        f: &Filter,
        page: i64,
        chunk_bytes: usize,
        mut send: S,
    ) -> Result<u64, AuditError>
    where
        S: FnMut(Vec<u8>) -> Fut + Send,
        Fut: std::future::Future<Output = Result<(), AuditError>> + Send,
    {
        let key = self.export_key.clone().ok_or(AuditError::ExportUnsigned)?;
        let page = page.max(1);
        let chunk_bytes = chunk_bytes.max(1);
        let mut buf: Vec<u8> = Vec::with_capacity(chunk_bytes.saturating_add(4096));
        let ranges = self.store.matching_ranges(f).await?;
        // Every byte before the end line, as sent.
        let mut digest = LinesDigest::new();
        write_line(&mut buf, &header_line(key.public_key(), f))?;
        let mut written = 0u64;
        for (chain_id, lo, hi) in ranges {
            let (lo, hi) = (
                u64::try_from(lo).unwrap_or(0),
                u64::try_from(hi).unwrap_or(0),
            );
            let notes = self.store.notes(&chain_id).await?;
            let Some((start, end, lines)) = export_plan(&chain_id, notes, lo, hi) else {
                continue;
            };
            for line in lines {
                write_line(&mut buf, &line)?;
                if buf.len() >= chunk_bytes {
                    digest.bytes(&buf);
                    send(std::mem::take(&mut buf)).await?;
                }
            }
            if let Some(line) = frontier_line(&self.store, &chain_id, start).await? {
                write_line(&mut buf, &line)?;
            }
            let mut after = crate::store::big(start);
            let end_i = crate::store::big(end);
            'pages: loop {
                let rows = self.store.entries_after(&chain_id, after, page).await?;
                let n = rows.len();
                for row in rows {
                    let e = row?;
                    let s = crate::store::big(e.seq);
                    if s > end_i {
                        break 'pages;
                    }
                    after = s;
                    write_line(&mut buf, &ExportLine::Entry(Box::new(e)))?;
                    written += 1;
                    if buf.len() >= chunk_bytes {
                        digest.bytes(&buf);
                        send(std::mem::take(&mut buf)).await?;
                    }
                }
                if i64::try_from(n).unwrap_or(i64::MAX) < page || after >= end_i {
                    break;
                }
            }
        }
        digest.bytes(&buf);
        let digest = digest.finish();
        write_line(
            &mut buf,
            &ExportLine::End {
                entries: written,
                sha256: hex::encode(digest),
                signature: key.sign_end(&digest, written),
            },
        )?;
        send(buf).await?;
        Ok(written)
    }
}

/// One page of stored rows, each an entry or an unreadable row.
type Page = Vec<Result<Entry, BadRow>>;

/// A page of a chain being fetched on its own task; aborted if dropped
/// unread.
struct Prefetch {
    handle: Option<tokio::task::JoinHandle<Result<Page, AuditError>>>,
}

impl Prefetch {
    fn start(store: &AnyStore, chain_id: &str, after: i64) -> Prefetch {
        let store = store.clone();
        let chain_id = chain_id.to_owned();
        Prefetch {
            handle: Some(tokio::spawn(async move {
                store.entries_after(&chain_id, after, PAGE).await
            })),
        }
    }

    async fn take(&mut self) -> Result<Page, AuditError> {
        match self.handle.take() {
            Some(h) => h
                .await
                .map_err(|e| AuditError::Store(format!("page fetch task failed: {e}")))?,
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

/// Appends one export line (JSON and a newline) to `out`.
fn write_line(out: &mut Vec<u8>, line: &ExportLine) -> Result<(), AuditError> {
    serde_json::to_writer(&mut *out, line).map_err(|e| AuditError::Io(e.into()))?;
    out.push(b'\n');
    Ok(())
}

/// Bytes [`Reader::export`] collects before it writes them out.
const EXPORT_CHUNK: usize = 64 * 1024;

/// Lines per hand-off to a parsing thread.
const PARSE_BATCH: usize = 512;
/// Parsing threads.
const PARSERS: usize = 2;
/// Batches each parsing thread may have queued or done but not yet
/// checked (bounds the memory used).
const PARSE_AHEAD: usize = 4;

/// What the parsing thread hands over. `End` is not an [`ExportLine`]: no
/// line of a file can stand for it.
enum Parsed {
    Line(ExportLine),
    /// An entry line, hashed on the parsing thread.
    Link(LinkLine),
    /// The input ended here (nothing was cut off by an error or a panic).
    End {
        /// The SHA-256 of every non-blank line before the last one (what
        /// the end line seals), and the last one's number.
        before_last: [u8; 32],
        last_line: u64,
    },
}

/// An entry line as the chain check needs it: the entry itself was hashed
/// (and freed) where it was parsed.
struct LinkLine {
    chain_id: String,
    seq: u64,
    prev_hash: String,
    hash: String,
    /// (chain hash, leaf hash) of the entry, with its stored prev_hash.
    computed: Option<(Hash, Hash)>,
}

impl LinkLine {
    /// Hashes a parsed entry line; anything else is returned as it is.
    fn of(scratch: &mut Vec<u8>, line: ExportLine) -> Parsed {
        match line {
            ExportLine::Entry(e) => {
                let e = *e;
                let computed = parse_hash(&e.prev_hash)
                    .map(|prev| entry_hashes(scratch, &prev, &e.chain_id, e.seq, &e.entry));
                Parsed::Link(LinkLine {
                    chain_id: e.chain_id,
                    seq: e.seq,
                    prev_hash: e.prev_hash,
                    hash: e.hash,
                    computed,
                })
            }
            other => Parsed::Line(other),
        }
    }
}

/// One non-blank line of an export, parsed, with its 1-based number; or
/// why the file cannot be read on (the last item sent).
type ParsedLine = (u64, Result<Parsed, AuditError>);

/// Parses (and hashes) batches of raw lines until its input closes or
/// its results are no longer wanted.
fn parse_batches(
    input: std::sync::mpsc::Receiver<Vec<(u64, String)>>,
    output: std::sync::mpsc::SyncSender<Vec<ParsedLine>>,
) {
    let mut scratch = Vec::with_capacity(1024);
    for batch in input {
        let parsed = batch
            .into_iter()
            .map(|(line_no, line)| {
                let parsed = parse_export_line(&line)
                    .map(|l| LinkLine::of(&mut scratch, l))
                    .map_err(|e| AuditError::ExportFormat {
                        line: line_no,
                        why: format!(
                            "not an export line ({:?} error at column {})",
                            e.classify(),
                            e.column()
                        ),
                    });
                (line_no, parsed)
            })
            .collect();
        if output.send(parsed).is_err() {
            return;
        }
    }
}

/// The lines of an export, parsed by [`PARSERS`] threads and given back in
/// file order: reads batches of raw lines, deals them out round-robin,
/// and takes the results back in the same rotation, keeping at most
/// [`PARSE_AHEAD`] batches per thread in flight (so neither side can
/// block the other for good). Ends with [`Parsed::End`] after the last
/// line, or with the read error.
struct ParsedLines<R> {
    lines: std::io::Lines<R>,
    to: Vec<std::sync::mpsc::SyncSender<Vec<(u64, String)>>>,
    from: Vec<std::sync::mpsc::Receiver<Vec<ParsedLine>>>,
    sent: usize,
    taken: usize,
    current: std::vec::IntoIter<ParsedLine>,
    line_no: u64,
    /// Every non-blank line read so far, and every one but the last.
    digest: LinesDigest,
    before_last: LinesDigest,
    last_line: u64,
    read_error: Option<std::io::Error>,
    eof: bool,
    done: bool,
}

impl<R: BufRead> ParsedLines<R> {
    /// The next batch of non-blank raw lines (empty at the end of input).
    fn read_batch(&mut self) -> Vec<(u64, String)> {
        let mut batch = Vec::with_capacity(PARSE_BATCH);
        while !self.eof && batch.len() < PARSE_BATCH {
            match self.lines.next() {
                None => self.eof = true,
                Some(Err(e)) => {
                    self.read_error = Some(e);
                    self.eof = true;
                }
                Some(Ok(line)) => {
                    self.line_no += 1;
                    if !line.trim().is_empty() {
                        self.before_last = self.digest.clone();
                        self.digest.line(&line);
                        self.last_line = self.line_no;
                        batch.push((self.line_no, line));
                    }
                }
            }
        }
        batch
    }
}

impl<R: BufRead> Iterator for ParsedLines<R> {
    type Item = ParsedLine;

    fn next(&mut self) -> Option<ParsedLine> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            let failed = || (0, Err(AuditError::ExportParser));
            while !self.eof && self.sent - self.taken < PARSERS * PARSE_AHEAD {
                let batch = self.read_batch();
                if batch.is_empty() {
                    continue;
                }
                if self.to[self.sent % PARSERS].send(batch).is_err() {
                    self.done = true;
                    return Some(failed());
                }
                self.sent += 1;
            }
            if self.taken < self.sent {
                match self.from[self.taken % PARSERS].recv() {
                    Ok(batch) => self.current = batch.into_iter(),
                    Err(_) => {
                        self.done = true;
                        return Some(failed());
                    }
                }
                self.taken += 1;
                continue;
            }
            self.done = true;
            return Some(match self.read_error.take() {
                Some(e) => (self.line_no, Err(AuditError::Io(e))),
                None => (
                    self.line_no,
                    Ok(Parsed::End {
                        before_last: self.before_last.clone().finish(),
                        last_line: self.last_line,
                    }),
                ),
            });
        }
    }
}

/// Verifies an export file offline with the audit public key (raw 32
/// bytes). Fails with [`AuditError::KeyMismatch`] if the header names
/// another key, and with [`AuditError::ExportFormat`] if a line is not an
/// export line.
///
/// This thread reads lines and checks links and checkpoints; [`PARSERS`]
/// threads parse the lines and hash their entries (~3/4 of the work),
/// through bounded hand-offs of [`PARSE_BATCH`] lines, so memory stays flat
/// whatever the file's size. Each entry is freed on the thread that parsed
/// it: freeing its ~30 strings on another thread made the allocator's
/// cross-thread frees a quarter of the work.
pub fn verify_export(reader: impl BufRead, public_key: &[u8]) -> Result<VerifyReport, AuditError> {
    verify_export_as(reader, public_key, false).map(|(report, _)| report)
}

/// What an export says of itself, beside its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFacts {
    /// Whether it ends with the signed end line (version 4); a version 3
    /// file does not.
    pub sealed: bool,
    /// The selection its header names (`whole log`, or the filter in
    /// words); sealed with the file. `None` from files made before it was
    /// written.
    pub selection: Option<String>,
}

/// [`verify_export`] that also reads a version 3 export (made before
/// exports were sealed, [`crate::export_seal`]): its chains are checked as
/// before, and the second value says whether the file was sealed. An
/// unsealed file cannot show a cut at a chain's boundary or a chain taken
/// out whole, so only a caller that vouches for the file's bytes another
/// way (an archive's SHA256SUMS) may take it for whole.
pub fn verify_export_any_version(
    reader: impl BufRead,
    public_key: &[u8],
) -> Result<(VerifyReport, ExportFacts), AuditError> {
    verify_export_as(reader, public_key, true)
}

fn verify_export_as(
    reader: impl BufRead,
    public_key: &[u8],
    unsealed_ok: bool,
) -> Result<(VerifyReport, ExportFacts), AuditError> {
    if public_key.len() != 32 {
        return Err(AuditError::InvalidPublicKey(public_key.len()));
    }
    std::thread::scope(|scope| {
        let mut to = Vec::with_capacity(PARSERS);
        let mut from = Vec::with_capacity(PARSERS);
        let mut parsers = Vec::with_capacity(PARSERS);
        for _ in 0..PARSERS {
            let (lines_tx, lines_rx) = std::sync::mpsc::sync_channel(PARSE_AHEAD);
            let (parsed_tx, parsed_rx) = std::sync::mpsc::sync_channel(PARSE_AHEAD);
            parsers.push(scope.spawn(move || parse_batches(lines_rx, parsed_tx)));
            to.push(lines_tx);
            from.push(parsed_rx);
        }
        let lines = ParsedLines {
            lines: reader.lines(),
            to,
            from,
            sent: 0,
            taken: 0,
            current: Vec::new().into_iter(),
            line_no: 0,
            digest: LinesDigest::new(),
            before_last: LinesDigest::new(),
            last_line: 0,
            read_error: None,
            eof: false,
            done: false,
        };
        // Returning drops `lines` and with it the channels, which stops the
        // parsers.
        let mut facts = ExportFacts {
            sealed: true,
            selection: None,
        };
        let report = verify_parsed(lines, public_key, unsealed_ok, &mut facts);
        // Joined here so that a panic in a parser is an error, not ours.
        let mut joined = true;
        for p in parsers {
            joined &= p.join().is_ok();
        }
        if joined {
            report.map(|r| (r, facts))
        } else {
            Err(AuditError::ExportParser)
        }
    })
}

/// One chain of an export while it is read.
#[derive(Default)]
struct ExportChain {
    /// Checkpoint lines: (size, kind, note).
    rows: Vec<(u64, String, String)>,
    /// The frontier line: (size, peaks).
    frontier: Option<(u64, Vec<Hash>)>,
    /// Set at the chain's first entry line.
    walker: Option<TreeWalker>,
    /// (size, kind) of the checkpoint lines read: one given twice is
    /// refused.
    seen: HashSet<(u64, String)>,
}

impl ExportChain {
    /// Opens the checkpoints and starts the walk (at the first entry, or
    /// at the end for a chain without entries).
    fn start(&mut self, chain_id: &str, key: &LogKey) -> Result<&mut TreeWalker, Tamper> {
        if self.walker.is_none() {
            let cps = open_checkpoints(chain_id, &self.rows, key)?;
            let mut w = TreeWalker::new(chain_id, &cps)?;
            if let Some((size, peaks)) = self.frontier.take() {
                let tree = CompactTree::from_peaks(size, peaks).ok_or_else(|| {
                    Tamper::at(size, "tree frontier has the wrong number of hashes")
                })?;
                w.start_at(size, tree)?;
            }
            self.walker = Some(w);
        }
        self.walker
            .as_mut()
            .ok_or_else(|| Tamper::at(0, "export chain not started"))
    }
}

/// The (size, root) pairs a chain's checkpoints name.
type Named = HashSet<(u64, Hash)>;

/// The genesis links of a whole-log export ([`verify_parsed`]): each names
/// a chain of the file by origin and a checkpoint of it at the linked size
/// with the linked root. `Err` names the chain at fault and why.
fn check_export_links(
    chains: &BTreeMap<String, ExportChain>,
    key: &LogKey,
) -> Result<(), (String, Tamper)> {
    // Each chain's checkpoints: opened with the key when its walk did not
    // open them already (a chain without entry lines), else only parsed.
    // By origin: the chain and the (size, root) its checkpoints name.
    let mut by_origin: HashMap<String, (&String, Named)> = HashMap::new();
    let mut links: Vec<(&String, crate::tree_head::Link)> = Vec::new();
    for (chain_id, chain) in chains {
        let cps: Vec<Checkpoint> = if chain.walker.is_some() {
            chain
                .rows
                .iter()
                .map(|(size, _, note)| {
                    crate::tree_head::reopen(note)
                        .map_err(|e| Tamper::at(*size, format!("checkpoint at size {size}: {e}")))
                })
                .collect::<Result<_, _>>()
        } else {
            open_checkpoints(chain_id, &chain.rows, key)
        }
        .map_err(|t| (chain_id.clone(), t))?;
        let Some(origin) = cps.first().map(|c| c.origin.clone()) else {
            continue;
        };
        let named = cps.iter().map(|c| (c.size, c.root)).collect();
        by_origin.insert(origin, (chain_id, named));
        for cp in cps {
            links.extend(cp.links.into_iter().map(|l| (chain_id, l)));
        }
    }
    for (chain_id, link) in links {
        let Some((linked_id, named)) = by_origin.get(&link.origin) else {
            // A chain of a gateway that logged nothing has no entry, so no
            // line in an export: linked at size 0, the empty tree.
            if link.size == 0 && link.root == crate::merkle::empty_root() {
                continue;
            }
            return Err((
                chain_id.clone(),
                Tamper::at(
                    0,
                    format!(
                        "chain `{}` named by this chain's genesis checkpoint (at size {}) is missing from the export of the whole log",
                        link.origin, link.size
                    ),
                ),
            ));
        };
        if !named.contains(&(link.size, link.root)) {
            return Err((
                (*linked_id).clone(),
                Tamper::at(
                    link.size,
                    format!(
                        "chain cut or rewritten: a genesis link from chain {chain_id} names size {} and its root, which no checkpoint of it in the file has",
                        link.size
                    ),
                ),
            ));
        }
    }
    Ok(())
}

/// The checks of [`verify_export`], over parsed lines.
/// `facts` gets what the header says (a version 3 file, read only with
/// `unsealed_ok`, is not sealed).
fn verify_parsed(
    lines: impl Iterator<Item = ParsedLine>,
    public_key: &[u8],
    unsealed_ok: bool,
    facts: &mut ExportFacts,
) -> Result<VerifyReport, AuditError> {
    let key = LogKey::raw(public_key)?;
    let mut header_seen = false;
    let mut chains: BTreeMap<String, ExportChain> = BTreeMap::new();
    let mut line_no = 0u64;
    let mut ended = None;
    // The end line, with its line number.
    let mut end: Option<(u64, u64, String, String)> = None;
    let missing_header = |line: u64| AuditError::ExportFormat {
        line,
        why: "missing header line".into(),
    };
    for (n, parsed) in lines {
        line_no = n;
        let parsed = match parsed? {
            Parsed::Line(line) => line,
            Parsed::End {
                before_last,
                last_line,
            } => {
                ended = Some((before_last, last_line));
                break;
            }
            Parsed::Link(_) if !header_seen => return Err(missing_header(line_no)),
            Parsed::Link(l) => {
                let chain = chains.entry(l.chain_id.clone()).or_default();
                let walked = chain
                    .start(&l.chain_id, &key)
                    .and_then(|w| w.push_hashed(l.seq, &l.prev_hash, &l.hash, l.computed));
                if let Err(t) = walked {
                    return Ok(tampered(&l.chain_id, t));
                }
                continue;
            }
        };
        match parsed {
            ExportLine::Header {
                format,
                version,
                public_key: key_hex,
                selection: what,
            } => {
                if header_seen || line_no != 1 {
                    return Err(AuditError::ExportFormat {
                        line: line_no,
                        why: "header must be the first line, once".into(),
                    });
                }
                let legacy = unsealed_ok && version == UNSEALED_VERSION;
                if format != EXPORT_FORMAT || (version != EXPORT_VERSION && !legacy) {
                    return Err(AuditError::ExportFormat {
                        line: line_no,
                        why: format!("unsupported format `{format}` version {version}"),
                    });
                }
                if !key_hex.is_empty() && hex::decode(&key_hex).ok().as_deref() != Some(public_key)
                {
                    return Err(AuditError::KeyMismatch);
                }
                facts.sealed = !legacy;
                facts.selection = what;
                header_seen = true;
            }
            _ if !header_seen => return Err(missing_header(line_no)),
            ExportLine::End {
                entries,
                sha256,
                signature,
            } => {
                if end.is_some() {
                    return Err(AuditError::ExportFormat {
                        line: line_no,
                        why: "a second end line".into(),
                    });
                }
                end = Some((line_no, entries, sha256, signature));
            }
            ExportLine::Checkpoint {
                chain_id,
                size,
                kind,
                note,
            } => {
                let chain = chains.entry(chain_id.clone()).or_default();
                if chain.walker.is_some() {
                    return Ok(VerifyReport::Tampered {
                        chain_id,
                        first_bad_seq: size,
                        why: "checkpoint line after the chain's entries (lines reordered)".into(),
                    });
                }
                if !chain.seen.insert((size, kind.clone())) {
                    return Ok(VerifyReport::Tampered {
                        chain_id,
                        first_bad_seq: size,
                        why: format!("{kind} checkpoint at size {size} given twice"),
                    });
                }
                chain.rows.push((size, kind, note));
            }
            ExportLine::Frontier {
                chain_id,
                size,
                hashes,
            } => {
                let chain = chains.entry(chain_id.clone()).or_default();
                if chain.walker.is_some() || chain.frontier.is_some() {
                    return Ok(VerifyReport::Tampered {
                        chain_id,
                        first_bad_seq: size,
                        why: "frontier line out of place".into(),
                    });
                }
                let Some(peaks) = hashes
                    .iter()
                    .map(|h| decode_hash(h))
                    .collect::<Option<Vec<Hash>>>()
                else {
                    return Err(AuditError::ExportFormat {
                        line: line_no,
                        why: "frontier hash is not base64 of 32 bytes".into(),
                    });
                };
                chain.frontier = Some((size, peaks));
            }
            // The parsers hand every entry line over as a `Parsed::Link`;
            // were one to arrive unhashed, refuse rather than skip it.
            ExportLine::Entry(_) => {
                return Err(AuditError::ExportFormat {
                    line: line_no,
                    why: "entry line reached the checks unhashed".into(),
                })
            }
        }
    }
    let Some((before_last, last_line)) = ended else {
        // The parser stopped without an error or the end: it panicked.
        return Err(AuditError::ExportFormat {
            line: line_no,
            why: "export reader stopped early".into(),
        });
    };
    if !header_seen {
        return Err(AuditError::ExportFormat {
            line: line_no,
            why: "empty file, no header line".into(),
        });
    }
    // An export of the whole log holds every chain a genesis links, to at
    // least the linked size and with the linked root there (as `verify`
    // demands of a store): a chain dropped or cut from the file, with the
    // end line signed again by the key's holder, is found (an outside
    // probe's edited exports read "intact, whole log").
    // Reported after the seal is checked: a file cut at a chain's
    // boundary is a cut file first.
    let links = if facts.selection.as_deref() == Some(WHOLE_LOG) {
        check_export_links(&chains, &key)
    } else {
        Ok(())
    };
    let (mut entries, mut checkpoints, mut n) = (0u64, 0u64, 0u64);
    for (chain_id, mut chain) in chains {
        let walked = chain.start(&chain_id, &key).map(|_| ()).and_then(|()| {
            chain
                .walker
                .take()
                .ok_or_else(|| Tamper::at(0, "export chain not started"))?
                .finish()
        });
        // (A multiple of `every` past the file's last checkpoint of a
        // chain is among its unsigned entries, refused just below.)
        match walked {
            Ok(w) if w.unsigned > 0 => {
                return Ok(VerifyReport::Tampered {
                    chain_id,
                    first_bad_seq: w.size - w.unsigned + 1,
                    why: format!(
                        "{} entries no signed checkpoint in the file covers (cut file, or invented entries)",
                        w.unsigned
                    ),
                })
            }
            Ok(w) => {
                entries += w.entries;
                checkpoints += w.checkpoints;
                n += 1;
            }
            Err(t) => return Ok(tampered(&chain_id, t)),
        }
    }
    // The end line seals the whole file: without it, or with any line
    // before it changed, added or taken out, the file is not the export
    // that was signed — however well its remaining chains verify (which
    // are checked first, as they say which entry is at fault).
    let sealed_entries = match end {
        // A version 3 file has no end line: its chains are all it shows.
        None if !facts.sealed => entries,
        Some(_) if !facts.sealed => {
            return Err(AuditError::ExportFormat {
                line: last_line,
                why: "an end line in a version 3 export".into(),
            })
        }
        None => {
            return Ok(unsealed(format!(
                "the file has no end line: cut after line {last_line}"
            )))
        }
        Some((at, ..)) if at != last_line => {
            return Ok(unsealed(format!("lines after the end line (line {at})")))
        }
        Some((_, entries, sha256, signature)) => {
            if sha256 != hex::encode(before_last) {
                return Ok(unsealed(
                    "the lines before the end line are not the ones exported (a line changed, added or taken out)".into(),
                ));
            }
            if !crate::export_seal::end_valid(public_key, &before_last, entries, &signature) {
                return Ok(unsealed(
                    "the end line's signature is not the audit key's".into(),
                ));
            }
            entries
        }
    };
    if entries != sealed_entries {
        return Ok(unsealed(format!(
            "the end line counts {sealed_entries} entries, the file holds {entries}"
        )));
    }
    if let Err((chain_id, t)) = links {
        return Ok(tampered(&chain_id, t));
    }
    Ok(VerifyReport::Intact {
        entries,
        checkpoints,
        chains: n,
        open_chains: 0,
        unsigned_entries: 0,
    })
}

/// The chain a [`VerifyReport::Tampered`] names when the export file as a
/// whole is not the one sealed (its `first_bad_seq` is then 0).
pub const WHOLE_FILE: &str = "(export file)";

/// The `selection` of an export of every entry of every chain.
const WHOLE_LOG: &str = "whole log";

/// An export whose end line does not seal it: tampering with the file as
/// a whole, reported on no chain in particular.
fn unsealed(why: String) -> VerifyReport {
    VerifyReport::Tampered {
        chain_id: WHOLE_FILE.into(),
        first_bad_seq: 0,
        why,
    }
}

#[cfg(test)]
mod tests;
