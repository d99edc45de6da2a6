//! Key ceremony, aggregation and threshold decryption, with misbehaving trustees.

use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use rand::rngs::OsRng;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkvote_core::elgamal::mul_base;
use zkvote_core::sample::sample_manifest_toml;
use zkvote_core::*;
use zkvote_tally::ceremony::{Checked, Dealt, EncryptedShare, Ready};
use zkvote_tally::decryption::lagrange_at_zero;
use zkvote_tally::share_encryption::encrypt_share;
use zkvote_tally::*;

/// A manifest with `n` trustees of threshold `t` whose keys we hold.
fn setup(n: u32, t: u32) -> (Manifest, Vec<TrusteeKeys>) {
    let keys: Vec<TrusteeKeys> = (1..=n)
        .map(|i| TrusteeKeys::generate(i, &mut OsRng))
        .collect();
    let mut doc =
        manifest::ManifestDocument::from(Manifest::from_toml(&sample_manifest_toml()).unwrap());
    doc.trustees.threshold = t;
    doc.trustees.members = keys
        .iter()
        .map(|k| manifest::TrusteeDocument {
            index: k.index(),
            name: format!("Trustee {}", k.index()),
            signing_key: hex::encode(k.signing_public()),
            encryption_key: hex::encode(k.encryption_public().as_bytes()),
        })
        .collect();
    (Manifest::try_from(doc).unwrap(), keys)
}

fn ready(m: &Manifest, keys: &[TrusteeKeys]) -> (CeremonyContext, Vec<Trustee<Ready>>) {
    let ctx = CeremonyContext::from_manifest(m).unwrap();
    let ts = keys
        .iter()
        .map(|k| Trustee::new(k.clone(), ctx.clone()).unwrap())
        .collect();
    (ctx, ts)
}

fn deal_all(ts: Vec<Trustee<Ready>>) -> (Vec<Trustee<Dealt>>, Vec<Dealing>) {
    ts.into_iter().map(|t| t.deal(&mut OsRng)).unzip()
}

fn check_all(
    ts: Vec<Trustee<Dealt>>,
    dealings: &[Dealing],
) -> (Vec<Trustee<Checked>>, Vec<Complaint>) {
    let mut complaints = Vec::new();
    let ts = ts
        .into_iter()
        .map(|t| {
            let (t, c) = t.check(dealings, &mut OsRng);
            complaints.extend(c);
            t
        })
        .collect();
    (ts, complaints)
}

/// A whole honest ceremony.
fn ceremony(m: &Manifest, keys: &[TrusteeKeys]) -> (CeremonyContext, Vec<TrusteeShare>) {
    let (ctx, ts) = ready(m, keys);
    let (ts, dealings) = deal_all(ts);
    let (ts, complaints) = check_all(ts, &dealings);
    assert!(complaints.is_empty());
    let shares = ts
        .into_iter()
        .map(|t| t.finish(&dealings, &complaints, &mut OsRng).unwrap())
        .collect();
    (ctx, shares)
}

fn subsets(n: u32, t: u32) -> Vec<Vec<u32>> {
    (0u32..1 << n)
        .filter(|mask| mask.count_ones() == t)
        .map(|mask| (1..=n).filter(|i| mask & (1 << (i - 1)) != 0).collect())
        .collect()
}

fn cast(m: &Manifest, key: &ElectionPublicKey, votes: &[Vec<Vec<usize>>]) -> Vec<Ballot> {
    let ctx = ElectionContext::new(m.clone(), key.clone());
    votes
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let c = Choices::from_indices(m, v).unwrap();
            build_ballot(&ctx, &[i as u8; 32], &c, &mut OsRng)
                .unwrap()
                .0
        })
        .collect()
}

fn plaintext_counts(m: &Manifest, votes: &[Vec<Vec<usize>>]) -> Vec<Vec<u64>> {
    let mut counts: Vec<Vec<u64>> = m
        .contests
        .iter()
        .map(|c| vec![0; c.options.len()])
        .collect();
    for v in votes {
        for (i, picks) in v.iter().enumerate() {
            for &j in picks {
                counts[i][j] += 1;
            }
        }
    }
    counts
}

#[test]
fn every_subset_of_t_trustees_decrypts_the_same_result() {
    let votes = vec![
        vec![vec![0], vec![1, 2]],
        vec![vec![3], vec![]],
        vec![vec![0], vec![0, 1, 2, 3, 4]],
        vec![vec![2], vec![4]],
    ];
    for (n, t) in [(1u32, 1u32), (3, 2), (5, 3), (7, 7)] {
        let (m, keys) = setup(n, t);
        let (ctx, shares) = ceremony(&m, &keys);
        let outcome = shares[0].outcome().clone();
        assert_eq!(outcome.qualified, (1..=n).collect::<Vec<_>>());
        // The joint key is the sum of the secret shares' interpolation at 0.
        let all: Vec<u32> = (1..=n).collect();
        let first_t = &all[..t as usize];
        let lambdas = lagrange_at_zero(first_t);
        let x: Scalar = first_t
            .iter()
            .zip(&lambdas)
            .map(|(&j, l)| shares[(j - 1) as usize].secret() * l)
            .sum();
        assert_eq!(Element::from_point(mul_base(&x)), outcome.joint_key);

        let ballots = cast(&m, &outcome.election_key(), &votes);
        let agg = aggregate(&m, &ballots);
        assert_eq!(agg.ballots, votes.len() as u64);
        let partials: Vec<PartialDecryption> = shares
            .iter()
            .map(|s| partial_decrypt(&ctx, &keys[(s.index() - 1) as usize], s, &agg, &mut OsRng))
            .collect();
        let table = DlogTable::new(agg.ballots);
        let expected = plaintext_counts(&m, &votes);
        for set in subsets(n, t) {
            let chosen: Vec<PartialDecryption> = set
                .iter()
                .map(|&j| partials[(j - 1) as usize].clone())
                .collect();
            let r = combine(&ctx, &outcome, &agg, &chosen, &table, &mut OsRng).unwrap();
            assert_eq!(r.counts, expected, "(n, t) = ({n}, {t}), subset {set:?}");
            assert_eq!(r.trustees_used, set);
            assert_eq!(
                verify_result(&ctx, &outcome, &agg, &chosen, &r.counts, &mut OsRng),
                Ok(())
            );
        }
        // t - 1 trustees cannot decrypt.
        if t > 1 {
            let few: Vec<PartialDecryption> = partials[..(t - 1) as usize].to_vec();
            assert_eq!(
                combine(&ctx, &outcome, &agg, &few, &table, &mut OsRng),
                Err(DecryptError::BelowThreshold {
                    valid: (t - 1) as usize,
                    threshold: t
                })
            );
            // ... and t - 1 shares interpolate to something other than the key.
            let set: Vec<u32> = (1..t).collect();
            let ls = lagrange_at_zero(&set);
            let guess: Scalar = set
                .iter()
                .zip(&ls)
                .map(|(&j, l)| shares[(j - 1) as usize].secret() * l)
                .sum();
            assert_ne!(Element::from_point(mul_base(&guess)), outcome.joint_key);
        }
        // A wrong published count is refused.
        let mut wrong = expected.clone();
        wrong[0][0] += 1;
        let chosen: Vec<PartialDecryption> = partials[..t as usize].to_vec();
        assert!(matches!(
            verify_result(&ctx, &outcome, &agg, &chosen, &wrong, &mut OsRng),
            Err(DecryptError::WrongCount {
                contest: 0,
                selection: 0,
                ..
            })
        ));
    }
}

#[test]
fn a_bad_share_is_named_through_a_complaint_and_its_dealer_disqualified() {
    let (m, keys) = setup(5, 3);
    let (ctx, ts) = ready(&m, &keys);
    let (ts, mut dealings) = deal_all(ts);
    // Dealer 2 sends trustee 4 a share that does not match its commitments, properly signed.
    let d = &mut dealings[1];
    let pos = d.shares.iter().position(|s| s.recipient == 4).unwrap();
    let (ephemeral, ciphertext) = encrypt_share(
        &ctx.manifest_hash,
        2,
        4,
        &keys[3].encryption_public(),
        &Scalar::from(42u64),
        &mut OsRng,
    );
    d.shares[pos] = EncryptedShare {
        recipient: 4,
        ephemeral,
        ciphertext,
    };
    keys[1].sign_dealing(&ctx.manifest_hash, d);

    let (ts, complaints) = check_all(ts, &dealings);
    assert_eq!(complaints.len(), 1);
    assert_eq!((complaints[0].accuser, complaints[0].dealer), (4, 2));
    let shares: Vec<TrusteeShare> = ts
        .into_iter()
        .map(|t| t.finish(&dealings, &complaints, &mut OsRng).unwrap())
        .collect();
    let outcome = shares[0].outcome();
    assert_eq!(outcome.qualified, vec![1, 3, 4, 5]);
    assert_eq!(
        outcome.disqualified,
        vec![(2, Disqualification::BadShare { accuser: 4 })]
    );
    // Anyone reaches the same outcome from the public messages.
    assert_eq!(
        &verify_ceremony(&ctx, &dealings, &complaints, &mut OsRng).unwrap(),
        outcome
    );
    // The remaining trustees still decrypt with any 3 of them.
    let ballots = cast(&m, &outcome.election_key(), &[vec![vec![1], vec![0]]]);
    let agg = aggregate(&m, &ballots);
    let partials: Vec<PartialDecryption> = [0usize, 2, 4]
        .iter()
        .map(|&i| partial_decrypt(&ctx, &keys[i], &shares[i], &agg, &mut OsRng))
        .collect();
    let r = combine(
        &ctx,
        outcome,
        &agg,
        &partials,
        &DlogTable::new(1),
        &mut OsRng,
    )
    .unwrap();
    assert_eq!(r.counts, vec![vec![0, 1, 0, 0], vec![1, 0, 0, 0, 0]]);
}

#[test]
fn a_false_complaint_names_the_accuser_and_keeps_the_dealer() {
    let (m, keys) = setup(3, 2);
    let (ctx, ts) = ready(&m, &keys);
    let (ts, dealings) = deal_all(ts);
    let (ts, mut complaints) = check_all(ts, &dealings);
    assert!(complaints.is_empty());
    // Trustee 3 complains about dealer 1's good share: build the complaint with a real
    // Diffie-Hellman reveal, then the share decrypts fine and the complaint fails.
    let d1 = &dealings[0];
    let share = d1.shares.iter().find(|s| s.recipient == 3).unwrap();
    let k = Element::from_point(share.ephemeral.point() * keys[2].encryption_secret().as_scalar());
    let g = Element::from_point(elgamal::G);
    let stmt = sigma::DleqStatement {
        g: &g,
        x: &keys[2].encryption_public(),
        h: &share.ephemeral,
        y: &k,
    };
    let mut t = merlin::Transcript::new(zkvote_tally::labels::DKG_COMPLAINT);
    t.append_message(zkvote_tally::labels::MANIFEST_HASH, &ctx.manifest_hash);
    t.append_u64(zkvote_tally::labels::ACCUSER, 3);
    t.append_u64(zkvote_tally::labels::DEALER, 1);
    let proof = sigma::DleqProof::prove(
        &mut t,
        &stmt,
        keys[2].encryption_secret().as_scalar(),
        &mut OsRng,
    );
    let mut c = Complaint {
        accuser: 3,
        dealer: 1,
        shared_secret: k,
        proof,
        signature: [0; 64],
    };
    keys[2].sign_complaint(&ctx.manifest_hash, &mut c);
    complaints.push(c);
    let shares: Vec<TrusteeShare> = ts
        .into_iter()
        .map(|t| t.finish(&dealings, &complaints, &mut OsRng).unwrap())
        .collect();
    let outcome = shares[0].outcome();
    assert_eq!(outcome.qualified, vec![1, 2, 3]);
    assert_eq!(outcome.false_complaints, vec![(3, 1)]);
}

#[test]
fn bad_dealings_are_disqualified_by_index() {
    let (m, keys) = setup(5, 2);
    let (ctx, ts) = ready(&m, &keys);
    let (_, mut dealings) = deal_all(ts);
    // Dealer 1: a proof of knowledge that does not verify (commitment changed, re-signed).
    dealings[0].commitments[1] = Element::from_point(mul_base(&Scalar::from(7u64)));
    keys[0].sign_dealing(&ctx.manifest_hash, &mut dealings[0]);
    // Dealer 3: a dealing missing a share.
    dealings[2].shares.pop();
    keys[2].sign_dealing(&ctx.manifest_hash, &mut dealings[2]);
    // Dealer 4: its dealing is forged (signed by someone else): as if it sent nothing.
    dealings[3].shares.swap(0, 1);
    // Dealer 5: two different signed dealings.
    let mut other = dealings[4].clone();
    other.commitments.swap(0, 1);
    keys[4].sign_dealing(&ctx.manifest_hash, &mut other);
    dealings.push(other);
    match verify_ceremony(&ctx, &dealings, &[], &mut OsRng) {
        Err(CeremonyError::TooFewQualified {
            qualified: 1,
            threshold: 2,
            disqualified,
        }) => assert_eq!(
            disqualified,
            vec![
                (1, Disqualification::BadProofOfKnowledge { coefficient: 1 }),
                (
                    3,
                    Disqualification::Malformed {
                        detail: "shares for [1, 2, 4], expected [1, 2, 4, 5]".into()
                    }
                ),
                (4, Disqualification::MissingDealing),
                (5, Disqualification::Equivocation),
            ]
        ),
        other => panic!("unexpected outcome {other:?}"),
    }
}

#[test]
fn a_wrong_partial_decryption_is_named_and_others_still_decrypt() {
    let (m, keys) = setup(3, 2);
    let (ctx, shares) = ceremony(&m, &keys);
    let outcome = shares[0].outcome().clone();
    let votes = vec![vec![vec![1], vec![2]], vec![vec![1], vec![]]];
    let ballots = cast(&m, &outcome.election_key(), &votes);
    let agg = aggregate(&m, &ballots);
    let mut partials: Vec<PartialDecryption> = shares
        .iter()
        .map(|s| partial_decrypt(&ctx, &keys[(s.index() - 1) as usize], s, &agg, &mut OsRng))
        .collect();
    // Trustee 1 publishes a wrong share for contest 1, option 2, and signs it.
    let bad = partials[0].shares[1][2].as_mut().unwrap();
    bad.share = Element::from_point(bad.share.point() + elgamal::G);
    let body = partials[0].body();
    partials[0].signature = keys[0].sign(
        zkvote_tally::labels::SIG_DECRYPTION,
        &ctx.manifest_hash,
        &body,
    );
    assert_eq!(
        verify_partial_decryption(&ctx, &outcome, &agg, &partials[0], &mut OsRng),
        Err(DecryptError::InvalidShare {
            trustee: 1,
            contest: 1,
            selection: 2
        })
    );
    let table = DlogTable::new(agg.ballots);
    let r = combine(&ctx, &outcome, &agg, &partials, &table, &mut OsRng).unwrap();
    assert_eq!(r.counts, plaintext_counts(&m, &votes));
    assert_eq!(r.trustees_used, vec![2, 3]);
    assert_eq!(
        r.rejected,
        vec![DecryptError::InvalidShare {
            trustee: 1,
            contest: 1,
            selection: 2
        }]
    );
    // An unsigned (tampered) partial decryption is refused as such.
    let mut forged = partials[1].clone();
    forged.signature[0] ^= 1;
    assert_eq!(
        verify_partial_decryption(&ctx, &outcome, &agg, &forged, &mut OsRng),
        Err(DecryptError::BadSignature { trustee: 2 })
    );
    // With trustee 1 bad, trustee 2 alone is below the threshold.
    assert!(matches!(
        combine(&ctx, &outcome, &agg, &partials[..2], &table, &mut OsRng),
        Err(DecryptError::BelowThreshold {
            valid: 1,
            threshold: 2
        })
    ));
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let (m, keys) = setup(3, 2);
    let (_, shares) = ceremony(&m, &keys);
    let s = format!("{:?} {:?}", keys[0], shares[0]);
    assert!(s.contains("redacted"));
    assert!(!s.contains(&hex::encode(shares[0].secret().as_bytes())));
    assert!(!s.contains(&hex::encode(*keys[0].signing_seed())));
}

#[test]
fn no_ballots_decrypts_to_zero() {
    let (m, keys) = setup(3, 2);
    let (ctx, shares) = ceremony(&m, &keys);
    let outcome = shares[0].outcome().clone();
    let agg = aggregate::<Ballot>(&m, &[]);
    let partials: Vec<PartialDecryption> = shares[..2]
        .iter()
        .map(|s| partial_decrypt(&ctx, &keys[(s.index() - 1) as usize], s, &agg, &mut OsRng))
        .collect();
    let r = combine(
        &ctx,
        &outcome,
        &agg,
        &partials,
        &DlogTable::new(0),
        &mut OsRng,
    )
    .unwrap();
    assert_eq!(r.counts, vec![vec![0; 4], vec![0; 5]]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn decrypted_tally_equals_the_plaintext_sum(
        votes in proptest::collection::vec(
            (0usize..4, proptest::collection::btree_set(0usize..5, 0..=5))
                .prop_map(|(m, p)| vec![vec![m], p.into_iter().collect::<Vec<_>>()]),
            1..20),
        seed in any::<[u8; 32]>(),
    ) {
        let (m, keys) = fixed_ceremony();
        let (ctx, shares) = (&keys.0, &keys.1);
        let outcome = shares[0].outcome().clone();
        let ballots = cast(&m, &outcome.election_key(), &votes);
        let agg = aggregate(&m, &ballots);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let partials: Vec<PartialDecryption> = shares[1..]
            .iter()
            .map(|s| partial_decrypt(ctx, &keys.2[(s.index() - 1) as usize], s, &agg, &mut rng))
            .collect();
        let r = combine(ctx, &outcome, &agg, &partials, &DlogTable::new(agg.ballots), &mut rng).unwrap();
        prop_assert_eq!(r.counts, plaintext_counts(&m, &votes));
    }
}

#[allow(clippy::type_complexity)]
fn fixed_ceremony() -> (
    Manifest,
    &'static (CeremonyContext, Vec<TrusteeShare>, Vec<TrusteeKeys>),
) {
    static C: std::sync::OnceLock<(
        Manifest,
        (CeremonyContext, Vec<TrusteeShare>, Vec<TrusteeKeys>),
    )> = std::sync::OnceLock::new();
    let c = C.get_or_init(|| {
        let (m, keys) = setup(3, 2);
        let (ctx, shares) = ceremony(&m, &keys);
        (m, (ctx, shares, keys))
    });
    (c.0.clone(), &c.1)
}
