//! The group-commit writer and the [`AuditLog`] handle.
//!
//! One task owns the store's write side. `append` sends `(entry, oneshot)`
//! over a bounded channel (a full channel makes callers wait: back-pressure).
//! The task takes everything queued (up to [`MAX_BATCH`]), assigns seq,
//! prev_hash and hash, adds a signed checkpoint at every multiple of
//! `checkpoint_every`, commits the batch in ONE transaction, then answers
//! every waiter. Callers wait for their own commit, never for a timer.
//!
//! If a commit fails because the store is unreachable, locked or timed out,
//! every waiter of that batch gets [`AuditError::Unavailable`] and the
//! in-memory head is not advanced; since such a failure's outcome may be
//! unknown, the head is re-read from the store before the next batch. The
//! task keeps running, so appends succeed again as soon as the store
//! recovers. If the store instead rejects a value of the batch (a data
//! error, e.g. PostgreSQL refusing a NUL byte), the batch's entries are
//! retried one at a time so only the bad entry fails.
//!
//! Each entry also extends the chain's Merkle tree (see [`crate::merkle`]):
//! the writer keeps the tree's compact form and stores with every row the
//! tree nodes that row completes. A checkpoint — a C2SP signed note over
//! the tree, see [`crate::tree_head`] — is signed at every multiple of
//! `checkpoint_every`, at least every `checkpoint_interval_ms` while
//! entries arrive (also when they stop: the writer wakes up for it), and at
//! shutdown (`final`). The latest checkpoint is published to subscribers
//! ([`AuditLog::checkpoints`]: the witness client).
//!
//! Opening: [`AuditLog::open`] first builds the Merkle tree of every chain
//! written before schema 3, after verifying it the old way, and signs a
//! checkpoint over it; then it **verifies and seals** every earlier chain a
//! crash left open (no final or sealed checkpoint): the whole chain, from
//! its first entry through its unsigned tail, against every checkpoint
//! and every later chain's link — a chain that does not verify is left
//! unsealed for `audit verify` to report. Then it signs the new chain's `genesis`
//! checkpoint (size 0), which **links** the latest checkpoint of every
//! chain in the store.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::{mpsc, oneshot, watch};

use crate::entry::{entry_hashes, parse_hash, Entry, NewEntry, Receipt, GENESIS_HASH};
use crate::error::AuditError;
use crate::merkle::{empty_root, CompactTree, Hash};
use crate::reader::Reader;
use crate::store::{AnyStore, Batch, CommitError, NoteRow, StoreOptions};
use crate::tree_head::{origin_for, Checkpoint, CheckpointSigner, Kind, Link, LogKey};

/// Most entries committed in one transaction.
pub const MAX_BATCH: usize = 1024;

/// How to open the inquiry log.
#[derive(Clone)]
pub struct AuditConfig {
    /// `sqlite://path/to/file.db` (created if missing, parent dirs too) or
    /// `postgres://...`.
    pub store_url: String,
    /// Ed25519 signing key for checkpoints, PKCS#8 DER.
    pub signing_key_pkcs8: Vec<u8>,
    /// A signed checkpoint every this many entries (and at shutdown);
    /// 0 is treated as 1.
    pub checkpoint_every: u64,
    /// Appends that may wait for the writer before callers are held back.
    pub queue_capacity: usize,
    /// How long a write may wait for a store lock (SQLite `busy_timeout`,
    /// PostgreSQL `lock_timeout`/`statement_timeout`) before the batch
    /// fails as unavailable. Bounds the 503 latency when the store is stuck.
    pub store_timeout_ms: u64,
    /// A checkpoint at least this often while entries arrive (ms; 0 is
    /// treated as 1).
    pub checkpoint_interval_ms: u64,
    /// Origin template of each chain's checkpoints (see
    /// [`crate::tree_head::origin_for`]).
    pub origin: String,
    /// Signed-note key name of the audit key.
    pub key_name: String,
    /// SQLite: a batch is refused as unavailable (the gateway answers 503)
    /// while the file system under the store has less than this many bytes
    /// free, so the log stops before the disk is full; 0: no floor. (On
    /// PostgreSQL the server owns its disk: ignored.)
    pub min_free_bytes: u64,
    /// Whether opening verifies and seals the chains a crash left open
    /// (the gateway: yes). A command that appends one entry while gateways
    /// may be running (`credgate audit lift`) says no: on SQLite nothing
    /// tells a live writer's chain from a crashed one, and sealing a live
    /// chain would make every later entry of it read as tampering. The
    /// next gateway to start seals what a crash left open.
    pub seal_open_chains: bool,
    /// Checkpoints independent witnesses cosigned (origin, size, root), as
    /// the opener learned them: a crashed chain is sealed only if its tree
    /// has each one of its origin (its entries were not rewritten or cut
    /// under what a witness saw).
    pub witnessed: Vec<crate::tree_head::Link>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            store_url: "sqlite://audit/inquiries.db".to_owned(),
            signing_key_pkcs8: Vec::new(),
            checkpoint_every: 1000,
            queue_capacity: 4096,
            store_timeout_ms: 2000,
            checkpoint_interval_ms: 1000,
            origin: "credgate.local/<chain_id>".to_owned(),
            key_name: "credgate-audit".to_owned(),
            min_free_bytes: 0,
            seal_open_chains: true,
            witnessed: Vec::new(),
        }
    }
}

impl std::fmt::Debug for AuditConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditConfig")
            .field("store_url", &crate::error::redact_url(&self.store_url))
            .field("signing_key_pkcs8", &"<redacted>")
            .field("checkpoint_every", &self.checkpoint_every)
            .field("queue_capacity", &self.queue_capacity)
            .field("store_timeout_ms", &self.store_timeout_ms)
            .field("min_free_bytes", &self.min_free_bytes)
            .field("seal_open_chains", &self.seal_open_chains)
            .field("checkpoint_interval_ms", &self.checkpoint_interval_ms)
            .field("origin", &self.origin)
            .field("key_name", &self.key_name)
            .field("witnessed", &self.witnessed.len())
            .finish()
    }
}

struct Request {
    entry: NewEntry,
    reply: oneshot::Sender<Result<Receipt, AuditError>>,
}

enum Msg {
    Append(Box<Request>),
    /// Sign a checkpoint now if entries are uncovered.
    Checkpoint(oneshot::Sender<Result<(), AuditError>>),
    Shutdown(oneshot::Sender<Result<(), AuditError>>),
}

struct Inner {
    tx: mpsc::Sender<Msg>,
    chain_id: String,
    origin: String,
    public_key: Vec<u8>,
    /// The same key, for sealing exports.
    export_key: Arc<crate::export_seal::ExportKey>,
    vkey: String,
    store: AnyStore,
    published: watch::Receiver<Option<Published>>,
    /// The store timeout: how long a write may wait on the store.
    timeout: Duration,
    /// Chains a crash left open that opening did not seal because they do
    /// not verify: (chain id, first bad seq, why).
    unsealed: Vec<(String, u64, String)>,
}

/// A checkpoint the writer committed (what witnesses are sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The chain it covers.
    pub chain_id: String,
    /// Its tree size.
    pub size: u64,
    /// The signed note.
    pub note: String,
}

/// Handle to the inquiry log's writer. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("chain_id", &self.inner.chain_id)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn new_chain_id() -> Result<String, AuditError> {
    let mut b = [0u8; 16];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| AuditError::Store("no system randomness for the chain id".into()))?;
    Ok(hex::encode(b))
}

impl AuditLog {
    /// Opens the store (creating the schema if needed), seals earlier
    /// chains a crash left open, starts a new chain with a random id and a
    /// signed genesis checkpoint, and starts the writer task. Must be called
    /// inside a tokio runtime.
    pub async fn open(cfg: &AuditConfig) -> Result<AuditLog, AuditError> {
        let signer = CheckpointSigner::new(&cfg.key_name, &cfg.signing_key_pkcs8)?;
        let export_key = Arc::new(crate::export_seal::ExportKey::from_pkcs8(
            &cfg.signing_key_pkcs8,
        )?);
        let chain_id = new_chain_id()?;
        let opts = StoreOptions {
            timeout: Duration::from_millis(cfg.store_timeout_ms.max(1)),
            create: true,
            owner: Some(crate::store::Owner {
                key: crate::store::chain_lock_key(&chain_id),
                chain_id: chain_id.as_str().into(),
            }),
            min_free_bytes: cfg.min_free_bytes,
        };
        let store = AnyStore::connect(&cfg.store_url, opts).await?;
        store.migrate().await?;
        let verifier = signer.verifier();
        let key = LogKey::raw(&verifier.public_key)?;
        migrate_legacy_chains(&store, &signer, &key, &cfg.origin).await?;
        let unsealed = if cfg.seal_open_chains {
            seal_open_chains(&store, &signer, &key, &chain_id, &cfg.witnessed).await?
        } else {
            Vec::new()
        };
        let links = latest_checkpoints(&store, &key, &chain_id).await?;
        let origin = origin_for(&cfg.origin, &chain_id);
        let genesis =
            signer.sign_genesis(&origin, now_ms(), &links, cfg.checkpoint_every.max(1))?;
        store
            .commit(Batch::notes(&[note_row(&chain_id, &genesis)]))
            .await?;
        let (tx, rx) = mpsc::channel(cfg.queue_capacity.max(1));
        let (publish, published) = watch::channel(Some(Published {
            chain_id: chain_id.clone(),
            size: 0,
            note: genesis.note.clone(),
        }));
        let writer = Writer {
            store: store.clone(),
            signer,
            chain_id: chain_id.clone(),
            origin: origin.clone(),
            seq: 0,
            head: GENESIS_HASH,
            tree: CompactTree::new(),
            every: cfg.checkpoint_every.max(1),
            interval: Duration::from_millis(cfg.checkpoint_interval_ms.max(1)),
            signed_size: 0,
            signed_at: Instant::now(),
            failed: None,
            broken: false,
            scratch: Vec::with_capacity(1024),
            completed: Vec::with_capacity(8),
            publish,
        };
        tokio::spawn(writer.run(rx));
        tracing::info!(chain_id = %chain_id, links = links.len(), "inquiry log opened");
        Ok(AuditLog {
            inner: Arc::new(Inner {
                tx,
                chain_id,
                origin,
                public_key: verifier.public_key.to_vec(),
                export_key,
                vkey: verifier.to_vkey(),
                store,
                published,
                timeout: Duration::from_millis(cfg.store_timeout_ms.max(1)),
                unsealed,
            }),
        })
    }

    /// Appends an entry; returns only once it is durably committed.
    /// [`AuditError::Unavailable`] means it was not (the gateway must then
    /// release no data).
    pub async fn append(&self, e: NewEntry) -> Result<Receipt, AuditError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Msg::Append(Box::new(Request { entry: e, reply })))
            .await
            .map_err(|_| AuditError::Unavailable("audit writer stopped".into()))?;
        rx.await
            .map_err(|_| AuditError::Unavailable("audit writer stopped".into()))?
    }

    /// How long a caller should wait for [`AuditLog::append`] before it
    /// answers as if the store were unavailable: the store timeout plus one
    /// second for the queue ahead of it. A store that hangs rather than
    /// fails (a frozen file system, a stalled network disk) would otherwise
    /// hold every request. An entry whose caller gave up may still commit
    /// once the store moves again (the log then holds an answer the client
    /// did not get, never the reverse).
    pub fn append_bound(&self) -> Duration {
        self.inner.timeout + Duration::from_secs(1)
    }

    /// Bytes free on the file system under a SQLite store (`None` on
    /// PostgreSQL, or if it cannot be read): for a metric, so operators see
    /// the disk filling before `min_free_bytes` makes the gateway refuse.
    pub fn store_free_bytes(&self) -> Option<u64> {
        self.inner.store.free_bytes()
    }

    /// Commits everything queued, writes a final checkpoint, and stops the
    /// writer. Later appends fail as unavailable. Calling it twice is fine.
    pub async fn shutdown(&self) -> Result<(), AuditError> {
        let (done, rx) = oneshot::channel();
        if self.inner.tx.send(Msg::Shutdown(done)).await.is_err() {
            return Ok(());
        }
        rx.await.unwrap_or(Ok(()))
    }

    /// Shuts the writer down (as [`AuditLog::shutdown`]), then closes every
    /// connection to the store, readers included, and waits until they are
    /// closed: afterwards no file of the store is held open by this process
    /// (an operator may unmount, move or check it). Readers taken from this
    /// log fail from then on. The result is the shutdown's.
    pub async fn close(&self) -> Result<(), AuditError> {
        let result = self.shutdown().await;
        self.inner.store.close().await;
        result
    }

    /// Signs a checkpoint over everything committed so far, unless one
    /// already covers it (a live export or proof that should not wait for
    /// the next interval).
    pub async fn checkpoint(&self) -> Result<(), AuditError> {
        let (done, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Msg::Checkpoint(done))
            .await
            .map_err(|_| AuditError::Unavailable("audit writer stopped".into()))?;
        rx.await
            .map_err(|_| AuditError::Unavailable("audit writer stopped".into()))?
    }

    /// A reader on the same store, with this log's key to seal exports.
    pub fn reader(&self) -> Reader {
        Reader::from_store(
            self.inner.store.clone(),
            Some(self.inner.export_key.clone()),
        )
    }

    /// This log's key as exports need it.
    pub fn export_key(&self) -> Arc<crate::export_seal::ExportKey> {
        self.inner.export_key.clone()
    }

    /// Chains a crash left open that opening did not seal because they do
    /// not verify: (chain id, first bad seq, why), for the opener to
    /// report beyond the process log.
    pub fn unsealed_at_open(&self) -> &[(String, u64, String)] {
        &self.inner.unsealed
    }

    /// This process's chain id (32 hex characters).
    pub fn chain_id(&self) -> &str {
        &self.inner.chain_id
    }

    /// The origin line of this process's chain.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// Raw 32-byte Ed25519 public key that verifies this log's checkpoints.
    pub fn public_key(&self) -> Vec<u8> {
        self.inner.public_key.clone()
    }

    /// The audit key as a signed-note verifier key (`name+id+base64`), the
    /// form witnesses are configured with.
    pub fn verifier_key(&self) -> &str {
        &self.inner.vkey
    }

    /// The latest checkpoint this writer committed, as it changes (the
    /// witness client submits each one).
    pub fn checkpoints(&self) -> watch::Receiver<Option<Published>> {
        self.inner.published.clone()
    }

    /// Stores a witness's cosignature line over a checkpoint of a chain.
    pub async fn add_cosignature(
        &self,
        chain_id: &str,
        size: u64,
        witness: &str,
        line: &str,
    ) -> Result<(), AuditError> {
        self.inner
            .store
            .add_cosignature(&crate::store::CosigRow {
                chain_id: chain_id.to_owned(),
                size,
                witness: witness.to_owned(),
                time_ms: now_ms(),
                line: line.to_owned(),
            })
            .await
    }
}

fn note_row(chain_id: &str, cp: &Checkpoint) -> NoteRow {
    NoteRow {
        chain_id: chain_id.to_owned(),
        size: cp.size,
        kind: cp.kind.as_str().to_owned(),
        time_ms: cp.time_ms,
        note: cp.note.clone(),
    }
}

/// A batch whose commit failed with an unknown outcome: what the chain's
/// state is if it did commit after all.
struct Failed {
    before: u64,
    seq: u64,
    head: Hash,
    tree: CompactTree,
    signed_size: u64,
}

/// The task that owns the write side of the store.
struct Writer {
    store: AnyStore,
    signer: CheckpointSigner,
    chain_id: String,
    origin: String,
    /// Seq of the last committed entry (0: none yet) = the tree's size.
    seq: u64,
    /// Hash of the last committed entry.
    head: Hash,
    /// The chain's Merkle tree, compact.
    tree: CompactTree,
    every: u64,
    interval: Duration,
    /// Size of the latest checkpoint, and when it was signed.
    signed_size: u64,
    signed_at: Instant,
    /// The last commit failed with an unknown outcome: settle it first.
    failed: Option<Failed>,
    /// The store's chain is not what this writer wrote: refuse appends.
    broken: bool,
    scratch: Vec<u8>,
    completed: Vec<Hash>,
    publish: watch::Sender<Option<Published>>,
}

impl Writer {
    /// When the next interval checkpoint is due (entries are uncovered).
    fn due(&self) -> Option<Instant> {
        (self.seq > self.signed_size).then(|| self.signed_at + self.interval)
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut batch: Vec<Request> = Vec::with_capacity(MAX_BATCH);
        loop {
            let mut shutdown = None;
            let msg = match self.due() {
                None => rx.recv().await,
                Some(at) => match tokio::time::timeout_at(at.into(), rx.recv()).await {
                    Ok(m) => m,
                    Err(_) => {
                        // A failure is logged and retried after the next interval.
                        let _ = self.checkpoint_now(Kind::Periodic).await;
                        continue;
                    }
                },
            };
            match msg {
                Some(Msg::Append(r)) => batch.push(*r),
                Some(Msg::Checkpoint(done)) => {
                    let _ = done.send(self.cover().await);
                    continue;
                }
                Some(Msg::Shutdown(done)) => shutdown = Some(done),
                None => {
                    // Every handle dropped without shutdown: close the chain.
                    if let Err(e) = self.final_checkpoint().await {
                        tracing::warn!(error = %e, "final audit checkpoint failed");
                    }
                    self.store.close_writer().await;
                    return;
                }
            }
            let mut cover = Vec::new();
            while shutdown.is_none() && batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(Msg::Append(r)) => batch.push(*r),
                    Ok(Msg::Checkpoint(done)) => cover.push(done),
                    Ok(Msg::Shutdown(done)) => shutdown = Some(done),
                    Err(_) => break,
                }
            }
            if !batch.is_empty() {
                self.commit_batch(&mut batch).await;
            }
            if !cover.is_empty() {
                let result = self.cover().await;
                for done in cover {
                    let _ = done.send(
                        result
                            .as_ref()
                            .map(|_| ())
                            .map_err(|e| AuditError::Unavailable(e.to_string())),
                    );
                }
            }
            if let Some(done) = shutdown {
                rx.close();
                // Drain what was queued before the channel closed.
                while let Some(msg) = rx.recv().await {
                    match msg {
                        Msg::Append(r) => {
                            batch.push(*r);
                            if batch.len() >= MAX_BATCH {
                                self.commit_batch(&mut batch).await;
                            }
                        }
                        Msg::Shutdown(other) | Msg::Checkpoint(other) => {
                            let _ = other.send(Ok(()));
                        }
                    }
                }
                if !batch.is_empty() {
                    self.commit_batch(&mut batch).await;
                }
                let result = self.final_checkpoint().await;
                self.store.close_writer().await;
                tracing::info!(chain_id = %self.chain_id, seq = self.seq, "inquiry log closed");
                let _ = done.send(result);
                return;
            }
        }
    }

    /// After a commit with an unknown outcome: reads the chain's head and
    /// takes whichever state it shows — before the batch, or after it. Any
    /// other head means someone else wrote this chain: the writer stops
    /// accepting entries (fail closed) rather than sign over it.
    async fn settle(&mut self) -> Result<(), AuditError> {
        let Some(f) = self.failed.take() else {
            return Ok(());
        };
        let head = match self.store.head(&self.chain_id).await {
            Ok(h) => h,
            Err(e) => {
                // Still unknown: keep the pending outcome for the next try.
                self.failed = Some(f);
                return Err(e);
            }
        };
        let (seq, hash) = match head {
            None => (0, GENESIS_HASH),
            Some((seq, h)) => (seq, parse_hash(&h).unwrap_or([0xff; 32])),
        };
        if seq == f.seq && hash == f.head {
            self.seq = f.seq;
            self.head = f.head;
            self.tree = f.tree;
            self.signed_size = f.signed_size;
        } else if seq == f.before && hash == self.head {
            // The batch did not land; the state is as it was.
        } else {
            self.broken = true;
            tracing::error!(chain_id = %self.chain_id, "inquiry log chain changed under its writer: appends refused");
        }
        Ok(())
    }

    /// Commits a batch; on a data error, retries its entries one by one.
    async fn commit_batch(&mut self, batch: &mut Vec<Request>) {
        let reqs = std::mem::take(batch);
        match self.try_commit(reqs).await {
            Ok(()) => {}
            Err((CommitError::Rejected(_), reqs)) if reqs.len() > 1 => {
                tracing::warn!(
                    entries = reqs.len(),
                    "audit store rejected a batch: retrying its entries one by one"
                );
                for r in reqs {
                    if let Err((e, rs)) = self.try_commit(vec![r]).await {
                        fail(rs, e);
                    }
                }
            }
            Err((e, reqs)) => fail(reqs, e),
        }
    }

    /// Signs a checkpoint of this chain at the tree's current state.
    fn sign(&self, tree: &CompactTree, kind: Kind) -> Result<Checkpoint, AuditError> {
        self.signer
            .sign(&self.origin, tree.size(), &tree.root(), kind, now_ms(), &[])
    }

    /// Assigns seq, hashes and tree nodes, signs the checkpoints that fall
    /// due, commits everything in one transaction and answers every
    /// waiter; on failure hands the requests back unanswered.
    async fn try_commit(&mut self, batch: Vec<Request>) -> Result<(), (CommitError, Vec<Request>)> {
        if let Err(e) = self.settle().await {
            return Err((CommitError::Unavailable(e.to_string()), batch));
        }
        if self.broken {
            return Err((
                CommitError::Unavailable("the chain changed under its writer".into()),
                batch,
            ));
        }
        let mut entries = Vec::with_capacity(batch.len());
        let mut nodes = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        let mut notes: Vec<Checkpoint> = Vec::new();
        let mut tree = self.tree.clone();
        let mut seq = self.seq;
        let mut prev = self.head;
        let mut sign_failed = false;
        for Request { mut entry, reply } in batch {
            // INVARIANT: values hashed are exactly the values stored; the
            // stores keep integers as BIGINT, so clamp to i64 first.
            entry.latency_ms = entry.latency_ms.min(i64::MAX as u64);
            seq += 1;
            let (h, leaf) = entry_hashes(&mut self.scratch, &prev, &self.chain_id, seq, &entry);
            tree.push(leaf, &mut self.completed);
            let mut hexed = String::with_capacity(64 * self.completed.len());
            for n in &self.completed {
                hexed.push_str(&hex::encode(n));
            }
            nodes.push(hexed);
            if seq.checked_rem(self.every) == Some(0) {
                match self.sign(&tree, Kind::Periodic) {
                    Ok(cp) => notes.push(cp),
                    Err(e) => {
                        // The entry at a multiple of `every` is never
                        // committed without its checkpoint (verify holds
                        // the chain to it): the batch fails, unanswered
                        // data leaves nowhere, the head stays.
                        tracing::error!(error = %e, "signing a checkpoint failed; the batch is not committed");
                        sign_failed = true;
                    }
                }
            }
            entries.push(Entry {
                chain_id: self.chain_id.clone(),
                seq,
                prev_hash: hex::encode(prev),
                hash: hex::encode(h),
                entry,
            });
            replies.push(reply);
            prev = h;
        }
        if sign_failed {
            for reply in replies {
                let _ = reply.send(Err(AuditError::Unavailable(
                    "signing a checkpoint failed".into(),
                )));
            }
            return Ok(());
        }
        let covered = notes.last().map(|c| c.size) == Some(seq);
        if !covered && self.signed_at.elapsed() >= self.interval {
            match self.sign(&tree, Kind::Periodic) {
                Ok(cp) => notes.push(cp),
                Err(e) => tracing::error!(error = %e, "signing a checkpoint failed"),
            }
        }
        let rows: Vec<NoteRow> = notes.iter().map(|c| note_row(&self.chain_id, c)).collect();
        match self
            .store
            .commit(Batch {
                entries: &entries,
                nodes: &nodes,
                notes: &rows,
            })
            .await
        {
            Ok(()) => {
                self.seq = seq;
                self.head = prev;
                self.tree = tree;
                if let Some(last) = notes.last() {
                    self.published(last);
                }
                for (e, reply) in entries.into_iter().zip(replies) {
                    let _ = reply.send(Ok(Receipt {
                        seq: e.seq,
                        hash: e.hash,
                    }));
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, entries = entries.len(), "audit batch not committed");
                // A rejected statement rolled back: nothing was written.
                if matches!(e, CommitError::Unavailable(_)) {
                    self.failed = Some(Failed {
                        before: self.seq,
                        seq,
                        head: prev,
                        tree,
                        signed_size: notes.last().map_or(self.signed_size, |c| c.size),
                    });
                }
                let back = entries
                    .into_iter()
                    .zip(replies)
                    .map(|(e, reply)| Request {
                        entry: e.entry,
                        reply,
                    })
                    .collect();
                Err((e, back))
            }
        }
    }

    /// Records and announces a committed checkpoint.
    fn published(&mut self, cp: &Checkpoint) {
        self.signed_size = cp.size;
        self.signed_at = Instant::now();
        self.publish.send_replace(Some(Published {
            chain_id: self.chain_id.clone(),
            size: cp.size,
            note: cp.note.clone(),
        }));
    }

    /// Signs and commits a checkpoint over the current tree.
    async fn checkpoint_now(&mut self, kind: Kind) -> Result<(), AuditError> {
        self.settle().await?;
        if self.broken {
            return Err(AuditError::Unavailable(
                "the chain changed under its writer".into(),
            ));
        }
        let cp = self.sign(&self.tree, kind)?;
        match self
            .store
            .commit(Batch::notes(&[note_row(&self.chain_id, &cp)]))
            .await
        {
            Ok(()) => {
                self.published(&cp);
                Ok(())
            }
            Err(e) => {
                // Try again after the next interval, not in a tight loop.
                self.signed_at = Instant::now();
                tracing::warn!(error = %e, "audit checkpoint not committed");
                Err(e.into())
            }
        }
    }

    /// A checkpoint over the tree unless the latest one covers it.
    async fn cover(&mut self) -> Result<(), AuditError> {
        if self.seq > self.signed_size {
            self.checkpoint_now(Kind::Periodic).await
        } else {
            Ok(())
        }
    }

    /// Signs the final checkpoint over the tree (size 0 for an empty chain).
    async fn final_checkpoint(&mut self) -> Result<(), AuditError> {
        self.checkpoint_now(Kind::Final).await
    }
}

/// Answers every request of a failed batch with [`AuditError::Unavailable`].
fn fail(reqs: Vec<Request>, e: CommitError) {
    let msg = match e {
        CommitError::Rejected(m) | CommitError::Unavailable(m) => m,
    };
    for r in reqs {
        let _ = r.reply.send(Err(AuditError::Unavailable(msg.clone())));
    }
}

/// The signed checkpoints of a chain, opened with the key; None (with a
/// warning) if any fails to.
async fn chain_checkpoints(
    store: &AnyStore,
    key: &LogKey,
    chain_id: &str,
) -> Result<Option<Vec<Checkpoint>>, AuditError> {
    let rows: Vec<(u64, String, String)> = store
        .notes(chain_id)
        .await?
        .into_iter()
        .map(|n| (n.size, n.kind, n.note))
        .collect();
    match crate::verify::open_checkpoints(chain_id, &rows, key) {
        Ok(cps) => Ok(Some(cps)),
        Err(t) => {
            tracing::warn!(chain_id = %chain_id, size = t.seq, why = %t.why, "inquiry log chain has a bad checkpoint");
            Ok(None)
        }
    }
}

/// The verified checkpoints of every chain in the store but `except`; a
/// chain whose checkpoints do not verify is left out (and `audit verify`
/// reports it).
async fn verified_chains(
    store: &AnyStore,
    key: &LogKey,
    except: Option<&str>,
) -> Result<Vec<Vec<Checkpoint>>, AuditError> {
    let mut out = Vec::new();
    for chain_id in store.chains().await? {
        if except == Some(chain_id.as_str()) {
            continue;
        }
        if let Some(cps) = chain_checkpoints(store, key, &chain_id).await? {
            out.push(cps);
        }
    }
    Ok(out)
}

/// The latest checkpoint of every other chain in the store, for the new
/// chain's genesis to link (a chain whose checkpoints do not verify is not
/// linked).
async fn latest_checkpoints(
    store: &AnyStore,
    key: &LogKey,
    own: &str,
) -> Result<Vec<Link>, AuditError> {
    let chains = verified_chains(store, key, Some(own)).await?;
    Ok(chains
        .iter()
        .filter_map(|cps| cps.iter().max_by_key(|c| (c.size, c.kind)))
        .map(|last| Link {
            origin: last.origin.clone(),
            size: last.size,
            root: last.root,
        })
        .collect())
}

/// Verifies and seals every chain a crash left open (see the module docs).
async fn seal_open_chains(
    store: &AnyStore,
    signer: &CheckpointSigner,
    key: &LogKey,
    own: &str,
    witnessed: &[Link],
) -> Result<Vec<(String, u64, String)>, AuditError> {
    let mut unsealed = Vec::new();
    for chain_id in store.open_chains().await? {
        if chain_id == own {
            continue;
        }
        let Some(cps) = chain_checkpoints(store, key, &chain_id).await? else {
            continue;
        };
        // A PostgreSQL replica that is still running holds its chain's lock.
        let Some(claim) = store.claim_chain(&chain_id).await? else {
            continue;
        };
        let origin = cps.first().map(|c| c.origin.clone()).unwrap_or_default();
        let links = links_naming(store, key, &origin).await?;
        let seen: Vec<Link> = witnessed
            .iter()
            .filter(|w| w.origin == origin)
            .cloned()
            .collect();
        tracing::info!(chain_id = %chain_id, "verifying an inquiry log chain a crash left open, from its first entry, before sealing it");
        let verified = verify_whole_chain(store, &chain_id, &cps, &links, &seen).await;
        let result = match verified {
            Ok(Ok((size, root))) => {
                let cp = signer.sign(&origin, size, &root, Kind::Sealed, now_ms(), &[])?;
                store
                    .commit(Batch::notes(&[note_row(&chain_id, &cp)]))
                    .await
                    .map_err(AuditError::from)
                    .map(|()| {
                        tracing::warn!(chain_id = %chain_id, size, "verified and sealed an inquiry log chain left open by a crash");
                    })
            }
            Ok(Err(t)) => {
                tracing::error!(chain_id = %chain_id, seq = t.seq, why = %t.why, "an open inquiry log chain does not verify: not sealed");
                unsealed.push((chain_id.clone(), t.seq, t.why.clone()));
                Ok(())
            }
            Err(e) => Err(e),
        };
        claim.release().await;
        result?;
    }
    Ok(unsealed)
}

/// What the genesis checkpoints of every chain say about the chain of
/// `origin` (their links to it).
async fn links_naming(
    store: &AnyStore,
    key: &LogKey,
    origin: &str,
) -> Result<Vec<Link>, AuditError> {
    let chains = verified_chains(store, key, None).await?;
    Ok(chains
        .iter()
        .flatten()
        .filter(|c| c.kind == Kind::Genesis)
        .flat_map(|cp| cp.links.iter().filter(|l| l.origin == origin).cloned())
        .collect())
}

/// Verifies a whole chain a crash left open before it is sealed: every
/// entry from the first (links, hashes, the tree against every signed
/// checkpoint and every later chain's link, a checkpoint at each multiple
/// of its genesis's `every`). Returns the tree's size and root at the end.
/// (Only the tail after the last checkpoint was checked before: an entry
/// edited under a signed checkpoint was then sealed over, "verified", as
/// two outside probes found — `audit verify` still named it, but the
/// seal's word was wrong.)
pub(crate) async fn verify_whole_chain(
    store: &AnyStore,
    chain_id: &str,
    cps: &[Checkpoint],
    links: &[Link],
    witnessed: &[Link],
) -> Result<Result<(u64, Hash), crate::verify::Tamper>, AuditError> {
    use crate::verify::TreeWalker;
    let mut walker = match TreeWalker::new(chain_id, cps) {
        Ok(w) => w,
        Err(t) => return Ok(Err(t)),
    };
    let named = links
        .iter()
        .map(|l| (l, format!("link to size {} from a later chain", l.size)))
        .chain(witnessed.iter().map(|w| {
            (
                w,
                format!(
                    "checkpoint a witness cosigned at size {} (cut or rewritten under it?)",
                    w.size
                ),
            )
        }));
    for (link, by) in named {
        if let Err(t) = walker.expect_root(link.size, link.root, by) {
            return Ok(Err(t));
        }
    }
    let mut after = i64::MIN;
    let mut scratch = Vec::with_capacity(1024);
    loop {
        let page = store
            .entries_after(chain_id, after, crate::store::PAGE)
            .await?;
        let n = page.len();
        let mut computed = Vec::with_capacity(n);
        for row in page {
            let e = match row {
                Ok(e) => e,
                Err(bad) => {
                    return Ok(Err(crate::verify::Tamper::at(
                        u64::try_from(bad.seq).unwrap_or(0),
                        bad.why,
                    )))
                }
            };
            after = crate::store::big(e.seq);
            if let Err(t) = walker.push(&mut scratch, &e) {
                return Ok(Err(t));
            }
            computed.push((e.seq, walker.completed_hex()));
        }
        // The seal vouches for the stored tree too: proofs are built on it.
        if let Err(t) = crate::verify::check_stored_nodes(store, chain_id, &computed).await? {
            return Ok(Err(t));
        }
        if i64::try_from(n).unwrap_or(i64::MAX) < crate::store::PAGE {
            break;
        }
    }
    Ok(walker
        .finish()
        .and_then(crate::verify::Walked::confirmed)
        .map(|w| (w.size, w.root)))
}

/// Builds the Merkle tree of every chain written before schema 3: verifies
/// it against its legacy checkpoints ([`crate::legacy`]), stores its tree
/// nodes, and signs a genesis and a sealed checkpoint over it. A chain that
/// does not verify gets none (and `audit verify` reports it).
async fn migrate_legacy_chains(
    store: &AnyStore,
    signer: &CheckpointSigner,
    key: &LogKey,
    origin_template: &str,
) -> Result<(), AuditError> {
    use crate::legacy::{ChainVerifier, Start};
    for chain_id in store.legacy_chains().await? {
        let cps = match store.checkpoints(&chain_id).await {
            Ok(c) => c,
            Err(AuditError::Corrupt { .. }) => continue,
            Err(e) => return Err(e),
        };
        let mut v = match ChainVerifier::new(&chain_id, cps, key.public_key(), Start::Genesis) {
            Ok(v) => v,
            Err(t) => {
                tracing::error!(chain_id = %chain_id, seq = t.seq, why = %t.why, "a chain written before schema 3 does not verify: its tree is not built");
                continue;
            }
        };
        let mut tree = CompactTree::new();
        let mut completed = Vec::new();
        let mut scratch = Vec::with_capacity(1024);
        let mut after = 0i64;
        let mut ok = true;
        loop {
            let page = store
                .entries_after(&chain_id, after, crate::store::PAGE)
                .await?;
            let n = page.len();
            let mut rows = Vec::with_capacity(n);
            for row in page {
                let Ok(e) = row else {
                    ok = false;
                    break;
                };
                if v.push(&e).is_err() {
                    ok = false;
                    break;
                }
                let Some(prev) = parse_hash(&e.prev_hash) else {
                    ok = false;
                    break;
                };
                let (_, leaf) = entry_hashes(&mut scratch, &prev, &chain_id, e.seq, &e.entry);
                tree.push(leaf, &mut completed);
                rows.push((e.seq, completed.iter().map(hex::encode).collect::<String>()));
                after = crate::store::big(e.seq);
            }
            if !ok {
                break;
            }
            store.set_tree_nodes(&chain_id, &rows).await?;
            if i64::try_from(n).unwrap_or(i64::MAX) < crate::store::PAGE {
                break;
            }
            tracing::info!(chain_id = %chain_id, entries = after, "building the Merkle tree of a chain written before schema 3");
        }
        if !ok || v.finish().is_err() {
            tracing::error!(chain_id = %chain_id, "a chain written before schema 3 does not verify: not signed");
            continue;
        }
        let origin = origin_for(origin_template, &chain_id);
        let genesis = signer.sign(&origin, 0, &empty_root(), Kind::Genesis, now_ms(), &[])?;
        let sealed = signer.sign(
            &origin,
            tree.size(),
            &tree.root(),
            Kind::Sealed,
            now_ms(),
            &[],
        )?;
        store
            .commit(Batch::notes(&[
                note_row(&chain_id, &genesis),
                note_row(&chain_id, &sealed),
            ]))
            .await?;
        tracing::info!(chain_id = %chain_id, size = tree.size(), "migrated a chain written before schema 3");
    }
    Ok(())
}
