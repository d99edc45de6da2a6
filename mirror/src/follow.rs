//! Following one election's board (`docs/protocol.md` section 16.2): take its published
//! checkpoint only if signed and cosigned as the manifest requires and on the history
//! held (a consistency proof from the latest verified checkpoint); pull the new entries a
//! chunk at a time, each chunk proven on that checkpoint before it is stored; feed them
//! to the verifier, which runs `zkvote verify`'s checks as they come. Two signed
//! checkpoints that are not on one history are a fork: its evidence is kept and the
//! election is followed no further.

use crate::source::Source;
use crate::store::{Checkpoints, Fork, MirrorStore, Signed, StoreError};
use serde::Serialize;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use zkvote_core::log::{leaf_hash, verify_consistency, Hash, MemoryTree};
use zkvote_core::Manifest;
use zkvote_protocol::voter::published_checkpoint;
use zkvote_protocol::{Entry, EntryKind, RecordEntry};
use zkvote_verifier::{Report, Verifier};

/// Entries pulled, proven, stored and verified per step of a catch-up.
pub const CHUNK: u64 = 4096;

/// Leaf hashes read back per query at start-up.
const LOAD_PAGE: u64 = 65_536;

/// Why a round of following ended early.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The board could not be reached, or answered what the protocol does not allow
    /// (followed again at the next round).
    #[error("{0}")]
    Board(String),
    /// The board's checkpoint is not signed and cosigned as the manifest requires (it
    /// is not taken; followed again at the next round).
    #[error("the board's checkpoint is refused: {0}")]
    Refused(String),
    /// Two signed checkpoints not on one history: the election is followed no further.
    #[error("fork: {}", .0.reason)]
    Fork(Fork),
    /// The mirror's store failed.
    #[error("mirror store: {0}")]
    Store(#[from] StoreError),
}

/// Where the mirror stands with an election.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Just started: the entries held are served (each was proven on the held checkpoint
    /// when it was taken) and verified again from the store; the findings and the report
    /// wait for that.
    Verifying,
    /// The entries under the board's latest checkpoint are not all held yet.
    #[default]
    CatchingUp,
    /// Every entry under the board's latest checkpoint is held and verified.
    Following,
    /// The board showed a checkpoint that is not on the history held: followed no
    /// further (see the fork's evidence).
    Forked,
}

/// Something the verifier's checks found wrong in the record (the board's misdeed,
/// mirrored as it is and reported).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check's number (`docs/protocol.md` section 13).
    pub check: u8,
    /// The entry at fault, when there is one.
    pub index: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// What the mirror serves of an election, as of its latest round.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// The manifest (entry 0).
    pub manifest: Option<Manifest>,
    /// The latest checkpoint whose every entry is held: what is served.
    pub held: Option<Signed>,
    /// The election's witnesses that cosigned it.
    pub cosigned_by: Vec<String>,
    /// Where the mirror stands.
    pub state: State,
    /// What the checks found so far.
    pub findings: Vec<Finding>,
    /// The whole verification's report, once the record ends with its result.
    pub report: Option<Report>,
    /// Why the latest round failed, if it did.
    pub last_error: Option<String>,
    /// The fork seen, if any.
    pub fork: Option<Fork>,
}

/// One followed election, shared between its follower and the API.
pub struct Followed {
    /// The election id.
    pub eid: [u8; 32],
    /// The board's URL.
    pub board: String,
    /// The tree over every entry held (possibly past the held checkpoint).
    pub tree: RwLock<MemoryTree>,
    /// What is served.
    pub view: RwLock<View>,
}

impl Followed {
    /// A copy of the view.
    pub fn view(&self) -> View {
        self.view.read().expect("view lock").clone()
    }

    fn update(&self, f: impl FnOnce(&mut View)) {
        f(&mut self.view.write().expect("view lock"));
    }

    fn tree_size(&self) -> u64 {
        self.tree.read().expect("tree lock").size()
    }

    fn root_at(&self, size: u64) -> Hash {
        self.tree.read().expect("tree lock").root_at(size)
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An election to follow: its id and, if given, the hash of its manifest
/// (`Manifest::hash`, as the commission publishes it), which entry 0 must then carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Election {
    /// The election id.
    pub id: [u8; 32],
    /// The manifest's hash, pinned.
    pub manifest_hash: Option<[u8; 32]>,
}

impl std::str::FromStr for Election {
    type Err = String;

    /// `ID` or `ID:MANIFEST_HASH`, each 64 hex digits.
    fn from_str(text: &str) -> Result<Self, String> {
        let hex = |t: &str| {
            zkvote_core::codec::hex32(t)
                .map_err(|_| format!("{text:?} is not ID or ID:MANIFEST_HASH (64 hex digits each)"))
        };
        Ok(match text.split_once(':') {
            Some((id, hash)) => Election {
                id: hex(id)?,
                manifest_hash: Some(hex(hash)?),
            },
            None => Election {
                id: hex(text)?,
                manifest_hash: None,
            },
        })
    }
}

/// Whether `manifest` is the one `election` names (its id, and its hash if pinned).
fn names(election: &Election, manifest: &Manifest) -> Result<(), String> {
    if manifest.election_id != election.id {
        return Err("entry 0 is another election's manifest".into());
    }
    match election.manifest_hash {
        Some(pinned) if manifest.hash() != pinned => Err(format!(
            "entry 0's manifest has hash {}, not the pinned {}",
            hex::encode(manifest.hash()),
            hex::encode(pinned)
        )),
        _ => Ok(()),
    }
}

/// The follower of one election: owns its verifier, shares a [`Followed`].
pub struct Follower {
    election: Election,
    shared: Arc<Followed>,
    source: Source,
    store: MirrorStore,
    checkpoints: Checkpoints,
    /// Entry 0's bytes, once taken.
    genesis: Option<Vec<u8>>,
    manifest: Option<Manifest>,
    /// `None` once the record's verification is finished (its result is in). Behind a
    /// mutex only so that the follower is `Sync` (it is reached through `&mut self`).
    verifier: Mutex<Option<Verifier>>,
    last_kind: Option<String>,
}

impl Follower {
    /// Opens `election` from the store: the leaf hashes held are read back into the tree
    /// and the held checkpoints checked against them, so that the entries can be served
    /// at once. [`Follower::run`] verifies them again before it follows the board.
    pub async fn open(store: MirrorStore, board: &str, election: Election) -> Result<Self, String> {
        let eid = election.id;
        let source = Source::new(board, &eid)?;
        let shared = Arc::new(Followed {
            eid,
            board: source.base().to_string(),
            tree: RwLock::new(MemoryTree::new()),
            view: RwLock::new(View::default()),
        });
        let checkpoints = store.checkpoints(&eid).await.map_err(|e| e.to_string())?;
        let fork = store.fork(&eid).await.map_err(|e| e.to_string())?;
        let mut f = Follower {
            election,
            shared,
            source,
            store,
            checkpoints,
            genesis: None,
            manifest: None,
            verifier: Mutex::new(None),
            last_kind: None,
        };
        f.load().await.map_err(|e| e.to_string())?;
        f.check_held()
            .map_err(|e| format!("the mirror store: {e}"))?;
        f.shared.update(|v| {
            v.state = if fork.is_some() {
                State::Forked
            } else {
                State::Verifying
            };
            v.fork = fork;
        });
        Ok(f)
    }

    /// Reads the leaf hashes held into the tree, and entry 0 (the manifest).
    async fn load(&mut self) -> Result<(), StoreError> {
        let eid = self.shared.eid;
        loop {
            let from = self.shared.tree_size();
            let page = self.store.leaves(&eid, from, LOAD_PAGE).await?;
            let last = (page.len() as u64) < LOAD_PAGE;
            let mut tree = self.shared.tree.write().expect("tree lock");
            for leaf in page {
                tree.push(leaf);
            }
            if last {
                break;
            }
        }
        let Some(first) = self.store.entries(&eid, 0, 1, None).await?.pop() else {
            return Ok(());
        };
        let Ok(Entry::Manifest { manifest, .. }) = Entry::decode(&first.data) else {
            return Err(StoreError::Corrupt("entry 0 is not a manifest".into()));
        };
        self.genesis = Some(first.data);
        self.manifest = Some(manifest.clone());
        self.last_kind = self.store.last_kind(&eid).await?;
        self.shared.update(|view| view.manifest = Some(manifest));
        Ok(())
    }

    fn verifier_mut(&mut self) -> &mut Option<Verifier> {
        self.verifier.get_mut().expect("verifier lock")
    }

    /// What is shared with the API.
    pub fn shared(&self) -> Arc<Followed> {
        self.shared.clone()
    }

    /// Verifies the entries held again, then follows the board, a round every
    /// `interval`, until a fork is seen.
    pub async fn run(mut self, interval: Duration) {
        let eid = hex::encode(self.shared.eid);
        if let Err(e) = self.replay().await {
            eprintln!("zkvote mirror: election {eid}: the mirror store: {e}");
            self.shared
                .update(|v| v.last_error = Some(format!("the mirror store: {e}")));
            return;
        }
        if self.shared.view().fork.is_some() {
            return;
        }
        self.shared.update(|v| v.state = State::CatchingUp);
        loop {
            match self.sync().await {
                Ok(()) => self.shared.update(|v| v.last_error = None),
                Err(SyncError::Fork(fork)) => {
                    eprintln!("zkvote mirror: election {eid}: FORK: {}", fork.reason);
                    if let Err(e) = self.store.keep_fork(&self.shared.eid, &fork).await {
                        eprintln!("zkvote mirror: election {eid}: cannot keep the evidence: {e}");
                    }
                    self.shared.update(|v| {
                        v.state = State::Forked;
                        v.fork = Some(fork);
                    });
                    return;
                }
                Err(e) => {
                    eprintln!("zkvote mirror: election {eid}: {e}");
                    self.shared.update(|v| v.last_error = Some(e.to_string()));
                }
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// One round: takes the board's checkpoint if valid and on the history held, and
    /// catches up to it.
    pub async fn sync(&mut self) -> Result<(), SyncError> {
        let shown = self.source.checkpoint().await.map_err(SyncError::Board)?;
        if self.manifest.is_none() {
            self.take_genesis().await?;
        }
        let manifest = self.manifest.as_ref().expect("taken above");
        let (cp, cosigned_by) = published_checkpoint(manifest, &shown.checkpoint)
            .map_err(|e| SyncError::Refused(e.to_string()))?;
        let shown = Signed {
            size: cp.size,
            root: cp.root,
            note: shown.checkpoint,
        };
        let target = self.take_checkpoint(shown).await?;
        if let Some(target) = target {
            self.catch_up(&target, &cosigned_by).await?;
        }
        self.shared.update(|v| v.state = State::Following);
        Ok(())
    }

    /// Takes entry 0, which must be the manifest of the election followed.
    async fn take_genesis(&mut self) -> Result<(), SyncError> {
        let first = self.source.entries(0, 1).await.map_err(SyncError::Board)?;
        let data = &first[0].data;
        match Entry::decode(data) {
            Ok(Entry::Manifest { manifest, .. }) => {
                names(&self.election, &manifest)
                    .map_err(|why| SyncError::Board(format!("the board's {why}")))?;
                self.genesis = Some(data.clone());
                self.shared.update(|v| v.manifest = Some(manifest.clone()));
                self.manifest = Some(manifest);
                Ok(())
            }
            _ => Err(SyncError::Board(
                "the board's entry 0 is not a manifest".into(),
            )),
        }
    }

    /// Compares a valid signed checkpoint with the latest one verified (the pending one,
    /// else the held one): a smaller or equal one must be on the history held, a larger
    /// one must extend it by the board's consistency proof, else it is a fork. Returns
    /// the checkpoint to catch up to, if entries are missing.
    async fn take_checkpoint(&mut self, shown: Signed) -> Result<Option<Signed>, SyncError> {
        let latest = self
            .checkpoints
            .pending
            .clone()
            .or_else(|| self.checkpoints.held.clone());
        let held_entries = self.shared.tree_size();
        let (size, root, note) = match &latest {
            Some(l) => (l.size, l.root, l.note.clone()),
            None if shown.size == 0 => return Ok(None),
            None => (0, [0; 32], String::new()),
        };
        let fork = |reason: String, proof: &[Hash]| {
            SyncError::Fork(Fork {
                seen_at: now(),
                reason,
                held: note.clone(),
                shown: shown.note.clone(),
                proof: proof.iter().map(hex::encode).collect(),
            })
        };
        if shown.size <= held_entries && shown.size < size {
            // An older checkpoint: the root of that many entries held.
            if self.shared.root_at(shown.size) != shown.root {
                return Err(fork(
                    format!(
                        "the board signed a checkpoint of size {} whose root is not that of the first {} entries of the checkpoint of size {size}",
                        shown.size, shown.size
                    ),
                    &[],
                ));
            }
            return Ok(None);
        }
        if shown.size < size {
            let proof = self.consistency(shown.size, size).await?;
            if verify_consistency(shown.size, size, &shown.root, &root, &proof).is_err() {
                return Err(fork(
                    format!("the board's checkpoint of size {size} does not extend its checkpoint of size {}", shown.size),
                    &proof,
                ));
            }
            return Ok(None);
        }
        if shown.size == size {
            if shown.root != root {
                return Err(fork(
                    format!("the board signed two checkpoints of size {size} with different roots"),
                    &[],
                ));
            }
            return Ok((held_entries < size).then_some(shown));
        }
        if size > 0 {
            let proof = self.consistency(size, shown.size).await?;
            if verify_consistency(size, shown.size, &root, &shown.root, &proof).is_err() {
                return Err(fork(
                    format!(
                        "the board's checkpoint of size {} does not extend its checkpoint of size {size}",
                        shown.size
                    ),
                    &proof,
                ));
            }
        }
        self.store.set_pending(&self.shared.eid, &shown).await?;
        self.checkpoints.pending = Some(shown.clone());
        Ok(Some(shown))
    }

    async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, SyncError> {
        self.source
            .consistency(old, new)
            .await
            .map_err(SyncError::Board)
    }

    /// Pulls the entries up to `target`, a chunk at a time: each chunk is proven on
    /// `target` (by the board's consistency proof from the chunk's end, or by the root
    /// itself at the end) before it is stored and verified.
    async fn catch_up(&mut self, target: &Signed, cosigned_by: &[String]) -> Result<(), SyncError> {
        loop {
            let from = self.shared.tree_size();
            if from >= target.size {
                return Ok(());
            }
            let to = target.size.min(from + CHUNK);
            let entries = self
                .source
                .entries(from, to)
                .await
                .map_err(SyncError::Board)?;
            if from == 0 && Some(&entries[0].data) != self.genesis.as_ref() {
                return Err(SyncError::Board(
                    "the board's entry 0 changed between two answers".into(),
                ));
            }
            let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(&e.data)).collect();
            {
                let mut tree = self.shared.tree.write().expect("tree lock");
                for leaf in &leaves {
                    tree.push(*leaf);
                }
            }
            if let Err(e) = self.prove_and_store(&entries, &leaves, to, target).await {
                self.shared.tree.write().expect("tree lock").truncate(from);
                return Err(e);
            }
            if to == target.size {
                self.checkpoints.held = Some(target.clone());
                self.checkpoints.pending = None;
            }
            self.verify(entries).await;
            self.shared.update(|v| {
                if to == target.size {
                    v.held = Some(target.clone());
                    v.cosigned_by = cosigned_by.to_vec();
                }
            });
            self.finish_if_complete().await;
        }
    }

    /// Proves that the tree's first `to` entries are on `target`'s history, then stores
    /// `entries` (the last of them), with `target` as held if they complete it.
    async fn prove_and_store(
        &self,
        entries: &[RecordEntry],
        leaves: &[Hash],
        to: u64,
        target: &Signed,
    ) -> Result<(), SyncError> {
        let root = self.shared.root_at(to);
        let proven = if to == target.size {
            root == target.root
        } else {
            let proof = self.consistency(to, target.size).await?;
            verify_consistency(to, target.size, &root, &target.root, &proof).is_ok()
        };
        if !proven {
            return Err(SyncError::Board(format!(
                "the board's entries {}..{to} are not those of its checkpoint of size {}",
                entries[0].index, target.size
            )));
        }
        let completes = (to == target.size).then_some(target);
        self.store
            .append(&self.shared.eid, entries, leaves, completes, now())
            .await?;
        Ok(())
    }

    /// Feeds entries to the verifier (on a blocking thread: ballots are verified there)
    /// and publishes what it found. A record whose verification had finished is verified
    /// again from the store first.
    async fn verify(&mut self, entries: Vec<RecordEntry>) {
        if self.verifier_mut().is_none() {
            // The entries are stored already: the replay reads them too.
            if let Err(e) = self.replay().await {
                self.shared
                    .update(|v| v.last_error = Some(format!("mirror store: {e}")));
            }
            return;
        }
        self.last_kind = entries.last().map(|e| e.kind.clone());
        let mut v = self.verifier_mut().take().expect("checked above");
        let v = tokio::task::spawn_blocking(move || {
            for e in entries {
                v.push(e);
            }
            v.settle();
            v
        })
        .await
        .expect("the verifier does not panic");
        self.publish_findings(&v);
        *self.verifier_mut() = Some(v);
    }

    fn publish_findings(&self, v: &Verifier) {
        let findings = v
            .findings()
            .into_iter()
            .map(|(check, f)| Finding {
                check,
                index: f.index,
                message: f.message,
            })
            .collect();
        self.shared.update(|view| {
            view.findings = findings;
            view.report = None;
        });
    }

    /// Once every held entry is under the held checkpoint and the last is the result,
    /// finishes the verification: every check, as `zkvote verify` runs them.
    async fn finish_if_complete(&mut self) {
        let Some(held) = self.checkpoints.held.clone() else {
            return;
        };
        let complete = self.last_kind.as_deref() == Some(EntryKind::Result.as_str())
            && held.size == self.shared.tree_size();
        if !complete {
            return;
        }
        let Some(v) = self.verifier_mut().take() else {
            return;
        };
        let note = held.note.clone();
        let (report, _) = tokio::task::spawn_blocking(move || v.finish(&note))
            .await
            .expect("the verifier does not panic");
        self.shared.update(|view| view.report = Some(report));
    }

    /// Reads every stored entry back into a fresh verifier; each must still hash to
    /// its leaf in the tree.
    async fn replay(&mut self) -> Result<(), StoreError> {
        let mut v = Verifier::new();
        let mut from = 0;
        loop {
            let page = self
                .store
                .entries(&self.shared.eid, from, crate::source::PAGE, None)
                .await?;
            let Some(last) = page.last() else { break };
            from = last.index + 1;
            self.last_kind = Some(last.kind.clone());
            {
                let tree = self.shared.tree.read().expect("tree lock");
                if let Some(e) = page
                    .iter()
                    .find(|e| tree.leaf(e.index) != Some(&leaf_hash(&e.data)))
                {
                    return Err(StoreError::Corrupt(format!(
                        "entry {} is not the one whose leaf hash is held",
                        e.index
                    )));
                }
            }
            v = tokio::task::spawn_blocking(move || {
                for e in page {
                    v.push(e);
                }
                v
            })
            .await
            .expect("the verifier does not panic");
        }
        let v = tokio::task::spawn_blocking(move || {
            v.settle();
            v
        })
        .await
        .expect("the verifier does not panic");
        self.publish_findings(&v);
        *self.verifier_mut() = Some(v);
        self.finish_if_complete().await;
        Ok(())
    }

    /// The stored checkpoints agree with the stored entries (and are still valid
    /// signed checkpoints of the manifest).
    fn check_held(&mut self) -> Result<(), String> {
        let size = self.shared.tree_size();
        let Some(manifest) = &self.manifest else {
            return match (&self.checkpoints.held, size) {
                (None, 0) => Ok(()),
                _ => Err("checkpoints or entries held without a manifest at entry 0".into()),
            };
        };
        names(&self.election, manifest)?;
        if let Some(held) = &self.checkpoints.held {
            let (_, names) =
                published_checkpoint(manifest, &held.note).map_err(|e| e.to_string())?;
            if held.size > size || self.shared.root_at(held.size) != held.root {
                return Err(format!(
                    "the checkpoint of size {} held is not the root of the entries held",
                    held.size
                ));
            }
            self.shared.update(|v| {
                v.held = Some(held.clone());
                v.cosigned_by = names;
            });
        }
        if let Some(pending) = &self.checkpoints.pending {
            published_checkpoint(manifest, &pending.note).map_err(|e| e.to_string())?;
            if pending.size < size {
                return Err(format!(
                    "{size} entries held past the pending checkpoint of size {}",
                    pending.size
                ));
            }
        }
        Ok(())
    }
}
