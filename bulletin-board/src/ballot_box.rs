//! Ballot acceptance. A ballot is appended only if the election is open, its sigma proofs
//! and its eligibility proof (against the frozen roll root and this election) verify, its
//! nullifier is unused (or, under `last-ballot-counts`, it supersedes the earlier ballot),
//! and none of its ciphertexts was seen before. Verification runs off the async executor,
//! on the blocking pool, over micro-batches: arriving ballots are collected for up to
//! [`BallotBoxConfig::linger`] or [`BallotBoxConfig::max_batch`] ballots and verified with
//! the batch verifiers, then appended in arrival order. A ballot is acknowledged (its
//! receipt returned) only after its durable commit.

use crate::log::{BoardLog, LogServiceError};
use crate::store::{EntryKind, NewEntry, StoreError};
use ark_bls12_381::Fr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use zkvote_circuits::complete::{
    vartime_verify_complete_ballots_parallel, CompleteBallot, CompleteBallotError,
};
use zkvote_circuits::groth16::EligibilityVerifier;
use zkvote_core::log::Receipt;
use zkvote_core::{ElectionContext, RevotePolicy};
use zkvote_protocol::Entry;

/// Why a ballot was refused. Nothing is appended for a refused ballot.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The election is not open.
    #[error("the election is not open for voting")]
    NotOpen,
    /// A proof fails or the ballot is malformed.
    #[error("invalid ballot: {0}")]
    Invalid(#[from] CompleteBallotError),
    /// The nullifier already voted (revote policy `reject`).
    #[error("this voter has already voted (entry {0})")]
    AlreadyVoted(u64),
    /// A ciphertext of this ballot was already accepted (a replayed ballot).
    #[error("a ciphertext of this ballot was already accepted")]
    ReplayedCiphertext,
    /// The board could not store the ballot.
    #[error("board error: {0}")]
    Board(String),
}

/// Micro-batching parameters.
#[derive(Clone, Copy, Debug)]
pub struct BallotBoxConfig {
    /// Most ballots verified in one batch.
    pub max_batch: usize,
    /// How long the first ballot of a batch waits for company.
    pub linger: Duration,
}

impl Default for BallotBoxConfig {
    fn default() -> Self {
        BallotBoxConfig {
            max_batch: 128,
            linger: Duration::from_millis(2),
        }
    }
}

struct Job {
    ballot: CompleteBallot,
    reply: oneshot::Sender<Result<Receipt, Rejection>>,
}

enum Message {
    Ballot(Box<Job>),
    Barrier(oneshot::Sender<()>),
}

/// The ballot box of one open election.
#[derive(Clone)]
pub struct BallotBox {
    queue: mpsc::Sender<Message>,
    open: Arc<AtomicBool>,
}

impl std::fmt::Debug for BallotBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BallotBox(open: {})", self.open.load(Ordering::SeqCst))
    }
}

struct Election {
    log: Arc<BoardLog>,
    ctx: Arc<ElectionContext>,
    verifier: Arc<EligibilityVerifier>,
    root: Fr,
}

impl BallotBox {
    /// Starts the ballot box of an election whose key ceremony is done and whose roll is
    /// frozen with `root`. Must be called inside a tokio runtime.
    pub fn start(
        log: Arc<BoardLog>,
        ctx: Arc<ElectionContext>,
        verifier: Arc<EligibilityVerifier>,
        root: Fr,
        config: BallotBoxConfig,
    ) -> Self {
        let (queue, rx) = mpsc::channel(config.max_batch * 8);
        let open = Arc::new(AtomicBool::new(true));
        let election = Arc::new(Election {
            log,
            ctx,
            verifier,
            root,
        });
        tokio::spawn(run(election, rx, open.clone(), config));
        BallotBox { queue, open }
    }

    /// Stops accepting ballots (ballots already queued are refused as `NotOpen`).
    pub fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
    }

    /// Waits until every ballot submitted before this call has been appended or refused.
    pub async fn drain(&self) {
        let (tx, rx) = oneshot::channel();
        if self.queue.send(Message::Barrier(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Whether ballots are accepted.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    /// Submits a ballot; returns its receipt once durably appended.
    pub async fn submit(&self, ballot: CompleteBallot) -> Result<Receipt, Rejection> {
        if !self.is_open() {
            return Err(Rejection::NotOpen);
        }
        let (reply, rx) = oneshot::channel();
        self.queue
            .send(Message::Ballot(Box::new(Job { ballot, reply })))
            .await
            .map_err(|_| Rejection::NotOpen)?;
        rx.await
            .map_err(|_| Rejection::Board("ballot box stopped".into()))?
    }
}

type Verified = Result<(Vec<CompleteBallot>, BatchResult), tokio::task::JoinError>;
type BatchResult = Result<(), Vec<(usize, CompleteBallotError)>>;
type Replies = Vec<oneshot::Sender<Result<Receipt, Rejection>>>;

/// A verified (or refused) group on its way to the appender, in arrival order.
struct Stage {
    replies: Replies,
    verification: Option<tokio::task::JoinHandle<(Vec<CompleteBallot>, BatchResult)>>,
    barrier: Option<oneshot::Sender<()>>,
}

async fn run(
    election: Arc<Election>,
    mut rx: mpsc::Receiver<Message>,
    open: Arc<AtomicBool>,
    config: BallotBoxConfig,
) {
    // Verification of the next group overlaps with appending the previous one; groups are
    // appended (and barriers released) strictly in arrival order.
    let (stages, mut staged) = mpsc::channel::<Stage>(2);
    let appender = {
        let election = election.clone();
        tokio::spawn(async move {
            while let Some(stage) = staged.recv().await {
                if let Some(handle) = stage.verification {
                    finish(&election, stage.replies, handle.await).await;
                }
                if let Some(done) = stage.barrier {
                    let _ = done.send(());
                }
            }
        })
    };
    while let Some(first) = rx.recv().await {
        let first = match first {
            Message::Ballot(j) => *j,
            Message::Barrier(done) => {
                let _ = stages
                    .send(Stage {
                        replies: Vec::new(),
                        verification: None,
                        barrier: Some(done),
                    })
                    .await;
                continue;
            }
        };
        let mut jobs = vec![first];
        let mut barrier = None;
        let deadline = tokio::time::Instant::now() + config.linger;
        while jobs.len() < config.max_batch {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Message::Ballot(j))) => jobs.push(*j),
                Ok(Some(Message::Barrier(done))) => {
                    barrier = Some(done);
                    break;
                }
                _ => break,
            }
        }
        let stage = if open.load(Ordering::SeqCst) {
            let (ballots, replies): (Vec<CompleteBallot>, Replies) =
                jobs.into_iter().map(|j| (j.ballot, j.reply)).unzip();
            Stage {
                replies,
                verification: Some(verify(&election, ballots)),
                barrier,
            }
        } else {
            for j in jobs {
                let _ = j.reply.send(Err(Rejection::NotOpen));
            }
            Stage {
                replies: Vec::new(),
                verification: None,
                barrier,
            }
        };
        if stages.send(stage).await.is_err() {
            break;
        }
    }
    drop(stages);
    let _ = appender.await;
}

/// Verifies a group on the blocking pool, one batch per core (the sigma batch is
/// single-threaded, so the group is split).
fn verify(
    election: &Arc<Election>,
    ballots: Vec<CompleteBallot>,
) -> tokio::task::JoinHandle<(Vec<CompleteBallot>, BatchResult)> {
    let e = election.clone();
    tokio::task::spawn_blocking(move || {
        let chunk = ballots.len().div_ceil(rayon::current_num_threads()).max(8);
        let result = vartime_verify_complete_ballots_parallel(
            &e.ctx,
            &e.verifier,
            &e.root,
            &ballots,
            chunk,
            &mut rand_core::OsRng,
        );
        (ballots, result)
    })
}

/// Appends a verified group in one durable transaction and answers every submitter.
async fn finish(election: &Arc<Election>, replies: Replies, verified: Verified) {
    let (ballots, result) = match verified {
        Ok(v) => v,
        Err(err) => {
            for r in replies {
                let _ = r.send(Err(Rejection::Board(format!(
                    "verification task failed: {err}"
                ))));
            }
            return;
        }
    };
    let mut failures: Vec<Option<CompleteBallotError>> = vec![None; ballots.len()];
    if let Err(list) = result {
        for (i, e) in list {
            failures[i] = Some(e);
        }
    }
    let spend = election.ctx.manifest().revote_policy == RevotePolicy::Reject;
    let eid = election.ctx.manifest().election_id;
    // Valid ballots are appended together: one durable commit and one checkpoint for the
    // group, each ballot still accepted or refused on its own.
    let mut valid_entries = Vec::new();
    let mut outcomes: Vec<Option<Result<Receipt, Rejection>>> = Vec::with_capacity(ballots.len());
    for (ballot, failure) in ballots.into_iter().zip(failures) {
        match failure {
            Some(e) => outcomes.push(Some(Err(Rejection::Invalid(e)))),
            None => {
                valid_entries.push(ballot_entry(ballot, spend, election.ctx.manifest_hash()));
                outcomes.push(None);
            }
        }
    }
    let appended: Vec<Result<Receipt, Rejection>> =
        match election.log.append_batch(&eid, &valid_entries).await {
            Ok(results) => results.into_iter().map(rejection_of).collect(),
            Err(e) => valid_entries
                .iter()
                .map(|_| Err(Rejection::Board(e.to_string())))
                .collect(),
        };
    let mut appended = appended.into_iter();
    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        let outcome =
            outcome.unwrap_or_else(|| appended.next().expect("one result per valid ballot"));
        let _ = reply.send(outcome);
    }
}

fn ballot_entry(ballot: CompleteBallot, spend: bool, manifest_hash: &[u8; 32]) -> NewEntry {
    NewEntry {
        kind: EntryKind::Ballot,
        digest: Some(*ballot.ballot.digest(manifest_hash).as_bytes()),
        nullifier: Some(ballot.ballot.nullifier),
        spend_nullifier: spend,
        ciphertexts: ballot.ballot.ciphertext_keys().copied().collect(),
        data: Entry::Ballot { ballot }.to_bytes(),
        unique_key: None,
        phased: true,
    }
}

fn rejection_of(r: Result<Receipt, LogServiceError>) -> Result<Receipt, Rejection> {
    match r {
        Ok(r) => Ok(r),
        Err(LogServiceError::Store(StoreError::NullifierUsed(i))) => {
            Err(Rejection::AlreadyVoted(i))
        }
        Err(LogServiceError::Store(StoreError::CiphertextReplayed)) => {
            Err(Rejection::ReplayedCiphertext)
        }
        Err(LogServiceError::Store(StoreError::WrongPhase(_))) => Err(Rejection::NotOpen),
        Err(e) => Err(Rejection::Board(e.to_string())),
    }
}
