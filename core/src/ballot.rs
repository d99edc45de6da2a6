//! Encrypted ballots: building them with their proofs, verifying them one at a time or in
//! batches, their canonical encodings and digest (the voter's tracker), and Benaloh's
//! cast-or-audit challenge.

use crate::codec::{serde_hex32, DecodeError, Element, Reader};
use crate::elgamal::{Ciphertext, ElectionPublicKey};
use crate::manifest::{Contest, Manifest};
use crate::sigma::{DisjunctiveProof, MsmAccumulator, ProofError};
use crate::transcript::{labels, TranscriptProtocol};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Ballot encoding version.
pub const BALLOT_VERSION: u8 = 1;
/// Domain prefix of the ballot digest.
pub const DIGEST_DOMAIN: &[u8] = b"zkvote/v1/ballot-digest";

/// What a ballot is checked against: the manifest, its hash, and the joint election key.
#[derive(Clone, Debug)]
pub struct ElectionContext {
    manifest: Manifest,
    manifest_hash: [u8; 32],
    public_key: ElectionPublicKey,
}

impl ElectionContext {
    /// Binds a manifest to the election public key produced by the key ceremony.
    pub fn new(manifest: Manifest, public_key: ElectionPublicKey) -> Self {
        let manifest_hash = manifest.hash();
        ElectionContext {
            manifest,
            manifest_hash,
            public_key,
        }
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest hash.
    pub fn manifest_hash(&self) -> &[u8; 32] {
        &self.manifest_hash
    }

    /// The joint election public key.
    pub fn public_key(&self) -> &ElectionPublicKey {
        &self.public_key
    }
}

/// One encrypted selection (one option of one contest) with its 0/1 proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptedSelection {
    /// `r * G`.
    pub a: Element,
    /// `m * G + r * PK`.
    pub b: Element,
    /// Proof that `m` is 0 or 1.
    pub proof: DisjunctiveProof,
}

impl EncryptedSelection {
    /// The ciphertext as points.
    pub fn ciphertext(&self) -> Ciphertext {
        Ciphertext {
            a: *self.a.point(),
            b: *self.b.point(),
        }
    }
}

/// The encrypted selections of one contest and, where the contest needs it, the proof
/// that their sum lies in `[min_selections, max_selections]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContestBallot {
    /// One per option, in manifest order.
    pub selections: Vec<EncryptedSelection>,
    /// Present exactly when [`Contest::needs_range_proof`]. In JSON the field is always
    /// there (`null` when absent): a missing field is refused, so there is one form.
    #[serde(deserialize_with = "Option::deserialize")]
    pub range_proof: Option<DisjunctiveProof>,
}

/// An encrypted ballot: what a voter posts (together with the eligibility proof).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ballot {
    /// Encoding version ([`BALLOT_VERSION`]).
    pub version: u8,
    /// The election this ballot is for.
    #[serde(with = "serde_hex32")]
    pub election_id: [u8; 32],
    /// The voter's nullifier for this election.
    #[serde(with = "serde_hex32")]
    pub nullifier: [u8; 32],
    /// One entry per contest, in manifest order.
    pub contests: Vec<ContestBallot>,
}

/// The ballot digest (tracker): 32 bytes whose little-endian integer is below `2^254`,
/// hence a canonical BLS12-381 scalar-field element (the field modulus exceeds `2^254`).
/// The invariant is kept by the type: a digest comes from hashing a ballot or from
/// [`BallotDigest::from_bytes`], which refuses bytes at or above `2^254`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BallotDigest(#[serde(with = "serde_hex32")] [u8; 32]);

impl<'de> Deserialize<'de> for BallotDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = serde_hex32::deserialize(d)?;
        BallotDigest::from_bytes(bytes).map_err(serde::de::Error::custom)
    }
}

impl BallotDigest {
    /// A digest from its 32 bytes, refused unless their little-endian integer is below
    /// `2^254` (the top two bits of the last byte clear).
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, DecodeError> {
        if bytes[31] & 0xc0 != 0 {
            return Err(DecodeError::DigestRange);
        }
        Ok(BallotDigest(bytes))
    }

    /// The digest bytes (also the little-endian encoding of the field element).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for BallotDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BallotDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BallotDigest({self})")
    }
}

/// Why a voter's choices do not fit the manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    /// A contest id that is not in the manifest.
    #[error("unknown contest {0:?}")]
    UnknownContest(String),
    /// An option id that is not in the contest.
    #[error("contest {contest:?} has no option {option:?}")]
    UnknownOption {
        /// The contest.
        contest: String,
        /// The option.
        option: String,
    },
    /// An option index out of range.
    #[error("contest {contest:?} has no option number {index}")]
    OptionIndex {
        /// The contest.
        contest: String,
        /// The index.
        index: usize,
    },
    /// The same option chosen twice.
    #[error("contest {contest:?}: option {option:?} chosen twice")]
    Duplicate {
        /// The contest.
        contest: String,
        /// The option.
        option: String,
    },
    /// Too few or too many options chosen.
    #[error("contest {contest:?}: choose between {min} and {max} options, not {got}")]
    Count {
        /// The contest.
        contest: String,
        /// Fewest allowed.
        min: u32,
        /// Most allowed.
        max: u32,
        /// Number chosen.
        got: usize,
    },
    /// Choices given for a different number of contests.
    #[error("the manifest has {expected} contests, choices were given for {got}")]
    ContestCount {
        /// Contests in the manifest.
        expected: usize,
        /// Contests in the choices.
        got: usize,
    },
}

/// A voter's plaintext choices: per contest, one 0/1 value per option. Secret: zeroized
/// on drop and redacted in Debug output.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Choices {
    contests: Vec<Vec<u8>>,
}

impl fmt::Debug for Choices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Choices(<redacted>)")
    }
}

impl Choices {
    /// Choices from option indices, one list per contest in manifest order.
    pub fn from_indices(manifest: &Manifest, selected: &[Vec<usize>]) -> Result<Self, ChoiceError> {
        if selected.len() != manifest.contests.len() {
            return Err(ChoiceError::ContestCount {
                expected: manifest.contests.len(),
                got: selected.len(),
            });
        }
        let mut contests = Vec::with_capacity(selected.len());
        for (contest, picks) in manifest.contests.iter().zip(selected) {
            let mut bits = vec![0u8; contest.options.len()];
            for &i in picks {
                let slot = bits.get_mut(i).ok_or_else(|| ChoiceError::OptionIndex {
                    contest: contest.id.clone(),
                    index: i,
                })?;
                if *slot == 1 {
                    return Err(ChoiceError::Duplicate {
                        contest: contest.id.clone(),
                        option: contest.options[i].id.clone(),
                    });
                }
                *slot = 1;
            }
            check_count(contest, picks.len())?;
            contests.push(bits);
        }
        Ok(Choices { contests })
    }

    /// Choices from contest and option ids. A contest that is not named gets no
    /// selection (which is an error if its minimum is above zero).
    pub fn from_ids(
        manifest: &Manifest,
        selected: &BTreeMap<String, Vec<String>>,
    ) -> Result<Self, ChoiceError> {
        for id in selected.keys() {
            if manifest.contest(id).is_none() {
                return Err(ChoiceError::UnknownContest(id.clone()));
            }
        }
        let mut indices = Vec::with_capacity(manifest.contests.len());
        for contest in &manifest.contests {
            let picks = selected.get(&contest.id).map(Vec::as_slice).unwrap_or(&[]);
            let mut idx = Vec::with_capacity(picks.len());
            for p in picks {
                let i = contest
                    .options
                    .iter()
                    .position(|o| &o.id == p)
                    .ok_or_else(|| ChoiceError::UnknownOption {
                        contest: contest.id.clone(),
                        option: p.clone(),
                    })?;
                idx.push(i);
            }
            indices.push(idx);
        }
        Self::from_indices(manifest, &indices)
    }

    /// The chosen option indices per contest.
    pub fn selected_indices(&self) -> Vec<Vec<usize>> {
        self.contests
            .iter()
            .map(|bits| (0..bits.len()).filter(|&i| bits[i] == 1).collect())
            .collect()
    }

    /// Per contest, one 0/1 value per option.
    pub fn as_bits(&self) -> &[Vec<u8>] {
        &self.contests
    }
}

fn check_count(contest: &Contest, got: usize) -> Result<(), ChoiceError> {
    if got < contest.min_selections as usize || got > contest.max_selections as usize {
        return Err(ChoiceError::Count {
            contest: contest.id.clone(),
            min: contest.min_selections,
            max: contest.max_selections,
            got,
        });
    }
    Ok(())
}

/// What the voter's client keeps after building a ballot: the choices and the encryption
/// nonces. Zeroized on drop. Revealing them ([`BallotSecrets::into_opening`]) is Benaloh's
/// audit: the ballot must then never be cast.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct BallotSecrets {
    choices: Choices,
    nonces: Vec<Vec<Scalar>>,
}

impl fmt::Debug for BallotSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BallotSecrets(<redacted>)")
    }
}

impl BallotSecrets {
    /// The choices the ballot encrypts.
    pub fn choices(&self) -> &Choices {
        &self.choices
    }

    /// Reveals the plaintexts and nonces for an audit, consuming the secrets.
    pub fn into_opening(self) -> BallotOpening {
        BallotOpening {
            contests: self
                .choices
                .contests
                .iter()
                .zip(&self.nonces)
                .map(|(bits, nonces)| OpenedContest {
                    plaintexts: bits.clone(),
                    nonces: nonces.clone(),
                })
                .collect(),
        }
    }
}

/// The revealed plaintexts and nonces of one contest of an audited ballot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenedContest {
    /// One 0/1 value per option.
    pub plaintexts: Vec<u8>,
    /// One nonce per option.
    #[serde(with = "crate::codec::serde_scalar_vec")]
    pub nonces: Vec<Scalar>,
}

/// A ballot opening for Benaloh's cast-or-audit challenge: public once revealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BallotOpening {
    /// One entry per contest.
    pub contests: Vec<OpenedContest>,
}

/// Why a ballot was refused. Every variant names the culprit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BallotError {
    /// Unknown encoding version.
    #[error("unsupported ballot version {0}")]
    Version(u8),
    /// The ballot names another election.
    #[error("ballot is for election {found}, not {expected}")]
    WrongElection {
        /// This election's id (hex).
        expected: String,
        /// The ballot's election id (hex).
        found: String,
    },
    /// The number of contests differs from the manifest.
    #[error("ballot has {got} contests, the manifest has {expected}")]
    ContestCount {
        /// Contests in the manifest.
        expected: usize,
        /// Contests in the ballot.
        got: usize,
    },
    /// The number of selections in a contest differs from its options.
    #[error(
        "contest {contest:?}: ballot has {got} selections, the contest has {expected} options"
    )]
    SelectionCount {
        /// The contest id.
        contest: String,
        /// Options in the contest.
        expected: usize,
        /// Selections in the ballot.
        got: usize,
    },
    /// A range proof is missing or present where it must not be.
    #[error("contest {contest:?}: range proof {}", if *.expected { "missing" } else { "not allowed" })]
    RangeProofPresence {
        /// The contest id.
        contest: String,
        /// Whether the contest needs one.
        expected: bool,
    },
    /// Two of the ballot's ciphertexts share their `A` component (a nonce used twice,
    /// which would also reveal the difference of the two choices).
    #[error("contest {contest:?}, selection {selection}: its ciphertext's A component repeats one earlier in the ballot")]
    RepeatedCiphertext {
        /// The contest id of the later of the two.
        contest: String,
        /// Its selection index.
        selection: usize,
    },
    /// A proof with the wrong shape.
    #[error("contest {contest:?}, {}: {source}", selection_name(*.selection))]
    ProofShape {
        /// The contest id.
        contest: String,
        /// The selection index, or `None` for the contest's range proof.
        selection: Option<usize>,
        /// The shape error.
        source: ProofError,
    },
    /// A proof whose equations do not hold.
    #[error("contest {contest:?}, {}: proof does not verify", selection_name(*.selection))]
    InvalidProof {
        /// The contest id.
        contest: String,
        /// The selection index, or `None` for the contest's range proof.
        selection: Option<usize>,
    },
}

fn selection_name(s: Option<usize>) -> String {
    match s {
        Some(i) => format!("selection {i}"),
        None => "range proof".to_string(),
    }
}

/// A batch of ballots did not verify; these did not, by position in the batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ballot(s) in the batch failed; first: #{}: {}", .failures.len(), .failures[0].0, .failures[0].1)]
pub struct BatchError {
    /// `(index in the batch, reason)` for each failing ballot, in order.
    pub failures: Vec<(usize, BallotError)>,
}

/// Why an audited ballot does not match its opening.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The ballot itself is malformed or its proofs fail.
    #[error("ballot: {0}")]
    Ballot(#[from] BallotError),
    /// The opening does not have one plaintext and nonce per selection.
    #[error("the opening does not match the ballot's shape")]
    Shape,
    /// A revealed plaintext other than 0 or 1.
    #[error("contest {contest:?}, selection {selection}: revealed plaintext is not 0 or 1")]
    NotABit {
        /// The contest id.
        contest: String,
        /// The selection.
        selection: usize,
    },
    /// The revealed number of selections is out of range.
    #[error("contest {contest:?}: revealed choices do not fit the contest ({0})", .source)]
    Count {
        /// The contest id.
        contest: String,
        /// Details.
        source: ChoiceError,
    },
    /// A ciphertext is not the encryption of the revealed plaintext under the nonce.
    #[error("contest {contest:?}, selection {selection}: ciphertext does not encrypt the revealed choice")]
    Mismatch {
        /// The contest id.
        contest: String,
        /// The selection.
        selection: usize,
    },
}

/// The ballot transcript: everything every proof of the ballot binds to.
fn base_transcript(ctx: &ElectionContext, ballot: &Ballot) -> Transcript {
    let mut t = Transcript::new(labels::BALLOT_PROTOCOL);
    t.append_message(labels::MANIFEST_HASH, &ctx.manifest_hash);
    t.append_message(labels::ELECTION_ID, &ballot.election_id);
    t.append_point(labels::ELECTION_PK, ctx.public_key.element().compressed());
    t.append_message(labels::NULLIFIER, &ballot.nullifier);
    t.append_u64(labels::CONTEST_COUNT, ballot.contests.len() as u64);
    for c in &ballot.contests {
        t.append_u64(labels::SELECTION_COUNT, c.selections.len() as u64);
        for s in &c.selections {
            t.append_point(labels::CT_A, s.a.compressed());
            t.append_point(labels::CT_B, s.b.compressed());
        }
    }
    t
}

fn bit_transcript(
    base: &Transcript,
    contest_index: usize,
    contest: &Contest,
    j: usize,
) -> Transcript {
    let mut t = base.clone();
    t.bit_proof_domain_sep();
    t.append_u64(labels::CONTEST_INDEX, contest_index as u64);
    t.append_message(labels::CONTEST_ID, contest.id.as_bytes());
    t.append_u64(labels::SELECTION_INDEX, j as u64);
    t
}

fn range_transcript(base: &Transcript, contest_index: usize, contest: &Contest) -> Transcript {
    let mut t = base.clone();
    t.range_proof_domain_sep();
    t.append_u64(labels::CONTEST_INDEX, contest_index as u64);
    t.append_message(labels::CONTEST_ID, contest.id.as_bytes());
    t
}

/// Encrypts `choices` under the election key and proves the ballot well formed.
/// Constant time with respect to the choices and nonces.
pub fn build_ballot(
    ctx: &ElectionContext,
    nullifier: &[u8; 32],
    choices: &Choices,
    rng: &mut impl CryptoRngCore,
) -> Result<(Ballot, BallotSecrets), ChoiceError> {
    let manifest = &ctx.manifest;
    if choices.contests.len() != manifest.contests.len() {
        return Err(ChoiceError::ContestCount {
            expected: manifest.contests.len(),
            got: choices.contests.len(),
        });
    }
    for (contest, bits) in manifest.contests.iter().zip(&choices.contests) {
        if bits.len() != contest.options.len() {
            return Err(ChoiceError::OptionIndex {
                contest: contest.id.clone(),
                index: bits.len(),
            });
        }
        check_count(contest, bits.iter().filter(|&&b| b == 1).count())?;
    }
    let pk = &ctx.public_key;
    let mut nonces: Vec<Vec<Scalar>> = Vec::with_capacity(manifest.contests.len());
    let mut contests = Vec::with_capacity(manifest.contests.len());
    for bits in &choices.contests {
        let rs: Vec<Scalar> = bits.iter().map(|_| Scalar::random(rng)).collect();
        let selections = bits
            .iter()
            .zip(&rs)
            .map(|(&m, r)| {
                let ct = pk.encrypt_bit(subtle::Choice::from(m), r);
                EncryptedSelection {
                    a: Element::from_point(ct.a),
                    b: Element::from_point(ct.b),
                    proof: DisjunctiveProof {
                        commitments: Vec::new(),
                        challenges: Vec::new(),
                        responses: Vec::new(),
                    },
                }
            })
            .collect();
        nonces.push(rs);
        contests.push(ContestBallot {
            selections,
            range_proof: None,
        });
    }
    let mut ballot = Ballot {
        version: BALLOT_VERSION,
        election_id: manifest.election_id,
        nullifier: *nullifier,
        contests,
    };
    // The transcript binds every ciphertext, so it is built once all are known.
    let base = base_transcript(ctx, &ballot);
    for (i, contest) in manifest.contests.iter().enumerate() {
        let bits = &choices.contests[i];
        let rs = &nonces[i];
        let cb = &mut ballot.contests[i];
        for (j, sel) in cb.selections.iter_mut().enumerate() {
            let mut t = bit_transcript(&base, i, contest, j);
            sel.proof = DisjunctiveProof::prove(
                &mut t,
                pk,
                sel.a.compressed(),
                sel.b.compressed(),
                &rs[j],
                bits[j] as u64,
                0,
                1,
                rng,
            );
        }
        if contest.needs_range_proof() {
            let sum: Ciphertext = cb.selections.iter().map(|s| s.ciphertext()).sum();
            let r_sum = zeroize::Zeroizing::new(rs.iter().sum::<Scalar>());
            let count: u64 = bits.iter().map(|&b| b as u64).sum();
            let mut t = range_transcript(&base, i, contest);
            cb.range_proof = Some(DisjunctiveProof::prove(
                &mut t,
                pk,
                &sum.a.compress(),
                &sum.b.compress(),
                &r_sum,
                count,
                contest.min_selections as u64,
                contest.max_selections as u64,
                rng,
            ));
        }
    }
    Ok((
        ballot,
        BallotSecrets {
            choices: choices.clone(),
            nonces,
        },
    ))
}

/// Checks everything about a ballot that needs no group operation: version, election,
/// the shape of every contest and proof, and that no two ciphertexts share their `A`.
pub fn check_structure(ctx: &ElectionContext, ballot: &Ballot) -> Result<(), BallotError> {
    check_shapes(ctx, ballot)?;
    check_distinct_ciphertexts(ctx, ballot)
}

/// The ciphertexts' `A` components are pairwise distinct; the later of two equal ones is
/// named.
fn check_distinct_ciphertexts(ctx: &ElectionContext, ballot: &Ballot) -> Result<(), BallotError> {
    let mut keys: Vec<(&[u8; 32], usize, usize)> = ballot
        .contests
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.selections
                .iter()
                .enumerate()
                .map(move |(j, s)| (s.a.as_bytes(), i, j))
        })
        .collect();
    keys.sort_unstable();
    match keys.windows(2).find(|w| w[0].0 == w[1].0) {
        None => Ok(()),
        Some(w) => Err(BallotError::RepeatedCiphertext {
            contest: ctx.manifest.contests[w[1].1].id.clone(),
            selection: w[1].2,
        }),
    }
}

/// Version, election, and the shape of every contest and proof.
fn check_shapes(ctx: &ElectionContext, ballot: &Ballot) -> Result<(), BallotError> {
    let manifest = &ctx.manifest;
    if ballot.version != BALLOT_VERSION {
        return Err(BallotError::Version(ballot.version));
    }
    if ballot.election_id != manifest.election_id {
        return Err(BallotError::WrongElection {
            expected: hex::encode(manifest.election_id),
            found: hex::encode(ballot.election_id),
        });
    }
    if ballot.contests.len() != manifest.contests.len() {
        return Err(BallotError::ContestCount {
            expected: manifest.contests.len(),
            got: ballot.contests.len(),
        });
    }
    for (contest, cb) in manifest.contests.iter().zip(&ballot.contests) {
        if cb.selections.len() != contest.options.len() {
            return Err(BallotError::SelectionCount {
                contest: contest.id.clone(),
                expected: contest.options.len(),
                got: cb.selections.len(),
            });
        }
        for (j, s) in cb.selections.iter().enumerate() {
            s.proof
                .check_shape(0, 1)
                .map_err(|source| BallotError::ProofShape {
                    contest: contest.id.clone(),
                    selection: Some(j),
                    source,
                })?;
        }
        match (&cb.range_proof, contest.needs_range_proof()) {
            (Some(p), true) => p
                .check_shape(contest.min_selections as u64, contest.max_selections as u64)
                .map_err(|source| BallotError::ProofShape {
                    contest: contest.id.clone(),
                    selection: None,
                    source,
                })?,
            (None, false) => {}
            (_, expected) => {
                return Err(BallotError::RangeProofPresence {
                    contest: contest.id.clone(),
                    expected,
                })
            }
        }
    }
    Ok(())
}

/// Which proofs of a ballot to add to an accumulator.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Only {
    All,
    Bit(usize, usize),
    Range(usize),
}

/// Adds the weighted equations of a structurally checked ballot's proofs to `acc`.
fn vartime_accumulate(
    ctx: &ElectionContext,
    ballot: &Ballot,
    acc: &mut MsmAccumulator,
    only: Only,
    rng: &mut impl CryptoRngCore,
) -> Result<(), BallotError> {
    let base = base_transcript(ctx, ballot);
    for (i, (contest, cb)) in ctx
        .manifest
        .contests
        .iter()
        .zip(&ballot.contests)
        .enumerate()
    {
        let shape_err = |selection, source| BallotError::ProofShape {
            contest: contest.id.clone(),
            selection,
            source,
        };
        let mut coeffs = vec![(Scalar::ZERO, Scalar::ZERO); cb.selections.len()];
        for (j, s) in cb.selections.iter().enumerate() {
            if only != Only::All && only != Only::Bit(i, j) {
                continue;
            }
            let mut t = bit_transcript(&base, i, contest, j);
            let (ca, cb_) = s
                .proof
                .vartime_accumulate(&mut t, s.a.compressed(), s.b.compressed(), 0, 1, acc, rng)
                .map_err(|e| shape_err(Some(j), e))?;
            coeffs[j].0 += ca;
            coeffs[j].1 += cb_;
        }
        if let (Some(p), true) = (&cb.range_proof, only == Only::All || only == Only::Range(i)) {
            let sum: Ciphertext = cb.selections.iter().map(|s| s.ciphertext()).sum();
            let mut t = range_transcript(&base, i, contest);
            let (ca, cb_) = p
                .vartime_accumulate(
                    &mut t,
                    &sum.a.compress(),
                    &sum.b.compress(),
                    contest.min_selections as u64,
                    contest.max_selections as u64,
                    acc,
                    rng,
                )
                .map_err(|e| shape_err(None, e))?;
            for c in &mut coeffs {
                c.0 += ca;
                c.1 += cb_;
            }
        }
        for (s, (ca, cb_)) in cb.selections.iter().zip(coeffs) {
            if ca != Scalar::ZERO || cb_ != Scalar::ZERO {
                acc.push(ca, *s.a.point());
                acc.push(cb_, *s.b.point());
            }
        }
    }
    Ok(())
}

/// Number of multiscalar terms a ballot adds (for preallocation).
fn term_count(ballot: &Ballot) -> usize {
    ballot
        .contests
        .iter()
        .map(|c| {
            let n = c.selections.len();
            6 * n
                + c.range_proof
                    .as_ref()
                    .map_or(0, |p| 2 * p.commitments.len())
        })
        .sum()
}

/// A fast CSPRNG for batch weights, seeded once from the caller's RNG (drawing dozens of
/// weights per ballot straight from the operating system would cost a system call each).
fn weight_rng(rng: &mut impl CryptoRngCore) -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    ChaCha20Rng::from_seed(seed)
}

/// Verifies every proof of one ballot: one multiscalar multiplication with random
/// weights; if it fails, each proof is checked alone to name the culprit.
pub fn vartime_verify_ballot(
    ctx: &ElectionContext,
    ballot: &Ballot,
    rng: &mut impl CryptoRngCore,
) -> Result<(), BallotError> {
    check_structure(ctx, ballot)?;
    let rng = &mut weight_rng(rng);
    let pk = *ctx.public_key.point();
    let mut acc = MsmAccumulator::with_capacity(pk, term_count(ballot));
    vartime_accumulate(ctx, ballot, &mut acc, Only::All, rng)?;
    if acc.vartime_is_zero() {
        return Ok(());
    }
    Err(vartime_locate_failure(ctx, ballot, rng))
}

/// Finds the first proof of a ballot that fails on its own.
fn vartime_locate_failure(
    ctx: &ElectionContext,
    ballot: &Ballot,
    rng: &mut impl CryptoRngCore,
) -> BallotError {
    let pk = *ctx.public_key.point();
    for (i, (contest, cb)) in ctx
        .manifest
        .contests
        .iter()
        .zip(&ballot.contests)
        .enumerate()
    {
        let parts = (0..cb.selections.len())
            .map(|j| (Only::Bit(i, j), Some(j)))
            .chain(cb.range_proof.iter().map(|_| (Only::Range(i), None)));
        for (only, selection) in parts {
            let mut acc = MsmAccumulator::new(pk);
            if let Err(e) = vartime_accumulate(ctx, ballot, &mut acc, only, rng) {
                return e;
            }
            if !acc.vartime_is_zero() {
                return BallotError::InvalidProof {
                    contest: contest.id.clone(),
                    selection,
                };
            }
        }
    }
    // Every proof verifies alone but not together: only possible with negligible
    // probability over the weights; still a refusal.
    BallotError::InvalidProof {
        contest: ctx.manifest.contests[0].id.clone(),
        selection: None,
    }
}

/// Verifies many ballots of one election in a single multiscalar multiplication with
/// independent random weights for every equation. If the batch fails, each ballot is
/// verified alone and every bad one is named.
pub fn vartime_verify_ballots<B: Borrow<Ballot>>(
    ctx: &ElectionContext,
    ballots: &[B],
    rng: &mut impl CryptoRngCore,
) -> Result<(), BatchError> {
    let rng = &mut weight_rng(rng);
    let pk = *ctx.public_key.point();
    let terms = ballots.iter().map(|b| term_count(b.borrow())).sum();
    let mut acc = MsmAccumulator::with_capacity(pk, terms);
    let mut failures = Vec::new();
    let mut ok = vec![true; ballots.len()];
    for (i, b) in ballots.iter().enumerate() {
        let b = b.borrow();
        let r = check_structure(ctx, b)
            .and_then(|_| vartime_accumulate(ctx, b, &mut acc, Only::All, rng));
        if let Err(e) = r {
            failures.push((i, e));
            ok[i] = false;
        }
    }
    if !acc.vartime_is_zero() {
        for (i, b) in ballots.iter().enumerate() {
            if ok[i] {
                if let Err(e) = vartime_verify_ballot(ctx, b.borrow(), rng) {
                    failures.push((i, e));
                }
            }
        }
        failures.sort_by_key(|f| f.0);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(BatchError { failures })
    }
}

/// Checks Benaloh's audit: every ciphertext of `ballot` encrypts the revealed plaintext
/// under the revealed nonce, every plaintext is 0 or 1, each contest's count fits the
/// manifest, and the ballot's proofs verify. Returns the chosen option indices.
pub fn vartime_verify_opening(
    ctx: &ElectionContext,
    ballot: &Ballot,
    opening: &BallotOpening,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<Vec<usize>>, AuditError> {
    vartime_verify_ballot(ctx, ballot, rng)?;
    if opening.contests.len() != ballot.contests.len() {
        return Err(AuditError::Shape);
    }
    let mut chosen = Vec::with_capacity(ballot.contests.len());
    for ((contest, cb), oc) in ctx
        .manifest
        .contests
        .iter()
        .zip(&ballot.contests)
        .zip(&opening.contests)
    {
        let n = cb.selections.len();
        if oc.plaintexts.len() != n || oc.nonces.len() != n {
            return Err(AuditError::Shape);
        }
        let mut picks = Vec::new();
        for (j, ((s, &m), r)) in cb
            .selections
            .iter()
            .zip(&oc.plaintexts)
            .zip(&oc.nonces)
            .enumerate()
        {
            if m > 1 {
                return Err(AuditError::NotABit {
                    contest: contest.id.clone(),
                    selection: j,
                });
            }
            let expect = ctx.public_key.encrypt(&Scalar::from(m as u64), r);
            if expect.a != *s.a.point() || expect.b != *s.b.point() {
                return Err(AuditError::Mismatch {
                    contest: contest.id.clone(),
                    selection: j,
                });
            }
            if m == 1 {
                picks.push(j);
            }
        }
        check_count(contest, picks.len()).map_err(|source| AuditError::Count {
            contest: contest.id.clone(),
            source,
        })?;
        chosen.push(picks);
    }
    Ok(chosen)
}

impl Ballot {
    /// The canonical binary encoding (see `docs/protocol.md`, "Ballot encoding"). Its
    /// layout is fixed by the manifest, so it carries no counts or lengths.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(65 + self.contests.len() * 1600);
        out.push(self.version);
        out.extend_from_slice(&self.election_id);
        out.extend_from_slice(&self.nullifier);
        for c in &self.contests {
            for s in &c.selections {
                out.extend_from_slice(s.a.as_bytes());
                out.extend_from_slice(s.b.as_bytes());
                s.proof.encode(&mut out);
            }
            if let Some(p) = &c.range_proof {
                p.encode(&mut out);
            }
        }
        out
    }

    /// Decodes the canonical binary encoding for the election described by `manifest`.
    /// Refuses non-canonical or identity points, non-canonical scalars, short input and
    /// trailing bytes.
    pub fn decode(bytes: &[u8], manifest: &Manifest) -> Result<Ballot, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != BALLOT_VERSION {
            return Err(DecodeError::Version(version));
        }
        let election_id = r.array::<32>()?;
        let nullifier = r.array::<32>()?;
        let mut contests = Vec::with_capacity(manifest.contests.len());
        for contest in &manifest.contests {
            let mut selections = Vec::with_capacity(contest.options.len());
            for _ in &contest.options {
                let a = r.element()?;
                let b = r.element()?;
                let proof = DisjunctiveProof::decode(&mut r, 0, 1)?;
                selections.push(EncryptedSelection { a, b, proof });
            }
            let range_proof = if contest.needs_range_proof() {
                Some(DisjunctiveProof::decode(
                    &mut r,
                    contest.min_selections as u64,
                    contest.max_selections as u64,
                )?)
            } else {
                None
            };
            contests.push(ContestBallot {
                selections,
                range_proof,
            });
        }
        r.finish()?;
        Ok(Ballot {
            version,
            election_id,
            nullifier,
            contests,
        })
    }

    /// Size of the binary encoding of a ballot for `manifest`, in bytes.
    pub fn encoded_len(manifest: &Manifest) -> usize {
        let bit = 64 + DisjunctiveProof::encoded_len(2);
        65 + manifest
            .contests
            .iter()
            .map(|c| {
                c.options.len() * bit
                    + if c.needs_range_proof() {
                        DisjunctiveProof::encoded_len(
                            (c.max_selections - c.min_selections + 1) as usize,
                        )
                    } else {
                        0
                    }
            })
            .sum::<usize>()
    }

    /// The ballot digest (tracker): `SHA-256(DIGEST_DOMAIN || manifest_hash || encode())`
    /// with the two most significant bits of the last byte cleared, so that read as a
    /// little-endian integer it is a canonical BLS12-381 scalar (`< 2^254 < r`).
    pub fn digest(&self, manifest_hash: &[u8; 32]) -> BallotDigest {
        let mut h = Sha256::new();
        h.update(DIGEST_DOMAIN);
        h.update(manifest_hash);
        h.update(self.encode());
        let mut out: [u8; 32] = h.finalize().into();
        out[31] &= 0x3f;
        BallotDigest(out)
    }

    /// The ballot's ciphertexts as points, per contest.
    pub fn ciphertexts(&self) -> Vec<Vec<Ciphertext>> {
        self.contests
            .iter()
            .map(|c| {
                c.selections
                    .iter()
                    .map(EncryptedSelection::ciphertext)
                    .collect()
            })
            .collect()
    }

    /// Every ciphertext's `A` component, for the "no repeated ciphertext" rule: two
    /// honestly made ciphertexts share `A = r*G` only with negligible probability.
    pub fn ciphertext_keys(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.contests
            .iter()
            .flat_map(|c| c.selections.iter().map(|s| s.a.as_bytes()))
    }
}
