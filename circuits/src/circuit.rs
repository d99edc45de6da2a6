//! The eligibility circuit.
//!
//! Public inputs, in this order: the voter-roll root `R`, the nullifier `N`, the
//! election's field element `E`, and the ballot digest `D`. The prover knows a secret `s`
//! and a Merkle path (index bits and siblings) such that:
//!
//! 1. `leaf = Poseidon(DOMAIN_COMMIT, s, 0)`;
//! 2. folding the path from `leaf` gives `R` (each level: `bit ? H_NODE(sib, cur) :
//!    H_NODE(cur, sib)`, each bit boolean);
//! 3. `N = Poseidon(DOMAIN_NULLIFIER, s, E)`;
//! 4. `D` is bound by the constraint `D * D = D_sq` (so that the proof is for this ballot).

use crate::merkle::MerklePath;
use crate::poseidon::{self, constraints as pc};
use ark_bls12_381::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

/// The public inputs of one eligibility proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicInputs {
    /// The frozen voter-roll root.
    pub root: Fr,
    /// The voter's nullifier for this election.
    pub nullifier: Fr,
    /// The election's field element ([`crate::field::election_scalar`]).
    pub election: Fr,
    /// The ballot digest ([`crate::field::digest_scalar`]).
    pub ballot_digest: Fr,
}

impl PublicInputs {
    /// The inputs in circuit order.
    pub fn to_vec(&self) -> [Fr; 4] {
        [self.root, self.nullifier, self.election, self.ballot_digest]
    }
}

/// The eligibility circuit of a fixed roll depth, with its witness.
#[derive(Clone)]
pub struct EligibilityCircuit {
    /// Public inputs.
    pub public: PublicInputs,
    /// The voter's secret.
    pub secret: Fr,
    /// The voter's authentication path (its length is the roll depth).
    pub path: MerklePath,
}

impl EligibilityCircuit {
    /// A circuit of `depth` with an all-zero witness, for key generation (the constraint
    /// system's shape does not depend on the values).
    pub fn blank(depth: u8) -> Self {
        let zero = Fr::from(0u64);
        EligibilityCircuit {
            public: PublicInputs {
                root: zero,
                nullifier: zero,
                election: zero,
                ballot_digest: zero,
            },
            secret: zero,
            path: MerklePath {
                index: 0,
                siblings: vec![zero; depth as usize],
            },
        }
    }
}

impl ConstraintSynthesizer<Fr> for EligibilityCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let root = FpVar::new_input(cs.clone(), || Ok(self.public.root))?;
        let nullifier = FpVar::new_input(cs.clone(), || Ok(self.public.nullifier))?;
        let election = FpVar::new_input(cs.clone(), || Ok(self.public.election))?;
        let digest = FpVar::new_input(cs.clone(), || Ok(self.public.ballot_digest))?;

        let secret = FpVar::new_witness(cs.clone(), || Ok(self.secret))?;
        let zero = FpVar::constant(Fr::from(0u64));
        let mut cur = pc::hash(poseidon::DOMAIN_COMMIT, &secret, &zero)?;
        for (k, sib) in self.path.siblings.iter().enumerate() {
            let bit = Boolean::new_witness(cs.clone(), || Ok((self.path.index >> k) & 1 == 1))?;
            let sib = FpVar::new_witness(cs.clone(), || Ok(*sib))?;
            let left = bit.select(&sib, &cur)?;
            let right = &cur + &sib - &left;
            cur = pc::hash(poseidon::DOMAIN_NODE, &left, &right)?;
        }
        cur.enforce_equal(&root)?;

        let n = pc::hash(poseidon::DOMAIN_NULLIFIER, &secret, &election)?;
        n.enforce_equal(&nullifier)?;

        let _digest_sq = digest.square()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::election_scalar;
    use crate::merkle::VoterRoll;
    use ark_relations::r1cs::ConstraintSystem;

    fn setup(depth: u8) -> (EligibilityCircuit, VoterRoll) {
        let secrets: Vec<Fr> = (0..6u64).map(|i| Fr::from(1000 + i)).collect();
        let leaves = secrets.iter().map(poseidon::commitment).collect();
        let roll = VoterRoll::new(depth, leaves).unwrap();
        let e = election_scalar(&[5; 32]);
        let c = EligibilityCircuit {
            public: PublicInputs {
                root: roll.root(),
                nullifier: poseidon::nullifier(&secrets[3], &e),
                election: e,
                ballot_digest: Fr::from(77u64),
            },
            secret: secrets[3],
            path: roll.path(3).unwrap(),
        };
        (c, roll)
    }

    fn satisfied(c: EligibilityCircuit) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        c.generate_constraints(cs.clone()).unwrap();
        cs.is_satisfied().unwrap()
    }

    #[test]
    fn valid_witness_satisfies_and_each_constraint_group_bites() {
        let (c, roll) = setup(5);
        assert!(satisfied(c.clone()));

        let mut wrong_secret = c.clone();
        wrong_secret.secret += Fr::from(1u64);
        assert!(!satisfied(wrong_secret));

        let mut wrong_sibling = c.clone();
        wrong_sibling.path.siblings[2] += Fr::from(1u64);
        assert!(!satisfied(wrong_sibling));

        let mut wrong_bit = c.clone();
        wrong_bit.path.index ^= 1 << 1;
        assert!(!satisfied(wrong_bit));

        let mut wrong_nullifier = c.clone();
        wrong_nullifier.public.nullifier += Fr::from(1u64);
        assert!(!satisfied(wrong_nullifier));

        let mut wrong_election = c.clone();
        wrong_election.public.election = election_scalar(&[6; 32]);
        assert!(!satisfied(wrong_election));

        let mut wrong_root = c.clone();
        wrong_root.public.root = roll.path(0).unwrap().root(&Fr::from(1u64));
        assert!(!satisfied(wrong_root));

        // Another registered voter's path does not work with this secret.
        let mut other_path = c;
        other_path.path = roll.path(2).unwrap();
        assert!(!satisfied(other_path));
    }

    #[test]
    fn constraint_count_grows_by_one_hash_per_level() {
        let count = |d: u8| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            EligibilityCircuit::blank(d)
                .generate_constraints(cs.clone())
                .unwrap();
            cs.num_constraints()
        };
        // Per level: one hash (240), one boolean (1), one select (1).
        assert_eq!(count(5) - count(4), 242);
    }
}
