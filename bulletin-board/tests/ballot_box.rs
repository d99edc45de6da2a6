//! Ballot acceptance: verification in micro-batches, one ballot per nullifier, no replayed
//! ciphertext, refusal after close, receipts that verify.

use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use rand::RngCore;
use std::sync::Arc;
use zkvote_board::*;
use zkvote_circuits::complete::{build_complete_ballot, CompleteBallot, CompleteBallotError};
use zkvote_circuits::credential::Credential;
use zkvote_circuits::groth16::{setup, vk_hash, EligibilityVerifier, ProvingKey};
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::sample::sample_manifest_toml;
use zkvote_core::*;

const DEPTH: u8 = 4;

struct Fixture {
    log: Arc<BoardLog>,
    ctx: Arc<ElectionContext>,
    pk: ProvingKey,
    verifier: Arc<EligibilityVerifier>,
    voters: Vec<Credential>,
    roll: VoterRoll,
    board_key: SigningKey,
}

async fn fixture(policy: &str) -> Fixture {
    let (pk, vk) = setup(DEPTH, &mut OsRng);
    let mut id = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    let text = sample_manifest_toml()
        .replace("roll_depth = 20", &format!("roll_depth = {DEPTH}"))
        .replace(&"11".repeat(32), &hex::encode(vk_hash(&vk)))
        .replace(
            "5a4b564f5445000000000000000000000000000000000000000000000000beef",
            &hex::encode(id),
        )
        .replace(
            "revote_policy = \"reject\"",
            &format!("revote_policy = \"{policy}\""),
        );
    let manifest = Manifest::from_toml(&text).unwrap();
    let sk = SecretKey::random(&mut OsRng);
    let ctx = Arc::new(ElectionContext::new(manifest.clone(), sk.public_key()));
    let voters: Vec<Credential> = (0..6).map(|_| Credential::generate(&mut OsRng)).collect();
    let roll = VoterRoll::new(DEPTH, voters.iter().map(|v| v.commitment()).collect()).unwrap();
    let dir = std::env::temp_dir().join(format!("zkvote-bb-{}", hex::encode(&id[..8])));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.join("board.db").display()))
        .await
        .unwrap();
    let board_key = SigningKey::from_bytes(&[3; 32]);
    let log = Arc::new(BoardLog::new(store, board_key.clone()));
    log.create_election(
        &id,
        NewEntry::plain(EntryKind::Manifest, serde_json::to_vec(&manifest).unwrap()),
    )
    .await
    .unwrap();
    // The store applies the phase rule to phased entries: freeze, then open.
    for (kind, data) in [(EntryKind::RollFrozen, "frozen"), (EntryKind::Open, "open")] {
        log.store()
            .append(&id, &NewEntry::plain(kind, data.into()).phased())
            .await
            .unwrap();
    }
    Fixture {
        log,
        ctx,
        pk,
        verifier: Arc::new(EligibilityVerifier::new(&vk).unwrap()),
        voters,
        roll,
        board_key,
    }
}

fn vote(f: &Fixture, voter: usize, mayor: usize) -> CompleteBallot {
    let choices = Choices::from_indices(f.ctx.manifest(), &[vec![mayor], vec![]]).unwrap();
    build_complete_ballot(
        &f.ctx,
        &f.pk,
        &f.voters[voter],
        &f.roll.path(voter).unwrap(),
        &f.roll.root(),
        &choices,
        &mut OsRng,
    )
    .unwrap()
    .0
}

fn start(f: &Fixture) -> BallotBox {
    BallotBox::start(
        f.log.clone(),
        f.ctx.clone(),
        f.verifier.clone(),
        f.roll.root(),
        BallotBoxConfig::default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_valid_ballots_and_refuses_the_rest() {
    let f = fixture("reject").await;
    let bb = start(&f);
    let eid = f.ctx.manifest().election_id;
    let vk = f.board_key.verifying_key();

    let b0 = vote(&f, 0, 1);
    let r0 = bb.submit(b0.clone()).await.unwrap();
    r0.verify(&eid, &vk).unwrap();
    assert_eq!(r0.index, 3);

    // The same voter again (a new ballot, same nullifier), and the same ballot replayed.
    assert!(matches!(
        bb.submit(vote(&f, 0, 2)).await,
        Err(Rejection::AlreadyVoted(3))
    ));
    assert!(matches!(
        bb.submit(b0.clone()).await,
        Err(Rejection::AlreadyVoted(3))
    ));

    // A tampered ballot is invalid and changes nothing.
    let mut bad = vote(&f, 1, 0);
    bad.ballot.contests[0].selections[0].proof.responses[0] +=
        curve25519_dalek::scalar::Scalar::ONE;
    assert!(matches!(
        bb.submit(bad).await,
        Err(Rejection::Invalid(CompleteBallotError::Ballot(_)))
    ));
    // Another voter's ciphertexts and sigma proofs under this voter's nullifier and a fresh
    // eligibility proof: the sigma proofs bind the nullifier, so it fails.
    let mut copied = vote(&f, 2, 3);
    copied.ballot.contests = b0.ballot.contests.clone();
    assert!(matches!(
        bb.submit(copied).await,
        Err(Rejection::Invalid(_))
    ));

    // Concurrent valid ballots from different voters all land; one batch may hold them all.
    let tasks: Vec<_> = (3..6)
        .map(|v| {
            let b = vote(&f, v, v % 4);
            let bb = bb.clone();
            tokio::spawn(async move { bb.submit(b).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap().verify(&eid, &vk).unwrap();
    }
    assert_eq!(f.log.store().size(&eid).await.unwrap(), 7);

    bb.close();
    assert!(matches!(
        bb.submit(vote(&f, 1, 1)).await,
        Err(Rejection::NotOpen)
    ));
    assert_eq!(f.log.store().size(&eid).await.unwrap(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_ballots_with_one_nullifier_leave_exactly_one() {
    let f = fixture("reject").await;
    let bb = start(&f);
    let ballots: Vec<CompleteBallot> = (0..50).map(|i| vote(&f, 4, i % 4)).collect();
    let tasks: Vec<_> = ballots
        .into_iter()
        .map(|b| {
            let bb = bb.clone();
            tokio::spawn(async move { bb.submit(b).await })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(Rejection::AlreadyVoted(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(accepted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_ballot_counts_appends_revotes_but_refuses_replays() {
    let f = fixture("last-ballot-counts").await;
    let bb = start(&f);
    let eid = f.ctx.manifest().election_id;
    let first = vote(&f, 0, 1);
    bb.submit(first.clone()).await.unwrap();
    bb.submit(vote(&f, 0, 2)).await.unwrap();
    assert!(matches!(
        bb.submit(first).await,
        Err(Rejection::ReplayedCiphertext)
    ));
    assert_eq!(
        f.log
            .store()
            .entries_with_nullifier(&eid, &vote(&f, 0, 0).ballot.nullifier)
            .await
            .unwrap()
            .len(),
        2
    );
}
