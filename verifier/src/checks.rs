//! The eight numbered checks. Each block below is headed by its number, and
//! `docs/protocol.md` ("Verification") describes the same checks in the same order.

use crate::entries::{encode_aggregate, Entry, KINDS};
use crate::record::Record;
use crate::report::{CheckReport, Report};
use ark_bls12_381::Fr;
use rand_core::OsRng;
use rayon::prelude::*;
use std::collections::HashMap;
use zkvote_circuits::complete::{vartime_verify_complete_ballots_parallel, CompleteBallot};
use zkvote_circuits::field::{fr_from_bytes, fr_to_bytes};
use zkvote_circuits::groth16::{verifying_key_from_bytes, EligibilityVerifier};
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::codec::hex32;
use zkvote_core::log::{leaf_hash, origin_for, Checkpoint, MemoryTree, BOARD_KEY_NAME};
use zkvote_core::{Ballot, ElectionContext, ElectionPublicKey, Manifest, RevotePolicy};
use zkvote_tally::ceremony::verify_signature;
use zkvote_tally::labels::{SIG_COMPLAINT, SIG_DEALING};
use zkvote_tally::{
    aggregate, verify_ceremony, verify_partial_decryption, verify_result, Aggregate,
    CeremonyContext, CeremonyOutcome, Complaint, Dealing, PartialDecryption,
};

/// Progress callback: `(stage, done, total)`.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// Entries decoded per step (each step is parallel).
const DECODE_CHUNK: usize = 4096;
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

/// Runs every check on `record`.
pub fn verify(record: &Record, progress: Option<Progress>) -> Report {
    verify_record(record, progress).0
}

/// Like [`verify`], also returning what the tally needs when checks 1 to 5 pass.
pub fn verify_record(record: &Record, progress: Option<Progress>) -> (Report, Option<TallyInputs>) {
    let n = record.entries.len();
    let report_progress = |stage: &str, done: usize, total: usize| {
        if let Some(p) = progress {
            p(stage, done as u64, total as u64);
        }
    };
    // Decoding (canonical encodings, every point checked) in parallel.
    let mut decoded: Vec<Result<Entry, String>> = Vec::with_capacity(n);
    for (k, chunk) in record.entries.chunks(DECODE_CHUNK).enumerate() {
        decoded.par_extend(
            chunk
                .par_iter()
                .map(|e| serde_json::from_slice::<Entry>(&e.data).map_err(|x| x.to_string())),
        );
        report_progress("decoding", (k * DECODE_CHUNK + chunk.len()).min(n), n);
    }
    let index_of = |pos: usize| record.entries[pos].index;
    let manifest = match decoded.first() {
        Some(Ok(Entry::Manifest { manifest, .. })) => Some(manifest.clone()),
        _ => None,
    };
    let mut checks = Vec::with_capacity(8);

    // ---- Check 1: the log. ----
    let mut c1 = CheckReport::new(
        1,
        "log: indices, leaf hashes, Merkle root, signed checkpoint, order of entries",
    );
    for (pos, e) in record.entries.iter().enumerate() {
        if e.index != pos as u64 {
            c1.fail(
                Some(e.index),
                format!("found at position {pos} of the record (indices must be 0, 1, 2, ...)"),
            );
        }
        if !KINDS.contains(&e.kind.as_str()) {
            c1.fail(Some(e.index), format!("unknown kind {:?}", e.kind));
        } else if let Ok(d) = &decoded[pos] {
            if d.kind() != e.kind {
                c1.fail(
                    Some(e.index),
                    format!("the line says {:?} but the entry is a {}", e.kind, d.kind()),
                );
            }
        }
    }
    let leaves: Vec<[u8; 32]> = record
        .entries
        .par_iter()
        .map(|e| leaf_hash(&e.data))
        .collect();
    let tree = MemoryTree::from_leaf_hashes(leaves);
    match &manifest {
        None => c1.fail(
            None,
            "no valid manifest at index 0: the board key is unknown, the checkpoint cannot be checked",
        ),
        Some(m) => match ed25519_dalek::VerifyingKey::from_bytes(&m.board_key)
            .map_err(|e| e.to_string())
            .and_then(|key| {
                Checkpoint::verify(
                    &record.checkpoint,
                    &origin_for(&m.election_id),
                    BOARD_KEY_NAME,
                    &key,
                )
                .map_err(|e| e.to_string())
            }) {
            Err(e) => c1.fail(
                None,
                format!("the checkpoint does not verify under the manifest's board key: {e}"),
            ),
            Ok(cp) => {
                c1.count("checkpoint size", cp.size);
                if cp.size != n as u64 {
                    c1.fail(
                        None,
                        format!(
                            "the signed checkpoint covers {} entries, the record has {n}",
                            cp.size
                        ),
                    );
                } else if cp.root != tree.root() {
                    c1.fail(
                        None,
                        format!(
                            "the Merkle root of the record's entries is {}, the signed checkpoint's is {}",
                            hex::encode(tree.root()),
                            hex::encode(cp.root)
                        ),
                    );
                }
            }
        },
    }
    let mut phase = "none";
    for (pos, e) in record.entries.iter().enumerate() {
        let next = match (e.kind.as_str(), phase) {
            ("manifest", "none") if pos == 0 => Some("setup"),
            ("registration", "setup") => Some("setup"),
            ("roll-frozen", "setup") => Some("frozen"),
            ("dealing" | "complaint", "setup" | "frozen") => Some(phase),
            ("open", "frozen") => Some("open"),
            ("ballot", "open") => Some("open"),
            ("close", "open") => Some("closed"),
            ("partial-decryption", "closed") => Some("closed"),
            ("result", "closed") => Some("tallied"),
            _ => None,
        };
        match next {
            Some(p) => phase = p,
            None => c1.fail(
                Some(e.index),
                format!("a {} entry is not allowed in phase {phase}", e.kind),
            ),
        }
    }
    c1.count("entries", n as u64);
    checks.push(c1);

    // ---- Check 2: the manifest. ----
    let mut c2 = CheckReport::new(2, "manifest and eligibility verifying key");
    let mut verifier = None;
    match decoded.first() {
        None => c2.fail(None, "the record is empty"),
        Some(Err(e)) => c2.fail(
            Some(index_of(0)),
            format!("the first entry is not a valid manifest: {e}"),
        ),
        Some(Ok(Entry::Manifest {
            manifest,
            groth16_vk,
        })) => {
            let key = hex::decode(groth16_vk)
                .map_err(|e| e.to_string())
                .and_then(|b| verifying_key_from_bytes(&b).map_err(|e| e.to_string()))
                .and_then(|vk| EligibilityVerifier::new(&vk).map_err(|e| e.to_string()));
            match key {
                Err(e) => c2.fail(
                    Some(index_of(0)),
                    format!("the Groth16 verifying key is invalid: {e}"),
                ),
                Ok(v) if v.vk_hash() != &manifest.groth16_vk_hash => c2.fail(
                    Some(index_of(0)),
                    "the Groth16 verifying key's hash is not the manifest's groth16_vk_hash",
                ),
                Ok(v) => verifier = Some(v),
            }
            c2.count("contests", manifest.contests.len() as u64);
            c2.count("trustees", manifest.trustees.len() as u64);
        }
        Some(Ok(other)) => c2.fail(
            Some(index_of(0)),
            format!("the first entry is a {}, not the manifest", other.kind()),
        ),
    }
    checks.push(c2);
    let (Some(m), Some(verifier)) = (manifest, verifier) else {
        for (number, name) in REST {
            let mut c = CheckReport::new(number, name);
            c.fail(None, "cannot be checked without a valid manifest (check 2)");
            checks.push(c);
        }
        return (
            Report {
                election_id: None,
                entries: n as u64,
                checks,
            },
            None,
        );
    };
    let positions =
        |kind: &str| -> Vec<usize> { (0..n).filter(|&p| record.entries[p].kind == kind).collect() };
    let first = |kind: &str| positions(kind).first().copied();
    let (open_pos, close_pos, frozen_pos, result_pos) = (
        first("open"),
        first("close"),
        first("roll-frozen"),
        first("result"),
    );

    // ---- Check 3: the key ceremony. ----
    let mut c3 = CheckReport::new(3, "key ceremony and joint key");
    let mut outcome = None;
    let ceremony = CeremonyContext::from_manifest(&m);
    match &ceremony {
        Err(e) => c3.fail(Some(index_of(0)), format!("the manifest's trustees: {e}")),
        Ok(cctx) => {
            let mut dealings: Vec<Dealing> = Vec::new();
            let mut complaints: Vec<Complaint> = Vec::new();
            for pos in positions("dealing")
                .into_iter()
                .chain(positions("complaint"))
            {
                let (author, domain, body, sig) = match &decoded[pos] {
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
                        c3.fail(Some(index_of(pos)), format!("does not decode: {e}"));
                        continue;
                    }
                };
                let signed = cctx.trustee(author).is_some_and(|t| {
                    verify_signature(&t.signing_key, domain, &cctx.manifest_hash, &body, &sig)
                });
                if !signed {
                    c3.fail(
                        Some(index_of(pos)),
                        format!("not signed by trustee {author} of the manifest"),
                    );
                }
            }
            c3.count("dealings", dealings.len() as u64);
            c3.count("complaints", complaints.len() as u64);
            match open_pos {
                None => c3.not_applicable("voting was never opened: the ceremony is not final"),
                Some(op) => match verify_ceremony(cctx, &dealings, &complaints, &mut OsRng) {
                    Err(e) => c3.fail(Some(index_of(op)), format!("the ceremony failed: {e}")),
                    Ok(o) => {
                        c3.count("qualified", o.qualified.len() as u64);
                        c3.count("disqualified", o.disqualified.len() as u64);
                        match &decoded[op] {
                            Ok(Entry::Open {
                                joint_key,
                                qualified,
                            }) => {
                                if *joint_key != o.joint_key {
                                    c3.fail(Some(index_of(op)), "the joint key is not the sum of the qualified trustees' constant commitments");
                                }
                                if *qualified != o.qualified {
                                    c3.fail(
                                        Some(index_of(op)),
                                        format!(
                                            "qualified trustees {:?}, the ceremony gives {:?}",
                                            qualified, o.qualified
                                        ),
                                    );
                                }
                            }
                            _ => c3.fail(Some(index_of(op)), "the open entry does not decode"),
                        }
                        outcome = Some(o);
                    }
                },
            }
        }
    }
    checks.push(c3);

    // ---- Check 4: the voter roll. ----
    let mut c4 = CheckReport::new(4, "voter roll");
    let mut root: Option<Fr> = None;
    let mut commitments = Vec::new();
    for pos in positions("registration") {
        if frozen_pos.is_some_and(|f| pos > f) {
            c4.fail(
                Some(index_of(pos)),
                format!(
                    "registration after the roll was frozen (entry {})",
                    index_of(frozen_pos.unwrap_or(0))
                ),
            );
            continue;
        }
        let c = match &decoded[pos] {
            Ok(Entry::Registration { commitment }) => hex32(commitment)
                .map_err(|e| e.to_string())
                .and_then(|b| fr_from_bytes(&b, "commitment").map_err(|e| e.to_string())),
            Ok(_) => continue,
            Err(e) => Err(e.clone()),
        };
        match c {
            Ok(c) => commitments.push(c),
            Err(e) => c4.fail(Some(index_of(pos)), format!("bad registration: {e}")),
        }
    }
    c4.count("registrations", commitments.len() as u64);
    match frozen_pos {
        None => c4.not_applicable("the roll is not frozen"),
        Some(fp) => match &decoded[fp] {
            Ok(Entry::RollFrozen {
                root: frozen,
                count,
            }) => {
                let recorded = hex32(frozen)
                    .map_err(|e| e.to_string())
                    .and_then(|b| fr_from_bytes(&b, "root").map_err(|e| e.to_string()));
                match (recorded, VoterRoll::new(m.roll_depth, commitments.clone())) {
                    (Err(e), _) => c4.fail(Some(index_of(fp)), format!("bad root: {e}")),
                    (_, Err(e)) => c4.fail(Some(index_of(fp)), format!("the roll: {e}")),
                    (Ok(r), Ok(roll)) => {
                        if roll.root() != r {
                            c4.fail(
                                Some(index_of(fp)),
                                format!(
                                    "the frozen root is {frozen}, the registered commitments give {}",
                                    hex::encode(fr_to_bytes(&roll.root()))
                                ),
                            );
                        }
                        if *count != commitments.len() as u64 {
                            c4.fail(
                                Some(index_of(fp)),
                                format!(
                                    "the frozen roll claims {count} registrations, the log has {}",
                                    commitments.len()
                                ),
                            );
                        }
                        root = Some(r);
                    }
                }
            }
            _ => c4.fail(Some(index_of(fp)), "the roll-frozen entry does not decode"),
        },
    }
    checks.push(c4);

    // ---- Check 5: every ballot. ----
    let mut c5 = CheckReport::new(5, "ballots");
    let ballot_positions = positions("ballot");
    let mut ballot_index = Vec::with_capacity(ballot_positions.len());
    let mut ballots: Vec<CompleteBallot> = Vec::with_capacity(ballot_positions.len());
    for &pos in &ballot_positions {
        match std::mem::replace(&mut decoded[pos], Err(String::new())) {
            Ok(Entry::Ballot { ballot }) => {
                ballot_index.push(index_of(pos));
                ballots.push(ballot);
            }
            Ok(_) => {}
            Err(e) => c5.fail(
                Some(index_of(pos)),
                format!("the ballot does not decode: {e}"),
            ),
        }
    }
    let joint_key = open_pos.and_then(|op| match &decoded[op] {
        Ok(Entry::Open { joint_key, .. }) => ElectionPublicKey::new(*joint_key).ok(),
        _ => None,
    });
    let mut counted: Vec<usize> = Vec::new();
    let mut context = None;
    match (joint_key, root) {
        (Some(pk), Some(root)) => {
            let ctx = ElectionContext::new(m.clone(), pk);
            let mut valid = vec![true; ballots.len()];
            for (k, chunk) in ballots.chunks(BALLOT_CHUNK).enumerate() {
                let per_core = chunk.len().div_ceil(rayon::current_num_threads()).max(8);
                if let Err(failures) = vartime_verify_complete_ballots_parallel(
                    &ctx, &verifier, &root, chunk, per_core, &mut OsRng,
                ) {
                    for (i, e) in failures {
                        let at = k * BALLOT_CHUNK + i;
                        valid[at] = false;
                        c5.fail(Some(ballot_index[at]), format!("invalid ballot: {e}"));
                    }
                }
                report_progress(
                    "verifying ballots",
                    (k * BALLOT_CHUNK + chunk.len()).min(ballots.len()),
                    ballots.len(),
                );
            }
            for (at, &idx) in ballot_index.iter().enumerate() {
                let before_open = open_pos.map_or(true, |p| idx <= index_of(p));
                let after_close = close_pos.is_some_and(|p| idx >= index_of(p));
                if before_open || after_close {
                    valid[at] = false;
                    c5.fail(
                        Some(idx),
                        "cast outside the voting period (between open and close)",
                    );
                }
            }
            let mut seen_ciphertexts: HashMap<[u8; 32], u64> = HashMap::new();
            let mut by_nullifier: HashMap<[u8; 32], usize> = HashMap::new();
            let mut superseded = 0u64;
            for at in 0..ballots.len() {
                if !valid[at] {
                    continue;
                }
                let b = &ballots[at].ballot;
                let idx = ballot_index[at];
                if let Some(prev) = b.ciphertext_keys().find_map(|a| seen_ciphertexts.get(a)) {
                    c5.fail(
                        Some(idx),
                        format!("a ciphertext of this ballot was already cast in entry {prev}"),
                    );
                    continue;
                }
                for a in b.ciphertext_keys() {
                    seen_ciphertexts.insert(*a, idx);
                }
                match (by_nullifier.get(&b.nullifier).copied(), m.revote_policy) {
                    (Some(prev), RevotePolicy::Reject) => c5.fail(
                        Some(idx),
                        format!(
                            "this voter (nullifier) already voted in entry {}",
                            ballot_index[prev]
                        ),
                    ),
                    (Some(_), RevotePolicy::LastBallotCounts) => {
                        superseded += 1;
                        by_nullifier.insert(b.nullifier, at);
                    }
                    (None, _) => {
                        by_nullifier.insert(b.nullifier, at);
                    }
                }
            }
            counted = by_nullifier.into_values().collect();
            counted.sort_unstable();
            c5.count("valid", valid.iter().filter(|v| **v).count() as u64);
            c5.count("superseded", superseded);
            context = Some(ctx);
        }
        _ if ballots.is_empty() => c5.not_applicable("no ballots"),
        _ => c5.fail(
            None,
            "ballots cannot be checked: no valid open entry (joint key) or frozen roll root",
        ),
    }
    c5.count("ballots", ballot_positions.len() as u64);
    c5.count("counted", counted.len() as u64);
    checks.push(c5);

    // ---- Check 6: the aggregate. ----
    let mut c6 = CheckReport::new(6, "aggregate of the counted ballots");
    let counted_ballots: Vec<&Ballot> = counted.iter().map(|&at| &ballots[at].ballot).collect();
    let agg = aggregate(&m, &counted_ballots);
    c6.count("ballots added", agg.ballots);
    let result = result_pos.map(|p| (index_of(p), &decoded[p]));
    match result {
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
                    Some(idx),
                    format!(
                        "the result says {ballots_counted} ballots were counted; the record's counted ballots are {}",
                        agg.ballots
                    ),
                );
            } else if *published != encode_aggregate(&agg) {
                c6.fail(
                    Some(idx),
                    "the published aggregate is not the sum of the counted ballots",
                );
            }
        }
        Some((idx, _)) => c6.fail(Some(idx), "the result entry does not decode"),
    }
    checks.push(c6);

    // ---- Check 7: the partial decryptions. ----
    let mut c7 = CheckReport::new(7, "partial decryptions");
    let mut valid_partials: Vec<PartialDecryption> = Vec::new();
    let partial_positions = positions("partial-decryption");
    match (&ceremony, &outcome) {
        (Ok(cctx), Some(o)) => {
            for pos in &partial_positions {
                let idx = index_of(*pos);
                match &decoded[*pos] {
                    Ok(Entry::PartialDecryption { partial }) => {
                        if valid_partials.iter().any(|p| p.trustee == partial.trustee) {
                            c7.fail(
                                Some(idx),
                                format!(
                                    "a second partial decryption from trustee {}",
                                    partial.trustee
                                ),
                            );
                        } else if let Err(e) =
                            verify_partial_decryption(cctx, o, &agg, partial, &mut OsRng)
                        {
                            c7.fail(Some(idx), e.to_string());
                        } else {
                            valid_partials.push(partial.clone());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => c7.fail(Some(idx), format!("does not decode: {e}")),
                }
            }
            if result_pos.is_some() && (valid_partials.len() as u32) < cctx.threshold {
                c7.fail(
                    result.map(|r| r.0),
                    format!(
                        "{} valid partial decryptions, the threshold is {}",
                        valid_partials.len(),
                        cctx.threshold
                    ),
                );
            }
            if partial_positions.is_empty() && result_pos.is_none() {
                c7.not_applicable("no partial decryptions yet");
            }
        }
        _ if partial_positions.is_empty() => c7.not_applicable("no partial decryptions"),
        _ => c7.fail(
            None,
            "no valid ceremony outcome (check 3) to check them against",
        ),
    }
    c7.count("partial decryptions", partial_positions.len() as u64);
    c7.count("valid", valid_partials.len() as u64);
    checks.push(c7);

    // ---- Check 8: the result. ----
    let mut c8 = CheckReport::new(8, "published result");
    match (result, &ceremony, &outcome) {
        (None, _, _) => c8.not_applicable("no result published"),
        (Some((idx, Ok(Entry::Result { counts, .. }))), Ok(cctx), Some(o)) => {
            if let Err(e) = verify_result(cctx, o, &agg, &valid_partials, counts, &mut OsRng) {
                c8.fail(Some(idx), e.to_string());
            }
            c8.count("contests", counts.len() as u64);
        }
        (Some((idx, Ok(Entry::Result { .. }))), _, _) => c8.fail(
            Some(idx),
            "no valid ceremony outcome (check 3) to check the result against",
        ),
        (Some((idx, _)), _, _) => c8.fail(Some(idx), "the result entry does not decode"),
    }
    checks.push(c8);

    let report = Report {
        election_id: Some(hex::encode(m.election_id)),
        entries: n as u64,
        checks,
    };
    let tally = match (ceremony, outcome, context) {
        (Ok(ceremony), Some(outcome), Some(_))
            if report.checks[..5]
                .iter()
                .all(|c| c.status != crate::report::Status::Fail) =>
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

const REST: [(u8, &str); 6] = [
    (3, "key ceremony and joint key"),
    (4, "voter roll"),
    (5, "ballots"),
    (6, "aggregate of the counted ballots"),
    (7, "partial decryptions"),
    (8, "published result"),
];
