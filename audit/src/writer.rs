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
//! Opening: [`AuditLog::open`] first **seals** every earlier chain that has
//! no final or sealed checkpoint (a crash left it open) with a `sealed`
//! checkpoint over its current head, then signs the new chain's `genesis`
//! checkpoint (seq 0, cadence). Shutdown signs a `final` checkpoint. See
//! [`crate::checkpoint`] for what a seal does and does not vouch for.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::{signature_valid, Checkpoint, CheckpointKind, Signer};
use crate::entry::{entry_hash, parse_hash, Entry, NewEntry, Receipt, GENESIS_HASH};
use crate::error::AuditError;
use crate::reader::Reader;
use crate::store::{AnyStore, CommitError, StoreOptions};

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
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            store_url: "sqlite://audit/inquiries.db".to_owned(),
            signing_key_pkcs8: Vec::new(),
            checkpoint_every: 1000,
            queue_capacity: 4096,
            store_timeout_ms: 2000,
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
            .finish()
    }
}

struct Request {
    entry: NewEntry,
    reply: oneshot::Sender<Result<Receipt, AuditError>>,
}

enum Msg {
    Append(Box<Request>),
    Shutdown(oneshot::Sender<Result<(), AuditError>>),
}

struct Inner {
    tx: mpsc::Sender<Msg>,
    chain_id: String,
    public_key: Vec<u8>,
    store: AnyStore,
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
        let signer = Signer::from_pkcs8(&cfg.signing_key_pkcs8)?;
        let chain_id = new_chain_id()?;
        let opts = StoreOptions {
            timeout: Duration::from_millis(cfg.store_timeout_ms.max(1)),
            create: true,
            owner: Some(crate::store::chain_lock_key(&chain_id)),
        };
        let store = AnyStore::connect(&cfg.store_url, opts).await?;
        store.migrate().await?;
        let public_key = signer.public_key();
        seal_open_chains(&store, &signer, &public_key, &chain_id).await?;
        let every = cfg.checkpoint_every.max(1);
        let genesis = signer.sign(
            &chain_id,
            CheckpointKind::Genesis,
            every,
            0,
            &GENESIS_HASH,
            now_ms(),
        );
        store.commit(&[], &[genesis]).await?;
        let (tx, rx) = mpsc::channel(cfg.queue_capacity.max(1));
        let writer = Writer {
            store: store.clone(),
            signer,
            chain_id: chain_id.clone(),
            seq: 0,
            head: GENESIS_HASH,
            every,
            resync: false,
            scratch: Vec::with_capacity(1024),
        };
        tokio::spawn(writer.run(rx));
        tracing::info!(chain_id = %chain_id, "inquiry log opened");
        Ok(AuditLog {
            inner: Arc::new(Inner {
                tx,
                chain_id,
                public_key,
                store,
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

    /// Commits everything queued, writes a final checkpoint, and stops the
    /// writer. Later appends fail as unavailable. Calling it twice is fine.
    pub async fn shutdown(&self) -> Result<(), AuditError> {
        let (done, rx) = oneshot::channel();
        if self.inner.tx.send(Msg::Shutdown(done)).await.is_err() {
            return Ok(());
        }
        rx.await.unwrap_or(Ok(()))
    }

    /// A reader on the same store, knowing this log's public key.
    pub fn reader(&self) -> Reader {
        Reader::from_store(
            self.inner.store.clone(),
            Some(self.inner.public_key.clone()),
        )
    }

    /// This process's chain id (32 hex characters).
    pub fn chain_id(&self) -> &str {
        &self.inner.chain_id
    }

    /// Raw 32-byte Ed25519 public key that verifies this log's checkpoints.
    pub fn public_key(&self) -> Vec<u8> {
        self.inner.public_key.clone()
    }
}

/// The task that owns the write side of the store.
struct Writer {
    store: AnyStore,
    signer: Signer,
    chain_id: String,
    /// Seq of the last committed entry (0: none yet).
    seq: u64,
    /// Hash of the last committed entry.
    head: [u8; 32],
    every: u64,
    /// The last commit failed: re-read the head before the next batch.
    resync: bool,
    scratch: Vec<u8>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut batch: Vec<Request> = Vec::with_capacity(MAX_BATCH);
        loop {
            let mut shutdown = None;
            match rx.recv().await {
                Some(Msg::Append(r)) => batch.push(*r),
                Some(Msg::Shutdown(done)) => shutdown = Some(done),
                None => {
                    // Every handle dropped without shutdown: seal the chain.
                    if let Err(e) = self.final_checkpoint().await {
                        tracing::warn!(error = %e, "final audit checkpoint failed");
                    }
                    self.store.close_writer().await;
                    return;
                }
            }
            while shutdown.is_none() && batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(Msg::Append(r)) => batch.push(*r),
                    Ok(Msg::Shutdown(done)) => shutdown = Some(done),
                    Err(_) => break,
                }
            }
            if !batch.is_empty() {
                self.commit_batch(&mut batch).await;
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
                        Msg::Shutdown(other) => {
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

    async fn resync_head(&mut self) -> Result<(), AuditError> {
        match self.store.head(&self.chain_id).await? {
            None => {
                self.seq = 0;
                self.head = GENESIS_HASH;
            }
            Some((seq, hash)) => {
                self.head = parse_hash(&hash).ok_or_else(|| {
                    AuditError::Unavailable("stored chain head is unreadable".into())
                })?;
                self.seq = seq;
            }
        }
        self.resync = false;
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

    /// Assigns seq and hashes, commits in one transaction and answers every
    /// waiter; on failure hands the requests back unanswered.
    async fn try_commit(&mut self, batch: Vec<Request>) -> Result<(), (CommitError, Vec<Request>)> {
        if self.resync {
            if let Err(e) = self.resync_head().await {
                return Err((CommitError::Unavailable(e.to_string()), batch));
            }
        }
        let mut entries = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        let mut checkpoints: Vec<Checkpoint> = Vec::new();
        let mut seq = self.seq;
        let mut prev = self.head;
        let now = now_ms();
        for Request { mut entry, reply } in batch {
            // INVARIANT: values hashed are exactly the values stored; the
            // stores keep integers as BIGINT, so clamp to i64 first.
            entry.latency_ms = entry.latency_ms.min(i64::MAX as u64);
            seq += 1;
            let h = entry_hash(&mut self.scratch, &prev, &self.chain_id, seq, &entry);
            if seq.checked_rem(self.every) == Some(0) {
                checkpoints.push(self.signer.sign(
                    &self.chain_id,
                    CheckpointKind::Periodic,
                    self.every,
                    seq,
                    &h,
                    now,
                ));
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
        match self.store.commit(&entries, &checkpoints).await {
            Ok(()) => {
                self.seq = seq;
                self.head = prev;
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
                    self.resync = true;
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

    /// Signs the final checkpoint over the head (seq 0 for an empty chain).
    async fn final_checkpoint(&mut self) -> Result<(), AuditError> {
        if self.resync {
            self.resync_head().await?;
        }
        let cp = self.signer.sign(
            &self.chain_id,
            CheckpointKind::Final,
            self.every,
            self.seq,
            &self.head,
            now_ms(),
        );
        Ok(self.store.commit(&[], &[cp]).await?)
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

/// Signs a `sealed` checkpoint over the head of every chain that has a
/// genesis checkpoint by this key but no final or sealed one: a crash left
/// it open. Chains without a valid genesis are left alone (verify reports
/// them as forged).
async fn seal_open_chains(
    store: &AnyStore,
    signer: &Signer,
    public_key: &[u8],
    own: &str,
) -> Result<(), AuditError> {
    for chain_id in store.open_chains().await? {
        if chain_id == own {
            continue;
        }
        let cps = match store.checkpoints(&chain_id).await {
            Ok(cps) => cps,
            Err(AuditError::Corrupt { .. }) => continue,
            Err(e) => return Err(e),
        };
        if cps.iter().any(|c| c.kind.closes()) {
            continue;
        }
        let Some(genesis) = cps.iter().find(|c| {
            c.kind == CheckpointKind::Genesis && c.seq == 0 && signature_valid(c, public_key)
        }) else {
            continue;
        };
        // A PostgreSQL replica that is still running holds its chain's lock.
        let Some(claim) = store.claim_chain(&chain_id).await? else {
            continue;
        };
        let every = genesis.every;
        let sealed = seal_one(store, signer, &chain_id, every).await;
        claim.release().await;
        if !sealed? {
            continue;
        }
        tracing::warn!(chain_id = %chain_id, "sealed an inquiry log chain left open by a crash");
    }
    Ok(())
}

/// Signs a `sealed` checkpoint over a chain's current head. False if the
/// head is unreadable (left for verify to report).
async fn seal_one(
    store: &AnyStore,
    signer: &Signer,
    chain_id: &str,
    every: u64,
) -> Result<bool, AuditError> {
    let (seq, hash) = match store.head(chain_id).await? {
        None => (0, GENESIS_HASH),
        Some((seq, hash)) => match parse_hash(&hash) {
            Some(h) => (seq, h),
            None => return Ok(false),
        },
    };
    let cp = signer.sign(
        chain_id,
        CheckpointKind::Sealed,
        every,
        seq,
        &hash,
        now_ms(),
    );
    store.commit(&[], &[cp]).await?;
    Ok(true)
}
