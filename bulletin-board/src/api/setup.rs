//! Setting an election up: creation (genesis), status, the manifest and keys, one-time
//! registration codes, registrations, and freezing the roll.

use super::auth::{check_signed, commission_request, commission_summary, CommissionRequest};
use super::board::{require_phase, Election};
use super::error::append_refusal;
use super::{created, election_body, election_id, parse_json, read_body, ApiError, AppState};
use crate::store::NewEntry;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::Mutex;
use zkvote_circuits::field::fr_to_bytes;
use zkvote_circuits::merkle::bucket::UpperLevels;
use zkvote_core::codec::hex_exact;
use zkvote_core::Manifest;
use zkvote_protocol::api::{
    CreateElection, ElectionStatus, IssueCodes, IssuedCodes, Register, Registered,
    VerifyingKeyView, MAX_BODY, MAX_CODES, MAX_SMALL_BODY,
};
use zkvote_protocol::{Entry, EntryKind, ErrorCode, FieldElement, Phase, VerifyingKeyBytes};

pub(super) async fn create_election(
    State(b): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let (method, path, headers, body) = read_body(req, MAX_BODY).await?;
    let c: CreateElection = parse_json(&body)?;
    if !b.config.creators.allows(&c.manifest.commission_key) {
        return Err(ApiError::new(
            ErrorCode::CommissionNotAllowed,
            "this board's operator does not allow this commission key to create elections",
        ));
    }
    check_signed(
        &b,
        &headers,
        &method,
        &path,
        &body,
        &c.manifest.commission_key,
    )
    .await?;
    if c.manifest.board_key != b.log.public_key().to_bytes() {
        return Err(ApiError::new(
            ErrorCode::WrongBoardKey,
            "the manifest's board_key is not this board's key",
        ));
    }
    // Version 1 carries its single-party keys; version 2 makes them in its setup ceremony.
    let (genesis, pk_bytes) = match (c.manifest.version(), &c.groth16_vk, &c.proving_key) {
        (1, Some(vk), Some(pk)) => (
            Entry::Manifest {
                groth16_vk: Some(verifying_key(vk)?),
                manifest: c.manifest,
            },
            Some(base64_decode(pk)?),
        ),
        (2, None, None) => (
            Entry::Manifest {
                groth16_vk: None,
                manifest: c.manifest,
            },
            None,
        ),
        _ => {
            return Err(ApiError::new(
                ErrorCode::BadManifest,
                "a version-1 manifest comes with groth16_vk and proving_key, a version-2 one with neither",
            ))
        }
    };
    let genesis_bytes = genesis.to_bytes();
    let election = Election::new(&genesis, zkvote_core::log::leaf_hash(&genesis_bytes))?;
    if let Some(pk_bytes) = &pk_bytes {
        let pk = zkvote_circuits::groth16::proving_key_from_bytes(pk_bytes)
            .map_err(|e| ApiError::new(ErrorCode::BadProvingKey, e.to_string()))?;
        if Some(zkvote_circuits::groth16::vk_hash(&pk.vk)) != election.manifest().groth16_vk_hash {
            return Err(ApiError::new(
                ErrorCode::ProvingKeyMismatch,
                "the proving key does not belong to the manifest's verifying key",
            ));
        }
    }
    let eid = election.manifest().election_id;
    let mut elections = b.elections.write().await;
    if elections.contains_key(&eid) {
        return Err(ApiError::new(
            ErrorCode::ElectionExists,
            "election already exists",
        ));
    }
    if let Some(pk_bytes) = &pk_bytes {
        b.log
            .store()
            .put_blob(&eid, "proving-key", pk_bytes)
            .await?;
    }
    // The genesis entry's receipt is the first the witnesses cosign.
    b.log.set_witnesses(election.manifest());
    let created_entry = b
        .log
        .create_election_in(
            &eid,
            NewEntry::plain(EntryKind::Manifest, genesis_bytes),
            election.phase(),
        )
        .await;
    let receipt = match created_entry {
        Ok(receipt) => receipt,
        Err(e @ crate::log::LogServiceError::Witnesses(_)) => {
            // Recorded: the election is served, its receipt waits for the witnesses.
            elections.insert(eid, Arc::new(Mutex::new(election)));
            return Err(e.into());
        }
        Err(e) => {
            b.log.forget_witnesses(&eid);
            return Err(e.into());
        }
    };
    elections.insert(eid, Arc::new(Mutex::new(election)));
    Ok(created(receipt))
}

/// The verifying key of a creation request (a 400 `bad-verifying-key` unless hex of a
/// valid compressed key).
fn verifying_key(text: &str) -> Result<VerifyingKeyBytes, ApiError> {
    let bad = |m: String| ApiError::new(ErrorCode::BadVerifyingKey, m);
    let mut bytes = vec![0u8; text.len() / 2];
    hex_exact(text, &mut bytes).map_err(|_| bad("groth16_vk must be lowercase hex".into()))?;
    VerifyingKeyBytes::new(bytes).map_err(|e| bad(e.to_string()))
}

fn base64_decode(text: &str) -> Result<Vec<u8>, ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| {
            ApiError::new(
                ErrorCode::BadProvingKey,
                "proving_key must be standard base64",
            )
        })
}

pub(super) async fn status(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ElectionStatus>, ApiError> {
    let eid = election_id(&id)?;
    let e = b.election(&eid).await?;
    let s = e.lock().await;
    Ok(Json(ElectionStatus {
        phase: s.phase(),
        registrations: s.commitments().len() as u64,
        roll_root: s.root().map(|r| hex::encode(fr_to_bytes(&r))),
        joint_key: s
            .context()
            .map(|c| hex::encode(c.public_key().element().as_bytes())),
        ballots: s.ballots(),
        dealings: s.dealings().len() as u64,
        complaints: s.complaints().len() as u64,
        partial_decryptions: s.partials().len() as u64,
        size: b.log.store().size(&eid).await?,
        proving_key_hash: s.proving_key_hash().map(hex::encode),
    }))
}

pub(super) async fn manifest(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Manifest>, ApiError> {
    let e = b.election(&election_id(&id)?).await?;
    let s = e.lock().await;
    Ok(Json(s.manifest().clone()))
}

pub(super) async fn groth16_vk(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<VerifyingKeyView>, ApiError> {
    let e = b.election(&election_id(&id)?).await?;
    let s = e.lock().await;
    let vk = s.verifying_key().ok_or_else(|| {
        ApiError::new(
            ErrorCode::SetupNotClosed,
            "the setup ceremony of the eligibility keys has not closed yet",
        )
    })?;
    Ok(Json(VerifyingKeyView {
        groth16_vk: hex::encode(vk.as_bytes()),
    }))
}

pub(super) async fn proving_key(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let eid = election_id(&id)?;
    let bytes = match b.log.store().blob(&eid, "proving-key").await? {
        Some(bytes) => bytes,
        // A version-2 election's key: made from its transcript once, then stored.
        None => super::setup_ceremony::store_proving_key(&b, &eid).await?,
    };
    Ok(([("content-type", "application/octet-stream")], bytes).into_response())
}

pub(super) async fn issue_codes(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<IssuedCodes>, ApiError> {
    let CommissionRequest {
        eid,
        state: s,
        body,
        ..
    } = commission_request(&b, &id, req, MAX_SMALL_BODY).await?;
    let r: IssueCodes = parse_json(&body)?;
    if r.count == 0 || r.count > MAX_CODES {
        return Err(ApiError::new(
            ErrorCode::BadCount,
            format!("count must be 1 to {MAX_CODES}"),
        ));
    }
    // Codes may be issued while the setup ceremony runs; registration waits for its close.
    if !matches!(s.phase(), Phase::Ceremony | Phase::Setup) {
        return Err(ApiError::new(ErrorCode::RollFrozen, "the roll is frozen"));
    }
    let codes: Vec<String> = (0..r.count)
        .map(|_| {
            let mut c = [0u8; 16];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut c);
            hex::encode(c)
        })
        .collect();
    let hashes: Vec<[u8; 32]> = codes
        .iter()
        .map(|c| Sha256::digest(c.as_bytes()).into())
        .collect();
    b.log.store().add_code_hashes(&eid, &hashes).await?;
    Ok(Json(IssuedCodes { codes }))
}

pub(super) async fn register(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (eid, r): (_, Register) = election_body(&id, req, MAX_SMALL_BODY).await?;
    let commitment = FieldElement::from_hex(&r.commitment)
        .map_err(|e| ApiError::new(ErrorCode::BadCommitment, format!("commitment: {e}")))?;
    let e = b.election(&eid).await?;
    let mut s = e.lock().await;
    require_phase(&s, EntryKind::Registration)?;
    let entry = Entry::Registration { commitment };
    let code_hash: [u8; 32] = Sha256::digest(r.code.as_bytes()).into();
    let new = NewEntry::plain(EntryKind::Registration, entry.to_bytes()).phased();
    let idx = b
        .log
        .store()
        .register(&eid, &code_hash, s.roll_capacity(), &new)
        .await
        .map_err(|e| append_refusal(EntryKind::Registration, e.into()))?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadRegistrationCode,
                "unknown or already used registration code",
            )
        })?;
    b.sync(&eid, &mut s).await?;
    let receipt = b.log.receipt(&eid, idx).await?;
    // Just appended: found at once scanning from the end (a commitment registered twice
    // is found at its newest position).
    let roll_position = s
        .commitments()
        .iter()
        .rposition(|c| *c == commitment.get())
        .ok_or_else(|| ApiError::corrupt("a registration missing from the roll"))?
        as u64;
    Ok(created(Registered {
        receipt,
        roll_position,
    }))
}

pub(super) async fn freeze(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let mut built = None;
    let answer = commission_summary(&b, &id, req, EntryKind::RollFrozen, |s| {
        let tree = UpperLevels::build(s.manifest().roll_depth, s.commitments().to_vec())
            .map_err(|e| ApiError::new(ErrorCode::RollFull, e.to_string()))?;
        let entry = Entry::RollFrozen {
            root: FieldElement::new(tree.root()),
            count: s.commitments().len() as u64,
        };
        built = Some(tree);
        Ok(entry)
    })
    .await?;
    if let Some(tree) = built {
        super::roll::keep_levels(&b, &election_id(&id)?, tree).await?;
    }
    Ok(answer)
}
