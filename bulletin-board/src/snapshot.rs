//! Start-up snapshots: an election's log in chunks of [`CHUNK_ENTRIES`] entries, each
//! holding what a board needs to resume the election without reading the chunk's
//! entries: their leaf hashes, their kinds, and the registrations' commitments
//! (`docs/architecture.md`, "Start-up snapshots"). A board writes a chunk once it has applied
//! the chunk's last entry, and at start-up reads the chunks instead of the entries.
//!
//! A chunk is never taken on trust. Decoding checks every registration against its leaf
//! hash (the commitment's registration entry, encoded, must hash to it); the other
//! entries, except ballots, are read from the log and their leaf hashes checked; and the
//! tree of all the chunks' leaf hashes must give the root of the latest signed
//! checkpoint ([`crate::BoardLog::restore`]). Ballots are only counted at start-up, as in
//! a replay, so their leaf hashes are checked by that root alone.

use ark_bls12_381::Fr;
use rayon::prelude::*;
use zkvote_circuits::field::{fr_from_bytes, fr_to_bytes};
use zkvote_core::log::Hash;
use zkvote_protocol::{Entry, EntryKind};

/// Entries per chunk.
pub const CHUNK_ENTRIES: u64 = 1 << 16;

/// The layout's version, the chunk's first byte.
const VERSION: u8 = 1;

/// The one-byte code of each kind in a chunk: its position in [`EntryKind::ALL`] (pinned by
/// a test, since stored chunks depend on it).
fn kind_code(kind: EntryKind) -> u8 {
    EntryKind::ALL
        .iter()
        .position(|k| *k == kind)
        .map_or(u8::MAX, |i| i as u8)
}

fn code_kind(code: u8) -> Option<EntryKind> {
    EntryKind::ALL.get(code as usize).copied()
}

/// Why a stored chunk is not used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SnapshotError {
    /// The bytes do not have the layout.
    #[error("chunk {0} is malformed")]
    Malformed(u64),
    /// A registration's commitment does not give its entry's leaf hash.
    #[error("chunk {chunk}: registration entry {index} does not match its leaf hash")]
    Registration {
        /// The chunk.
        chunk: u64,
        /// The entry.
        index: u64,
    },
}

/// What a chunk says of one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkEntry {
    /// A registration of this commitment (checked against its leaf hash).
    Registration(Fr),
    /// A ballot, counted but not read.
    Ballot,
    /// Any other entry: to be read from the log, its leaf hash checked.
    Other(EntryKind, Hash),
}

/// One complete chunk of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogChunk {
    index: u64,
    leaf_hashes: Vec<Hash>,
    kinds: Vec<EntryKind>,
    commitments: Vec<Fr>,
}

impl LogChunk {
    /// The chunk's number: it holds entries `index * CHUNK_ENTRIES ..` of the log.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The entries' leaf hashes, in log order.
    pub fn leaf_hashes(&self) -> &[Hash] {
        &self.leaf_hashes
    }

    /// Its entries with their positions in the log, in order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, ChunkEntry)> + '_ {
        let first = self.index * CHUNK_ENTRIES;
        let mut commitments = self.commitments.iter();
        self.kinds
            .iter()
            .zip(&self.leaf_hashes)
            .enumerate()
            .map(move |(i, (kind, hash))| {
                let entry = match kind {
                    EntryKind::Registration => {
                        ChunkEntry::Registration(*commitments.next().expect("counted on decode"))
                    }
                    EntryKind::Ballot => ChunkEntry::Ballot,
                    other => ChunkEntry::Other(*other, *hash),
                };
                (first + i as u64, entry)
            })
    }

    /// The layout: the version byte; the `CHUNK_ENTRIES` leaf hashes (32 bytes each); one
    /// kind code per entry; the registrations' commitments (32 bytes, little-endian
    /// canonical), in log order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.kinds.len() * 33 + self.commitments.len() * 32);
        out.push(VERSION);
        for h in &self.leaf_hashes {
            out.extend_from_slice(h);
        }
        out.extend(self.kinds.iter().map(|k| kind_code(*k)));
        for c in &self.commitments {
            out.extend_from_slice(&fr_to_bytes(c));
        }
        out
    }

    /// Decodes chunk `index` and checks each registration's commitment against its leaf
    /// hash (on all cores).
    pub fn decode(index: u64, bytes: &[u8]) -> Result<Self, SnapshotError> {
        let malformed = || SnapshotError::Malformed(index);
        let n = CHUNK_ENTRIES as usize;
        let (version, rest) = bytes.split_first().ok_or_else(malformed)?;
        if *version != VERSION || rest.len() < n * 33 {
            return Err(malformed());
        }
        let (hashes, rest) = rest.split_at(n * 32);
        let (codes, commitments) = rest.split_at(n);
        let leaf_hashes: Vec<Hash> = hashes
            .chunks_exact(32)
            .map(|h| h.try_into().expect("32 bytes"))
            .collect();
        let kinds = codes
            .iter()
            .map(|c| code_kind(*c))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(malformed)?;
        let registered: Vec<usize> = (0..n)
            .filter(|i| kinds[*i] == EntryKind::Registration)
            .collect();
        if commitments.len() != registered.len() * 32 {
            return Err(malformed());
        }
        let commitments = commitments
            .par_chunks_exact(32)
            .zip(&registered)
            .map(|(bytes, &i)| {
                let c = fr_from_bytes(bytes.try_into().expect("32 bytes"), "commitment")
                    .map_err(|_| malformed())?;
                if Entry::registration_leaf(c) != leaf_hashes[i] {
                    return Err(SnapshotError::Registration {
                        chunk: index,
                        index: index * CHUNK_ENTRIES + i as u64,
                    });
                }
                Ok(c)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LogChunk {
            index,
            leaf_hashes,
            kinds,
            commitments,
        })
    }
}

/// A chunk being filled as a board applies the log's entries.
#[derive(Debug, Default)]
pub struct ChunkBuilder {
    pending: Option<LogChunk>,
    ready: Vec<LogChunk>,
}

impl ChunkBuilder {
    /// Records entry `index` as applied. A chunk starts at its first entry: entries of a
    /// chunk whose start this builder did not see are not recorded.
    pub fn record(&mut self, index: u64, leaf: Hash, kind: EntryKind, commitment: Option<Fr>) {
        if index % CHUNK_ENTRIES == 0 {
            self.pending = Some(LogChunk {
                index: index / CHUNK_ENTRIES,
                leaf_hashes: Vec::with_capacity(CHUNK_ENTRIES as usize),
                kinds: Vec::with_capacity(CHUNK_ENTRIES as usize),
                commitments: Vec::new(),
            });
        }
        let Some(chunk) = &mut self.pending else {
            return;
        };
        if chunk.index * CHUNK_ENTRIES + chunk.kinds.len() as u64 != index {
            self.pending = None;
            return;
        }
        chunk.leaf_hashes.push(leaf);
        chunk.kinds.push(kind);
        chunk.commitments.extend(commitment);
        if chunk.kinds.len() as u64 == CHUNK_ENTRIES {
            self.ready.extend(self.pending.take());
        }
    }

    /// The chunks completed since the last call.
    pub fn take_ready(&mut self) -> Vec<LogChunk> {
        std::mem::take(&mut self.ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkvote_core::log::leaf_hash;

    fn filled(registrations: std::ops::Range<u64>) -> (LogChunk, Vec<Fr>) {
        let mut b = ChunkBuilder::default();
        let mut commitments = Vec::new();
        for i in 0..CHUNK_ENTRIES {
            if registrations.contains(&i) {
                let c = Fr::from(i + 1);
                commitments.push(c);
                b.record(
                    i,
                    Entry::registration_leaf(c),
                    EntryKind::Registration,
                    Some(c),
                );
            } else {
                let kind = if i == 0 {
                    EntryKind::Manifest
                } else {
                    EntryKind::Ballot
                };
                b.record(i, leaf_hash(&i.to_le_bytes()), kind, None);
            }
        }
        let mut ready = b.take_ready();
        assert_eq!(ready.len(), 1);
        (ready.remove(0), commitments)
    }

    #[test]
    fn a_chunk_round_trips_and_lists_its_entries() {
        let (chunk, commitments) = filled(1..1_001);
        let decoded = LogChunk::decode(0, &chunk.encode()).unwrap();
        assert_eq!(decoded, chunk);
        let regs: Vec<Fr> = decoded
            .entries()
            .filter_map(|(_, e)| match e {
                ChunkEntry::Registration(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(regs, commitments);
        let (i, first) = decoded.entries().next().unwrap();
        assert_eq!(i, 0);
        assert!(matches!(first, ChunkEntry::Other(EntryKind::Manifest, _)));
        assert_eq!(
            decoded.entries().last().unwrap(),
            (CHUNK_ENTRIES - 1, ChunkEntry::Ballot)
        );
    }

    #[test]
    fn a_commitment_that_is_not_its_entry_is_refused() {
        let (chunk, _) = filled(10..20);
        let mut bytes = chunk.encode();
        let last = bytes.len() - 32;
        bytes[last] ^= 1;
        assert_eq!(
            LogChunk::decode(0, &bytes),
            Err(SnapshotError::Registration {
                chunk: 0,
                index: 19
            })
        );
    }

    #[test]
    fn malformed_chunks_are_refused() {
        let (chunk, _) = filled(10..20);
        let bytes = chunk.encode();
        for bad in [
            bytes[..bytes.len() - 1].to_vec(),
            [&[2u8][..], &bytes[1..]].concat(),
            [&bytes[..], &[0u8; 32][..]].concat(),
            {
                let mut b = bytes.clone();
                b[1 + 32 * CHUNK_ENTRIES as usize + 5] = 200;
                b
            },
        ] {
            assert_eq!(LogChunk::decode(0, &bad), Err(SnapshotError::Malformed(0)));
        }
    }

    #[test]
    fn a_builder_records_only_chunks_it_saw_start() {
        let mut b = ChunkBuilder::default();
        for i in 5..CHUNK_ENTRIES + 3 {
            b.record(i, [0; 32], EntryKind::Ballot, None);
        }
        assert!(b.take_ready().is_empty());
        for i in CHUNK_ENTRIES + 3..2 * CHUNK_ENTRIES {
            b.record(i, [0; 32], EntryKind::Ballot, None);
        }
        let ready = b.take_ready();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].index(), 1);
        // A gap drops the chunk.
        for i in 2 * CHUNK_ENTRIES..3 * CHUNK_ENTRIES {
            if i != 2 * CHUNK_ENTRIES + 9 {
                b.record(i, [0; 32], EntryKind::Ballot, None);
            }
        }
        assert!(b.take_ready().is_empty());
    }

    #[test]
    fn every_kind_has_its_documented_code() {
        use EntryKind::*;
        let documented = [
            (Manifest, 0),
            (SetupContribution, 1),
            (SetupFinal, 2),
            (Dealing, 3),
            (Complaint, 4),
            (Registration, 5),
            (RollFrozen, 6),
            (Open, 7),
            (Ballot, 8),
            (Close, 9),
            (PartialDecryption, 10),
            (Result, 11),
        ];
        assert_eq!(documented.len(), EntryKind::ALL.len());
        for (k, code) in documented {
            assert_eq!(kind_code(k), code);
            assert_eq!(code_kind(code), Some(k));
        }
        assert_eq!(code_kind(12), None);
    }
}
