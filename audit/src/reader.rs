//! Reading the log: search, subject report, verification against the store,
//! and JSON Lines export (plus its offline verifier).
//!
//! ## Export format (JSON Lines, version 2)
//!
//! 1. a header: `{"type":"header","format":"credgate-audit-export","version":2,"public_key":HEX}`;
//! 2. per chain, its checkpoint lines
//!    `{"type":"checkpoint","chain_id":..,"kind":..,"every":..,"seq":..,"hash":..,"time_ms":..,"signature":..}`,
//!    then its entry lines `{"type":"entry","chain_id":..,"seq":..,"prev_hash":..,"hash":..,"entry":{..}}`
//!    in seq order.
//!
//! To stay verifiable, an export holds, per chain, the contiguous run of
//! entries from the first to the last one matching the filter (so it may
//! hold entries outside the filter), the chain's genesis checkpoint (it
//! proves the chain and names its cadence), its final or sealed checkpoints
//! up to the last exported seq, and its periodic checkpoints within the run.
//! The offline verifier requires the genesis, the periodic checkpoints at
//! every multiple of the cadence within the run, and nothing after a final
//! checkpoint. A run that does not start at seq 1 is anchored at its first
//! entry's `prev_hash`.
//!
//! Consistency with a live writer: the runs are computed first, then the
//! checkpoints are read; since a batch and its checkpoints commit together,
//! every checkpoint at or below a run's end is already visible, and newer
//! ones are left out.
//!
//! ## Store verification
//!
//! [`Reader::verify`] walks every chain (see [`crate::verify`]) and adds
//! one rule across chains: only the newest chain (by its signed genesis
//! time) may lack a final or sealed checkpoint — it is the live writer's
//! (or one a crash left open that the next open will seal) — and, on
//! PostgreSQL, chains whose writer lock a live replica holds. Any other open
//! chain had its end cut off and is reported at its last seq + 1.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointKind};
use crate::entry::{Decision, Entry, NewEntry};
use crate::error::AuditError;
use crate::store::{AnyStore, BadRow, StoreOptions, PAGE};
use crate::verify::{ChainVerifier, Start, Tamper, VerifyReport, Walked};

/// Export format name in the header line.
const EXPORT_FORMAT: &str = "credgate-audit-export";
/// Export format version in the header line.
const EXPORT_VERSION: u32 = 2;

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
    /// At most this many entries (the earliest ones).
    pub limit: Option<u64>,
}

/// Read access to a log (no writer). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Reader {
    store: AnyStore,
    /// Raw public key named in export headers, when known.
    public_key: Option<Vec<u8>>,
}

/// One line of an export file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ExportLine {
    Header {
        format: String,
        version: u32,
        public_key: String,
    },
    Checkpoint {
        chain_id: String,
        kind: CheckpointKind,
        every: u64,
        seq: u64,
        hash: String,
        time_ms: i64,
        signature: String,
    },
    Entry {
        chain_id: String,
        seq: u64,
        prev_hash: String,
        hash: String,
        entry: Box<NewEntry>,
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
    entry: Box<NewEntry>,
}

/// The only `type` an [`EntryLine`] accepts.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum EntryTag {
    Entry,
}

/// Parses one export line.
fn parse_export_line(line: &str) -> Result<ExportLine, serde_json::Error> {
    if line.starts_with(r#"{"type":"entry","#) {
        let e: EntryLine = serde_json::from_str(line)?;
        return Ok(ExportLine::Entry {
            chain_id: e.chain_id,
            seq: e.seq,
            prev_hash: e.prev_hash,
            hash: e.hash,
            entry: e.entry,
        });
    }
    serde_json::from_str(line)
}

fn tampered(chain_id: &str, t: Tamper) -> VerifyReport {
    VerifyReport::Tampered {
        chain_id: chain_id.to_owned(),
        first_bad_seq: t.seq,
        why: t.why,
    }
}

impl Reader {
    pub(crate) fn from_store(store: AnyStore, public_key: Option<Vec<u8>>) -> Reader {
        Reader { store, public_key }
    }

    /// Names the audit public key (raw 32 bytes) that [`Reader::export`]
    /// writes into the export header. A reader made by `AuditLog::reader`
    /// already knows it.
    pub fn with_public_key(mut self, public_key: Vec<u8>) -> Reader {
        self.public_key = Some(public_key);
        self
    }

    /// Opens an existing log for reading (the CLI's path). Fails with
    /// [`AuditError::StoreMissing`] if there is no log at `store_url`.
    pub async fn connect(store_url: &str) -> Result<Reader, AuditError> {
        let opts = StoreOptions {
            timeout: std::time::Duration::from_secs(5),
            create: false,
            owner: None,
        };
        let store = AnyStore::connect(store_url, opts).await?;
        store.check_exists().await?;
        Ok(Reader {
            store,
            public_key: None,
        })
    }

    /// Entries matching `f`, ordered by time, then chain, then seq.
    pub async fn query(&self, f: &Filter) -> Result<Vec<Entry>, AuditError> {
        self.store.query(f).await
    }

    /// Every inquiry about one subject, oldest first.
    pub async fn subject_report(&self, subject_id: &str) -> Result<Vec<Entry>, AuditError> {
        let f = Filter {
            subject: Some(subject_id.to_owned()),
            ..Filter::default()
        };
        self.store.query(&f).await
    }

    /// Walks every chain in the store and checks it (see [`crate::verify`]
    /// and the module docs). `public_key` is the raw 32-byte Ed25519 key of
    /// the audit signer.
    pub async fn verify(&self, public_key: &[u8]) -> Result<VerifyReport, AuditError> {
        if public_key.len() != 32 {
            return Err(AuditError::InvalidPublicKey(public_key.len()));
        }
        // Checkpoints first (a live chain's head read before them bounds
        // where its cadence is enforced), then the walks.
        let mut chains = Vec::new();
        for chain_id in self.store.chains().await? {
            let head_before = self.store.last_seq(&chain_id).await?;
            let cps = match self.store.checkpoints(&chain_id).await {
                Ok(cps) => cps,
                Err(AuditError::Corrupt { seq, why, .. }) => {
                    return Ok(VerifyReport::Tampered {
                        first_bad_seq: u64::try_from(seq).unwrap_or(0),
                        chain_id,
                        why,
                    })
                }
                Err(e) => return Err(e),
            };
            let mut v = match ChainVerifier::new(&chain_id, cps, public_key, Start::Genesis) {
                Ok(v) => v,
                Err(t) => return Ok(tampered(&chain_id, t)),
            };
            if !v.closed() {
                v.require_cadence_upto(head_before);
            }
            chains.push((chain_id, v));
        }
        // The only chain allowed to be open: the newest one.
        let newest = chains
            .iter()
            .max_by(|(a, va), (b, vb)| {
                (va.genesis_time_ms(), a.as_str()).cmp(&(vb.genesis_time_ms(), b.as_str()))
            })
            .map(|(id, _)| id.clone());
        let (mut entries, mut checkpoints, mut n) = (0u64, 0u64, 0u64);
        for (chain_id, v) in chains {
            let closed = v.closed();
            let walked = match self.walk(&chain_id, v).await? {
                Ok(w) => w,
                Err(report) => return Ok(report),
            };
            if !closed
                && newest.as_deref() != Some(chain_id.as_str())
                && !self.store.chain_is_live(&chain_id).await?
            {
                return Ok(VerifyReport::Tampered {
                    first_bad_seq: walked.last_seq.saturating_add(1),
                    chain_id,
                    why: "chain has no final or sealed checkpoint but a newer chain exists: \
                          its end was cut off"
                        .into(),
                });
            }
            entries += walked.entries;
            checkpoints += walked.checkpoints;
            n += 1;
        }
        Ok(VerifyReport::Intact {
            entries,
            checkpoints,
            chains: n,
        })
    }

    /// Feeds every stored entry of one chain to its verifier. The next
    /// page is fetched and decoded on another task while this one hashes
    /// the current page.
    async fn walk(
        &self,
        chain_id: &str,
        mut v: ChainVerifier<'_>,
    ) -> Result<Result<Walked, VerifyReport>, AuditError> {
        let mut next = 1u64;
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
            for row in page {
                match row {
                    Ok(e) => {
                        if let Err(t) = v.push(&e) {
                            return Ok(Err(tampered(chain_id, t)));
                        }
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
            if !full {
                break;
            }
        }
        Ok(v.finish().map_err(|t| tampered(chain_id, t)))
    }

    /// Writes a JSON Lines export (format in the module docs) of the entries
    /// matching `f`, signed-off with `public_key` in the header. Returns the
    /// number of entry lines written.
    pub async fn export_with_key(
        &self,
        f: &Filter,
        public_key: &[u8],
        out: &mut (dyn Write + Send),
    ) -> Result<u64, AuditError> {
        let ranges = self.store.matching_ranges(f).await?;
        write_line(
            out,
            &ExportLine::Header {
                format: EXPORT_FORMAT.to_owned(),
                version: EXPORT_VERSION,
                public_key: hex::encode(public_key),
            },
        )?;
        let mut written = 0u64;
        for (chain_id, lo, hi) in ranges {
            // Read after the ranges: every checkpoint at or below `hi` is
            // visible (it committed with its entries); later ones are cut.
            for cp in self.store.checkpoints(&chain_id).await? {
                let s = crate::store::big(cp.seq);
                let keep = match cp.kind {
                    CheckpointKind::Genesis => true,
                    CheckpointKind::Final | CheckpointKind::Sealed => s <= hi,
                    CheckpointKind::Periodic => s >= lo && s <= hi,
                };
                if keep {
                    write_line(
                        out,
                        &ExportLine::Checkpoint {
                            chain_id: cp.chain_id,
                            kind: cp.kind,
                            every: cp.every,
                            seq: cp.seq,
                            hash: cp.hash,
                            time_ms: cp.time_ms,
                            signature: cp.signature,
                        },
                    )?;
                }
            }
            let mut after = lo.saturating_sub(1);
            'pages: loop {
                let page = self.store.entries_after(&chain_id, after, PAGE).await?;
                let n = page.len();
                for row in page {
                    let e = row?;
                    let s = crate::store::big(e.seq);
                    if s > hi {
                        break 'pages;
                    }
                    after = s;
                    write_line(
                        out,
                        &ExportLine::Entry {
                            chain_id: e.chain_id,
                            seq: e.seq,
                            prev_hash: e.prev_hash,
                            hash: e.hash,
                            entry: Box::new(e.entry),
                        },
                    )?;
                    written += 1;
                }
                if i64::try_from(n).unwrap_or(i64::MAX) < PAGE {
                    break;
                }
            }
        }
        out.flush()?;
        Ok(written)
    }

    /// [`Reader::export_with_key`] with this reader's public key (see
    /// [`Reader::with_public_key`]); without one the header names no key
    /// (empty) and `verify_export` then relies on checkpoint signatures only.
    pub async fn export(
        &self,
        f: &Filter,
        out: &mut (dyn Write + Send),
    ) -> Result<u64, AuditError> {
        let key = self.public_key.clone().unwrap_or_default();
        self.export_with_key(f, &key, out).await
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

fn write_line(out: &mut (dyn Write + Send), line: &ExportLine) -> Result<(), AuditError> {
    serde_json::to_writer(&mut *out, line).map_err(|e| AuditError::Io(e.into()))?;
    out.write_all(b"\n")?;
    Ok(())
}

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
    End,
}

/// An entry line as the chain check needs it: the entry itself was hashed
/// (and freed) where it was parsed.
struct LinkLine {
    chain_id: String,
    seq: u64,
    prev_hash: String,
    hash: String,
    /// [`crate::verify::link_hash`] of the entry.
    computed: Option<[u8; 32]>,
}

impl LinkLine {
    /// Hashes a parsed entry line; anything else is returned as it is.
    fn of(scratch: &mut Vec<u8>, line: ExportLine) -> Parsed {
        match line {
            ExportLine::Entry {
                chain_id,
                seq,
                prev_hash,
                hash,
                entry,
            } => {
                let e = Entry {
                    chain_id,
                    seq,
                    prev_hash,
                    hash,
                    entry: *entry,
                };
                let computed = crate::verify::link_hash(scratch, &e.chain_id, &e);
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
            let failed = || {
                (
                    0,
                    Err(AuditError::ExportFormat {
                        line: 0,
                        why: "export parser failed".into(),
                    }),
                )
            };
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
                None => (self.line_no, Ok(Parsed::End)),
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
            read_error: None,
            eof: false,
            done: false,
        };
        // Returning drops `lines` and with it the channels, which stops the
        // parsers.
        let report = verify_parsed(lines, public_key);
        // Joined here so that a panic in a parser is an error, not ours.
        let mut joined = true;
        for p in parsers {
            joined &= p.join().is_ok();
        }
        if joined {
            report
        } else {
            Err(AuditError::ExportFormat {
                line: 0,
                why: "export parser failed".into(),
            })
        }
    })
}

/// The checks of [`verify_export`], over parsed lines.
fn verify_parsed(
    lines: impl Iterator<Item = ParsedLine>,
    public_key: &[u8],
) -> Result<VerifyReport, AuditError> {
    let mut header_seen = false;
    let mut pending_cps: BTreeMap<String, Vec<Checkpoint>> = BTreeMap::new();
    let mut chains: BTreeMap<String, ChainVerifier<'_>> = BTreeMap::new();
    let mut line_no = 0u64;
    let mut ended = false;
    for (n, parsed) in lines {
        line_no = n;
        let parsed = match parsed? {
            Parsed::Line(line) => line,
            Parsed::End => {
                ended = true;
                break;
            }
            Parsed::Link(_) if !header_seen => {
                return Err(AuditError::ExportFormat {
                    line: line_no,
                    why: "missing header line".into(),
                })
            }
            Parsed::Link(l) => {
                if !chains.contains_key(&l.chain_id) {
                    let cps = pending_cps.remove(&l.chain_id).unwrap_or_default();
                    match ChainVerifier::new(&l.chain_id, cps, public_key, Start::Anchored) {
                        Ok(v) => {
                            chains.insert(l.chain_id.clone(), v);
                        }
                        Err(t) => return Ok(tampered(&l.chain_id, t)),
                    }
                }
                if let Some(v) = chains.get_mut(&l.chain_id) {
                    if let Err(t) = v.push_link(l.seq, &l.prev_hash, &l.hash, l.computed) {
                        return Ok(tampered(&l.chain_id, t));
                    }
                }
                continue;
            }
        };
        match parsed {
            ExportLine::Header {
                format,
                version,
                public_key: key_hex,
            } => {
                if header_seen || line_no != 1 {
                    return Err(AuditError::ExportFormat {
                        line: line_no,
                        why: "header must be the first line, once".into(),
                    });
                }
                if format != EXPORT_FORMAT || version != EXPORT_VERSION {
                    return Err(AuditError::ExportFormat {
                        line: line_no,
                        why: format!("unsupported format `{format}` version {version}"),
                    });
                }
                if !key_hex.is_empty() && hex::decode(&key_hex).ok().as_deref() != Some(public_key)
                {
                    return Err(AuditError::KeyMismatch);
                }
                header_seen = true;
            }
            _ if !header_seen => {
                return Err(AuditError::ExportFormat {
                    line: line_no,
                    why: "missing header line".into(),
                })
            }
            ExportLine::Checkpoint {
                chain_id,
                kind,
                every,
                seq,
                hash,
                time_ms,
                signature,
            } => {
                if chains.contains_key(&chain_id) {
                    return Ok(VerifyReport::Tampered {
                        chain_id,
                        first_bad_seq: seq,
                        why: "checkpoint line after the chain's entries (lines reordered)".into(),
                    });
                }
                pending_cps
                    .entry(chain_id.clone())
                    .or_default()
                    .push(Checkpoint {
                        chain_id,
                        kind,
                        every,
                        seq,
                        hash,
                        time_ms,
                        signature,
                    });
            }
            // The parsers hand every entry line over as a `Parsed::Link`;
            // were one to arrive unhashed, refuse rather than skip it.
            ExportLine::Entry { .. } => {
                return Err(AuditError::ExportFormat {
                    line: line_no,
                    why: "entry line reached the checks unhashed".into(),
                })
            }
        }
    }
    if !ended {
        // The parser stopped without an error or the end: it panicked.
        return Err(AuditError::ExportFormat {
            line: line_no,
            why: "export reader stopped early".into(),
        });
    }
    if !header_seen {
        return Err(AuditError::ExportFormat {
            line: line_no,
            why: "empty file, no header line".into(),
        });
    }
    // Checkpoints of chains without any exported entry: a truncated chain.
    for (chain_id, cps) in pending_cps {
        match ChainVerifier::new(&chain_id, cps, public_key, Start::Genesis) {
            Ok(v) => {
                if let Err(t) = v.finish() {
                    return Ok(tampered(&chain_id, t));
                }
            }
            Err(t) => return Ok(tampered(&chain_id, t)),
        }
    }
    let (mut entries, mut checkpoints, mut n) = (0u64, 0u64, 0u64);
    for (chain_id, v) in chains {
        match v.finish() {
            Ok(w) => {
                entries += w.entries;
                checkpoints += w.checkpoints;
                n += 1;
            }
            Err(t) => return Ok(tampered(&chain_id, t)),
        }
    }
    Ok(VerifyReport::Intact {
        entries,
        checkpoints,
        chains: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast entry-line path and the tagged path read the same line the
    /// same way, whatever the key order; a wrong tag never takes it.
    #[test]
    fn entry_lines_parse_the_same_by_either_path() {
        let line = ExportLine::Entry {
            chain_id: "c".into(),
            seq: 3,
            prev_hash: "a".repeat(64),
            hash: "b".repeat(64),
            entry: Box::new(crate::entry::tests::sample(3)),
        };
        let text = serde_json::to_string(&line).unwrap();
        assert!(text.starts_with(r#"{"type":"entry","#), "{text}");
        let mut v: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).unwrap();
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
}
