//! The voter roll: a binary Poseidon Merkle tree of fixed depth over the registered
//! commitments, leaves in registration order, empty positions holding
//! [`poseidon::empty_leaf`].

use crate::poseidon;
use ark_bls12_381::Fr;

pub mod bucket;

/// Why a roll could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollError {
    /// More commitments than `2^depth` leaves.
    #[error("{count} commitments do not fit a tree of depth {depth}")]
    TooManyLeaves {
        /// Commitments given.
        count: usize,
        /// Tree depth.
        depth: u8,
    },
    /// A depth outside the supported range.
    #[error("roll depth {0} is outside 1..=32")]
    Depth(u8),
}

/// Roots of empty subtrees: `zeros[0]` is the empty leaf, `zeros[k+1] = H(zeros[k], zeros[k])`.
pub fn empty_roots(depth: u8) -> Vec<Fr> {
    let mut z = Vec::with_capacity(depth as usize + 1);
    z.push(poseidon::empty_leaf());
    for k in 0..depth as usize {
        z.push(poseidon::node(&z[k], &z[k]));
    }
    z
}

/// An authentication path: the leaf index (its bits, least significant first, say whether
/// the node is a right child at each level) and the sibling at each level, leaf first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerklePath {
    /// Leaf position.
    pub index: u64,
    /// Siblings from the leaf level up.
    pub siblings: Vec<Fr>,
}

impl MerklePath {
    /// The root this path gives for `leaf`.
    pub fn root(&self, leaf: &Fr) -> Fr {
        let mut cur = *leaf;
        for (k, sib) in self.siblings.iter().enumerate() {
            cur = if (self.index >> k) & 1 == 1 {
                poseidon::node(sib, &cur)
            } else {
                poseidon::node(&cur, sib)
            };
        }
        cur
    }
}

/// A voter-roll Merkle tree with every level kept, for fast path extraction.
#[derive(Clone, Debug)]
pub struct VoterRoll {
    depth: u8,
    levels: Vec<Vec<Fr>>,
    zeros: Vec<Fr>,
}

fn parent_level(children: &[Fr], zero: &Fr) -> Vec<Fr> {
    let pair = |c: &[Fr]| poseidon::node(&c[0], c.get(1).unwrap_or(zero));
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        children.par_chunks(2).map(pair).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        children.chunks(2).map(pair).collect()
    }
}

/// Refuses a depth outside `1..=32`, or more commitments than a roll of `depth` holds.
fn check_size(depth: u8, count: usize) -> Result<(), RollError> {
    if !(1..=32).contains(&depth) {
        return Err(RollError::Depth(depth));
    }
    if count as u128 > 1u128 << depth {
        return Err(RollError::TooManyLeaves { count, depth });
    }
    Ok(())
}

impl VoterRoll {
    /// Builds the tree of `depth` over `commitments` (in registration order).
    pub fn new(depth: u8, commitments: Vec<Fr>) -> Result<Self, RollError> {
        check_size(depth, commitments.len())?;
        let zeros = empty_roots(depth);
        let mut levels = Vec::with_capacity(depth as usize + 1);
        levels.push(commitments);
        for k in 0..depth as usize {
            let next = parent_level(&levels[k], &zeros[k]);
            levels.push(next);
        }
        Ok(VoterRoll {
            depth,
            levels,
            zeros,
        })
    }

    /// Tree depth.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// Number of registered commitments.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// True when no one is registered.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The root.
    pub fn root(&self) -> Fr {
        self.levels[self.depth as usize]
            .first()
            .copied()
            .unwrap_or(self.zeros[self.depth as usize])
    }

    /// The leaf at `index`.
    pub fn leaf(&self, index: usize) -> Option<&Fr> {
        self.levels[0].get(index)
    }

    /// Position of a commitment (linear scan).
    pub fn position(&self, commitment: &Fr) -> Option<usize> {
        self.levels[0].iter().position(|c| c == commitment)
    }

    /// The authentication path of leaf `index`.
    pub fn path(&self, index: usize) -> Option<MerklePath> {
        if index >= self.len() {
            return None;
        }
        let siblings = (0..self.depth as usize)
            .map(|k| {
                let i = (index >> k) ^ 1;
                self.levels[k].get(i).copied().unwrap_or(self.zeros[k])
            })
            .collect();
        Some(MerklePath {
            index: index as u64,
            siblings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent recursive definition of the root.
    fn reference_root(leaves: &[Fr], depth: u8, offset: usize) -> Fr {
        if depth == 0 {
            return leaves
                .get(offset)
                .copied()
                .unwrap_or_else(poseidon::empty_leaf);
        }
        let half = 1usize << (depth - 1);
        poseidon::node(
            &reference_root(leaves, depth - 1, offset),
            &reference_root(leaves, depth - 1, offset + half),
        )
    }

    #[test]
    fn roots_and_paths_agree_with_the_recursive_definition() {
        for n in [0usize, 1, 2, 3, 5, 8, 13, 16] {
            let leaves: Vec<Fr> = (0..n as u64)
                .map(|i| poseidon::commitment(&Fr::from(i + 100)))
                .collect();
            let roll = VoterRoll::new(4, leaves.clone()).unwrap();
            assert_eq!(roll.root(), reference_root(&leaves, 4, 0), "n = {n}");
            for (i, leaf) in leaves.iter().enumerate() {
                let p = roll.path(i).unwrap();
                assert_eq!(p.root(leaf), roll.root());
                // A wrong leaf or index gives another root.
                assert_ne!(p.root(&Fr::from(1u64)), roll.root());
                let mut q = p.clone();
                q.index ^= 1;
                if n > 1 {
                    assert_ne!(q.root(leaf), roll.root());
                }
            }
            assert!(roll.path(n).is_none());
        }
    }

    #[test]
    fn capacity_is_enforced() {
        let leaves = vec![Fr::from(1u64); 17];
        assert!(matches!(
            VoterRoll::new(4, leaves),
            Err(RollError::TooManyLeaves { .. })
        ));
        assert!(matches!(
            VoterRoll::new(0, vec![]),
            Err(RollError::Depth(0))
        ));
        assert_eq!(VoterRoll::new(3, vec![]).unwrap().root(), empty_roots(3)[3]);
    }
}
