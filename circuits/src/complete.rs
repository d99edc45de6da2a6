//! Complete ballots: the encrypted ballot with its sigma proofs (zkvote-core) plus the
//! Groth16 eligibility proof over the ballot's digest. One function builds one for a voter;
//! matching functions verify one or a batch.

use crate::circuit::{EligibilityCircuit, PublicInputs};
use crate::credential::Credential;
use crate::field::{digest_scalar, election_scalar, fr_from_bytes, fr_to_bytes, FieldError};
use crate::groth16::{
    self, Backend, EligibilityProof, EligibilityVerifier, Groth16Error, ProvingKey, PROOF_SIZE,
};
use crate::merkle::MerklePath;
use ark_bls12_381::Fr;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zkvote_core::{
    build_ballot, check_structure, vartime_verify_ballot, vartime_verify_ballots, Ballot,
    BallotError, BallotSecrets, ChoiceError, Choices, DecodeError, ElectionContext, Manifest,
};

/// An encrypted ballot with its eligibility proof: what a voter submits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteBallot {
    /// The encrypted ballot and its validity proofs.
    pub ballot: Ballot,
    /// Proof that the ballot's nullifier belongs to a registered voter, over its digest.
    pub eligibility_proof: EligibilityProof,
}

/// Why a complete ballot was refused (or could not be built).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompleteBallotError {
    /// The encrypted part is malformed or a sigma proof fails.
    #[error(transparent)]
    Ballot(#[from] BallotError),
    /// The nullifier is not a canonical field element.
    #[error(transparent)]
    Nullifier(#[from] FieldError),
    /// The eligibility proof is malformed or does not verify.
    #[error(transparent)]
    Eligibility(#[from] Groth16Error),
    /// The verifying key is not the one the manifest names.
    #[error("the eligibility verifying key does not match the manifest's groth16_vk_hash")]
    VerifyingKeyMismatch,
    /// The credential's commitment is not at the given place in the roll.
    #[error("the credential is not in the voter roll with this root")]
    NotInRoll,
    /// The roll depth differs from the manifest's.
    #[error("the path has depth {got}, the manifest's roll depth is {expected}")]
    Depth {
        /// The manifest's depth.
        expected: u8,
        /// The path's depth.
        got: usize,
    },
    /// The choices do not fit the manifest.
    #[error(transparent)]
    Choice(#[from] ChoiceError),
}

impl CompleteBallot {
    /// Binary encoding: the ballot's canonical encoding followed by the 384-byte proof.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.ballot.encode();
        out.extend_from_slice(&self.eligibility_proof.to_bytes());
        out
    }

    /// Decodes the binary encoding for `manifest` (the proof's points checked with
    /// [`Backend::FASTEST`]).
    pub fn decode(bytes: &[u8], manifest: &Manifest) -> Result<Self, CompleteBallotError> {
        Self::decode_with(bytes, manifest, Backend::FASTEST)
    }

    /// [`CompleteBallot::decode`] with the proof's points checked by `backend`.
    pub fn decode_with(
        bytes: &[u8],
        manifest: &Manifest,
        backend: Backend,
    ) -> Result<Self, CompleteBallotError> {
        let split = bytes
            .len()
            .checked_sub(PROOF_SIZE)
            .ok_or(CompleteBallotError::Eligibility(Groth16Error::Encoding {
                what: "complete ballot",
                reason: "shorter than a proof".into(),
            }))?;
        let ballot = Ballot::decode(&bytes[..split], manifest).map_err(|e: DecodeError| {
            CompleteBallotError::Eligibility(Groth16Error::Encoding {
                what: "ballot",
                reason: e.to_string(),
            })
        })?;
        Ok(CompleteBallot {
            ballot,
            eligibility_proof: EligibilityProof::from_bytes_with(&bytes[split..], backend)?,
        })
    }

    /// The eligibility proof's public inputs for this ballot under `root`.
    pub fn public_inputs(
        &self,
        ctx: &ElectionContext,
        root: &Fr,
    ) -> Result<PublicInputs, CompleteBallotError> {
        Ok(PublicInputs {
            root: *root,
            nullifier: fr_from_bytes(&self.ballot.nullifier, "nullifier")?,
            election: election_scalar(&ctx.manifest().election_id),
            ballot_digest: digest_scalar(&self.ballot.digest(ctx.manifest_hash())),
        })
    }
}

/// A ballot encrypted and proved valid, whose eligibility proof is still to be made:
/// what [`prepare_complete_ballot`] returns.
pub struct PendingBallot {
    /// The encrypted ballot with its validity proofs.
    pub ballot: Ballot,
    /// Its plaintexts and nonces (for an audit).
    pub secrets: BallotSecrets,
    /// The eligibility circuit with its witness, over the ballot's digest.
    pub circuit: EligibilityCircuit,
}

impl PendingBallot {
    /// The complete ballot, with `proof` (made for [`PendingBallot::circuit`]).
    pub fn complete(self, eligibility_proof: EligibilityProof) -> (CompleteBallot, BallotSecrets) {
        (
            CompleteBallot {
                ballot: self.ballot,
                eligibility_proof,
            },
            self.secrets,
        )
    }
}

/// Everything of a complete ballot but its eligibility proof: checks the path leads from
/// the credential's commitment to `root`, encrypts and proves the choices under the
/// credential's nullifier, and sets up the eligibility circuit over the ballot's digest.
pub fn prepare_complete_ballot(
    ctx: &ElectionContext,
    credential: &Credential,
    path: &MerklePath,
    root: &Fr,
    choices: &Choices,
    rng: &mut impl CryptoRngCore,
) -> Result<PendingBallot, CompleteBallotError> {
    let depth = ctx.manifest().roll_depth;
    if path.siblings.len() != depth as usize {
        return Err(CompleteBallotError::Depth {
            expected: depth,
            got: path.siblings.len(),
        });
    }
    if path.root(&credential.commitment()) != *root {
        return Err(CompleteBallotError::NotInRoll);
    }
    let election_id = ctx.manifest().election_id;
    let nullifier = credential.nullifier(&election_id);
    let (ballot, secrets) = build_ballot(ctx, &fr_to_bytes(&nullifier), choices, rng)?;
    let public = PublicInputs {
        root: *root,
        nullifier,
        election: election_scalar(&election_id),
        ballot_digest: digest_scalar(&ballot.digest(ctx.manifest_hash())),
    };
    let circuit = EligibilityCircuit {
        public,
        secret: *credential.secret(),
        path: path.clone(),
    };
    Ok(PendingBallot {
        ballot,
        secrets,
        circuit,
    })
}

/// Builds a complete ballot: encrypts and proves the choices, computes the digest, then
/// proves eligibility over it. `path` is the voter's path in the frozen roll with `root`.
#[allow(clippy::too_many_arguments)]
pub fn build_complete_ballot(
    ctx: &ElectionContext,
    proving_key: &ProvingKey,
    credential: &Credential,
    path: &MerklePath,
    root: &Fr,
    choices: &Choices,
    rng: &mut impl CryptoRngCore,
) -> Result<(CompleteBallot, BallotSecrets), CompleteBallotError> {
    let PendingBallot {
        ballot,
        secrets,
        circuit,
    } = prepare_complete_ballot(ctx, credential, path, root, choices, rng)?;
    let eligibility_proof = groth16::prove(proving_key, circuit, rng)?;
    Ok((
        CompleteBallot {
            ballot,
            eligibility_proof,
        },
        secrets,
    ))
}

fn check_key(
    ctx: &ElectionContext,
    verifier: &EligibilityVerifier,
) -> Result<(), CompleteBallotError> {
    // A version-1 manifest pins the key; a version-2 election's key is the one its setup
    // ceremony's final entry pins, which the caller's election state holds.
    if let Some(pinned) = ctx.manifest().groth16_vk_hash {
        if *verifier.vk_hash() != pinned {
            return Err(CompleteBallotError::VerifyingKeyMismatch);
        }
    }
    Ok(())
}

/// Verifies a complete ballot against the frozen roll `root`: every sigma proof, then the
/// eligibility proof for (root, nullifier, election, digest).
pub fn vartime_verify_complete_ballot(
    ctx: &ElectionContext,
    verifier: &EligibilityVerifier,
    root: &Fr,
    cb: &CompleteBallot,
    rng: &mut impl CryptoRngCore,
) -> Result<(), CompleteBallotError> {
    check_key(ctx, verifier)?;
    vartime_verify_ballot(ctx, &cb.ballot, rng)?;
    let inputs = cb.public_inputs(ctx, root)?;
    verifier.vartime_verify(&inputs, &cb.eligibility_proof)?;
    Ok(())
}

/// Verifies many complete ballots: the sigma proofs of all in one multiscalar
/// multiplication and the eligibility proofs in one batch pairing check. On failure, every
/// failing ballot is named by position with its reason.
pub fn vartime_verify_complete_ballots(
    ctx: &ElectionContext,
    verifier: &EligibilityVerifier,
    root: &Fr,
    ballots: &[CompleteBallot],
    rng: &mut impl CryptoRngCore,
) -> Result<(), Vec<(usize, CompleteBallotError)>> {
    if let Err(e) = check_key(ctx, verifier) {
        return Err((0..ballots.len()).map(|i| (i, e.clone())).collect());
    }
    let mut failures: Vec<(usize, CompleteBallotError)> = Vec::new();
    let mut groth = Vec::with_capacity(ballots.len());
    let mut groth_index = Vec::with_capacity(ballots.len());
    for (i, cb) in ballots.iter().enumerate() {
        match check_structure(ctx, &cb.ballot)
            .map_err(CompleteBallotError::from)
            .and_then(|_| cb.public_inputs(ctx, root))
        {
            Ok(inputs) => {
                groth.push((inputs, &cb.eligibility_proof));
                groth_index.push(i);
            }
            Err(e) => failures.push((i, e)),
        }
    }
    let sigma: Vec<&Ballot> = groth_index.iter().map(|&i| &ballots[i].ballot).collect();
    if let Err(e) = vartime_verify_ballots(ctx, &sigma, rng) {
        for (k, err) in e.failures {
            failures.push((groth_index[k], err.into()));
        }
    }
    if let Err(bad) = verifier.vartime_verify_batch(&groth, rng) {
        for k in bad {
            let i = groth_index[k];
            if !failures.iter().any(|(j, _)| *j == i) {
                failures.push((i, Groth16Error::Invalid.into()));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        failures.sort_by_key(|f| f.0);
        Err(failures)
    }
}

/// [`vartime_verify_complete_ballots`] over chunks of `chunk` ballots on the rayon thread
/// pool (each chunk is one batch), for multi-core verifiers. Failures are named by their
/// position in `ballots`.
#[cfg(feature = "parallel")]
pub fn vartime_verify_complete_ballots_parallel(
    ctx: &ElectionContext,
    verifier: &EligibilityVerifier,
    root: &Fr,
    ballots: &[CompleteBallot],
    chunk: usize,
    rng: &mut impl CryptoRngCore,
) -> Result<(), Vec<(usize, CompleteBallotError)>> {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use rayon::prelude::*;
    let chunk = chunk.max(1);
    let seeds: Vec<[u8; 32]> = (0..ballots.len().div_ceil(chunk))
        .map(|_| {
            let mut s = [0u8; 32];
            rng.fill_bytes(&mut s);
            s
        })
        .collect();
    let mut failures: Vec<(usize, CompleteBallotError)> = ballots
        .par_chunks(chunk)
        .zip(seeds)
        .enumerate()
        .flat_map_iter(|(ci, (part, seed))| {
            let mut rng = ChaCha20Rng::from_seed(seed);
            vartime_verify_complete_ballots(ctx, verifier, root, part, &mut rng)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(move |(i, e)| (ci * chunk + i, e))
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        failures.sort_by_key(|f| f.0);
        Err(failures)
    }
}
