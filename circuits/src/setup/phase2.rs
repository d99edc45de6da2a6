//! Phase 2: the circuit-specific `delta`.

use super::phase1::Phase1;
use super::points::{decode, decode_single, encode, scale_all};
use super::pok::{KnowledgeProof, Secret};
use super::qap::{weights, CircuitShape};
use super::ratio::RatioBatch;
use super::secret_mul::SecretMul;
use super::{SetupDigest, SetupError};
use ark_bls12_381::{g1, g2, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{Field, Zero};
use ark_std::UniformRand;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

/// The phase-2 parameters: `delta` in both groups, and the two queries divided by it:
/// `h_query[i] = tau^i * t(tau) / delta * G1` (`i < N - 1`, `t(X) = X^N - 1`) and
/// `l_query[j] = (beta*a_j(tau) + alpha*b_j(tau) + c_j(tau)) / delta * G1` for each witness
/// variable `j`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase2 {
    /// `delta * G1`.
    pub delta_g1: G1Affine,
    /// `delta * G2`.
    pub delta_g2: G2Affine,
    /// The H query.
    pub h_query: Vec<G1Affine>,
    /// The L query.
    pub l_query: Vec<G1Affine>,
}

/// A phase-2 contributor's proof of knowledge of `delta`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase2Proof {
    /// For `delta`.
    pub delta: KnowledgeProof,
}

impl Phase2 {
    /// Contributes a fresh `delta` from `rng` to the parameters at `digest`: the next
    /// parameters and the proof. The secret is zeroized before this returns.
    pub fn contribute(
        &self,
        digest: &SetupDigest,
        rng: &mut dyn CryptoRngCore,
    ) -> (Phase2, Phase2Proof) {
        let delta = Zeroizing::new(loop {
            let x = Fr::rand(rng);
            if !x.is_zero() {
                break x;
            }
        });
        let inverse = Zeroizing::new(delta.inverse().expect("nonzero"));
        let proof = Phase2Proof {
            delta: KnowledgeProof::prove(&delta, Secret::Delta, digest, rng),
        };
        let next = Phase2 {
            delta_g1: g1::Config::secret_mul(&self.delta_g1, &delta).into_affine(),
            delta_g2: g2::Config::secret_mul(&self.delta_g2, &delta).into_affine(),
            h_query: scale_all(&self.h_query, &inverse),
            l_query: scale_all(&self.l_query, &inverse),
        };
        (next, proof)
    }

    /// Checks that `next` is these parameters updated by the `delta` that `proof` proves
    /// knowledge of at `digest` (variable time; public data only).
    pub fn vartime_verify_update(
        &self,
        next: &Phase2,
        proof: &Phase2Proof,
        digest: &SetupDigest,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), SetupError> {
        Phase2Prev::Params(self).vartime_verify_update(next, proof, digest, rng)
    }

    /// The encoding (uncompressed points): `delta_g1 || delta_g2 || h_query || l_query`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(Self::encoded_size(self.h_query.len(), self.l_query.len()));
        encode(&[self.delta_g1], &mut out);
        encode(&[self.delta_g2], &mut out);
        encode(&self.h_query, &mut out);
        encode(&self.l_query, &mut out);
        out
    }

    /// Size of the encoding with the given query lengths.
    pub fn encoded_size(h: usize, l: usize) -> usize {
        96 + 192 + (h + l) * 96
    }

    /// Decodes parameters with the given query lengths, every point validated; nothing may
    /// follow.
    pub fn from_bytes(mut bytes: &[u8], h: usize, l: usize) -> Result<Phase2, SetupError> {
        const WHAT: &str = "phase-2 parameters";
        if bytes.len() != Self::encoded_size(h, l) {
            return Err(SetupError::encoding(
                WHAT,
                format!(
                    "{} bytes, expected {}",
                    bytes.len(),
                    Self::encoded_size(h, l)
                ),
            ));
        }
        let b = &mut bytes;
        Ok(Phase2 {
            delta_g1: decode_single::<g1::Config>(b, WHAT)?,
            delta_g2: decode_single::<g2::Config>(b, WHAT)?,
            h_query: decode::<g1::Config>(b, h, WHAT)?,
            l_query: decode::<g1::Config>(b, l, WHAT)?,
        })
    }
}

/// The parameters a phase-2 contribution updates: explicit, or the initial ones of a
/// final phase-1 state, which a verifier never computes (section 9.8.5: their random
/// linear combinations come from the phase-1 parameters directly).
pub(crate) enum Phase2Prev<'a> {
    /// The initial parameters (`delta = 1`) of these phase-1 parameters.
    Initial(&'a CircuitShape, &'a Phase1),
    /// Explicit parameters.
    Params(&'a Phase2),
}

impl Phase2Prev<'_> {
    fn deltas(&self) -> (G1Affine, G2Affine) {
        match self {
            Phase2Prev::Initial(..) => (G1Affine::generator(), G2Affine::generator()),
            Phase2Prev::Params(p) => (p.delta_g1, p.delta_g2),
        }
    }

    /// The lengths of the H and L queries.
    pub(crate) fn lengths(&self) -> (usize, usize) {
        match self {
            Phase2Prev::Initial(shape, _) => (shape.domain_size() - 1, shape.witness_variables()),
            Phase2Prev::Params(p) => (p.h_query.len(), p.l_query.len()),
        }
    }

    fn vartime_sums(&self, rho_h: &[Fr], rho_l: &[Fr]) -> (G1Affine, G1Affine) {
        match self {
            Phase2Prev::Initial(shape, p1) => shape.vartime_initial_sums(p1, rho_h, rho_l),
            Phase2Prev::Params(p) => (msm(&p.h_query, rho_h), msm(&p.l_query, rho_l)),
        }
    }

    /// Checks that `next` is these parameters updated by the `delta` that `proof` proves
    /// knowledge of at `digest` (variable time; public data only).
    pub(crate) fn vartime_verify_update(
        &self,
        next: &Phase2,
        proof: &Phase2Proof,
        digest: &SetupDigest,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), SetupError> {
        if (next.h_query.len(), next.l_query.len()) != self.lengths() {
            return Err(SetupError::Inconsistent {
                what: "the query lengths",
            });
        }
        let (prev_delta_g1, prev_delta_g2) = self.deltas();
        let mut batch = RatioBatch::default();
        let delta = proof
            .delta
            .vartime_statement(Secret::Delta, digest, &mut batch)?;
        batch.same_ratio(
            (prev_delta_g1, next.delta_g1),
            delta,
            SetupError::NotAnUpdate {
                secret: Secret::Delta,
            },
        );
        batch.same_ratio(
            (G1Affine::generator(), next.delta_g1),
            (G2Affine::generator(), next.delta_g2),
            SetupError::Inconsistent {
                what: "delta in G2",
            },
        );
        // Each query element times delta is unchanged: e(next_i, delta') = e(prev_i, delta).
        let rho_h = weights(next.h_query.len(), rng);
        let rho_l = weights(next.l_query.len(), rng);
        let (prev_h, prev_l) = self.vartime_sums(&rho_h, &rho_l);
        let deltas = (prev_delta_g2, next.delta_g2);
        for (what, new, prev) in [
            ("the H query", msm(&next.h_query, &rho_h), prev_h),
            ("the L query", msm(&next.l_query, &rho_l), prev_l),
        ] {
            batch.same_ratio((new, prev), deltas, SetupError::Inconsistent { what });
        }
        batch.vartime_check(rng)
    }
}

fn msm(points: &[G1Affine], scalars: &[Fr]) -> G1Affine {
    G1Projective::msm(points, scalars)
        .expect("equal lengths")
        .into_affine()
}

impl Phase2Proof {
    /// Size of the encoding.
    pub const SIZE: usize = super::pok::KNOWLEDGE_PROOF_SIZE;

    /// The encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::SIZE);
        self.delta.encode(&mut out);
        out
    }

    /// Decodes [`Phase2Proof::SIZE`] bytes.
    pub fn from_bytes(mut bytes: &[u8]) -> Result<Self, SetupError> {
        if bytes.len() != Self::SIZE {
            return Err(SetupError::encoding("phase-2 proof", "wrong length"));
        }
        Ok(Phase2Proof {
            delta: KnowledgeProof::decode(&mut bytes)?,
        })
    }
}
