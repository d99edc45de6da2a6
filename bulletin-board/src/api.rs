//! The HTTP API (axum), JSON, under `/v1`. Every rejection is a JSON error with a stable
//! code and a clear message, and changes nothing.
//!
//! Commission requests carry `x-zkvote-timestamp` (Unix seconds, within 5 minutes of the
//! board's clock), `x-zkvote-nonce` (16 random bytes, hex) and `x-zkvote-signature`:
//! ed25519 by the manifest's commission key over
//! `"zkvote/v1/request\n" || METHOD || "\n" || PATH || "\n" || timestamp || "\n" || nonce || "\n" || hex(SHA-256(body))`.
//! Each request is single-use: its nonce is claimed in the store (shared by every board
//! process) and a replay is refused.
//! Trustee messages (dealings, complaints, partial decryptions) are signed inside the
//! message itself. Voters are anonymous: the proofs are the credential.

use crate::ballot_box::{BallotBox, BallotBoxConfig, Rejection};
use crate::entries::Entry;
use crate::log::{BoardLog, LogServiceError};
use crate::store::{EntryKind, NewEntry, StoreError};
use ark_bls12_381::Fr;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, RwLock};
use zkvote_circuits::complete::CompleteBallot;
use zkvote_circuits::field::{fr_from_bytes, fr_to_bytes};
use zkvote_circuits::groth16::{verifying_key_from_bytes, EligibilityVerifier};
use zkvote_circuits::merkle::VoterRoll;
use zkvote_core::codec::hex32;
use zkvote_core::{ElectionContext, Manifest};
use zkvote_tally::{
    verify_ceremony, verify_result, CeremonyContext, Complaint, Dealing, PartialDecryption,
};

/// Largest accepted request body (a complete ballot of the largest manifest fits easily;
/// the election-creation request carries the proving key).
pub const MAX_BODY: usize = 8 << 20;
/// Largest ballot request body.
pub const MAX_BALLOT_BODY: usize = 256 << 10;
/// Accepted clock skew of signed commission requests.
pub const MAX_SKEW_SECS: i64 = 300;

/// A refusal: HTTP status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// The error's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown-election",
            "no such election on this board",
        )
    }
    fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "bad-signature", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}

impl From<LogServiceError> for ApiError {
    fn from(e: LogServiceError) -> Self {
        match e {
            LogServiceError::Store(StoreError::UnknownElection) => ApiError::not_found(),
            LogServiceError::Store(StoreError::ElectionExists) => {
                ApiError::conflict("election-exists", "election already exists")
            }
            LogServiceError::Log(e) => ApiError::bad("bad-proof-request", e.to_string()),
            LogServiceError::Store(e @ StoreError::WrongPhase(_)) => {
                ApiError::conflict("wrong-phase", e.to_string())
            }
            LogServiceError::Store(e @ StoreError::Duplicate { .. }) => {
                ApiError::conflict("duplicate-entry", e.to_string())
            }
            LogServiceError::Store(e @ StoreError::RollFull) => {
                ApiError::conflict("roll-full", e.to_string())
            }
            other => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "board-error",
                other.to_string(),
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        LogServiceError::Store(e).into()
    }
}

/// The refusal of an entry of `kind` in a phase whose rule does not allow it: the same
/// status and code whether the board's state or the append transaction saw it first.
fn wrong_phase(kind: EntryKind) -> ApiError {
    let (code, message) = match kind {
        EntryKind::Manifest => ("election-exists", "the election already exists"),
        EntryKind::Registration => ("roll-frozen", "the roll is frozen: registration is closed"),
        EntryKind::RollFrozen => ("roll-frozen", "the roll is already frozen"),
        EntryKind::Dealing | EntryKind::Complaint => ("ceremony-over", "the key ceremony is over"),
        EntryKind::Open => (
            "not-frozen",
            "open needs a frozen roll and an election not yet opened",
        ),
        EntryKind::Ballot => ("election-not-open", "the election is not open for voting"),
        EntryKind::Close => ("election-not-open", "only an open election can be closed"),
        EntryKind::PartialDecryption => (
            "election-not-closed",
            "partial decryptions are accepted once voting is closed",
        ),
        EntryKind::Result => (
            "election-not-closed",
            "the result is published once voting is closed",
        ),
    };
    ApiError::conflict(code, message)
}

/// The refusal of an append of an entry of `kind`: phase and uniqueness conflicts found
/// in the append transaction are 409s with the kind's stable code.
fn append_refusal(kind: EntryKind, e: LogServiceError) -> ApiError {
    match e {
        LogServiceError::Store(StoreError::WrongPhase(_)) => wrong_phase(kind),
        LogServiceError::Store(StoreError::Duplicate { key, index }) => {
            let code = match kind {
                EntryKind::Dealing => "duplicate-dealing",
                EntryKind::Complaint => "duplicate-complaint",
                EntryKind::PartialDecryption => "duplicate-partial-decryption",
                _ => "duplicate-entry",
            };
            ApiError::conflict(
                code,
                format!("the log already holds {key} (entry {index}); a copy is refused"),
            )
        }
        other => other.into(),
    }
}

fn rejection(e: Rejection) -> ApiError {
    match e {
        Rejection::NotOpen => ApiError::conflict("election-not-open", e.to_string()),
        Rejection::Invalid(_) => ApiError::bad("invalid-ballot", e.to_string()),
        Rejection::AlreadyVoted(_) => ApiError::conflict("already-voted", e.to_string()),
        Rejection::ReplayedCiphertext => ApiError::conflict("replayed-ballot", e.to_string()),
        Rejection::Board(_) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "board-error",
            e.to_string(),
        ),
    }
}

/// Header carrying a signed request's timestamp (Unix seconds, canonical decimal).
pub const TIMESTAMP_HEADER: &str = "x-zkvote-timestamp";
/// Header carrying a signed request's nonce (32 lowercase hex digits).
pub const NONCE_HEADER: &str = "x-zkvote-nonce";
/// Header carrying a signed request's ed25519 signature (128 lowercase hex digits).
pub const SIGNATURE_HEADER: &str = "x-zkvote-signature";

/// The bytes a commission signs for a request.
pub fn request_message(
    method: &str,
    path: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    format!(
        "zkvote/v1/request\n{method}\n{path}\n{timestamp}\n{nonce}\n{}",
        hex::encode(Sha256::digest(body))
    )
    .into_bytes()
}

/// The headers of a signed commission request.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    /// Unix seconds, decimal.
    pub timestamp: String,
    /// 16 fresh random bytes, hex: the request is accepted once.
    pub nonce: String,
    /// The signature, hex.
    pub signature: String,
}

impl SignedRequest {
    /// The headers to send.
    pub fn header_map(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            (TIMESTAMP_HEADER, &self.timestamp),
            (NONCE_HEADER, &self.nonce),
            (SIGNATURE_HEADER, &self.signature),
        ] {
            headers.insert(
                name,
                value.parse().expect("decimal and hex are header values"),
            );
        }
        headers
    }
}

/// Signs a commission request at `timestamp` with a fresh random nonce.
pub fn sign_request(
    key: &SigningKey,
    method: &str,
    path: &str,
    body: &[u8],
    timestamp: i64,
) -> SignedRequest {
    let mut nonce = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let nonce = hex::encode(nonce);
    let sig = key.sign(&request_message(method, path, timestamp, &nonce, body));
    SignedRequest {
        timestamp: timestamp.to_string(),
        nonce,
        signature: hex::encode(sig.to_bytes()),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A timestamp in its one accepted form: canonical decimal (no sign, no leading zero),
/// fitting in an `i64`.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let canonical = text == "0"
        || (!text.is_empty()
            && !text.starts_with('0')
            && text.len() <= 19
            && text.bytes().all(|c| c.is_ascii_digit()));
    canonical.then(|| text.parse().ok()).flatten()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks a commission request's signature under `key` and claims its nonce, so that the
/// same request is never carried out twice, by this or any board process on the store.
async fn check_signed(
    b: &Board,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    body: &[u8],
    key: &[u8; 32],
) -> Result<(), ApiError> {
    let ts = header(headers, TIMESTAMP_HEADER)
        .and_then(parse_timestamp)
        .ok_or_else(|| ApiError::unauthorized("missing or malformed x-zkvote-timestamp"))?;
    let now = now();
    if (i128::from(now) - i128::from(ts)).abs() > i128::from(MAX_SKEW_SECS) {
        return Err(ApiError::unauthorized(
            "request timestamp is too far from the board's clock",
        ));
    }
    let mut nonce = [0u8; 16];
    let nonce_text = header(headers, NONCE_HEADER)
        .filter(|v| zkvote_core::codec::hex_exact(v, &mut nonce).is_ok())
        .ok_or_else(|| {
            ApiError::unauthorized("missing or malformed x-zkvote-nonce (32 lowercase hex digits)")
        })?;
    let mut sig = [0u8; 64];
    header(headers, SIGNATURE_HEADER)
        .and_then(|v| zkvote_core::codec::hex_exact(v, &mut sig).ok())
        .ok_or_else(|| ApiError::unauthorized("missing or malformed x-zkvote-signature"))?;
    let vk = VerifyingKey::from_bytes(key)
        .map_err(|_| ApiError::unauthorized("invalid commission key"))?;
    vk.verify_strict(
        &request_message(method.as_str(), path, ts, nonce_text, body),
        &Signature::from_bytes(&sig),
    )
    .map_err(|_| ApiError::unauthorized("request is not signed by the commission key"))?;
    // The timestamp is within the skew of `now`, so this cannot overflow.
    let expires_at = ts + MAX_SKEW_SECS;
    if !b
        .log
        .store()
        .claim_request_nonce(key, &nonce, expires_at, now)
        .await?
    {
        return Err(ApiError::conflict(
            "replayed-request",
            "this signed request was already received: every signed request is single-use",
        ));
    }
    Ok(())
}

/// A commission request to an existing election, authenticated: the election's state is
/// locked and the request's signature checked (its nonce claimed) under the manifest's
/// commission key.
struct CommissionRequest {
    eid: [u8; 32],
    election: Arc<Mutex<ElectionState>>,
    state: tokio::sync::OwnedMutexGuard<ElectionState>,
    body: Bytes,
}

async fn commission_request(
    b: &Board,
    id: &str,
    req: Request,
    limit: usize,
) -> Result<CommissionRequest, ApiError> {
    let eid = election_id(id)?;
    let (method, path, headers, body) = read_body(req, limit).await?;
    let election = b.election(&eid).await?;
    let state = election.clone().lock_owned().await;
    let key = state.manifest.commission_key;
    check_signed(b, &headers, &method, &path, &body, &key).await?;
    Ok(CommissionRequest {
        eid,
        election,
        state,
        body,
    })
}

/// The body of the commission's freeze, open and close requests: `{}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyBody {}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad("malformed-json", e.to_string()))
}

async fn read_body(
    req: Request,
    limit: usize,
) -> Result<(Method, String, HeaderMap, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("request body exceeds {limit} bytes"),
        )
    })?;
    Ok((
        parts.method,
        parts.uri.path().to_string(),
        parts.headers,
        bytes,
    ))
}

fn election_id(text: &str) -> Result<[u8; 32], ApiError> {
    hex32(text).map_err(|_| {
        ApiError::bad(
            "bad-election-id",
            "the election id must be 64 lowercase hex digits",
        )
    })
}

/// Where an election is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Registrations and key ceremony.
    Setup,
    /// Roll frozen; ceremony may continue.
    Frozen,
    /// Ballots accepted.
    Open,
    /// Voting closed; trustees decrypt.
    Closed,
    /// Result published.
    Tallied,
}

impl Phase {
    /// The phase's name in the protocol's phase rule.
    fn as_str(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Frozen => "frozen",
            Phase::Open => "open",
            Phase::Closed => "closed",
            Phase::Tallied => "tallied",
        }
    }
}

/// The ceremony's public outcome from the dealings and complaints in the state (a 409
/// `ceremony-failed` if fewer than the threshold qualify).
fn ceremony_outcome(s: &ElectionState) -> Result<zkvote_tally::CeremonyOutcome, ApiError> {
    verify_ceremony(
        &s.ceremony,
        &s.dealings,
        &s.complaints,
        &mut rand_core::OsRng,
    )
    .map_err(|e| ApiError::conflict("ceremony-failed", e.to_string()))
}

/// Refuses an entry of `kind` that the phase rule does not allow in the state's phase
/// (checked again in the append transaction).
fn require_phase(s: &ElectionState, kind: EntryKind) -> Result<(), ApiError> {
    if kind.phase_rule().0.contains(&s.phase.as_str()) {
        Ok(())
    } else {
        Err(wrong_phase(kind))
    }
}

struct ElectionState {
    manifest: Manifest,
    vk_bytes: Vec<u8>,
    verifier: Arc<EligibilityVerifier>,
    ceremony: CeremonyContext,
    phase: Phase,
    commitments: Vec<Fr>,
    root: Option<Fr>,
    dealings: Vec<Dealing>,
    complaints: Vec<Complaint>,
    partials: Vec<PartialDecryption>,
    ctx: Option<Arc<ElectionContext>>,
    ballot_box: Option<BallotBox>,
    /// Ballot entries in the log (their contents stay in the store).
    ballot_count: u64,
    /// Number of log entries applied to this state.
    applied: u64,
    /// The frozen roll's commitments, 32 bytes each in log order (served to voters).
    roll_bytes: Option<Bytes>,
    /// The aggregate of the counted ballots, once computed after the close.
    aggregate: Option<zkvote_tally::Aggregate>,
}

impl ElectionState {
    fn from_manifest(manifest: Manifest, vk_bytes: Vec<u8>) -> Result<Self, ApiError> {
        let vk = verifying_key_from_bytes(&vk_bytes)
            .map_err(|e| ApiError::bad("bad-verifying-key", e.to_string()))?;
        let verifier = EligibilityVerifier::new(&vk)
            .map_err(|e| ApiError::bad("bad-verifying-key", e.to_string()))?;
        if verifier.vk_hash() != &manifest.groth16_vk_hash {
            return Err(ApiError::bad(
                "verifying-key-mismatch",
                "the verifying key's hash is not the manifest's groth16_vk_hash",
            ));
        }
        let ceremony = CeremonyContext::from_manifest(&manifest)
            .map_err(|e| ApiError::bad("bad-manifest", e.to_string()))?;
        Ok(ElectionState {
            manifest,
            vk_bytes,
            verifier: Arc::new(verifier),
            ceremony,
            phase: Phase::Setup,
            commitments: Vec::new(),
            root: None,
            dealings: Vec::new(),
            complaints: Vec::new(),
            partials: Vec::new(),
            ctx: None,
            ballot_box: None,
            ballot_count: 0,
            roll_bytes: None,
            aggregate: None,
            applied: 1,
        })
    }

    /// Applies an entry already in the log (live or on replay).
    fn apply(&mut self, entry: Entry) {
        match entry {
            Entry::Manifest { .. } => {}
            Entry::Dealing { dealing } => self.dealings.push(dealing),
            Entry::Complaint { complaint } => self.complaints.push(complaint),
            Entry::Registration { commitment } => {
                if let Ok(c) = hex32(&commitment)
                    .map_err(|_| ())
                    .and_then(|b| fr_from_bytes(&b, "commitment").map_err(|_| ()))
                {
                    self.commitments.push(c);
                }
            }
            Entry::RollFrozen { root, .. } => {
                self.root = hex32(&root)
                    .ok()
                    .and_then(|b| fr_from_bytes(&b, "root").ok());
                let mut bytes = Vec::with_capacity(self.commitments.len() * 32);
                for c in &self.commitments {
                    bytes.extend_from_slice(&fr_to_bytes(c));
                }
                self.roll_bytes = Some(Bytes::from(bytes));
                self.phase = Phase::Frozen;
            }
            Entry::Open { joint_key, .. } => {
                if let Ok(pk) = zkvote_core::ElectionPublicKey::new(joint_key) {
                    self.ctx = Some(Arc::new(ElectionContext::new(self.manifest.clone(), pk)));
                }
                self.phase = Phase::Open;
            }
            Entry::Ballot { .. } => self.ballot_count += 1,
            Entry::Close {} => self.phase = Phase::Closed,
            Entry::PartialDecryption { partial } => self.partials.push(partial),
            Entry::Result { .. } => self.phase = Phase::Tallied,
        }
    }
}

/// Which commissions may create elections on a board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Creators {
    /// Any commission key (a private or test board).
    Anyone,
    /// Only these commission keys (ed25519 public keys), as the operator decided.
    Only(Vec<[u8; 32]>),
}

impl Creators {
    fn allows(&self, key: &[u8; 32]) -> bool {
        match self {
            Creators::Anyone => true,
            Creators::Only(keys) => keys.contains(key),
        }
    }
}

/// How a board runs.
#[derive(Clone, Debug)]
pub struct BoardConfig {
    /// Micro-batching of ballot verification.
    pub ballot_box: BallotBoxConfig,
    /// Who may create elections.
    pub creators: Creators,
}

impl BoardConfig {
    /// A board on which `creators` may create elections, batching ballots by default.
    pub fn new(creators: Creators) -> Self {
        BoardConfig {
            ballot_box: BallotBoxConfig::default(),
            creators,
        }
    }
}

/// The board: the log service and every election's state.
pub struct Board {
    log: Arc<BoardLog>,
    elections: RwLock<HashMap<[u8; 32], Arc<Mutex<ElectionState>>>>,
    config: BoardConfig,
}

impl Board {
    /// Loads every election from the store, replaying its log, and restarts the ballot
    /// boxes of open elections. Elections created, and entries appended, by other board
    /// processes on the same database are picked up on use.
    pub async fn load(log: Arc<BoardLog>, config: BoardConfig) -> Result<Arc<Self>, ApiError> {
        let board = Arc::new(Board {
            log,
            elections: RwLock::new(HashMap::new()),
            config,
        });
        for eid in board.log.store().election_ids().await? {
            board.election(&eid).await?;
        }
        Ok(board)
    }

    fn start_box(&self, s: &mut ElectionState) {
        if let (Some(ctx), Some(root)) = (&s.ctx, s.root) {
            s.ballot_box = Some(BallotBox::start(
                self.log.clone(),
                ctx.clone(),
                s.verifier.clone(),
                root,
                self.config.ballot_box,
            ));
        }
    }

    /// Applies the log entries this state has not seen yet (appended by this or another
    /// board process), starting or stopping the ballot box on phase changes.
    async fn sync(&self, eid: &[u8; 32], s: &mut ElectionState) -> Result<(), ApiError> {
        loop {
            // Paged, and without the ballots' bodies: replaying millions of ballots at
            // startup only counts them.
            let entries = self
                .log
                .store()
                .entries_for_replay(eid, s.applied, REPLAY_PAGE)
                .await?;
            if entries.is_empty() {
                return Ok(());
            }
            self.apply_entries(s, entries)?;
        }
    }

    fn apply_entries(
        &self,
        s: &mut ElectionState,
        entries: Vec<crate::store::StoredEntry>,
    ) -> Result<(), ApiError> {
        for e in entries {
            if e.kind == EntryKind::Ballot.as_str() {
                // Ballots are decoded only when the tally needs them.
                s.ballot_count += 1;
                s.applied = e.index + 1;
                continue;
            }
            let entry: Entry = serde_json::from_slice(&e.data).map_err(|err| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "corrupt-log",
                    err.to_string(),
                )
            })?;
            let before = s.phase;
            s.apply(entry);
            s.applied = e.index + 1;
            if before != Phase::Open && s.phase == Phase::Open {
                self.start_box(s);
            }
            if matches!(s.phase, Phase::Closed | Phase::Tallied) {
                if let Some(bb) = &s.ballot_box {
                    bb.close();
                }
            }
        }
        Ok(())
    }

    /// The election's state, loaded from the store if this process has not seen it, and
    /// synced with the log.
    async fn election(&self, eid: &[u8; 32]) -> Result<Arc<Mutex<ElectionState>>, ApiError> {
        let existing = self.elections.read().await.get(eid).cloned();
        let arc = match existing {
            Some(a) => a,
            None => {
                let first = self.log.store().entries(eid, 0, 1).await?;
                let Some(genesis) = first.first() else {
                    return Err(ApiError::not_found());
                };
                let Ok(Entry::Manifest {
                    manifest,
                    groth16_vk,
                }) = serde_json::from_slice::<Entry>(&genesis.data)
                else {
                    return Err(ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "corrupt-log",
                        "entry 0 is not a manifest",
                    ));
                };
                let state = ElectionState::from_manifest(
                    manifest,
                    hex::decode(&groth16_vk).unwrap_or_default(),
                )?;
                self.elections
                    .write()
                    .await
                    .entry(*eid)
                    .or_insert_with(|| Arc::new(Mutex::new(state)))
                    .clone()
            }
        };
        {
            let mut s = arc.lock().await;
            self.sync(eid, &mut s).await?;
        }
        Ok(arc)
    }
}

type AppState = Arc<Board>;

/// The `/v1` router with a per-client rate limit (requests per second, burst).
pub fn router_with_limit(board: Arc<Board>, per_second: u32, burst: u32) -> Router {
    let limiter = crate::rate_limit::RateLimiter::new(per_second, burst);
    router(board).layer(axum::middleware::from_fn_with_state(
        limiter,
        crate::rate_limit::limit,
    ))
}

/// The `/v1` router.
pub fn router(board: Arc<Board>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/elections", post(create_election))
        .route("/v1/elections/{id}", get(status))
        .route("/v1/elections/{id}/manifest", get(manifest))
        .route("/v1/elections/{id}/groth16-vk", get(groth16_vk))
        .route("/v1/elections/{id}/proving-key", get(proving_key))
        .route("/v1/elections/{id}/registration-codes", post(issue_codes))
        .route("/v1/elections/{id}/registrations", post(register))
        .route("/v1/elections/{id}/freeze", post(freeze))
        .route("/v1/elections/{id}/roll", get(roll))
        .route("/v1/elections/{id}/dealings", post(post_dealing))
        .route("/v1/elections/{id}/complaints", post(post_complaint))
        .route("/v1/elections/{id}/open", post(open))
        .route("/v1/elections/{id}/ballots", post(post_ballot))
        .route("/v1/elections/{id}/ballots/{digest}", get(ballot_receipt))
        .route("/v1/elections/{id}/close", post(close))
        .route("/v1/elections/{id}/partial-decryptions", post(post_partial))
        .route("/v1/elections/{id}/result", post(post_result))
        .route("/v1/elections/{id}/checkpoint", get(checkpoint))
        .route("/v1/elections/{id}/receipts/{index}", get(receipt))
        .route("/v1/elections/{id}/entries", get(entries))
        .route("/v1/elections/{id}/proofs/inclusion", get(inclusion))
        .route("/v1/elections/{id}/proofs/consistency", get(consistency))
        .route("/v1/elections/{id}/record", get(record))
        .fallback(unknown_route)
        .layer(axum::middleware::from_fn(limit_uri))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        // Outermost, so that the timeout's refusal is rewritten too.
        .layer(axum::middleware::map_response(json_errors))
        .with_state(board)
}

/// Longest accepted request target (path and query).
pub const MAX_URI: usize = 4096;

async fn unknown_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown-route",
        "no such route (GET /v1/openapi.json lists them)",
    )
}

async fn limit_uri(req: Request, next: axum::middleware::Next) -> Response {
    if req.uri().to_string().len() > MAX_URI {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            format!("the request target exceeds {MAX_URI} bytes"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Every refusal is a JSON error with a stable code: refusals made by the framework
/// (path and query parse failures, wrong method, timeouts) are rewritten into that form,
/// keeping their status and their text as the message.
async fn json_errors(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad-request",
        StatusCode::NOT_FOUND => "unknown-route",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body-too-large",
        StatusCode::URI_TOO_LONG => "uri-too-long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        s if s.is_server_error() => "board-error",
        _ => "bad-request",
    };
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase()
    } else {
        text
    };
    let mut out = ApiError::new(status, code, message).into_response();
    // Headers such as `Allow` (405) are kept; the body's own are the JSON error's.
    for (name, value) in &parts.headers {
        if name != "content-type" && name != "content-length" {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// The OpenAPI 3.1 description of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([("content-type", "application/json")], OPENAPI).into_response()
}

async fn health(State(b): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "storage": b.log.store().backend_name(),
        "board_key": hex::encode(b.log.public_key().to_bytes()),
    }))
}

/// Body of `POST /v1/elections`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateElection {
    /// The manifest (JSON form of `docs/protocol.md` section 2.1).
    pub manifest: Manifest,
    /// The compressed Groth16 verifying key, hex.
    pub groth16_vk: String,
    /// The compressed Groth16 proving key, standard base64.
    pub proving_key: String,
}

async fn create_election(State(b): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (method, path, headers, body) = read_body(req, MAX_BODY).await?;
    let c: CreateElection = parse_json(&body)?;
    if !b.config.creators.allows(&c.manifest.commission_key) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "commission-not-allowed",
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
        return Err(ApiError::bad(
            "wrong-board-key",
            "the manifest's board_key is not this board's key",
        ));
    }
    let vk_bytes = hex::decode(&c.groth16_vk)
        .map_err(|_| ApiError::bad("bad-verifying-key", "groth16_vk must be hex"))?;
    let state = ElectionState::from_manifest(c.manifest.clone(), vk_bytes)?;
    let pk_bytes = base64_decode(&c.proving_key)?;
    let pk = zkvote_circuits::groth16::proving_key_from_bytes(&pk_bytes)
        .map_err(|e| ApiError::bad("bad-proving-key", e.to_string()))?;
    if zkvote_circuits::groth16::vk_hash(&pk.vk) != c.manifest.groth16_vk_hash {
        return Err(ApiError::bad(
            "proving-key-mismatch",
            "the proving key does not belong to the manifest's verifying key",
        ));
    }
    let eid = c.manifest.election_id;
    let mut elections = b.elections.write().await;
    if elections.contains_key(&eid) {
        return Err(ApiError::conflict(
            "election-exists",
            "election already exists",
        ));
    }
    b.log
        .store()
        .put_blob(&eid, "proving-key", &pk_bytes)
        .await?;
    let genesis = Entry::Manifest {
        manifest: c.manifest,
        groth16_vk: c.groth16_vk,
    };
    let receipt = b
        .log
        .create_election(
            &eid,
            NewEntry::plain(EntryKind::Manifest, genesis.to_bytes()),
        )
        .await?;
    elections.insert(eid, Arc::new(Mutex::new(state)));
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

fn base64_decode(text: &str) -> Result<Vec<u8>, ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| ApiError::bad("bad-proving-key", "proving_key must be standard base64"))
}

async fn status(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let eid = election_id(&id)?;
    let e = b.election(&eid).await?;
    let s = e.lock().await;
    Ok(Json(json!({
        "phase": s.phase,
        "registrations": s.commitments.len(),
        "roll_root": s.root.map(|r| hex::encode(fr_to_bytes(&r))),
        "joint_key": s.ctx.as_ref().map(|c| hex::encode(c.public_key().element().as_bytes())),
        "ballots": s.ballot_count,
        "dealings": s.dealings.len(),
        "complaints": s.complaints.len(),
        "partial_decryptions": s.partials.len(),
        "size": b.log.store().size(&eid).await?,
    })))
}

async fn manifest(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Manifest>, ApiError> {
    let e = b.election(&election_id(&id)?).await?;
    let s = e.lock().await;
    Ok(Json(s.manifest.clone()))
}

async fn groth16_vk(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let e = b.election(&election_id(&id)?).await?;
    let s = e.lock().await;
    Ok(Json(json!({ "groth16_vk": hex::encode(&s.vk_bytes) })))
}

async fn proving_key(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let eid = election_id(&id)?;
    let bytes = b
        .log
        .store()
        .blob(&eid, "proving-key")
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(([("content-type", "application/octet-stream")], bytes).into_response())
}

/// Body of `POST /v1/elections/{id}/registration-codes`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueCodes {
    /// How many one-time codes, 1 to 100,000.
    pub count: u32,
}

async fn issue_codes(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    let CommissionRequest {
        eid,
        state: s,
        body,
        ..
    } = commission_request(&b, &id, req, 4096).await?;
    let r: IssueCodes = parse_json(&body)?;
    if r.count == 0 || r.count > 100_000 {
        return Err(ApiError::bad("bad-count", "count must be 1 to 100000"));
    }
    if s.phase != Phase::Setup {
        return Err(ApiError::conflict("roll-frozen", "the roll is frozen"));
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
    Ok(Json(json!({ "codes": codes })))
}

/// Body of `POST /v1/elections/{id}/registrations`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// The one-time code.
    pub code: String,
    /// The credential commitment (field element, hex).
    pub commitment: String,
}

async fn register(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let eid = election_id(&id)?;
    let (_, _, _, body) = read_body(req, 4096).await?;
    let r: Register = parse_json(&body)?;
    let bytes = hex32(&r.commitment).map_err(|e| ApiError::bad("bad-commitment", e.to_string()))?;
    fr_from_bytes(&bytes, "commitment")
        .map_err(|e| ApiError::bad("bad-commitment", e.to_string()))?;
    let e = b.election(&eid).await?;
    let mut s = e.lock().await;
    require_phase(&s, EntryKind::Registration)?;
    let capacity = 1u64 << s.manifest.roll_depth;
    let entry = Entry::Registration {
        commitment: r.commitment,
    };
    let code_hash: [u8; 32] = Sha256::digest(r.code.as_bytes()).into();
    let idx = b
        .log
        .store()
        .register(
            &eid,
            &code_hash,
            capacity,
            &phased(EntryKind::Registration, &entry),
        )
        .await
        .map_err(|e| append_refusal(EntryKind::Registration, e.into()))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "bad-registration-code",
                "unknown or already used registration code",
            )
        })?;
    b.sync(&eid, &mut s).await?;
    let receipt = b.log.receipt(&eid, idx).await?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

/// An entry of `kind`, appended only in the phases its rule allows and only if the log
/// holds no entry with its unique key (both checked in the append transaction), moving
/// the election to the phase the rule names.
fn phased(kind: EntryKind, entry: &Entry) -> NewEntry {
    let (phases, next) = kind.phase_rule();
    NewEntry::plain(kind, entry.to_bytes())
        .in_phase(phases, next)
        .unique(entry.unique_key())
}

async fn append_entry(
    b: &Board,
    eid: &[u8; 32],
    s: &mut ElectionState,
    kind: EntryKind,
    entry: Entry,
) -> Result<Response, ApiError> {
    let receipt = b
        .log
        .append(eid, &phased(kind, &entry))
        .await
        .map_err(|e| append_refusal(kind, e))?;
    b.sync(eid, s).await?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

/// What computing a summary entry inside the append transaction can end with.
enum Computed {
    Store(StoreError),
    Refused(ApiError),
}

impl From<StoreError> for Computed {
    fn from(e: StoreError) -> Self {
        Computed::Store(e)
    }
}

/// Appends an entry of `kind` that sums up the log (the frozen roll, the joint key, the
/// close, the result): inside the append transaction, under the election's write lock,
/// the state is brought up to the log's last entry and `compute` builds the entry from
/// it, so that it never misses an entry another board process appended first.
async fn append_summary(
    b: &Board,
    eid: &[u8; 32],
    s: &mut ElectionState,
    kind: EntryKind,
    compute: impl FnOnce(&ElectionState) -> Result<Entry, ApiError>,
) -> Result<Response, ApiError> {
    let from = s.applied;
    let state = &mut *s;
    let appended = b
        .log
        .store()
        .append_computed(eid, from, |fresh| {
            b.apply_entries(state, fresh).map_err(Computed::Refused)?;
            require_phase(state, kind).map_err(Computed::Refused)?;
            let entry = compute(state).map_err(Computed::Refused)?;
            Ok(phased(kind, &entry))
        })
        .await;
    let idx = appended.map_err(|e| match e {
        Computed::Store(e) => append_refusal(kind, e.into()),
        Computed::Refused(e) => e,
    })?;
    b.sync(eid, s).await?;
    let receipt = b.log.receipt(eid, idx).await?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

async fn roll(State(b): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let e = b.election(&election_id(&id)?).await?;
    let s = e.lock().await;
    let bytes = s
        .roll_bytes
        .clone()
        .ok_or_else(|| ApiError::conflict("roll-not-frozen", "the voter roll is not frozen yet"))?;
    Ok(([("content-type", "application/octet-stream")], bytes).into_response())
}

async fn freeze(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let mut r = commission_request(&b, &id, req, 4096).await?;
    parse_json::<EmptyBody>(&r.body)?;
    append_summary(&b, &r.eid, &mut r.state, EntryKind::RollFrozen, |s| {
        let roll = VoterRoll::new(s.manifest.roll_depth, s.commitments.clone())
            .map_err(|e| ApiError::conflict("roll-full", e.to_string()))?;
        Ok(Entry::RollFrozen {
            root: hex::encode(fr_to_bytes(&roll.root())),
            count: roll.len() as u64,
        })
    })
    .await
}

/// A trustee's self-signed ceremony message: its author, signature domain, signed body and
/// signature, and the entry it becomes.
struct TrusteeMessage {
    author: u32,
    domain: &'static [u8],
    body: Vec<u8>,
    signature: [u8; 64],
    kind: EntryKind,
    entry: Entry,
}

/// Appends a ceremony message before voting opens, if its author's signature holds.
async fn post_ceremony_message(
    b: &Board,
    eid: &[u8; 32],
    m: TrusteeMessage,
) -> Result<Response, ApiError> {
    let e = b.election(eid).await?;
    let mut s = e.lock().await;
    require_phase(&s, m.kind)?;
    let t = s
        .ceremony
        .trustee(m.author)
        .ok_or_else(|| ApiError::bad("unknown-trustee", "no such trustee"))?;
    zkvote_tally::ceremony::verify_signature(
        &t.signing_key,
        m.domain,
        &s.ceremony.manifest_hash,
        &m.body,
        &m.signature,
    )
    .map_err(|e| ApiError::unauthorized(format!("{e} (trustee {})", m.author)))?;
    append_entry(b, eid, &mut s, m.kind, m.entry).await
}

async fn post_dealing(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let eid = election_id(&id)?;
    let (_, _, _, body) = read_body(req, MAX_BODY).await?;
    let d: Dealing = parse_json(&body)?;
    let m = TrusteeMessage {
        author: d.dealer,
        domain: zkvote_tally::labels::SIG_DEALING,
        body: d.body(),
        signature: d.signature,
        kind: EntryKind::Dealing,
        entry: Entry::Dealing { dealing: d },
    };
    post_ceremony_message(&b, &eid, m).await
}

async fn post_complaint(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let eid = election_id(&id)?;
    let (_, _, _, body) = read_body(req, 65536).await?;
    let c: Complaint = parse_json(&body)?;
    let m = TrusteeMessage {
        author: c.accuser,
        domain: zkvote_tally::labels::SIG_COMPLAINT,
        body: c.body(),
        signature: c.signature,
        kind: EntryKind::Complaint,
        entry: Entry::Complaint { complaint: c },
    };
    post_ceremony_message(&b, &eid, m).await
}

async fn open(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let mut r = commission_request(&b, &id, req, 4096).await?;
    parse_json::<EmptyBody>(&r.body)?;
    append_summary(&b, &r.eid, &mut r.state, EntryKind::Open, |s| {
        let outcome = ceremony_outcome(s)?;
        Ok(Entry::Open {
            joint_key: outcome.joint_key,
            qualified: outcome.qualified,
        })
    })
    .await
}

async fn post_ballot(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let eid = election_id(&id)?;
    let (_, _, _, body) = read_body(req, MAX_BALLOT_BODY).await?;
    // Decoding validates every point (Ristretto255 and BLS12-381): CPU work, kept off the
    // async executor.
    let ballot: CompleteBallot = tokio::task::spawn_blocking(move || {
        serde_json::from_slice::<CompleteBallot>(&body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => ApiError::bad("invalid-encoding", e.to_string()),
            _ => ApiError::bad("malformed-json", e.to_string()),
        })
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "board-error",
            e.to_string(),
        )
    })??;
    let bb = {
        let e = b.election(&eid).await?;
        let s = e.lock().await;
        require_phase(&s, EntryKind::Ballot)?;
        s.ballot_box.clone().ok_or_else(|| {
            ApiError::conflict("election-not-open", "the election is not open for voting")
        })?
    };
    let receipt = bb.submit(ballot).await.map_err(rejection)?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

async fn close(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let r = commission_request(&b, &id, req, 4096).await?;
    parse_json::<EmptyBody>(&r.body)?;
    require_phase(&r.state, EntryKind::Close)?;
    let bb = r.state.ballot_box.clone();
    let (eid, election) = (r.eid, r.election);
    drop(r.state);
    if let Some(bb) = &bb {
        bb.close();
        bb.drain().await;
    }
    let mut s = election.lock().await;
    append_summary(&b, &eid, &mut s, EntryKind::Close, |_| Ok(Entry::Close {})).await
}

async fn post_partial(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let eid = election_id(&id)?;
    let (_, _, _, body) = read_body(req, MAX_BODY).await?;
    let p: PartialDecryption = parse_json(&body)?;
    let e = b.election(&eid).await?;
    let mut s = e.lock().await;
    require_phase(&s, EntryKind::PartialDecryption)?;
    let outcome = ceremony_outcome(&s)?;
    let agg = counted_aggregate(&b, &eid, &mut s).await?;
    zkvote_tally::verify_partial_decryption(&s.ceremony, &outcome, &agg, &p, &mut rand_core::OsRng)
        .map_err(|e| ApiError::bad("invalid-partial-decryption", e.to_string()))?;
    append_entry(
        &b,
        &eid,
        &mut s,
        EntryKind::PartialDecryption,
        Entry::PartialDecryption { partial: p },
    )
    .await
}

/// Body of `POST /v1/elections/{id}/result`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostResult {
    /// Counts per contest and option.
    pub counts: Vec<Vec<u64>>,
}

async fn post_result(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let CommissionRequest {
        eid,
        state: mut s,
        body,
        ..
    } = commission_request(&b, &id, req, 65536).await?;
    let r: PostResult = parse_json(&body)?;
    require_phase(&s, EntryKind::Result)?;
    let outcome = ceremony_outcome(&s)?;
    // No ballot is appended after the close: the aggregate is final.
    let agg = counted_aggregate(&b, &eid, &mut s).await?;
    append_summary(&b, &eid, &mut s, EntryKind::Result, |s| {
        verify_result(
            &s.ceremony,
            &outcome,
            &agg,
            &s.partials,
            &r.counts,
            &mut rand_core::OsRng,
        )
        .map_err(|e| ApiError::bad("wrong-result", e.to_string()))?;
        Ok(Entry::Result {
            ballots_counted: agg.ballots,
            aggregate: crate::entries::encode_aggregate(&agg),
            counts: r.counts,
        })
    })
    .await
}

async fn checkpoint(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let eid = election_id(&id)?;
    b.election(&eid).await?;
    let cp = b.log.checkpoint(&eid).await?;
    Ok(Json(
        json!({ "size": cp.size, "root": hex::encode(cp.root), "checkpoint": cp.note }),
    ))
}

async fn receipt(
    State(b): State<AppState>,
    Path((id, index)): Path<(String, u64)>,
) -> Result<Json<zkvote_core::log::Receipt>, ApiError> {
    let eid = election_id(&id)?;
    b.election(&eid).await?;
    Ok(Json(b.log.receipt(&eid, index).await?))
}

#[derive(Deserialize)]
struct Page {
    from: Option<u64>,
    limit: Option<u64>,
    kind: Option<String>,
}

async fn entries(
    State(b): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Page>,
) -> Result<Response, ApiError> {
    let eid = election_id(&id)?;
    b.election(&eid).await?;
    let limit = p.limit.unwrap_or(100).min(1000);
    let from = p.from.unwrap_or(0);
    let list = match p.kind.as_deref() {
        None => b.log.store().entries(&eid, from, limit).await?,
        Some(name) => {
            let kind = EntryKind::from_name(name)
                .ok_or_else(|| ApiError::bad("bad-kind", format!("no entry kind {name:?}")))?;
            b.log
                .store()
                .entries_of_kind_from(&eid, kind, from, limit)
                .await?
        }
    };
    let mut out = String::from("[");
    for (i, e) in list.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&entry_line(e));
    }
    out.push(']');
    Ok(([("content-type", "application/json")], out).into_response())
}

fn entry_line(e: &crate::store::StoredEntry) -> String {
    zkvote_verifier::record::entry_line(e.index, &e.kind, &e.data)
}

#[derive(Deserialize)]
struct InclusionQuery {
    index: Option<u64>,
    digest: Option<String>,
    size: Option<u64>,
}

/// The log index of the ballot with this digest (tracker).
async fn ballot_index(b: &Board, eid: &[u8; 32], digest: &str) -> Result<u64, ApiError> {
    let d = hex32(digest).map_err(|e| ApiError::bad("bad-digest", e.to_string()))?;
    b.log
        .store()
        .index_of_digest(eid, &d)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown-ballot",
                "no ballot with this digest on the board",
            )
        })
}

/// Ballot entries decoded per step when the aggregate is computed.
const AGGREGATE_PAGE: u64 = 1000;

/// The aggregate of the counted ballots (all of them under `reject`, where the board
/// refused repeats; the last per nullifier under `last-ballot-counts`), computed once after
/// the close by paging through the store (decoding off the async executor) and cached.
async fn counted_aggregate(
    b: &Board,
    eid: &[u8; 32],
    s: &mut ElectionState,
) -> Result<zkvote_tally::Aggregate, ApiError> {
    if let Some(a) = &s.aggregate {
        return Ok(a.clone());
    }
    let internal = |m: String| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "board-error", m);
    let store = b.log.store();
    let counted: Option<Arc<std::collections::HashSet<u64>>> = match s.manifest.revote_policy {
        zkvote_core::RevotePolicy::Reject => None,
        zkvote_core::RevotePolicy::LastBallotCounts => Some(Arc::new(
            store
                .last_ballot_per_nullifier(eid)
                .await?
                .into_iter()
                .collect(),
        )),
    };
    let mut total = zkvote_tally::Aggregate::empty(&s.manifest);
    let mut from = 0u64;
    loop {
        let page = store
            .entries_of_kind_from(eid, EntryKind::Ballot, from, AGGREGATE_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        from = last.index + 1;
        let (manifest, counted) = (s.manifest.clone(), counted.clone());
        let part = tokio::task::spawn_blocking(move || {
            use rayon::prelude::*;
            let ballots: Vec<zkvote_core::Ballot> = page
                .par_iter()
                .filter(|e| counted.as_ref().map_or(true, |c| c.contains(&e.index)))
                .map(|e| match serde_json::from_slice::<Entry>(&e.data) {
                    Ok(Entry::Ballot { ballot }) => Ok(ballot.ballot),
                    _ => Err(format!("entry {} is not a ballot", e.index)),
                })
                .collect::<Result<_, _>>()?;
            Ok::<_, String>(zkvote_tally::aggregate(&manifest, &ballots))
        })
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(|m| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "corrupt-log", m))?;
        for (row, add) in total.contests.iter_mut().zip(part.contests) {
            for (acc, c) in row.iter_mut().zip(add) {
                *acc += c;
            }
        }
        total.ballots += part.ballots;
    }
    s.aggregate = Some(total.clone());
    Ok(total)
}

async fn ballot_receipt(
    State(b): State<AppState>,
    Path((id, digest)): Path<(String, String)>,
) -> Result<Json<zkvote_core::log::Receipt>, ApiError> {
    let eid = election_id(&id)?;
    let index = ballot_index(&b, &eid, &digest).await?;
    Ok(Json(b.log.receipt(&eid, index).await?))
}

async fn inclusion(
    State(b): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let eid = election_id(&id)?;
    b.election(&eid).await?;
    let index = match (q.index, &q.digest) {
        (Some(i), None) => i,
        (None, Some(d)) => ballot_index(&b, &eid, d).await?,
        _ => {
            return Err(ApiError::bad(
                "bad-proof-request",
                "give exactly one of index and digest",
            ))
        }
    };
    let size = match q.size {
        Some(s) => s,
        None => b.log.checkpoint(&eid).await?.size,
    };
    let proof = b.log.inclusion_proof(&eid, index, size).await?;
    let leaf = b.log.store().entries(&eid, index, 1).await?;
    Ok(Json(json!({
        "index": index,
        "size": size,
        "leaf_hash": leaf.first().map(|e| hex::encode(e.leaf_hash)),
        "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    old: u64,
    new: u64,
}

async fn consistency(
    State(b): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let eid = election_id(&id)?;
    b.election(&eid).await?;
    let proof = b.log.consistency_proof(&eid, q.old, q.new).await?;
    Ok(Json(
        json!({ "old": q.old, "new": q.new, "proof": proof.iter().map(hex::encode).collect::<Vec<_>>() }),
    ))
}

/// Entries per page when an election's state is replayed from the store.
const REPLAY_PAGE: u64 = 10_000;

/// Entries per page when the record is streamed from the store.
const RECORD_PAGE: u64 = 1000;

async fn record(State(b): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let eid = election_id(&id)?;
    b.election(&eid).await?;
    let cp = b.log.checkpoint(&eid).await?;
    let (size, note) = (cp.size, cp.note.clone());
    let store = b.log.store().clone();
    // Streamed page by page (entries below the checkpoint's size never change), so a
    // record of millions of ballots never sits in memory; the signed checkpoint is last.
    let pages = futures_util::stream::unfold(Some(0u64), move |state| {
        let (store, note) = (store.clone(), note.clone());
        async move {
            let from = state?;
            if from >= size {
                let line = format!("{}\n", zkvote_verifier::record::checkpoint_line(&note));
                return Some((Ok(Bytes::from(line)), None));
            }
            match store
                .entries(&eid, from, RECORD_PAGE.min(size - from))
                .await
            {
                Ok(list) if !list.is_empty() => {
                    let mut out = String::new();
                    for e in &list {
                        out.push_str(&entry_line(e));
                        out.push('\n');
                    }
                    Some((Ok(Bytes::from(out)), Some(from + list.len() as u64)))
                }
                Ok(_) => Some((Err(StoreError::Database(sqlx::Error::RowNotFound)), None)),
                Err(e) => Some((Err(e), None)),
            }
        }
    });
    Ok((
        [("content-type", "application/x-ndjson")],
        Body::from_stream(pages),
    )
        .into_response())
}
