//! The voter's client steps, without I/O: the caller fetches from the board and hands the
//! answers in; every check on what the board said is made here, once, for the CLI and the
//! browser booth alike (`docs/protocol.md` sections 7-9 and 11).
//!
//! 1. [`registration`]: the body that registers a credential's commitment.
//!    [`roll::check_registration`]: the board's answer to it (receipt and roll position).
//! 2. [`VotingSession::new`]: from the manifest, the election's status, the frozen roll (or
//!    the voter's bucket of it, [`roll`]) and the proving key, checked against each other
//!    (the roll gives the board's root, the proving key is the manifest's).
//! 3. [`VotingSession::build_ballot`]: the voter's path in the roll and a complete ballot.
//! 4. [`audit`]: Benaloh's challenge on a ballot that will not be cast.
//! 5. [`check_cast_receipt`]: the board's receipt is signed and is for this very ballot.
//! 6. [`check_receipt_extension`]: later, the board's newest checkpoint extends the
//!    receipt's.

use crate::api::{CheckpointView, ConsistencyView, ElectionStatus, Register};
use crate::entry::Entry;
use crate::kind::Phase;
use ark_bls12_381::Fr;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use zkvote_circuits::complete::{prepare_complete_ballot, CompleteBallot, PendingBallot};
use zkvote_circuits::credential::Credential;
use zkvote_circuits::field::{fr_from_bytes, fr_to_bytes};
use zkvote_circuits::groth16::{
    prove, proving_key_from_bytes, proving_key_from_pinned_bytes, vk_hash, ProvingKey,
};
use zkvote_circuits::merkle::MerklePath;
use zkvote_core::codec::hex32;
use zkvote_core::cosignature::require_cosignatures;
use zkvote_core::log::{leaf_hash, origin_for, Checkpoint, Receipt, BOARD_KEY_NAME};
use zkvote_core::{
    vartime_verify_opening, BallotDigest, BallotOpening, BallotSecrets, Choices, ElectionContext,
    ElectionPublicKey, Element, Manifest,
};

/// What went wrong on the voter's side, phrased for the voter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VoterError {
    /// The election is not open.
    #[error("the election is not open for voting (phase: {0})")]
    NotOpen(Phase),
    /// The board's answer is not what the protocol says.
    #[error("the board's {what} is invalid: {why}")]
    Board {
        /// Which answer.
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// A saved registration that does not fit this election or credential.
    #[error("{0}")]
    Registration(String),
    /// The voter's credential is not in the frozen roll.
    #[error("your credential is not in the voter roll of this election")]
    NotRegistered,
    /// The choices do not fit the manifest.
    #[error("wrong choices: {0}")]
    Choices(String),
    /// The ballot could not be built.
    #[error("cannot build the ballot: {0}")]
    Build(String),
    /// Benaloh's audit found the ballot does not encrypt the choices.
    #[error("AUDIT FAILED: {0}")]
    Audit(String),
    /// The receipt does not verify.
    #[error("the receipt does not verify: {0}")]
    Receipt(String),
}

pub mod roll;

pub use roll::{decode_roll, RollAnswer, RollCopy};

fn board(what: &'static str, why: impl ToString) -> VoterError {
    VoterError::Board {
        what,
        why: why.to_string(),
    }
}

/// The body that registers `credential` with a one-time `code`.
pub fn registration(code: &str, credential: &Credential) -> Register {
    Register {
        code: code.trim().to_string(),
        commitment: hex::encode(fr_to_bytes(&credential.commitment())),
    }
}

/// Refuses an election that is not open (checked first, before fetching the roll and the
/// proving key).
pub fn require_open(status: &ElectionStatus) -> Result<(), VoterError> {
    match status.phase {
        Phase::Open => Ok(()),
        other => Err(VoterError::NotOpen(other)),
    }
}

/// Decodes the proving key a board serves, which must be the election's, so that a board
/// cannot hand voters another key (`docs/protocol.md` section 12.1). Version 1: the
/// compressed key, every point validated, whose verifying key's hash the manifest pins.
/// Version 2: the pinned (uncompressed) form, whose hash must equal the one the setup
/// ceremony's final entry pins (as the board's status reports it) before anything is
/// decoded; its points then need no checks (they are the transcript's key, which every
/// verifier of the record checks), so loading it costs no square roots.
pub fn load_proving_key(
    manifest: &Manifest,
    status: &ElectionStatus,
    bytes: &[u8],
) -> Result<ProvingKey, VoterError> {
    let not_pinned = || {
        board(
            "proving key",
            "it is not the election's pinned eligibility key",
        )
    };
    match manifest.groth16_vk_hash {
        Some(pinned) => {
            let pk = proving_key_from_bytes(bytes).map_err(|e| board("proving key", e))?;
            if vk_hash(&pk.vk) != pinned {
                return Err(not_pinned());
            }
            Ok(pk)
        }
        None => {
            let hash = hex::encode(crate::setup::pinned_bytes_hash(bytes));
            if status.proving_key_hash.as_deref() != Some(hash.as_str()) {
                return Err(not_pinned());
            }
            proving_key_from_pinned_bytes(bytes).map_err(|e| board("proving key", e))
        }
    }
}

/// What a voter needs to build ballots for an open election: its context, the proving key
/// and the frozen roll (or the voter's bucket of it), checked against each other.
#[derive(Clone)]
pub struct VotingSession {
    /// The election context (manifest and joint key).
    pub ctx: Arc<ElectionContext>,
    /// The eligibility proving key.
    pub proving_key: Arc<ProvingKey>,
    /// The frozen roll's root, as the board's status gives it.
    pub root: Fr,
    /// The copy of the roll, checked against the root.
    pub roll: Arc<RollCopy>,
}

impl VotingSession {
    /// A session from the board's answers: the election must be open, its joint key valid,
    /// the roll (or bucket) must give the root in its status, and the proving key must be
    /// the manifest's.
    pub fn new(
        manifest: Manifest,
        status: &ElectionStatus,
        roll: RollAnswer<'_>,
        proving_key: &[u8],
    ) -> Result<Self, VoterError> {
        require_open(status)?;
        let joint_key = status
            .joint_key
            .as_deref()
            .ok_or_else(|| board("status", "an open election without a joint key"))
            .and_then(|k| hex32(k).map_err(|e| board("joint key", e)))
            .and_then(|k| Element::decode(&k).map_err(|e| board("joint key", e)))
            .and_then(|e| ElectionPublicKey::new(e).map_err(|e| board("joint key", e)))?;
        let root = status
            .roll_root
            .as_deref()
            .ok_or_else(|| board("status", "an open election without a frozen root"))
            .and_then(|r| hex32(r).map_err(|e| board("roll root", e)))
            .and_then(|r| fr_from_bytes(&r, "roll root").map_err(|e| board("roll root", e)))?;
        let copy = RollCopy::check(manifest.roll_depth, roll, &root)?;
        let pk = load_proving_key(&manifest, status, proving_key)?;
        Ok(VotingSession {
            ctx: Arc::new(ElectionContext::new(manifest, joint_key)),
            proving_key: Arc::new(pk),
            root,
            roll: Arc::new(copy),
        })
    }

    /// The same session with another answer for the roll (another voter's bucket, say),
    /// checked against the same frozen root.
    pub fn with_roll(&self, roll: RollAnswer<'_>) -> Result<Self, VoterError> {
        let copy = RollCopy::check(self.ctx.manifest().roll_depth, roll, &self.root)?;
        Ok(VotingSession {
            roll: Arc::new(copy),
            ..self.clone()
        })
    }

    /// The voter's path in the frozen roll.
    pub fn path_for(&self, credential: &Credential) -> Result<MerklePath, VoterError> {
        self.roll
            .path(&credential.commitment())
            .ok_or(VoterError::NotRegistered)
    }

    /// Builds a complete ballot: encryption, validity proofs and the eligibility proof.
    pub fn build_ballot(
        &self,
        credential: &Credential,
        choices: &Choices,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(CompleteBallot, BallotSecrets), VoterError> {
        let pending = self.prepare_ballot(credential, choices, rng)?;
        let proof = prove(&self.proving_key, pending.circuit.clone(), rng)
            .map_err(|e| VoterError::Build(e.to_string()))?;
        Ok(pending.complete(proof))
    }

    /// Everything of a ballot but its eligibility proof, for a prover that splits the proof
    /// across threads (the web booth's workers, `zkvote_circuits::split_prover`).
    pub fn prepare_ballot(
        &self,
        credential: &Credential,
        choices: &Choices,
        rng: &mut impl CryptoRngCore,
    ) -> Result<PendingBallot, VoterError> {
        let path = self.path_for(credential)?;
        prepare_complete_ballot(&self.ctx, credential, &path, &self.root, choices, rng)
            .map_err(|e| VoterError::Build(e.to_string()))
    }

    /// The ballot's tracker (its digest), which the voter can look up on the board.
    pub fn tracker(&self, ballot: &CompleteBallot) -> BallotDigest {
        ballot.ballot.digest(self.ctx.manifest_hash())
    }
}

/// Parses choices written `contest=option[,option...]` (an empty list selects nothing).
pub fn parse_choices(manifest: &Manifest, specs: &[String]) -> Result<Choices, VoterError> {
    let mut selected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for spec in specs {
        let (contest, options) = spec.split_once('=').ok_or_else(|| {
            VoterError::Choices(format!(
                "{spec:?}: write contest=option or contest=option1,option2"
            ))
        })?;
        let list = options
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_string);
        selected
            .entry(contest.trim().to_string())
            .or_default()
            .extend(list);
    }
    Choices::from_ids(manifest, &selected).map_err(|e| VoterError::Choices(e.to_string()))
}

/// What an audit revealed and found.
pub struct Audited {
    /// Per contest, the indices of the options the ballot encrypts.
    pub choices: Vec<Vec<usize>>,
    /// The revealed plaintexts and nonces (anyone can re-check them against the ballot).
    pub opening: BallotOpening,
}

/// Benaloh's challenge: reveals the ballot's nonces and checks that it encrypts the
/// choices made. The audited ballot must never be cast. Returns the option indices found
/// with the opening.
pub fn audit(
    session: &VotingSession,
    ballot: &CompleteBallot,
    secrets: BallotSecrets,
    rng: &mut impl CryptoRngCore,
) -> Result<Audited, VoterError> {
    let chosen = secrets.choices().selected_indices();
    let opening = secrets.into_opening();
    let found = vartime_verify_opening(&session.ctx, &ballot.ballot, &opening, rng)
        .map_err(|e| VoterError::Audit(e.to_string()))?;
    if found != chosen {
        return Err(VoterError::Audit(
            "the ballot does not encrypt the choices made".into(),
        ));
    }
    Ok(Audited {
        choices: found,
        opening,
    })
}

fn board_key(manifest: &Manifest) -> Result<ed25519_dalek::VerifyingKey, VoterError> {
    ed25519_dalek::VerifyingKey::from_bytes(&manifest.board_key)
        .map_err(|_| board("manifest", "its board key is invalid"))
}

/// Checks the board's receipt for a cast ballot: the checkpoint is signed by the
/// manifest's board key, the inclusion proof holds, and the logged entry is exactly this
/// ballot. Returns the receipt's checkpoint.
pub fn check_cast_receipt(
    manifest: &Manifest,
    ballot: &CompleteBallot,
    receipt: &Receipt,
) -> Result<Checkpoint, VoterError> {
    let cp = receipt_checkpoint(manifest, receipt)?;
    let entry = Entry::Ballot {
        ballot: ballot.clone(),
    };
    if receipt.leaf_hash != leaf_hash(&entry.to_bytes()) {
        return Err(VoterError::Receipt(
            "it is for an entry that is not this ballot".into(),
        ));
    }
    Ok(cp)
}

/// The checkpoint of a kept receipt, signed by the manifest's board key and cosigned by
/// the manifest's threshold of its witnesses, with the receipt's inclusion proof checked
/// against it.
pub fn receipt_checkpoint(
    manifest: &Manifest,
    receipt: &Receipt,
) -> Result<Checkpoint, VoterError> {
    let cp = receipt
        .verify(&manifest.election_id, &board_key(manifest)?)
        .map_err(|e| VoterError::Receipt(e.to_string()))?;
    cosigners(manifest, &cp, &receipt.checkpoint).map_err(VoterError::Receipt)?;
    Ok(cp)
}

/// The names of the manifest's witnesses whose cosignatures of `checkpoint` are among the
/// signature lines of `note` (its signed note), in the manifest's order; at least the
/// manifest's threshold of them (`docs/protocol.md` section 15.1), none required when the
/// manifest names no witness. Any invalid cosignature of a listed witness refuses.
pub fn cosigners(
    manifest: &Manifest,
    checkpoint: &Checkpoint,
    note: &str,
) -> Result<Vec<String>, String> {
    if manifest.witnesses.is_empty() {
        return Ok(Vec::new());
    }
    let lines = note.split_once("\n\n").map_or("", |(_, lines)| lines);
    let keys = manifest.witness_keys();
    let mut found = require_cosignatures(
        checkpoint,
        lines,
        &keys,
        manifest.witness_threshold as usize,
    )
    .map_err(|e| format!("checkpoint of size {}: {e}", checkpoint.size))?;
    found.sort_by_key(|c| c.witness);
    Ok(found.iter().map(|c| keys[c.witness].name.clone()).collect())
}

/// A checkpoint the board published for the manifest's election, as a mirror or any
/// client takes it on its own (without a receipt): signed by the manifest's board key for
/// the election's origin, and cosigned by the manifest's threshold of its witnesses
/// (section 15.3). Returns it with the names of the witnesses that cosigned it.
pub fn published_checkpoint(
    manifest: &Manifest,
    note: &str,
) -> Result<(Checkpoint, Vec<String>), VoterError> {
    let cp = Checkpoint::verify(
        note,
        &origin_for(&manifest.election_id),
        BOARD_KEY_NAME,
        &board_key(manifest)?,
    )
    .map_err(|e| board("checkpoint", e))?;
    let names = cosigners(manifest, &cp, note).map_err(|e| board("checkpoint", e))?;
    Ok((cp, names))
}

/// A voter's saved receipt, as the CLI and the web booth write and read it: where, which
/// election, the tracker and the board's receipt.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptFile {
    /// The board's base URL.
    pub board: String,
    /// Election id, hex.
    pub election_id: String,
    /// The ballot's tracker (digest), hex.
    pub tracker: String,
    /// The board's receipt.
    pub receipt: Receipt,
}

impl ReceiptFile {
    /// Parses a receipt file's text.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The file's text (pretty JSON).
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).expect("a receipt file serializes")
    }
}

/// Checks a kept receipt against the board's newest checkpoint: the receipt verifies, and
/// the consistency proof shows the newest checkpoint extends the receipt's. Returns both.
pub fn check_receipt_extension(
    manifest: &Manifest,
    receipt: &Receipt,
    latest: &CheckpointView,
    proof: &ConsistencyView,
) -> Result<(Checkpoint, Checkpoint), VoterError> {
    let key = board_key(manifest)?;
    let eid = &manifest.election_id;
    let old = receipt_checkpoint(manifest, receipt)?;
    if proof.old != old.size || proof.new != latest.size {
        return Err(board(
            "consistency proof",
            format!(
                "it is from {} to {}, not from {} to {}",
                proof.old, proof.new, old.size, latest.size
            ),
        ));
    }
    let hashes: Vec<[u8; 32]> = proof
        .proof
        .iter()
        .map(|h| hex32(h).map_err(|e| board("consistency proof", e)))
        .collect::<Result<_, _>>()?;
    let new = receipt
        .verify_against(eid, &key, &latest.checkpoint, &hashes)
        .map_err(|e| {
            VoterError::Receipt(format!(
                "the board's latest checkpoint does not extend the receipt's: {e}"
            ))
        })?;
    cosigners(manifest, &new, &latest.checkpoint).map_err(|e| board("latest checkpoint", e))?;
    Ok((old, new))
}
