//! Eligibility proofs end to end: Groth16 setup, proving, verifying, batch verification,
//! re-randomization, serialization, and complete ballots.

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::Groth16;
use rand::rngs::OsRng;
use std::collections::HashSet;
use std::sync::OnceLock;
use zkvote_circuits::circuit::PublicInputs;
use zkvote_circuits::complete::*;
use zkvote_circuits::credential::Credential;
use zkvote_circuits::field::{election_scalar, fr_to_bytes};
use zkvote_circuits::groth16::*;
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::sample::sample_manifest_toml;
use zkvote_core::*;

const DEPTH: u8 = 6;

struct Fixture {
    pk: ProvingKey,
    vk: VerifyingKey,
    verifier: EligibilityVerifier,
    voters: Vec<Credential>,
    roll: VoterRoll,
    ctx: ElectionContext,
}

fn manifest_with(depth: u8, vk: &VerifyingKey, election_tail: &str) -> Manifest {
    let text = sample_manifest_toml()
        .replace("roll_depth = 20", &format!("roll_depth = {depth}"))
        .replace(&"11".repeat(32), &hex::encode(vk_hash(vk)))
        .replace("000000beef\"", &format!("000000{election_tail}\""));
    Manifest::from_toml(&text).unwrap()
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (pk, vk) = setup(DEPTH, &mut OsRng);
        let voters: Vec<Credential> = (0..5).map(|_| Credential::generate(&mut OsRng)).collect();
        let roll = VoterRoll::new(DEPTH, voters.iter().map(|v| v.commitment()).collect()).unwrap();
        let sk = SecretKey::random(&mut OsRng);
        let ctx = ElectionContext::new(manifest_with(DEPTH, &vk, "beef"), sk.public_key());
        Fixture {
            verifier: EligibilityVerifier::new(&vk).unwrap(),
            pk,
            vk,
            voters,
            roll,
            ctx,
        }
    })
}

fn vote(f: &Fixture, voter: usize, picks: Vec<Vec<usize>>) -> CompleteBallot {
    let choices = Choices::from_indices(f.ctx.manifest(), &picks).unwrap();
    let path = f.roll.path(voter).unwrap();
    build_complete_ballot(
        &f.ctx,
        &f.pk,
        &f.voters[voter],
        &path,
        &f.roll.root(),
        &choices,
        &mut OsRng,
    )
    .unwrap()
    .0
}

#[test]
fn complete_ballot_builds_and_verifies() {
    let f = fixture();
    let cb = vote(f, 2, vec![vec![1], vec![0, 4]]);
    assert_eq!(
        vartime_verify_complete_ballot(&f.ctx, &f.verifier, &f.roll.root(), &cb, &mut OsRng),
        Ok(())
    );
    // Binary and JSON round trips.
    let bytes = cb.encode();
    assert_eq!(
        CompleteBallot::decode(&bytes, f.ctx.manifest()).unwrap(),
        cb
    );
    let json = serde_json::to_string(&cb).unwrap();
    assert_eq!(serde_json::from_str::<CompleteBallot>(&json).unwrap(), cb);
    // The nullifier in the ballot is the voter's nullifier for this election.
    assert_eq!(
        cb.ballot.nullifier,
        fr_to_bytes(&f.voters[2].nullifier(&f.ctx.manifest().election_id))
    );
}

#[test]
fn changing_any_public_input_fails() {
    let f = fixture();
    let cb = vote(f, 0, vec![vec![0], vec![]]);
    let inputs = cb.public_inputs(&f.ctx, &f.roll.root()).unwrap();
    assert_eq!(
        f.verifier.vartime_verify(&inputs, &cb.eligibility_proof),
        Ok(())
    );
    let one = Fr::from(1u64);
    for (name, changed) in [
        (
            "root",
            PublicInputs {
                root: inputs.root + one,
                ..inputs
            },
        ),
        (
            "nullifier",
            PublicInputs {
                nullifier: inputs.nullifier + one,
                ..inputs
            },
        ),
        (
            "election",
            PublicInputs {
                election: election_scalar(&[9; 32]),
                ..inputs
            },
        ),
        (
            "digest",
            PublicInputs {
                ballot_digest: inputs.ballot_digest + one,
                ..inputs
            },
        ),
    ] {
        assert_eq!(
            f.verifier.vartime_verify(&changed, &cb.eligibility_proof),
            Err(Groth16Error::Invalid),
            "{name}"
        );
    }
    // A root the commission did not publish (a roll with one more registration) fails.
    let mut leaves: Vec<Fr> = f.voters.iter().map(|v| v.commitment()).collect();
    leaves.push(Credential::generate(&mut OsRng).commitment());
    let other_root = VoterRoll::new(DEPTH, leaves).unwrap().root();
    assert!(matches!(
        vartime_verify_complete_ballot(&f.ctx, &f.verifier, &other_root, &cb, &mut OsRng),
        Err(CompleteBallotError::Eligibility(Groth16Error::Invalid))
    ));
}

#[test]
fn a_proof_for_one_election_fails_in_another() {
    let f = fixture();
    let cb = vote(f, 1, vec![vec![3], vec![2]]);
    // Same key, same roll, another election id.
    let ctx2 = ElectionContext::new(
        manifest_with(DEPTH, &f.vk, "beee"),
        f.ctx.public_key().clone(),
    );
    let inputs = cb.public_inputs(&ctx2, &f.roll.root()).unwrap();
    assert_eq!(
        f.verifier.vartime_verify(&inputs, &cb.eligibility_proof),
        Err(Groth16Error::Invalid)
    );
    let mut moved = cb.clone();
    moved.ballot.election_id = ctx2.manifest().election_id;
    assert!(
        vartime_verify_complete_ballot(&ctx2, &f.verifier, &f.roll.root(), &moved, &mut OsRng)
            .is_err()
    );
}

#[test]
fn the_nullifier_identifies_the_voter_not_the_proof_bytes() {
    let f = fixture();
    let cb = vote(f, 3, vec![vec![2], vec![1]]);
    // Groth16 proofs are malleable: a re-randomized proof is different bytes and verifies.
    let rerand =
        Groth16::<Bls12_381>::rerandomize_proof(&f.vk, &cb.eligibility_proof.0, &mut OsRng);
    let rerand = EligibilityProof(rerand);
    assert_ne!(rerand.to_bytes(), cb.eligibility_proof.to_bytes());
    let copy = CompleteBallot {
        ballot: cb.ballot.clone(),
        eligibility_proof: rerand,
    };
    assert_eq!(
        vartime_verify_complete_ballot(&f.ctx, &f.verifier, &f.roll.root(), &copy, &mut OsRng),
        Ok(())
    );
    // A second, different ballot from the same voter has different proof bytes too.
    let second = vote(f, 3, vec![vec![0], vec![]]);
    assert_ne!(
        second.eligibility_proof.to_bytes(),
        cb.eligibility_proof.to_bytes()
    );
    // Deduplicating on proof bytes would accept all three; on the nullifier, only the first.
    let mut by_proof = HashSet::new();
    let mut by_nullifier = HashSet::new();
    let mut accepted_by_proof = 0;
    let mut accepted_by_nullifier = 0;
    for b in [&cb, &copy, &second] {
        if by_proof.insert(b.eligibility_proof.to_bytes().to_vec()) {
            accepted_by_proof += 1;
        }
        if by_nullifier.insert(b.ballot.nullifier) {
            accepted_by_nullifier += 1;
        }
    }
    assert_eq!(accepted_by_proof, 3);
    assert_eq!(accepted_by_nullifier, 1);
}

#[test]
fn batch_verification_names_bad_ballots() {
    let f = fixture();
    let mut batch: Vec<CompleteBallot> = (0..5)
        .map(|i| vote(f, i, vec![vec![i % 4], vec![i % 5]]))
        .collect();
    assert_eq!(
        vartime_verify_complete_ballots(&f.ctx, &f.verifier, &f.roll.root(), &batch, &mut OsRng),
        Ok(())
    );
    let items: Vec<(PublicInputs, &EligibilityProof)> = batch
        .iter()
        .map(|b| {
            (
                b.public_inputs(&f.ctx, &f.roll.root()).unwrap(),
                &b.eligibility_proof,
            )
        })
        .collect();
    assert_eq!(f.verifier.vartime_verify_batch(&items, &mut OsRng), Ok(()));

    // Swap two eligibility proofs: both ballots now carry a proof over another digest.
    let p1 = batch[1].eligibility_proof.clone();
    batch[1].eligibility_proof = batch[3].eligibility_proof.clone();
    batch[3].eligibility_proof = p1;
    // And break a sigma proof in ballot 4.
    batch[4].ballot.contests[1].selections[0].proof.responses[0] +=
        curve25519_dalek::scalar::Scalar::ONE;
    let err =
        vartime_verify_complete_ballots(&f.ctx, &f.verifier, &f.roll.root(), &batch, &mut OsRng)
            .unwrap_err();
    let bad: Vec<usize> = err.iter().map(|e| e.0).collect();
    assert_eq!(bad, vec![1, 3, 4]);
    assert!(matches!(
        err[0].1,
        CompleteBallotError::Eligibility(Groth16Error::Invalid)
    ));
    assert!(matches!(
        err[2].1,
        CompleteBallotError::Ballot(BallotError::InvalidProof { .. })
    ));
}

#[test]
fn keys_and_proofs_serialize_and_validate_on_load() {
    let f = fixture();
    let vk_bytes = key_to_bytes(&f.vk);
    let vk = verifying_key_from_bytes(&vk_bytes).unwrap();
    assert_eq!(vk_hash(&vk), vk_hash(&f.vk));
    let pk_bytes = key_to_bytes(&f.pk);
    assert_eq!(proving_key_from_bytes(&pk_bytes).unwrap().vk, f.vk);
    // A corrupted point in the key is refused.
    let mut bad = vk_bytes.clone();
    bad[10] ^= 0x55;
    assert!(verifying_key_from_bytes(&bad).is_err());
    assert!(verifying_key_from_bytes(&vk_bytes[..vk_bytes.len() - 1]).is_err());
    // A forged length prefix is refused before anything is reserved for it (found by
    // fuzzing: the decoder would have reserved 27 GB for this verifying key).
    let mut huge = vk_bytes.clone();
    huge[336..344].copy_from_slice(&0x2_2000_0000u64.to_le_bytes());
    assert!(verifying_key_from_bytes(&huge).is_err());
    for at in [
        vk_bytes.len() + 96,
        pk_bytes.len() - 8 - 48 * f.pk.l_query.len(),
    ] {
        let mut huge = pk_bytes.clone();
        huge[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(proving_key_from_bytes(&huge).is_err(), "prefix at {at}");
    }
    // One accepted encoding: a trailing byte is refused, for both keys.
    for extra in [0u8, 1, 0xff] {
        let mut longer = vk_bytes.clone();
        longer.push(extra);
        assert!(verifying_key_from_bytes(&longer).is_err());
        let mut longer = pk_bytes.clone();
        longer.push(extra);
        assert!(proving_key_from_bytes(&longer).is_err());
    }

    let cb = vote(f, 4, vec![vec![1], vec![]]);
    let proof = cb.eligibility_proof.to_bytes();
    assert_eq!(
        EligibilityProof::from_bytes(&proof).unwrap(),
        cb.eligibility_proof
    );
    assert!(EligibilityProof::from_bytes(&proof[..PROOF_SIZE - 1]).is_err());
    // Flipping bits in a point's x-coordinate gives a point off the curve (or out of the
    // subgroup) or a different point: never a silently accepted proof.
    for at in [5usize, 60, 150, 300, 350] {
        let mut p = proof;
        p[at] ^= 0x01;
        match EligibilityProof::from_bytes(&p) {
            Err(_) => {}
            Ok(q) => {
                let inputs = cb.public_inputs(&f.ctx, &f.roll.root()).unwrap();
                assert!(f.verifier.vartime_verify(&inputs, &q).is_err());
            }
        }
    }
}

#[test]
fn refusals_are_specific() {
    let f = fixture();
    let choices = Choices::from_indices(f.ctx.manifest(), &[vec![0], vec![]]).unwrap();
    // A credential that is not in the roll.
    let stranger = Credential::generate(&mut OsRng);
    let path = f.roll.path(0).unwrap();
    assert!(matches!(
        build_complete_ballot(
            &f.ctx,
            &f.pk,
            &stranger,
            &path,
            &f.roll.root(),
            &choices,
            &mut OsRng
        ),
        Err(CompleteBallotError::NotInRoll)
    ));
    // A verifying key other than the manifest's.
    let (_, other_vk) = setup(DEPTH, &mut OsRng);
    let other = EligibilityVerifier::new(&other_vk).unwrap();
    let cb = vote(f, 0, vec![vec![0], vec![]]);
    assert_eq!(
        vartime_verify_complete_ballot(&f.ctx, &other, &f.roll.root(), &cb, &mut OsRng),
        Err(CompleteBallotError::VerifyingKeyMismatch)
    );
    // A nullifier that is not a canonical field element.
    let mut big = cb.clone();
    big.ballot.nullifier = [0xff; 32];
    assert!(matches!(
        vartime_verify_complete_ballot(&f.ctx, &f.verifier, &f.roll.root(), &big, &mut OsRng),
        Err(CompleteBallotError::Ballot(_)) | Err(CompleteBallotError::Nullifier(_))
    ));
    assert!(matches!(
        big.public_inputs(&f.ctx, &f.roll.root()),
        Err(CompleteBallotError::Nullifier(_))
    ));
}

/// The production depth, end to end (setup, roll, prove, verify).
#[test]
fn depth_20_end_to_end() {
    let (pk, vk) = setup(20, &mut OsRng);
    let voters: Vec<Credential> = (0..3).map(|_| Credential::generate(&mut OsRng)).collect();
    let roll = VoterRoll::new(20, voters.iter().map(|v| v.commitment()).collect()).unwrap();
    let sk = SecretKey::random(&mut OsRng);
    let ctx = ElectionContext::new(manifest_with(20, &vk, "beef"), sk.public_key());
    let verifier = EligibilityVerifier::new(&vk).unwrap();
    let choices = Choices::from_indices(ctx.manifest(), &[vec![2], vec![1, 3]]).unwrap();
    let (cb, _) = build_complete_ballot(
        &ctx,
        &pk,
        &voters[1],
        &roll.path(1).unwrap(),
        &roll.root(),
        &choices,
        &mut OsRng,
    )
    .unwrap();
    assert_eq!(
        vartime_verify_complete_ballot(&ctx, &verifier, &roll.root(), &cb, &mut OsRng),
        Ok(())
    );
    // A depth-6 path does not fit a depth-20 manifest.
    let small = VoterRoll::new(6, voters.iter().map(|v| v.commitment()).collect()).unwrap();
    assert!(matches!(
        build_complete_ballot(
            &ctx,
            &pk,
            &voters[1],
            &small.path(1).unwrap(),
            &small.root(),
            &choices,
            &mut OsRng
        ),
        Err(CompleteBallotError::Depth {
            expected: 20,
            got: 6
        })
    ));
}

/// The Groth16 back ends of this build.
fn backends() -> Vec<Backend> {
    #[cfg(not(target_arch = "wasm32"))]
    return vec![Backend::Arkworks, Backend::Blst];
    #[cfg(target_arch = "wasm32")]
    return vec![Backend::Arkworks];
}

/// A point on the curve but outside the prime-order subgroup, at the smallest x >= `start`.
fn off_subgroup<C: ark_ec::short_weierstrass::SWCurveConfig>(
    mut x: C::BaseField,
) -> ark_ec::short_weierstrass::Affine<C> {
    use ark_ff::Field;
    loop {
        if let Some(p) =
            ark_ec::short_weierstrass::Affine::<C>::get_point_from_x_unchecked(x, false)
        {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                return p;
            }
        }
        x += C::BaseField::ONE;
    }
}

#[test]
fn proof_points_outside_the_subgroup_are_refused() {
    use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
    let f = fixture();
    let cb = vote(f, 2, vec![vec![0], vec![1]]);
    let good = cb.eligibility_proof.to_bytes();
    let g1 = off_subgroup::<ark_bls12_381::g1::Config>(ark_bls12_381::Fq::from(5u64));
    let g2 = off_subgroup::<ark_bls12_381::g2::Config>(ark_bls12_381::Fq2::new(
        ark_bls12_381::Fq::from(3u64),
        ark_bls12_381::Fq::from(1u64),
    ));
    assert!(g1.is_on_curve() && g2.is_on_curve());
    let mut g1_bytes = Vec::new();
    g1.serialize_uncompressed(&mut g1_bytes).unwrap();
    let mut g2_bytes = Vec::new();
    g2.serialize_uncompressed(&mut g2_bytes).unwrap();
    // A (bytes 0..96), B (96..288) and C (288..384) replaced in turn.
    for (at, point) in [(0usize, &g1_bytes), (96, &g2_bytes), (288, &g1_bytes)] {
        let mut bytes = good;
        bytes[at..at + point.len()].copy_from_slice(point);
        // Without the subgroup check the bytes would decode...
        assert!(ark_groth16::Proof::<Bls12_381>::deserialize_with_mode(
            &bytes[..],
            Compress::No,
            Validate::No
        )
        .is_ok());
        // ...but a proof must be refused by both back ends, in binary and in JSON.
        for backend in backends() {
            assert!(
                EligibilityProof::from_bytes_with(&bytes, backend).is_err(),
                "point at {at}, {backend:?}"
            );
        }
        // blst's refusal says why.
        #[cfg(not(target_arch = "wasm32"))]
        assert!(EligibilityProof::from_bytes_with(&bytes, Backend::Blst)
            .unwrap_err()
            .to_string()
            .contains("not in the prime-order subgroup"));
        let json = format!("\"{}\"", hex::encode(bytes));
        assert!(serde_json::from_str::<EligibilityProof>(&json).is_err());
    }
}

#[test]
fn proof_points_at_infinity_are_refused() {
    use ark_ec::AffineRepr;
    use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
    let f = fixture();
    let good = vote(f, 3, vec![vec![2], vec![]])
        .eligibility_proof
        .to_bytes();
    let mut g1_inf = Vec::new();
    ark_bls12_381::G1Affine::zero()
        .serialize_uncompressed(&mut g1_inf)
        .unwrap();
    let mut g2_inf = Vec::new();
    ark_bls12_381::G2Affine::zero()
        .serialize_uncompressed(&mut g2_inf)
        .unwrap();
    for (at, point) in [(0usize, &g1_inf), (96, &g2_inf), (288, &g1_inf)] {
        let mut bytes = good;
        bytes[at..at + point.len()].copy_from_slice(point);
        // A valid encoding of a valid group element, with every check on...
        assert!(ark_groth16::Proof::<Bls12_381>::deserialize_with_mode(
            &bytes[..],
            Compress::No,
            Validate::Yes
        )
        .is_ok());
        // ...but the identity has no place in a proof.
        for backend in backends() {
            assert!(
                EligibilityProof::from_bytes_with(&bytes, backend).is_err(),
                "infinity at {at}, {backend:?}"
            );
        }
    }
}

/// A proof made in two halves (the web booth's two workers) verifies like any other, its
/// ballot is a complete ballot that verifies, and halves that do not belong together, or a
/// malformed half, are refused.
#[test]
fn a_proof_made_on_two_threads_verifies_and_mismatched_halves_are_refused() {
    use zkvote_circuits::split_prover::*;
    let f = fixture();
    let choices = Choices::from_indices(f.ctx.manifest(), &[vec![1], vec![0, 2]]).unwrap();
    let path = f.roll.path(3).unwrap();
    let pending = prepare_complete_ballot(
        &f.ctx,
        &f.voters[3],
        &path,
        &f.roll.root(),
        &choices,
        &mut OsRng,
    )
    .unwrap();
    let public = pending.circuit.public;
    let witness = Witness::new(pending.circuit.clone()).unwrap();
    let bytes = witness.assignment_bytes();
    let b_sum = g2_from_bytes(&g2_to_bytes(&vartime_b_g2_sum(&f.pk, &bytes).unwrap())).unwrap();
    let g1 = witness.vartime_g1_part(&f.pk, &mut OsRng).unwrap();
    let proof = g1.finish(&f.pk, &b_sum, &public).unwrap();
    f.verifier.vartime_verify(&public, &proof).unwrap();
    let (ballot, _) = pending.complete(proof);
    vartime_verify_complete_ballot(&f.ctx, &f.verifier, &f.roll.root(), &ballot, &mut OsRng)
        .unwrap();

    // Another witness's G2 half does not fit.
    let other = prepare_complete_ballot(
        &f.ctx,
        &f.voters[1],
        &f.roll.path(1).unwrap(),
        &f.roll.root(),
        &choices,
        &mut OsRng,
    )
    .unwrap();
    let other_bytes = Witness::new(other.circuit).unwrap().assignment_bytes();
    let wrong = vartime_b_g2_sum(&f.pk, &other_bytes).unwrap();
    assert!(matches!(
        g1.finish(&f.pk, &wrong, &public),
        Err(Groth16Error::Prove(_))
    ));
    // Malformed halves.
    assert!(vartime_b_g2_sum(&f.pk, &bytes[..bytes.len() - 32]).is_err());
    assert!(vartime_b_g2_sum(&f.pk, &[0xff; 32].repeat(bytes.len() / 32)).is_err());
    assert!(g2_from_bytes(&[0u8; 191]).is_err());
    let mut off_curve = g2_to_bytes(&b_sum);
    off_curve[100] ^= 1;
    assert!(g2_from_bytes(&off_curve).is_err());
}
