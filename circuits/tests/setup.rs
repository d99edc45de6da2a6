//! The setup ceremony: transcripts of 1, 3 and 5 contributors give keys that prove and
//! verify, and each kind of bad contribution is refused and named.

use ark_bls12_381::Fr;
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, SeedableRng};
use zkvote_circuits::circuit::{EligibilityCircuit, PublicInputs};
use zkvote_circuits::field::election_scalar;
use zkvote_circuits::groth16::{prove, EligibilityVerifier, ProvingKey};
use zkvote_circuits::merkle::VoterRoll;
use zkvote_circuits::poseidon;
use zkvote_circuits::setup::{
    Ceremony, Contribution, Phase1, Phase1Proof, Phase2Proof, Secret, SetupError, SetupPhase,
};

const DEPTH: u8 = 3;
const CONTEXT: [u8; 32] = [7; 32];

/// Runs a ceremony with `n1` phase-1 and `n2` phase-2 contributors.
fn ceremony(n1: usize, n2: usize) -> Ceremony {
    let mut c = Ceremony::new(&CONTEXT, DEPTH);
    for _ in 0..n1 {
        let contribution = c.contribute(SetupPhase::One, &mut OsRng).unwrap();
        c.vartime_apply(&contribution, &mut OsRng).unwrap();
    }
    c.begin_phase2().unwrap();
    for _ in 0..n2 {
        let contribution = c.contribute(SetupPhase::Two, &mut OsRng).unwrap();
        c.vartime_apply(&contribution, &mut OsRng).unwrap();
    }
    c
}

fn keys_prove_and_verify(c: &Ceremony) {
    let pk = c.proving_key().unwrap();
    let secrets: Vec<Fr> = (0..5u64).map(|i| Fr::from(77 + i)).collect();
    let roll = VoterRoll::new(DEPTH, secrets.iter().map(poseidon::commitment).collect()).unwrap();
    let e = election_scalar(&[1; 32]);
    let public = PublicInputs {
        root: roll.root(),
        nullifier: poseidon::nullifier(&secrets[2], &e),
        election: e,
        ballot_digest: Fr::from(99u64),
    };
    let circuit = EligibilityCircuit {
        public,
        secret: secrets[2],
        path: roll.path(2).unwrap(),
    };
    let proof = prove(&pk, circuit, &mut OsRng).unwrap();
    let verifier = EligibilityVerifier::new(&pk.vk).unwrap();
    verifier.vartime_verify(&public, &proof).unwrap();
    let mut other = public;
    other.ballot_digest = Fr::from(100u64);
    assert!(verifier.vartime_verify(&other, &proof).is_err());
}

#[test]
fn transcripts_of_1_3_and_5_contributors_give_working_keys() {
    for n in [1, 3, 5] {
        let c = ceremony(n, n);
        assert_eq!(c.counts(), [n, n]);
        keys_prove_and_verify(&c);
    }
}

#[test]
fn keys_need_a_contribution_to_each_phase() {
    let mut c = Ceremony::new(&CONTEXT, DEPTH);
    assert!(matches!(c.begin_phase2(), Err(SetupError::Order(_))));
    assert!(matches!(c.proving_key(), Err(SetupError::Order(_))));
    let one = c.contribute(SetupPhase::One, &mut OsRng).unwrap();
    c.vartime_apply(&one, &mut OsRng).unwrap();
    c.begin_phase2().unwrap();
    assert!(matches!(c.proving_key(), Err(SetupError::Order(_))));
}

#[test]
fn a_replayed_or_copied_contribution_is_refused() {
    let mut c = Ceremony::new(&CONTEXT, DEPTH);
    let first = c.contribute(SetupPhase::One, &mut OsRng).unwrap();
    // Made for another election: bound to another digest.
    let mut elsewhere = Ceremony::new(&[8; 32], DEPTH);
    assert_eq!(
        elsewhere.vartime_apply(&first, &mut OsRng),
        Err(SetupError::KnowledgeProof {
            secret: Secret::Tau
        })
    );
    c.vartime_apply(&first, &mut OsRng).unwrap();
    // The same contribution again: its proofs are bound to the digest before it.
    let before = *c.digest();
    assert_eq!(
        c.vartime_apply(&first, &mut OsRng),
        Err(SetupError::KnowledgeProof {
            secret: Secret::Tau
        })
    );
    assert_eq!(
        *c.digest(),
        before,
        "a refused contribution changes nothing"
    );
}

#[test]
fn a_bad_proof_of_knowledge_is_refused() {
    let c = Ceremony::new(&CONTEXT, DEPTH);
    let good = c.contribute(SetupPhase::One, &mut OsRng).unwrap();
    let other = c.contribute(SetupPhase::One, &mut OsRng).unwrap();
    // The alpha proof of another contributor, with this contributor's tau and beta.
    let mut proof = Phase1Proof::from_bytes(&good.proof).unwrap();
    proof.alpha = Phase1Proof::from_bytes(&other.proof).unwrap().alpha;
    let bad = Contribution {
        proof: proof.to_bytes(),
        ..good.clone()
    };
    let mut c2 = Ceremony::new(&CONTEXT, DEPTH);
    assert_eq!(
        c2.vartime_apply(&bad, &mut OsRng),
        Err(SetupError::NotAnUpdate {
            secret: Secret::Alpha
        })
    );
    // A proof whose r_x is not x*r.
    let mut proof = Phase1Proof::from_bytes(&good.proof).unwrap();
    proof.beta.r_x = proof.tau.r_x;
    let bad = Contribution {
        proof: proof.to_bytes(),
        ..good
    };
    assert_eq!(
        c2.vartime_apply(&bad, &mut OsRng),
        Err(SetupError::KnowledgeProof {
            secret: Secret::Beta
        })
    );
}

#[test]
fn parameters_that_are_not_an_update_are_refused() {
    let c = Ceremony::new(&CONTEXT, DEPTH);
    let n = c.shape().domain_size();
    let good = c.contribute(SetupPhase::One, &mut OsRng).unwrap();
    let mut next = Phase1::from_bytes(&good.params, n).unwrap();
    // One power of tau replaced by another power: the powers are no longer successive.
    next.tau_g1.swap(5, 6);
    let bad = Contribution {
        params: next.to_bytes(),
        ..good.clone()
    };
    let mut c2 = Ceremony::new(&CONTEXT, DEPTH);
    assert_eq!(
        c2.vartime_apply(&bad, &mut OsRng),
        Err(SetupError::Inconsistent {
            what: "the powers of tau in G1"
        })
    );
    let mut next = Phase1::from_bytes(&good.params, n).unwrap();
    next.beta_g2 = next.tau_g2[1];
    let bad = Contribution {
        params: next.to_bytes(),
        ..good.clone()
    };
    assert_eq!(
        c2.vartime_apply(&bad, &mut OsRng),
        Err(SetupError::Inconsistent { what: "beta in G2" })
    );
    // The parameters of one contribution with the proof of another.
    let other = c.contribute(SetupPhase::One, &mut OsRng).unwrap();
    let bad = Contribution {
        proof: other.proof,
        ..good
    };
    assert_eq!(
        c2.vartime_apply(&bad, &mut OsRng),
        Err(SetupError::NotAnUpdate {
            secret: Secret::Tau
        })
    );
}

/// The checks of a phase-2 contribution, at its first contribution (checked against the
/// initial parameters by random linear combinations of phase 1, never computed) and at a
/// later one (checked against explicit parameters).
#[test]
fn phase_2_contributions_are_checked_and_ordered() {
    let mut c = ceremony(1, 0);
    for _ in 0..2 {
        let good = c.contribute(SetupPhase::Two, &mut OsRng).unwrap();
        let other = c.contribute(SetupPhase::Two, &mut OsRng).unwrap();
        let mut proof = Phase2Proof::from_bytes(&good.proof).unwrap();
        proof.delta.s = Phase2Proof::from_bytes(&other.proof).unwrap().delta.s;
        let bad = Contribution {
            proof: proof.to_bytes(),
            ..good.clone()
        };
        assert_eq!(
            c.vartime_apply(&bad, &mut OsRng),
            Err(SetupError::KnowledgeProof {
                secret: Secret::Delta
            })
        );
        let bad = Contribution {
            proof: other.proof.clone(),
            ..good.clone()
        };
        assert_eq!(
            c.vartime_apply(&bad, &mut OsRng),
            Err(SetupError::NotAnUpdate {
                secret: Secret::Delta
            })
        );
        // The last L-query element of another contribution, everything else of this one.
        let split = good.params.len() - 96;
        let bad = Contribution {
            params: [&good.params[..split], &other.params[split..]].concat(),
            ..good.clone()
        };
        assert_eq!(
            c.vartime_apply(&bad, &mut OsRng),
            Err(SetupError::Inconsistent {
                what: "the L query"
            })
        );
        // The first H-query element of another contribution.
        let h = 96 + 192;
        let bad = Contribution {
            params: [
                &good.params[..h],
                &other.params[h..h + 96],
                &good.params[h + 96..],
            ]
            .concat(),
            ..good.clone()
        };
        assert_eq!(
            c.vartime_apply(&bad, &mut OsRng),
            Err(SetupError::Inconsistent {
                what: "the H query"
            })
        );
        c.vartime_apply(&good, &mut OsRng).unwrap();
        // Phase 1 is over once phase 2 has begun.
        let mut fresh = Ceremony::new(&CONTEXT, DEPTH);
        let late = fresh.contribute(SetupPhase::One, &mut OsRng).unwrap();
        assert!(matches!(
            c.vartime_apply(&late, &mut OsRng),
            Err(SetupError::Order(_))
        ));
        fresh.vartime_apply(&late, &mut OsRng).unwrap();
        assert_eq!(late.phase, SetupPhase::One);
    }
}

/// A change made to a proving key.
type Edit<'a> = Box<dyn Fn(&mut ProvingKey) + 'a>;

#[test]
fn a_proving_key_is_checked_against_the_transcript() {
    let c = ceremony(2, 2);
    let pk = c.proving_key().unwrap();
    c.vartime_check_key(&pk, &mut OsRng).unwrap();
    let g1 = pk.vk.alpha_g1;
    let cases: Vec<(&str, Edit<'_>)> = vec![
        ("delta", Box::new(|k| k.delta_g1 = g1)),
        ("the H query", Box::new(|k| k.h_query[3] = g1)),
        ("the L query", Box::new(|k| k.l_query[0] = g1)),
        ("the A query", Box::new(|k| k.a_query[5] = g1)),
        ("the B query in G1", Box::new(|k| k.b_g1_query[2] = g1)),
        (
            "the B query in G2",
            Box::new(|k| k.b_g2_query[1] = k.vk.delta_g2),
        ),
        (
            "the public-input commitments (IC)",
            Box::new(|k| k.vk.gamma_abc_g1[4] = g1),
        ),
        (
            "alpha or beta in G1",
            Box::new(|k| k.vk.alpha_g1 = k.beta_g1),
        ),
        (
            "beta or gamma in G2",
            Box::new(|k| k.vk.gamma_g2 = k.vk.beta_g2),
        ),
    ];
    for (what, edit) in cases {
        let mut bad = pk.clone();
        edit(&mut bad);
        assert_eq!(
            c.vartime_check_key(&bad, &mut OsRng),
            Err(SetupError::KeyMismatch { what }),
            "{what}"
        );
    }
}

#[test]
fn encodings_are_checked() {
    let c = Ceremony::new(&CONTEXT, DEPTH);
    let good = c.contribute(SetupPhase::One, &mut OsRng).unwrap();
    let mut c2 = Ceremony::new(&CONTEXT, DEPTH);
    for bad in [
        Contribution {
            params: good.params[1..].to_vec(),
            ..good.clone()
        },
        Contribution {
            proof: good.proof[..good.proof.len() - 1].to_vec(),
            ..good.clone()
        },
        Contribution {
            // A point with the infinity flag and nonzero coordinates is not canonical.
            params: [&[0x40u8, 1][..], &good.params[2..]].concat(),
            ..good.clone()
        },
    ] {
        assert!(matches!(
            c2.vartime_apply(&bad, &mut OsRng),
            Err(SetupError::Encoding { .. })
        ));
    }
    c2.vartime_apply(&good, &mut OsRng).unwrap();
}

#[test]
fn contributions_are_random() {
    // Deterministic randomness gives the same contribution; the OS's never does.
    let c = Ceremony::new(&CONTEXT, DEPTH);
    let a = c
        .contribute(SetupPhase::One, &mut ChaCha20Rng::from_seed([1; 32]))
        .unwrap();
    let b = c
        .contribute(SetupPhase::One, &mut ChaCha20Rng::from_seed([1; 32]))
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(
        c.contribute(SetupPhase::One, &mut OsRng).unwrap(),
        c.contribute(SetupPhase::One, &mut OsRng).unwrap()
    );
}
