//! From phase 1 to phase 2: the eligibility circuit's QAP evaluated at the ceremony's `tau`,
//! in the exponent. Deterministic: anyone recomputes it from the final phase-1 parameters.
//!
//! The circuit is synthesized exactly as `ark-groth16` 0.5 synthesizes it for its own
//! setup (optimization goal "constraints", setup mode, linear combinations inlined), over
//! the radix-2 domain `H` of size `N >= constraints + public inputs + 1`. Over `H` the
//! Lagrange basis is `L_i(X) = (1/N) * sum_k omega^(-ik) * X^k`, so
//! `[L_i(tau)] = IFFT([tau^k])`, computed on group elements. The polynomials of variable
//! `j` are `a_j = sum_i A[i][j]*L_i` plus, for the `P` instance variables (the constant one
//! first), `L_{constraints + j}` (the input-consistency rows), and `b_j`, `c_j` from `B`
//! and `C`. With `gamma = 1`:
//! `IC_j = [beta*a_j + alpha*b_j + c_j]_1` for instance variables, the initial L query the
//! same for witness variables (`delta = 1`), and `h_query[i] = [tau^(i+N) - tau^i]_1`.

use super::phase1::Phase1;
use super::phase2::Phase2;
use super::SetupError;
use crate::circuit::EligibilityCircuit;
use ark_bls12_381::{g1, g2, Bls12_381, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
#[cfg(target_arch = "wasm32")]
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::Field;
use ark_ff::Zero;
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use ark_relations::r1cs::{
    ConstraintMatrices, ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
use ark_std::{cfg_chunks_mut, cfg_into_iter, cfg_iter, cfg_iter_mut};
use rand_core::CryptoRngCore;
#[cfg(feature = "parallel")]
use rayon::prelude::*;
use std::ops::Range;

/// The eligibility circuit's constraint matrices at one roll depth.
pub struct CircuitShape {
    matrices: ConstraintMatrices<Fr>,
    domain: Radix2EvaluationDomain<Fr>,
}

impl CircuitShape {
    /// Synthesizes the circuit for a roll of `depth`.
    pub fn new(depth: u8) -> CircuitShape {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        EligibilityCircuit::blank(depth)
            .generate_constraints(cs.clone())
            .expect("the eligibility circuit synthesizes");
        cs.finalize();
        let matrices = cs.to_matrices().expect("a finalized constraint system");
        let domain =
            Radix2EvaluationDomain::new(matrices.num_constraints + matrices.num_instance_variables)
                .expect("a domain of at most 2^32");
        CircuitShape { matrices, domain }
    }

    /// The domain size `N` (the phase-1 parameters' size).
    pub fn domain_size(&self) -> usize {
        self.domain.size()
    }

    /// Number of instance variables (the constant one and the 4 public inputs).
    pub fn instance_variables(&self) -> usize {
        self.matrices.num_instance_variables
    }

    /// Number of witness variables (the length of the L query).
    pub fn witness_variables(&self) -> usize {
        self.matrices.num_witness_variables
    }

    /// Number of constraints.
    pub fn constraints(&self) -> usize {
        self.matrices.num_constraints
    }

    /// The phase-1 to phase-2 transition: the parts of the keys that phase 2 leaves alone,
    /// and the initial phase-2 parameters (`delta = 1`).
    pub fn vartime_transition(&self, p1: &Phase1) -> Result<(KeyBase, Phase2), SetupError> {
        let n = self.domain_size();
        if p1.size() != n {
            return Err(SetupError::Inconsistent {
                what: "the phase-1 size (not the circuit's domain size)",
            });
        }
        let lagrange_g1 = self.lagrange::<g1::Config>(&p1.tau_g1[..n]);
        let lagrange_alpha = self.lagrange::<g1::Config>(&p1.alpha_tau_g1);
        let lagrange_beta = self.lagrange::<g1::Config>(&p1.beta_tau_g1);
        let lagrange_g2 = self.lagrange::<g2::Config>(&p1.tau_g2);
        let columns = self.columns();
        let eval_g1 = |col: &[(Fr, usize)]| msm::<G1Projective>(&lagrange_g1, col);
        let a_query: Vec<G1Projective> = cfg_into_iter!(0..columns.len())
            .map(|j| eval_g1(&columns[j].a))
            .collect();
        let b_g1_query: Vec<G1Projective> = cfg_into_iter!(0..columns.len())
            .map(|j| eval_g1(&columns[j].b))
            .collect();
        let b_g2_query: Vec<G2Projective> = cfg_into_iter!(0..columns.len())
            .map(|j| msm::<G2Projective>(&lagrange_g2, &columns[j].b))
            .collect();
        let abc: Vec<G1Projective> = cfg_into_iter!(0..columns.len())
            .map(|j| {
                let c = &columns[j];
                msm::<G1Projective>(&lagrange_beta, &c.a)
                    + msm::<G1Projective>(&lagrange_alpha, &c.b)
                    + eval_g1(&c.c)
            })
            .collect();
        let abc = G1Projective::normalize_batch(&abc);
        let instance = self.instance_variables();
        let h_query: Vec<G1Projective> = cfg_into_iter!(0..n - 1)
            .map(|i| p1.tau_g1[i + n].into_group() - p1.tau_g1[i])
            .collect();
        let h_query = G1Projective::normalize_batch(&h_query);
        if h_query[0].is_zero() {
            return Err(SetupError::Degenerate {
                what: "t(tau) (tau is a root of unity of the domain)",
            });
        }
        let base = KeyBase {
            alpha_g1: p1.alpha_tau_g1[0],
            beta_g1: p1.beta_tau_g1[0],
            beta_g2: p1.beta_g2,
            gamma_abc_g1: abc[..instance].to_vec(),
            a_query: G1Projective::normalize_batch(&a_query),
            b_g1_query: G1Projective::normalize_batch(&b_g1_query),
            b_g2_query: G2Projective::normalize_batch(&b_g2_query),
        };
        let phase2 = Phase2 {
            delta_g1: G1Affine::generator(),
            delta_g2: G2Affine::generator(),
            h_query,
            l_query: abc[instance..].to_vec(),
        };
        Ok((base, phase2))
    }

    /// `[L_i(tau)]` for `i < N` from `[tau^i]` for `i < N`: the inverse FFT over `H` on
    /// group elements (iterative radix 2; public data only; the multiplications by
    /// [`TwiddleMul`], which `ark-poly`'s generic FFT cannot use).
    fn lagrange<P: TwiddleMul>(&self, powers: &[Affine<P>]) -> Vec<Affine<P>> {
        let n = powers.len();
        let bits = n.trailing_zeros();
        let mut v: Vec<Projective<P>> = (0..n)
            .map(|i| powers[i.reverse_bits() >> (usize::BITS - bits)].into())
            .collect();
        let mut m = 1;
        while m < n {
            let w_m = self.domain.group_gen_inv.pow([(n / (2 * m)) as u64]);
            let twiddles: Vec<Fr> = std::iter::successors(Some(Fr::from(1u64)), |w| Some(*w * w_m))
                .take(m)
                .collect();
            cfg_chunks_mut!(v, 2 * m).for_each(|block| {
                let (lo, hi) = block.split_at_mut(m);
                cfg_iter_mut!(lo)
                    .zip(cfg_iter_mut!(hi))
                    .zip(cfg_iter!(twiddles))
                    .enumerate()
                    .for_each(|(j, ((u, t), w))| {
                        let wt = if j == 0 { *t } else { P::twiddle_mul(t, w) };
                        *t = *u - wt;
                        *u += wt;
                    });
            });
            m *= 2;
        }
        let n_inv = self.domain.size_inv;
        cfg_iter_mut!(v).for_each(|x| *x = P::twiddle_mul(x, &n_inv));
        Projective::<P>::normalize_batch(&v)
    }

    /// The matrices by variable, with the input-consistency rows added to `A`.
    fn columns(&self) -> Vec<Column> {
        let m = &self.matrices;
        let mut columns: Vec<Column> = (0..m.num_instance_variables + m.num_witness_variables)
            .map(|_| Column::default())
            .collect();
        for (row, (a, (b, c))) in m.a.iter().zip(m.b.iter().zip(&m.c)).enumerate() {
            for &(coeff, var) in a {
                columns[var].a.push((coeff, row));
            }
            for &(coeff, var) in b {
                columns[var].b.push((coeff, row));
            }
            for &(coeff, var) in c {
                columns[var].c.push((coeff, row));
            }
        }
        for (j, column) in columns
            .iter_mut()
            .take(m.num_instance_variables)
            .enumerate()
        {
            column.a.push((Fr::from(1u64), m.num_constraints + j));
        }
        columns
    }
}

/// Multiplication by the group FFT's twiddle factors (public): blst on native targets (GLV
/// in G1, GLS in G2; the transition 28.0 s instead of 32.4 s with arkworks' GLV method),
/// arkworks' GLV method on WebAssembly.
trait TwiddleMul: SWCurveConfig<ScalarField = Fr> {
    fn twiddle_mul(p: &Projective<Self>, w: &Fr) -> Projective<Self>;
}

#[cfg(not(target_arch = "wasm32"))]
impl<P: crate::blst_group::BlstMul> TwiddleMul for P {
    fn twiddle_mul(p: &Projective<Self>, w: &Fr) -> Projective<Self> {
        P::blst_mul(p, &crate::blst_group::ScalarBytes::new(w))
    }
}

#[cfg(target_arch = "wasm32")]
impl<P: GLVConfig<ScalarField = Fr>> TwiddleMul for P {
    fn twiddle_mul(p: &Projective<Self>, w: &Fr) -> Projective<Self> {
        P::glv_mul_projective(*p, *w)
    }
}

/// One of the constraint matrices.
#[derive(Clone, Copy)]
enum Matrix {
    A,
    B,
    C,
}

impl CircuitShape {
    /// `s[i] = sum_j rho[j - vars.start] * M[i][j]` over the variables `vars`, including for
    /// `A` the input-consistency rows (length `N`).
    fn weighted_rows(&self, which: Matrix, vars: Range<usize>, rho: &[Fr]) -> Vec<Fr> {
        let m = &self.matrices;
        let rows = match which {
            Matrix::A => &m.a,
            Matrix::B => &m.b,
            Matrix::C => &m.c,
        };
        let mut s = vec![Fr::zero(); self.domain_size()];
        for (si, row) in s.iter_mut().zip(rows) {
            for &(coeff, var) in row {
                if vars.contains(&var) {
                    *si += coeff * rho[var - vars.start];
                }
            }
        }
        if let Matrix::A = which {
            for j in vars.start..vars.end.min(m.num_instance_variables) {
                s[m.num_constraints + j] += rho[j - vars.start];
            }
        }
        s
    }

    /// `sum_j rho_j * [f_j(tau)]` for the variables `vars`, where `f_j` is `a_j`, `b_j`
    /// or `c_j` (by `which`) and `powers` is `[tau^k * x]` (`k < N`) for a constant `x`:
    /// `sum_i s_i * L_i(X)` has the monomial coefficients `IFFT(s)`, so this is one
    /// multiscalar multiplication over `powers`.
    fn vartime_weighted<G: CurveGroup<ScalarField = Fr> + VariableBaseMSM>(
        &self,
        which: Matrix,
        vars: Range<usize>,
        rho: &[Fr],
        powers: &[G::Affine],
    ) -> G {
        let coefficients = self.domain.ifft(&self.weighted_rows(which, vars, rho));
        G::msm(&powers[..coefficients.len()], &coefficients).expect("N bases, N scalars")
    }

    /// `sum_j rho_j * [beta*a_j(tau) + alpha*b_j(tau) + c_j(tau)]_1` over `vars`.
    fn vartime_abc_sum(&self, p1: &Phase1, vars: Range<usize>, rho: &[Fr]) -> G1Projective {
        self.vartime_weighted::<G1Projective>(Matrix::A, vars.clone(), rho, &p1.beta_tau_g1)
            + self.vartime_weighted::<G1Projective>(Matrix::B, vars.clone(), rho, &p1.alpha_tau_g1)
            + self.vartime_weighted::<G1Projective>(Matrix::C, vars, rho, &p1.tau_g1)
    }

    /// `(sum_i rho_h[i] * h_query[i], sum_j rho_l[j] * l_query[j])` of the initial phase-2
    /// parameters of `p1`, without computing them (variable time; public data only).
    pub(crate) fn vartime_initial_sums(
        &self,
        p1: &Phase1,
        rho_h: &[Fr],
        rho_l: &[Fr],
    ) -> (G1Affine, G1Affine) {
        let n = self.domain_size();
        let h = G1Projective::msm(&p1.tau_g1[n..2 * n - 1], rho_h).expect("equal lengths")
            - G1Projective::msm(&p1.tau_g1[..n - 1], rho_h).expect("equal lengths");
        let witnesses =
            self.instance_variables()..self.instance_variables() + self.witness_variables();
        let l = self.vartime_abc_sum(p1, witnesses, rho_l);
        (h.into_affine(), l.into_affine())
    }

    /// Checks the parts of `pk` that phase 2 leaves alone against the final phase-1
    /// parameters, each query by a random linear combination (variable time; public data).
    pub(crate) fn vartime_check_base(
        &self,
        p1: &Phase1,
        pk: &ProvingKey<Bls12_381>,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<(), SetupError> {
        let wrong = |what| Err(SetupError::KeyMismatch { what });
        let vars = self.instance_variables() + self.witness_variables();
        if pk.vk.alpha_g1 != p1.alpha_tau_g1[0] || pk.beta_g1 != p1.beta_tau_g1[0] {
            return wrong("alpha or beta in G1");
        }
        if pk.vk.beta_g2 != p1.beta_g2 || pk.vk.gamma_g2 != G2Affine::generator() {
            return wrong("beta or gamma in G2");
        }
        if pk.a_query.len() != vars || pk.b_g1_query.len() != vars || pk.b_g2_query.len() != vars {
            return wrong("the query lengths");
        }
        if pk.vk.gamma_abc_g1.len() != self.instance_variables() {
            return wrong("the number of public inputs");
        }
        let all = 0..vars;
        let rho = weights(vars, rng);
        let check_g1 = |query: &[G1Affine], expected: G1Projective| {
            G1Projective::msm(query, &rho[..query.len()]).expect("equal lengths") == expected
        };
        if !check_g1(
            &pk.a_query,
            self.vartime_weighted(Matrix::A, all.clone(), &rho, &p1.tau_g1),
        ) {
            return wrong("the A query");
        }
        if !check_g1(
            &pk.b_g1_query,
            self.vartime_weighted(Matrix::B, all.clone(), &rho, &p1.tau_g1),
        ) {
            return wrong("the B query in G1");
        }
        let b_g2 = self.vartime_weighted::<G2Projective>(Matrix::B, all, &rho, &p1.tau_g2);
        if G2Projective::msm(&pk.b_g2_query, &rho).expect("equal lengths") != b_g2 {
            return wrong("the B query in G2");
        }
        let inputs = 0..self.instance_variables();
        if !check_g1(&pk.vk.gamma_abc_g1, self.vartime_abc_sum(p1, inputs, &rho)) {
            return wrong("the public-input commitments (IC)");
        }
        Ok(())
    }
}

/// `n` random 128-bit weights.
pub(crate) fn weights(n: usize, rng: &mut dyn CryptoRngCore) -> Vec<Fr> {
    (0..n).map(|_| super::ratio::weight(rng)).collect()
}

/// One variable's nonzero entries in `A`, `B` and `C`: `(coefficient, row)`.
#[derive(Default)]
struct Column {
    a: Vec<(Fr, usize)>,
    b: Vec<(Fr, usize)>,
    c: Vec<(Fr, usize)>,
}

/// `sum (coeff * basis[row])`.
fn msm<G: CurveGroup<ScalarField = Fr> + VariableBaseMSM>(
    basis: &[G::Affine],
    terms: &[(Fr, usize)],
) -> G {
    let one = Fr::from(1u64);
    let mut sum = G::zero();
    let mut bases = Vec::new();
    let mut scalars = Vec::new();
    for &(coeff, row) in terms {
        if coeff == one {
            sum += basis[row];
        } else {
            bases.push(basis[row]);
            scalars.push(coeff);
        }
    }
    if !bases.is_empty() {
        sum += G::msm(&bases, &scalars).expect("equal lengths");
    }
    sum
}

/// The parts of the Groth16 keys fixed by phase 1 and the circuit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBase {
    alpha_g1: G1Affine,
    beta_g1: G1Affine,
    beta_g2: G2Affine,
    gamma_abc_g1: Vec<G1Affine>,
    a_query: Vec<G1Affine>,
    b_g1_query: Vec<G1Affine>,
    b_g2_query: Vec<G2Affine>,
}

impl KeyBase {
    /// The proving key (and in it the verifying key, with `gamma = G2`) these parts and
    /// the final phase-2 parameters make.
    pub fn proving_key(&self, p2: &Phase2) -> ProvingKey<ark_bls12_381::Bls12_381> {
        ProvingKey {
            vk: VerifyingKey {
                alpha_g1: self.alpha_g1,
                beta_g2: self.beta_g2,
                gamma_g2: G2Affine::generator(),
                delta_g2: p2.delta_g2,
                gamma_abc_g1: self.gamma_abc_g1.clone(),
            },
            beta_g1: self.beta_g1,
            delta_g1: p2.delta_g1,
            a_query: self.a_query.clone(),
            b_g1_query: self.b_g1_query.clone(),
            b_g2_query: self.b_g2_query.clone(),
            h_query: p2.h_query.clone(),
            l_query: p2.l_query.clone(),
        }
    }
}
