//! Roll buckets: a voter fetches one subtree of the frozen roll (a bucket of `2^bits`
//! consecutive leaves) and the siblings above it, instead of the whole roll, and computes
//! its own path inside the bucket (`docs/protocol.md` section 9.4.1).
//!
//! The board learns which bucket a voter asked for, not which leaf: the anonymity set of
//! a fetch is the bucket's registered voters. The answer is checked by recomputing the
//! roll's root from the bucket's leaves and the siblings above it, which binds every leaf
//! of the bucket and its position.

use super::{check_size, empty_roots, parent_level, MerklePath, VoterRoll};
use crate::field::{fr_from_bytes, fr_to_bytes};
use ark_bls12_381::Fr;

/// Buckets hold at least `2^MIN_BUCKET_BITS` leaves (256), or the whole roll when it is
/// smaller: a board keeps the tree's levels from this height up, and a voter's
/// anonymity set is never smaller than this.
pub const MIN_BUCKET_BITS: u8 = 8;

/// Why a bucket, or an answer for one, is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BucketError {
    /// Bucket bits outside `min(MIN_BUCKET_BITS, depth)..=depth`.
    #[error("bucket bits {bits} are outside {min}..={depth} for a roll of depth {depth}")]
    Bits {
        /// Asked bits.
        bits: u8,
        /// Smallest allowed.
        min: u8,
        /// The roll's depth (largest allowed).
        depth: u8,
    },
    /// A bucket index past the roll's last bucket.
    #[error("bucket {index} is past the last of {count} buckets")]
    Index {
        /// Asked index.
        index: u64,
        /// Buckets in the roll.
        count: u64,
    },
    /// An answer of the wrong length or with a non-canonical field element.
    #[error("malformed bucket answer: {0}")]
    Malformed(String),
}

/// One bucket of a roll of depth `depth`: leaves `index * 2^bits` to `(index + 1) * 2^bits`
/// (excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketId {
    depth: u8,
    bits: u8,
    index: u64,
}

impl BucketId {
    /// Bucket `index` of `2^bits` leaves in a roll of `depth`.
    pub fn new(depth: u8, bits: u8, index: u64) -> Result<Self, BucketError> {
        let min = MIN_BUCKET_BITS.min(depth);
        if !(1..=32).contains(&depth) || bits < min || bits > depth {
            return Err(BucketError::Bits { bits, min, depth });
        }
        let count = 1u64 << (depth - bits);
        if index >= count {
            return Err(BucketError::Index { index, count });
        }
        Ok(BucketId { depth, bits, index })
    }

    /// The bucket of `2^bits` leaves holding leaf `position`.
    pub fn containing(depth: u8, bits: u8, position: u64) -> Result<Self, BucketError> {
        Self::new(depth, bits, position.checked_shr(bits.into()).unwrap_or(0))
    }

    /// The largest bucket size allowed for a roll of `depth` that is at most `bits`, and
    /// at least the smallest allowed.
    pub fn clamp_bits(depth: u8, bits: u8) -> u8 {
        bits.clamp(MIN_BUCKET_BITS.min(depth), depth)
    }

    /// Leaves per bucket, as a power of two.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The bucket's index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The roll's depth.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The bucket's first leaf position.
    pub fn first_leaf(&self) -> u64 {
        self.index << self.bits
    }

    /// The positions of the registered leaves of this bucket in a roll of `registered`
    /// commitments (empty past the last registration).
    pub fn leaf_range(&self, registered: u64) -> std::ops::Range<u64> {
        let start = self.first_leaf().min(registered);
        let end = (self.first_leaf() + (1u64 << self.bits)).min(registered);
        start..end
    }

    /// Siblings above the bucket: one per level from `bits` to `depth - 1`.
    pub fn upper_siblings(&self) -> usize {
        (self.depth - self.bits) as usize
    }
}

/// A bucket as a voter received it: the siblings above the bucket's subtree (lowest
/// first) and the subtree over the bucket's registered leaves (in roll order).
#[derive(Clone, Debug)]
pub struct RollBucket {
    id: BucketId,
    upper: Vec<Fr>,
    tree: VoterRoll,
}

impl RollBucket {
    /// Decodes a board's answer for bucket `id`: 32 bytes per upper sibling (lowest first),
    /// then 32 bytes per registered leaf, each a canonical field element; the bucket's
    /// subtree is hashed here, once.
    pub fn decode(id: BucketId, bytes: &[u8]) -> Result<Self, BucketError> {
        let malformed = |m: String| BucketError::Malformed(m);
        if bytes.len() % 32 != 0 {
            return Err(malformed("its length is not a multiple of 32".into()));
        }
        let upper_len = id.upper_siblings();
        let total = bytes.len() / 32;
        if total < upper_len || total - upper_len > 1usize << id.bits {
            return Err(malformed(format!(
                "{total} field elements, where {upper_len} siblings and at most {} leaves fit",
                1u64 << id.bits
            )));
        }
        let mut elements = bytes.chunks_exact(32).enumerate().map(|(i, c)| {
            let c: &[u8; 32] = c.try_into().expect("32-byte chunks");
            fr_from_bytes(c, "roll node")
                .map_err(|_| malformed(format!("element {i} is not canonical")))
        });
        let upper = elements
            .by_ref()
            .take(upper_len)
            .collect::<Result<_, _>>()?;
        let leaves = elements.collect::<Result<_, _>>()?;
        // Every bucket has bits >= 1, and at most 2^bits leaves were read.
        let tree = VoterRoll::new(id.bits, leaves).expect("the leaves fit the bucket");
        Ok(RollBucket { id, upper, tree })
    }

    /// The answer's bytes (what a board serves).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 * (self.upper.len() + self.leaves().len()));
        for x in self.upper.iter().chain(self.leaves()) {
            out.extend_from_slice(&fr_to_bytes(x));
        }
        out
    }

    /// Which bucket this is.
    pub fn id(&self) -> BucketId {
        self.id
    }

    /// The bucket's registered leaves.
    pub fn leaves(&self) -> &[Fr] {
        &self.tree.levels[0]
    }

    /// The roll root that the bucket's leaves and the siblings above them give.
    pub fn root(&self) -> Fr {
        let above = MerklePath {
            index: self.id.index,
            siblings: self.upper.clone(),
        };
        above.root(&self.tree.root())
    }

    /// The whole path of `commitment` in the roll (the first leaf equal to it in this
    /// bucket), or `None` if the bucket does not hold it.
    pub fn path(&self, commitment: &Fr) -> Option<MerklePath> {
        let i = self.tree.position(commitment)?;
        let mut siblings = self.tree.path(i)?.siblings;
        siblings.extend_from_slice(&self.upper);
        Some(MerklePath {
            index: self.id.first_leaf() + i as u64,
            siblings,
        })
    }
}

/// The roll's tree from height `floor` up, which is what a board keeps to serve buckets
/// of `2^floor` leaves or more: the leaves themselves are the frozen roll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpperLevels {
    depth: u8,
    floor: u8,
    /// `levels[j]` holds the non-empty nodes at height `floor + j`.
    levels: Vec<Vec<Fr>>,
    zeros: Vec<Fr>,
}

impl UpperLevels {
    /// The levels of a roll of `depth` over `commitments`, from height
    /// `min(MIN_BUCKET_BITS, depth)` up. The levels below are hashed one after the other
    /// and not kept: at most two of them are in memory at once.
    pub fn build(depth: u8, commitments: Vec<Fr>) -> Result<Self, super::RollError> {
        check_size(depth, commitments.len())?;
        let zeros = empty_roots(depth);
        let floor = MIN_BUCKET_BITS.min(depth);
        let mut level = commitments;
        for zero in &zeros[..floor as usize] {
            level = parent_level(&level, zero);
        }
        Ok(Self::above(depth, level, zeros))
    }

    /// The levels from `nodes`, the non-empty nodes at height `min(MIN_BUCKET_BITS,
    /// depth)`, up to the root.
    fn above(depth: u8, nodes: Vec<Fr>, zeros: Vec<Fr>) -> Self {
        let floor = MIN_BUCKET_BITS.min(depth);
        let mut levels = vec![nodes];
        for zero in &zeros[floor as usize..depth as usize] {
            let next = parent_level(levels.last().expect("one level"), zero);
            levels.push(next);
        }
        UpperLevels {
            depth,
            floor,
            levels,
            zeros,
        }
    }

    /// The levels from the nodes at height `min(MIN_BUCKET_BITS, depth)` (as
    /// [`UpperLevels::floor_bytes`] gives them), the levels above recomputed.
    pub fn from_floor_bytes(depth: u8, bytes: &[u8]) -> Result<Self, BucketError> {
        let floor = MIN_BUCKET_BITS.min(depth);
        let bad = |m: &str| BucketError::Malformed(m.to_string());
        if bytes.len() % 32 != 0 || (bytes.len() / 32) as u64 > 1u64 << (depth - floor) {
            return Err(bad("the floor level's length does not fit the roll"));
        }
        let nodes = bytes
            .chunks_exact(32)
            .map(|c| fr_from_bytes(c.try_into().expect("32 bytes"), "roll node"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("a node is not canonical"))?;
        Ok(Self::above(depth, nodes, empty_roots(depth)))
    }

    /// The nodes at the floor height, 32 bytes each (what a board persists).
    pub fn floor_bytes(&self) -> Vec<u8> {
        self.levels[0].iter().flat_map(fr_to_bytes).collect()
    }

    /// The roll's root.
    pub fn root(&self) -> Fr {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or(self.zeros[self.depth as usize])
    }

    /// The siblings above bucket `id`, lowest first (`id.bits() >= floor`, as every
    /// [`BucketId`] of this roll's depth has).
    pub fn upper_siblings(&self, id: BucketId) -> Vec<Fr> {
        debug_assert_eq!(id.depth, self.depth);
        (id.bits..self.depth)
            .map(|h| {
                let node = (id.index >> (h - id.bits)) ^ 1;
                self.levels[(h - self.floor) as usize]
                    .get(node as usize)
                    .copied()
                    .unwrap_or(self.zeros[h as usize])
            })
            .collect()
    }

    /// The answer for bucket `id` given the roll's leaves in it (`leaves` as
    /// [`BucketId::leaf_range`] picks them), 32 bytes each.
    pub fn answer(&self, id: BucketId, leaves: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 * id.upper_siblings() + leaves.len());
        for s in self.upper_siblings(id) {
            out.extend_from_slice(&fr_to_bytes(&s));
        }
        out.extend_from_slice(leaves);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poseidon;

    fn leaves(n: u64) -> Vec<Fr> {
        (0..n)
            .map(|i| poseidon::commitment(&Fr::from(i + 7)))
            .collect()
    }

    fn bytes(xs: &[Fr]) -> Vec<u8> {
        xs.iter().flat_map(fr_to_bytes).collect()
    }

    #[test]
    fn every_bucket_gives_the_whole_roll_s_paths() {
        // Depth 9: buckets of 2^8 and 2^9 leaves; rolls empty, partial and full.
        for n in [0u64, 1, 256, 300, 512] {
            let all = leaves(n);
            let roll = VoterRoll::new(9, all.clone()).unwrap();
            let upper = UpperLevels::build(9, all.clone()).unwrap();
            assert_eq!(upper.root(), roll.root());
            let again = UpperLevels::from_floor_bytes(9, &upper.floor_bytes()).unwrap();
            assert_eq!(again, upper);
            for bits in 8..=9 {
                for index in 0..(1u64 << (9 - bits)) {
                    let id = BucketId::new(9, bits, index).unwrap();
                    let r = id.leaf_range(n);
                    let answer = upper.answer(id, &bytes(&all[r.start as usize..r.end as usize]));
                    let bucket = RollBucket::decode(id, &answer).unwrap();
                    assert_eq!(bucket.encode(), answer);
                    assert_eq!(
                        bucket.root(),
                        roll.root(),
                        "n {n} bits {bits} index {index}"
                    );
                    // The first and last leaves' paths (each path rebuilds the bucket).
                    for p in [r.start, r.end.saturating_sub(1)]
                        .into_iter()
                        .filter(|p| r.contains(p))
                    {
                        let leaf = &all[p as usize];
                        assert_eq!(bucket.path(leaf), roll.path(p as usize));
                        assert_eq!(BucketId::containing(9, bits, p).unwrap(), id);
                    }
                }
            }
        }
    }

    #[test]
    fn a_changed_or_missing_leaf_or_sibling_changes_the_root() {
        let all = leaves(600);
        let upper = UpperLevels::build(10, all.clone()).unwrap();
        let id = BucketId::new(10, 8, 1).unwrap();
        let answer = upper.answer(id, &bytes(&all[256..512]));
        let root = upper.root();
        for at in [0usize, 2 * 32, 5 * 32, answer.len() - 32] {
            let mut bad = answer.clone();
            bad[at] ^= 1;
            let b = RollBucket::decode(id, &bad).unwrap();
            assert_ne!(b.root(), root, "byte {at}");
        }
        let short = RollBucket::decode(id, &answer[..answer.len() - 32]).unwrap();
        assert_ne!(short.root(), root);
        // The same answer read as another bucket gives another root.
        let other = BucketId::new(10, 8, 2).unwrap();
        assert_ne!(RollBucket::decode(other, &answer).unwrap().root(), root);
    }

    #[test]
    fn malformed_answers_and_ids_are_refused() {
        let id = BucketId::new(10, 8, 0).unwrap();
        assert!(RollBucket::decode(id, &[0u8; 33]).is_err());
        assert!(RollBucket::decode(id, &[0u8; 32]).is_err()); // fewer than 2 siblings
        assert!(RollBucket::decode(id, &vec![0u8; 32 * (2 + 257)]).is_err());
        assert!(RollBucket::decode(id, &[0xffu8; 64]).is_err()); // non-canonical
        assert!(matches!(
            BucketId::new(10, 7, 0),
            Err(BucketError::Bits { .. })
        ));
        assert!(matches!(
            BucketId::new(10, 11, 0),
            Err(BucketError::Bits { .. })
        ));
        assert!(matches!(
            BucketId::new(10, 8, 4),
            Err(BucketError::Index { .. })
        ));
        // A small roll is one bucket of its whole size.
        assert!(BucketId::new(2, 2, 0).is_ok());
        assert!(BucketId::new(2, 1, 0).is_err());
        assert_eq!(BucketId::clamp_bits(2, 12), 2);
        assert_eq!(BucketId::clamp_bits(20, 12), 12);
        assert_eq!(BucketId::clamp_bits(20, 3), 8);
        assert!(UpperLevels::from_floor_bytes(10, &[0u8; 32 * 5]).is_err());
    }
}
