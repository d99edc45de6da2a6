//! The eight numbered checks, run over a record streamed entry by entry: what stays in
//! memory is what the rules need (ciphertext keys, nullifiers, registrations), never the
//! ballots' bodies, which are decoded and verified in parallel chunks and then dropped.
//! Each check is marked below by its number; `docs/protocol.md` ("Verification") describes
//! the same checks in the same order.

use crate::report::{CheckReport, Report, Status};
use ark_bls12_381::Fr;
use curve25519_dalek::ristretto::CompressedRistretto;
use rand_core::OsRng;
use rayon::prelude::*;
use std::collections::HashMap;
use std::io::BufRead;
use zkvote_circuits::complete::{vartime_verify_complete_ballots_parallel, CompleteBallot};
use zkvote_circuits::field::fr_to_bytes;
use zkvote_circuits::groth16::EligibilityVerifier;
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::log::{leaf_hash, node_hash, origin_for, Checkpoint, Hash, BOARD_KEY_NAME};
use zkvote_core::{Ballot, Ciphertext, ElectionContext, ElectionPublicKey, Manifest, RevotePolicy};
use zkvote_protocol::record::LineReader;
use zkvote_protocol::{
    encode_aggregate, transition, Entry, EntryKind, Phase, Record, RecordEntry, RecordError,
    TransitionError,
};
use zkvote_tally::ceremony::verify_signature;
use zkvote_tally::labels::{SIG_COMPLAINT, SIG_DEALING};
use zkvote_tally::{
    verify_ceremony, verify_partial_decryption, verify_result, Aggregate, CeremonyContext,
    CeremonyOutcome, Complaint, Dealing, PartialDecryption,
};

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
    let mut lines = LineReader::new(reader.lines());
    let mut k = 0u64;
    while let Some(entry) = lines.next() {
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
    let checkpoint = match lines.checkpoint() {
        Ok(c) => c,
        Err(e) => {
            v.c1.fail(None, e.to_string());
            String::new()
        }
    };
    Ok(v.finish(&checkpoint))
}

/// The RFC 9162 root of a sequence of leaves, kept as the stack of perfect subtrees.
#[derive(Default)]
struct RootAccumulator {
    stack: Vec<(u64, Hash)>,
}

impl RootAccumulator {
    fn push(&mut self, leaf: Hash) {
        let mut node = (1u64, leaf);
        while let Some(&(size, left)) = self.stack.last() {
            if size != node.0 {
                break;
            }
            self.stack.pop();
            node = (size * 2, node_hash(&left, &node.1));
        }
        self.stack.push(node);
    }

    fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        match it.next() {
            None => zkvote_core::log::empty_root(),
            Some(&(_, last)) => it.fold(last, |acc, (_, left)| node_hash(left, &acc)),
        }
    }
}

type Decoded = (u64, Result<Entry, String>);

/// Why an entry on a ballot line is not a ballot.
enum NotABallot {
    /// It is an entry of another kind.
    Kind(EntryKind),
    /// It does not decode.
    Invalid(String),
}

/// Per voter under `last-ballot-counts`: the counted ballot's index and its ciphertexts
/// (compressed), to take it out of the aggregate when a later ballot supersedes it.
type CountedBallot = (u64, Vec<[u8; 64]>);

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
    verifier: Option<EligibilityVerifier>,
    ceremony_messages: Vec<Decoded>,
    registrations: Vec<(u64, Result<Fr, String>)>,
    late_registrations: Vec<u64>,
    frozen: Option<Decoded>,
    open: Option<Decoded>,
    close: Option<u64>,
    partials: Vec<Decoded>,
    result: Option<Decoded>,
    /// Entries with a unique key (`Entry::unique_key`): the index of the first of each.
    unique_keys: HashMap<String, u64>,
    /// Second entries with a key already seen: (check number, index, message).
    copies: Vec<(u8, u64, String)>,
    // Ballots.
    context: Option<ElectionContext>,
    root: Option<Fr>,
    pending: Vec<RecordEntry>,
    chunk: usize,
    ballots: u64,
    valid: u64,
    superseded: u64,
    seen_ciphertexts: HashMap<[u8; 32], u64>,
    by_nullifier: HashMap<[u8; 32], CountedBallot>,
    aggregate: Option<Aggregate>,
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
            unique_keys: HashMap::new(),
            copies: Vec::new(),
            context: None,
            root: None,
            pending: Vec::new(),
            chunk: BALLOT_CHUNK,
            ballots: 0,
            valid: 0,
            superseded: 0,
            seen_ciphertexts: HashMap::new(),
            by_nullifier: HashMap::new(),
            aggregate: None,
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
        // Check 1: index, kind, leaf, phase order.
        if e.index != pos {
            self.c1.fail(
                Some(e.index),
                format!("found at position {pos} of the record (indices must be 0, 1, 2, ...)"),
            );
        }
        self.leaves.push(leaf_hash(&e.data));
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
        if kind == Some(EntryKind::Ballot) {
            self.pending.push(e);
            if self.pending.len() >= self.chunk {
                self.flush_ballots();
            }
            return;
        }
        let index = e.index;
        let decoded = Entry::decode(&e.data).map_err(|err| err.to_string());
        if let Ok(d) = &decoded {
            if d.kind().as_str() != e.kind {
                self.c1.fail(
                    Some(index),
                    format!("the line says {:?} but the entry is a {}", e.kind, d.kind()),
                );
            }
        }
        if pos == 0 {
            self.take_manifest(index, &decoded);
            return;
        }
        if self.is_copy(index, &decoded) {
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
                    let c = decoded.and_then(|d| match d {
                        Entry::Registration { commitment } => Ok(commitment.get()),
                        _ => Err("not a registration".into()),
                    });
                    self.registrations.push((index, c));
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
            Some(EntryKind::PartialDecryption) => self.partials.push((index, decoded)),
            Some(EntryKind::Result) if self.result.is_none() => {
                self.result = Some((index, decoded))
            }
            _ => {}
        }
    }

    /// Whether the entry repeats the unique key of an earlier one (a second dealing or
    /// partial decryption from one trustee, a second complaint of one accuser against one
    /// dealer): it is named by check 3 or 7 and otherwise ignored.
    fn is_copy(&mut self, index: u64, decoded: &Result<Entry, String>) -> bool {
        let Ok(entry) = decoded else {
            return false;
        };
        let Some(key) = entry.unique_key() else {
            return false;
        };
        match self.unique_keys.entry(key) {
            std::collections::hash_map::Entry::Occupied(first) => {
                let check = match entry {
                    Entry::PartialDecryption { .. } => 7,
                    _ => 3,
                };
                self.copies.push((
                    check,
                    index,
                    format!(
                        "a second {} (the first is entry {}): the log holds one per author",
                        first.key(),
                        first.get()
                    ),
                ));
                true
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(index);
                false
            }
        }
    }

    /// Names, in `report`, the copies that check `number` is responsible for.
    fn name_copies(&self, number: u8, report: &mut CheckReport) {
        for (check, index, message) in &self.copies {
            if *check == number {
                report.fail(Some(*index), message.clone());
            }
        }
    }

    /// Check 2, on entry 0.
    fn take_manifest(&mut self, index: u64, decoded: &Result<Entry, String>) {
        match decoded {
            Err(e) => self.c2.fail(
                Some(index),
                format!("the first entry is not a valid manifest: {e}"),
            ),
            Ok(Entry::Manifest {
                manifest,
                groth16_vk,
            }) => {
                let key = groth16_vk.verifier().map_err(|e| e.to_string());
                match key {
                    Err(e) => self.c2.fail(
                        Some(index),
                        format!("the Groth16 verifying key is invalid: {e}"),
                    ),
                    Ok(v) if v.vk_hash() != &manifest.groth16_vk_hash => self.c2.fail(
                        Some(index),
                        "the Groth16 verifying key's hash is not the manifest's groth16_vk_hash",
                    ),
                    Ok(v) => {
                        self.verifier = Some(v);
                        self.manifest = Some(manifest.clone());
                        self.aggregate = Some(Aggregate::empty(manifest));
                    }
                }
                self.c2.count("contests", manifest.contests.len() as u64);
                self.c2.count("trustees", manifest.trustees.len() as u64);
            }
            Ok(other) => self.c2.fail(
                Some(index),
                format!("the first entry is a {}, not the manifest", other.kind()),
            ),
        }
    }

    /// Check 5 on the buffered ballots: decode and verify in parallel, then apply the
    /// position, replay and nullifier rules in log order and update the aggregate.
    fn flush_ballots(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let chunk = std::mem::take(&mut self.pending);
        self.ballots += chunk.len() as u64;
        let decoded: Vec<(u64, Result<CompleteBallot, NotABallot>)> = chunk
            .par_iter()
            .map(|e| {
                let b = match Entry::decode(&e.data) {
                    Ok(Entry::Ballot { ballot }) => Ok(ballot),
                    Ok(other) => Err(NotABallot::Kind(other.kind())),
                    Err(x) => Err(NotABallot::Invalid(x.to_string())),
                };
                (e.index, b)
            })
            .collect();
        drop(chunk);
        for (idx, b) in &decoded {
            if let Err(NotABallot::Kind(kind)) = b {
                self.c1.fail(
                    Some(*idx),
                    format!("the line says \"ballot\" but the entry is a {kind}"),
                );
            }
        }
        let (Some(ctx), Some(root), Some(verifier)) = (&self.context, &self.root, &self.verifier)
        else {
            for (idx, _) in &decoded {
                self.c5.fail(
                    Some(*idx),
                    "cannot be checked: no valid manifest, open entry (joint key) or frozen roll root before it",
                );
            }
            return;
        };
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
        let mut valid = vec![true; ballots.len()];
        let per_core = ballots.len().div_ceil(rayon::current_num_threads()).max(8);
        if let Err(failures) = vartime_verify_complete_ballots_parallel(
            ctx, verifier, root, &ballots, per_core, &mut OsRng,
        ) {
            for (i, e) in failures {
                valid[i] = false;
                self.c5.fail(Some(index[i]), format!("invalid ballot: {e}"));
            }
        }
        let open = self.open.as_ref().map(|o| o.0);
        let policy = ctx.manifest().revote_policy;
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
            if let Some(prev) = b
                .ciphertext_keys()
                .find_map(|a| self.seen_ciphertexts.get(a))
            {
                self.c5.fail(
                    Some(idx),
                    format!("a ciphertext of this ballot was already cast in entry {prev}"),
                );
                continue;
            }
            for a in b.ciphertext_keys() {
                self.seen_ciphertexts.insert(*a, idx);
            }
            let keep = |b: &Ballot| -> Vec<[u8; 64]> {
                if policy == RevotePolicy::LastBallotCounts {
                    b.contests
                        .iter()
                        .flat_map(|c| c.selections.iter())
                        .map(|s| {
                            let mut x = [0u8; 64];
                            x[..32].copy_from_slice(s.a.as_bytes());
                            x[32..].copy_from_slice(s.b.as_bytes());
                            x
                        })
                        .collect()
                } else {
                    Vec::new()
                }
            };
            match (self.by_nullifier.get(&b.nullifier), policy) {
                (Some((prev, _)), RevotePolicy::Reject) => {
                    let prev = *prev;
                    self.c5.fail(
                        Some(idx),
                        format!("this voter (nullifier) already voted in entry {prev}"),
                    );
                }
                (Some(_), RevotePolicy::LastBallotCounts) => {
                    self.superseded += 1;
                    let old = self.by_nullifier.insert(b.nullifier, (idx, keep(b)));
                    if chunk_counted.insert(b.nullifier, at).is_none() {
                        if let Some((_, old)) = old {
                            removed.push(old);
                        }
                    }
                }
                (None, _) => {
                    self.by_nullifier.insert(b.nullifier, (idx, keep(b)));
                    chunk_counted.insert(b.nullifier, at);
                }
            }
        }
        let mut counted_here: Vec<usize> = chunk_counted.into_values().collect();
        counted_here.sort_unstable();
        let added: Vec<&Ballot> = counted_here.iter().map(|&at| &ballots[at].ballot).collect();
        if let (Some(agg), Some(m)) = (&mut self.aggregate, &self.manifest) {
            let sum = zkvote_tally::aggregate(m, &added);
            for (row, part) in agg.contests.iter_mut().zip(sum.contests) {
                for (acc, c) in row.iter_mut().zip(part) {
                    *acc += c;
                }
            }
            agg.ballots += sum.ballots;
            for old in removed {
                let flat = agg.contests.iter_mut().flat_map(|row| row.iter_mut());
                for (acc, bytes) in flat.zip(old) {
                    let point = |b: &[u8]| {
                        CompressedRistretto::from_slice(b)
                            .ok()
                            .and_then(|c| c.decompress())
                            .expect("stored from a decoded ballot")
                    };
                    *acc = Ciphertext {
                        a: acc.a - point(&bytes[..32]),
                        b: acc.b - point(&bytes[32..]),
                    };
                }
                agg.ballots -= 1;
            }
        }
    }

    /// Runs what remains of every check once the whole record and its checkpoint are in.
    pub fn finish(mut self, checkpoint: &str) -> (Report, Option<TallyInputs>) {
        self.flush_ballots();
        let n = self.n;
        let mut checks = Vec::with_capacity(8);

        // ---- Check 1: the signed checkpoint (the per-entry part ran in `push`). ----
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
        checks.push(c1);
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

        // ---- Check 3: the key ceremony. ----
        let mut c3 = CheckReport::new(3, "key ceremony and joint key");
        let mut outcome = None;
        let ceremony = CeremonyContext::from_manifest(&m);
        match &ceremony {
            Err(e) => c3.fail(Some(0), format!("the manifest's trustees: {e}")),
            Ok(cctx) => {
                let mut dealings: Vec<Dealing> = Vec::new();
                let mut complaints: Vec<Complaint> = Vec::new();
                for (index, decoded) in &self.ceremony_messages {
                    let (author, domain, body, sig) = match decoded {
                        Ok(Entry::Dealing { dealing }) => {
                            dealings.push(dealing.clone());
                            (
                                dealing.dealer,
                                SIG_DEALING,
                                dealing.body(),
                                dealing.signature,
                            )
                        }
                        Ok(Entry::Complaint { complaint }) => {
                            complaints.push(complaint.clone());
                            (
                                complaint.accuser,
                                SIG_COMPLAINT,
                                complaint.body(),
                                complaint.signature,
                            )
                        }
                        Ok(_) => continue,
                        Err(e) => {
                            c3.fail(Some(*index), format!("does not decode: {e}"));
                            continue;
                        }
                    };
                    let signed = cctx.trustee(author).is_some_and(|t| {
                        verify_signature(&t.signing_key, domain, &cctx.manifest_hash, &body, &sig)
                            .is_ok()
                    });
                    if !signed {
                        c3.fail(
                            Some(*index),
                            format!("not signed by trustee {author} of the manifest"),
                        );
                    }
                }
                self.name_copies(3, &mut c3);
                c3.count("dealings", dealings.len() as u64);
                c3.count("complaints", complaints.len() as u64);
                match &self.open {
                    None => c3.not_applicable("voting was never opened: the ceremony is not final"),
                    Some((oi, open)) => {
                        match verify_ceremony(cctx, &dealings, &complaints, &mut OsRng) {
                            Err(e) => c3.fail(Some(*oi), format!("the ceremony failed: {e}")),
                            Ok(o) => {
                                c3.count("qualified", o.qualified.len() as u64);
                                c3.count("disqualified", o.disqualified.len() as u64);
                                match open {
                                    Ok(Entry::Open {
                                        joint_key,
                                        qualified,
                                    }) => {
                                        if *joint_key != o.joint_key {
                                            c3.fail(Some(*oi), "the joint key is not the sum of the qualified trustees' constant commitments");
                                        }
                                        if *qualified != o.qualified {
                                            c3.fail(
                                                Some(*oi),
                                                format!(
                                                "qualified trustees {:?}, the ceremony gives {:?}",
                                                qualified, o.qualified
                                            ),
                                            );
                                        }
                                    }
                                    _ => c3.fail(Some(*oi), "the open entry does not decode"),
                                }
                                outcome = Some(o);
                            }
                        }
                    }
                }
            }
        }
        c3.failures.sort_by_key(|f| f.index);
        checks.push(c3);

        // ---- Check 4: the voter roll. ----
        let mut c4 = CheckReport::new(4, "voter roll");
        let mut commitments = Vec::with_capacity(self.registrations.len());
        for (index, c) in std::mem::take(&mut self.registrations) {
            match c {
                Ok(c) => commitments.push(c),
                Err(e) => c4.fail(Some(index), format!("bad registration: {e}")),
            }
        }
        c4.count("registrations", commitments.len() as u64);
        match &self.frozen {
            None => c4.not_applicable("the roll is not frozen"),
            Some((fi, frozen)) => {
                for late in &self.late_registrations {
                    c4.fail(
                        Some(*late),
                        format!("registration after the roll was frozen (entry {fi})"),
                    );
                }
                match frozen {
                    Ok(Entry::RollFrozen { root, count }) => {
                        let registered = commitments.len() as u64;
                        match (self.root, VoterRoll::new(m.roll_depth, commitments)) {
                            (None, _) => {
                                c4.fail(Some(*fi), "the frozen root is not a field element")
                            }
                            (_, Err(e)) => c4.fail(Some(*fi), format!("the roll: {e}")),
                            (Some(r), Ok(roll)) => {
                                if roll.root() != r {
                                    c4.fail(
                                        Some(*fi),
                                        format!(
                                            "the frozen root is {}, the registered commitments give {}",
                                            root.to_hex(),
                                            hex::encode(fr_to_bytes(&roll.root()))
                                        ),
                                    );
                                }
                                if *count != registered {
                                    c4.fail(
                                        Some(*fi),
                                        format!("the frozen roll claims {count} registrations, the log has {registered}"),
                                    );
                                }
                            }
                        }
                    }
                    _ => c4.fail(Some(*fi), "the roll-frozen entry does not decode"),
                }
            }
        }
        c4.failures.sort_by_key(|f| f.index);
        checks.push(c4);

        // ---- Check 5: every ballot (the per-ballot part ran as the ballots came). ----
        let mut c5 = std::mem::replace(&mut self.c5, CheckReport::new(5, ""));
        if self.ballots == 0 && c5.status == Status::Pass {
            c5.not_applicable("no ballots");
        }
        let counted = self.by_nullifier.len() as u64;
        c5.count("ballots", self.ballots);
        c5.count("valid", self.valid);
        c5.count("counted", counted);
        c5.count("superseded", self.superseded);
        c5.failures.sort_by_key(|f| f.index);
        checks.push(c5);

        // ---- Check 6: the aggregate. ----
        let mut c6 = CheckReport::new(6, "aggregate of the counted ballots");
        let agg = self
            .aggregate
            .take()
            .unwrap_or_else(|| Aggregate::empty(&m));
        c6.count("ballots added", agg.ballots);
        match &self.result {
            None => c6.not_applicable("no result published: nothing to compare with"),
            Some((
                idx,
                Ok(Entry::Result {
                    ballots_counted,
                    aggregate: published,
                    ..
                }),
            )) => {
                if *ballots_counted != agg.ballots {
                    c6.fail(
                        Some(*idx),
                        format!(
                            "the result says {ballots_counted} ballots were counted; the record's counted ballots are {}",
                            agg.ballots
                        ),
                    );
                } else if *published != encode_aggregate(&agg) {
                    c6.fail(
                        Some(*idx),
                        "the published aggregate is not the sum of the counted ballots",
                    );
                }
            }
            Some((idx, _)) => c6.fail(Some(*idx), "the result entry does not decode"),
        }
        checks.push(c6);

        // ---- Check 7: the partial decryptions. ----
        let mut c7 = CheckReport::new(7, "partial decryptions");
        let mut valid_partials: Vec<PartialDecryption> = Vec::new();
        match (&ceremony, &outcome) {
            (Ok(cctx), Some(o)) => {
                for (idx, decoded) in &self.partials {
                    match decoded {
                        Ok(Entry::PartialDecryption { partial }) => {
                            if let Err(e) =
                                verify_partial_decryption(cctx, o, &agg, partial, &mut OsRng)
                            {
                                c7.fail(Some(*idx), e.to_string());
                            } else {
                                valid_partials.push(partial.clone());
                            }
                        }
                        Ok(_) => {}
                        Err(e) => c7.fail(Some(*idx), format!("does not decode: {e}")),
                    }
                }
                if self.result.is_some() && (valid_partials.len() as u32) < cctx.threshold {
                    c7.fail(
                        self.result.as_ref().map(|r| r.0),
                        format!(
                            "{} valid partial decryptions, the threshold is {}",
                            valid_partials.len(),
                            cctx.threshold
                        ),
                    );
                }
                if self.partials.is_empty() && self.result.is_none() {
                    c7.not_applicable("no partial decryptions yet");
                }
            }
            _ if self.partials.is_empty() => c7.not_applicable("no partial decryptions"),
            _ => c7.fail(
                None,
                "no valid ceremony outcome (check 3) to check them against",
            ),
        }
        self.name_copies(7, &mut c7);
        c7.failures.sort_by_key(|f| f.index);
        c7.count("partial decryptions", self.partials.len() as u64);
        c7.count("valid", valid_partials.len() as u64);
        checks.push(c7);

        // ---- Check 8: the result. ----
        let mut c8 = CheckReport::new(8, "published result");
        match (&self.result, &ceremony, &outcome) {
            (None, _, _) => c8.not_applicable("no result published"),
            (Some((idx, Ok(Entry::Result { counts, .. }))), Ok(cctx), Some(o)) => {
                if let Err(e) = verify_result(cctx, o, &agg, &valid_partials, counts, &mut OsRng) {
                    c8.fail(Some(*idx), e.to_string());
                }
                c8.count("contests", counts.len() as u64);
            }
            (Some((idx, Ok(Entry::Result { .. }))), _, _) => c8.fail(
                Some(*idx),
                "no valid ceremony outcome (check 3) to check the result against",
            ),
            (Some((idx, _)), _, _) => c8.fail(Some(*idx), "the result entry does not decode"),
        }
        checks.push(c8);

        let report = Report {
            election_id: Some(hex::encode(m.election_id)),
            entries: n,
            checks,
        };
        let tally = match (ceremony, outcome, &self.context) {
            (Ok(ceremony), Some(outcome), Some(_))
                if report.checks[..5].iter().all(|c| c.status != Status::Fail) =>
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

const REST: [(u8, &str); 6] = [
    (3, "key ceremony and joint key"),
    (4, "voter roll"),
    (5, "ballots"),
    (6, "aggregate of the counted ballots"),
    (7, "partial decryptions"),
    (8, "published result"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use zkvote_core::log::MemoryTree;

    #[test]
    fn the_root_accumulator_agrees_with_the_tree() {
        for n in 0..40u64 {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
            let mut acc = RootAccumulator::default();
            for l in &leaves {
                acc.push(*l);
            }
            assert_eq!(
                acc.root(),
                MemoryTree::from_leaf_hashes(leaves).root(),
                "{n}"
            );
        }
    }
}
