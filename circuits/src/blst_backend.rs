//! BLS12-381 through `blst` (C and assembly) where it is faster than arkworks: checking
//! proof points (on the curve, in the prime-order subgroup) and the multi-Miller loop and
//! final exponentiation of a batch check. Native targets only; WebAssembly builds keep the
//! arkworks path.
//!
//! Points cross the boundary as arkworks types: coordinates leave arkworks as canonical
//! little-endian limbs and enter blst through `blst_fp_from_uint64`, so both libraries'
//! internal representations stay their own. Everything here is variable time and handles
//! public data only. This is the crate's only `unsafe` code: each block is one FFI call on
//! values owned by the caller, with the lengths blst reads stated beside it.
#![allow(unsafe_code)]

use ark_bls12_381::{Fq, Fq2, G1Affine, G2Affine};
use ark_ff::PrimeField;
use blst::{
    blst_final_exp, blst_fp, blst_fp12, blst_fp12_is_one, blst_fp12_mul, blst_fp2,
    blst_fp_from_uint64, blst_miller_loop_n, blst_p1_affine, blst_p1_affine_in_g1,
    blst_p1_affine_is_inf, blst_p1_deserialize, blst_p2_affine, blst_p2_affine_in_g2,
    blst_p2_affine_is_inf, blst_p2_deserialize, BLST_ERROR,
};

/// Size of an uncompressed G1 point.
pub(crate) const G1_BYTES: usize = 96;
/// Size of an uncompressed G2 point.
pub(crate) const G2_BYTES: usize = 192;

/// The three flag bits of the first byte (compressed, infinity, sort): an uncompressed
/// proof point has none of them set.
const FLAG_BITS: u8 = 0xe0;

pub(crate) fn fp(x: &Fq) -> blst_fp {
    let limbs = x.into_bigint().0;
    let mut out = blst_fp::default();
    // SAFETY: `limbs` holds the 6 words blst reads; `out` is a valid destination.
    unsafe { blst_fp_from_uint64(&mut out, limbs.as_ptr()) };
    out
}

pub(crate) fn fp2(x: &Fq2) -> blst_fp2 {
    blst_fp2 {
        fp: [fp(&x.c0), fp(&x.c1)],
    }
}

/// An arkworks G1 point as blst's affine form (the point at infinity as blst's `(0, 0)`).
pub(crate) fn g1(p: &G1Affine) -> blst_p1_affine {
    if p.infinity {
        return blst_p1_affine::default();
    }
    blst_p1_affine {
        x: fp(&p.x),
        y: fp(&p.y),
    }
}

/// An arkworks G2 point as blst's affine form (the point at infinity as blst's `(0, 0)`).
pub(crate) fn g2(p: &G2Affine) -> blst_p2_affine {
    if p.infinity {
        return blst_p2_affine::default();
    }
    blst_p2_affine {
        x: fp2(&p.x),
        y: fp2(&p.y),
    }
}

/// Whether an arkworks G1 point on the curve lies in the prime-order subgroup (blst's test;
/// the point at infinity does).
pub(crate) fn vartime_g1_in_subgroup(p: &G1Affine) -> bool {
    p.infinity || g1(p).in_subgroup()
}

/// Whether an arkworks G2 point on the curve lies in the prime-order subgroup (blst's test;
/// the point at infinity does).
pub(crate) fn vartime_g2_in_subgroup(p: &G2Affine) -> bool {
    p.infinity || g2(p).in_subgroup()
}

fn refusal(e: BLST_ERROR) -> &'static str {
    match e {
        BLST_ERROR::BLST_POINT_NOT_ON_CURVE => "a point is not on its curve",
        BLST_ERROR::BLST_POINT_NOT_IN_GROUP => "a point is not in the prime-order subgroup",
        _ => "a point's encoding is invalid",
    }
}

fn check_flags(bytes: &[u8]) -> Result<(), &'static str> {
    if bytes[0] & FLAG_BITS != 0 {
        return Err("a proof point has flag bits set");
    }
    Ok(())
}

/// A blst affine point type: decoding and the checks a proof point must pass.
trait ProofPoint: Default {
    /// Decodes uncompressed bytes (on-curve check included).
    fn deserialize(&mut self, bytes: &[u8]) -> BLST_ERROR;
    fn is_infinity(&self) -> bool;
    fn in_subgroup(&self) -> bool;
}

impl ProofPoint for blst_p1_affine {
    fn deserialize(&mut self, bytes: &[u8]) -> BLST_ERROR {
        assert_eq!(bytes.len(), G1_BYTES);
        // SAFETY: with no flag bit set blst reads exactly the 96 bytes of `bytes`.
        unsafe { blst_p1_deserialize(self, bytes.as_ptr()) }
    }
    fn is_infinity(&self) -> bool {
        // SAFETY: an initialised affine point.
        unsafe { blst_p1_affine_is_inf(self) }
    }
    fn in_subgroup(&self) -> bool {
        // SAFETY: an initialised affine point.
        unsafe { blst_p1_affine_in_g1(self) }
    }
}

impl ProofPoint for blst_p2_affine {
    fn deserialize(&mut self, bytes: &[u8]) -> BLST_ERROR {
        assert_eq!(bytes.len(), G2_BYTES);
        // SAFETY: with no flag bit set blst reads exactly the 192 bytes of `bytes`.
        unsafe { blst_p2_deserialize(self, bytes.as_ptr()) }
    }
    fn is_infinity(&self) -> bool {
        // SAFETY: an initialised affine point.
        unsafe { blst_p2_affine_is_inf(self) }
    }
    fn in_subgroup(&self) -> bool {
        // SAFETY: an initialised affine point.
        unsafe { blst_p2_affine_in_g2(self) }
    }
}

/// Checks an uncompressed point: no flag bits, on the curve, not the point at infinity,
/// in the prime-order subgroup. Coordinates' canonical form is the caller's to check.
fn vartime_check<P: ProofPoint>(bytes: &[u8]) -> Result<(), &'static str> {
    check_flags(bytes)?;
    let mut p = P::default();
    let decoded = p.deserialize(bytes);
    if decoded != BLST_ERROR::BLST_SUCCESS {
        return Err(refusal(decoded));
    }
    if p.is_infinity() {
        return Err("a proof point is the point at infinity");
    }
    if !p.in_subgroup() {
        return Err(refusal(BLST_ERROR::BLST_POINT_NOT_IN_GROUP));
    }
    Ok(())
}

/// [`vartime_check`] for an uncompressed G1 point.
pub(crate) fn vartime_check_g1(bytes: &[u8; G1_BYTES]) -> Result<(), &'static str> {
    vartime_check::<blst_p1_affine>(bytes)
}

/// [`vartime_check`] for an uncompressed G2 point.
pub(crate) fn vartime_check_g2(bytes: &[u8; G2_BYTES]) -> Result<(), &'static str> {
    vartime_check::<blst_p2_affine>(bytes)
}

/// The product of the Miller loops of `(g1[i], g2[i])` (one shared loop).
fn miller_loop(g1: &[blst_p1_affine], g2: &[blst_p2_affine]) -> blst_fp12 {
    assert_eq!(g1.len(), g2.len(), "one G2 point per G1 point");
    let mut out = blst_fp12::default();
    if g1.is_empty() {
        // The empty product.
        return one();
    }
    // blst's convention: a pointer list whose second entry is null names one contiguous
    // array of `n` points.
    let ps = [g1.as_ptr(), std::ptr::null()];
    let qs = [g2.as_ptr(), std::ptr::null()];
    // SAFETY: both arrays hold `g1.len()` points and outlive the call.
    unsafe { blst_miller_loop_n(&mut out, qs.as_ptr(), ps.as_ptr(), g1.len()) };
    out
}

fn one() -> blst_fp12 {
    let mut one = blst_fp12::default();
    // The Montgomery form of 1 in Fp: 2^384 mod p.
    one.fp6[0].fp2[0].fp[0] = fp(&Fq::from(1u64));
    one
}

fn mul(a: &blst_fp12, b: &blst_fp12) -> blst_fp12 {
    let mut out = blst_fp12::default();
    // SAFETY: all three are initialised field elements.
    unsafe { blst_fp12_mul(&mut out, a, b) };
    out
}

/// Whether `prod_i e(g1[i], g2[i]) = 1`: Miller loops over parts of the pairs on the rayon
/// pool, one final exponentiation. Pairs with the point at infinity contribute 1 and are
/// skipped.
pub(crate) fn vartime_pairing_product_is_one(pairs: &[(G1Affine, G2Affine)]) -> bool {
    let (g1s, g2s): (Vec<blst_p1_affine>, Vec<blst_p2_affine>) = pairs
        .iter()
        .filter(|(p, q)| !p.infinity && !q.infinity)
        .map(|(p, q)| (g1(p), g2(q)))
        .unzip();
    let f = parallel_miller_loop(&g1s, &g2s);
    let mut e = blst_fp12::default();
    // SAFETY: `f` is an initialised field element.
    unsafe { blst_final_exp(&mut e, &f) };
    // SAFETY: as above.
    unsafe { blst_fp12_is_one(&e) }
}

#[cfg(feature = "parallel")]
fn parallel_miller_loop(g1: &[blst_p1_affine], g2: &[blst_p2_affine]) -> blst_fp12 {
    use rayon::prelude::*;
    let parts = rayon::current_num_threads().max(1);
    let size = g1.len().div_ceil(parts).max(1);
    g1.par_chunks(size)
        .zip(g2.par_chunks(size))
        .map(|(p, q)| miller_loop(p, q))
        .reduce(one, |a, b| mul(&a, &b))
}

#[cfg(not(feature = "parallel"))]
fn parallel_miller_loop(g1: &[blst_p1_affine], g2: &[blst_p2_affine]) -> blst_fp12 {
    miller_loop(g1, g2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{Bls12_381, Fr};
    use ark_ec::pairing::Pairing;
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::One;
    use ark_std::UniformRand;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn pairing_products_agree_with_arkworks() {
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        let g = G1Affine::generator();
        let h = G2Affine::generator();
        let (a, b) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
        // e(aG, bH) * e(-abG, H) = 1, and not 1 once one factor changes.
        let balanced = [
            ((g * a).into_affine(), (h * b).into_affine()),
            ((g * -(a * b)).into_affine(), h),
        ];
        assert!(vartime_pairing_product_is_one(&balanced));
        let unbalanced = [
            balanced[0],
            ((g * -(a * b + Fr::from(1u64))).into_affine(), h),
        ];
        assert!(!vartime_pairing_product_is_one(&unbalanced));
        let ark = Bls12_381::multi_pairing(
            [unbalanced[0].0, unbalanced[1].0],
            [unbalanced[0].1, unbalanced[1].1],
        );
        assert!(!ark.0.is_one());
        // The point at infinity contributes 1; the empty product is 1.
        let with_zero = [balanced[0], balanced[1], (G1Affine::zero(), h)];
        assert!(vartime_pairing_product_is_one(&with_zero));
        assert!(vartime_pairing_product_is_one(&[]));
    }
}
