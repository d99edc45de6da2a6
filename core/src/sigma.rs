//! Sigma proofs made non-interactive with merlin transcripts: Schnorr proof of knowledge,
//! Chaum-Pedersen proof of equal discrete logarithms, and the disjunctive
//! (Cramer-Damgård-Schoenmakers) proof that an ElGamal ciphertext encrypts a value in
//! `[lo, hi]`, used both for "this selection is 0 or 1" and "this contest's sum lies in
//! `[min, max]`".
//!
//! All proofs are in commitment form (commitments and responses are sent, challenges
//! are recomputed), so that many proofs verify in one multiscalar multiplication with
//! random weights ([`MsmAccumulator`]). Provers run in constant time with respect to
//! their secrets (the witness, the nonce, and which branch of a disjunction is real);
//! verifiers work on public data and are variable time, hence their `vartime_` names.

use crate::codec::{DecodeError, Element, Reader};
use crate::elgamal::{mul_base, ElectionPublicKey, G};
use crate::transcript::{labels, TranscriptProtocol};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use merlin::Transcript;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// A disjunctive proof with the wrong number of commitment pairs, challenges or
    /// responses for its statement's branches.
    #[error("proof has the wrong shape: {branches} branches need {branches} commitment pairs, {} challenges and {branches} responses; got {commitments}, {challenges} and {responses}", .branches - 1)]
    Shape {
        /// Branches the statement needs.
        branches: usize,
        /// Commitment pairs found.
        commitments: usize,
        /// Challenges found.
        challenges: usize,
        /// Responses found.
        responses: usize,
    },
    /// The verification equations do not hold.
    #[error("proof does not verify")]
    Invalid,
}

/// A uniformly random 128-bit weight for batch verification.
pub fn random_weight(rng: &mut impl CryptoRngCore) -> Scalar {
    let lo = rng.next_u64() as u128;
    let hi = rng.next_u64() as u128;
    Scalar::from(lo | (hi << 64))
}

/// Collects weighted verification equations `sum(s_i * P_i) == 0` into one multiscalar
/// multiplication. Coefficients of the basepoint `G` and of one distinguished key (the
/// election key) are accumulated separately so that they appear once however many proofs
/// are added.
pub struct MsmAccumulator {
    base: Scalar,
    key: RistrettoPoint,
    key_coeff: Scalar,
    scalars: Vec<Scalar>,
    points: Vec<RistrettoPoint>,
}

impl MsmAccumulator {
    /// An empty accumulator whose distinguished key is `key`.
    pub fn new(key: RistrettoPoint) -> Self {
        Self::with_capacity(key, 0)
    }

    /// An empty accumulator with room for `n` terms.
    pub fn with_capacity(key: RistrettoPoint, n: usize) -> Self {
        MsmAccumulator {
            base: Scalar::ZERO,
            key,
            key_coeff: Scalar::ZERO,
            scalars: Vec::with_capacity(n),
            points: Vec::with_capacity(n),
        }
    }

    /// Adds `s * G`.
    pub fn add_base(&mut self, s: Scalar) {
        self.base += s;
    }

    /// Adds `s * key`.
    pub fn add_key(&mut self, s: Scalar) {
        self.key_coeff += s;
    }

    /// Adds `s * p`.
    pub fn push(&mut self, s: Scalar, p: RistrettoPoint) {
        self.scalars.push(s);
        self.points.push(p);
    }

    /// Number of terms (besides `G` and the key).
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when no term was pushed.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Computes the sum in variable time and checks that it is the identity.
    pub fn vartime_is_zero(mut self) -> bool {
        self.scalars.push(self.base);
        self.points.push(G);
        self.scalars.push(self.key_coeff);
        self.points.push(self.key);
        RistrettoPoint::vartime_multiscalar_mul(&self.scalars, &self.points).is_identity()
    }
}

/// Schnorr proof of knowledge of `x` such that `X = x * G`, in commitment form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchnorrProof {
    /// `R = u * G`.
    pub commitment: Element,
    /// `z = u + c * x`.
    #[serde(with = "crate::codec::serde_scalar")]
    pub response: Scalar,
}

impl SchnorrProof {
    /// Encoded size in bytes.
    pub const SIZE: usize = 64;

    fn challenge(
        t: &mut Transcript,
        public: &CompressedRistretto,
        r: &CompressedRistretto,
    ) -> Scalar {
        t.schnorr_domain_sep();
        t.append_point(labels::SCHNORR_PK, public);
        t.append_point(labels::SCHNORR_COMMIT, r);
        t.challenge_scalar(labels::CHALLENGE)
    }

    /// Proves knowledge of `secret` for `public = secret * G`. The transcript must already
    /// hold the context the proof is bound to.
    pub fn prove(
        t: &mut Transcript,
        secret: &Scalar,
        public: &Element,
        rng: &mut impl CryptoRngCore,
    ) -> Self {
        let u = Zeroizing::new(Scalar::random(rng));
        let commitment = Element::from_point(mul_base(&u));
        let c = Self::challenge(t, public.compressed(), commitment.compressed());
        SchnorrProof {
            commitment,
            response: *u + c * secret,
        }
    }

    /// Adds this proof's equation `z*G - R - c*X = 0` with a random weight.
    pub fn vartime_accumulate(
        &self,
        t: &mut Transcript,
        public: &Element,
        acc: &mut MsmAccumulator,
        rng: &mut impl CryptoRngCore,
    ) {
        let c = Self::challenge(t, public.compressed(), self.commitment.compressed());
        let w = random_weight(rng);
        acc.add_base(w * self.response);
        acc.push(-w, *self.commitment.point());
        acc.push(-(w * c), *public.point());
    }

    /// Verifies the proof on its own.
    pub fn vartime_verify(&self, t: &mut Transcript, public: &Element) -> Result<(), ProofError> {
        let c = Self::challenge(t, public.compressed(), self.commitment.compressed());
        let check = RistrettoPoint::vartime_double_scalar_mul_basepoint(
            &-c,
            public.point(),
            &self.response,
        );
        if check == *self.commitment.point() {
            Ok(())
        } else {
            Err(ProofError::Invalid)
        }
    }

    /// Appends the 64-byte encoding `R || z`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.commitment.as_bytes());
        out.extend_from_slice(self.response.as_bytes());
    }

    /// Reads the 64-byte encoding.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SchnorrProof {
            commitment: r.element()?,
            response: r.scalar()?,
        })
    }
}

/// The statement of a Chaum-Pedersen proof: `log_g(x) == log_h(y)`.
#[derive(Clone, Copy, Debug)]
pub struct DleqStatement<'a> {
    /// First base.
    pub g: &'a Element,
    /// `w * g`.
    pub x: &'a Element,
    /// Second base.
    pub h: &'a Element,
    /// `w * h`.
    pub y: &'a Element,
}

/// Chaum-Pedersen proof of equal discrete logarithms, in commitment form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DleqProof {
    /// `u * g`.
    pub commitment_g: Element,
    /// `u * h`.
    pub commitment_h: Element,
    /// `z = u + c * w`.
    #[serde(with = "crate::codec::serde_scalar")]
    pub response: Scalar,
}

impl DleqProof {
    /// Encoded size in bytes.
    pub const SIZE: usize = 96;

    fn challenge(t: &mut Transcript, s: &DleqStatement<'_>, cg: &Element, ch: &Element) -> Scalar {
        t.dleq_domain_sep();
        t.append_point(labels::DLEQ_G, s.g.compressed());
        t.append_point(labels::DLEQ_X, s.x.compressed());
        t.append_point(labels::DLEQ_H, s.h.compressed());
        t.append_point(labels::DLEQ_Y, s.y.compressed());
        t.append_point(labels::DLEQ_COMMIT_G, cg.compressed());
        t.append_point(labels::DLEQ_COMMIT_H, ch.compressed());
        t.challenge_scalar(labels::CHALLENGE)
    }

    /// Proves `x = w*g` and `y = w*h` for the secret `w`, in constant time.
    pub fn prove(
        t: &mut Transcript,
        statement: &DleqStatement<'_>,
        witness: &Scalar,
        rng: &mut impl CryptoRngCore,
    ) -> Self {
        let u = Zeroizing::new(Scalar::random(rng));
        let commitment_g = Element::from_point(statement.g.point() * *u);
        let commitment_h = Element::from_point(statement.h.point() * *u);
        let c = Self::challenge(t, statement, &commitment_g, &commitment_h);
        DleqProof {
            commitment_g,
            commitment_h,
            response: *u + c * witness,
        }
    }

    /// Adds the two equations `z*g - Cg - c*x = 0`, `z*h - Ch - c*y = 0`, each with its
    /// own random weight.
    pub fn vartime_accumulate(
        &self,
        t: &mut Transcript,
        s: &DleqStatement<'_>,
        acc: &mut MsmAccumulator,
        rng: &mut impl CryptoRngCore,
    ) {
        let c = Self::challenge(t, s, &self.commitment_g, &self.commitment_h);
        let (w1, w2) = (random_weight(rng), random_weight(rng));
        acc.push(w1 * self.response, *s.g.point());
        acc.push(-w1, *self.commitment_g.point());
        acc.push(-(w1 * c), *s.x.point());
        acc.push(w2 * self.response, *s.h.point());
        acc.push(-w2, *self.commitment_h.point());
        acc.push(-(w2 * c), *s.y.point());
    }

    /// Verifies the proof on its own.
    pub fn vartime_verify(
        &self,
        t: &mut Transcript,
        s: &DleqStatement<'_>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), ProofError> {
        let mut acc = MsmAccumulator::with_capacity(G, 6);
        self.vartime_accumulate(t, s, &mut acc, rng);
        if acc.vartime_is_zero() {
            Ok(())
        } else {
            Err(ProofError::Invalid)
        }
    }

    /// Appends the 96-byte encoding `Cg || Ch || z`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.commitment_g.as_bytes());
        out.extend_from_slice(self.commitment_h.as_bytes());
        out.extend_from_slice(self.response.as_bytes());
    }

    /// Reads the 96-byte encoding.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(DleqProof {
            commitment_g: r.element()?,
            commitment_h: r.element()?,
            response: r.scalar()?,
        })
    }
}

/// The commitments of one branch of a disjunctive proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchCommitment {
    /// `a_j`, the commitment in the `G` half.
    pub a: Element,
    /// `b_j`, the commitment in the `PK` half.
    pub b: Element,
}

/// A disjunctive Chaum-Pedersen proof that `(A, B)` encrypts some `m` in `[lo, hi]` under
/// the election key: for one `m`, `log_G(A) == log_PK(B - m*G)`.
///
/// Branch `j` stands for `m = lo + j`. The challenges of all branches but the last are
/// sent; the last is `c - sum(others)`, where `c` is the Fiat-Shamir challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisjunctiveProof {
    /// One commitment pair per branch.
    pub commitments: Vec<BranchCommitment>,
    /// Challenges of branches `0 .. k-1` (the last one is derived).
    #[serde(with = "crate::codec::serde_scalar_vec")]
    pub challenges: Vec<Scalar>,
    /// One response per branch.
    #[serde(with = "crate::codec::serde_scalar_vec")]
    pub responses: Vec<Scalar>,
}

/// A ciphertext as the statement of a disjunctive proof: its points and encodings.
#[derive(Clone, Copy, Debug)]
pub struct CiphertextRef<'a> {
    /// `A` and its encoding.
    pub a: (&'a RistrettoPoint, &'a CompressedRistretto),
    /// `B` and its encoding.
    pub b: (&'a RistrettoPoint, &'a CompressedRistretto),
}

fn branch_count(lo: u64, hi: u64) -> usize {
    debug_assert!(lo <= hi);
    (hi - lo + 1) as usize
}

fn disjunctive_challenge(
    t: &mut Transcript,
    a: &CompressedRistretto,
    b: &CompressedRistretto,
    lo: u64,
    hi: u64,
    commitments: &[BranchCommitment],
) -> Scalar {
    t.append_u64(labels::LO, lo);
    t.append_u64(labels::HI, hi);
    t.append_point(labels::CT_A, a);
    t.append_point(labels::CT_B, b);
    for c in commitments {
        t.append_point(labels::COMMIT_A, c.a.compressed());
        t.append_point(labels::COMMIT_B, c.b.compressed());
    }
    t.challenge_scalar(labels::CHALLENGE)
}

impl DisjunctiveProof {
    /// Encoded size in bytes of a proof over `k` values: `64k + 32(k-1) + 32k`.
    pub const fn encoded_len(k: usize) -> usize {
        64 * k + 32 * (k - 1) + 32 * k
    }

    /// Proves that `ct = Enc(value; r)` with `value` in `[lo, hi]`.
    ///
    /// Runs in constant time with respect to `value` and `r`: every branch performs the
    /// same operations, real and simulated values are combined with conditional selects.
    /// The caller has appended the domain separator and the proof's context to `t`.
    ///
    /// # Panics
    /// If `lo > hi` (a programming error: callers derive the bounds from a validated
    /// manifest).
    #[allow(clippy::too_many_arguments)]
    pub fn prove(
        t: &mut Transcript,
        pk: &ElectionPublicKey,
        a: &CompressedRistretto,
        b: &CompressedRistretto,
        r: &Scalar,
        value: u64,
        lo: u64,
        hi: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Self {
        assert!(lo <= hi, "empty value range");
        let k = branch_count(lo, hi);
        let u = Zeroizing::new(Scalar::random(rng));
        let v = Zeroizing::new(Scalar::from(value));
        let mut real = Vec::with_capacity(k);
        let mut sim_c = Vec::with_capacity(k);
        let mut sim_z = Vec::with_capacity(k);
        let mut commitments = Vec::with_capacity(k);
        for j in 0..k {
            let m = lo + j as u64;
            let is_real: Choice = m.ct_eq(&value);
            let c_j = Scalar::random(rng);
            let z_j = Scalar::random(rng);
            // Simulated branch: a = z*G - c*A = (z - c*r)*G and
            // b = z*PK - c*(B - m*G) = (z - c*r)*PK - c*(value - m)*G.
            // Real branch: a = u*G, b = u*PK (and value - m = 0 there).
            let t_j = Zeroizing::new(Scalar::conditional_select(&(z_j - c_j * r), &u, is_real));
            let s_j = Zeroizing::new(-(c_j * (*v - Scalar::from(m))));
            let a_j = mul_base(&t_j);
            let b_j = pk.mul(&t_j) + mul_base(&s_j);
            commitments.push(BranchCommitment {
                a: Element::from_point(a_j),
                b: Element::from_point(b_j),
            });
            real.push(is_real);
            sim_c.push(c_j);
            sim_z.push(z_j);
        }
        let c = disjunctive_challenge(t, a, b, lo, hi, &commitments);
        let mut sum_sim = Scalar::ZERO;
        for j in 0..k {
            sum_sim += Scalar::conditional_select(&sim_c[j], &Scalar::ZERO, real[j]);
        }
        let c_real = c - sum_sim;
        let z_real = Zeroizing::new(*u + c_real * r);
        let mut challenges = Vec::with_capacity(k - 1);
        let mut responses = Vec::with_capacity(k);
        for j in 0..k {
            if j + 1 < k {
                challenges.push(Scalar::conditional_select(&sim_c[j], &c_real, real[j]));
            }
            responses.push(Scalar::conditional_select(&sim_z[j], &z_real, real[j]));
        }
        DisjunctiveProof {
            commitments,
            challenges,
            responses,
        }
    }

    /// Checks the proof's shape for `[lo, hi]`.
    pub fn check_shape(&self, lo: u64, hi: u64) -> Result<(), ProofError> {
        let k = branch_count(lo, hi);
        if self.commitments.len() != k
            || self.responses.len() != k
            || self.challenges.len() != k - 1
        {
            return Err(ProofError::Shape {
                branches: k,
                commitments: self.commitments.len(),
                challenges: self.challenges.len(),
                responses: self.responses.len(),
            });
        }
        Ok(())
    }

    /// Adds the proof's `2k` weighted equations to `acc` (whose key must be the election
    /// key), except the terms in `A` and `B`: their coefficients are returned so that the
    /// caller can merge them with other terms in the same points.
    ///
    /// For branch `j`, value `m = lo + j`: `z_j*G - a_j - c_j*A = 0` and
    /// `z_j*PK - b_j - c_j*B + c_j*m*G = 0`.
    #[allow(clippy::too_many_arguments)]
    pub fn vartime_accumulate(
        &self,
        t: &mut Transcript,
        a: &CompressedRistretto,
        b: &CompressedRistretto,
        lo: u64,
        hi: u64,
        acc: &mut MsmAccumulator,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Scalar, Scalar), ProofError> {
        self.check_shape(lo, hi)?;
        let k = self.commitments.len();
        let c = disjunctive_challenge(t, a, b, lo, hi, &self.commitments);
        let c_last = c - self.challenges.iter().sum::<Scalar>();
        let mut coeff_a = Scalar::ZERO;
        let mut coeff_b = Scalar::ZERO;
        for j in 0..k {
            let c_j = if j + 1 < k {
                self.challenges[j]
            } else {
                c_last
            };
            let z_j = self.responses[j];
            let m = Scalar::from(lo + j as u64);
            let (w1, w2) = (random_weight(rng), random_weight(rng));
            acc.add_base(w1 * z_j + w2 * c_j * m);
            acc.add_key(w2 * z_j);
            acc.push(-w1, *self.commitments[j].a.point());
            acc.push(-w2, *self.commitments[j].b.point());
            coeff_a -= w1 * c_j;
            coeff_b -= w2 * c_j;
        }
        Ok((coeff_a, coeff_b))
    }

    /// Verifies the proof on its own against the ciphertext `ct`.
    #[allow(clippy::too_many_arguments)]
    pub fn vartime_verify(
        &self,
        t: &mut Transcript,
        pk: &ElectionPublicKey,
        ct: CiphertextRef<'_>,
        lo: u64,
        hi: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), ProofError> {
        let mut acc = MsmAccumulator::with_capacity(*pk.point(), 2 * self.commitments.len() + 2);
        let (ca, cb) = self.vartime_accumulate(t, ct.a.1, ct.b.1, lo, hi, &mut acc, rng)?;
        acc.push(ca, *ct.a.0);
        acc.push(cb, *ct.b.0);
        if acc.vartime_is_zero() {
            Ok(())
        } else {
            Err(ProofError::Invalid)
        }
    }

    /// Appends the encoding: commitments `a_0 b_0 ... a_{k-1} b_{k-1}`, then challenges
    /// `c_0 .. c_{k-2}`, then responses `z_0 .. z_{k-1}`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for c in &self.commitments {
            out.extend_from_slice(c.a.as_bytes());
            out.extend_from_slice(c.b.as_bytes());
        }
        for c in &self.challenges {
            out.extend_from_slice(c.as_bytes());
        }
        for z in &self.responses {
            out.extend_from_slice(z.as_bytes());
        }
    }

    /// Reads a proof over `[lo, hi]`.
    pub fn decode(r: &mut Reader<'_>, lo: u64, hi: u64) -> Result<Self, DecodeError> {
        let k = branch_count(lo, hi);
        let mut commitments = Vec::with_capacity(k);
        for _ in 0..k {
            commitments.push(BranchCommitment {
                a: r.element()?,
                b: r.element()?,
            });
        }
        let challenges = (0..k - 1).map(|_| r.scalar()).collect::<Result<_, _>>()?;
        let responses = (0..k).map(|_| r.scalar()).collect::<Result<_, _>>()?;
        Ok(DisjunctiveProof {
            commitments,
            challenges,
            responses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elgamal::SecretKey;
    use rand::rngs::OsRng;

    fn ctx() -> Transcript {
        let mut t = Transcript::new(labels::BALLOT_PROTOCOL);
        t.append_message(labels::ELECTION_ID, &[7u8; 32]);
        t
    }

    #[test]
    fn schnorr_roundtrip_and_binding() {
        let x = Scalar::random(&mut OsRng);
        let pubkey = Element::from_point(mul_base(&x));
        let proof = SchnorrProof::prove(&mut ctx(), &x, &pubkey, &mut OsRng);
        assert_eq!(proof.vartime_verify(&mut ctx(), &pubkey), Ok(()));
        // Another context, another key, a changed response: all fail.
        let mut other = Transcript::new(labels::BALLOT_PROTOCOL);
        other.append_message(labels::ELECTION_ID, &[8u8; 32]);
        assert!(proof.vartime_verify(&mut other, &pubkey).is_err());
        let pk2 = Element::from_point(mul_base(&Scalar::random(&mut OsRng)));
        assert!(proof.vartime_verify(&mut ctx(), &pk2).is_err());
        let mut bad = proof.clone();
        bad.response += Scalar::ONE;
        assert!(bad.vartime_verify(&mut ctx(), &pubkey).is_err());
        // Batched form agrees.
        let mut acc = MsmAccumulator::new(G);
        proof.vartime_accumulate(&mut ctx(), &pubkey, &mut acc, &mut OsRng);
        assert!(acc.vartime_is_zero());
        let mut acc = MsmAccumulator::new(G);
        bad.vartime_accumulate(&mut ctx(), &pubkey, &mut acc, &mut OsRng);
        assert!(!acc.vartime_is_zero());
    }

    #[test]
    fn dleq_roundtrip_and_binding() {
        let w = Scalar::random(&mut OsRng);
        let g = Element::from_point(G);
        let h = Element::from_point(mul_base(&Scalar::random(&mut OsRng)));
        let x = Element::from_point(G * w);
        let y = Element::from_point(h.point() * w);
        let s = DleqStatement {
            g: &g,
            x: &x,
            h: &h,
            y: &y,
        };
        let proof = DleqProof::prove(&mut ctx(), &s, &w, &mut OsRng);
        assert_eq!(proof.vartime_verify(&mut ctx(), &s, &mut OsRng), Ok(()));
        // A wrong y (different exponent) fails.
        let y2 = Element::from_point(h.point() * (w + Scalar::ONE));
        let s2 = DleqStatement { y: &y2, ..s };
        assert!(proof.vartime_verify(&mut ctx(), &s2, &mut OsRng).is_err());
        let mut buf = Vec::new();
        proof.encode(&mut buf);
        assert_eq!(buf.len(), DleqProof::SIZE);
        let mut r = Reader::new(&buf);
        assert_eq!(DleqProof::decode(&mut r).unwrap(), proof);
        r.finish().unwrap();
    }

    #[test]
    fn disjunctive_all_values_in_range_verify_and_outside_fail() {
        let sk = SecretKey::random(&mut OsRng);
        let pk = sk.public_key();
        let (lo, hi) = (2u64, 5u64);
        for value in 0..8u64 {
            let r = Scalar::random(&mut OsRng);
            let ct = pk.encrypt(&Scalar::from(value), &r);
            let (a, b) = (ct.a.compress(), ct.b.compress());
            let proof =
                DisjunctiveProof::prove(&mut ctx(), &pk, &a, &b, &r, value, lo, hi, &mut OsRng);
            let cref = CiphertextRef {
                a: (&ct.a, &a),
                b: (&ct.b, &b),
            };
            let res = proof.vartime_verify(&mut ctx(), &pk, cref, lo, hi, &mut OsRng);
            if (lo..=hi).contains(&value) {
                assert_eq!(res, Ok(()), "value {value}");
                let mut buf = Vec::new();
                proof.encode(&mut buf);
                assert_eq!(buf.len(), DisjunctiveProof::encoded_len(4));
                let mut rd = Reader::new(&buf);
                assert_eq!(DisjunctiveProof::decode(&mut rd, lo, hi).unwrap(), proof);
                rd.finish().unwrap();
                // Verified as a proof for another range, it fails.
                assert!(proof
                    .vartime_verify(&mut ctx(), &pk, cref, lo, hi + 1, &mut OsRng)
                    .is_err());
                assert!(proof
                    .vartime_verify(&mut ctx(), &pk, cref, lo + 1, hi + 1, &mut OsRng)
                    .is_err());
            } else {
                assert_eq!(res, Err(ProofError::Invalid), "value {value}");
            }
        }
    }
}
