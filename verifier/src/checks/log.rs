//! Check 1: the log. As the record streams by, every entry's index, its leaf hash (into
//! the Merkle root) and its place in the protocol's phase rule
//! ([`zkvote_protocol::transition`]); once it is in, the signed checkpoint against the root.

use super::Verifier;
use crate::report::CheckReport;
use zkvote_core::log::{origin_for, Checkpoint, Hash, BOARD_KEY_NAME};
use zkvote_protocol::{transition, Entry, EntryKind, RecordEntry, TransitionError};

impl Verifier {
    /// Check 1 on the entry at position `pos`: its index, its leaf, and its place in the
    /// phase rule. Returns its kind, if the line names a known one.
    pub(super) fn check_order(
        &mut self,
        pos: u64,
        e: &RecordEntry,
        leaf: Hash,
    ) -> Option<EntryKind> {
        if e.index != pos {
            self.c1.fail(
                Some(e.index),
                format!("found at position {pos} of the record (indices must be 0, 1, 2, ...)"),
            );
        }
        self.leaves.push(leaf);
        let kind = EntryKind::from_name(&e.kind);
        let next = match kind {
            None => Err(format!("unknown kind {:?}", e.kind)),
            Some(EntryKind::Manifest) if pos > 0 => {
                Err(TransitionError::SecondManifest.to_string())
            }
            Some(k) => transition(self.phase, k).map_err(|err| err.to_string()),
        };
        match next {
            Ok(p) => self.phase = Some(p),
            Err(m) => self.c1.fail(Some(e.index), m),
        }
        kind
    }

    /// Check 1 on an entry that decodes: the kind its bytes say is the kind its line says.
    pub(super) fn check_line_kind(&mut self, e: &RecordEntry, decoded: &Result<Entry, String>) {
        let index = e.index;
        if let Ok(d) = &decoded {
            if d.kind().as_str() != e.kind {
                self.c1.fail(
                    Some(index),
                    format!("the line says {:?} but the entry is a {}", e.kind, d.kind()),
                );
            }
        }
    }

    /// Check 1, once the whole record is in: the signed checkpoint covers exactly its
    /// entries, under the manifest's board key, and carries the cosignatures of the
    /// manifest's threshold of its witnesses.
    pub(super) fn check_1(&mut self, checkpoint: &str) -> CheckReport {
        let n = self.n;
        let mut c1 = std::mem::replace(&mut self.c1, CheckReport::new(1, ""));
        match &self.manifest {
            None => c1.fail(
                None,
                "no valid manifest at index 0: the board key is unknown, the checkpoint cannot be checked",
            ),
            Some(m) => match ed25519_dalek::VerifyingKey::from_bytes(&m.board_key)
                .map_err(|e| e.to_string())
                .and_then(|key| {
                    Checkpoint::verify(checkpoint, &origin_for(&m.election_id), BOARD_KEY_NAME, &key)
                        .map_err(|e| e.to_string())
                }) {
                Err(e) => c1.fail(
                    None,
                    format!("the checkpoint does not verify under the manifest's board key: {e}"),
                ),
                Ok(cp) => {
                    c1.count("checkpoint size", cp.size);
                    match zkvote_protocol::voter::cosigners(m, &cp, checkpoint) {
                        Err(e) => c1.fail(
                            None,
                            format!("the checkpoint is not cosigned by the election's witnesses: {e}"),
                        ),
                        Ok(names) if !names.is_empty() => {
                            c1.count("witness cosignatures", names.len() as u64);
                            c1.note = Some(format!("cosigned by: {}", names.join(", ")));
                        }
                        Ok(_) => {}
                    }
                    let root = self.leaves.root();
                    if cp.size != n {
                        c1.fail(
                            None,
                            format!("the signed checkpoint covers {} entries, the record has {n}", cp.size),
                        );
                    } else if cp.root != root {
                        c1.fail(
                            None,
                            format!(
                                "the Merkle root of the record's entries is {}, the signed checkpoint's is {}",
                                hex::encode(root),
                                hex::encode(cp.root)
                            ),
                        );
                    }
                }
            },
        }
        c1.count("entries", n);
        c1.failures.sort_by_key(|f| f.index);
        c1
    }
}
