//! The log service: keeps each election's RFC 9162 tree in memory (synced from the
//! store, so several board processes can share one database), signs checkpoints, and
//! issues receipts. It never signs two checkpoints that are inconsistent with each other:
//! before signing, the new tree is checked to extend the latest stored checkpoint. For
//! an election whose manifest names witnesses, receipts and the published checkpoint
//! carry the threshold's cosignatures (`crate::cosigner`).

use crate::cosigner::Cosigner;
use crate::store::{NewEntry, Store, StoreError, StoredCheckpoint};
use ed25519_dalek::SigningKey;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;
use zkvote_core::log::{
    consistency_proof, inclusion_proof, origin_for, Checkpoint, Hash, LogError, MemoryTree,
    Receipt, BOARD_KEY_NAME,
};
use zkvote_core::Manifest;

/// Leaf hashes read from the store per query when a tree catches up with the log.
const SYNC_PAGE: u64 = 100_000;

/// Errors of the log service.
#[derive(Debug, thiserror::Error)]
pub enum LogServiceError {
    /// Storage refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A proof request out of range.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The stored log does not extend a stored checkpoint: refuse to sign anything.
    #[error("log is inconsistent with checkpoint of size {0}; refusing to sign")]
    Inconsistent(u64),
    /// Fewer witnesses than the election's threshold cosigned the checkpoint; the entries
    /// are recorded, their receipts wait for the witnesses.
    #[error("the election's witnesses did not cosign: {0}")]
    Witnesses(String),
}

/// The board's log service over a [`Store`].
pub struct BoardLog {
    store: Store,
    key: SigningKey,
    trees: Mutex<HashMap<[u8; 32], MemoryTree>>,
    /// The cosigners of the elections whose manifests name witnesses.
    cosigners: std::sync::RwLock<HashMap<[u8; 32], Arc<Cosigner>>>,
}

impl std::fmt::Debug for BoardLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BoardLog({}, key <redacted>)", self.store.backend_name())
    }
}

impl BoardLog {
    /// A log service signing checkpoints with `key`.
    pub fn new(store: Store, key: SigningKey) -> Self {
        BoardLog {
            store,
            key,
            trees: Mutex::new(HashMap::new()),
            cosigners: std::sync::RwLock::new(HashMap::new()),
        }
    }

    /// Has the checkpoints of the manifest's election cosigned by its witnesses from now
    /// on (nothing to do when it names none).
    pub fn set_witnesses(&self, manifest: &Manifest) {
        let mut cosigners = self.cosigners.write().unwrap_or_else(|e| e.into_inner());
        if manifest.witnesses.is_empty() {
            cosigners.remove(&manifest.election_id);
        } else {
            cosigners.insert(manifest.election_id, Arc::new(Cosigner::new(manifest)));
        }
    }

    /// Forgets an election's witnesses (its creation did not happen).
    pub fn forget_witnesses(&self, election_id: &[u8; 32]) {
        let mut cosigners = self.cosigners.write().unwrap_or_else(|e| e.into_inner());
        cosigners.remove(election_id);
    }

    fn cosigner(&self, election_id: &[u8; 32]) -> Option<Arc<Cosigner>> {
        let cosigners = self.cosigners.read().unwrap_or_else(|e| e.into_inner());
        cosigners.get(election_id).cloned()
    }

    /// The checkpoint published for at least `size` entries (the whole current log if
    /// `None`): the board's signed checkpoint, with the threshold's cosignatures when the
    /// election has witnesses.
    pub async fn published(
        &self,
        election_id: &[u8; 32],
        size: Option<u64>,
    ) -> Result<StoredCheckpoint, LogServiceError> {
        let Some(cosigner) = self.cosigner(election_id) else {
            return self.checkpoint(election_id).await;
        };
        let size = match size {
            Some(s) => s,
            None => self.checkpoint(election_id).await?.size,
        };
        cosigner.cosigned(self, size).await
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The board's public key.
    pub fn public_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    async fn sync<'a>(
        &self,
        trees: &'a mut HashMap<[u8; 32], MemoryTree>,
        election_id: &[u8; 32],
    ) -> Result<&'a MemoryTree, LogServiceError> {
        let tree = trees.entry(*election_id).or_default();
        loop {
            let page = self
                .store
                .leaf_hashes(election_id, tree.size(), SYNC_PAGE)
                .await?;
            let last = (page.len() as u64) < SYNC_PAGE;
            for h in page {
                tree.push(h);
            }
            if last {
                return Ok(tree);
            }
        }
    }

    /// Starts the election's tree from `leaves` (leaf hashes of the log's first entries,
    /// from a start-up snapshot) instead of reading them, then brings it up to the store's
    /// log and checks it against the latest signed checkpoint, which must cover every
    /// given leaf. If this process already holds a tree, `leaves` must be its first
    /// leaves. On any mismatch the tree is dropped (it will be rebuilt from the entries)
    /// and nothing else changes.
    pub async fn restore(
        &self,
        election_id: &[u8; 32],
        leaves: Vec<Hash>,
    ) -> Result<(), LogServiceError> {
        let mut trees = self.trees.lock().await;
        let given = leaves.len() as u64;
        let tree = trees.entry(*election_id).or_default();
        let held = tree.size();
        let agrees = (0..held).zip(&leaves).all(|(i, h)| tree.leaf(i) == Some(h));
        if agrees {
            for h in leaves.into_iter().skip(held as usize) {
                tree.push(h);
            }
        }
        let covered = match self.store.latest_checkpoint(election_id).await? {
            Some(cp) => agrees && cp.size >= given,
            None => false,
        };
        if !covered
            || self
                .checkpoint_locked(&mut trees, election_id)
                .await
                .is_err()
        {
            trees.remove(election_id);
            return Err(LogServiceError::Inconsistent(given));
        }
        Ok(())
    }

    /// Creates a version-1 election with its genesis entry; returns the receipt.
    pub async fn create_election(
        &self,
        election_id: &[u8; 32],
        genesis: NewEntry,
    ) -> Result<Receipt, LogServiceError> {
        self.create_election_in(election_id, genesis, zkvote_protocol::genesis_phase(1))
            .await
    }

    /// Creates an election with its genesis entry, starting in `phase`
    /// (`protocol::genesis_phase` of its manifest); returns the receipt.
    pub async fn create_election_in(
        &self,
        election_id: &[u8; 32],
        genesis: NewEntry,
        phase: zkvote_protocol::Phase,
    ) -> Result<Receipt, LogServiceError> {
        let index = self
            .store
            .create_election_in(election_id, genesis, phase)
            .await?;
        self.receipt(election_id, index).await
    }

    /// Appends an entry (durably) and returns its receipt.
    pub async fn append(
        &self,
        election_id: &[u8; 32],
        entry: &NewEntry,
    ) -> Result<Receipt, LogServiceError> {
        let index = self.store.append(election_id, entry).await?;
        self.receipt(election_id, index).await
    }

    /// Appends several entries in one durable transaction and returns, for each, its
    /// receipt (all under one published checkpoint) or why it was refused. Entries are
    /// recorded even when the election's witnesses do not cosign: each then gets
    /// [`LogServiceError::Witnesses`] instead of a receipt.
    pub async fn append_batch(
        &self,
        election_id: &[u8; 32],
        entries: &[NewEntry],
    ) -> Result<Vec<Result<Receipt, LogServiceError>>, LogServiceError> {
        let results = self.store.append_batch(election_id, entries).await?;
        let covering = match results.iter().flatten().max() {
            None => None,
            Some(&last) => match self.published(election_id, Some(last + 1)).await {
                Ok(cp) => Some(Ok(cp)),
                Err(LogServiceError::Witnesses(why)) => Some(Err(why)),
                Err(e) => return Err(e),
            },
        };
        let mut trees = self.trees.lock().await;
        let tree = self.sync(&mut trees, election_id).await?;
        Ok(results
            .into_iter()
            .map(|r| {
                let index = r?;
                match covering.as_ref().expect("an entry was appended") {
                    Ok(cp) => receipt_in(tree, index, cp),
                    Err(why) => Err(LogServiceError::Witnesses(why.clone())),
                }
            })
            .collect())
    }

    /// A receipt for entry `index` under the latest published checkpoint that covers it.
    pub async fn receipt(
        &self,
        election_id: &[u8; 32],
        index: u64,
    ) -> Result<Receipt, LogServiceError> {
        // An index past the log is refused before any checkpoint is asked for (and
        // `index + 1` cannot overflow below).
        {
            let mut trees = self.trees.lock().await;
            let size = self.sync(&mut trees, election_id).await?.size();
            if index >= size {
                return Err(LogError::IndexOutOfRange { index, size }.into());
            }
        }
        let cp = self.published(election_id, Some(index + 1)).await?;
        let mut trees = self.trees.lock().await;
        let tree = self.sync(&mut trees, election_id).await?;
        receipt_in(tree, index, &cp)
    }

    /// A signed checkpoint of the current log.
    pub async fn checkpoint(
        &self,
        election_id: &[u8; 32],
    ) -> Result<StoredCheckpoint, LogServiceError> {
        let mut trees = self.trees.lock().await;
        self.checkpoint_locked(&mut trees, election_id).await
    }

    async fn checkpoint_locked(
        &self,
        trees: &mut HashMap<[u8; 32], MemoryTree>,
        election_id: &[u8; 32],
    ) -> Result<StoredCheckpoint, LogServiceError> {
        // Read the latest checkpoint before syncing: every entry it covers is committed,
        // so the synced tree is at least as large.
        let latest = self.store.latest_checkpoint(election_id).await?;
        let tree = self.sync(trees, election_id).await?;
        let (size, root) = (tree.size(), tree.root());
        if let Some(latest) = latest {
            if latest.size > size || tree.root_at(latest.size) != latest.root {
                return Err(LogServiceError::Inconsistent(latest.size));
            }
            if latest.size == size {
                return Ok(latest);
            }
        }
        let note = Checkpoint {
            origin: origin_for(election_id),
            size,
            root,
        }
        .sign(BOARD_KEY_NAME, &self.key);
        let stored = self
            .store
            .put_checkpoint(election_id, &StoredCheckpoint { size, root, note })
            .await?;
        if stored.root != root {
            return Err(LogServiceError::Inconsistent(stored.size));
        }
        Ok(stored)
    }

    /// Inclusion proof of `index` in the tree of `size` entries.
    pub async fn inclusion_proof(
        &self,
        election_id: &[u8; 32],
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, LogServiceError> {
        let mut trees = self.trees.lock().await;
        let tree = self.sync(&mut trees, election_id).await?;
        if size > tree.size() {
            return Err(LogError::IndexOutOfRange {
                index: size,
                size: tree.size() + 1,
            }
            .into());
        }
        Ok(inclusion_proof(tree, index, size)?)
    }

    /// Consistency proof from size `old` to size `new`.
    pub async fn consistency_proof(
        &self,
        election_id: &[u8; 32],
        old: u64,
        new: u64,
    ) -> Result<Vec<Hash>, LogServiceError> {
        let mut trees = self.trees.lock().await;
        let tree = self.sync(&mut trees, election_id).await?;
        if new > tree.size() {
            return Err(LogError::BadSizes { old, new }.into());
        }
        Ok(consistency_proof(tree, old, new)?)
    }
}

/// The receipt of entry `index` under `cp`, from a tree holding at least `cp.size` leaves.
fn receipt_in(
    tree: &MemoryTree,
    index: u64,
    cp: &StoredCheckpoint,
) -> Result<Receipt, LogServiceError> {
    let leaf = *tree.leaf(index).ok_or(LogError::IndexOutOfRange {
        index,
        size: tree.size(),
    })?;
    Ok(Receipt {
        index,
        leaf_hash: leaf,
        inclusion_proof: inclusion_proof(tree, index, cp.size)?,
        checkpoint: cp.note.clone(),
    })
}
