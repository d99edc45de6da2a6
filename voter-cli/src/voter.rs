//! A voter: register a credential, vote (or audit a ballot with Benaloh's challenge), and
//! check a receipt.

use crate::client::{election_path, BoardClient};
use crate::files::ReceiptFile;
use crate::CliError;
use ark_bls12_381::Fr;
use rand_core::OsRng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use zkvote_circuits::complete::{build_complete_ballot, CompleteBallot};
use zkvote_circuits::credential::Credential;
use zkvote_circuits::field::{fr_from_bytes, fr_to_bytes};
use zkvote_circuits::groth16::{proving_key_from_bytes, vk_hash, ProvingKey};
use zkvote_circuits::merkle::{MerklePath, VoterRoll};
use zkvote_core::codec::hex32;
use zkvote_core::log::{leaf_hash, Checkpoint, Receipt};
use zkvote_core::{
    vartime_verify_opening, BallotSecrets, Choices, ElectionContext, ElectionPublicKey, Element,
    Manifest,
};
use zkvote_verifier::entries::Entry;

/// Registers a credential's commitment with a one-time registration code.
pub async fn register(
    board: &BoardClient,
    election_id: &[u8; 32],
    code: &str,
    credential: &Credential,
) -> Result<Receipt, CliError> {
    let body = json!({
        "code": code.trim(),
        "commitment": hex::encode(fr_to_bytes(&credential.commitment())),
    });
    board
        .post_json(
            &format!("{}/registrations", election_path(election_id)),
            &body,
        )
        .await
        .map_err(|e| match e.code() {
            Some("bad-registration-code") => {
                CliError::msg("registration refused: unknown or already used registration code")
            }
            Some("roll-frozen") => {
                CliError::msg("registration is closed: the voter roll is frozen")
            }
            _ => e.with_unknown_election(election_id),
        })
}

/// What voters need to build ballots for an open election: its context, the proving key
/// and the frozen roll.
pub struct VotingSession {
    /// The election context (manifest and joint key).
    pub ctx: Arc<ElectionContext>,
    /// The eligibility proving key.
    pub proving_key: Arc<ProvingKey>,
    /// The frozen roll.
    pub roll: Arc<VoterRoll>,
}

impl VotingSession {
    /// The voter's path in the frozen roll.
    pub fn path_for(&self, credential: &Credential) -> Result<MerklePath, CliError> {
        self.roll
            .position(&credential.commitment())
            .and_then(|p| self.roll.path(p))
            .ok_or_else(|| {
                CliError::msg("your credential is not in the voter roll of this election")
            })
    }
}

/// Loads an open election: manifest, joint key, the frozen roll (checked against the
/// board's root) and the proving key (checked against the manifest).
pub async fn prepare(
    board: &BoardClient,
    election_id: &[u8; 32],
) -> Result<VotingSession, CliError> {
    let manifest = board.manifest(election_id).await?;
    let status = board.status(election_id).await?;
    if status["phase"] != "open" {
        return Err(CliError::msg(format!(
            "the election is not open for voting (phase: {})",
            status["phase"].as_str().unwrap_or("unknown")
        )));
    }
    let joint_key = status["joint_key"]
        .as_str()
        .and_then(|k| hex32(k).ok())
        .and_then(|k| Element::decode(&k).ok())
        .and_then(|e| ElectionPublicKey::new(e).ok())
        .ok_or_else(|| CliError::msg("the board gave no valid joint key"))?;
    // Every voter downloads the same whole roll (32 bytes per voter), so the board does
    // not learn whose path is asked for.
    let bytes = board
        .get_bytes(&format!("{}/roll", election_path(election_id)))
        .await?;
    if bytes.len() % 32 != 0 {
        return Err(CliError::msg("the board's voter roll is malformed"));
    }
    let commitments: Vec<Fr> = bytes
        .chunks_exact(32)
        .enumerate()
        .map(|(i, c)| {
            let mut b = [0u8; 32];
            b.copy_from_slice(c);
            fr_from_bytes(&b, "commitment")
                .map_err(|_| CliError::msg(format!("the board's voter roll is malformed at {i}")))
        })
        .collect::<Result<_, _>>()?;
    let roll = VoterRoll::new(manifest.roll_depth, commitments)
        .map_err(|e| CliError::msg(format!("the voter roll: {e}")))?;
    if status["roll_root"].as_str() != Some(hex::encode(fr_to_bytes(&roll.root())).as_str()) {
        return Err(CliError::msg(
            "the board's frozen roll root is not the root of its registrations",
        ));
    }
    let bytes = board
        .get_bytes(&format!("{}/proving-key", election_path(election_id)))
        .await?;
    let pk = tokio::task::spawn_blocking(move || proving_key_from_bytes(&bytes))
        .await
        .map_err(|e| CliError::msg(e.to_string()))?
        .map_err(|e| CliError::msg(format!("the board's proving key is invalid: {e}")))?;
    if vk_hash(&pk.vk) != manifest.groth16_vk_hash {
        return Err(CliError::msg(
            "the board's proving key is not the manifest's eligibility key",
        ));
    }
    Ok(VotingSession {
        ctx: Arc::new(ElectionContext::new(manifest, joint_key)),
        proving_key: Arc::new(pk),
        roll: Arc::new(roll),
    })
}

/// Parses `--choice contest=option[,option...]` flags (an empty list selects nothing).
pub fn parse_choices(manifest: &Manifest, specs: &[String]) -> Result<Choices, CliError> {
    let mut selected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for spec in specs {
        let (contest, options) = spec.split_once('=').ok_or_else(|| {
            CliError::msg(format!(
                "wrong choice {spec:?}: write contest=option or contest=option1,option2"
            ))
        })?;
        let list = options
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_string);
        selected
            .entry(contest.trim().to_string())
            .or_default()
            .extend(list);
    }
    Choices::from_ids(manifest, &selected)
        .map_err(|e| CliError::msg(format!("wrong choices for the contest: {e}")))
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
    parse_choices(manifest, &specs)
}

/// Builds a complete ballot (encryption, proofs, eligibility proof) off the executor.
pub async fn build(
    session: &VotingSession,
    credential: &Credential,
    choices: Choices,
) -> Result<(CompleteBallot, BallotSecrets), CliError> {
    let path = session.path_for(credential)?;
    let (ctx, pk, root) = (
        session.ctx.clone(),
        session.proving_key.clone(),
        session.roll.root(),
    );
    let credential = credential.clone();
    tokio::task::spawn_blocking(move || {
        build_complete_ballot(&ctx, &pk, &credential, &path, &root, &choices, &mut OsRng)
    })
    .await
    .map_err(|e| CliError::msg(e.to_string()))?
    .map_err(|e| CliError::msg(format!("cannot build the ballot: {e}")))
}

/// Benaloh's challenge: reveals the ballot's nonces and checks that it encrypts the
/// choices. The audited ballot must never be cast. Returns the option indices found.
pub fn audit(
    session: &VotingSession,
    ballot: &CompleteBallot,
    secrets: BallotSecrets,
) -> Result<Vec<Vec<usize>>, CliError> {
    let chosen = secrets.choices().selected_indices();
    let opening = secrets.into_opening();
    let found = vartime_verify_opening(&session.ctx, &ballot.ballot, &opening, &mut OsRng)
        .map_err(|e| CliError::msg(format!("AUDIT FAILED: {e}")))?;
    if found != chosen {
        return Err(CliError::msg(
            "AUDIT FAILED: the ballot does not encrypt the choices made",
        ));
    }
    Ok(found)
}

/// Casts a ballot; checks the receipt (signature, inclusion, and that the logged entry is
/// exactly this ballot) and returns it with the tracker.
pub async fn cast(
    board: &BoardClient,
    session: &VotingSession,
    ballot: &CompleteBallot,
) -> Result<ReceiptFile, CliError> {
    let manifest = session.ctx.manifest();
    let eid = manifest.election_id;
    let receipt: Receipt = board
        .post_json(&format!("{}/ballots", election_path(&eid)), ballot)
        .await?;
    let board_key = ed25519_dalek::VerifyingKey::from_bytes(&manifest.board_key)
        .map_err(|_| CliError::msg("the manifest's board key is invalid"))?;
    receipt
        .verify(&eid, &board_key)
        .map_err(|e| CliError::msg(format!("the board's receipt does not verify: {e}")))?;
    let entry = Entry::Ballot {
        ballot: ballot.clone(),
    };
    if receipt.leaf_hash != leaf_hash(&entry.to_bytes()) {
        return Err(CliError::msg(
            "the board's receipt is for an entry that is not this ballot",
        ));
    }
    Ok(ReceiptFile {
        board: board.base().to_string(),
        election_id: hex::encode(eid),
        tracker: hex::encode(ballot.ballot.digest(session.ctx.manifest_hash()).as_bytes()),
        receipt,
    })
}

/// Checks a receipt: its checkpoint signature and inclusion proof, then that the board's
/// latest checkpoint extends the receipt's (consistency proof). Returns both checkpoints.
pub async fn check_receipt(
    board: &BoardClient,
    file: &ReceiptFile,
) -> Result<(Checkpoint, Checkpoint), CliError> {
    let eid = crate::client::parse_election_id(&file.election_id)?;
    let manifest = board.manifest(&eid).await?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&manifest.board_key)
        .map_err(|_| CliError::msg("the manifest's board key is invalid"))?;
    let old = file
        .receipt
        .verify(&eid, &key)
        .map_err(|e| CliError::msg(format!("the receipt does not verify: {e}")))?;
    let latest: Value = board
        .get_json(&format!("{}/checkpoint", election_path(&eid)))
        .await?;
    let note = latest["checkpoint"]
        .as_str()
        .ok_or_else(|| CliError::msg("the board gave no checkpoint"))?;
    let size = latest["size"].as_u64().unwrap_or(0);
    let proof: Value = board
        .get_json(&format!(
            "{}/proofs/consistency?old={}&new={size}",
            election_path(&eid),
            old.size
        ))
        .await?;
    let hashes: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h.as_str().and_then(|h| hex32(h).ok()))
                .collect()
        })
        .unwrap_or_default();
    let new = file
        .receipt
        .verify_against(&eid, &key, note, &hashes)
        .map_err(|e| {
            CliError::msg(format!(
                "the board's latest checkpoint does not extend the receipt's: {e}"
            ))
        })?;
    Ok((old, new))
}
