//! Multiplication of a public point by a secret scalar (a contributor's toxic waste and its
//! powers) with no branch and no memory access that depends on the scalar's bits.
//!
//! Native builds use blst's constant-time multiplication (`crate::blst_group`); WebAssembly
//! builds use arkworks and the constant-time ladder of `ladder.rs`. Native tests check both
//! against arkworks' variable-time multiplication.

use ark_bls12_381::Fr;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};

#[cfg(any(test, target_arch = "wasm32"))]
use super::ladder;

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
