//! The homomorphic tally: per contest and option, the sum of the counted ballots'
//! ciphertexts. Which ballots count (one per nullifier, or the last one under
//! `last-ballot-counts`) is the board's decision; this module adds what it is given.

use rayon::prelude::*;
use std::borrow::Borrow;
use zkvote_core::{Ballot, Ciphertext, Manifest};

/// The encrypted totals of an election.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aggregate {
    /// `contests[i][j]`: the sum of every counted ballot's ciphertext for option `j` of
    /// contest `i`.
    pub contests: Vec<Vec<Ciphertext>>,
    /// Number of ballots added (the largest possible count).
    pub ballots: u64,
}

impl Aggregate {
    /// The aggregate of no ballots.
    pub fn empty(manifest: &Manifest) -> Self {
        Aggregate {
            contests: manifest
                .contests
                .iter()
                .map(|c| vec![Ciphertext::zero(); c.options.len()])
                .collect(),
            ballots: 0,
        }
    }

    fn add_ballot(mut self, b: &Ballot) -> Self {
        for (sum, c) in self.contests.iter_mut().zip(&b.contests) {
            for (acc, s) in sum.iter_mut().zip(&c.selections) {
                acc.a += s.a.point();
                acc.b += s.b.point();
            }
        }
        self.ballots += 1;
        self
    }

    /// Adds one ballot given its ciphertexts in the manifest's order (contest by contest,
    /// option by option).
    pub fn add_ciphertexts(&mut self, ciphertexts: impl IntoIterator<Item = Ciphertext>) {
        let flat = self.contests.iter_mut().flat_map(|row| row.iter_mut());
        for (acc, c) in flat.zip(ciphertexts) {
            *acc += c;
        }
        self.ballots += 1;
    }

    /// The aggregate less the ballots of `other`, which must be among its own (e.g. the
    /// ballots that were added but are not counted): `None` when `other` holds more
    /// ballots than this one.
    pub fn minus(mut self, other: &Aggregate) -> Option<Self> {
        self.ballots = self.ballots.checked_sub(other.ballots)?;
        for (x, y) in self.contests.iter_mut().zip(&other.contests) {
            for (a, b) in x.iter_mut().zip(y) {
                *a = Ciphertext {
                    a: a.a - b.a,
                    b: a.b - b.b,
                };
            }
        }
        Some(self)
    }

    /// The sum of two aggregates of the same manifest (ciphertexts and ballot counts).
    pub fn merge(mut self, other: Aggregate) -> Self {
        for (x, y) in self.contests.iter_mut().zip(other.contests) {
            for (a, b) in x.iter_mut().zip(y) {
                *a += b;
            }
        }
        self.ballots += other.ballots;
        self
    }
}

/// Adds up `ballots` (already verified, already in the manifest's shape) in parallel.
pub fn aggregate<B: Borrow<Ballot> + Sync>(manifest: &Manifest, ballots: &[B]) -> Aggregate {
    ballots
        .par_chunks(512)
        .map(|chunk| {
            chunk.iter().fold(Aggregate::empty(manifest), |acc, b| {
                acc.add_ballot(b.borrow())
            })
        })
        .reduce(|| Aggregate::empty(manifest), Aggregate::merge)
}
