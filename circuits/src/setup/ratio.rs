//! "Same ratio" statements and their batched check.
//!
//! `same_ratio((a, b), (c, d))` states that `b = x*a` and `d = x*c` for one unknown `x`,
//! i.e. `e(a, d) = e(b, c)`. A batch of statements `j` is checked at once with independent
//! 128-bit random weights `z_j`:
//! `prod_j e(z_j*a_j, d_j) * e(-z_j*b_j, c_j) = 1` (one multi-Miller loop, one final
//! exponentiation). A false statement passes with probability at most `2^-128`. When the
//! batch fails, each statement is checked alone and the first false one is reported.
//!
//! A vector `v` of successive powers (`v[i+1] = x*v[i]`) is reduced to one statement by
//! [`vartime_power_pairs`]: with random 128-bit `rho_i`,
//! `(sum_i rho_i*v[i], sum_i rho_i*v[i+1])`.

use super::SetupError;
use ark_bls12_381::{Bls12_381, Fr, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::One;
use rand_core::CryptoRngCore;

/// A random 128-bit weight.
pub(crate) fn weight(rng: &mut dyn CryptoRngCore) -> Fr {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    Fr::from(u128::from_le_bytes(b))
}

/// `same_ratio((a, b), (c, d))` and the error that names it when false.
struct Statement {
    g1: (G1Affine, G1Affine),
    g2: (G2Affine, G2Affine),
    error: SetupError,
}

/// Statements waiting to be checked.
#[derive(Default)]
pub(crate) struct RatioBatch {
    statements: Vec<Statement>,
}

impl RatioBatch {
    /// Adds the statement `e(g1.0, g2.1) = e(g1.1, g2.0)`, refused with `error`.
    pub(crate) fn same_ratio(
        &mut self,
        g1: (G1Affine, G1Affine),
        g2: (G2Affine, G2Affine),
        error: SetupError,
    ) {
        self.statements.push(Statement { g1, g2, error });
    }

    /// Checks every statement (variable time; public data only).
    pub(crate) fn vartime_check(self, rng: &mut dyn CryptoRngCore) -> Result<(), SetupError> {
        let mut left = Vec::with_capacity(2 * self.statements.len());
        let mut right = Vec::with_capacity(2 * self.statements.len());
        for Statement {
            g1: (a, b),
            g2: (c, d),
            ..
        } in &self.statements
        {
            let z = weight(rng);
            left.push((*a * z).into_affine());
            right.push(*d);
            left.push((-(*b * z)).into_affine());
            right.push(*c);
        }
        if product_is_one(left, right) {
            return Ok(());
        }
        for Statement {
            g1: (a, b),
            g2: (c, d),
            error,
        } in self.statements
        {
            if !product_is_one(vec![a, -b], vec![d, c]) {
                return Err(error);
            }
        }
        // Only with negligible probability over the weights: refuse anyway.
        Err(SetupError::Inconsistent {
            what: "the batched pairing check",
        })
    }
}

fn product_is_one(g1: Vec<G1Affine>, g2: Vec<G2Affine>) -> bool {
    let ml = Bls12_381::multi_miller_loop(g1, g2);
    Bls12_381::final_exponentiation(ml).is_some_and(|out| out.0.is_one())
}

/// Reduces "each element is `x` times the one before" over `v` to a single pair
/// (variable time; public data only). `v` has at least two elements.
pub(crate) fn vartime_power_pairs<P: SWCurveConfig<ScalarField = Fr>>(
    v: &[Affine<P>],
    rng: &mut dyn CryptoRngCore,
) -> (Affine<P>, Affine<P>) {
    vartime_pairs(&v[..v.len() - 1], &v[1..], rng)
}

/// Reduces "each `b[i]` is `x` times `a[i]`" to the single pair
/// `(sum_i rho_i*a[i], sum_i rho_i*b[i])` with random 128-bit `rho_i` (variable time;
/// public data only).
pub(crate) fn vartime_pairs<P: SWCurveConfig<ScalarField = Fr>>(
    a: &[Affine<P>],
    b: &[Affine<P>],
    rng: &mut dyn CryptoRngCore,
) -> (Affine<P>, Affine<P>) {
    let rho: Vec<Fr> = a.iter().map(|_| weight(rng)).collect();
    let left = Projective::<P>::msm(a, &rho).expect("equal lengths");
    let right = Projective::<P>::msm(b, &rho).expect("equal lengths");
    (left.into_affine(), right.into_affine())
}
