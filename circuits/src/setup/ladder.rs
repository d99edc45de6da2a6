//! A constant-time ladder in arkworks for multiplying a point by a secret scalar:
//! WebAssembly builds multiply secrets with it (`secret_mul.rs`), native tests check it.
//!
//! The scalar `k < r` is replaced by `k + 3r`, which lies in `[2^256, 2^257)` for every `k`
//! (`3r >= 2^256` and `4r < 2^257`) and names the same multiple of a point of order `r`.
//! Its top bit is always bit 256, so the ladder starts at the point itself and runs 256
//! rounds of "double, add, select in constant time": the accumulator is never the
//! identity, and every round does the same operations whatever the bit. (The field
//! arithmetic underneath is arkworks'; its Montgomery reduction ends with a conditional
//! subtraction that depends on intermediate values, not on the scalar's bits directly.)

use ark_bls12_381::{Fq, Fq2, Fr};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AdditiveGroup;
use ark_ff::{BigInteger, PrimeField};
use subtle::{Choice, ConditionallySelectable};
use zeroize::Zeroize;

/// Constant-time selection of a value (`b` when `choice` is set, else `a`).
pub(crate) trait CtSelect: Sized {
    fn ct_select(a: &Self, b: &Self, choice: Choice) -> Self;
}

impl CtSelect for Fq {
    fn ct_select(a: &Self, b: &Self, choice: Choice) -> Self {
        let mut out = *a;
        for (o, (x, y)) in out.0 .0.iter_mut().zip(a.0 .0.iter().zip(&b.0 .0)) {
            *o = u64::conditional_select(x, y, choice);
        }
        out
    }
}

impl CtSelect for Fq2 {
    fn ct_select(a: &Self, b: &Self, choice: Choice) -> Self {
        Fq2::new(
            Fq::ct_select(&a.c0, &b.c0, choice),
            Fq::ct_select(&a.c1, &b.c1, choice),
        )
    }
}

/// `k * point` by the ladder of the module's documentation.
pub(crate) fn ladder_mul<P: SWCurveConfig<ScalarField = Fr>>(
    point: &Affine<P>,
    k: &Fr,
) -> Projective<P>
where
    P::BaseField: CtSelect,
{
    let mut bits = k_plus_3r(k);
    let mut acc = Projective::<P>::from(*point);
    for i in (0..256).rev() {
        acc.double_in_place();
        let sum = acc + point;
        let bit = Choice::from(((bits[i / 64] >> (i % 64)) & 1) as u8);
        acc = Projective::new_unchecked(
            P::BaseField::ct_select(&acc.x, &sum.x, bit),
            P::BaseField::ct_select(&acc.y, &sum.y, bit),
            P::BaseField::ct_select(&acc.z, &sum.z, bit),
        );
    }
    bits.zeroize();
    acc
}

/// The five 64-bit limbs (little-endian) of `k + 3r`, bit 256 always set.
fn k_plus_3r(k: &Fr) -> [u64; 5] {
    let mut k_limbs = k.into_bigint().0;
    let mut three_r = Fr::MODULUS;
    let carry_2r = three_r.mul2();
    let mut r = Fr::MODULUS;
    let carry_3r = three_r.add_with_carry(&r) as u64 + carry_2r as u64;
    r.0.zeroize();
    let mut out = [0u64; 5];
    let mut carry = 0u128;
    for i in 0..4 {
        let s = k_limbs[i] as u128 + three_r.0[i] as u128 + carry;
        out[i] = s as u64;
        carry = s >> 64;
    }
    out[4] = carry_3r + carry as u64;
    k_limbs.zeroize();
    debug_assert_eq!(out[4], 1, "k + 3r lies in [2^256, 2^257)");
    out
}
