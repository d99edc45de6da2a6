//! The witness's rule: cosign a board-signed checkpoint only if it extends, by a valid
//! consistency proof, the checkpoint this witness cosigned last for the same log; keep
//! every signed checkpoint that does not as evidence.

use crate::store::{Evidence, Latest, StoreError, WitnessStore};
use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use zkvote_core::cosignature::{cosign, WitnessKey};
use zkvote_core::log::{empty_root, verify_consistency, Checkpoint, LogError, BOARD_KEY_NAME};
use zkvote_protocol::witness::{AddCheckpoint, MalformedRequest};

/// Why a checkpoint was not cosigned, with the HTTP status C2SP tlog-witness gives it.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A body or checkpoint that does not parse, or an old size above the new (400).
    #[error("{0}")]
    Malformed(String),
    /// Not a zkvote election's log (404).
    #[error("unknown log: {0:?} is not an election's origin line")]
    UnknownLog(String),
    /// No valid signature by a board key the witness trusts (403).
    #[error("the checkpoint is not signed by a board key this witness trusts")]
    NotSigned,
    /// The old size is not the size this witness cosigned last (409; the body is that size).
    #[error("this witness cosigned size {latest} of this log last")]
    Conflict {
        /// The size of the latest checkpoint cosigned for the log (0 if none).
        latest: u64,
    },
    /// The checkpoint does not extend the one cosigned (422); kept as evidence.
    #[error("{0}")]
    Inconsistent(String),
    /// The store failed (500); nothing was cosigned.
    #[error("witness store: {0}")]
    Store(#[from] StoreError),
}

impl From<MalformedRequest> for Refusal {
    fn from(e: MalformedRequest) -> Self {
        Refusal::Malformed(e.to_string())
    }
}

/// A witness: its name and key, the board keys it trusts, its store.
pub struct Witness {
    name: String,
    key: SigningKey,
    boards: Vec<VerifyingKey>,
    store: WitnessStore,
    /// Held from reading a log's latest checkpoint to recording the next one.
    lock: tokio::sync::Mutex<()>,
}

/// Whether `name` can be a signed-note key name: non-empty, no white space, no `+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// Whether `origin` is an election's origin line: `zkvote/` and 64 lowercase hex digits.
fn election_origin(origin: &str) -> bool {
    origin
        .strip_prefix("zkvote/")
        .is_some_and(|h| zkvote_core::codec::hex32(h).is_ok())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs().max(1))
}

impl Witness {
    /// A witness named `name` (a signed-note key name, e.g. `witness.example.org/zkvote`)
    /// cosigning checkpoints of elections signed by one of `boards`.
    pub fn new(
        name: &str,
        key: SigningKey,
        boards: Vec<VerifyingKey>,
        store: WitnessStore,
    ) -> Self {
        assert!(valid_name(name), "a witness name has no space or '+'");
        Witness {
            name: name.to_string(),
            key,
            boards,
            store,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The witness's name and public key, as clients list it.
    pub fn public(&self) -> WitnessKey {
        WitnessKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The store (its evidence is public).
    pub fn store(&self) -> &WitnessStore {
        &self.store
    }

    /// The board-signed checkpoint of a note, if a trusted board key signed it.
    fn signed_checkpoint(&self, note: &str) -> Result<Checkpoint, Refusal> {
        let origin = note.split('\n').next().unwrap_or_default();
        if !election_origin(origin) {
            return Err(Refusal::UnknownLog(origin.to_string()));
        }
        for board in &self.boards {
            match Checkpoint::verify(note, origin, BOARD_KEY_NAME, board) {
                Ok(cp) => return Ok(cp),
                Err(LogError::Signature) => continue,
                Err(e) => return Err(Refusal::Malformed(e.to_string())),
            }
        }
        Err(Refusal::NotSigned)
    }

    /// Handles an add-checkpoint request body: the cosignature line on success.
    pub async fn add_checkpoint(&self, body: &str) -> Result<String, Refusal> {
        let req = AddCheckpoint::parse(body)?;
        let cp = self.signed_checkpoint(&req.checkpoint)?;
        if req.old_size > cp.size {
            return Err(Refusal::Malformed(format!(
                "old size {} is above the checkpoint's size {}",
                req.old_size, cp.size
            )));
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(Refusal::Inconsistent(
                "a checkpoint of size 0 without the empty tree's root".into(),
            ));
        }
        let _held = self.lock.lock().await;
        let latest = self.store.latest(&cp.origin).await?;
        let latest_size = latest.as_ref().map_or(0, |l| l.size);
        if req.old_size != latest_size {
            return Err(Refusal::Conflict {
                latest: latest_size,
            });
        }
        match (extension_problem(latest.as_ref(), &cp, &req.proof), &latest) {
            (None, _) => {}
            (Some(Problem::Fork(why)), Some(cosigned)) => {
                self.keep_evidence(&req, cosigned, &why).await?;
                return Err(Refusal::Inconsistent(why));
            }
            (Some(Problem::Proof(why) | Problem::Fork(why)), _) => {
                return Err(Refusal::Inconsistent(why))
            }
        }
        let next = Latest {
            size: cp.size,
            root: cp.root,
            checkpoint: req.checkpoint.clone(),
        };
        let at = now();
        if !self
            .store
            .advance(&cp.origin, latest.map(|l| l.size), &next, at)
            .await?
        {
            let moved = self.store.latest(&cp.origin).await?;
            return Err(Refusal::Conflict {
                latest: moved.map_or(0, |l| l.size),
            });
        }
        Ok(cosign(&cp, &self.name, &self.key, at))
    }

    /// Keeps a board-signed checkpoint that does not extend the one cosigned, with the
    /// request's proof and the cosigned checkpoint.
    async fn keep_evidence(
        &self,
        req: &AddCheckpoint,
        cosigned: &Latest,
        problem: &str,
    ) -> Result<(), StoreError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let origin = req.checkpoint.split('\n').next().unwrap_or_default();
        self.store
            .add_evidence(&Evidence {
                origin: origin.to_string(),
                received_at: now(),
                reason: problem.to_string(),
                old_size: req.old_size,
                proof: req.proof.iter().map(|h| b64.encode(h)).collect(),
                submitted: req.checkpoint.clone(),
                cosigned: cosigned.checkpoint.clone(),
            })
            .await
    }
}

/// Why a checkpoint does not extend the one cosigned.
enum Problem {
    /// A proof that cannot be right whatever the log holds (no evidence of anything).
    Proof(String),
    /// A signed checkpoint inconsistent with the cosigned one: kept as evidence.
    Fork(String),
}

/// Why `cp` does not extend `latest` by `proof` (none if it does). With nothing cosigned
/// (or size 0) the proof must be empty; at the same size the proof must be empty and
/// the roots equal.
fn extension_problem(
    latest: Option<&Latest>,
    cp: &Checkpoint,
    proof: &[zkvote_core::log::Hash],
) -> Option<Problem> {
    match latest.filter(|l| l.size > 0) {
        None if proof.is_empty() => None,
        None => Some(Problem::Proof(
            "a consistency proof from size 0 must be empty".into(),
        )),
        Some(l) if l.size == cp.size && l.root != cp.root => Some(Problem::Fork(format!(
            "a fork: size {} was cosigned with another root",
            l.size
        ))),
        Some(l) if l.size == cp.size && !proof.is_empty() => Some(Problem::Proof(
            "a consistency proof between equal sizes must be empty".into(),
        )),
        Some(l) => verify_consistency(l.size, cp.size, &l.root, &cp.root, proof)
            .err()
            .map(|e| {
                Problem::Fork(format!(
                    "no valid consistency proof from the cosigned size {} to {}: {e}",
                    l.size, cp.size
                ))
            }),
    }
}
