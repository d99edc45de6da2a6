//! The eight numbered checks, run over a record streamed entry by entry: what stays in
//! memory is what the rules need (ciphertext keys, nullifiers, registrations), never the
//! ballots' bodies, which are decoded and verified in parallel chunks and then dropped.
//! Each numbered check of `docs/protocol.md` section 13 is one module here (`log` is
//! check 1, `manifest` 2, `ceremony` 3, `roll` 4, `ballots` 5, `aggregate` 6, `decryption`
//! 7, `result` 8); this module feeds them the entries in order and gathers the report.

mod aggregate;
mod ballots;
mod ceremony;
mod decryption;
mod log;
mod manifest;
pub mod memory;
mod result;
mod roll;
mod setup;
pub mod verdict;

use crate::report::{CheckReport, Report, Status};
use crate::split::{Mode, PartEnd, SplitError};
use ark_bls12_381::Fr;
use memory::BallotMemory;
use std::io::BufRead;
use std::sync::Arc;
use zkvote_circuits::groth16::EligibilityVerifier;
use zkvote_core::log::{leaf_hash, RootAccumulator};
use zkvote_core::{ElectionContext, ElectionPublicKey, Manifest};
use zkvote_protocol::record::LineReader;
use zkvote_protocol::{
    ApplyError, ElectionState, Entry, EntryKind, Phase, Record, RecordEntry, RecordError,
};
use zkvote_tally::{Aggregate, CeremonyContext, CeremonyOutcome, PartialDecryption};

/// Ballots verified per step (each step is split across the cores, one batch each).
const BALLOT_CHUNK: usize = 1024;

/// What the tally needs, as established by a verification: the manifest, the ceremony's
/// public outcome, the aggregate of the counted ballots and the valid partial decryptions.
#[derive(Clone, Debug)]
pub struct TallyInputs {
    /// The manifest.
    pub manifest: Manifest,
    /// The ceremony parameters.
    pub ceremony: CeremonyContext,
    /// The ceremony's public outcome.
    pub outcome: CeremonyOutcome,
    /// The aggregate of the counted ballots.
    pub aggregate: Aggregate,
    /// The partial decryptions that verify, one per trustee.
    pub partials: Vec<PartialDecryption>,
}

/// Runs every check on an in-memory record.
pub fn verify(record: &Record) -> Report {
    verify_record(record).0
}

/// Like [`verify`], also returning what the tally needs when checks 1 to 5 pass.
pub fn verify_record(record: &Record) -> (Report, Option<TallyInputs>) {
    let mut v = Verifier::new();
    for e in &record.entries {
        v.push(e.clone());
    }
    v.finish(&record.checkpoint)
}

/// Streams a record from `reader` (JSON Lines, section 12.3) through every check.
/// `progress` is told the number of bytes read so far. A line that is not in the record's
/// form, or a missing checkpoint line, fails check 1 (naming the line); only an I/O error
/// ends verification without a report.
pub fn verify_reader(
    reader: impl BufRead,
    progress: Option<&dyn Fn(u64)>,
) -> Result<(Report, Option<TallyInputs>), RecordError> {
    let mut v = Verifier::new();
    let checkpoint = stream(reader, progress, &mut v)?;
    Ok(v.finish(&checkpoint))
}

/// Feeds every entry of the record read from `reader` to `v`; returns the checkpoint line
/// (empty, with check 1 failed, when there is none).
pub(crate) fn stream(
    reader: impl BufRead,
    progress: Option<&dyn Fn(u64)>,
    v: &mut Verifier,
) -> Result<String, RecordError> {
    let mut lines = LineReader::new(reader.lines());
    let mut k = 0u64;
    while let Some(entry) = lines.next() {
        if v.stopped() {
            break;
        }
        match entry {
            Ok(e) => v.push(e),
            Err(RecordError::Line { line, message }) => v.bad_line(line, &message),
            Err(e) => return Err(e),
        }
        k += 1;
        if let Some(p) = progress {
            if k % 256 == 0 {
                p(lines.bytes());
            }
        }
    }
    Ok(match lines.checkpoint() {
        Ok(c) => c,
        Err(e) => {
            v.c1.fail(None, e.to_string());
            String::new()
        }
    })
}

type Decoded = (u64, Result<Entry, String>);

/// Why an entry on a ballot line is not a ballot.
enum NotABallot {
    /// It is an entry of another kind.
    Kind(EntryKind),
    /// It does not decode.
    Invalid(String),
}

/// The streaming verifier: feed it every entry in order, then the checkpoint.
pub struct Verifier {
    n: u64,
    leaves: RootAccumulator,
    c1: CheckReport,
    c2: CheckReport,
    c5: CheckReport,
    /// The phase after the entries so far (`None` before a manifest at index 0).
    phase: Option<Phase>,
    manifest: Option<Manifest>,
    verifier: Option<Arc<EligibilityVerifier>>,
    ceremony_messages: Vec<Decoded>,
    /// Registrations before the freeze that the election state does not hold: those that
    /// do not decode (and all of them when there is no state).
    registrations: Vec<(u64, Result<Fr, String>)>,
    late_registrations: Vec<u64>,
    frozen: Option<Decoded>,
    open: Option<Decoded>,
    close: Option<u64>,
    partials: Vec<Decoded>,
    result: Option<Decoded>,
    /// The election's public state, built by the board's rules (`ElectionState::apply`)
    /// from the entries as they come, once a valid manifest is in.
    state: Option<ElectionState>,
    /// Entries the election state refused, as the check of their kind names them:
    /// (check number, index, message).
    refused: Vec<(u8, u64, String)>,
    // Ballots.
    context: Option<ElectionContext>,
    root: Option<Fr>,
    pending: Vec<RecordEntry>,
    chunk: usize,
    ballots: u64,
    valid: u64,
    superseded: u64,
    /// What the replay and nullifier rules remember (`memory.rs`).
    memory: BallotMemory,
    /// The sum of the valid ballots so far.
    aggregate: Option<Aggregate>,
    /// The sum of the valid ballots that are not counted (taken out at the end).
    uncounted: Option<Aggregate>,
    /// Whole, one part, or a merge of parts (`split.rs`).
    pub(crate) split: Mode,
    /// Why the aggregate cannot be trusted: only a corrupt part can bring this.
    broken: Option<String>,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

impl Verifier {
    /// A verifier that has seen nothing yet.
    pub fn new() -> Self {
        Verifier {
            n: 0,
            leaves: RootAccumulator::default(),
            c1: CheckReport::new(
                1,
                "log: indices, leaf hashes, Merkle root, signed checkpoint, order of entries",
            ),
            c2: CheckReport::new(2, "manifest and eligibility verifying key"),
            c5: CheckReport::new(5, "ballots"),
            phase: None,
            manifest: None,
            verifier: None,
            ceremony_messages: Vec::new(),
            registrations: Vec::new(),
            late_registrations: Vec::new(),
            frozen: None,
            open: None,
            close: None,
            partials: Vec::new(),
            result: None,
            state: None,
            refused: Vec::new(),
            context: None,
            root: None,
            pending: Vec::new(),
            chunk: BALLOT_CHUNK,
            ballots: 0,
            valid: 0,
            superseded: 0,
            memory: BallotMemory::default(),
            aggregate: None,
            uncounted: None,
            split: Mode::Whole,
            broken: None,
        }
    }

    /// A verifier that verifies ballots in chunks of `chunk` (default 1,024; the result
    /// does not depend on it).
    pub fn with_ballot_chunk(chunk: usize) -> Self {
        Verifier {
            chunk: chunk.max(1),
            ..Verifier::new()
        }
    }

    /// Records a line of the record that is not an entry or checkpoint line in the
    /// record's form (check 1 fails, naming the line; the line is skipped).
    pub fn bad_line(&mut self, line: usize, message: &str) {
        self.c1.fail(None, format!("record line {line}: {message}"));
    }

    /// Takes the next entry of the record.
    pub fn push(&mut self, e: RecordEntry) {
        let pos = self.n;
        self.n += 1;
        let leaf = leaf_hash(&e.data);
        if let Some(part) = self.split.entry(pos, &leaf) {
            self.add_part_sum(part);
        }
        let kind = self.check_order(pos, &e, leaf);
        if kind == Some(EntryKind::Ballot) {
            if let Some(state) = &mut self.state {
                // Check 1 names a ballot out of its phase; check 5 reads the bodies.
                let _ = state.apply_unread_ballot();
            }
            if let Mode::Merge(parts) = &mut self.split {
                if let Some(v) = parts.verdict(e.index) {
                    self.apply_part_verdict(v);
                }
            } else if self.split.judges(e.index) {
                self.pending.push(e);
                if self.pending.len() >= self.chunk {
                    self.flush_ballots();
                }
            }
            return;
        }
        if self.split.part_mut().is_some() && self.skim_setup(kind, &e) {
            return;
        }
        let index = e.index;
        let decoded = Entry::decode(&e.data).map_err(|err| err.to_string());
        self.check_line_kind(&e, &decoded);
        if pos == 0 {
            self.take_manifest(index, &decoded);
            if let Some(m) = &self.manifest {
                // A version-2 election starts in its setup ceremony.
                if self.phase.is_some() {
                    self.phase = Some(zkvote_protocol::genesis_phase(m.version()));
                }
            }
            return;
        }
        if let Some(ApplyError::Duplicate(_)) = self.apply(index, kind, &decoded) {
            return;
        }
        match kind {
            Some(EntryKind::Dealing | EntryKind::Complaint) => {
                self.ceremony_messages.push((index, decoded))
            }
            Some(EntryKind::Registration) => {
                if self.frozen.is_some() {
                    self.late_registrations.push(index);
                } else {
                    // The registered commitments are the election state's; only what it
                    // could not apply is kept here, to be named (or, without a state,
                    // everything).
                    let c = decoded.and_then(|d| match d {
                        Entry::Registration { commitment } => Ok(commitment.get()),
                        _ => Err("not a registration".into()),
                    });
                    if c.is_err() || self.state.is_none() {
                        self.registrations.push((index, c));
                    }
                }
            }
            Some(EntryKind::RollFrozen) if self.frozen.is_none() => {
                if let Ok(Entry::RollFrozen { root, .. }) = &decoded {
                    self.root = Some(root.get());
                }
                self.frozen = Some((index, decoded));
            }
            Some(EntryKind::Open) if self.open.is_none() => {
                if let (Ok(Entry::Open { joint_key, .. }), Some(m)) = (&decoded, &self.manifest) {
                    if let Ok(pk) = ElectionPublicKey::new(*joint_key) {
                        self.context = Some(ElectionContext::new(m.clone(), pk));
                    }
                }
                self.open = Some((index, decoded));
            }
            Some(EntryKind::Close) if self.close.is_none() => {
                self.flush_ballots();
                self.close = Some(index);
            }
            Some(EntryKind::SetupFinal) => {
                // The keys the ceremony pinned check every ballot from now on.
                if let Some(state) = &self.state {
                    self.verifier = state.verifier().cloned();
                }
            }
            Some(EntryKind::PartialDecryption) => self.partials.push((index, decoded)),
            Some(EntryKind::Result) if self.result.is_none() => {
                self.result = Some((index, decoded))
            }
            _ => {}
        }
    }

    /// Verifies the ballots taken so far (they are otherwise verified a chunk at a time),
    /// so that [`Verifier::findings`] covers every entry pushed.
    pub fn settle(&mut self) {
        self.flush_ballots();
    }

    /// The number of entries pushed.
    pub fn entries(&self) -> u64 {
        self.n
    }

    /// The election's manifest, once entry 0 is a valid one.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// What the checks that run entry by entry have found so far (check 1 on the order,
    /// indices and kinds of entries; check 2; check 5 on the ballots settled; the entries
    /// the election's rules refused, under the check of their kind), as (check number,
    /// failure), the first [`crate::report::MAX_LISTED_FAILURES`] of each kind. The checks
    /// that need the whole record (the root against the checkpoint, the roll, the
    /// aggregate, the decryptions, the result) run in [`Verifier::finish`].
    pub fn findings(&self) -> Vec<(u8, crate::Failure)> {
        let mut out: Vec<(u8, crate::Failure)> = [&self.c1, &self.c2, &self.c5]
            .into_iter()
            .flat_map(|c| c.failures.iter().map(|f| (c.number, f.clone())))
            .collect();
        out.extend(
            self.refused
                .iter()
                .take(crate::report::MAX_LISTED_FAILURES)
                .map(|(check, index, message)| {
                    (
                        *check,
                        crate::Failure {
                            index: Some(*index),
                            message: message.clone(),
                        },
                    )
                }),
        );
        out
    }

    /// Verifying a part: takes a setup ceremony's entry by the phase rule alone, and from
    /// the `setup-final` entry the verifying key it pins, without checking the ceremony
    /// (a part's verdicts need only the pinned key; the merge checks the ceremony, check 9,
    /// on the same entries, which the part's digest binds). Returns whether the entry was
    /// such an entry.
    fn skim_setup(&mut self, kind: Option<EntryKind>, e: &RecordEntry) -> bool {
        let Some(k @ (EntryKind::SetupContribution | EntryKind::SetupFinal)) = kind else {
            return false;
        };
        if let Some(state) = &mut self.state {
            let _ = state.apply_unread(k);
        }
        if k == EntryKind::SetupFinal {
            if let Ok(Entry::SetupFinal { groth16_vk, .. }) = Entry::decode(&e.data) {
                self.verifier = groth16_vk.verifier().ok().map(Arc::new);
            }
        }
        true
    }

    /// Applies the entry to the election's state by the board's rules
    /// (`ElectionState::apply`: authorship of ceremony messages, one entry per author, the
    /// roll's capacity and count, the ceremony's outcome at the open). A refusal is named
    /// by the check of its kind (check 1 already names one out of its phase), and the state
    /// moves past the entry by the phase rule alone. Returns the refusal.
    fn apply(
        &mut self,
        index: u64,
        kind: Option<EntryKind>,
        decoded: &Result<Entry, String>,
    ) -> Option<ApplyError> {
        let state = self.state.as_mut()?;
        let refusal = match decoded {
            Ok(entry) => state.apply(entry).err()?,
            Err(_) => {
                // Named as undecodable by the check of its kind.
                if let Some(k) = kind {
                    let _ = state.apply_unread(k);
                }
                return None;
            }
        };
        if let Some(k) = kind {
            let _ = state.apply_unread(k);
        }
        let check = match (&refusal, kind) {
            (ApplyError::Transition(_), _) => None,
            (ApplyError::RollFull(_) | ApplyError::RollCount { .. }, _) => Some(4),
            (_, Some(EntryKind::PartialDecryption)) => Some(7),
            (_, Some(EntryKind::SetupContribution | EntryKind::SetupFinal)) => Some(9),
            _ => Some(3),
        };
        if let Some(check) = check {
            self.refused.push((check, index, refusal.to_string()));
        }
        Some(refusal)
    }

    /// Names, in `report`, the refused entries that check `number` is responsible for.
    fn name_refused(&self, number: u8, report: &mut CheckReport) {
        for (check, index, message) in &self.refused {
            if *check == number {
                report.fail(Some(*index), message.clone());
            }
        }
    }

    /// Adds a part's sum of valid ballots (merging a split verification).
    fn add_part_sum(&mut self, part: crate::split::PartSum) {
        let Some(m) = &self.manifest else { return };
        match part.decode(m) {
            Ok(sum) => {
                self.aggregate = self.aggregate.take().map(|agg| agg.merge(sum));
            }
            Err(e) => {
                self.broken.get_or_insert(e.to_string());
            }
        }
    }

    /// Applies a verdict read from a part, if it has the manifest's shape (a part is the
    /// verifier's own computation, but a corrupt one must not steer the rules' memory).
    fn apply_part_verdict(&mut self, v: verdict::Verdict) {
        if let (verdict::Outcome::Valid(cast), Some(m)) = (&v.outcome, &self.manifest) {
            let selections: usize = m.contests.iter().map(|c| c.options.len()).sum();
            if cast.ciphertexts.len() != selections {
                self.broken.get_or_insert(format!(
                    "the verdict on entry {} does not have the manifest's shape",
                    v.index
                ));
                return;
            }
        }
        self.apply_verdict(v);
    }

    /// Whether a split verification has found it cannot go on (reading the rest of the
    /// record would not change that).
    pub(crate) fn stopped(&self) -> bool {
        self.broken.is_some() || self.split.failed()
    }

    /// Ends the verification of a part: writes its trailer.
    pub(crate) fn finish_part(mut self) -> Result<PartEnd, SplitError> {
        self.flush_ballots();
        match std::mem::take(&mut self.split) {
            Mode::Part(writer) => writer.finish(self.manifest.as_ref()),
            _ => Err(SplitError::Parts("not verifying a part".into())),
        }
    }

    /// Ends a merge: checks the last part, then runs what remains of every check.
    pub(crate) fn finish_merge(
        mut self,
        checkpoint: &str,
    ) -> Result<(Report, Option<TallyInputs>), SplitError> {
        // What stopped the merge early comes first (the parts were not read to their end).
        if let Some(why) = self.broken.take() {
            return Err(SplitError::Parts(why));
        }
        let Mode::Merge(parts) = &mut self.split else {
            return Err(SplitError::Parts("not merging parts".into()));
        };
        if let Some(sum) = parts.finish()? {
            self.add_part_sum(sum);
        }
        if let Some(why) = self.broken.take() {
            return Err(SplitError::Parts(why));
        }
        Ok(self.finish(checkpoint))
    }

    /// Runs what remains of every check once the whole record and its checkpoint are in.
    pub fn finish(mut self, checkpoint: &str) -> (Report, Option<TallyInputs>) {
        self.flush_ballots();
        self.aggregate = self.counted_aggregate();
        let n = self.n;
        let mut checks = Vec::with_capacity(9);
        checks.push(self.check_1(checkpoint));
        checks.push(std::mem::replace(&mut self.c2, CheckReport::new(2, "")));
        let Some(m) = self.manifest.clone() else {
            for (number, name) in REST {
                let mut c = CheckReport::new(number, name);
                c.fail(None, "cannot be checked without a valid manifest (check 2)");
                checks.push(c);
            }
            let report = Report {
                election_id: None,
                entries: n,
                checks,
            };
            return (report, None);
        };

        let c9 = self.check_9(&m);
        let (c3, ceremony, outcome) = self.check_3(&m);
        checks.push(c3);
        checks.push(self.check_4(&m));
        checks.push(self.check_5());
        let (c6, agg) = self.check_6(&m);
        checks.push(c6);
        let (c7, valid_partials) = self.check_7(&ceremony, &outcome, &agg);
        checks.push(c7);
        checks.push(self.check_8(&ceremony, &outcome, &agg, &valid_partials));
        checks.push(c9);

        let report = Report {
            election_id: Some(hex::encode(m.election_id)),
            entries: n,
            checks,
        };
        let tally = match (ceremony, outcome, &self.context) {
            (Ok(ceremony), Some(outcome), Some(_))
                if report.checks[..5]
                    .iter()
                    .chain([report.check(9)])
                    .all(|c| c.status != Status::Fail) =>
            {
                Some(TallyInputs {
                    manifest: m,
                    ceremony,
                    outcome,
                    aggregate: agg,
                    partials: valid_partials,
                })
            }
            _ => None,
        };
        (report, tally)
    }
}

const REST: [(u8, &str); 7] = [
    (3, "key ceremony and joint key"),
    (4, "voter roll"),
    (5, "ballots"),
    (6, "aggregate of the counted ballots"),
    (7, "partial decryptions"),
    (8, "published result"),
    (9, setup::NAME),
];
