//! The two Groth16 back ends (arkworks throughout; blst for point checks and pairings)
//! accept and reject exactly the same proof bytes and the same proofs, alone and in
//! batches: valid proofs, corrupted bytes, points off the curve, outside the prime-order
//! subgroup, at infinity, with flag bits or non-canonical coordinates, and valid points that
//! make an invalid proof.
#![cfg(not(target_arch = "wasm32"))]

use ark_bls12_381::{g1, g2, Fq, Fq2};
use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, Field, PrimeField};
use ark_serialize::CanonicalSerialize;
use proptest::prelude::*;
use rand::rngs::OsRng;
use std::sync::OnceLock;
use zkvote_circuits::circuit::PublicInputs;
use zkvote_circuits::complete::*;
use zkvote_circuits::credential::Credential;
use zkvote_circuits::groth16::*;
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::sample::single_contest_manifest_toml;
use zkvote_core::*;

const DEPTH: u8 = 3;
const BALLOTS: usize = 4;
/// Where `A`, `B` and `C` start in a proof's bytes, and their sizes.
const POINTS: [(usize, usize); 3] = [(0, 96), (96, 192), (288, 96)];

struct Fixture {
    verifier: EligibilityVerifier,
    /// Each ballot's public inputs and proof.
    proofs: Vec<(PublicInputs, EligibilityProof)>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (pk, vk) = setup(DEPTH, &mut OsRng);
        let voters: Vec<Credential> = (0..BALLOTS)
            .map(|_| Credential::generate(&mut OsRng))
            .collect();
        let roll = VoterRoll::new(DEPTH, voters.iter().map(|v| v.commitment()).collect()).unwrap();
        let text = single_contest_manifest_toml(3)
            .replace("roll_depth = 20", &format!("roll_depth = {DEPTH}"))
            .replace(&"11".repeat(32), &hex::encode(vk_hash(&vk)));
        let manifest = Manifest::from_toml(&text).unwrap();
        let ctx =
            ElectionContext::new(manifest.clone(), SecretKey::random(&mut OsRng).public_key());
        let proofs = (0..BALLOTS)
            .map(|i| {
                let choices = Choices::from_indices(&manifest, &[vec![i % 3]]).unwrap();
                let (cb, _) = build_complete_ballot(
                    &ctx,
                    &pk,
                    &voters[i],
                    &roll.path(i).unwrap(),
                    &roll.root(),
                    &choices,
                    &mut OsRng,
                )
                .unwrap();
                (
                    cb.public_inputs(&ctx, &roll.root()).unwrap(),
                    cb.eligibility_proof,
                )
            })
            .collect();
        Fixture {
            verifier: EligibilityVerifier::new(&vk).unwrap(),
            proofs,
        }
    })
}

/// A point on the curve outside the prime-order subgroup, at the first x >= `x`.
fn off_subgroup<C: SWCurveConfig>(mut x: C::BaseField) -> Affine<C> {
    loop {
        if let Some(p) = Affine::<C>::get_point_from_x_unchecked(x, false) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                return p;
            }
        }
        x += C::BaseField::ONE;
    }
}

fn uncompressed(p: &impl CanonicalSerialize) -> Vec<u8> {
    let mut out = Vec::new();
    p.serialize_uncompressed(&mut out).unwrap();
    out
}

/// What is done to a valid proof's bytes.
#[derive(Debug, Clone)]
enum Damage {
    /// Nothing.
    None,
    /// One byte XORed with a non-zero mask.
    Byte { at: usize, mask: u8 },
    /// A point replaced by a curve point outside the subgroup, searched from `x`.
    OffSubgroup { point: usize, x: u64 },
    /// A point replaced by the point at infinity (the flag, zero coordinates).
    Infinity { point: usize },
    /// A point's coordinates all zero, no flag.
    Zero { point: usize },
    /// Flag bits set in a point's first byte.
    Flags { point: usize, bits: u8 },
    /// A point's last coordinate (an `Fq` limb group) plus the field modulus.
    PlusModulus { point: usize },
    /// A point replaced by a valid point of the same group taken from another proof.
    Swapped { point: usize, from: usize },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        Just(Damage::None),
        (0usize..384, 1u8..=255).prop_map(|(at, mask)| Damage::Byte { at, mask }),
        (0usize..3, any::<u64>()).prop_map(|(point, x)| Damage::OffSubgroup { point, x }),
        (0usize..3).prop_map(|point| Damage::Infinity { point }),
        (0usize..3).prop_map(|point| Damage::Zero { point }),
        (0usize..3, 1u8..8).prop_map(|(point, b)| Damage::Flags {
            point,
            bits: b << 5
        }),
        (0usize..3).prop_map(|point| Damage::PlusModulus { point }),
        (0usize..3, 1usize..BALLOTS).prop_map(|(point, from)| Damage::Swapped { point, from }),
    ]
}

fn apply(damage: &Damage, proof: usize) -> Vec<u8> {
    let f = fixture();
    let mut bytes = f.proofs[proof].1.to_bytes().to_vec();
    let mut put = |point: usize, with: &[u8]| {
        let (at, len) = POINTS[point];
        bytes[at..at + len].copy_from_slice(&with[..len]);
    };
    match *damage {
        Damage::None => {}
        Damage::Byte { at, mask } => bytes[at] ^= mask,
        Damage::OffSubgroup { point, x } => {
            let with = if point == 1 {
                uncompressed(&off_subgroup::<g2::Config>(Fq2::new(Fq::from(x), Fq::ONE)))
            } else {
                uncompressed(&off_subgroup::<g1::Config>(Fq::from(x)))
            };
            put(point, &with);
        }
        Damage::Infinity { point } => {
            let with = if point == 1 {
                uncompressed(&ark_bls12_381::G2Affine::zero())
            } else {
                uncompressed(&ark_bls12_381::G1Affine::zero())
            };
            put(point, &with);
        }
        Damage::Zero { point } => put(point, &[0u8; 192]),
        Damage::Flags { point, bits } => bytes[POINTS[point].0] |= bits,
        Damage::PlusModulus { point } => {
            // The last 48 bytes of a point are y (or y.c0): y + p is y's other encoding
            // when it fits in 384 bits, which it always does.
            let (at, len) = POINTS[point];
            let y = &mut bytes[at + len - 48..at + len];
            let mut sum = Fq::MODULUS;
            let mut limbs = [0u64; 6];
            for (i, limb) in limbs.iter_mut().enumerate() {
                *limb = u64::from_be_bytes(y[40 - 8 * i..48 - 8 * i].try_into().unwrap());
            }
            sum.add_with_carry(&ark_ff::BigInt(limbs));
            y.copy_from_slice(&sum.to_bytes_be());
        }
        Damage::Swapped { point, from } => {
            let other = f.proofs[(proof + from) % BALLOTS].1.to_bytes();
            let (at, len) = POINTS[point];
            put(point, &other[at..at + len]);
        }
    }
    bytes
}

/// Both back ends' decodings of `bytes`, which must agree.
fn decode_both(bytes: &[u8]) -> Result<Option<EligibilityProof>, TestCaseError> {
    let ark = EligibilityProof::from_bytes_with(bytes, Backend::Arkworks);
    let blst = EligibilityProof::from_bytes_with(bytes, Backend::Blst);
    prop_assert_eq!(
        ark.is_ok(),
        blst.is_ok(),
        "arkworks {:?}, blst {:?}",
        ark,
        blst
    );
    if let (Ok(a), Ok(b)) = (&ark, &blst) {
        prop_assert_eq!(a, b);
    }
    Ok(ark.ok())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn both_backends_decode_the_same_bytes(d in damage(), proof in 0usize..BALLOTS) {
        let bytes = apply(&d, proof);
        let decoded = decode_both(&bytes)?;
        if matches!(d, Damage::None) {
            prop_assert!(decoded.is_some());
        }
        if matches!(d, Damage::OffSubgroup { .. } | Damage::Infinity { .. } | Damage::Zero { .. }
            | Damage::Flags { .. } | Damage::PlusModulus { .. }) {
            prop_assert!(decoded.is_none(), "{:?} decoded", d);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A batch of the fixture's proofs, each either as made, over another ballot's inputs,
    /// or with a point swapped for a valid one from another proof: both back ends give the
    /// same verdict on every proof and name the same proofs in the batch.
    #[test]
    fn both_backends_verify_the_same_proofs(
        changes in proptest::collection::vec((0usize..3, 0usize..3, 1usize..BALLOTS), BALLOTS)
    ) {
        let f = fixture();
        let mut items: Vec<(PublicInputs, EligibilityProof)> = Vec::new();
        for (i, &(kind, point, from)) in changes.iter().enumerate() {
            let (inputs, proof) = &f.proofs[i];
            match kind {
                0 => items.push((*inputs, proof.clone())),
                1 => items.push((f.proofs[(i + from) % BALLOTS].0, proof.clone())),
                _ => {
                    let bytes = apply(&Damage::Swapped { point, from }, i);
                    let proof = decode_both(&bytes)?.expect("valid points decode");
                    items.push((*inputs, proof));
                }
            }
        }
        let valid: Vec<bool> = items.iter().map(|(i, p)| {
            let ark = f.verifier.vartime_verify_with(i, p, Backend::Arkworks).is_ok();
            let blst = f.verifier.vartime_verify_with(i, p, Backend::Blst).is_ok();
            assert_eq!(ark, blst);
            ark
        }).collect();
        let expected: Vec<usize> = (0..BALLOTS).filter(|&i| !valid[i]).collect();
        let borrowed: Vec<(PublicInputs, &EligibilityProof)> =
            items.iter().map(|(i, p)| (*i, p)).collect();
        for backend in [Backend::Arkworks, Backend::Blst] {
            let got = f.verifier.vartime_verify_batch_with(&borrowed, &mut OsRng, backend);
            if expected.is_empty() {
                prop_assert_eq!(got, Ok(()), "{:?}", backend);
            } else {
                prop_assert_eq!(got, Err(expected.clone()), "{:?}", backend);
            }
        }
        // Unchanged proofs verify; a proof over another ballot's inputs never does.
        for (i, &(kind, _, _)) in changes.iter().enumerate() {
            match kind {
                0 => prop_assert!(valid[i]),
                1 => prop_assert!(!valid[i]),
                _ => {}
            }
        }
    }
}
