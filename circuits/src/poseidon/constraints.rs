//! The R1CS twin of [`super::permute`] and the tagged hashes: the same rounds over
//! `FpVar`s. Each S-box costs 3 constraints (`x^2`, `x^4`, `x^5`); additions of round
//! constants and the MDS layer are linear and free. One permutation: `(8*3 + 57) * 3 = 243`
//! constraints; 240 for a tagged hash, whose first word is a constant in the first round.

use super::{Parameters, FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};
use ark_bls12_381::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::r1cs::SynthesisError;

fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

/// The Poseidon permutation in-circuit.
pub fn permute(mut state: [FpVar<Fr>; WIDTH]) -> Result<[FpVar<Fr>; WIDTH], SynthesisError> {
    let p = Parameters::get();
    let half = FULL_ROUNDS / 2;
    for (r, rc) in p.round_constants.iter().enumerate() {
        for i in 0..WIDTH {
            state[i] += rc[i];
        }
        if r < half || r >= half + PARTIAL_ROUNDS {
            for x in state.iter_mut() {
                *x = sbox(x)?;
            }
        } else {
            state[0] = sbox(&state[0])?;
        }
        state = std::array::from_fn(|i| {
            &state[0] * p.mds[i][0] + &state[1] * p.mds[i][1] + &state[2] * p.mds[i][2]
        });
    }
    Ok(state)
}

/// `H_tag(x, y) = Perm([tag, x, y])[1]` in-circuit.
pub fn hash(tag: u64, x: &FpVar<Fr>, y: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let [_, out, _] = permute([FpVar::constant(Fr::from(tag)), x.clone(), y.clone()])?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::eq::EqGadget;
    use ark_r1cs_std::R1CSVar;
    use ark_relations::r1cs::ConstraintSystem;

    #[test]
    fn gadget_matches_native_and_costs_240_constraints() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let x = Fr::from(7u64);
        let y = Fr::from(9u64);
        let xv = FpVar::new_witness(cs.clone(), || Ok(x)).unwrap();
        let yv = FpVar::new_witness(cs.clone(), || Ok(y)).unwrap();
        let before = cs.num_constraints();
        let h = hash(super::super::DOMAIN_NODE, &xv, &yv).unwrap();
        assert_eq!(cs.num_constraints() - before, 240);
        assert_eq!(h.value().unwrap(), super::super::node(&x, &y));
        let expected = FpVar::new_input(cs.clone(), || Ok(super::super::node(&x, &y))).unwrap();
        h.enforce_equal(&expected).unwrap();
        assert!(cs.is_satisfied().unwrap());
        // A wrong expected output leaves the system unsatisfied.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let xv = FpVar::new_witness(cs.clone(), || Ok(x)).unwrap();
        let yv = FpVar::new_witness(cs.clone(), || Ok(y)).unwrap();
        let h = hash(super::super::DOMAIN_NODE, &xv, &yv).unwrap();
        let wrong = FpVar::new_input(cs.clone(), || Ok(super::super::node(&y, &x))).unwrap();
        h.enforce_equal(&wrong).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}
