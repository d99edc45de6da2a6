//! The board's election cache: per election, the protocol's [`ElectionState`] (built by
//! replaying the log, and kept in step with entries appended by any board process) plus
//! what serving it needs (the ballot box, the roll's bytes, the aggregate once
//! computed); and the two ways the board appends an entry.

use super::error::{append_refusal, bad_genesis, setup_not_closed, wrong_phase};
use super::ApiError;
use crate::ballot_box::{BallotBox, BallotBoxConfig};
use crate::log::BoardLog;
use crate::snapshot::ChunkBuilder;
use crate::store::{NewEntry, StoreError, StoredEntry};
use axum::body::Bytes;
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;
use tokio::sync::{Mutex, RwLock};
use zkvote_circuits::field::fr_to_bytes;
use zkvote_core::log::{Hash, Receipt};
use zkvote_protocol::{ElectionState, Entry, EntryKind, ErrorCode, Phase};
use zkvote_tally::{Aggregate, CeremonyOutcome};

/// Entries per page when an election's state is replayed from the store.
const REPLAY_PAGE: u64 = 10_000;

/// Which commissions may create elections on a board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Creators {
    /// Any commission key (a private or test board).
    Anyone,
    /// Only these commission keys (ed25519 public keys), as the operator decided.
    Only(Vec<[u8; 32]>),
}

impl Creators {
    pub(super) fn allows(&self, key: &[u8; 32]) -> bool {
        match self {
            Creators::Anyone => true,
            Creators::Only(keys) => keys.contains(key),
        }
    }
}

/// How a board runs.
#[derive(Clone, Debug)]
pub struct BoardConfig {
    /// Micro-batching of ballot verification.
    pub ballot_box: BallotBoxConfig,
    /// Who may create elections.
    pub creators: Creators,
}

impl BoardConfig {
    /// A board on which `creators` may create elections, batching ballots by default.
    pub fn new(creators: Creators) -> Self {
        BoardConfig {
            ballot_box: BallotBoxConfig::default(),
            creators,
        }
    }
}

/// One election as this board process serves it.
pub(crate) struct Election {
    pub(super) state: ElectionState,
    pub(super) ballot_box: Option<BallotBox>,
    /// The frozen roll's commitments, 32 bytes each in log order (served to voters).
    pub(super) roll_bytes: Option<Bytes>,
    /// The frozen roll's tree from the bucket floor up, once a bucket was asked for.
    pub(super) roll_tree: super::roll::RollTree,
    /// The aggregate of the counted ballots, once computed after the close.
    pub(super) aggregate: Option<Aggregate>,
    /// The start-up snapshot's chunk being filled.
    pub(super) snapshot: ChunkBuilder,
}

impl Deref for Election {
    type Target = ElectionState;
    fn deref(&self) -> &ElectionState {
        &self.state
    }
}

impl Election {
    /// The election that the genesis entry `genesis`, of leaf hash `leaf`, starts.
    pub(super) fn new(genesis: &Entry, leaf: Hash) -> Result<Self, ApiError> {
        let state = ElectionState::from_genesis(genesis).map_err(bad_genesis)?;
        let mut snapshot = ChunkBuilder::default();
        snapshot.record(0, leaf, EntryKind::Manifest, None);
        Ok(Election {
            state,
            ballot_box: None,
            roll_bytes: None,
            roll_tree: Default::default(),
            aggregate: None,
            snapshot,
        })
    }
}

/// The ceremony's public outcome (a 409 `ceremony-failed` if fewer than the threshold
/// qualify).
pub(super) fn ceremony_outcome(s: &ElectionState) -> Result<CeremonyOutcome, ApiError> {
    s.ceremony_outcome()
        .map_err(|e| ApiError::new(ErrorCode::CeremonyFailed, e.to_string()))
}

/// Refuses an entry of `kind` that the phase rule does not allow in the state's phase
/// (checked again in the append transaction).
pub(super) fn require_phase(s: &ElectionState, kind: EntryKind) -> Result<(), ApiError> {
    zkvote_protocol::transition(Some(s.phase()), kind)
        .map(|_| ())
        .map_err(|_| match s.phase() {
            Phase::Ceremony => setup_not_closed(kind),
            _ => wrong_phase(kind),
        })
}

/// An entry to append under the phase rule, refused if the log holds its unique key
/// (both checked in the append transaction).
fn phased(entry: &Entry) -> NewEntry {
    NewEntry::plain(entry.kind(), entry.to_bytes())
        .phased()
        .unique(entry.unique_key())
}

/// The board: the log service and every election's state.
pub struct Board {
    pub(super) log: Arc<BoardLog>,
    pub(super) elections: RwLock<HashMap<[u8; 32], Arc<Mutex<Election>>>>,
    pub(super) config: BoardConfig,
}

impl Board {
    /// Loads every election from the store (from its snapshot chunks where they check
    /// out, `crate::snapshot`, else by replaying its log), builds its log tree and signs
    /// a checkpoint of it, and restarts the ballot boxes of open elections. Elections
    /// created, and entries appended, by other board processes on the same database are
    /// picked up on use.
    pub async fn load(log: Arc<BoardLog>, config: BoardConfig) -> Result<Arc<Self>, ApiError> {
        let board = Arc::new(Board {
            log,
            elections: RwLock::new(HashMap::new()),
            config,
        });
        for eid in board.log.store().election_ids().await? {
            board.election(&eid).await?;
            // The log's tree too, so that the first receipt does not wait for it.
            board.log.checkpoint(&eid).await?;
        }
        Ok(board)
    }

    /// Applies the log entries this state has not seen yet (appended by this or another
    /// board process), starting or stopping the ballot box on phase changes.
    pub(super) async fn sync(&self, eid: &[u8; 32], e: &mut Election) -> Result<(), ApiError> {
        loop {
            // Paged, and without the ballots' bodies: replaying millions of ballots at
            // startup only counts them.
            let entries = self
                .log
                .store()
                .entries_for_replay(eid, e.entries(), REPLAY_PAGE)
                .await?;
            if entries.is_empty() {
                return Ok(());
            }
            self.apply_entries(e, entries)?;
            self.store_chunks(eid, e).await?;
        }
    }

    /// Applies entries read from the log, in order, through [`ElectionState::apply`].
    fn apply_entries(&self, e: &mut Election, entries: Vec<StoredEntry>) -> Result<(), ApiError> {
        for stored in entries {
            if stored.index != e.entries() {
                return Err(ApiError::corrupt(format!(
                    "entry {} read where entry {} was expected",
                    stored.index,
                    e.entries()
                )));
            }
            let before = e.phase();
            let (kind, commitment) = if stored.kind == EntryKind::Ballot.as_str() {
                // Ballots are decoded only when the tally needs them.
                e.state
                    .apply_unread_ballot()
                    .map_err(|err| applying(&stored, err))?;
                (EntryKind::Ballot, None)
            } else {
                let entry = Entry::decode(&stored.data)
                    .map_err(|err| ApiError::corrupt(err.at(stored.index).to_string()))?;
                e.state
                    .apply(&entry)
                    .map_err(|err| applying(&stored, err))?;
                let commitment = match &entry {
                    Entry::Registration { commitment } => Some(commitment.get()),
                    _ => None,
                };
                (entry.kind(), commitment)
            };
            e.snapshot
                .record(stored.index, stored.leaf_hash, kind, commitment);
            if e.phase() != before {
                self.entered(e);
            }
        }
        Ok(())
    }

    /// What serving an election changes when it enters a phase.
    pub(super) fn entered(&self, e: &mut Election) {
        match e.phase() {
            Phase::Ceremony | Phase::Setup => {}
            Phase::Frozen => e.roll_bytes = Some(roll_bytes(e)),
            Phase::Open => {
                if let (Some(ctx), Some(root), Some(verifier)) =
                    (e.context(), e.root(), e.verifier())
                {
                    e.ballot_box = Some(BallotBox::start(
                        self.log.clone(),
                        ctx.clone(),
                        verifier.clone(),
                        root,
                        self.config.ballot_box,
                    ));
                }
            }
            Phase::Closed | Phase::Tallied => {
                if let Some(bb) = &e.ballot_box {
                    bb.close();
                }
            }
        }
    }

    /// The election's state, loaded from the store if this process has not seen it, and
    /// synced with the log.
    pub(super) async fn election(&self, eid: &[u8; 32]) -> Result<Arc<Mutex<Election>>, ApiError> {
        let existing = self.elections.read().await.get(eid).cloned();
        let arc = match existing {
            Some(a) => a,
            None => {
                let first = self.log.store().entries(eid, 0, 1).await?;
                let Some(genesis) = first.first() else {
                    return Err(ApiError::not_found());
                };
                let entry = Entry::decode(&genesis.data)
                    .map_err(|err| ApiError::corrupt(err.at(0).to_string()))?;
                let election = match self.restore(eid, &entry, genesis.leaf_hash).await? {
                    Some(restored) => restored,
                    None => Election::new(&entry, genesis.leaf_hash)?,
                };
                self.log.set_witnesses(election.manifest());
                self.elections
                    .write()
                    .await
                    .entry(*eid)
                    .or_insert_with(|| Arc::new(Mutex::new(election)))
                    .clone()
            }
        };
        {
            let mut e = arc.lock().await;
            self.sync(eid, &mut e).await?;
        }
        Ok(arc)
    }

    /// Appends `entry` (the phase rule and its unique key checked in the append
    /// transaction) and brings the state up to date.
    pub(super) async fn append_entry(
        &self,
        eid: &[u8; 32],
        e: &mut Election,
        entry: Entry,
    ) -> Result<Receipt, ApiError> {
        let receipt = self
            .log
            .append(eid, &phased(&entry))
            .await
            .map_err(|err| append_refusal(entry.kind(), err))?;
        self.sync(eid, e).await?;
        Ok(receipt)
    }

    /// Appends an entry of `kind` that sums up the log (the frozen roll, the joint key,
    /// the close, the result): inside the append transaction, under the election's write
    /// lock, the state is brought up to the log's last entry and `compute` builds the entry
    /// from it, so that it never misses an entry another board process appended first.
    pub(super) async fn append_summary(
        &self,
        eid: &[u8; 32],
        e: &mut Election,
        kind: EntryKind,
        compute: impl FnOnce(&ElectionState) -> Result<Entry, ApiError>,
    ) -> Result<Receipt, ApiError> {
        let from = e.entries();
        let election = &mut *e;
        let appended = self
            .log
            .store()
            .append_computed(eid, from, |fresh| {
                self.apply_entries(election, fresh)
                    .map_err(Computed::Refused)?;
                require_phase(election, kind).map_err(Computed::Refused)?;
                let entry = compute(election).map_err(Computed::Refused)?;
                Ok(phased(&entry))
            })
            .await;
        let idx = appended.map_err(|err| match err {
            Computed::Store(err) => append_refusal(kind, err.into()),
            Computed::Refused(err) => err,
        })?;
        self.sync(eid, e).await?;
        Ok(self.log.receipt(eid, idx).await?)
    }
}

/// The frozen roll as served: 32 bytes per commitment, in log order.
pub(super) fn roll_bytes(s: &ElectionState) -> Bytes {
    let mut bytes = Vec::with_capacity(s.commitments().len() * 32);
    for c in s.commitments() {
        bytes.extend_from_slice(&fr_to_bytes(c));
    }
    Bytes::from(bytes)
}

/// A stored entry that the state refuses: the log is corrupt.
fn applying(stored: &StoredEntry, err: zkvote_protocol::ApplyError) -> ApiError {
    ApiError::corrupt(format!("entry {}: {err}", stored.index))
}

/// What computing a summary entry inside the append transaction can end with.
enum Computed {
    Store(StoreError),
    Refused(ApiError),
}

impl From<StoreError> for Computed {
    fn from(e: StoreError) -> Self {
        Computed::Store(e)
    }
}
