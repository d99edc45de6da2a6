//! A Groth16 eligibility proof made on two threads that share no memory (the web booth's
//! two Web Workers): the G2 half of `B`, the costliest multi-scalar multiplication, on one;
//! the witness, the quotient polynomial and every G1 sum on the other. The proof is the
//! one `ark_groth16`'s prover makes (the same formulas; `r` and `s` drawn the same way):
//!
//! - `A = alpha + a_0 + sum_i w_i*a_i + r*delta`                (G1)
//! - `B = beta + b_0 + sum_i w_i*b_i + s*delta`                 (G2; the sum is [`vartime_b_g2_sum`])
//! - `B' = beta + b'_0 + sum_i w_i*b'_i + s*delta`              (G1)
//! - `C = sum_j h_j*H_j + sum_k w_k*L_k + s*A + r*B' - r*s*delta`  (G1)
//!
//! where `w` is the assignment without the constant one (public inputs, then witness).
//! [`Witness::new`] synthesizes the circuit; [`vartime_b_g2_sum`] runs anywhere the proving
//! key is loaded; [`Witness::vartime_g1_part`] and [`G1Part::finish`] complete the proof,
//! which is checked against the verifying key before it is returned.
//!
//! The multi-scalar multiplications take variable time in the witness (as in
//! `ark_groth16`'s own prover): they run on the voter's device, never on a server.

use crate::circuit::EligibilityCircuit;
use crate::field::{fr_from_bytes, fr_to_bytes};
use crate::groth16::{EligibilityProof, Groth16Error, ProvingKey};
use ark_bls12_381::{Bls12_381, Fr, G1Projective, G2Affine, G2Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{PrimeField, UniformRand};
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_poly::GeneralEvaluationDomain;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem, OptimizationGoal};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use rand_core::CryptoRngCore;
use zeroize::Zeroize;

fn prove_error(e: impl ToString) -> Groth16Error {
    Groth16Error::Prove(e.to_string())
}

/// The circuit's assignment and quotient: the secret part of a proof in progress.
/// Zeroized on drop.
pub struct Witness {
    /// The assignment without the constant one: public inputs, then the witness.
    assignment: Vec<Fr>,
    /// The coefficients of the quotient polynomial `h`.
    h: Vec<Fr>,
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.assignment.zeroize();
        self.h.zeroize();
    }
}

impl Witness {
    /// Synthesizes `circuit` (which must be satisfied) and computes the quotient.
    pub fn new(circuit: EligibilityCircuit) -> Result<Witness, Groth16Error> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        circuit
            .generate_constraints(cs.clone())
            .map_err(prove_error)?;
        if !cs.is_satisfied().map_err(prove_error)? {
            return Err(prove_error("the witness does not satisfy the circuit"));
        }
        cs.finalize();
        let matrices = cs.to_matrices().ok_or_else(|| prove_error("no matrices"))?;
        let (num_inputs, num_constraints) = (cs.num_instance_variables(), cs.num_constraints());
        let cs = cs
            .borrow()
            .ok_or_else(|| prove_error("a shared constraint system"))?;
        let full = [
            cs.instance_assignment.as_slice(),
            cs.witness_assignment.as_slice(),
        ]
        .concat();
        let h = LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
            &matrices,
            num_inputs,
            num_constraints,
            &full,
        )
        .map_err(prove_error)?;
        Ok(Witness {
            assignment: full[1..].to_vec(),
            h,
        })
    }

    /// The assignment as 32-byte little-endian scalars (what the other thread needs).
    pub fn assignment_bytes(&self) -> Vec<u8> {
        self.assignment.iter().flat_map(fr_to_bytes).collect()
    }

    /// Every G1 sum of the proof, with fresh `r` and `s`.
    pub fn vartime_g1_part(
        &self,
        pk: &ProvingKey,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<G1Part, Groth16Error> {
        if pk.a_query.len() != self.assignment.len() + 1 {
            return Err(prove_error("the proving key is for another circuit"));
        }
        let (r, s) = (Fr::rand(rng), Fr::rand(rng));
        let w: Vec<_> = self.assignment.iter().map(|x| x.into_bigint()).collect();
        let h: Vec<_> = self.h.iter().map(|x| x.into_bigint()).collect();
        let msm = |bases: &[_], scalars: &[_]| G1Projective::msm_bigint(bases, scalars);
        let a = pk.vk.alpha_g1 + pk.a_query[0] + msm(&pk.a_query[1..], &w) + pk.delta_g1 * r;
        let b1 = pk.beta_g1 + pk.b_g1_query[0] + msm(&pk.b_g1_query[1..], &w) + pk.delta_g1 * s;
        let num_inputs = pk.vk.gamma_abc_g1.len();
        let c = msm(&pk.h_query, &h) + msm(&pk.l_query, &w[num_inputs - 1..]) + a * s + b1 * r
            - pk.delta_g1 * (r * s);
        Ok(G1Part { a, c, s })
    }
}

/// The G1 elements of a proof in progress, and `s` (which `B` needs).
pub struct G1Part {
    a: G1Projective,
    c: G1Projective,
    s: Fr,
}

impl Drop for G1Part {
    fn drop(&mut self) {
        self.s.zeroize();
    }
}

impl G1Part {
    /// The proof, from the other thread's [`vartime_b_g2_sum`]; checked against the
    /// verifying key and `public` inputs before it is returned.
    pub fn finish(
        &self,
        pk: &ProvingKey,
        b_g2_sum: &G2Affine,
        public: &crate::circuit::PublicInputs,
    ) -> Result<EligibilityProof, Groth16Error> {
        let b = pk.vk.beta_g2 + pk.b_g2_query[0] + *b_g2_sum + pk.vk.delta_g2 * self.s;
        let proof = EligibilityProof(ark_groth16::Proof::<Bls12_381> {
            a: self.a.into_affine(),
            b: b.into_affine(),
            c: self.c.into_affine(),
        });
        crate::groth16::EligibilityVerifier::new(&pk.vk)?
            .vartime_verify(public, &proof)
            .map_err(|_| prove_error("the two halves of the proof do not fit together"))?;
        Ok(proof)
    }
}

/// `sum_i w_i * b_i` over the key's G2 `B` query (without its constant term), from the
/// assignment's bytes ([`Witness::assignment_bytes`]).
pub fn vartime_b_g2_sum(pk: &ProvingKey, assignment: &[u8]) -> Result<G2Affine, Groth16Error> {
    if assignment.len() % 32 != 0 || assignment.len() / 32 + 1 != pk.b_g2_query.len() {
        return Err(prove_error("the assignment does not fit the proving key"));
    }
    let w: Vec<_> = assignment
        .chunks_exact(32)
        .map(|c| {
            fr_from_bytes(c.try_into().expect("32-byte chunks"), "assignment")
                .map(|x| x.into_bigint())
                .map_err(prove_error)
        })
        .collect::<Result<_, _>>()?;
    Ok(G2Projective::msm_bigint(&pk.b_g2_query[1..], &w).into_affine())
}

/// A G2 point's uncompressed encoding (192 bytes), for passing [`vartime_b_g2_sum`]'s
/// result between threads.
pub fn g2_to_bytes(p: &G2Affine) -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    p.serialize_with_mode(&mut out, Compress::No)
        .expect("serializing to a vector");
    out
}

/// Decodes [`g2_to_bytes`]'s output, checking the point is on the curve and in the group.
pub fn g2_from_bytes(bytes: &[u8]) -> Result<G2Affine, Groth16Error> {
    let refused = |reason: String| Groth16Error::Encoding {
        what: "G2 sum",
        reason,
    };
    if bytes.len() != 192 {
        return Err(refused(format!("{} bytes, not 192", bytes.len())));
    }
    G2Affine::deserialize_with_mode(bytes, Compress::No, Validate::Yes)
        .map_err(|e| refused(e.to_string()))
}
