//! Multiplication of a public point by a secret scalar (a contributor's toxic waste and its
//! powers) with no branch and no memory access that depends on the scalar's bits.
//!
//! The scalar `k < r` is replaced by `k + 3r`, which lies in `[2^256, 2^257)` for every `k`
//! (`3r >= 2^256` and `4r < 2^257`) and names the same multiple of a point of order `r`.
//! Its top bit is always bit 256, so the ladder starts at the point itself and runs 256
//! rounds of "double, add, select in constant time": the accumulator is never the
//! identity, and every round does the same operations whatever the bit. (The field
//! arithmetic underneath is arkworks'; its Montgomery reduction ends with a conditional
//! subtraction that depends on intermediate values, not on the scalar's bits directly.)

use ark_bls12_381::{g1, g2, Fq, Fq2, Fr};
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

/// A curve whose points can be multiplied by a secret scalar.
pub(crate) trait SecretMul: SWCurveConfig<ScalarField = Fr>
where
    Self::BaseField: CtSelect,
{
    /// `k * point`, in constant time in `k`.
    fn secret_mul(point: &Affine<Self>, k: &Fr) -> Projective<Self> {
        let mut bits = k_plus_3r(k);
        let mut acc = Projective::<Self>::from(*point);
        for i in (0..256).rev() {
            acc.double_in_place();
            let sum = acc + point;
            let bit = Choice::from(((bits[i / 64] >> (i % 64)) & 1) as u8);
            acc = Projective::new_unchecked(
                Self::BaseField::ct_select(&acc.x, &sum.x, bit),
                Self::BaseField::ct_select(&acc.y, &sum.y, bit),
                Self::BaseField::ct_select(&acc.z, &sum.z, bit),
            );
        }
        bits.zeroize();
        acc
    }
}

impl SecretMul for g1::Config {}
impl SecretMul for g2::Config {}

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

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{G1Affine, G2Affine};
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::{One, Zero};
    use ark_std::UniformRand;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn matches_variable_time_multiplication() {
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        let g1 = (G1Affine::generator() * Fr::rand(&mut rng)).into_affine();
        let g2 = (G2Affine::generator() * Fr::rand(&mut rng)).into_affine();
        let edge = [Fr::zero(), Fr::one(), -Fr::one(), Fr::from(2u64)];
        for k in edge.into_iter().chain((0..8).map(|_| Fr::rand(&mut rng))) {
            assert_eq!(g1::Config::secret_mul(&g1, &k), g1 * k);
            assert_eq!(g2::Config::secret_mul(&g2, &k), g2 * k);
        }
    }
}
