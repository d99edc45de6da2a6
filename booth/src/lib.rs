//! zkvote-booth: the voter's steps of [`zkvote_protocol::voter`] for the web booth.
//!
//! [`Booth`] and the free functions here are plain Rust (tested natively); the
//! `wasm` module wraps them with wasm-bindgen for the booth's Web Worker (`web/worker.js`),
//! which is the only place the browser runs them. Every value crossing into JavaScript is
//! a string (JSON or hex) or bytes; every failure is a [`BoothError`] whose stable `code`
//! the page translates (`web/i18n.js`) and whose `message` gives the detail.
//!
//! Secrets stay in this module's memory or the browser's storage: the credential's text
//! comes in from the page's IndexedDB and the ballot's nonces never leave the worker
//! except when the voter audits that ballot (which is then never cast).
#![deny(missing_docs)]

use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zeroize::Zeroizing;
use zkvote_circuits::complete::{CompleteBallot, PendingBallot};
use zkvote_circuits::credential::Credential;
use zkvote_circuits::field::fr_to_bytes;
use zkvote_circuits::groth16::ProvingKey;
use zkvote_circuits::merkle::bucket::BucketId;
use zkvote_circuits::split_prover::{
    g2_from_bytes, g2_to_bytes, vartime_b_g2_sum, G1Part, Witness,
};
use zkvote_core::{BallotSecrets, Choices, Manifest};
use zkvote_protocol::api::{CheckpointView, ConsistencyView, ElectionStatus, Registered};
use zkvote_protocol::voter::roll::{self, RegistrationFile, DEFAULT_BUCKET_BITS};
use zkvote_protocol::voter::{self as steps, ReceiptFile, RollAnswer, VoterError, VotingSession};

#[cfg(target_arch = "wasm32")]
mod wasm;

/// A failure, with a stable code for the page's message catalogue and a detail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BoothError {
    /// Stable code: `credential`, `not-open`, `proving-key`, `roll`, `board-answer`,
    /// `not-registered`, `registration`, `choices`, `build`, `audit-failed`, `receipt`,
    /// `no-ballot`, `input`.
    pub code: &'static str,
    /// What exactly went wrong (English; shown under the translated message).
    pub message: String,
}

impl BoothError {
    fn new(code: &'static str, message: impl ToString) -> Self {
        BoothError {
            code,
            message: message.to_string(),
        }
    }

    /// The error as JSON (`{"code": ..., "message": ...}`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an error serializes")
    }
}

impl From<VoterError> for BoothError {
    fn from(e: VoterError) -> Self {
        let code = match &e {
            VoterError::NotOpen(_) => "not-open",
            VoterError::Board { what, .. } if what.contains("proving key") => "proving-key",
            VoterError::Board { what, .. } if what.contains("roll") => "roll",
            VoterError::Board { .. } => "board-answer",
            VoterError::NotRegistered => "not-registered",
            VoterError::Choices(_) => "choices",
            VoterError::Build(_) => "build",
            VoterError::Audit(_) => "audit-failed",
            VoterError::Receipt(_) => "receipt",
            VoterError::Registration(_) => "registration",
        };
        BoothError::new(code, e)
    }
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T, BoothError> {
    serde_json::from_str(json).map_err(|e| BoothError::new("input", format!("{what}: {e}")))
}

/// The board's manifest and status (JSON) for the election `election_id` (hex): the
/// manifest must be that election's.
fn election_answers(
    election_id: &str,
    manifest: &str,
    status: &str,
) -> Result<(Manifest, ElectionStatus), BoothError> {
    Ok((
        election_manifest(election_id, manifest)?,
        parse("status", status)?,
    ))
}

/// The board's manifest (JSON) for the election `election_id` (hex), which it must be.
fn election_manifest(election_id: &str, manifest: &str) -> Result<Manifest, BoothError> {
    let manifest: Manifest = parse("manifest", manifest)?;
    if hex::encode(manifest.election_id) != election_id {
        return Err(BoothError::new(
            "board-answer",
            "the board answered with another election's manifest",
        ));
    }
    Ok(manifest)
}

fn credential(text: &str) -> Result<Credential, BoothError> {
    Credential::from_file_text(text).map_err(|e| BoothError::new("credential", e))
}

/// A new credential's file text (the format of `zkvote voter keygen`).
pub fn new_credential() -> Zeroizing<String> {
    Credential::generate(&mut OsRng).to_file_text()
}

/// Checks a credential file's text and returns its public commitment (hex).
pub fn credential_commitment(text: &str) -> Result<String, BoothError> {
    Ok(hex::encode(fr_to_bytes(&credential(text)?.commitment())))
}

/// The JSON body of `POST /v1/elections/{id}/registrations` for a one-time code.
pub fn registration_body(code: &str, credential_text: &str) -> Result<String, BoothError> {
    let body = steps::registration(code, &credential(credential_text)?);
    Ok(serde_json::to_string(&body).expect("a registration serializes"))
}

/// Checks the board's answer (`registered`, JSON) to the registration of the credential
/// in the election `election_id`: the receipt is signed by the manifest's board key, its
/// inclusion proof holds and its entry is exactly this registration. Returns the
/// registration file's text (the format `zkvote voter register` writes), which keeps the
/// roll position for [`roll_bucket`].
pub fn registration_file(
    board_url: &str,
    election_id: &str,
    manifest: &str,
    credential_text: &str,
    registered: &str,
) -> Result<String, BoothError> {
    let manifest = election_manifest(election_id, manifest)?;
    let commitment = credential(credential_text)?.commitment();
    let registered: Registered = parse("registration answer", registered)?;
    roll::check_registration(&manifest, &commitment, &registered)?;
    Ok(RegistrationFile::new(board_url, &manifest, &commitment, registered).to_text())
}

/// One bucket of the frozen roll, as the page asks the board for it:
/// `GET /v1/elections/{id}/roll/buckets/{index}?bits={bits}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketRequest {
    /// The bucket's index.
    pub index: u64,
    /// Leaves per bucket, as a power of two.
    pub bits: u8,
}

/// The bucket of the frozen roll (`2^12` leaves, the CLI's default, clamped to the roll)
/// that holds the saved registration (its file's text) of this credential in the
/// election `election_id`. The board learns the bucket; the whole roll hides the voter
/// among every registered voter (`docs/protocol.md` section 9.4.1).
pub fn roll_bucket(
    election_id: &str,
    manifest: &str,
    credential_text: &str,
    registration: &str,
) -> Result<BucketRequest, BoothError> {
    let manifest = election_manifest(election_id, manifest)?;
    let commitment = credential(credential_text)?.commitment();
    let file = RegistrationFile::parse(registration)
        .map_err(|e| BoothError::new("registration", e.to_string()))?;
    let id = file.bucket(
        &manifest.election_id,
        &commitment,
        manifest.roll_depth,
        DEFAULT_BUCKET_BITS,
    )?;
    Ok(BucketRequest {
        index: id.index(),
        bits: id.bits(),
    })
}

/// The hash a version-2 election pins for its proving key, of the bytes a board served
/// (hex): what the page uses as the key's cache name.
pub fn proving_key_hash(bytes: &[u8]) -> String {
    hex::encode(zkvote_protocol::setup::pinned_bytes_hash(bytes))
}

/// A ballot just built: its tracker and the body to post.
#[derive(Serialize)]
pub struct BuiltBallot {
    /// The tracker (hex), which the voter can look up on the board.
    pub tracker: String,
    /// The complete ballot as the JSON body of `POST /v1/elections/{id}/ballots`.
    pub body: String,
}

/// An audited ballot: the options it encrypts and the revealed nonces.
#[derive(Serialize)]
pub struct AuditReport {
    /// The audited ballot's tracker (hex).
    pub tracker: String,
    /// Per contest (manifest order): its id and the ids of the options the ballot encrypts.
    pub choices: Vec<(String, Vec<String>)>,
    /// Per contest, per option: the encryption nonce (hex of the canonical scalar).
    pub nonces: Vec<Vec<String>>,
}

/// One open election in the booth: the checked session, the ballot built last (kept until
/// it is audited or cast) and a ballot whose proof is being made on two workers.
pub struct Booth {
    session: VotingSession,
    pending: Option<(CompleteBallot, BallotSecrets)>,
    proving: Option<Proving>,
}

/// A ballot whose eligibility proof is in progress ([`Booth::start`]).
struct Proving {
    ballot: PendingBallot,
    witness: Witness,
    g1: Option<G1Part>,
}

impl Booth {
    /// Opens the election `election_id` (hex) from the board's answers (manifest and
    /// status as JSON, the roll and the proving key as bytes), checked against each other by
    /// [`VotingSession::new`]: the proving key must hash to the election's pin, and the
    /// roll (the whole roll, or the answer for `bucket`) to the frozen root.
    pub fn open(
        election_id: &str,
        manifest: &str,
        status: &str,
        roll: &[u8],
        bucket: Option<BucketRequest>,
        proving_key: &[u8],
    ) -> Result<Booth, BoothError> {
        let (manifest, status) = election_answers(election_id, manifest, status)?;
        let answer = match bucket {
            None => RollAnswer::Whole(roll),
            Some(b) => RollAnswer::Bucket(
                BucketId::new(manifest.roll_depth, b.bits, b.index)
                    .map_err(|e| BoothError::new("input", e))?,
                roll,
            ),
        };
        let session = VotingSession::new(manifest, &status, answer, proving_key)?;
        Ok(Booth {
            session,
            pending: None,
            proving: None,
        })
    }

    /// Whether the roll the booth was opened with (the whole roll, or a bucket of it) holds
    /// the credential: if a bucket does not, the board gave a wrong roll position, and the
    /// page opens the booth again with the whole roll.
    pub fn holds(&self, credential_text: &str) -> Result<bool, BoothError> {
        Ok(self.session.path_for(&credential(credential_text)?).is_ok())
    }

    fn manifest(&self) -> &Manifest {
        self.session.ctx.manifest()
    }

    /// Builds a complete ballot for the choices (`{"contest id": ["option id", ...]}`),
    /// keeping it (and its secrets) for [`Booth::audit`] or [`Booth::cast_receipt`]. A
    /// ballot built before and not cast is dropped.
    pub fn build(
        &mut self,
        credential_text: &str,
        choices: &str,
    ) -> Result<BuiltBallot, BoothError> {
        self.pending = None;
        self.proving = None;
        let choices = self.choices(choices)?;
        let cred = credential(credential_text)?;
        let (ballot, secrets) = self.session.build_ballot(&cred, &choices, &mut OsRng)?;
        Ok(self.built(ballot, secrets))
    }

    fn choices(&self, choices: &str) -> Result<Choices, BoothError> {
        let selected: BTreeMap<String, Vec<String>> = parse("choices", choices)?;
        Choices::from_ids(self.manifest(), &selected).map_err(|e| BoothError::new("choices", e))
    }

    fn built(&mut self, ballot: CompleteBallot, secrets: BallotSecrets) -> BuiltBallot {
        let built = BuiltBallot {
            tracker: hex::encode(self.session.tracker(&ballot).as_bytes()),
            body: serde_json::to_string(&ballot).expect("a ballot serializes"),
        };
        self.pending = Some((ballot, secrets));
        built
    }

    /// Starts a ballot whose proof is made on two workers: encrypts and proves the choices
    /// and synthesizes the eligibility circuit. Returns the assignment for
    /// [`Helper::b_g2_sum`] on the other worker; [`Booth::prove_g1`] meanwhile, then
    /// [`Booth::finish`]. A ballot built before and not cast is dropped.
    pub fn start(&mut self, credential_text: &str, choices: &str) -> Result<Vec<u8>, BoothError> {
        self.pending = None;
        self.proving = None;
        let choices = self.choices(choices)?;
        let cred = credential(credential_text)?;
        let ballot = self.session.prepare_ballot(&cred, &choices, &mut OsRng)?;
        let witness =
            Witness::new(ballot.circuit.clone()).map_err(|e| BoothError::new("build", e))?;
        let assignment = witness.assignment_bytes();
        self.proving = Some(Proving {
            ballot,
            witness,
            g1: None,
        });
        Ok(assignment)
    }

    fn proving(&mut self) -> Result<&mut Proving, BoothError> {
        self.proving
            .as_mut()
            .ok_or_else(|| BoothError::new("no-ballot", "no ballot is being proved"))
    }

    /// The G1 part of the proof started by [`Booth::start`].
    pub fn prove_g1(&mut self) -> Result<(), BoothError> {
        let pk = self.session.proving_key.clone();
        let p = self.proving()?;
        let g1 = p
            .witness
            .vartime_g1_part(&pk, &mut OsRng)
            .map_err(|e| BoothError::new("build", e))?;
        p.g1 = Some(g1);
        Ok(())
    }

    /// Completes the ballot with the other worker's G2 sum (192 bytes); the proof is
    /// checked before the ballot is kept (for [`Booth::audit`] or [`Booth::cast_receipt`]).
    pub fn finish(&mut self, b_g2_sum: &[u8]) -> Result<BuiltBallot, BoothError> {
        let pk = self.session.proving_key.clone();
        let p = self.proving()?;
        let g1 =
            p.g1.as_ref()
                .ok_or_else(|| BoothError::new("no-ballot", "the G1 part is not made yet"))?;
        let sum = g2_from_bytes(b_g2_sum).map_err(|e| BoothError::new("build", e))?;
        let proof = g1
            .finish(&pk, &sum, &p.ballot.circuit.public)
            .map_err(|e| BoothError::new("build", e))?;
        let p = self.proving.take().expect("checked above");
        let (ballot, secrets) = p.ballot.complete(proof);
        Ok(self.built(ballot, secrets))
    }

    fn take_pending(&mut self) -> Result<(CompleteBallot, BallotSecrets), BoothError> {
        self.pending
            .take()
            .ok_or_else(|| BoothError::new("no-ballot", "no ballot has been built"))
    }

    /// Benaloh's challenge on the ballot built last: reveals its nonces and checks it
    /// encrypts the choices made. That ballot can no longer be cast.
    pub fn audit(&mut self) -> Result<AuditReport, BoothError> {
        let (ballot, secrets) = self.take_pending()?;
        let audited = steps::audit(&self.session, &ballot, secrets, &mut OsRng)?;
        let manifest = self.manifest();
        let choices = manifest
            .contests
            .iter()
            .zip(&audited.choices)
            .map(|(c, found)| {
                let ids = found.iter().map(|&i| c.options[i].id.clone()).collect();
                (c.id.clone(), ids)
            })
            .collect();
        let nonces = audited
            .opening
            .contests
            .iter()
            .map(|c| c.nonces.iter().map(|n| hex::encode(n.to_bytes())).collect())
            .collect();
        Ok(AuditReport {
            tracker: hex::encode(self.session.tracker(&ballot).as_bytes()),
            choices,
            nonces,
        })
    }

    /// Checks the board's receipt (`receipt`, JSON) for the ballot built last and cast:
    /// signed by the manifest's board key, its inclusion proof, and the logged entry is
    /// exactly that ballot. Returns the receipt file's text (the CLI's format). The
    /// ballot is kept if the receipt does not verify.
    pub fn cast_receipt(&mut self, board_url: &str, receipt: &str) -> Result<String, BoothError> {
        let (ballot, _) = self
            .pending
            .as_ref()
            .ok_or_else(|| BoothError::new("no-ballot", "no ballot has been built"))?;
        let receipt = parse("receipt", receipt)?;
        steps::check_cast_receipt(self.manifest(), ballot, &receipt)?;
        let file = ReceiptFile {
            board: board_url.to_string(),
            election_id: hex::encode(self.manifest().election_id),
            tracker: hex::encode(self.session.tracker(ballot).as_bytes()),
            receipt,
        };
        self.pending = None;
        Ok(file.to_text())
    }
}

/// The second worker's part of a two-worker proof: the election's proving key (checked
/// against the election's pin exactly as [`Booth::open`] does) and the G2 sum.
pub struct Helper {
    proving_key: ProvingKey,
}

impl Helper {
    /// Loads the proving key of the election `election_id` from the board's answers.
    pub fn open(
        election_id: &str,
        manifest: &str,
        status: &str,
        proving_key: &[u8],
    ) -> Result<Helper, BoothError> {
        let (manifest, status) = election_answers(election_id, manifest, status)?;
        let proving_key = steps::load_proving_key(&manifest, &status, proving_key)?;
        Ok(Helper { proving_key })
    }

    /// The G2 sum of [`Booth::start`]'s assignment, encoded for [`Booth::finish`].
    pub fn b_g2_sum(&self, assignment: &[u8]) -> Result<Vec<u8>, BoothError> {
        vartime_b_g2_sum(&self.proving_key, assignment)
            .map(|p| g2_to_bytes(&p))
            .map_err(|e| BoothError::new("build", e))
    }
}

/// What a receipt check established.
#[derive(Serialize)]
pub struct ReceiptCheck {
    /// The ballot's tracker (hex).
    pub tracker: String,
    /// Its index in the log.
    pub index: u64,
    /// The size of the receipt's signed checkpoint.
    pub receipt_size: u64,
    /// The size of the board's latest checkpoint, which extends the receipt's.
    pub latest_size: u64,
    /// The election's witnesses that cosigned that latest checkpoint (none for an
    /// election without witnesses).
    pub witnesses: Vec<String>,
}

/// Checks a kept receipt file against the board's latest checkpoint and the consistency
/// proof from the receipt's checkpoint to it (all JSON, as the board serves them).
pub fn check_receipt(
    manifest: &str,
    receipt_file: &str,
    latest: &str,
    consistency: &str,
) -> Result<ReceiptCheck, BoothError> {
    let manifest: Manifest = parse("manifest", manifest)?;
    let file =
        ReceiptFile::parse(receipt_file).map_err(|e| BoothError::new("receipt", e.to_string()))?;
    if file.election_id != hex::encode(manifest.election_id) {
        return Err(BoothError::new(
            "receipt",
            "the receipt is for another election",
        ));
    }
    let latest: CheckpointView = parse("checkpoint", latest)?;
    let proof: ConsistencyView = parse("consistency proof", consistency)?;
    let (old, new) = steps::check_receipt_extension(&manifest, &file.receipt, &latest, &proof)?;
    let witnesses = steps::cosigners(&manifest, &new, &latest.checkpoint)
        .map_err(|e| BoothError::new("board-answer", e))?;
    Ok(ReceiptCheck {
        tracker: file.tracker,
        index: file.receipt.index,
        receipt_size: old.size,
        latest_size: new.size,
        witnesses,
    })
}

/// Verifies a whole election record (JSON Lines, `docs/protocol.md` section 12.3) with the
/// numbered checks of section 13, exactly as `zkvote verify` does (the same streaming
/// verifier, ballots verified in batches); `progress` is told the bytes read so far.
/// Returns the report's JSON (`zkvote verify --json`'s form).
pub fn verify_record(text: &str, progress: &dyn Fn(u64)) -> Result<String, BoothError> {
    let (report, _) = zkvote_verifier::verify_reader(text.as_bytes(), Some(progress))
        .map_err(|e| BoothError::new("input", e))?;
    Ok(report.to_json())
}

/// The checkpoint size a receipt file's receipt is signed at (checked against the
/// manifest's board key), so the page can ask for the consistency proof from it.
pub fn receipt_size(manifest: &str, receipt_file: &str) -> Result<u64, BoothError> {
    let manifest: Manifest = parse("manifest", manifest)?;
    let file =
        ReceiptFile::parse(receipt_file).map_err(|e| BoothError::new("receipt", e.to_string()))?;
    Ok(steps::receipt_checkpoint(&manifest, &file.receipt)?.size)
}
