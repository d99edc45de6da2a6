//! The setup ceremony in an election's log (version 2): the election starts in the
//! ceremony phase; every trustee contributes to phase 1 before phase 2 begins and to
//! phase 2 before the ceremony closes; contributions are signed, checked and never copied;
//! the final entry pins exactly the transcript's keys; nothing of the ceremony follows it.

use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use zkvote_circuits::groth16::proving_key_to_pinned_bytes;
use zkvote_circuits::groth16::{key_to_bytes, vk_hash};
use zkvote_circuits::setup::{Contribution, SetupError, SetupPhase};
use zkvote_core::manifest::ManifestDocument;
use zkvote_core::sample::sample_manifest_toml;
use zkvote_core::Manifest;
use zkvote_protocol::api::ElectionStatus;
use zkvote_protocol::fields::{ContributorName, FieldElement, VerifyingKeyBytes};
use zkvote_protocol::setup::{contribution_entry, proving_key_hash, SetupRuleError};
use zkvote_protocol::voter::load_proving_key;
use zkvote_protocol::{ApplyError, ElectionState, Entry, Phase, TransitionError};
use zkvote_tally::TrusteeKeys;

fn trustees() -> Vec<TrusteeKeys> {
    (1..=2)
        .map(|i| TrusteeKeys::generate(i, &mut OsRng))
        .collect()
}

fn signing_key(t: &TrusteeKeys) -> SigningKey {
    SigningKey::from_bytes(&t.signing_seed())
}

/// A version-2 manifest of roll depth 2 with these trustees.
fn manifest(keys: &[TrusteeKeys]) -> Manifest {
    let mut doc = ManifestDocument::from(Manifest::from_toml(&sample_manifest_toml()).unwrap());
    doc.version = 2;
    doc.eligibility.groth16_vk_hash = None;
    doc.eligibility.roll_depth = 2;
    doc.trustees.threshold = 1;
    doc.trustees.members = keys
        .iter()
        .map(|k| k.document(format!("T{}", k.index())))
        .collect();
    Manifest::try_from(doc).unwrap()
}

/// A signed contribution by `who` to `phase`, made on the state's transcript.
fn contribution(state: &ElectionState, who: &SigningKey, name: &str, phase: SetupPhase) -> Entry {
    let ceremony = state.setup().unwrap().ceremony();
    let c = ceremony.contribute(phase, &mut OsRng).unwrap();
    signed(state, who, name, c)
}

fn signed(state: &ElectionState, who: &SigningKey, name: &str, c: Contribution) -> Entry {
    contribution_entry(
        who,
        &state.manifest().hash(),
        state.setup().unwrap().ceremony().digest(),
        ContributorName::new(name.into()).unwrap(),
        c,
    )
    .unwrap()
}

fn refused(state: &mut ElectionState, entry: &Entry) -> ApplyError {
    let before = state.entries();
    let e = state.apply(entry).unwrap_err();
    assert_eq!(state.entries(), before, "a refusal changes nothing");
    e
}

#[test]
fn a_version_2_election_runs_its_setup_ceremony_before_registration() {
    let keys = trustees();
    let m = manifest(&keys);
    let genesis = Entry::Manifest {
        manifest: m.clone(),
        groth16_vk: None,
    };
    let mut state =
        ElectionState::from_genesis(&Entry::decode(&genesis.to_bytes()).unwrap()).unwrap();
    assert_eq!(state.phase(), Phase::Ceremony);
    assert!(state.verifier().is_none());
    let registration = Entry::Registration {
        commitment: FieldElement::from_hex(&"00".repeat(32)).unwrap(),
    };
    assert!(matches!(
        refused(&mut state, &registration),
        ApplyError::Transition(TransitionError::WrongPhase { .. })
    ));

    let (t1, t2) = (signing_key(&keys[0]), signing_key(&keys[1]));
    let civic = SigningKey::generate(&mut OsRng);
    let first = contribution(&state, &t1, "Trustee one", SetupPhase::One);
    state
        .apply(&Entry::decode(&first.to_bytes()).unwrap())
        .unwrap();
    // A copy, re-posted as is: one contribution per key and phase.
    assert!(matches!(
        refused(&mut state, &first),
        ApplyError::Duplicate(_)
    ));
    // The same parameters and proofs under another key: bound to an earlier digest.
    let Entry::SetupContribution { params, proof, .. } = &first else {
        unreachable!()
    };
    let copied = signed(
        &state,
        &civic,
        "Copycat",
        Contribution {
            phase: SetupPhase::One,
            params: params.as_bytes().to_vec(),
            proof: proof.as_bytes().to_vec(),
        },
    );
    assert!(matches!(
        refused(&mut state, &copied),
        ApplyError::Setup(SetupRuleError::Contribution(
            SetupError::KnowledgeProof { .. }
        ))
    ));
    // A signature that is not the named key's.
    let mut forged = contribution(&state, &civic, "Civic Lab", SetupPhase::One);
    if let Entry::SetupContribution { signature, .. } = &mut forged {
        signature[0] ^= 1;
    }
    assert!(matches!(
        refused(&mut state, &forged),
        ApplyError::Setup(SetupRuleError::Signature)
    ));
    let outside = contribution(&state, &civic, "Civic Lab", SetupPhase::One);
    state.apply(&outside).unwrap();

    // Phase 2 waits for trustee 2's phase-1 contribution (checked before the contribution).
    let early = signed(
        &state,
        &t1,
        "Trustee one",
        Contribution {
            phase: SetupPhase::Two,
            params: vec![0; 96],
            proof: vec![0; 384],
        },
    );
    assert_eq!(
        refused(&mut state, &early),
        ApplyError::Setup(SetupRuleError::TrusteesMissing {
            step: "phase 2 begins",
            phase: 1,
            missing: vec![2]
        })
    );
    let second = contribution(&state, &t2, "Trustee two", SetupPhase::One);
    state.apply(&second).unwrap();
    let p2 = contribution(&state, &t1, "Trustee one", SetupPhase::Two);
    state.apply(&p2).unwrap();

    // The ceremony closes once every trustee has contributed to phase 2.
    let setup = state.setup().unwrap();
    assert!(matches!(
        setup.final_entry(),
        Err(SetupRuleError::TrusteesMissing { phase: 2, .. })
    ));
    let p2b = contribution(&state, &t2, "Trustee two", SetupPhase::Two);
    state.apply(&p2b).unwrap();
    let names: Vec<(u8, &str, Option<u32>)> = state
        .setup()
        .unwrap()
        .contributors()
        .iter()
        .map(|c| (c.phase.into(), c.name.as_str(), c.trustee))
        .collect();
    assert_eq!(
        names,
        [
            (1, "Trustee one", Some(1)),
            (1, "Civic Lab", None),
            (1, "Trustee two", Some(2)),
            (2, "Trustee one", Some(1)),
            (2, "Trustee two", Some(2)),
        ]
    );

    // A final entry that pins other keys is refused; the transcript's is accepted.
    let (entry, pk) = state.setup().unwrap().final_entry().unwrap();
    let mut other_pk = pk.clone();
    other_pk.l_query[0] = other_pk.l_query[1];
    let wrong_hash = Entry::SetupFinal {
        groth16_vk: VerifyingKeyBytes::new(key_to_bytes(&pk.vk)).unwrap(),
        proving_key_hash: proving_key_hash(&other_pk),
    };
    assert_eq!(
        refused(&mut state, &wrong_hash),
        ApplyError::Setup(SetupRuleError::Final("the proving-key hash"))
    );
    state
        .apply(&Entry::decode(&entry.to_bytes()).unwrap())
        .unwrap();
    assert_eq!(state.phase(), Phase::Setup);
    assert_eq!(state.verifier().unwrap().vk_hash(), &vk_hash(&pk.vk));
    assert_eq!(state.proving_key_hash(), Some(&proving_key_hash(&pk)));
    // A voter's client takes the pinned key and refuses one with a single element changed.
    let status = ElectionStatus {
        phase: Phase::Open,
        registrations: 0,
        roll_root: None,
        joint_key: None,
        ballots: 0,
        dealings: 0,
        complaints: 0,
        partial_decryptions: 0,
        size: 0,
        proving_key_hash: state.proving_key_hash().map(hex::encode),
    };
    let served = proving_key_to_pinned_bytes(&pk);
    let loaded = load_proving_key(state.manifest(), &status, &served).unwrap();
    assert!(loaded == pk);
    let other = proving_key_to_pinned_bytes(&other_pk);
    assert!(load_proving_key(state.manifest(), &status, &other).is_err());
    let mut changed = pk.clone();
    changed.a_query[3] = changed.a_query[4];
    let changed = proving_key_to_pinned_bytes(&changed);
    assert!(load_proving_key(state.manifest(), &status, &changed).is_err());
    // One flipped bit, and the key's compressed form, are refused before any decoding.
    let mut flipped = served.clone();
    flipped[served.len() / 2] ^= 1;
    for bytes in [flipped, key_to_bytes(&pk)] {
        let e = load_proving_key(state.manifest(), &status, &bytes).unwrap_err();
        assert!(e.to_string().contains("pinned"), "{e}");
    }
    // Nothing of the ceremony after it closed.
    let late = Entry::SetupFinal {
        groth16_vk: VerifyingKeyBytes::new(key_to_bytes(&pk.vk)).unwrap(),
        proving_key_hash: proving_key_hash(&pk),
    };
    assert!(matches!(
        refused(&mut state, &late),
        ApplyError::Transition(TransitionError::WrongPhase { .. })
    ));
    state.apply(&registration).unwrap();
}

#[test]
fn a_version_1_election_has_no_setup_ceremony() {
    let keys = trustees();
    let m = manifest(&keys);
    // A version-2 manifest with a verifying key, or version 1 without one, is refused.
    let vk = VerifyingKeyBytes::new(
        Entry::decode(
            include_str!("../../verifier/tests/vectors/record-v1.jsonl")
                .lines()
                .next()
                .map(|l| {
                    let start = l.find(",\"entry\":").unwrap() + 9;
                    &l.as_bytes()[start..l.len() - 1]
                })
                .unwrap(),
        )
        .map(|e| match e {
            Entry::Manifest { groth16_vk, .. } => groth16_vk.unwrap().as_bytes().to_vec(),
            _ => unreachable!(),
        })
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        ElectionState::new(m, Some(vk)).unwrap_err(),
        ApplyError::VerifyingKeyMismatch
    );
}
