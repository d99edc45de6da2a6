//! Proof of knowledge of a contributed secret `x`, bound to the transcript digest before the
//! contribution (Bowe-Gabizon-Miers 2017, as in the Sapling ceremony).
//!
//! The contributor draws a random `k`, publishes `s = k*G1`, `s_x = x*s`, and
//! `r_x = x*r` where `r = hash_to_g2(digest || id || s || s_x)`. A verifier recomputes `r`
//! and checks `e(s, r_x) = e(s_x, r)`. Since `r` depends on the digest, a proof copied
//! from another contribution (or another election) is bound to a different `r` and fails;
//! producing `r_x` without `x` is the computational Diffie-Hellman problem in the random
//! oracle model.

use super::points::{decode_single, encode};
use super::ratio::RatioBatch;
use super::secret_mul::SecretMul;
use super::{SetupDigest, SetupError};
use ark_bls12_381::{g1, g2, Fr, G1Affine, G2Affine, G2Projective};
use ark_ec::hashing::curve_maps::wb::WBMap;
use ark_ec::hashing::map_to_curve_hasher::MapToCurveBasedHasher;
use ark_ec::hashing::HashToCurve;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::field_hashers::DefaultFieldHasher;
use ark_ff::Zero;
use ark_std::UniformRand;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

/// Domain separation tag of the hash to G2 (RFC 9380 suite
/// `BLS12381G2_XMD:SHA-256_SSWU_RO_`).
pub const POK_DST: &[u8] = b"zkvote-v2-setup-pok_BLS12381G2_XMD:SHA-256_SSWU_RO_";

/// Which secret a proof of knowledge is about (its one-byte id in the hashed message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    /// Phase 1's `tau`.
    Tau = 1,
    /// Phase 1's `alpha`.
    Alpha = 2,
    /// Phase 1's `beta`.
    Beta = 3,
    /// Phase 2's `delta`.
    Delta = 4,
}

impl Secret {
    /// The secret's name.
    pub fn name(self) -> &'static str {
        match self {
            Secret::Tau => "tau",
            Secret::Alpha => "alpha",
            Secret::Beta => "beta",
            Secret::Delta => "delta",
        }
    }
}

/// Size of an encoded [`KnowledgeProof`]: `s (96) || s_x (96) || r_x (192)`, uncompressed.
pub const KNOWLEDGE_PROOF_SIZE: usize = 96 + 96 + 192;

/// A proof of knowledge of one secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnowledgeProof {
    /// `k*G1` for the contributor's random `k`.
    pub s: G1Affine,
    /// `x*s`.
    pub s_x: G1Affine,
    /// `x*r`, with `r` the hash of the digest, the secret's id, `s` and `s_x`.
    pub r_x: G2Affine,
}

/// `hash_to_g2(msg)` under [`POK_DST`] (RFC 9380, random oracle encoding).
pub fn hash_to_g2(dst: &[u8], msg: &[u8]) -> G2Affine {
    MapToCurveBasedHasher::<G2Projective, DefaultFieldHasher<Sha256, 128>, WBMap<g2::Config>>::new(
        dst,
    )
    .expect("a DST under 256 bytes")
    .hash(msg)
    .expect("the WB map is defined for every field element")
}

/// `r = hash_to_g2(digest || id || s || s_x)` (points uncompressed).
fn challenge_point(digest: &SetupDigest, secret: Secret, s: &G1Affine, s_x: &G1Affine) -> G2Affine {
    let mut msg = Vec::with_capacity(32 + 1 + 192);
    msg.extend_from_slice(digest.as_bytes());
    msg.push(secret as u8);
    encode(&[*s, *s_x], &mut msg);
    hash_to_g2(POK_DST, &msg)
}

impl KnowledgeProof {
    /// Proves knowledge of `x` (nonzero) for the transcript at `digest`. Returns the proof
    /// and `r`, the point the contributor's update is checked against.
    pub(crate) fn prove(
        x: &Fr,
        secret: Secret,
        digest: &SetupDigest,
        rng: &mut dyn CryptoRngCore,
    ) -> KnowledgeProof {
        let k = Zeroizing::new(loop {
            let k = Fr::rand(rng);
            if !k.is_zero() {
                break k;
            }
        });
        let s = g1::Config::secret_mul(&G1Affine::generator(), &k).into_affine();
        let s_x = g1::Config::secret_mul(&s, x).into_affine();
        let r = challenge_point(digest, secret, &s, &s_x);
        let r_x = g2::Config::secret_mul(&r, x).into_affine();
        KnowledgeProof { s, s_x, r_x }
    }

    /// Adds the proof's statement to `batch` and returns `(r, r_x)`, the pair every update
    /// by this secret must share the ratio of.
    pub(crate) fn vartime_statement(
        &self,
        secret: Secret,
        digest: &SetupDigest,
        batch: &mut RatioBatch,
    ) -> Result<(G2Affine, G2Affine), SetupError> {
        let degenerate = SetupError::KnowledgeProof { secret };
        if self.s.is_zero() || self.s_x.is_zero() || self.r_x.is_zero() {
            return Err(degenerate);
        }
        let r = challenge_point(digest, secret, &self.s, &self.s_x);
        batch.same_ratio((self.s, self.s_x), (r, self.r_x), degenerate);
        Ok((r, self.r_x))
    }

    /// The encoding (uncompressed points).
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode(&[self.s, self.s_x], out);
        encode(&[self.r_x], out);
    }

    /// Decodes a proof from the front of `bytes`, every point validated.
    pub fn decode(bytes: &mut &[u8]) -> Result<Self, SetupError> {
        const WHAT: &str = "proof of knowledge";
        Ok(KnowledgeProof {
            s: decode_single::<g1::Config>(bytes, WHAT)?,
            s_x: decode_single::<g1::Config>(bytes, WHAT)?,
            r_x: decode_single::<g2::Config>(bytes, WHAT)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::Fq;
    use ark_ff::PrimeField;

    fn fq(hex: &str) -> Fq {
        Fq::from_be_bytes_mod_order(&hex::decode(hex).unwrap())
    }

    /// RFC 9380 appendix J.10.1, `msg = ""`.
    #[test]
    fn hash_to_g2_matches_rfc_9380() {
        let p = hash_to_g2(b"QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_", b"");
        assert_eq!(p.x.c0, fq("0141ebfbdca40eb85b87142e130ab689c673cf60f1a3e98d69335266f30d9b8d4ac44c1038e9dcdd5393faf5c41fb78a"));
        assert_eq!(p.x.c1, fq("05cb8437535e20ecffaef7752baddf98034139c38452458baeefab379ba13dff5bf5dd71b72418717047f5b0f37da03d"));
        assert_eq!(p.y.c0, fq("0503921d7f6a12805e72940b963c0cf3471c7b2a524950ca195d11062ee75ec076daf2d4bc358c4b190c0c98064fdd92"));
        assert_eq!(p.y.c1, fq("12424ac32561493f3fe3c260708a12b7c620e7be00099a974e259ddc7d1f6395c3c811cdd19f1e8dbf3e9ecfdcbab8d6"));
    }
}
