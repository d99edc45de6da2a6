//! Point multiplication through `blst` (C and assembly) for the setup ceremony: the
//! contributors' secrets and their powers times every point of the parameters, and the
//! twiddle factors of the transition's group FFTs. Native targets only; WebAssembly builds
//! keep arkworks (`setup::secret_mul`).
//!
//! blst's multiplication (`blst_p1_mult`, `blst_p2_mult`) splits a scalar below the group
//! order with the GLV (G1) or GLS (G2) endomorphism and walks fixed windows with
//! constant-time table lookups: it is constant time in the scalar, and several times
//! faster than the arkworks ladder it replaces. Scalars cross as 32 little-endian bytes
//! ([`ScalarBytes`], zeroized when dropped). Points cross in Jacobian coordinates, which
//! both libraries use (`x = X/Z^2`, `y = Y/Z^3`, infinity `Z = 0`); each coordinate leaves
//! arkworks as canonical limbs and enters blst through `blst_fp_from_uint64` and back, so
//! both libraries' internal representations stay their own.
#![allow(unsafe_code)]

use crate::blst_backend::{fp, fp2};
use ark_bls12_381::{g1, g2, Fq, Fq2, Fr};
use ark_ec::short_weierstrass::{Projective, SWCurveConfig};
use ark_ff::{BigInt, PrimeField};
use blst::{blst_fp, blst_fp2, blst_p1, blst_p1_mult, blst_p2, blst_p2_mult, blst_uint64_from_fp};
use zeroize::{Zeroize, Zeroizing};

/// A scalar as blst reads it: 32 little-endian bytes, zeroized when dropped.
pub(crate) struct ScalarBytes(Zeroizing<[u8; 32]>);

impl ScalarBytes {
    /// The canonical encoding of `k`.
    pub(crate) fn new(k: &Fr) -> Self {
        let mut out = Zeroizing::new([0u8; 32]);
        let mut limbs = k.into_bigint().0;
        for (bytes, limb) in out.chunks_exact_mut(8).zip(&limbs) {
            bytes.copy_from_slice(&limb.to_le_bytes());
        }
        limbs.zeroize();
        ScalarBytes(out)
    }
}

fn fq(x: &blst_fp) -> Fq {
    let mut limbs = [0u64; 6];
    // SAFETY: `limbs` has the 6 words blst writes; `x` is a valid field element.
    unsafe { blst_uint64_from_fp(limbs.as_mut_ptr(), x) };
    Fq::from_bigint(BigInt::new(limbs)).expect("blst's field elements are reduced")
}

fn fq2(x: &blst_fp2) -> Fq2 {
    Fq2::new(fq(&x.fp[0]), fq(&x.fp[1]))
}

/// A curve whose points blst multiplies.
pub(crate) trait BlstMul: SWCurveConfig<ScalarField = Fr> {
    /// `k * p`, in constant time in `k`.
    fn blst_mul(p: &Projective<Self>, k: &ScalarBytes) -> Projective<Self>;
}

macro_rules! blst_mul {
    ($config:ty, $point:ident, $to_blst:ident, $to_ark:ident, $mult:ident) => {
        impl BlstMul for $config {
            fn blst_mul(p: &Projective<Self>, k: &ScalarBytes) -> Projective<Self> {
                let input = $point {
                    x: $to_blst(&p.x),
                    y: $to_blst(&p.y),
                    z: $to_blst(&p.z),
                };
                let mut out = $point::default();
                // SAFETY: blst reads 256 bits (32 bytes) of `k`, which holds 32; `input`
                // and `out` are valid points owned here.
                unsafe { $mult(&mut out, &input, k.0.as_ptr(), 256) };
                Projective::new_unchecked($to_ark(&out.x), $to_ark(&out.y), $to_ark(&out.z))
            }
        }
    };
}

blst_mul!(g1::Config, blst_p1, fp, fq, blst_p1_mult);
blst_mul!(g2::Config, blst_p2, fp2, fq2, blst_p2_mult);

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{G1Projective, G2Projective};
    use ark_ec::PrimeGroup;
    use ark_ff::{One, Zero};
    use ark_std::UniformRand;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn matches_arkworks_on_projective_inputs_and_edge_scalars() {
        let mut rng = ChaCha20Rng::from_seed([4; 32]);
        // Inputs with Z != 1, and the point at infinity.
        let p1 = G1Projective::generator() * Fr::rand(&mut rng) + G1Projective::generator();
        let p2 = G2Projective::generator() * Fr::rand(&mut rng) + G2Projective::generator();
        let edge = [Fr::zero(), Fr::one(), -Fr::one(), Fr::from(2u64)];
        for k in edge.into_iter().chain((0..8).map(|_| Fr::rand(&mut rng))) {
            let b = ScalarBytes::new(&k);
            assert_eq!(g1::Config::blst_mul(&p1, &b), p1 * k);
            assert_eq!(g2::Config::blst_mul(&p2, &b), p2 * k);
            assert!(g1::Config::blst_mul(&G1Projective::zero(), &b).is_zero());
            assert!(g2::Config::blst_mul(&G2Projective::zero(), &b).is_zero());
        }
    }
}
