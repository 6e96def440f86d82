//! Submitting checkpoints to the witnesses (`[[audit.witnesses]]`), off the
//! request path.
//!
//! One task per gateway. At start it submits the latest checkpoint of every
//! chain in the store (chains this open sealed or migrated, and catching up
//! after a restart); then every checkpoint the writer publishes
//! ([`audit::AuditLog::checkpoints`]; a burst collapses to the latest,
//! which proves everything before it). Per witness and chain it remembers
//! the size the witness last cosigned, and sends the C2SP `tlog-witness`
//! request from there with a consistency proof built from the store.
//!
//! - 200: the cosignature line (already verified by the client with the
//!   witness's key) is stored beside the checkpoint;
//!   `credgate_witness_cosigned_size{witness}` is set.
//! - 409: the witness holds another size; if it is one this chain reached,
//!   the request is sent once more from there. A size beyond this chain's
//!   means the witness saw a longer tree than the store holds: a
//!   **conflict**.
//! - 422: the witness found the checkpoint inconsistent with one it
//!   cosigned: a **conflict**.
//!
//! A conflict counts `credgate_witness_conflicts_total{witness}` and is
//! written to the inquiry log as an alert entry (plane `alert`, reason
//! `witness_conflict`): evidence that the log was cut or forked. Network
//! errors and other refusals are logged and retried with the next
//! checkpoint; requests are never held up by a witness.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::witness::client::{AddOutcome, WitnessClient};

use super::Shared;

/// The submitting side of every configured witness.
pub(crate) struct WitnessFeed {
    shared: Arc<Shared>,
    reader: audit::Reader,
    witnesses: Vec<WitnessClient>,
    /// (witness index, chain id) → size it last cosigned.
    cosigned: BTreeMap<(usize, String), u64>,
}

impl WitnessFeed {
    /// A feed for the gateway's log, or None without witnesses.
    pub(crate) fn new(shared: Arc<Shared>, witnesses: Vec<WitnessClient>) -> Option<WitnessFeed> {
        if witnesses.is_empty() {
            return None;
        }
        for w in &witnesses {
            shared.metrics.witness(w.name());
        }
        Some(WitnessFeed {
            reader: shared.audit.reader(),
            shared,
            witnesses,
            cosigned: BTreeMap::new(),
        })
    }

    /// Runs until the writer stops (after its final checkpoint went out).
    pub(crate) async fn run(mut self) {
        let mut published = self.shared.audit.checkpoints();
        match self.reader.chains().await {
            Ok(chains) => {
                for chain in chains {
                    if let Ok(Some((size, note))) = self.reader.latest_checkpoint(&chain).await {
                        // Already (validly) cosigned by a witness: nothing
                        // to catch up for it.
                        let stored = self
                            .reader
                            .cosignatures(&chain, size)
                            .await
                            .unwrap_or_default();
                        for i in 0..self.witnesses.len() {
                            let cosigned = self.witnesses.get(i).is_some_and(|w| {
                                stored
                                    .iter()
                                    .any(|(name, line)| name == w.name() && w.cosigned(&note, line))
                            });
                            if cosigned {
                                self.cosigned.insert((i, chain.clone()), size);
                                continue;
                            }
                            self.submit(i, &chain, size, &note).await;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "witness feed: cannot list the log's chains"),
        }
        loop {
            let latest = published.borrow_and_update().clone();
            if let Some(p) = latest {
                self.submit_all(&p.chain_id, p.size, &p.note).await;
            }
            if published.changed().await.is_err() {
                // The writer stopped; a final value not yet seen was
                // delivered by `changed` before it failed.
                break;
            }
        }
    }

    async fn submit_all(&mut self, chain: &str, size: u64, note: &str) {
        for i in 0..self.witnesses.len() {
            self.submit(i, chain, size, note).await;
        }
    }

    /// Sends one checkpoint to one witness (see the module docs).
    async fn submit(&mut self, i: usize, chain: &str, size: u64, note: &str) {
        let key = (i, chain.to_owned());
        let mut old = self.cosigned.get(&key).copied().unwrap_or(0);
        if old == size && old > 0 {
            return;
        }
        for attempt in 0..2 {
            let Some(w) = self.witnesses.get(i) else {
                return;
            };
            let name = w.name().to_owned();
            if old > size {
                self.conflict(
                    &name,
                    chain,
                    size,
                    &format!("the witness cosigned size {old}, beyond the store's {size}"),
                )
                .await;
                return;
            }
            let proof = match self.reader.consistency_proof(chain, old, size).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(witness = %name, chain_id = %chain, error = %e, "witness feed: no consistency proof");
                    return;
                }
            };
            match w.add_checkpoint(old, &proof, note).await {
                Ok(AddOutcome::Cosigned { line, .. }) => {
                    if let Err(e) = self
                        .shared
                        .audit
                        .add_cosignature(chain, size, &name, &line)
                        .await
                    {
                        tracing::warn!(witness = %name, error = %e, "witness feed: cosignature not stored");
                    }
                    self.cosigned.insert(key, size);
                    self.shared.metrics.witness_cosigned(&name, size);
                    return;
                }
                Ok(AddOutcome::Conflict { size: theirs }) if attempt == 0 && theirs != old => {
                    old = theirs;
                }
                Ok(AddOutcome::Conflict { size: theirs }) => {
                    self.conflict(
                        &name,
                        chain,
                        size,
                        &format!("the witness holds size {theirs}"),
                    )
                    .await;
                    return;
                }
                Ok(AddOutcome::Refused { status: 422, .. }) => {
                    self.conflict(
                        &name,
                        chain,
                        size,
                        "the witness found the checkpoint inconsistent with one it cosigned",
                    )
                    .await;
                    return;
                }
                Ok(AddOutcome::Refused { status, body }) => {
                    let body: String = body.chars().take(200).collect();
                    tracing::warn!(witness = %name, chain_id = %chain, status, body = %body, "witness refused a checkpoint");
                    return;
                }
                Err(e) => {
                    tracing::warn!(witness = %name, chain_id = %chain, error = %e, "witness unreachable; retried with the next checkpoint");
                    return;
                }
            }
        }
    }

    /// Counts a conflict and writes it to the log as an alert entry.
    async fn conflict(&self, witness: &str, chain: &str, size: u64, why: &str) {
        tracing::error!(witness = %witness, chain_id = %chain, size, why, "WITNESS CONFLICT: the inquiry log may have been cut or forked");
        self.shared.metrics.witness_conflict(witness);
        let entry = conflict_entry(witness, chain, size, why);
        if let Err(e) = self.shared.audit.append(entry).await {
            tracing::error!(error = %e, "witness conflict alert not logged");
        }
    }
}

/// The alert entry of a witness conflict.
pub(super) fn conflict_entry(witness: &str, chain: &str, size: u64, why: &str) -> audit::NewEntry {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let mut id = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id);
    audit::NewEntry {
        officer_id: "credgate".into(),
        officer_name: "credgate witness feed".into(),
        method: "POST".into(),
        path: format!("/witness/{witness}/add-checkpoint?chain={chain}&size={size}"),
        // Which chain: the entry itself sits on the writing gateway's own
        // chain, which is seldom the one the witness refused.
        rule: format!("witness:{witness}: chain {chain} at size {size}: {why}"),
        ..super::journal::own_entry(
            now,
            hex::encode(id),
            "alert",
            audit::Decision::Error,
            crate::audit_api::WITNESS_CONFLICT,
            409,
        )
    }
}
