//! A voter: register a credential, vote (or audit a ballot with Benaloh's challenge), and
//! check a receipt. The steps and every check on the board's answers are
//! `zkvote_protocol::voter`'s; this module fetches, posts, and runs the heavy steps off
//! the async executor.

use crate::client::{election_path, BoardClient};
use crate::CliError;
use rand_core::OsRng;
use zkvote_circuits::complete::CompleteBallot;
use zkvote_circuits::credential::Credential;
use zkvote_circuits::merkle::bucket::BucketId;
use zkvote_core::log::{Checkpoint, Receipt};
use zkvote_core::{BallotSecrets, Choices, Manifest};
use zkvote_protocol::api::{CheckpointView, ConsistencyView, Registered};
use zkvote_protocol::voter::roll::{self, RegistrationFile};
use zkvote_protocol::voter::{self as steps, ReceiptFile, RollAnswer, VotingSession};
use zkvote_protocol::ErrorCode;

pub use zkvote_protocol::voter::parse_choices;

/// Registers a credential's commitment with a one-time registration code; the board's
/// answer (receipt and roll position) is checked and returned as a registration file.
pub async fn register(
    board: &BoardClient,
    election_id: &[u8; 32],
    code: &str,
    credential: &Credential,
) -> Result<RegistrationFile, CliError> {
    let manifest = board.manifest(election_id).await?;
    let registered: Registered = board
        .post_json(
            &format!("{}/registrations", election_path(election_id)),
            &steps::registration(code, credential),
        )
        .await
        .map_err(|e| match e.code() {
            Some(ErrorCode::BadRegistrationCode) => {
                CliError::msg("registration refused: unknown or already used registration code")
            }
            Some(ErrorCode::RollFrozen) => {
                CliError::msg("registration is closed: the voter roll is frozen")
            }
            _ => e.with_unknown_election(election_id),
        })?;
    let commitment = credential.commitment();
    roll::check_registration(&manifest, &commitment, &registered)?;
    Ok(RegistrationFile::new(
        board.base(),
        &manifest,
        &commitment,
        registered,
    ))
}

/// A voter's own bucket of the frozen roll: the bucket of `2^bits` leaves (clamped to the
/// roll) that holds the saved registration's position.
pub struct BucketOf<'a> {
    /// The saved registration.
    pub registration: &'a RegistrationFile,
    /// The registered credential.
    pub credential: &'a Credential,
    /// Leaves per bucket, as a power of two.
    pub bits: u8,
}

impl BucketOf<'_> {
    fn id(&self, manifest: &Manifest) -> Result<BucketId, CliError> {
        Ok(self.registration.bucket(
            &manifest.election_id,
            &self.credential.commitment(),
            manifest.roll_depth,
            self.bits,
        )?)
    }
}

/// Loads an open election: manifest, status, the frozen roll (the whole roll, or only the
/// voter's bucket of it) and the proving key, checked against each other by
/// [`VotingSession::new`].
pub async fn prepare(
    board: &BoardClient,
    election_id: &[u8; 32],
    bucket: Option<&BucketOf<'_>>,
) -> Result<VotingSession, CliError> {
    let manifest = board.manifest(election_id).await?;
    let status = board.status(election_id).await?;
    steps::require_open(&status)?;
    let id = bucket.map(|b| b.id(&manifest)).transpose()?;
    let roll = fetch_roll(board, election_id, id).await?;
    let pk = board
        .get_bytes(&format!("{}/proving-key", election_path(election_id)))
        .await?;
    blocking(move || {
        let answer = roll_answer(id, &roll);
        VotingSession::new(manifest, &status, answer, &pk)
    })
    .await
}

/// The session over another copy of the roll: another voter's bucket, or the whole roll
/// (`None`); the election, keys and root kept.
pub async fn with_roll(
    board: &BoardClient,
    session: &VotingSession,
    bucket: Option<&BucketOf<'_>>,
) -> Result<VotingSession, CliError> {
    let manifest = session.ctx.manifest();
    let id = bucket.map(|b| b.id(manifest)).transpose()?;
    let roll = fetch_roll(board, &manifest.election_id, id).await?;
    let session = session.clone();
    blocking(move || session.with_roll(roll_answer(id, &roll))).await
}

/// The whole roll (every voter downloads the same bytes, so the board does not learn
/// whose path is wanted), or one bucket (the board learns the bucket).
async fn fetch_roll(
    board: &BoardClient,
    election_id: &[u8; 32],
    bucket: Option<BucketId>,
) -> Result<Vec<u8>, CliError> {
    let path = match bucket {
        None => format!("{}/roll", election_path(election_id)),
        Some(id) => format!(
            "{}/roll/buckets/{}?bits={}",
            election_path(election_id),
            id.index(),
            id.bits()
        ),
    };
    board.get_bytes(&path).await
}

fn roll_answer(bucket: Option<BucketId>, bytes: &[u8]) -> RollAnswer<'_> {
    match bucket {
        None => RollAnswer::Whole(bytes),
        Some(id) => RollAnswer::Bucket(id, bytes),
    }
}

/// Runs a heavy protocol step off the async executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, steps::VoterError> + Send + 'static,
) -> Result<T, CliError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CliError::msg(e.to_string()))?
        .map_err(CliError::from)
}

/// Asks the choices on the terminal, contest by contest.
pub fn ask_choices(manifest: &Manifest) -> Result<Choices, CliError> {
    use std::io::{BufRead, Write};
    let stdin = std::io::stdin();
    let mut specs = Vec::new();
    for c in &manifest.contests {
        eprintln!(
            "{} (choose {} to {}):",
            c.title, c.min_selections, c.max_selections
        );
        for (i, o) in c.options.iter().enumerate() {
            eprintln!("  {}. {} [{}]", i + 1, o.label, o.id);
        }
        eprint!("your choice (numbers or ids, separated by commas): ");
        std::io::stderr().flush().ok();
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::msg(format!("cannot read the choice: {e}")))?;
        let ids: Vec<String> = line
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s.parse::<usize>() {
                Ok(n) if n >= 1 && n <= c.options.len() => c.options[n - 1].id.clone(),
                _ => s.to_string(),
            })
            .collect();
        specs.push(format!("{}={}", c.id, ids.join(",")));
    }
    Ok(parse_choices(manifest, &specs)?)
}

/// Builds a complete ballot (encryption, proofs, eligibility proof) off the executor.
pub async fn build(
    session: &VotingSession,
    credential: &Credential,
    choices: Choices,
) -> Result<(CompleteBallot, BallotSecrets), CliError> {
    let (session, credential) = (session.clone(), credential.clone());
    blocking(move || session.build_ballot(&credential, &choices, &mut OsRng)).await
}

/// Benaloh's challenge: reveals the ballot's nonces and checks that it encrypts the
/// choices. The audited ballot must never be cast. Returns the option indices found.
pub fn audit(
    session: &VotingSession,
    ballot: &CompleteBallot,
    secrets: BallotSecrets,
) -> Result<Vec<Vec<usize>>, CliError> {
    Ok(steps::audit(session, ballot, secrets, &mut OsRng)?.choices)
}

/// How long a cast ballot's receipt is waited for while the election's witnesses do not
/// answer (the ballot is recorded meanwhile).
const WITNESS_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Casts a ballot; checks the receipt (signature, inclusion, the witnesses' cosignatures,
/// and that the logged entry is exactly this ballot) and returns it with the tracker. If
/// the ballot is recorded but the election's witnesses have not cosigned it yet, asks
/// for its receipt again for a while.
pub async fn cast(
    board: &BoardClient,
    session: &VotingSession,
    ballot: &CompleteBallot,
) -> Result<ReceiptFile, CliError> {
    let manifest: &Manifest = session.ctx.manifest();
    let eid = manifest.election_id;
    let tracker = hex::encode(session.tracker(ballot).as_bytes());
    let posted = board
        .post_json(&format!("{}/ballots", election_path(&eid)), ballot)
        .await;
    let receipt: Receipt = match posted {
        Err(e) if e.code() == Some(ErrorCode::WitnessesUnavailable) => {
            eprintln!("the ballot is recorded (tracker {tracker}) but the election's witnesses have not cosigned it yet; waiting for its receipt (do not vote again)");
            recorded_receipt(board, &eid, &tracker).await?
        }
        other => other?,
    };
    steps::check_cast_receipt(manifest, ballot, &receipt)?;
    Ok(ReceiptFile {
        board: board.base().to_string(),
        election_id: hex::encode(eid),
        tracker: hex::encode(session.tracker(ballot).as_bytes()),
        receipt,
    })
}

/// The receipt of a recorded ballot, asked for every two seconds until the witnesses
/// answer or [`WITNESS_WAIT`] has passed.
async fn recorded_receipt(
    board: &BoardClient,
    eid: &[u8; 32],
    tracker: &str,
) -> Result<Receipt, CliError> {
    let path = format!("{}/ballots/{tracker}", election_path(eid));
    let deadline = tokio::time::Instant::now() + WITNESS_WAIT;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        match board.get_json(&path).await {
            Err(e) if e.code() == Some(ErrorCode::WitnessesUnavailable) => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(CliError::msg(format!(
                        "the ballot is recorded (tracker {tracker}) but the election's witnesses still have not cosigned it; do not vote again: its receipt will be served at {}{path}",
                        board.base()
                    )));
                }
            }
            other => return other,
        }
    }
}

/// The names of the election's witnesses that cosigned a receipt's checkpoint (none for
/// an election without witnesses).
pub fn cosigned_by(manifest: &Manifest, receipt: &Receipt) -> Result<Vec<String>, CliError> {
    let cp = steps::receipt_checkpoint(manifest, receipt)?;
    steps::cosigners(manifest, &cp, &receipt.checkpoint).map_err(CliError::msg)
}

/// Checks a receipt: its checkpoint signature and inclusion proof, then that the board's
/// latest checkpoint extends the receipt's (consistency proof). Returns both checkpoints.
pub async fn check_receipt(
    board: &BoardClient,
    file: &ReceiptFile,
) -> Result<(Checkpoint, Checkpoint), CliError> {
    let eid = crate::client::parse_election_id(&file.election_id)?;
    let manifest = board.manifest(&eid).await?;
    let old = steps::receipt_checkpoint(&manifest, &file.receipt)?;
    let latest: CheckpointView = board
        .get_json(&format!("{}/checkpoint", election_path(&eid)))
        .await?;
    let proof: ConsistencyView = board
        .get_json(&format!(
            "{}/proofs/consistency?old={}&new={}",
            election_path(&eid),
            old.size,
            latest.size
        ))
        .await?;
    Ok(steps::check_receipt_extension(
        &manifest,
        &file.receipt,
        &latest,
        &proof,
    )?)
}
