//! Check 5: every ballot, in the two stages of `verdict.rs`. Ballots are buffered, decoded
//! and verified in parallel chunks and the valid ones added into a running sum; then the
//! position, replay and nullifier rules are applied in log order and the valid ballots
//! that are not counted taken back out.

use super::verdict::{CastBallot, Outcome, Verdict};
use super::{NotABallot, Verifier};
use crate::report::{CheckReport, Status};
use rand_core::OsRng;
use rayon::prelude::*;
use zkvote_circuits::complete::{vartime_verify_complete_ballots_parallel, CompleteBallot};
use zkvote_core::{Ballot, RevotePolicy};
use zkvote_protocol::{EncodedCiphertext, Entry, RecordEntry};
use zkvote_tally::Aggregate;

impl Verifier {
    /// Check 5 on the buffered ballots: the first stage on the chunk, then (verifying a
    /// whole record) the second on its verdicts, or (verifying a part) the verdicts written
    /// out.
    pub(super) fn flush_ballots(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let chunk = std::mem::take(&mut self.pending);
        let (verdicts, sum) = self.judge(&chunk);
        drop(chunk);
        if let Some(part) = self.split.part_mut() {
            part.write(&verdicts, sum);
            return;
        }
        if let (Some(agg), Some(sum)) = (self.aggregate.take(), sum) {
            self.aggregate = Some(agg.merge(sum));
        }
        for v in verdicts {
            self.apply_verdict(v);
        }
    }

    /// The first stage on a chunk of ballot lines: decoded and verified in parallel (sigma
    /// proofs in one multiscalar multiplication and Groth16 proofs in one batch per core).
    /// Returns the verdicts in log order and the sum of the valid ballots (`None` without
    /// a manifest).
    pub(super) fn judge(&self, chunk: &[RecordEntry]) -> (Vec<Verdict>, Option<Aggregate>) {
        let checkable = self.context.is_some() && self.root.is_some() && self.verifier.is_some();
        let mut judged = Vec::with_capacity(chunk.len());
        let mut ballots = Vec::new();
        for (index, b) in decode_chunk(chunk) {
            let outcome = match first_look(b, checkable) {
                Ok(b) => {
                    ballots.push(b);
                    None
                }
                Err(refused) => Some(refused),
            };
            judged.push((index, outcome));
        }
        let mut failures = self.verify_ballots(&ballots).into_iter().peekable();
        let mut valid = Vec::with_capacity(ballots.len());
        let mut ballots = ballots.into_iter().enumerate();
        let verdicts = judged
            .into_iter()
            .map(|(index, outcome)| {
                let outcome = outcome.unwrap_or_else(|| {
                    let (at, b) = ballots.next().expect("one ballot per unjudged entry");
                    match failures.next_if(|(i, _)| *i == at) {
                        Some((_, reason)) => Outcome::Invalid { reason },
                        None => {
                            let cast = cast_ballot(&b.ballot);
                            valid.push(b.ballot);
                            Outcome::Valid(cast)
                        }
                    }
                });
                Verdict { index, outcome }
            })
            .collect();
        let sum = self
            .manifest
            .as_ref()
            .map(|m| zkvote_tally::aggregate(m, &valid));
        (verdicts, sum)
    }

    /// Verifies every ballot's proofs (in one batch per core); returns the positions of
    /// those that do not hold, in order, with why.
    fn verify_ballots(&self, ballots: &[CompleteBallot]) -> Vec<(usize, String)> {
        let (Some(ctx), Some(root), Some(verifier)) = (&self.context, &self.root, &self.verifier)
        else {
            return Vec::new();
        };
        let per_core = ballots.len().div_ceil(rayon::current_num_threads()).max(8);
        match vartime_verify_complete_ballots_parallel(
            ctx, verifier, root, ballots, per_core, &mut OsRng,
        ) {
            Ok(()) => Vec::new(),
            Err(mut failures) => {
                failures.sort_by_key(|(i, _)| *i);
                failures.dedup_by_key(|(i, _)| *i);
                failures
                    .into_iter()
                    .map(|(i, e)| (i, e.to_string()))
                    .collect()
            }
        }
    }

    /// The second stage on one verdict, in log order: names what the first stage refused,
    /// applies the position rule and then the replay and nullifier rules, and takes a
    /// valid ballot that is not counted (or one it supersedes) back out of the sum.
    pub(super) fn apply_verdict(&mut self, v: Verdict) {
        self.ballots += 1;
        let idx = v.index;
        let open = self.open.as_ref().map(|o| o.0);
        let outside = open.map_or(true, |o| idx <= o) || self.close.is_some_and(|c| idx >= c);
        let period = "cast outside the voting period (between open and close)";
        match v.outcome {
            Outcome::Refused { log, ballot } => {
                if let Some(log) = log {
                    self.c1.fail(Some(idx), log);
                }
                self.c5.fail(Some(idx), ballot);
            }
            Outcome::Invalid { reason } => {
                self.c5.fail(Some(idx), format!("invalid ballot: {reason}"));
                if outside {
                    self.c5.fail(Some(idx), period);
                }
            }
            Outcome::Valid(cast) if outside => {
                self.c5.fail(Some(idx), period);
                self.uncount(idx, &cast.ciphertexts);
            }
            Outcome::Valid(cast) => {
                self.valid += 1;
                self.apply_rules(idx, cast);
            }
        }
    }

    /// The replay and nullifier rules on a valid ballot cast in the voting period.
    fn apply_rules(&mut self, idx: u64, cast: CastBallot) {
        let policy = self
            .manifest
            .as_ref()
            .map_or(RevotePolicy::Reject, |m| m.revote_policy);
        if let Some(prev) = self.memory.cast_before(cast.keys()) {
            self.c5.fail(
                Some(idx),
                format!("a ciphertext of this ballot was already cast in entry {prev}"),
            );
            return self.uncount(idx, &cast.ciphertexts);
        }
        self.memory.remember_cast(cast.keys(), idx);
        let kept = (policy == RevotePolicy::LastBallotCounts).then(|| cast.ciphertext_bytes());
        match (self.memory.counted(&cast.nullifier), policy) {
            (Some(prev), RevotePolicy::Reject) => {
                self.c5.fail(
                    Some(idx),
                    format!("this voter (nullifier) already voted in entry {prev}"),
                );
                self.uncount(idx, &cast.ciphertexts);
            }
            (prev, _) => {
                self.superseded += u64::from(prev.is_some());
                if let Some(old) = self.memory.count(cast.nullifier, idx, kept.as_deref()) {
                    let old: Vec<_> = old.into_iter().map(EncodedCiphertext::from_bytes).collect();
                    self.uncount(idx, &old);
                }
            }
        }
    }

    /// Takes a ballot that was added into the sum but is not counted back out (`idx` is
    /// the entry that made it so).
    fn uncount(&mut self, idx: u64, ciphertexts: &[EncodedCiphertext]) {
        let Some(m) = &self.manifest else { return };
        let Some(decoded) = ciphertexts
            .iter()
            .map(|c| c.decode())
            .collect::<Option<Vec<_>>>()
        else {
            // Only a corrupt part of a split verification can bring this.
            self.broken.get_or_insert(format!(
                "the ciphertexts taken out at entry {idx} do not decode"
            ));
            return;
        };
        self.uncounted
            .get_or_insert_with(|| Aggregate::empty(m))
            .add_ciphertexts(decoded);
    }

    /// The aggregate of the counted ballots: every valid ballot's sum less the ones not
    /// counted.
    pub(super) fn counted_aggregate(&mut self) -> Option<Aggregate> {
        let sum = self.aggregate.take()?;
        match self.uncounted.take() {
            None => Some(sum),
            Some(out) => {
                let counted = sum.minus(&out);
                if counted.is_none() {
                    self.broken.get_or_insert(
                        "more ballots were taken out of the sum than were added".into(),
                    );
                }
                counted
            }
        }
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

/// A ballot line as decoded: the ballot, when it can be verified, or why it is refused.
fn first_look(
    b: Result<CompleteBallot, NotABallot>,
    checkable: bool,
) -> Result<CompleteBallot, Outcome> {
    let (log, ballot) = match b {
        Ok(b) if checkable => return Ok(b),
        Ok(_) => (None, String::new()),
        Err(NotABallot::Kind(kind)) => (
            Some(format!(
                "the line says \"ballot\" but the entry is a {kind}"
            )),
            format!("the ballot does not decode: {kind}"),
        ),
        Err(NotABallot::Invalid(e)) => (None, format!("the ballot does not decode: {e}")),
    };
    let ballot = if checkable {
        ballot
    } else {
        UNCHECKABLE.into()
    };
    Err(Outcome::Refused { log, ballot })
}

/// What the rules need of a valid ballot.
fn cast_ballot(b: &Ballot) -> CastBallot {
    CastBallot {
        nullifier: b.nullifier,
        ciphertexts: b
            .contests
            .iter()
            .flat_map(|c| c.selections.iter())
            .map(|s| {
                let mut bytes = [0u8; 64];
                bytes[..32].copy_from_slice(s.a.as_bytes());
                bytes[32..].copy_from_slice(s.b.as_bytes());
                EncodedCiphertext::from_bytes(bytes)
            })
            .collect(),
    }
}

/// Check 5's failure for a ballot before what makes ballots checkable.
const UNCHECKABLE: &str =
    "cannot be checked: no valid manifest, open entry (joint key) or frozen roll root before it";
