//! Start-up from the store's snapshot chunks (`crate::snapshot`): an election that this
//! process has not seen is resumed from the chunks, every chunk checked against the log,
//! instead of replaying the log; and the chunks a replay completes are stored.

use super::board::{roll_bytes, Board, Election};
use super::ApiError;
use crate::snapshot::{ChunkEntry, LogChunk, CHUNK_ENTRIES};
use zkvote_core::log::{leaf_hash, Hash};
use zkvote_protocol::{Entry, Phase};

impl Board {
    /// Stores the snapshot chunks completed since the last call (`crate::snapshot`).
    pub(super) async fn store_chunks(
        &self,
        eid: &[u8; 32],
        e: &mut Election,
    ) -> Result<(), ApiError> {
        for chunk in e.snapshot.take_ready() {
            let (index, bytes) = (chunk.index(), chunk.encode());
            self.log.store().put_log_chunk(eid, index, &bytes).await?;
        }
        Ok(())
    }

    /// The election that the store's snapshot chunks give (`crate::snapshot`), checked
    /// against the log: `None` if there are none, or if any check fails (the log is then
    /// replayed from its start). Only chunks that the latest signed checkpoint covers are
    /// read, since their leaves are checked against its root; the entries after them are
    /// replayed.
    pub(super) async fn restore(
        &self,
        eid: &[u8; 32],
        genesis: &Entry,
        leaf: Hash,
    ) -> Result<Option<Election>, ApiError> {
        let Some(signed) = self.log.store().latest_checkpoint(eid).await? else {
            return Ok(None);
        };
        let mut e = Election::new(genesis, leaf)?;
        let mut leaves = Vec::new();
        for k in 0..signed.size / CHUNK_ENTRIES {
            let Some(bytes) = self.log.store().log_chunk(eid, k).await? else {
                break;
            };
            let decoded = tokio::task::spawn_blocking(move || LogChunk::decode(k, &bytes))
                .await
                .map_err(|err| ApiError::internal(format!("a start-up task failed: {err}")))?;
            let chunk = match decoded {
                Ok(chunk) => chunk,
                Err(err) => {
                    eprintln!("zkvote-board: warning: start-up snapshot: {err}; replaying from it");
                    break;
                }
            };
            if !self.apply_chunk(eid, &mut e, &chunk).await? {
                return Ok(None);
            }
            leaves.extend_from_slice(chunk.leaf_hashes());
        }
        if leaves.is_empty() {
            return Ok(None);
        }
        if let Err(err) = self.log.restore(eid, leaves).await {
            eprintln!("zkvote-board: warning: start-up snapshot not used: {err}");
            return Ok(None);
        }
        self.resumed(&mut e);
        Ok(Some(e))
    }

    /// Applies a snapshot chunk's entries to the state: registrations from their checked
    /// commitments, ballots counted, any other entry read from the log and checked
    /// against the chunk's leaf hash. `false` if an entry does not match or apply.
    async fn apply_chunk(
        &self,
        eid: &[u8; 32],
        e: &mut Election,
        chunk: &LogChunk,
    ) -> Result<bool, ApiError> {
        for (index, item) in chunk.entries() {
            let applied = match item {
                _ if index == 0 => Ok(()),
                ChunkEntry::Ballot => e.state.apply_unread_ballot(),
                ChunkEntry::Registration(c) => e.state.apply(&Entry::registration(c)),
                ChunkEntry::Other(kind, hash) => {
                    let stored = self.log.store().entries(eid, index, 1).await?;
                    let entry = stored
                        .first()
                        .filter(|s| s.index == index && s.kind == kind.as_str())
                        .filter(|s| leaf_hash(&s.data) == hash)
                        .and_then(|s| Entry::decode(&s.data).ok());
                    match entry {
                        Some(entry) => e.state.apply(&entry),
                        None => return Ok(false),
                    }
                }
            };
            if applied.is_err() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// What serving an election restored from a snapshot needs in its phase.
    fn resumed(&self, e: &mut Election) {
        if e.root().is_some() {
            e.roll_bytes = Some(roll_bytes(e));
        }
        if e.phase() == Phase::Open {
            self.entered(e);
        }
    }
}
