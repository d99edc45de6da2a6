//! Property tests: encode/decode round trips and the homomorphism of ElGamal.

use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::OnceLock;
use zkvote_core::elgamal::mul_base;
use zkvote_core::sample::sample_manifest_toml;
use zkvote_core::*;

fn ctx() -> &'static (ElectionContext, SecretKey) {
    static CTX: OnceLock<(ElectionContext, SecretKey)> = OnceLock::new();
    CTX.get_or_init(|| {
        let m = Manifest::from_toml(&sample_manifest_toml()).unwrap();
        let sk = SecretKey::random(&mut ChaCha20Rng::from_seed([1; 32]));
        (ElectionContext::new(m, sk.public_key()), sk)
    })
}

/// Valid choices for the sample manifest: one of four mayors, any subset of five parks.
fn choices() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (0usize..4, proptest::collection::btree_set(0usize..5, 0..=5))
        .prop_map(|(m, parks)| vec![vec![m], parks.into_iter().collect()])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn ballot_round_trips(picks in choices(), seed in any::<[u8; 32]>(), nullifier in any::<[u8; 32]>()) {
        let (ctx, _) = ctx();
        let c = Choices::from_indices(ctx.manifest(), &picks).unwrap();
        prop_assert_eq!(c.selected_indices(), picks.clone());
        let (b, _) = build_ballot(ctx, &nullifier, &c, &mut ChaCha20Rng::from_seed(seed)).unwrap();
        let bytes = b.encode();
        let back = Ballot::decode(&bytes, ctx.manifest()).unwrap();
        prop_assert_eq!(&back, &b);
        prop_assert_eq!(back.encode(), bytes);
        let json = serde_json::to_string(&b).unwrap();
        let from_json: Ballot = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&from_json, &b);
        prop_assert!(vartime_verify_ballot(ctx, &from_json, &mut ChaCha20Rng::from_seed(seed)).is_ok());
    }

    #[test]
    fn truncated_or_extended_ballots_never_decode(cut in 1usize..2000, extra in proptest::collection::vec(any::<u8>(), 1..40)) {
        let (ctx, _) = ctx();
        let c = Choices::from_indices(ctx.manifest(), &[vec![0], vec![]]).unwrap();
        let (b, _) = build_ballot(ctx, &[0; 32], &c, &mut ChaCha20Rng::from_seed([2; 32])).unwrap();
        let bytes = b.encode();
        let cut = cut.min(bytes.len());
        prop_assert!(Ballot::decode(&bytes[..bytes.len() - cut], ctx.manifest()).is_err());
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        prop_assert!(Ballot::decode(&longer, ctx.manifest()).is_err());
    }

    #[test]
    fn elements_round_trip(s in any::<[u8; 64]>()) {
        let p = mul_base(&Scalar::from_bytes_mod_order_wide(&s));
        let e = Element::from_point(p);
        if !e.is_identity() {
            prop_assert_eq!(Element::decode(&e.to_bytes()).unwrap(), e);
            let json = serde_json::to_string(&e).unwrap();
            prop_assert_eq!(serde_json::from_str::<Element>(&json).unwrap(), e);
        }
    }

    #[test]
    fn scalars_round_trip(s in any::<[u8; 64]>()) {
        let x = Scalar::from_bytes_mod_order_wide(&s);
        prop_assert_eq!(codec::decode_scalar(&x.to_bytes()).unwrap(), x);
    }

    #[test]
    fn homomorphic_addition(ms in proptest::collection::vec(0u64..1000, 1..12), seed in any::<[u8; 32]>()) {
        let (ctx, sk) = ctx();
        let mut rng = ChaCha20Rng::from_seed(seed);
        let pk = ctx.public_key();
        let cts: Vec<Ciphertext> = ms
            .iter()
            .map(|&m| pk.encrypt(&Scalar::from(m), &Scalar::random(&mut rng)))
            .collect();
        let total: Ciphertext = cts.iter().copied().sum();
        let expect: u64 = ms.iter().sum();
        prop_assert_eq!(sk.decrypt_to_point(&total), mul_base(&Scalar::from(expect)));
        // Addition is commutative and associative on ciphertexts.
        let rev: Ciphertext = cts.iter().rev().copied().sum();
        prop_assert_eq!(rev, total);
    }

    #[test]
    fn ballot_ciphertexts_add_to_the_tally(votes in proptest::collection::vec(choices(), 1..6)) {
        let (ctx, sk) = ctx();
        let mut rng = ChaCha20Rng::from_seed([3; 32]);
        let mut totals = [vec![Ciphertext::zero(); 4], vec![Ciphertext::zero(); 5]];
        let mut counts = [vec![0u64; 4], vec![0u64; 5]];
        for picks in &votes {
            let c = Choices::from_indices(ctx.manifest(), picks).unwrap();
            let (b, _) = build_ballot(ctx, &[7; 32], &c, &mut rng).unwrap();
            for (i, cts) in b.ciphertexts().into_iter().enumerate() {
                for (j, ct) in cts.into_iter().enumerate() {
                    totals[i][j] += ct;
                }
            }
            for (i, p) in picks.iter().enumerate() {
                for &j in p {
                    counts[i][j] += 1;
                }
            }
        }
        for i in 0..2 {
            for (ct, &n) in totals[i].iter().zip(&counts[i]) {
                prop_assert_eq!(sk.decrypt_to_point(ct), mul_base(&Scalar::from(n)));
            }
        }
    }
}
