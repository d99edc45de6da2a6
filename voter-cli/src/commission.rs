//! The election commission: create an election from a manifest, issue registration codes,
//! freeze the roll, open, close, and run the tally (collect partial decryptions, combine,
//! publish).

use crate::client::{election_path, BoardClient};
use crate::CliError;
use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};
use std::time::{Duration, Instant};
use zkvote_core::log::Receipt;
use zkvote_core::manifest::ManifestDocument;
use zkvote_core::Manifest;
use zkvote_protocol::api::{CreateElection, EmptyBody, IssueCodes, IssuedCodes, PostResult};
use zkvote_protocol::{Entry, EntryKind, Phase};
use zkvote_tally::{combine, verify_partial_decryption, DlogTable, PartialDecryption};
use zkvote_verifier::{verify_reader, Status, TallyInputs};

/// The value of a manifest field the commission fills in.
pub const AUTO: &str = "auto";

fn fill(field: &mut String, name: &str, value: &str, why: &str) -> Result<(), CliError> {
    if field == AUTO {
        *field = value.to_string();
        Ok(())
    } else if field.eq_ignore_ascii_case(value) {
        Ok(())
    } else {
        Err(CliError::msg(format!(
            "bad manifest: {name} is not {why} (write \"auto\" to have it filled in)"
        )))
    }
}

/// Creates an election on `board` from a version-2 manifest TOML in which `election_id`,
/// `commission_key` and `board_key` may be `"auto"`: the id is drawn at random, the keys
/// are the commission's and the board's. The election starts in its setup ceremony: its
/// eligibility keys come out of the trustees' (and anyone's) contributions, never from a
/// single party (`docs/protocol.md` section 9.8).
pub async fn create_election(
    board: &BoardClient,
    key: &SigningKey,
    manifest_toml: &str,
) -> Result<Manifest, CliError> {
    let mut doc: ManifestDocument = toml::from_str(manifest_toml).map_err(|e| {
        let line = e.span().map(|s| {
            manifest_toml[..s.start.min(manifest_toml.len())]
                .lines()
                .count()
                .max(1)
        });
        CliError::msg(match line {
            Some(l) => format!("bad manifest (line {l}): {}", e.message()),
            None => format!("bad manifest: {}", e.message()),
        })
    })?;
    if doc.version != 2 || doc.eligibility.groth16_vk_hash.is_some() {
        return Err(CliError::msg(
            "bad manifest: write version = 2 and no eligibility.groth16_vk_hash: the eligibility keys come out of the election's setup ceremony",
        ));
    }
    if doc.election_id == AUTO {
        let mut id = [0u8; 32];
        OsRng.fill_bytes(&mut id);
        doc.election_id = hex::encode(id);
    }
    fill(
        &mut doc.commission_key,
        "commission_key",
        &hex::encode(key.verifying_key().to_bytes()),
        "the public key of the commission's key file",
    )?;
    let board_key = board.board_key().await?;
    fill(
        &mut doc.board_key,
        "board_key",
        &hex::encode(board_key),
        "this board's public key",
    )?;
    let manifest =
        Manifest::try_from(doc).map_err(|e| CliError::msg(format!("bad manifest: {e}")))?;
    let body = CreateElection {
        manifest: manifest.clone(),
        groth16_vk: None,
        proving_key: None,
    };
    let _: Receipt = board.post_signed(key, "/v1/elections", &body).await?;
    Ok(manifest)
}

/// Issues `count` one-time registration codes (the board keeps only their hashes).
pub async fn issue_codes(
    board: &BoardClient,
    key: &SigningKey,
    election_id: &[u8; 32],
    count: u32,
) -> Result<Vec<String>, CliError> {
    let issued: IssuedCodes = board
        .post_signed(
            key,
            &format!("{}/registration-codes", election_path(election_id)),
            &IssueCodes { count },
        )
        .await
        .map_err(|e| e.with_unknown_election(election_id))?;
    Ok(issued.codes)
}

/// A signed lifecycle step (`freeze`, `open`, `close`) with an empty body.
pub async fn step(
    board: &BoardClient,
    key: &SigningKey,
    election_id: &[u8; 32],
    step: &str,
) -> Result<Receipt, CliError> {
    board
        .post_signed(
            key,
            &format!("{}/{step}", election_path(election_id)),
            &EmptyBody {},
        )
        .await
        .map_err(|e| e.with_unknown_election(election_id))
}

/// Waits until every trustee of the manifest has dealt, then `grace` more for complaints.
pub async fn wait_for_dealings(
    board: &BoardClient,
    election_id: &[u8; 32],
    trustees: usize,
    timeout: Duration,
    grace: Duration,
) -> Result<(), CliError> {
    let start = Instant::now();
    loop {
        let dealt = crate::trustee::dealings(board, election_id).await?.len();
        if dealt >= trustees {
            tokio::time::sleep(grace).await;
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(CliError::msg(format!(
                "only {dealt} of {trustees} trustees dealt within {} s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Downloads the record to a temporary file and verifies it as a stream (checks 1 to 5 and 9
/// must pass before anything is decrypted or combined); returns what the tally needs.
pub async fn verified_tally_inputs(
    board: &BoardClient,
    election_id: &[u8; 32],
) -> Result<TallyInputs, CliError> {
    let path = std::env::temp_dir().join(format!(
        "zkvote-record-{}-{:016x}.jsonl",
        hex::encode(&election_id[..8]),
        OsRng.next_u64()
    ));
    let result = async {
        board.download_record(election_id, &path).await?;
        let file = std::fs::File::open(&path)
            .map_err(|e| CliError::msg(format!("cannot read {}: {e}", path.display())))?;
        tokio::task::spawn_blocking(move || {
            verify_reader(std::io::BufReader::with_capacity(1 << 20, file), None)
        })
        .await
        .map_err(|e| CliError::msg(e.to_string()))?
        .map_err(|e| CliError::msg(e.to_string()))
    }
    .await;
    std::fs::remove_file(&path).ok();
    let (report, tally) = result?;
    match tally {
        Some(t) => Ok(t),
        None => {
            let failed: Vec<String> = report
                .checks
                .iter()
                .filter(|c| c.status == Status::Fail)
                .map(|c| format!("check {} ({})", c.number, c.name))
                .collect();
            Err(CliError::msg(if failed.is_empty() {
                "the election cannot be tallied yet (no ballots can be counted before voting opened)".to_string()
            } else {
                format!("the record does not verify: {} failed", failed.join(", "))
            }))
        }
    }
}

/// Collects partial decryptions (waiting up to `wait` for `t` valid ones), combines them,
/// publishes the result and returns the counts.
pub async fn tally(
    board: &BoardClient,
    key: &SigningKey,
    election_id: &[u8; 32],
    wait: Duration,
) -> Result<(Manifest, Vec<Vec<u64>>), CliError> {
    let status = board.status(election_id).await?;
    if status.phase != Phase::Closed {
        return Err(CliError::msg(format!(
            "the election is not closed (phase {}): close it first",
            status.phase
        )));
    }
    let t = verified_tally_inputs(board, election_id).await?;
    let start = Instant::now();
    let partials = loop {
        let mut valid: Vec<PartialDecryption> = Vec::new();
        for entry in board
            .entries_of_kind(election_id, EntryKind::PartialDecryption)
            .await?
        {
            let Entry::PartialDecryption { partial: p } = entry else {
                continue;
            };
            if !valid.iter().any(|q| q.trustee == p.trustee)
                && verify_partial_decryption(&t.ceremony, &t.outcome, &t.aggregate, &p, &mut OsRng)
                    .is_ok()
            {
                valid.push(p);
            }
        }
        if valid.len() as u32 >= t.ceremony.threshold {
            break valid;
        }
        if start.elapsed() >= wait {
            return Err(CliError::msg(format!(
                "{} valid partial decryptions, the threshold is {}: ask more trustees to decrypt",
                valid.len(),
                t.ceremony.threshold
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let aggregate = t.aggregate.clone();
    let (ceremony, outcome) = (t.ceremony.clone(), t.outcome.clone());
    let result = tokio::task::spawn_blocking(move || {
        let table = DlogTable::new(aggregate.ballots.max(1));
        combine(
            &ceremony, &outcome, &aggregate, &partials, &table, &mut OsRng,
        )
    })
    .await
    .map_err(|e| CliError::msg(format!("combination failed: {e}")))?
    .map_err(|e| CliError::msg(format!("combination failed: {e}")))?;
    let _: Receipt = board
        .post_signed(
            key,
            &format!("{}/result", election_path(election_id)),
            &PostResult {
                counts: result.counts.clone(),
            },
        )
        .await?;
    Ok((t.manifest, result.counts))
}
