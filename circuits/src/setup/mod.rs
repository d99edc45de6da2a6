//! The multi-party setup ceremony of the eligibility circuit's Groth16 keys
//! (Bowe-Gabizon-Miers 2017, the design of the Zcash Sapling ceremony): phase 1 (powers of
//! `tau` with `alpha` and `beta`) then phase 2 (the circuit's `delta`), each contribution
//! multiplying the parameters by fresh secrets and proving knowledge of them, bound to the
//! digest of the transcript before it. The keys are sound unless every phase-1 contributor
//! or every phase-2 contributor knows the combined secrets of that phase, that is unless all
//! of one phase's contributors collude.
//!
//! [`Ceremony`] is the transcript as a state machine: it starts from the deterministic
//! initial state for a 32-byte context (the election's manifest hash) and a roll depth, is
//! extended contribution by contribution, each checked before it is applied, and yields the
//! proving key. The encodings, hash inputs and checks are those of `docs/protocol.md`
//! section 9.8.

#[cfg(any(test, target_arch = "wasm32"))]
mod ladder;
mod memo;
mod phase1;
mod phase2;
mod points;
mod pok;
mod qap;
mod ratio;
mod secret_mul;

pub use phase1::{Phase1, Phase1Proof};
pub use phase2::{Phase2, Phase2Proof};
pub use pok::{hash_to_g2, KnowledgeProof, Secret, KNOWLEDGE_PROOF_SIZE, POK_DST};
pub use qap::{CircuitShape, KeyBase};

use phase2::Phase2Prev;
use std::borrow::Cow;
use std::sync::OnceLock;

use crate::groth16::ProvingKey;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// Domain prefix of the initial transcript digest.
pub const START_DOMAIN: &[u8] = b"zkvote/v2/setup/start";
/// Domain prefix of the digest after a contribution.
pub const CONTRIBUTION_DOMAIN: &[u8] = b"zkvote/v2/setup/contribution";
/// Domain prefix of a parameters hash.
pub const PARAMS_DOMAIN: &[u8] = b"zkvote/v2/setup/params";

/// Errors of the ceremony; each names what is wrong with a contribution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// Bytes that are not a valid encoding (length, a point off the curve or outside the
    /// subgroup, a non-canonical form).
    #[error("invalid {what} encoding: {reason}")]
    Encoding {
        /// What was being decoded.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The proof of knowledge does not verify at this point of the transcript (a bad
    /// proof, or one copied from another contribution or another election).
    #[error("the proof of knowledge of {} does not verify at this point of the transcript (a bad proof, or one copied from elsewhere)", .secret.name())]
    KnowledgeProof {
        /// The secret it is about.
        secret: Secret,
    },
    /// The new parameters are not the previous ones multiplied by the proved secret.
    #[error("the new parameters are not the previous ones updated by the proved {}", .secret.name())]
    NotAnUpdate {
        /// The secret.
        secret: Secret,
    },
    /// The new parameters are not well formed.
    #[error("the new parameters are not well formed: {what}")]
    Inconsistent {
        /// What is inconsistent.
        what: &'static str,
    },
    /// A value that must not be zero or the identity is.
    #[error("degenerate parameters: {what}")]
    Degenerate {
        /// What is degenerate.
        what: &'static str,
    },
    /// A proving key that is not the transcript's.
    #[error("the proving key is not the one the transcript makes: {what} differs")]
    KeyMismatch {
        /// What differs.
        what: &'static str,
    },
    /// A contribution to the wrong phase, or keys asked for too early.
    #[error("{0}")]
    Order(&'static str),
}

impl SetupError {
    pub(crate) fn encoding(what: &'static str, reason: impl Into<String>) -> Self {
        SetupError::Encoding {
            what,
            reason: reason.into(),
        }
    }
}

/// The transcript digest: a SHA-256 chain over everything contributed so far.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetupDigest([u8; 32]);

impl fmt::Debug for SetupDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetupDigest({})", hex::encode(self.0))
    }
}

impl SetupDigest {
    /// `SHA-256(START_DOMAIN || context || depth || LE64(N))`.
    pub fn start(context: &[u8; 32], depth: u8, domain_size: usize) -> Self {
        let mut h = Sha256::new();
        h.update(START_DOMAIN);
        h.update(context);
        h.update([depth]);
        h.update((domain_size as u64).to_le_bytes());
        SetupDigest(h.finalize().into())
    }

    /// `SHA-256(CONTRIBUTION_DOMAIN || self || phase || proof || params_hash)`.
    pub fn next(&self, phase: SetupPhase, proof: &[u8], params_hash: &[u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(CONTRIBUTION_DOMAIN);
        h.update(self.0);
        h.update([phase as u8]);
        h.update(proof);
        h.update(params_hash);
        SetupDigest(h.finalize().into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SetupDigest(bytes)
    }
}

/// `SHA-256(PARAMS_DOMAIN || encoded parameters)`.
pub fn params_hash(encoded: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(PARAMS_DOMAIN);
    h.update(encoded);
    h.finalize().into()
}

/// The two phases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum SetupPhase {
    /// Powers of tau.
    One = 1,
    /// The circuit's delta.
    Two = 2,
}

impl From<SetupPhase> for u8 {
    fn from(p: SetupPhase) -> u8 {
        p as u8
    }
}

impl TryFrom<u8> for SetupPhase {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            1 => Ok(SetupPhase::One),
            2 => Ok(SetupPhase::Two),
            _ => Err(format!("setup phase {v} (expected 1 or 2)")),
        }
    }
}

/// One contribution: the new parameters (encoded) and the proof (encoded), as they appear
/// in the record.
#[derive(Clone, PartialEq, Eq)]
pub struct Contribution {
    /// The phase contributed to.
    pub phase: SetupPhase,
    /// The encoded new parameters.
    pub params: Vec<u8>,
    /// The encoded proof.
    pub proof: Vec<u8>,
}

impl fmt::Debug for Contribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Contribution(phase {:?}, params {}, proof {})",
            self.phase,
            hex::encode(params_hash(&self.params)),
            hex::encode(&self.proof)
        )
    }
}

enum Stage {
    One(Phase1),
    /// Phase 2, with the final phase-1 parameters and the latest phase-2 parameters (`None`:
    /// still the initial ones, which only a contributor needs explicitly).
    Two {
        phase1: Box<Phase1>,
        params: Option<Phase2>,
        /// The transition of section 9.8.5, once computed.
        transition: Box<OnceLock<memo::Transition>>,
    },
}

#[derive(Clone)]
enum Next {
    One(Phase1),
    Two(Phase2),
}

/// A contribution that verified against a transcript, ready to be appended to it.
pub struct Checked {
    after: SetupDigest,
    digest: SetupDigest,
    phase: SetupPhase,
    next: Next,
}

impl fmt::Debug for Checked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checked(phase {:?}, after {:?})", self.phase, self.after)
    }
}

/// A ceremony transcript, checked as it grows.
pub struct Ceremony {
    shape: CircuitShape,
    depth: u8,
    digest: SetupDigest,
    stage: Stage,
    counts: [usize; 2],
}

impl fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ceremony(depth {}, {} + {} contributions, {:?})",
            self.depth, self.counts[0], self.counts[1], self.digest
        )
    }
}

impl Ceremony {
    /// The initial state for `context` (the election's manifest hash) and a roll of `depth`.
    pub fn new(context: &[u8; 32], depth: u8) -> Ceremony {
        let shape = CircuitShape::new(depth);
        let n = shape.domain_size();
        Ceremony {
            digest: SetupDigest::start(context, depth, n),
            stage: Stage::One(Phase1::initial(n)),
            shape,
            depth,
            counts: [0, 0],
        }
    }

    /// The digest of the transcript so far (what the next contribution binds to).
    pub fn digest(&self) -> &SetupDigest {
        &self.digest
    }

    /// The phase the transcript is in.
    pub fn phase(&self) -> SetupPhase {
        match self.stage {
            Stage::One(_) => SetupPhase::One,
            Stage::Two { .. } => SetupPhase::Two,
        }
    }

    /// The number of contributions to each phase so far.
    pub fn counts(&self) -> [usize; 2] {
        self.counts
    }

    /// The circuit's shape (domain size, variables).
    pub fn shape(&self) -> &CircuitShape {
        &self.shape
    }

    /// Moves to phase 2. Refused before any phase-1 contribution (the initial parameters
    /// are public). The first contribution to phase 2 does this by itself.
    pub fn begin_phase2(&mut self) -> Result<(), SetupError> {
        if self.phase() == SetupPhase::Two {
            return Err(SetupError::Order("phase 2 has already begun"));
        }
        if self.counts[0] == 0 {
            return Err(SetupError::Order(
                "phase 2 cannot begin before a phase-1 contribution",
            ));
        }
        let Stage::One(p1) = std::mem::replace(&mut self.stage, Stage::One(Phase1::initial(1)))
        else {
            unreachable!("in phase 1")
        };
        self.stage = Stage::Two {
            phase1: Box::new(p1),
            params: None,
            transition: Box::default(),
        };
        Ok(())
    }

    /// The transition of section 9.8.5 from the final phase-1 parameters, computed once.
    fn transition_in(
        &self,
        phase1: &Phase1,
        cell: &OnceLock<memo::Transition>,
    ) -> Result<(), SetupError> {
        if cell.get().is_none() {
            let _ = cell.set(memo::vartime_transition(&self.shape, self.depth, phase1)?);
        }
        Ok(())
    }

    /// The current phase-2 parameters (in phase 2). The initial ones are computed from the
    /// final phase-1 parameters (section 9.8.5: seconds to a minute at production depth).
    pub fn phase2_params(&self) -> Result<Cow<'_, Phase2>, SetupError> {
        match &self.stage {
            Stage::One(_) => Err(SetupError::Order("phase 2 has not begun")),
            Stage::Two {
                params: Some(p), ..
            } => Ok(Cow::Borrowed(p)),
            Stage::Two {
                phase1,
                params: None,
                transition,
            } => {
                self.transition_in(phase1, transition)?;
                Ok(Cow::Borrowed(&transition.get().expect("computed").1))
            }
        }
    }

    /// A fresh contribution to `phase` with secrets from `rng` (zeroized before this
    /// returns). A first contribution to phase 2 starts from the initial phase-2
    /// parameters of the current phase-1 ones (computed here). The transcript is not
    /// changed: apply the contribution with [`Ceremony::vartime_apply`] (as everyone else
    /// will).
    pub fn contribute(
        &self,
        phase: SetupPhase,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Contribution, SetupError> {
        let (params, proof) = match (&self.stage, phase) {
            (Stage::One(p1), SetupPhase::One) => {
                let (next, proof) = p1.contribute(&self.digest, rng);
                (next.to_bytes(), proof.to_bytes())
            }
            (Stage::One(p1), SetupPhase::Two) => {
                if self.counts[0] == 0 {
                    return Err(SetupError::Order(
                        "phase 2 cannot begin before a phase-1 contribution",
                    ));
                }
                let transition = memo::vartime_transition(&self.shape, self.depth, p1)?;
                let (next, proof) = transition.1.contribute(&self.digest, rng);
                (next.to_bytes(), proof.to_bytes())
            }
            (Stage::Two { .. }, SetupPhase::Two) => {
                let (next, proof) = self.phase2_params()?.contribute(&self.digest, rng);
                (next.to_bytes(), proof.to_bytes())
            }
            (Stage::Two { .. }, SetupPhase::One) => {
                return Err(SetupError::Order(
                    "a phase-1 contribution after phase 2 has begun",
                ))
            }
        };
        Ok(Contribution {
            phase,
            params,
            proof,
        })
    }

    /// Checks a contribution against the transcript so far and appends it (variable time;
    /// public data only). The first contribution to phase 2 begins phase 2. On error
    /// nothing changes.
    pub fn vartime_apply(
        &mut self,
        c: &Contribution,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), SetupError> {
        let checked = self.vartime_check(c, rng)?;
        self.accept(checked)
    }

    /// Checks a contribution against the transcript so far without changing it (variable
    /// time; public data only); [`Ceremony::accept`] appends what this returns. A
    /// contribution this process has already checked on the same transcript (the digest it
    /// leads to names both) is not checked again.
    pub fn vartime_check(
        &self,
        c: &Contribution,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Checked, SetupError> {
        let digest = self.digest.next(c.phase, &c.proof, &params_hash(&c.params));
        let checked = |next| Checked {
            after: *self.digest(),
            digest,
            phase: c.phase,
            next,
        };
        if let Some(next) = memo::checked(&digest) {
            return Ok(checked(next));
        }
        let next = match (&self.stage, c.phase) {
            (Stage::One(prev), SetupPhase::One) => {
                let proof = Phase1Proof::from_bytes(&c.proof)?;
                let next = Phase1::from_bytes(&c.params, prev.size())?;
                prev.vartime_verify_update(&next, &proof, &self.digest, rng)?;
                Next::One(next)
            }
            (Stage::One(p1), SetupPhase::Two) => {
                if self.counts[0] == 0 {
                    return Err(SetupError::Order(
                        "phase 2 cannot begin before a phase-1 contribution",
                    ));
                }
                Next::Two(self.verify_phase2(Phase2Prev::Initial(&self.shape, p1), c, rng)?)
            }
            (Stage::Two { phase1, params, .. }, SetupPhase::Two) => {
                let prev = match params {
                    Some(p) => Phase2Prev::Params(p),
                    None => Phase2Prev::Initial(&self.shape, phase1),
                };
                Next::Two(self.verify_phase2(prev, c, rng)?)
            }
            (Stage::Two { .. }, SetupPhase::One) => {
                return Err(SetupError::Order(
                    "a phase-1 contribution after phase 2 has begun",
                ))
            }
        };
        memo::remember_checked(digest, &next);
        Ok(checked(next))
    }

    fn verify_phase2(
        &self,
        prev: Phase2Prev<'_>,
        c: &Contribution,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<Phase2, SetupError> {
        let proof = Phase2Proof::from_bytes(&c.proof)?;
        let (h, l) = prev.lengths();
        let next = Phase2::from_bytes(&c.params, h, l)?;
        prev.vartime_verify_update(&next, &proof, &self.digest, rng)?;
        Ok(next)
    }

    /// Appends a contribution checked by [`Ceremony::vartime_check`] on this transcript as
    /// it is now; refused if the transcript has moved on since.
    pub fn accept(&mut self, checked: Checked) -> Result<(), SetupError> {
        if checked.after != self.digest {
            return Err(SetupError::Order(
                "the contribution was checked against an earlier transcript",
            ));
        }
        match checked.next {
            Next::One(p1) => self.stage = Stage::One(p1),
            Next::Two(p2) => {
                if self.phase() == SetupPhase::One {
                    self.begin_phase2()?;
                }
                if let Stage::Two { params, .. } = &mut self.stage {
                    *params = Some(p2);
                }
            }
        }
        self.digest = checked.digest;
        self.counts[checked.phase as usize - 1] += 1;
        Ok(())
    }

    /// The proving key of the transcript (section 9.8.5: seconds to a minute at production
    /// depth). It needs at least one contribution to each phase.
    pub fn proving_key(&self) -> Result<ProvingKey, SetupError> {
        match &self.stage {
            Stage::Two {
                phase1,
                params: Some(params),
                transition,
            } => {
                self.transition_in(phase1, transition)?;
                Ok(transition.get().expect("computed").0.proving_key(params))
            }
            _ => Err(SetupError::Order(
                "the keys need at least one contribution to each phase",
            )),
        }
    }

    /// Checks that `pk` is the proving key of the transcript without computing it: its
    /// phase-2 parts are the last phase-2 parameters, and its other parts pass random
    /// linear-combination checks against the final phase-1 parameters (section 9.8.5;
    /// variable time, public data only).
    pub fn vartime_check_key(
        &self,
        pk: &ProvingKey,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), SetupError> {
        let Stage::Two {
            phase1,
            params: Some(p2),
            ..
        } = &self.stage
        else {
            return Err(SetupError::Order(
                "the keys need at least one contribution to each phase",
            ));
        };
        if pk.delta_g1 != p2.delta_g1 || pk.vk.delta_g2 != p2.delta_g2 {
            return Err(SetupError::KeyMismatch { what: "delta" });
        }
        if pk.h_query != p2.h_query {
            return Err(SetupError::KeyMismatch {
                what: "the H query",
            });
        }
        if pk.l_query != p2.l_query {
            return Err(SetupError::KeyMismatch {
                what: "the L query",
            });
        }
        self.shape.vartime_check_base(phase1, pk, rng)
    }
}
