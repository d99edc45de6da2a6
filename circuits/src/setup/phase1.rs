//! Phase 1: powers of `tau`, with `alpha` and `beta`, up to the circuit's domain size `N`.

use super::points::{decode, decode_single, encode, scale_by_powers};
use super::pok::{KnowledgeProof, Secret};
use super::ratio::{vartime_power_pairs, RatioBatch};
use super::secret_mul::SecretMul;
use super::{SetupDigest, SetupError};
use ark_bls12_381::{g1, g2, Fr, G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{One, Zero};
use ark_std::UniformRand;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

/// The phase-1 parameters for a domain of size `N`:
/// `tau_g1[i] = tau^i * G1` (`i < 2N - 1`), `tau_g2[i] = tau^i * G2`,
/// `alpha_tau_g1[i] = alpha * tau^i * G1`, `beta_tau_g1[i] = beta * tau^i * G1` (`i < N`),
/// `beta_g2 = beta * G2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase1 {
    /// Powers of tau in G1.
    pub tau_g1: Vec<G1Affine>,
    /// Powers of tau in G2.
    pub tau_g2: Vec<G2Affine>,
    /// Powers of tau times alpha in G1.
    pub alpha_tau_g1: Vec<G1Affine>,
    /// Powers of tau times beta in G1.
    pub beta_tau_g1: Vec<G1Affine>,
    /// Beta in G2.
    pub beta_g2: G2Affine,
}

/// A phase-1 contributor's proofs of knowledge of `tau`, `alpha` and `beta`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase1Proof {
    /// For `tau`.
    pub tau: KnowledgeProof,
    /// For `alpha`.
    pub alpha: KnowledgeProof,
    /// For `beta`.
    pub beta: KnowledgeProof,
}

fn nonzero_secret(rng: &mut dyn CryptoRngCore) -> Zeroizing<Fr> {
    Zeroizing::new(loop {
        let x = Fr::rand(rng);
        if !x.is_zero() {
            break x;
        }
    })
}

impl Phase1 {
    /// The nothing-up-my-sleeve start: `tau = alpha = beta = 1`, every element a generator.
    pub fn initial(n: usize) -> Phase1 {
        Phase1 {
            tau_g1: vec![G1Affine::generator(); 2 * n - 1],
            tau_g2: vec![G2Affine::generator(); n],
            alpha_tau_g1: vec![G1Affine::generator(); n],
            beta_tau_g1: vec![G1Affine::generator(); n],
            beta_g2: G2Affine::generator(),
        }
    }

    /// The domain size `N`.
    pub fn size(&self) -> usize {
        self.tau_g2.len()
    }

    /// Contributes fresh secrets from `rng` to the parameters at `digest`: the next
    /// parameters and the proof. The secrets are zeroized before this returns.
    pub fn contribute(
        &self,
        digest: &SetupDigest,
        rng: &mut dyn CryptoRngCore,
    ) -> (Phase1, Phase1Proof) {
        let tau = nonzero_secret(rng);
        let alpha = nonzero_secret(rng);
        let beta = nonzero_secret(rng);
        let proof = Phase1Proof {
            tau: KnowledgeProof::prove(&tau, Secret::Tau, digest, rng),
            alpha: KnowledgeProof::prove(&alpha, Secret::Alpha, digest, rng),
            beta: KnowledgeProof::prove(&beta, Secret::Beta, digest, rng),
        };
        let one = Fr::one();
        let next = Phase1 {
            tau_g1: scale_by_powers(&self.tau_g1, &tau, &one),
            tau_g2: scale_by_powers(&self.tau_g2, &tau, &one),
            alpha_tau_g1: scale_by_powers(&self.alpha_tau_g1, &tau, &alpha),
            beta_tau_g1: scale_by_powers(&self.beta_tau_g1, &tau, &beta),
            beta_g2: g2::Config::secret_mul(&self.beta_g2, &beta).into_affine(),
        };
        (next, proof)
    }

    /// Checks that `next` is these parameters updated by the secrets `proof` proves
    /// knowledge of at `digest`, and that `next` is well formed (variable time; public data).
    pub fn vartime_verify_update(
        &self,
        next: &Phase1,
        proof: &Phase1Proof,
        digest: &SetupDigest,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), SetupError> {
        if next.tau_g1[0] != G1Affine::generator() || next.tau_g2[0] != G2Affine::generator() {
            return Err(SetupError::Inconsistent {
                what: "the first powers of tau (not the generators)",
            });
        }
        let mut batch = RatioBatch::default();
        let tau = proof
            .tau
            .vartime_statement(Secret::Tau, digest, &mut batch)?;
        let alpha = proof
            .alpha
            .vartime_statement(Secret::Alpha, digest, &mut batch)?;
        let beta = proof
            .beta
            .vartime_statement(Secret::Beta, digest, &mut batch)?;
        let not_update = |secret| SetupError::NotAnUpdate { secret };
        batch.same_ratio(
            (self.tau_g1[1], next.tau_g1[1]),
            tau,
            not_update(Secret::Tau),
        );
        batch.same_ratio(
            (self.alpha_tau_g1[0], next.alpha_tau_g1[0]),
            alpha,
            not_update(Secret::Alpha),
        );
        batch.same_ratio(
            (self.beta_tau_g1[0], next.beta_tau_g1[0]),
            beta,
            not_update(Secret::Beta),
        );
        next.vartime_structure(&mut batch, rng);
        batch.vartime_check(rng)
    }

    /// The statements that make the parameters powers of one `tau` with one `alpha` and
    /// one `beta`.
    fn vartime_structure(&self, batch: &mut RatioBatch, rng: &mut dyn CryptoRngCore) {
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        let tau_g2 = (g2, self.tau_g2[1]);
        let inconsistent = |what| SetupError::Inconsistent { what };
        batch.same_ratio(
            vartime_power_pairs(&self.tau_g1, rng),
            tau_g2,
            inconsistent("the powers of tau in G1"),
        );
        batch.same_ratio(
            (g1, self.tau_g1[1]),
            vartime_power_pairs(&self.tau_g2, rng),
            inconsistent("the powers of tau in G2"),
        );
        batch.same_ratio(
            vartime_power_pairs(&self.alpha_tau_g1, rng),
            tau_g2,
            inconsistent("the powers of tau times alpha"),
        );
        batch.same_ratio(
            vartime_power_pairs(&self.beta_tau_g1, rng),
            tau_g2,
            inconsistent("the powers of tau times beta"),
        );
        batch.same_ratio(
            (g1, self.beta_tau_g1[0]),
            (g2, self.beta_g2),
            inconsistent("beta in G2"),
        );
    }

    /// The encoding (uncompressed points): `tau_g1 || tau_g2 || alpha_tau_g1 || beta_tau_g1 || beta_g2`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&self.tau_g1, &mut out);
        encode(&self.tau_g2, &mut out);
        encode(&self.alpha_tau_g1, &mut out);
        encode(&self.beta_tau_g1, &mut out);
        encode(&[self.beta_g2], &mut out);
        out
    }

    /// Size of the encoding for domain size `n`.
    pub fn encoded_size(n: usize) -> usize {
        (2 * n - 1 + 2 * n) * 96 + (n + 1) * 192
    }

    /// Decodes parameters of domain size `n`, every point validated; nothing may follow.
    pub fn from_bytes(mut bytes: &[u8], n: usize) -> Result<Phase1, SetupError> {
        const WHAT: &str = "phase-1 parameters";
        if bytes.len() != Self::encoded_size(n) {
            return Err(SetupError::encoding(
                WHAT,
                format!("{} bytes, expected {}", bytes.len(), Self::encoded_size(n)),
            ));
        }
        let b = &mut bytes;
        Ok(Phase1 {
            tau_g1: decode::<g1::Config>(b, 2 * n - 1, WHAT)?,
            tau_g2: decode::<g2::Config>(b, n, WHAT)?,
            alpha_tau_g1: decode::<g1::Config>(b, n, WHAT)?,
            beta_tau_g1: decode::<g1::Config>(b, n, WHAT)?,
            beta_g2: decode_single::<g2::Config>(b, WHAT)?,
        })
    }
}

impl Phase1Proof {
    /// Size of the encoding.
    pub const SIZE: usize = 3 * super::pok::KNOWLEDGE_PROOF_SIZE;

    /// The encoding: the proofs for `tau`, `alpha`, `beta`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::SIZE);
        for p in [&self.tau, &self.alpha, &self.beta] {
            p.encode(&mut out);
        }
        out
    }

    /// Decodes [`Phase1Proof::SIZE`] bytes.
    pub fn from_bytes(mut bytes: &[u8]) -> Result<Self, SetupError> {
        if bytes.len() != Self::SIZE {
            return Err(SetupError::encoding("phase-1 proof", "wrong length"));
        }
        let b = &mut bytes;
        Ok(Phase1Proof {
            tau: KnowledgeProof::decode(b)?,
            alpha: KnowledgeProof::decode(b)?,
            beta: KnowledgeProof::decode(b)?,
        })
    }
}
