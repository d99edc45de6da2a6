//! The booth's steps natively (the same code the worker runs as WebAssembly): a ballot is
//! built and audited for a registered credential, from the whole roll or the voter's
//! bucket of it; every refusal carries the stable code the page translates, and a refused
//! step keeps nothing.

use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, SeedableRng};
use zkvote_booth::{
    credential_commitment, new_credential, registration_body, registration_file, roll_bucket,
    Booth, BucketRequest,
};
use zkvote_circuits::credential::Credential;
use zkvote_circuits::field::fr_to_bytes;
use zkvote_circuits::groth16::{key_to_bytes, setup, ProvingKey};
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::log::{inclusion_proof, origin_for, Checkpoint, MemoryTree, Receipt};
use zkvote_core::log::{leaf_hash, BOARD_KEY_NAME};
use zkvote_core::sample::sample_manifest_toml;
use zkvote_core::SecretKey;
use zkvote_protocol::api::{ElectionStatus, Registered};
use zkvote_protocol::Entry;
use zkvote_protocol::Phase;
use zkvote_tally::TrusteeKeys;
use zkvote_testkit::TestManifest;

const DEPTH: u8 = 2;
const EID: [u8; 32] = [0xb0; 32];

struct Election {
    manifest: String,
    status: ElectionStatus,
    roll: Vec<u8>,
    proving_key: Vec<u8>,
    voter: String,
}

fn election_with(pk: &ProvingKey) -> Election {
    let board = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
    let commission = ed25519_dalek::SigningKey::from_bytes(&[2; 32]).verifying_key();
    let trustees = [TrusteeKeys::generate(1, &mut OsRng)];
    let manifest = TestManifest {
        election_id: EID,
        commission: &commission,
        board: &board,
        eligibility: pk,
        roll_depth: DEPTH,
        revote_policy: "reject",
        trustees: (&trustees, 1),
    }
    .build(&sample_manifest_toml());
    let voter = Credential::generate(&mut OsRng);
    let other = Credential::generate(&mut OsRng);
    let commitments = vec![other.commitment(), voter.commitment()];
    let roll = VoterRoll::new(DEPTH, commitments.clone()).unwrap();
    let joint = SecretKey::random(&mut OsRng).public_key();
    let status = ElectionStatus {
        phase: Phase::Open,
        registrations: 2,
        roll_root: Some(hex::encode(fr_to_bytes(&roll.root()))),
        joint_key: Some(hex::encode(joint.element().to_bytes())),
        ballots: 0,
        dealings: 1,
        complaints: 0,
        partial_decryptions: 0,
        size: 8,
        proving_key_hash: None,
    };
    Election {
        manifest: serde_json::to_string(&manifest).unwrap(),
        status,
        roll: commitments.iter().flat_map(fr_to_bytes).collect(),
        proving_key: key_to_bytes(pk),
        voter: (*voter.to_file_text()).clone(),
    }
}

fn keys(seed: u64) -> ProvingKey {
    setup(DEPTH, &mut ChaCha20Rng::seed_from_u64(seed)).0
}

fn open(e: &Election) -> Result<Booth, zkvote_booth::BoothError> {
    open_with(e, None)
}

fn open_with(
    e: &Election,
    bucket: Option<BucketRequest>,
) -> Result<Booth, zkvote_booth::BoothError> {
    let status = serde_json::to_string(&e.status).unwrap();
    Booth::open(
        &hex::encode(EID),
        &e.manifest,
        &status,
        &e.roll,
        bucket,
        &e.proving_key,
    )
}

fn code_of<T>(r: Result<T, zkvote_booth::BoothError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code,
    }
}

const CHOICES: &str = r#"{"mayor": ["ada"], "parks": ["trees", "pool"]}"#;

#[test]
fn a_registered_voter_builds_and_audits_a_ballot() {
    let e = election_with(&keys(1));
    let mut booth = open(&e).unwrap();
    let built = booth.build(&e.voter, CHOICES).unwrap();
    assert_eq!(built.tracker.len(), 64);
    let ballot: serde_json::Value = serde_json::from_str(&built.body).unwrap();
    assert!(ballot.is_object());
    let report = booth.audit().unwrap();
    assert_eq!(report.tracker, built.tracker);
    assert_eq!(
        report.choices[0],
        ("mayor".to_string(), vec!["ada".to_string()])
    );
    assert_eq!(
        report.choices[1].1,
        vec!["trees".to_string(), "pool".to_string()]
    );
    assert!(report.nonces.iter().flatten().all(|n| n.len() == 64));
    // The audited ballot is gone: it can be neither audited again nor cast.
    assert_eq!(code_of(booth.audit()), "no-ballot");
    assert_eq!(code_of(booth.cast_receipt("http://b", "{}")), "no-ballot");
}

#[test]
fn what_the_board_serves_is_checked_against_the_election() {
    let pk = keys(1);
    let e = election_with(&pk);
    assert_eq!(code_of(open(&e)), "ok");

    let mut other_key = election_with(&pk);
    other_key.proving_key = key_to_bytes(&keys(2));
    assert_eq!(code_of(open(&other_key)), "proving-key");

    let mut flipped = election_with(&pk);
    let n = flipped.proving_key.len();
    flipped.proving_key[n / 2] ^= 1;
    assert_ne!(code_of(open(&flipped)), "ok");

    let mut roll = election_with(&pk);
    roll.roll[5] ^= 1;
    assert_eq!(code_of(open(&roll)), "roll");

    let mut closed = election_with(&pk);
    closed.status.phase = Phase::Closed;
    assert_eq!(code_of(open(&closed)), "not-open");

    let status = serde_json::to_string(&e.status).unwrap();
    let another = Booth::open(
        &hex::encode([7u8; 32]),
        &e.manifest,
        &status,
        &e.roll,
        None,
        &e.proving_key,
    );
    assert_eq!(code_of(another), "board-answer");
    assert_eq!(
        code_of(Booth::open(
            &hex::encode(EID),
            "{",
            &status,
            &e.roll,
            None,
            &e.proving_key
        )),
        "input"
    );
}

#[test]
fn the_voter_s_mistakes_are_named() {
    let e = election_with(&keys(1));
    let mut booth = open(&e).unwrap();
    let stranger = new_credential();
    assert_eq!(code_of(booth.build(&stranger, CHOICES)), "not-registered");
    assert_eq!(
        code_of(booth.build(&e.voter, r#"{"mayor": ["ada", "bo"]}"#)),
        "choices"
    );
    assert_eq!(
        code_of(booth.build(&e.voter, r#"{"mayor": ["nobody"]}"#)),
        "choices"
    );
    assert_eq!(code_of(booth.build(&e.voter, "[1]")), "input");
    let corrupt = e.voter.replace("\"secret\": \"", "\"secret\": \"0");
    assert_eq!(code_of(booth.build(&corrupt, CHOICES)), "credential");
    assert_eq!(code_of(booth.audit()), "no-ballot");
}

#[test]
fn credentials_and_registrations_use_the_cli_s_formats() {
    let text = new_credential();
    let cred = Credential::from_file_text(&text).unwrap();
    let commitment = credential_commitment(&text).unwrap();
    assert_eq!(commitment, hex::encode(fr_to_bytes(&cred.commitment())));
    let body: serde_json::Value =
        serde_json::from_str(&registration_body(" code-1 ", &text).unwrap()).unwrap();
    assert_eq!(body["code"], "code-1");
    assert_eq!(body["commitment"], commitment.as_str());
    // Only the code and the public commitment are sent.
    assert_eq!(body.as_object().unwrap().len(), 2);
    assert!(!body
        .to_string()
        .contains(&hex::encode(fr_to_bytes(cred.secret()))));
    assert_eq!(code_of(registration_body("c", "{}")), "credential");
}

#[test]
fn a_ballot_proved_on_two_workers_is_checked_and_audits_like_any_other() {
    use zkvote_booth::Helper;
    let pk = keys(1);
    let e = election_with(&pk);
    let status = serde_json::to_string(&e.status).unwrap();
    let eid = hex::encode(EID);
    let mut booth = open(&e).unwrap();
    let helper = Helper::open(&eid, &e.manifest, &status, &e.proving_key).unwrap();
    let another_key = key_to_bytes(&keys(2));
    assert_eq!(
        code_of(Helper::open(&eid, &e.manifest, &status, &another_key)),
        "proving-key"
    );

    let assignment = booth.start(&e.voter, CHOICES).unwrap();
    let sum = helper.b_g2_sum(&assignment).unwrap();
    // Out of order or malformed: refused, and the ballot in progress is kept.
    assert_eq!(code_of(booth.finish(&sum)), "no-ballot");
    booth.prove_g1().unwrap();
    assert_eq!(code_of(booth.finish(&sum[..191])), "build");
    assert_eq!(code_of(helper.b_g2_sum(&assignment[1..])), "build");
    let built = booth.finish(&sum).unwrap();
    let report = booth.audit().unwrap();
    assert_eq!(report.tracker, built.tracker);
    assert_eq!(report.choices[0].1, vec!["ada".to_string()]);
    // A G2 sum from another ballot does not fit.
    booth.start(&e.voter, r#"{"mayor": ["bo"]}"#).unwrap();
    booth.prove_g1().unwrap();
    assert_eq!(code_of(booth.finish(&sum)), "build");
    assert_eq!(
        code_of(booth.start(&new_credential(), CHOICES)),
        "not-registered"
    );
}

/// The board's answer to the registration of `voter` (the election's second): a receipt
/// signed by the manifest's board key (seed `[1; 32]`) over a log holding one entry
/// before it, and the roll position `position`.
fn registered(voter: &str, position: u64) -> String {
    let commitment = Credential::from_file_text(voter).unwrap().commitment();
    let tree =
        MemoryTree::from_leaf_hashes([leaf_hash(b"genesis"), Entry::registration_leaf(commitment)]);
    let checkpoint = Checkpoint {
        origin: origin_for(&EID),
        size: 2,
        root: tree.root(),
    };
    let receipt = Receipt {
        index: 1,
        leaf_hash: Entry::registration_leaf(commitment),
        checkpoint: checkpoint.sign(
            BOARD_KEY_NAME,
            &ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
        ),
        inclusion_proof: inclusion_proof(&tree, 1, 2).unwrap(),
    };
    serde_json::to_string(&Registered {
        receipt,
        roll_position: position,
    })
    .unwrap()
}

#[test]
fn a_registered_voter_fetches_its_bucket_of_the_roll() {
    let e = election_with(&keys(1));
    let eid = hex::encode(EID);
    let file = registration_file(
        "http://b",
        &eid,
        &e.manifest,
        &e.voter,
        &registered(&e.voter, 1),
    )
    .unwrap();
    // The file is the CLI's: `zkvote voter vote --registration` reads it.
    let parsed = zkvote_protocol::voter::roll::RegistrationFile::parse(&file).unwrap();
    assert_eq!((parsed.roll_position, parsed.receipt.index), (1, 1));

    // A roll of depth 2 is one bucket: bits clamp to the depth.
    let bucket = roll_bucket(&eid, &e.manifest, &e.voter, &file).unwrap();
    assert_eq!(bucket, BucketRequest { index: 0, bits: 2 });
    // At depth 2 the bucket's answer (no sibling above it) is the registered leaves.
    let mut booth = open_with(&e, Some(bucket)).unwrap();
    assert!(booth.holds(&e.voter).unwrap());
    assert!(!booth.holds(&new_credential()).unwrap());
    booth.build(&e.voter, CHOICES).unwrap();

    // A bucket that does not exist, or an answer that does not fold to the frozen root.
    let past = BucketRequest { index: 1, bits: 2 };
    assert_eq!(code_of(open_with(&e, Some(past))), "input");
    let mut tampered = election_with(&keys(1));
    tampered.roll[40] ^= 1;
    assert_eq!(code_of(open_with(&tampered, Some(bucket))), "roll");
}

#[test]
fn a_registration_answer_or_file_that_does_not_fit_is_refused() {
    let e = election_with(&keys(1));
    let eid = hex::encode(EID);
    let answer = registered(&e.voter, 1);
    // The receipt is for this voter's registration entry, not another's.
    let stranger = new_credential();
    assert_eq!(
        code_of(registration_file(
            "b",
            &eid,
            &e.manifest,
            &stranger,
            &answer
        )),
        "receipt"
    );
    // A position past the roll, a forged signature, another election, a malformed answer.
    let past = registered(&e.voter, 4);
    assert_eq!(
        code_of(registration_file("b", &eid, &e.manifest, &e.voter, &past)),
        "board-answer"
    );
    let mut value: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let cp = value["receipt"]["checkpoint"].as_str().unwrap().to_string();
    let sig_at = cp.rfind(' ').unwrap() + 1;
    let mut sig = cp.into_bytes();
    sig[sig_at + 10] = if sig[sig_at + 10] == b'A' { b'B' } else { b'A' };
    value["receipt"]["checkpoint"] = String::from_utf8(sig).unwrap().into();
    assert_eq!(
        code_of(registration_file(
            "b",
            &eid,
            &e.manifest,
            &e.voter,
            &value.to_string()
        )),
        "receipt"
    );
    assert_eq!(
        code_of(registration_file(
            "b",
            &hex::encode([7u8; 32]),
            &e.manifest,
            &e.voter,
            &answer
        )),
        "board-answer"
    );
    assert_eq!(
        code_of(registration_file("b", &eid, &e.manifest, &e.voter, "{}")),
        "input"
    );

    // A registration file for another credential, or not a registration file at all.
    let file = registration_file("b", &eid, &e.manifest, &e.voter, &answer).unwrap();
    assert_eq!(
        code_of(roll_bucket(&eid, &e.manifest, &stranger, &file)),
        "registration"
    );
    assert_eq!(
        code_of(roll_bucket(&eid, &e.manifest, &e.voter, "{}")),
        "registration"
    );
}
