//! Check 5: every ballot. Ballots are buffered, decoded and verified in parallel chunks
//! (sigma proofs in one multiscalar multiplication and Groth16 proofs in one batch per
//! core), then the position, replay and nullifier rules are applied in log order and the
//! counted ballots added into the running aggregate.

use super::{NotABallot, Verifier};
use crate::report::{CheckReport, Status};
use curve25519_dalek::ristretto::CompressedRistretto;
use rand_core::OsRng;
use rayon::prelude::*;
use std::collections::HashMap;
use zkvote_circuits::complete::{vartime_verify_complete_ballots_parallel, CompleteBallot};
use zkvote_core::{Ballot, Ciphertext, RevotePolicy};
use zkvote_protocol::{Entry, RecordEntry};

impl Verifier {
    /// Check 5 on the buffered ballots: decode and verify in parallel, then apply the
    /// position, replay and nullifier rules in log order and update the aggregate.
    pub(super) fn flush_ballots(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let chunk = std::mem::take(&mut self.pending);
        self.ballots += chunk.len() as u64;
        let decoded = decode_chunk(&chunk);
        drop(chunk);
        let Some((index, ballots)) = self.usable_ballots(decoded) else {
            return;
        };
        let valid = self.verify_chunk(&index, &ballots);
        let (counted, removed) = self.apply_rules(&index, &ballots, &valid);
        let added: Vec<&Ballot> = counted.iter().map(|&at| &ballots[at].ballot).collect();
        if let Some(m) = &self.manifest {
            let sum = zkvote_tally::aggregate(m, &added);
            if let Some(mut agg) = self.aggregate.take().map(|a| a.merge(sum)) {
                for old in removed {
                    agg.remove_ballot(old.iter().map(stored_ciphertext));
                }
                self.aggregate = Some(agg);
            }
        }
    }

    /// The ballots that decoded, with their indices; the others are named (check 1 for an
    /// entry of another kind, check 5 for one that does not decode). `None` when nothing
    /// before them makes ballots checkable (manifest, frozen root, joint key).
    fn usable_ballots(
        &mut self,
        decoded: Vec<(u64, Result<CompleteBallot, NotABallot>)>,
    ) -> Option<(Vec<u64>, Vec<CompleteBallot>)> {
        for (idx, b) in &decoded {
            if let Err(NotABallot::Kind(kind)) = b {
                self.c1.fail(
                    Some(*idx),
                    format!("the line says \"ballot\" but the entry is a {kind}"),
                );
            }
        }
        if self.context.is_none() || self.root.is_none() || self.verifier.is_none() {
            for (idx, _) in &decoded {
                self.c5.fail(
                    Some(*idx),
                    "cannot be checked: no valid manifest, open entry (joint key) or frozen roll root before it",
                );
            }
            return None;
        }
        let mut index = Vec::with_capacity(decoded.len());
        let mut ballots = Vec::with_capacity(decoded.len());
        for (idx, b) in decoded {
            match b {
                Ok(b) => {
                    index.push(idx);
                    ballots.push(b);
                }
                Err(NotABallot::Kind(kind)) => self
                    .c5
                    .fail(Some(idx), format!("the ballot does not decode: {kind}")),
                Err(NotABallot::Invalid(e)) => self
                    .c5
                    .fail(Some(idx), format!("the ballot does not decode: {e}")),
            }
        }
        Some((index, ballots))
    }

    /// Verifies every ballot's proofs (in one batch per core); returns whether each holds,
    /// naming those that do not.
    fn verify_chunk(&mut self, index: &[u64], ballots: &[CompleteBallot]) -> Vec<bool> {
        let mut valid = vec![true; ballots.len()];
        let (Some(ctx), Some(root), Some(verifier)) = (&self.context, &self.root, &self.verifier)
        else {
            return vec![false; ballots.len()];
        };
        let per_core = ballots.len().div_ceil(rayon::current_num_threads()).max(8);
        if let Err(failures) = vartime_verify_complete_ballots_parallel(
            ctx, verifier, root, ballots, per_core, &mut OsRng,
        ) {
            for (i, e) in failures {
                valid[i] = false;
                self.c5.fail(Some(index[i]), format!("invalid ballot: {e}"));
            }
        }
        valid
    }

    /// The position, replay and nullifier rules, in log order. Returns the positions in
    /// the chunk of the ballots counted so far, and the kept ciphertexts of ballots counted
    /// in earlier chunks and now superseded (to subtract from the running sum).
    fn apply_rules(
        &mut self,
        index: &[u64],
        ballots: &[CompleteBallot],
        valid: &[bool],
    ) -> (Vec<usize>, Vec<Vec<[u8; 64]>>) {
        let open = self.open.as_ref().map(|o| o.0);
        let policy = self
            .manifest
            .as_ref()
            .map_or(RevotePolicy::Reject, |m| m.revote_policy);
        // The ballots of this chunk counted so far, per nullifier: a ballot superseded
        // within the chunk is simply not added; one counted in an earlier chunk is
        // subtracted from the running sum.
        let mut chunk_counted: HashMap<[u8; 32], usize> = HashMap::new();
        let mut removed: Vec<Vec<[u8; 64]>> = Vec::new();
        for (at, cb) in ballots.iter().enumerate() {
            let idx = index[at];
            if open.map_or(true, |o| idx <= o) || self.close.is_some_and(|c| idx >= c) {
                self.c5.fail(
                    Some(idx),
                    "cast outside the voting period (between open and close)",
                );
                continue;
            }
            if !valid[at] {
                continue;
            }
            self.valid += 1;
            let b = &cb.ballot;
            if let Some(prev) = self.memory.cast_before(b.ciphertext_keys()) {
                self.c5.fail(
                    Some(idx),
                    format!("a ciphertext of this ballot was already cast in entry {prev}"),
                );
                continue;
            }
            self.memory.remember_cast(b.ciphertext_keys(), idx);
            match (self.memory.counted(&b.nullifier), policy) {
                (Some(prev), RevotePolicy::Reject) => {
                    self.c5.fail(
                        Some(idx),
                        format!("this voter (nullifier) already voted in entry {prev}"),
                    );
                }
                (Some(_), RevotePolicy::LastBallotCounts) => {
                    self.superseded += 1;
                    let old = self
                        .memory
                        .count(b.nullifier, idx, Some(&kept_ciphertexts(b)));
                    // A ballot counted earlier in this chunk was never added.
                    if chunk_counted.insert(b.nullifier, at).is_none() {
                        removed.extend(old);
                    }
                }
                (None, _) => {
                    let kept =
                        (policy == RevotePolicy::LastBallotCounts).then(|| kept_ciphertexts(b));
                    self.memory.count(b.nullifier, idx, kept.as_deref());
                    chunk_counted.insert(b.nullifier, at);
                }
            }
        }
        let mut counted: Vec<usize> = chunk_counted.into_values().collect();
        counted.sort_unstable();
        (counted, removed)
    }

    /// Check 5, once the record is in: the counts.
    pub(super) fn check_5(&mut self) -> CheckReport {
        let mut c5 = std::mem::replace(&mut self.c5, CheckReport::new(5, ""));
        if self.ballots == 0 && c5.status == Status::Pass {
            c5.not_applicable("no ballots");
        }
        let counted = self.memory.voters() as u64;
        c5.count("ballots", self.ballots);
        c5.count("valid", self.valid);
        c5.count("counted", counted);
        c5.count("superseded", self.superseded);
        c5.failures.sort_by_key(|f| f.index);
        c5
    }
}

/// A counted ballot's ciphertext kept compressed (`A || B`) while it may be superseded.
fn stored_ciphertext(bytes: &[u8; 64]) -> Ciphertext {
    let point = |b: &[u8]| {
        CompressedRistretto::from_slice(b)
            .ok()
            .and_then(|c| c.decompress())
            .expect("kept from a decoded ballot")
    };
    Ciphertext {
        a: point(&bytes[..32]),
        b: point(&bytes[32..]),
    }
}

/// Decodes a chunk of ballot lines in parallel.
fn decode_chunk(chunk: &[RecordEntry]) -> Vec<(u64, Result<CompleteBallot, NotABallot>)> {
    chunk
        .par_iter()
        .map(|e| {
            let b = match Entry::decode(&e.data) {
                Ok(Entry::Ballot { ballot }) => Ok(ballot),
                Ok(other) => Err(NotABallot::Kind(other.kind())),
                Err(x) => Err(NotABallot::Invalid(x.to_string())),
            };
            (e.index, b)
        })
        .collect()
}

/// A counted ballot's ciphertexts as kept under `last-ballot-counts`: each selection's
/// compressed `A || B`.
fn kept_ciphertexts(b: &Ballot) -> Vec<u8> {
    b.contests
        .iter()
        .flat_map(|c| c.selections.iter())
        .flat_map(|s| s.a.as_bytes().iter().chain(s.b.as_bytes()).copied())
        .collect()
}
