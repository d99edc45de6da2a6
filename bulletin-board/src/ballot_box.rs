//! Ballot acceptance. A ballot is appended only if the election is open, its sigma proofs
//! and its eligibility proof (against the frozen roll root and this election) verify, its
//! nullifier is unused (or, under `last-ballot-counts`, it supersedes the earlier ballot),
//! and none of its ciphertexts was seen before. Verification runs off the async executor,
//! on the blocking pool, over micro-batches: one group at a time is verified with the batch
//! verifiers on every core while the next one gathers (for up to
//! [`BallotBoxConfig::linger`], and at most `GroupSizer`'s limit), and verified groups
//! are appended in arrival order, each while the next is verified. A ballot is
//! acknowledged (its receipt returned) only after its durable commit.

use crate::log::{BoardLog, LogServiceError};
use crate::store::{EntryKind, NewEntry, StoreError};
use ark_bls12_381::Fr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
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
    /// The ballot is recorded, but fewer witnesses than the election's threshold cosigned
    /// the checkpoint: its receipt is served (by its tracker) once they answer.
    #[error("the ballot is recorded, but its receipt waits for the election's witnesses: {0}")]
    WitnessesUnavailable(String),
}

/// Micro-batching parameters.
#[derive(Clone, Copy, Debug)]
pub struct BallotBoxConfig {
    /// Most ballots verified in one batch. Under load a group takes at most half of the
    /// ballots waiting for their receipts (see `GroupSizer`).
    pub max_batch: usize,
    /// How long the first ballot of a batch waits for company.
    pub linger: Duration,
}

impl Default for BallotBoxConfig {
    fn default() -> Self {
        BallotBoxConfig {
            max_batch: 256,
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
    waiting: Arc<AtomicUsize>,
}

/// One submitted ballot counted in [`BallotBox::waiting`] until its submitter has its answer
/// (or gives up).
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count.clone())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How many ballots the next group may take. While one group is verified on every core the
/// next one gathers, so the verifier has work ready when it is done and groups grow with the
/// load. A group takes at most half of the ballots recently waiting for their receipts:
/// taking every queued ballot instead makes a closed loop of clients fall into one large
/// group followed by a tiny one, the verifier idle while the large one is appended.
#[derive(Debug, Default)]
pub(crate) struct GroupSizer {
    /// The most ballots recently waiting, decaying by a sixteenth (at least one) per group.
    peak: usize,
}

impl GroupSizer {
    /// The limit for the next group when `waiting` ballots await their receipts: half the
    /// recent peak, at least one and at most `max_batch`.
    pub(crate) fn next_limit(&mut self, waiting: usize, max_batch: usize) -> usize {
        self.peak = (self.peak - self.peak.div_ceil(16)).max(waiting);
        (self.peak / 2).clamp(1, max_batch.max(1))
    }
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
        let waiting = Arc::new(AtomicUsize::new(0));
        tokio::spawn(run(election, rx, open.clone(), waiting.clone(), config));
        BallotBox {
            queue,
            open,
            waiting,
        }
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
        let _waiting = Waiting::new(&self.waiting);
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
    waiting: Arc<AtomicUsize>,
    config: BallotBoxConfig,
) {
    // Verification of the next group overlaps with appending the previous one; groups are
    // appended (and barriers released) strictly in arrival order.
    let (stages, mut staged) = mpsc::channel::<Stage>(2);
    let verifying = Arc::new(Semaphore::new(1));
    let mut sizer = GroupSizer::default();
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
        // One group is verified at a time (on every core): while it is, arrivals queue up
        // for the next group, up to the sizer's limit.
        let Ok(permit) = verifying.clone().acquire_owned().await else {
            break;
        };
        let limit = sizer.next_limit(waiting.load(Ordering::SeqCst), config.max_batch);
        let mut jobs = vec![first];
        let mut barrier = None;
        let deadline = tokio::time::Instant::now() + config.linger;
        while jobs.len() < limit {
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
                verification: Some(verify(&election, ballots, permit)),
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
    permit: OwnedSemaphorePermit,
) -> tokio::task::JoinHandle<(Vec<CompleteBallot>, BatchResult)> {
    let e = election.clone();
    tokio::task::spawn_blocking(move || {
        let _verifying = permit;
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
        Err(LogServiceError::Witnesses(why)) => Err(Rejection::WitnessesUnavailable(why)),
        Err(e) => Err(Rejection::Board(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::GroupSizer;

    #[test]
    fn groups_take_half_of_the_recent_peak_and_shrink_with_the_load() {
        let mut sizer = GroupSizer::default();
        assert_eq!(
            sizer.next_limit(1, 256),
            1,
            "a lone ballot is verified at once"
        );
        assert_eq!(sizer.next_limit(128, 256), 64);
        // Just after a group's receipts, fewer are waiting: the limit stays near half
        // the clients instead of following the dip.
        assert_eq!(sizer.next_limit(70, 256), 60);
        assert_eq!(sizer.next_limit(1000, 256), 256, "capped by max_batch");
        let mut limit = 0;
        for _ in 0..200 {
            limit = sizer.next_limit(2, 256);
        }
        assert_eq!(limit, 1, "the peak decays once the load is gone");
        assert_eq!(GroupSizer::default().next_limit(0, 0), 1);
    }
}
