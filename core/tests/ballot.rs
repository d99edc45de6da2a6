//! Ballot building and verification, statement binding (strong Fiat-Shamir), replay
//! under another nullifier, batch verification, Benaloh audits and encodings.

use curve25519_dalek::scalar::Scalar;
use rand::rngs::OsRng;
use std::collections::BTreeMap;
use zkvote_core::ballot::{build_ballot, BALLOT_VERSION};
use zkvote_core::elgamal::mul_base;
use zkvote_core::sample::{sample_manifest_toml, single_contest_manifest_toml};
use zkvote_core::*;

fn context_from(toml: &str) -> (ElectionContext, SecretKey) {
    let manifest = Manifest::from_toml(toml).unwrap();
    let sk = SecretKey::random(&mut OsRng);
    (ElectionContext::new(manifest, sk.public_key()), sk)
}

fn context() -> (ElectionContext, SecretKey) {
    context_from(&sample_manifest_toml())
}

fn choices(ctx: &ElectionContext, mayor: &str, parks: &[&str]) -> Choices {
    let mut map = BTreeMap::new();
    map.insert("mayor".to_string(), vec![mayor.to_string()]);
    map.insert(
        "parks".to_string(),
        parks.iter().map(|s| s.to_string()).collect(),
    );
    Choices::from_ids(ctx.manifest(), &map).unwrap()
}

fn ballot(ctx: &ElectionContext, nullifier: u8) -> Ballot {
    let c = choices(ctx, "bo", &["trees", "pool"]);
    build_ballot(ctx, &[nullifier; 32], &c, &mut OsRng)
        .unwrap()
        .0
}

#[test]
fn honest_ballots_verify_and_decrypt_to_the_choices() {
    let (ctx, sk) = context();
    for (mayor, parks) in [
        ("ada", vec![]),
        (
            "dee",
            vec!["river-walk", "playground", "trees", "pool", "skatepark"],
        ),
    ] {
        let c = choices(&ctx, mayor, &parks);
        let (b, _) = build_ballot(&ctx, &[1; 32], &c, &mut OsRng).unwrap();
        assert_eq!(vartime_verify_ballot(&ctx, &b, &mut OsRng), Ok(()));
        for (bits, cts) in c.as_bits().iter().zip(b.ciphertexts()) {
            for (&m, ct) in bits.iter().zip(cts) {
                assert_eq!(sk.decrypt_to_point(&ct), mul_base(&Scalar::from(m as u64)));
            }
        }
    }
}

#[test]
fn k_of_n_contest_range_is_enforced_by_the_proof() {
    // A 2-of-4 contest with min 1: the range proof covers [1, 2].
    let toml = single_contest_manifest_toml(4).replace("max_selections = 1", "max_selections = 2");
    let (ctx, sk) = context_from(&toml);
    for picks in [vec![0], vec![1, 3]] {
        let c = Choices::from_indices(ctx.manifest(), &[picks]).unwrap();
        let (b, _) = build_ballot(&ctx, &[3; 32], &c, &mut OsRng).unwrap();
        assert_eq!(vartime_verify_ballot(&ctx, &b, &mut OsRng), Ok(()));
    }
    // Choices outside [min, max] are refused before anything is encrypted.
    assert!(matches!(
        Choices::from_indices(ctx.manifest(), &[vec![0, 1, 2]]),
        Err(ChoiceError::Count { got: 3, .. })
    ));
    assert!(matches!(
        Choices::from_indices(ctx.manifest(), &[vec![]]),
        Err(ChoiceError::Count { got: 0, .. })
    ));
    // A voter who encrypts three 1s with valid bit proofs cannot make a valid range proof:
    // substitute a third selection's ciphertext and bit proof from another ballot that
    // encrypts 1 in that slot; the range proof (and the binding) then fail.
    let two = Choices::from_indices(ctx.manifest(), &[vec![0, 1]]).unwrap();
    let other = Choices::from_indices(ctx.manifest(), &[vec![2]]).unwrap();
    let (mut b, _) = build_ballot(&ctx, &[3; 32], &two, &mut OsRng).unwrap();
    let (b2, _) = build_ballot(&ctx, &[3; 32], &other, &mut OsRng).unwrap();
    b.contests[0].selections[2] = b2.contests[0].selections[2].clone();
    let total: Ciphertext = b.ciphertexts()[0].iter().copied().sum();
    assert_eq!(sk.decrypt_to_point(&total), mul_base(&Scalar::from(3u64)));
    assert!(vartime_verify_ballot(&ctx, &b, &mut OsRng).is_err());
}

#[test]
fn choices_are_validated() {
    let (ctx, _) = context();
    let m = ctx.manifest();
    let mut map = BTreeMap::new();
    map.insert("mayor".to_string(), vec!["zed".to_string()]);
    assert!(matches!(
        Choices::from_ids(m, &map),
        Err(ChoiceError::UnknownOption { .. })
    ));
    map.clear();
    map.insert("sheriff".to_string(), vec![]);
    assert!(matches!(
        Choices::from_ids(m, &map),
        Err(ChoiceError::UnknownContest(_))
    ));
    map.clear();
    map.insert("mayor".to_string(), vec!["ada".into(), "ada".into()]);
    assert!(matches!(
        Choices::from_ids(m, &map),
        Err(ChoiceError::Duplicate { .. })
    ));
    map.clear();
    assert!(matches!(
        Choices::from_ids(m, &map),
        Err(ChoiceError::Count { got: 0, .. })
    ));
    assert!(matches!(
        Choices::from_indices(m, &[vec![0]]),
        Err(ChoiceError::ContestCount {
            expected: 2,
            got: 1
        })
    ));
    assert!(matches!(
        Choices::from_indices(m, &[vec![4], vec![]]),
        Err(ChoiceError::OptionIndex { index: 4, .. })
    ));
    assert!(!format!("{:?}", choices(&ctx, "ada", &[])).contains('1'));
}

/// Strong Fiat-Shamir: each element of the statement is bound into every challenge, so
/// changing any one of them makes the ballot fail.
/// A random number generator that always gives the same bytes: every nonce it draws is the
/// same (what a broken client would do).
struct Stuck;

impl rand_core::RngCore for Stuck {
    fn next_u32(&mut self) -> u32 {
        7
    }
    fn next_u64(&mut self) -> u64 {
        7
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(7);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        dest.fill(7);
        Ok(())
    }
}

impl rand_core::CryptoRng for Stuck {}

#[test]
fn a_ballot_that_repeats_a_nonce_is_refused() {
    let (ctx, _) = context();
    let c = choices(&ctx, "bo", &["trees", "pool"]);
    // Every nonce the same: every ciphertext has the same A, and the proofs still hold.
    let (b, _) = build_ballot(&ctx, &[3; 32], &c, &mut Stuck).unwrap();
    let a = b.contests[0].selections[0].a.as_bytes();
    assert!(b.ciphertext_keys().all(|k| k == a));
    assert_eq!(
        vartime_verify_ballot(&ctx, &b, &mut OsRng),
        Err(BallotError::RepeatedCiphertext {
            contest: "mayor".into(),
            selection: 1,
        })
    );
    assert!(vartime_verify_ballots(&ctx, std::slice::from_ref(&b), &mut OsRng).is_err());
    // The same ballot with its nonces drawn properly verifies.
    let (good, _) = build_ballot(&ctx, &[3; 32], &c, &mut OsRng).unwrap();
    assert!(vartime_verify_ballot(&ctx, &good, &mut OsRng).is_ok());
}

#[test]
fn changing_any_part_of_the_statement_breaks_the_proofs() {
    let (ctx, _) = context();
    let b = ballot(&ctx, 9);
    assert!(vartime_verify_ballot(&ctx, &b, &mut OsRng).is_ok());

    // Manifest hash: same election id, contest ids and shape; only the title differs.
    let other_title = sample_manifest_toml().replace("title = \"City", "title = \"Town");
    let m2 = Manifest::from_toml(&other_title).unwrap();
    assert_eq!(m2.election_id, ctx.manifest().election_id);
    let ctx2 = ElectionContext::new(m2, ctx.public_key().clone());
    assert!(matches!(
        vartime_verify_ballot(&ctx2, &b, &mut OsRng),
        Err(BallotError::InvalidProof { .. })
    ));

    // Public key.
    let ctx3 = ElectionContext::new(
        ctx.manifest().clone(),
        SecretKey::random(&mut OsRng).public_key(),
    );
    assert!(vartime_verify_ballot(&ctx3, &b, &mut OsRng).is_err());

    // Contest id: rename the contest (same shape, same everything else).
    let renamed = sample_manifest_toml().replace("id = \"mayor\"", "id = \"mayor-2027\"");
    let ctx4 = ElectionContext::new(
        Manifest::from_toml(&renamed).unwrap(),
        ctx.public_key().clone(),
    );
    assert!(matches!(
        vartime_verify_ballot(&ctx4, &b, &mut OsRng),
        Err(BallotError::InvalidProof { ref contest, selection: Some(0) }) if contest == "mayor-2027"
    ));

    // Nullifier: the copied ballot under another nullifier (Cortier-Smyth replay).
    let mut replay = b.clone();
    replay.nullifier = [10; 32];
    assert!(matches!(
        vartime_verify_ballot(&ctx, &replay, &mut OsRng),
        Err(BallotError::InvalidProof { .. })
    ));

    // Selection index: swap two selections together with their proofs.
    let mut swapped = b.clone();
    swapped.contests[1].selections.swap(0, 1);
    assert!(vartime_verify_ballot(&ctx, &swapped, &mut OsRng).is_err());

    // Contest index: a manifest with the contests in the other order and the ballot's
    // contests swapped to match its shape.
    let mut m5 = ctx.manifest().clone();
    m5.contests.swap(0, 1);
    let ctx5 = ElectionContext::new(m5, ctx.public_key().clone());
    let mut reordered = b.clone();
    reordered.contests.swap(0, 1);
    assert!(vartime_verify_ballot(&ctx5, &reordered, &mut OsRng).is_err());

    // One ciphertext re-randomised: its own proof and all others fail.
    let mut rerand = b.clone();
    let s = &mut rerand.contests[0].selections[1];
    let delta = Scalar::random(&mut OsRng);
    s.a = Element::from_point(s.a.point() + mul_base(&delta));
    s.b = Element::from_point(s.b.point() + ctx.public_key().mul(&delta));
    assert!(vartime_verify_ballot(&ctx, &rerand, &mut OsRng).is_err());

    // Another ballot's proof for the same slot (same statement shape, other transcript).
    let other = ballot(&ctx, 9);
    let mut mixed = b.clone();
    mixed.contests[0].selections[0].proof = other.contests[0].selections[0].proof.clone();
    assert!(matches!(
        vartime_verify_ballot(&ctx, &mixed, &mut OsRng),
        Err(BallotError::InvalidProof {
            selection: Some(0),
            ..
        })
    ));

    // The election id field itself.
    let mut wrong = b.clone();
    wrong.election_id[0] ^= 1;
    assert!(matches!(
        vartime_verify_ballot(&ctx, &wrong, &mut OsRng),
        Err(BallotError::WrongElection { .. })
    ));
}

#[test]
fn tampered_proofs_are_located() {
    let (ctx, _) = context();
    let b = ballot(&ctx, 4);
    let mut t = b.clone();
    t.contests[1].selections[3].proof.responses[1] += Scalar::ONE;
    assert_eq!(
        vartime_verify_ballot(&ctx, &t, &mut OsRng),
        Err(BallotError::InvalidProof {
            contest: "parks".into(),
            selection: Some(3)
        })
    );
    let mut t = b.clone();
    t.contests[0].range_proof.as_mut().unwrap().responses[0] += Scalar::ONE;
    assert_eq!(
        vartime_verify_ballot(&ctx, &t, &mut OsRng),
        Err(BallotError::InvalidProof {
            contest: "mayor".into(),
            selection: None
        })
    );
    let mut t = b.clone();
    t.contests[0].range_proof = None;
    assert!(matches!(
        vartime_verify_ballot(&ctx, &t, &mut OsRng),
        Err(BallotError::RangeProofPresence { expected: true, .. })
    ));
    let mut t = b.clone();
    t.contests[1].range_proof = t.contests[0].range_proof.clone();
    assert!(matches!(
        vartime_verify_ballot(&ctx, &t, &mut OsRng),
        Err(BallotError::RangeProofPresence {
            expected: false,
            ..
        })
    ));
    let mut t = b.clone();
    t.contests[1].selections.pop();
    assert!(matches!(
        vartime_verify_ballot(&ctx, &t, &mut OsRng),
        Err(BallotError::SelectionCount {
            expected: 5,
            got: 4,
            ..
        })
    ));
    let mut t = b.clone();
    t.contests.pop();
    assert!(matches!(
        vartime_verify_ballot(&ctx, &t, &mut OsRng),
        Err(BallotError::ContestCount { .. })
    ));
    let mut t = b.clone();
    t.contests[0].selections[0]
        .proof
        .challenges
        .push(Scalar::ONE);
    assert!(matches!(
        vartime_verify_ballot(&ctx, &t, &mut OsRng),
        Err(BallotError::ProofShape { .. })
    ));
    // A bit proof with three commitment pairs: the message says what was expected and
    // what was found, field by field.
    let mut t = b.clone();
    let extra = t.contests[0].selections[0].proof.commitments[0].clone();
    t.contests[0].selections[0].proof.commitments.push(extra);
    let e = vartime_verify_ballot(&ctx, &t, &mut OsRng).unwrap_err();
    assert!(
        e.to_string().contains(
            "2 branches need 2 commitment pairs, 1 challenges and 2 responses; got 3, 1 and 2"
        ),
        "{e}"
    );
    let mut t = b;
    t.version = 2;
    assert_eq!(
        vartime_verify_ballot(&ctx, &t, &mut OsRng),
        Err(BallotError::Version(2))
    );
}

#[test]
fn batch_verification_accepts_good_batches_and_names_bad_ballots() {
    let (ctx, _) = context();
    let mut batch: Vec<Ballot> = (0..12).map(|i| ballot(&ctx, i)).collect();
    assert_eq!(vartime_verify_ballots(&ctx, &batch, &mut OsRng), Ok(()));
    assert_eq!(
        vartime_verify_ballots::<Ballot>(&ctx, &[], &mut OsRng),
        Ok(())
    );

    batch[7].contests[0].selections[2].proof.responses[0] += Scalar::ONE;
    let err = vartime_verify_ballots(&ctx, &batch, &mut OsRng).unwrap_err();
    assert_eq!(
        err.failures,
        vec![(
            7,
            BallotError::InvalidProof {
                contest: "mayor".into(),
                selection: Some(2)
            }
        )]
    );

    // A replayed ballot and a structurally wrong one in the same batch are both named.
    batch[2].nullifier = [99; 32];
    batch[10].contests.pop();
    let err = vartime_verify_ballots(&ctx, &batch, &mut OsRng).unwrap_err();
    let bad: Vec<usize> = err.failures.iter().map(|f| f.0).collect();
    assert_eq!(bad, vec![2, 7, 10]);
}

#[test]
fn benaloh_audit_reveals_exactly_the_choices() {
    let (ctx, _) = context();
    let c = choices(&ctx, "cy", &["river-walk", "skatepark"]);
    let (b, secrets) = build_ballot(&ctx, &[5; 32], &c, &mut OsRng).unwrap();
    assert!(format!("{secrets:?}").contains("redacted"));
    let opening = secrets.into_opening();
    let json = serde_json::to_string(&opening).unwrap();
    let opening: BallotOpening = serde_json::from_str(&json).unwrap();
    assert_eq!(
        vartime_verify_opening(&ctx, &b, &opening, &mut OsRng),
        Ok(vec![vec![2], vec![0, 4]])
    );

    // A client that encrypted something else cannot produce a matching opening: claim a
    // different plaintext for the same ciphertext.
    let mut lie = opening.clone();
    lie.contests[0].plaintexts[2] = 0;
    lie.contests[0].plaintexts[0] = 1;
    assert!(matches!(
        vartime_verify_opening(&ctx, &b, &lie, &mut OsRng),
        Err(AuditError::Mismatch { selection: 0, .. })
    ));
    let mut lie = opening.clone();
    lie.contests[1].nonces[4] += Scalar::ONE;
    assert!(matches!(
        vartime_verify_opening(&ctx, &b, &lie, &mut OsRng),
        Err(AuditError::Mismatch { selection: 4, .. })
    ));
    let mut lie = opening.clone();
    lie.contests[1].plaintexts[1] = 2;
    assert!(matches!(
        vartime_verify_opening(&ctx, &b, &lie, &mut OsRng),
        Err(AuditError::NotABit { .. })
    ));
    let mut lie = opening;
    lie.contests[1].nonces.pop();
    assert_eq!(
        vartime_verify_opening(&ctx, &b, &lie, &mut OsRng),
        Err(AuditError::Shape)
    );
}

#[test]
fn binary_and_json_encodings_round_trip_and_match_the_documented_size() {
    let (ctx, _) = context();
    let b = ballot(&ctx, 1);
    let bytes = b.encode();
    assert_eq!(bytes.len(), Ballot::encoded_len(ctx.manifest()));
    // 65 + 4 * 288 + 96 (mayor, range [1,1]) + 5 * 288 (parks, no range proof).
    assert_eq!(bytes.len(), 65 + 4 * 288 + 96 + 5 * 288);
    assert_eq!(Ballot::decode(&bytes, ctx.manifest()).unwrap(), b);
    let json = serde_json::to_string(&b).unwrap();
    let back: Ballot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, b);
    assert_eq!(
        back.digest(ctx.manifest_hash()),
        b.digest(ctx.manifest_hash())
    );
    // The digest depends on the manifest hash as well as on the ballot.
    assert_ne!(b.digest(&[0; 32]), b.digest(ctx.manifest_hash()));
    assert_eq!(b.digest(ctx.manifest_hash()).as_bytes()[31] & 0xc0, 0);
    assert_eq!(b.ciphertext_keys().count(), 9);
}

fn set(bytes: &[u8], at: usize, value: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + value.len()].copy_from_slice(value);
    out
}

#[test]
fn binary_decoding_rejects_every_non_canonical_form() {
    let (ctx, _) = context();
    let m = ctx.manifest();
    let bytes = ballot(&ctx, 1).encode();
    // Offsets: version 0, election id 1, nullifier 33, first A at 65, first B at 97,
    // first commitment at 129; the first bit proof's challenge at 65+64+128 = 257.
    let p_enc: Vec<u8> = {
        let mut p = vec![0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        p
    };
    assert_eq!(
        Ballot::decode(&set(&bytes, 65, &p_enc), m),
        Err(DecodeError::NonCanonicalPoint { offset: 65 })
    );
    assert_eq!(
        Ballot::decode(&set(&bytes, 97, &[0u8; 32]), m),
        Err(DecodeError::IdentityPoint { offset: 97 })
    );
    assert_eq!(
        Ballot::decode(&set(&bytes, 129, &[0u8; 32]), m),
        Err(DecodeError::IdentityPoint { offset: 129 })
    );
    // A scalar >= l: the group order itself, and l + the original value.
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    assert_eq!(
        Ballot::decode(&set(&bytes, 257, &l), m),
        Err(DecodeError::NonCanonicalScalar { offset: 257 })
    );
    let mut c = [0u8; 32];
    c.copy_from_slice(&bytes[257..289]);
    let sum = add_le(&c, &l);
    assert_eq!(
        Ballot::decode(&set(&bytes, 257, &sum), m),
        Err(DecodeError::NonCanonicalScalar { offset: 257 })
    );
    assert!(matches!(
        Ballot::decode(&bytes[..bytes.len() - 1], m),
        Err(DecodeError::UnexpectedEnd { .. })
    ));
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        Ballot::decode(&longer, m),
        Err(DecodeError::TrailingBytes(1))
    );
    assert_eq!(
        Ballot::decode(&set(&bytes, 0, &[2]), m),
        Err(DecodeError::Version(2))
    );
    assert!(Ballot::decode(&[], m).is_err());
    assert_eq!(BALLOT_VERSION, 1);
}

fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    out
}

#[test]
fn json_decoding_rejects_non_canonical_values() {
    let (ctx, _) = context();
    let b = ballot(&ctx, 1);
    let json = serde_json::to_string(&b).unwrap();
    let a_hex = hex::encode(b.contests[0].selections[0].a.as_bytes());
    let z_hex = hex::encode(b.contests[0].selections[0].proof.responses[0].as_bytes());
    let cases = [
        json.replacen(&a_hex, &a_hex.to_uppercase(), 1),
        json.replacen(&a_hex, &a_hex[..62], 1),
        json.replacen(&a_hex, &"00".repeat(32), 1),
        json.replacen(&a_hex, &format!("{}7f", "ff".repeat(31)), 1),
        json.replacen(&z_hex, &"ff".repeat(32), 1),
        json.replacen("\"version\":1", "\"version\":1,\"extra\":0", 1),
        json.replacen("{\"version\":1,", "{", 1),
        json[..json.len() - 1].to_string(),
    ];
    for (i, case) in cases.iter().enumerate() {
        assert_ne!(case, &json, "case {i} did not change the input");
        assert!(
            serde_json::from_str::<Ballot>(case).is_err(),
            "case {i} was accepted"
        );
    }
}

#[test]
fn ballot_proofs_for_one_election_fail_in_another() {
    let (ctx, _) = context();
    let b = ballot(&ctx, 1);
    let other_id = sample_manifest_toml().replace("000000beef\"", "000000beee\"");
    let m2 = Manifest::from_toml(&other_id).unwrap();
    let ctx2 = ElectionContext::new(m2, ctx.public_key().clone());
    let mut moved = b.clone();
    moved.election_id = ctx2.manifest().election_id;
    assert!(matches!(
        vartime_verify_ballot(&ctx2, &moved, &mut OsRng),
        Err(BallotError::InvalidProof { .. })
    ));
    assert!(matches!(
        vartime_verify_ballot(&ctx2, &b, &mut OsRng),
        Err(BallotError::WrongElection { .. })
    ));
}

#[test]
fn digests_below_2_to_254_only() {
    let mut bytes = [0xffu8; 32];
    bytes[31] = 0x3f;
    let d = BallotDigest::from_bytes(bytes).unwrap();
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(serde_json::from_str::<BallotDigest>(&json).unwrap(), d);
    for top in [0x40u8, 0x80, 0xc0, 0xff] {
        bytes[31] = top;
        assert_eq!(
            BallotDigest::from_bytes(bytes),
            Err(DecodeError::DigestRange)
        );
        let json = format!("\"{}\"", hex::encode(bytes));
        assert!(serde_json::from_str::<BallotDigest>(&json).is_err());
    }
}
