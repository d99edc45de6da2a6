//! Multiplication of a public point by a secret scalar (a contributor's toxic waste and its
//! powers) with no branch and no memory access that depends on the scalar's bits.
//!
//! Native builds use blst's constant-time multiplication (`crate::blst_group`). WebAssembly
//! builds use the ladder of `ladder.rs`: the scalar `k < r` is replaced by `k + 3r`, which lies in
//! `[2^256, 2^257)` for every `k` (`3r >= 2^256` and `4r < 2^257`) and names the same
//! multiple of a point of order `r`. Its top bit is always bit 256, so the ladder starts at
//! the point itself and runs 256 rounds of "double, add, select in constant time": the
//! accumulator is never the identity, and every round does the same operations whatever
//! the bit. (The field arithmetic underneath is arkworks'; its Montgomery reduction ends
//! with a conditional subtraction that depends on intermediate values, not on the scalar's
//! bits directly.) Native tests check both against arkworks' variable-time multiplication.

use ark_bls12_381::Fr;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};

#[cfg(any(test, target_arch = "wasm32"))]
#[path = "ladder.rs"]
mod ladder;

/// A curve whose points can be multiplied by a secret scalar.
pub(crate) trait SecretMul: SWCurveConfig<ScalarField = Fr> {
    /// `k * point`, in constant time in `k`.
    fn secret_mul(point: &Affine<Self>, k: &Fr) -> Projective<Self>;
}

#[cfg(not(target_arch = "wasm32"))]
impl<P: crate::blst_group::BlstMul> SecretMul for P {
    fn secret_mul(point: &Affine<Self>, k: &Fr) -> Projective<Self> {
        P::blst_mul(&(*point).into(), &crate::blst_group::ScalarBytes::new(k))
    }
}

#[cfg(target_arch = "wasm32")]
impl<P: SWCurveConfig<ScalarField = Fr>> SecretMul for P
where
    P::BaseField: ladder::CtSelect,
{
    fn secret_mul(point: &Affine<Self>, k: &Fr) -> Projective<Self> {
        ladder::ladder_mul(point, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{g1, g2, G1Affine, G2Affine};
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
            assert_eq!(ladder::ladder_mul(&g1, &k), g1 * k);
            assert_eq!(ladder::ladder_mul(&g2, &k), g2 * k);
        }
    }
}
