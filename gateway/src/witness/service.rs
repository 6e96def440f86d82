//! The witness itself, without HTTP: [`Witness::add_checkpoint`] applies
//! C2SP tlog-witness's checks to a submitted body and cosigns, and
//! [`Witness::latest`] / [`Witness::origins`] read its state.
//!
//! Order of the checks (each failure is a [`Refusal`], mapped to an HTTP
//! status in one place, [`Refusal::status`]):
//! 1. body well-formed, old ≤ size → else 400;
//! 2. origin matches a configured log prefix, and a signature of that log's
//!    key verifies (every line from a trusted key must) → else 403;
//! 3. atomically with the store: old = the stored size (0 if none) → else
//!    409 with the stored size; size 0 ⇒ empty root, old 0 ⇒ empty proof,
//!    old = size ⇒ same root, otherwise an RFC 9162 consistency proof from
//!    the stored root → else 422 (and the checkpoint is kept as evidence);
//!    then the new checkpoint is stored and committed, and only then cosigned
//!    text is returned.

use std::path::PathBuf;

use audit::merkle;
use audit::note::{Note, NoteError, NoteSigner, Verifier, COSIGNATURE_V1};

use super::config::Config;
use super::protocol::{self, BodyError};
use super::state::{Evidence, Latest, State, StateError, Step};

/// Why the witness does not cosign a submission.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The body is malformed (400).
    #[error("malformed request: {0}")]
    Malformed(#[from] BodyError),
    /// No configured log owns the origin (403).
    #[error(
        "unknown origin: no configured log has a prefix of this origin (the witness's operator \
         adds the log's key, printed by `credgate audit key`, as [[logs]] in witness.toml)"
    )]
    UnknownOrigin,
    /// No signature from the log's key verifies (403).
    #[error("checkpoint is not signed by a trusted key of this log: {0}")]
    Unverified(NoteError),
    /// The old size is not the one the witness holds (409).
    #[error("old size does not match the witness's latest size {size}")]
    Conflict {
        /// The size of the latest checkpoint cosigned for the origin.
        size: u64,
    },
    /// The checkpoint is not consistent with the cosigned one (422).
    #[error("inconsistent checkpoint: {0}")]
    Inconsistent(&'static str),
    /// The state file failed (500).
    #[error("witness state unavailable")]
    State(#[from] StateError),
    /// The cosignature could not be made (500).
    #[error("cannot cosign")]
    Cosign(NoteError),
}

impl Refusal {
    /// The HTTP status of this refusal: the one place it is decided.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) => 400,
            Refusal::UnknownOrigin | Refusal::Unverified(_) => 403,
            Refusal::Conflict { .. } => 409,
            Refusal::Inconsistent(_) => 422,
            Refusal::State(_) | Refusal::Cosign(_) => 500,
        }
    }
}

/// Why a witness could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessStartError {
    /// The cosigning key file could not be read.
    #[error("cannot read the cosigning key `{path}`: {source}")]
    ReadKey {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The cosigning key is not an Ed25519 PKCS#8 key (or the name is invalid).
    #[error("cosigning key `{path}`: {source}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: NoteError,
    },
    /// The state file could not be opened.
    #[error(transparent)]
    State(#[from] StateError),
}

/// A running witness's logic: its logs, cosigning key and state.
#[derive(Debug)]
pub struct Witness {
    /// The checked configuration (logs and their keys).
    config: Config,
    /// The cosigning key (type 0x04).
    signer: NoteSigner,
    /// Latest cosigned checkpoint per origin.
    state: State,
}

impl Witness {
    /// Reads the cosigning key and opens the state file named by `config`.
    pub async fn open(config: Config) -> Result<Witness, WitnessStartError> {
        let der = std::fs::read(&config.key).map_err(|source| WitnessStartError::ReadKey {
            path: config.key.clone(),
            source,
        })?;
        let signer =
            NoteSigner::from_pkcs8(&config.name, COSIGNATURE_V1, &der).map_err(|source| {
                WitnessStartError::Key {
                    path: config.key.clone(),
                    source,
                }
            })?;
        let state = State::open(&config.state).await?;
        Ok(Witness {
            config,
            signer,
            state,
        })
    }

    /// The verifier of this witness's cosignatures.
    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The state file.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Handles an `add-checkpoint` body: the cosignature line on success.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<String, Refusal> {
        let req = protocol::parse_add_checkpoint(body)?;
        let trusted = self.config.trusted_for(&req.head.origin);
        if trusted.is_empty() {
            return Err(Refusal::UnknownOrigin);
        }
        req.note.verify(&trusted).map_err(Refusal::Unverified)?;
        // Keep the log's (verified) signature lines only: every line from a
        // trusted key verified, other lines are not ours to vouch for.
        let log_sigs: Vec<_> = req
            .note
            .sigs
            .iter()
            .filter(|s| {
                trusted
                    .iter()
                    .any(|v| v.name == s.name && v.key_id == s.key_id)
            })
            .cloned()
            .collect();
        let head = &req.head;
        let decided = self
            .state
            .check_and_update(&head.origin, |current| {
                let (held_size, held_root) = current
                    .map(|l| (l.size, l.root))
                    .unwrap_or((0, merkle::empty_root()));
                if req.old != held_size {
                    return Step::Refuse {
                        evidence: None,
                        answer: Refusal::Conflict { size: held_size },
                    };
                }
                if let Some(reason) = inconsistency(&req, &held_root) {
                    return Step::Refuse {
                        evidence: Some(Evidence {
                            old: req.old,
                            size: head.size,
                            reason,
                            note: req.note.to_string(),
                            proof: protocol::proof_text(&req.proof),
                        }),
                        answer: Refusal::Inconsistent(reason),
                    };
                }
                let cosigned_at = super::now_secs();
                let line = match self.signer.cosign(&req.note.text, cosigned_at) {
                    Ok(line) => line,
                    Err(e) => {
                        return Step::Refuse {
                            evidence: None,
                            answer: Refusal::Cosign(e),
                        }
                    }
                };
                let mut stored = Note {
                    text: req.note.text.clone(),
                    sigs: log_sigs,
                };
                if let Err(e) = stored.add_sig_lines(&line) {
                    return Step::Refuse {
                        evidence: None,
                        answer: Refusal::Cosign(e),
                    };
                }
                Step::Store {
                    latest: Latest {
                        size: head.size,
                        root: head.root,
                        note: stored.to_string(),
                        cosigned_at,
                    },
                    answer: line,
                }
            })
            .await?;
        match decided {
            Ok(line) => {
                tracing::info!(origin = %head.origin, size = head.size, "witness: cosigned");
                Ok(line)
            }
            Err(refusal) => {
                tracing::info!(origin = %head.origin, old = req.old, size = head.size,
                    status = refusal.status(), "witness: refused: {refusal}");
                Err(refusal)
            }
        }
    }

    /// The latest cosigned checkpoint note for `origin`.
    pub async fn latest(&self, origin: &str) -> Result<Option<String>, StateError> {
        Ok(self.state.latest(origin).await?.map(|l| l.note))
    }

    /// Every origin it holds a checkpoint for.
    pub async fn origins(&self) -> Result<Vec<String>, StateError> {
        self.state.origins().await
    }

    /// Closes the state file.
    pub async fn close(self) -> Result<(), StateError> {
        self.state.close().await
    }
}

/// Why `req` is not consistent with the held root (the old size already
/// matches the held size), or `None` if it is.
fn inconsistency(req: &protocol::AddCheckpoint, held_root: &merkle::Hash) -> Option<&'static str> {
    let head = &req.head;
    if head.size == 0 && head.root != merkle::empty_root() {
        return Some("a tree of size 0 must have the empty tree's root");
    }
    if req.old == 0 && !req.proof.is_empty() {
        return Some("the consistency proof from size 0 must be empty");
    }
    if req.old == head.size && head.root != *held_root {
        return Some("same size as the cosigned checkpoint but a different root");
    }
    if req.old == head.size && !req.proof.is_empty() {
        return Some("the consistency proof between equal sizes must be empty");
    }
    if !merkle::verify_consistency(req.old, head.size, held_root, &head.root, &req.proof) {
        return Some("the consistency proof does not verify");
    }
    None
}
