//! Groth16 on BLS12-381 for the eligibility circuit: circuit-specific setup, key and proof
//! serialization (compressed, validated on load), the verifying-key hash that goes into the
//! manifest, proving, verifying with a prepared key, and batch verification.
//!
//! Batch verification of `N` proofs under one key checks, with independent 128-bit random
//! weights `r_i`,
//!
//! `prod_i e(r_i*A_i, B_i) * e(sum_i r_i*L_i, -gamma) * e(sum_i r_i*C_i, -delta) = e(alpha, beta)^(sum_i r_i)`
//!
//! with one multi-Miller loop over `N + 2` pairs and one final exponentiation
//! (`L_i = IC_0 + sum_j x_ij*IC_j` is folded into a single 5-term multiscalar
//! multiplication over the key's `IC` points). A failing batch is re-checked proof by proof
//! and the bad ones are named.
//!
//! Two back ends compute the same checks ([`Backend`]): arkworks throughout, or (on native
//! targets, the default there) `blst` for the proof points' curve and subgroup checks and for
//! the batch's multi-Miller loop and final exponentiation, about twice as fast. Keys, proofs
//! and inputs stay arkworks types either way.

use crate::circuit::{EligibilityCircuit, PublicInputs};
use ark_bls12_381::{g1::Config as G1Config, Bls12_381, Fr, G1Affine, G1Projective};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::{AdditiveGroup, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{PrimeField, Zero};
use ark_groth16::{Groth16, PreparedVerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_snark::SNARK;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// The proving key.
pub type ProvingKey = ark_groth16::ProvingKey<Bls12_381>;
/// The verifying key.
pub type VerifyingKey = ark_groth16::VerifyingKey<Bls12_381>;
/// Domain prefix of the verifying-key hash.
pub const VK_HASH_DOMAIN: &[u8] = b"zkvote/v1/groth16-vk";
/// Size of an encoded proof: uncompressed `A` (96) + `B` (192) + `C` (96). Proofs are kept
/// uncompressed because decoding a compressed proof costs two extra square roots (about
/// 135 µs, a sixth of a complete ballot's verification) to save 192 bytes.
pub const PROOF_SIZE: usize = 384;

/// Which library does the BLS12-381 work of decoding and verifying proofs. Both accept and
/// reject exactly the same proofs (a property test holds them to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// arkworks 0.5 throughout (the only back end on WebAssembly).
    Arkworks,
    /// `blst` for point checks and pairings, arkworks for the rest (native targets).
    #[cfg(not(target_arch = "wasm32"))]
    Blst,
}

impl Backend {
    /// The fastest back end of this build: `Blst` on native targets, `Arkworks` on
    /// WebAssembly.
    #[cfg(not(target_arch = "wasm32"))]
    pub const FASTEST: Backend = Backend::Blst;
    /// The fastest back end of this build: `Blst` on native targets, `Arkworks` on
    /// WebAssembly.
    #[cfg(target_arch = "wasm32")]
    pub const FASTEST: Backend = Backend::Arkworks;
}

/// Errors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Groth16Error {
    /// Bytes that are not a valid compressed key or proof (bad length, point not on the
    /// curve or not in the prime-order subgroup, non-canonical coordinates).
    #[error("invalid {what} encoding: {reason}")]
    Encoding {
        /// What was being decoded.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The key's input count does not match the eligibility circuit.
    #[error("verifying key has {0} public inputs, the eligibility circuit has 4")]
    InputCount(usize),
    /// The proof does not verify.
    #[error("eligibility proof does not verify")]
    Invalid,
    /// Proving failed (the witness does not satisfy the circuit or synthesis failed).
    #[error("could not prove eligibility: {0}")]
    Prove(String),
}

/// A Groth16 proof of eligibility.
#[derive(Clone, PartialEq)]
pub struct EligibilityProof(pub ark_groth16::Proof<Bls12_381>);

impl Eq for EligibilityProof {}

impl fmt::Debug for EligibilityProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EligibilityProof({})", hex::encode(self.to_bytes()))
    }
}

impl EligibilityProof {
    /// The 384-byte encoding `A || B || C`, each point uncompressed in the zkcrypto/IETF
    /// BLS12-381 form (big-endian coordinates, flag bits in the first byte).
    pub fn to_bytes(&self) -> [u8; PROOF_SIZE] {
        let mut out = Vec::with_capacity(PROOF_SIZE);
        self.0
            .serialize_uncompressed(&mut out)
            .expect("in-memory write");
        out.try_into().expect("an uncompressed proof is 384 bytes")
    }

    /// Decodes and validates a proof: every point on its curve and in the prime-order
    /// subgroup, coordinates canonical ([`Backend::FASTEST`] checks the points).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Groth16Error> {
        Self::from_bytes_with(bytes, Backend::FASTEST)
    }

    /// [`EligibilityProof::from_bytes`] with the points checked by `backend`.
    pub fn from_bytes_with(bytes: &[u8], backend: Backend) -> Result<Self, Groth16Error> {
        if bytes.len() != PROOF_SIZE {
            return Err(Groth16Error::Encoding {
                what: "proof",
                reason: format!("expected {PROOF_SIZE} bytes, got {}", bytes.len()),
            });
        }
        let bad = |reason: String| Groth16Error::Encoding {
            what: "proof",
            reason,
        };
        let validate = match backend {
            Backend::Arkworks => Validate::Yes,
            #[cfg(not(target_arch = "wasm32"))]
            Backend::Blst => {
                vartime_blst_check_points(bytes).map_err(|r| bad(r.into()))?;
                Validate::No
            }
        };
        let proof =
            ark_groth16::Proof::<Bls12_381>::deserialize_with_mode(bytes, Compress::No, validate)
                .map_err(|e| bad(e.to_string()))?;
        // The point at infinity has no place in a proof, and it has several encodings
        // (the flag bit with any coordinates): refuse it, and any form that does not
        // re-encode to the same bytes.
        if proof.a.infinity || proof.b.infinity || proof.c.infinity {
            return Err(bad("a proof point is the point at infinity".into()));
        }
        let proof = EligibilityProof(proof);
        if proof.to_bytes()[..] != bytes[..] {
            return Err(bad("not the canonical encoding of its points".into()));
        }
        Ok(proof)
    }
}

/// `A`, `B` and `C` checked by blst: no flag bits, on the curve, not the point at
/// infinity, in the prime-order subgroup.
#[cfg(not(target_arch = "wasm32"))]
fn vartime_blst_check_points(bytes: &[u8]) -> Result<(), &'static str> {
    use crate::blst_backend::{vartime_check_g1, vartime_check_g2, G1_BYTES, G2_BYTES};
    let (a, rest) = bytes.split_at(G1_BYTES);
    let (b, c) = rest.split_at(G2_BYTES);
    vartime_check_g1(a.try_into().expect("96 bytes"))?;
    vartime_check_g2(b.try_into().expect("192 bytes"))?;
    vartime_check_g1(c.try_into().expect("96 bytes"))
}

impl serde::Serialize for EligibilityProof {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.to_bytes()))
    }
}

impl<'de> serde::Deserialize<'de> for EligibilityProof {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut bytes = [0u8; PROOF_SIZE];
        zkvote_core::codec::hex_exact(&text, &mut bytes).map_err(serde::de::Error::custom)?;
        EligibilityProof::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// Circuit-specific setup for a roll of `depth`. This is the system's trust point: whoever
/// knows the randomness can forge eligibility proofs (see `docs/protocol.md`).
pub fn setup(depth: u8, rng: &mut impl CryptoRngCore) -> (ProvingKey, VerifyingKey) {
    Groth16::<Bls12_381>::circuit_specific_setup(EligibilityCircuit::blank(depth), rng)
        .expect("the eligibility circuit synthesizes")
}

/// Compressed serialization of a key.
pub fn key_to_bytes<K: CanonicalSerialize>(key: &K) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.compressed_size());
    key.serialize_compressed(&mut out).expect("in-memory write");
    out
}

/// Size of a compressed verifying key for the eligibility circuit's 4 public inputs:
/// `alpha (48) || beta, gamma, delta (3 x 96) || LE64(5) || IC_0..IC_4 (5 x 48)`.
pub const VK_SIZE: usize = 48 + 3 * 96 + 8 + 5 * 48;

const G1_COMPRESSED: usize = 48;
const G2_COMPRESSED: usize = 96;

fn key_error(what: &'static str, reason: impl Into<String>) -> Groth16Error {
    Groth16Error::Encoding {
        what,
        reason: reason.into(),
    }
}

/// Checks the layout of a compressed key before it is decoded: every length prefix
/// (`LE64`) must be the one expected or fit in the bytes that remain, so that a forged
/// prefix never makes the decoder reserve memory the input cannot fill.
fn check_layout(
    what: &'static str,
    bytes: &[u8],
    fixed: usize,
    vectors: &[usize],
) -> Result<(), Groth16Error> {
    let mut at = fixed;
    for &point_size in vectors {
        let prefix = bytes
            .get(at..at + 8)
            .ok_or_else(|| key_error(what, "truncated"))?;
        let n = u64::from_le_bytes(prefix.try_into().expect("8 bytes"));
        at += 8;
        let len = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(point_size))
            .filter(|len| *len <= bytes.len() - at)
            .ok_or_else(|| key_error(what, format!("a length prefix of {n} exceeds the input")))?;
        at += len;
    }
    if at != bytes.len() {
        return Err(key_error(
            what,
            format!("{} bytes after the key", bytes.len() - at),
        ));
    }
    Ok(())
}

/// Decodes a compressed proving key, validating every point. Its layout is checked first
/// (the verifying key, `beta_g1`, `delta_g1`, then the `a`, `b_g1`, `b_g2`, `h` and `l`
/// queries, each `LE64(n)` and `n` points); nothing may follow it.
pub fn proving_key_from_bytes(bytes: &[u8]) -> Result<ProvingKey, Groth16Error> {
    const WHAT: &str = "proving key";
    verifying_key_layout(bytes.get(..VK_SIZE).unwrap_or(bytes), WHAT)?;
    check_layout(
        WHAT,
        bytes,
        VK_SIZE + 2 * G1_COMPRESSED,
        &[
            G1_COMPRESSED,
            G1_COMPRESSED,
            G2_COMPRESSED,
            G1_COMPRESSED,
            G1_COMPRESSED,
        ],
    )?;
    let pk = ProvingKey::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes)
        .map_err(|e| key_error(WHAT, e.to_string()))?;
    check_inputs(&pk.vk)?;
    Ok(pk)
}

const G1_UNCOMPRESSED: usize = 96;
const G2_UNCOMPRESSED: usize = 192;
/// Size of an uncompressed verifying key: `alpha (96) || beta, gamma, delta (3 x 192) ||
/// LE64(5) || IC_0..IC_4 (5 x 96)`.
const VK_UNCOMPRESSED_SIZE: usize = 96 + 3 * 192 + 8 + 5 * 96;

/// The uncompressed serialization of a proving key (the same fields in the same order as
/// the compressed one, each point as `x || y`): the form a version-2 election serves and
/// pins by hash (`docs/protocol.md` section 9.8.5), which a client decodes without
/// square roots or point checks once its hash matches the pin.
pub fn proving_key_to_pinned_bytes(pk: &ProvingKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(pk.uncompressed_size());
    pk.serialize_uncompressed(&mut out)
        .expect("in-memory write");
    out
}

/// Decodes a proving key in the form of [`proving_key_to_pinned_bytes`] **without checking
/// its points**: only for bytes whose hash the caller has matched against a pin of a key
/// that was checked (a version-2 election's `setup-final` entry pins the transcript's key,
/// which every verifier of the record checks). The layout (every length prefix, nothing
/// after the key) is checked first, so no input makes the decoder reserve memory it cannot
/// fill.
pub fn proving_key_from_pinned_bytes(bytes: &[u8]) -> Result<ProvingKey, Groth16Error> {
    const WHAT: &str = "proving key";
    let vk = bytes
        .get(..VK_UNCOMPRESSED_SIZE)
        .ok_or_else(|| key_error(WHAT, "truncated"))?;
    check_layout(
        WHAT,
        vk,
        G1_UNCOMPRESSED + 3 * G2_UNCOMPRESSED,
        &[G1_UNCOMPRESSED],
    )?;
    check_layout(
        WHAT,
        bytes,
        VK_UNCOMPRESSED_SIZE + 2 * G1_UNCOMPRESSED,
        &[
            G1_UNCOMPRESSED,
            G1_UNCOMPRESSED,
            G2_UNCOMPRESSED,
            G1_UNCOMPRESSED,
            G1_UNCOMPRESSED,
        ],
    )?;
    let pk = ProvingKey::deserialize_with_mode(bytes, Compress::No, Validate::No)
        .map_err(|e| key_error(WHAT, e.to_string()))?;
    check_inputs(&pk.vk)?;
    Ok(pk)
}

/// The verifying key's layout: exactly [`VK_SIZE`] bytes with 5 `IC` points.
fn verifying_key_layout(bytes: &[u8], what: &'static str) -> Result<(), Groth16Error> {
    if bytes.len() != VK_SIZE {
        return Err(key_error(
            what,
            format!("a verifying key is {VK_SIZE} bytes, got {}", bytes.len()),
        ));
    }
    // With the length fixed, a valid layout has exactly 5 IC points.
    check_layout(
        what,
        bytes,
        G1_COMPRESSED + 3 * G2_COMPRESSED,
        &[G1_COMPRESSED],
    )
}

/// Decodes a compressed verifying key ([`VK_SIZE`] bytes), validating every point; any
/// other length is refused (one accepted encoding).
pub fn verifying_key_from_bytes(bytes: &[u8]) -> Result<VerifyingKey, Groth16Error> {
    const WHAT: &str = "verifying key";
    verifying_key_layout(bytes, WHAT)?;
    let vk = VerifyingKey::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes)
        .map_err(|e| key_error(WHAT, e.to_string()))?;
    check_inputs(&vk)?;
    Ok(vk)
}

fn check_inputs(vk: &VerifyingKey) -> Result<(), Groth16Error> {
    if vk.gamma_abc_g1.len() != 5 {
        return Err(Groth16Error::InputCount(
            vk.gamma_abc_g1.len().saturating_sub(1),
        ));
    }
    Ok(())
}

/// The verifying-key hash that goes into the manifest:
/// `SHA-256(VK_HASH_DOMAIN || compressed verifying key)`.
pub fn vk_hash(vk: &VerifyingKey) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(VK_HASH_DOMAIN);
    h.update(key_to_bytes(vk));
    h.finalize().into()
}

/// Proves eligibility.
pub fn prove(
    pk: &ProvingKey,
    circuit: EligibilityCircuit,
    rng: &mut impl CryptoRngCore,
) -> Result<EligibilityProof, Groth16Error> {
    Groth16::<Bls12_381>::prove(pk, circuit, rng)
        .map(EligibilityProof)
        .map_err(|e| Groth16Error::Prove(e.to_string()))
}

/// A prepared verifying key.
#[derive(Clone)]
pub struct EligibilityVerifier {
    pvk: PreparedVerifyingKey<Bls12_381>,
    hash: [u8; 32],
    backend: Backend,
}

impl fmt::Debug for EligibilityVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EligibilityVerifier(vk hash {}, {:?})",
            hex::encode(self.hash),
            self.backend
        )
    }
}

impl EligibilityVerifier {
    /// Prepares a verifying key; proofs are verified with [`Backend::FASTEST`].
    pub fn new(vk: &VerifyingKey) -> Result<Self, Groth16Error> {
        Self::with_backend(vk, Backend::FASTEST)
    }

    /// Prepares a verifying key whose proofs `backend` verifies.
    pub fn with_backend(vk: &VerifyingKey, backend: Backend) -> Result<Self, Groth16Error> {
        check_inputs(vk)?;
        Ok(EligibilityVerifier {
            pvk: Groth16::<Bls12_381>::process_vk(vk).expect("processing a key cannot fail"),
            hash: vk_hash(vk),
            backend,
        })
    }

    /// The back end that verifies this key's proofs.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The key's hash (compare with the manifest's `groth16_vk_hash`).
    pub fn vk_hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// The prepared key.
    pub fn prepared(&self) -> &PreparedVerifyingKey<Bls12_381> {
        &self.pvk
    }

    /// Verifies one proof (variable time; public data only) with the verifier's back end.
    pub fn vartime_verify(
        &self,
        inputs: &PublicInputs,
        proof: &EligibilityProof,
    ) -> Result<(), Groth16Error> {
        self.vartime_verify_with(inputs, proof, self.backend)
    }

    /// Verifies one proof with `backend`: arkworks' own verifier, or the batch equation for
    /// one proof with weight 1 on blst.
    pub fn vartime_verify_with(
        &self,
        inputs: &PublicInputs,
        proof: &EligibilityProof,
        backend: Backend,
    ) -> Result<(), Groth16Error> {
        let holds = match backend {
            Backend::Arkworks => matches!(
                Groth16::<Bls12_381>::verify_with_processed_vk(
                    &self.pvk,
                    &inputs.to_vec(),
                    &proof.0
                ),
                Ok(true)
            ),
            #[cfg(not(target_arch = "wasm32"))]
            Backend::Blst => self.batch_equation_holds(&[(*inputs, proof)], &[(1, 0)], backend),
        };
        if holds {
            Ok(())
        } else {
            Err(Groth16Error::Invalid)
        }
    }

    /// Verifies many proofs at once (see the module documentation) with the verifier's
    /// back end. On failure returns the positions of the proofs that fail on their own.
    pub fn vartime_verify_batch(
        &self,
        items: &[(PublicInputs, &EligibilityProof)],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), Vec<usize>> {
        self.vartime_verify_batch_with(items, rng, self.backend)
    }

    /// [`EligibilityVerifier::vartime_verify_batch`] with `backend`.
    pub fn vartime_verify_batch_with(
        &self,
        items: &[(PublicInputs, &EligibilityProof)],
        rng: &mut impl CryptoRngCore,
        backend: Backend,
    ) -> Result<(), Vec<usize>> {
        if items.is_empty() {
            return Ok(());
        }
        // Weights r_i = a_i + b_i * lambda with a_i, b_i uniform 64-bit: 2^128 distinct
        // values, and r_i * A_i = a_i * A_i + b_i * phi(A_i) costs 64 doublings.
        let halves: Vec<(u64, u64)> = items
            .iter()
            .map(|_| (rng.next_u64(), rng.next_u64()))
            .collect();
        if self.batch_equation_holds(items, &halves, backend) {
            return Ok(());
        }
        let bad: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, (inputs, proof))| {
                self.vartime_verify_with(inputs, proof, backend).is_err()
            })
            .map(|(i, _)| i)
            .collect();
        if bad.is_empty() {
            // Only possible with negligible probability over the weights; refuse anyway.
            Err((0..items.len()).collect())
        } else {
            Err(bad)
        }
    }

    /// The batch equation with weights `a_i + b_i * lambda` from `halves`.
    fn batch_equation_holds(
        &self,
        items: &[(PublicInputs, &EligibilityProof)],
        halves: &[(u64, u64)],
        backend: Backend,
    ) -> bool {
        let vk = &self.pvk.vk;
        let r: Vec<Fr> = halves.iter().map(|&(a, b)| glv_weight(a, b)).collect();
        // sum_i r_i * L_i = (sum_i r_i) * IC_0 + sum_j (sum_i r_i * x_ij) * IC_j
        let mut ic_coeffs = [Fr::zero(); 5];
        for ((inputs, _), ri) in items.iter().zip(&r) {
            ic_coeffs[0] += ri;
            for (j, x) in inputs.to_vec().iter().enumerate() {
                ic_coeffs[j + 1] += *ri * x;
            }
        }
        let sum_r = ic_coeffs[0];
        let l_sum = G1Projective::msm(&vk.gamma_abc_g1, &ic_coeffs).expect("5 bases, 5 scalars");
        // sum_i r_i * C_i = sum_i a_i * C_i + phi(sum_i b_i * C_i): two multiscalar
        // multiplications over 64-bit scalars cost less than one over full-size ones.
        let cs: Vec<G1Affine> = items.iter().map(|(_, p)| p.0.c).collect();
        let (lo, hi): (Vec<Fr>, Vec<Fr>) = halves
            .iter()
            .map(|&(a, b)| (Fr::from(a), Fr::from(b)))
            .unzip();
        let msm = |k: &[Fr]| G1Projective::msm(&cs, k).expect("as many scalars as points");
        let c_sum = msm(&lo) + <G1Config as GLVConfig>::endomorphism(&msm(&hi));
        let a: Vec<G1Affine> = items.iter().map(|(_, p)| p.0.a).collect();
        let mut g1 = vartime_glv_scale(&a, halves);
        g1.push(l_sum.into_affine());
        g1.push(c_sum.into_affine());
        match backend {
            Backend::Arkworks => {
                let mut g2: Vec<<Bls12_381 as Pairing>::G2Prepared> =
                    items.iter().map(|(_, p)| p.0.b.into()).collect();
                g2.push(self.pvk.gamma_g2_neg_pc.clone());
                g2.push(self.pvk.delta_g2_neg_pc.clone());
                let ml = Bls12_381::multi_miller_loop(g1, g2);
                let Some(lhs) = Bls12_381::final_exponentiation(ml) else {
                    return false;
                };
                let rhs = PairingOutput::<Bls12_381>(self.pvk.alpha_g1_beta_g2)
                    .mul_bigint(sum_r.into_bigint());
                lhs == rhs
            }
            #[cfg(not(target_arch = "wasm32"))]
            Backend::Blst => {
                // prod_i e(r_i*A_i, B_i) * e(L, -gamma) * e(C, -delta) * e((sum r_i)*alpha, -beta) = 1
                g1.push((vk.alpha_g1 * sum_r).into_affine());
                let mut g2: Vec<ark_bls12_381::G2Affine> =
                    items.iter().map(|(_, p)| p.0.b).collect();
                g2.extend([-vk.gamma_g2, -vk.delta_g2, -vk.beta_g2]);
                let pairs: Vec<_> = g1.into_iter().zip(g2).collect();
                crate::blst_backend::vartime_pairing_product_is_one(&pairs)
            }
        }
    }
}

/// The batch weight `a + b * lambda`, where `lambda` is the eigenvalue of the G1
/// endomorphism `phi(x, y) = (beta * x, y)`.
fn glv_weight(a: u64, b: u64) -> Fr {
    Fr::from(a) + Fr::from(b) * <G1Config as GLVConfig>::LAMBDA
}

/// `(a_i + b_i * lambda) * P_i` for every `i`, as `a_i * P_i + b_i * phi(P_i)` with one
/// joint 64-bit double-and-add per point (variable time; public data only).
fn vartime_glv_scale(points: &[G1Affine], halves: &[(u64, u64)]) -> Vec<G1Affine> {
    let endo: Vec<G1Affine> = points
        .iter()
        .map(<G1Config as GLVConfig>::endomorphism_affine)
        .collect();
    let sums: Vec<G1Projective> = points.iter().zip(&endo).map(|(p, e)| *p + e).collect();
    let sums = G1Projective::normalize_batch(&sums);
    let scaled: Vec<G1Projective> = points
        .iter()
        .zip(&endo)
        .zip(&sums)
        .zip(halves)
        .map(|(((p, e), pe), &(a, b))| {
            let mut acc = G1Projective::zero();
            for bit in (0..64).rev() {
                acc.double_in_place();
                match ((a >> bit) & 1, (b >> bit) & 1) {
                    (1, 1) => acc += pe,
                    (1, 0) => acc += p,
                    (0, 1) => acc += e,
                    _ => {}
                }
            }
            acc
        })
        .collect();
    G1Projective::normalize_batch(&scaled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::AffineRepr;
    use ark_std::UniformRand;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    #[test]
    fn glv_scaling_matches_scalar_multiplication() {
        let mut rng = ChaCha20Rng::from_seed([3; 32]);
        // phi(P) = lambda * P for the constants used.
        let g = G1Affine::generator();
        assert_eq!(
            <G1Config as GLVConfig>::endomorphism_affine(&g),
            (g * <G1Config as GLVConfig>::LAMBDA).into_affine()
        );
        let points: Vec<G1Affine> = (0..5)
            .map(|_| (g * Fr::rand(&mut rng)).into_affine())
            .collect();
        let halves: Vec<(u64, u64)> = (0..5)
            .map(|i| (rng.next_u64() >> i, rng.next_u64()))
            .collect();
        let scaled = vartime_glv_scale(&points, &halves);
        for ((p, &(a, b)), s) in points.iter().zip(&halves).zip(&scaled) {
            assert_eq!((*p * glv_weight(a, b)).into_affine(), *s);
        }
        // Distinct halves give distinct weights (a + b * lambda < 2^192 < r).
        assert_ne!(glv_weight(1, 0), glv_weight(0, 1));
    }

    #[test]
    fn the_pinned_form_is_the_uncompressed_encoding_and_round_trips() {
        let (pk, _) = setup(2, &mut ChaCha20Rng::from_seed([5; 32]));
        let bytes = proving_key_to_pinned_bytes(&pk);
        assert!(proving_key_from_pinned_bytes(&bytes).unwrap() == pk);
        // docs/protocol.md section 12.1: alpha_g1 as x || y (96 bytes, no flag set), then
        // beta_g2 as x.c1 || x.c0 || y.c1 || y.c0; the G2 generator's x.c1 begins 13 e0 2b 60.
        let mut g1 = Vec::new();
        pk.vk.alpha_g1.serialize_uncompressed(&mut g1).unwrap();
        assert_eq!(&bytes[..96], &g1[..]);
        assert_eq!(bytes[0] & 0xe0, 0);
        let mut g2 = Vec::new();
        ark_bls12_381::G2Affine::generator()
            .serialize_uncompressed(&mut g2)
            .unwrap();
        assert_eq!(&g2[..4], &[0x13, 0xe0, 0x2b, 0x60]);
        // Truncated, extended, or with a forged length prefix: refused, never a panic.
        assert!(proving_key_from_pinned_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(proving_key_from_pinned_bytes(&longer).is_err());
        let mut forged = bytes.clone();
        forged[VK_UNCOMPRESSED_SIZE + 2 * G1_UNCOMPRESSED..][..8]
            .copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(proving_key_from_pinned_bytes(&forged).is_err());
        assert!(proving_key_from_pinned_bytes(&[]).is_err());
    }
}
