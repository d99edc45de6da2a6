//! The mirror's read-only HTTP API: the board's read routes, answered from the mirror's
//! own verified copy (`docs/protocol.md` section 16.3), so that voters and verifiers need
//! not reach or trust the board, and `GET /v1/elections/{id}/mirror`, where the mirror
//! stands (its checks' findings, the fork it saw). Nothing past the latest checkpoint
//! whose every entry is held and proven is served.

use crate::follow::{Finding, Followed, State as FollowState};
use crate::store::{Fork, MirrorStore, Signed};
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use zkvote_core::codec::hex32;
use zkvote_core::log::{consistency_proof, inclusion_proof, Receipt};
use zkvote_protocol::api::{CheckpointView, ConsistencyView, InclusionView};
use zkvote_protocol::record::{checkpoint_line, entry_line};
use zkvote_protocol::{EntryKind, ErrorBody, ErrorCode, ErrorDetail};
use zkvote_verifier::Report;

/// Entries per page of `/entries` at most, and per read of the store for `/record`.
const PAGE: u64 = 1000;

/// The elections a mirror follows, and its store.
pub struct Mirror {
    /// The store the entries are served from.
    pub store: MirrorStore,
    /// Each followed election, by id.
    pub elections: BTreeMap<[u8; 32], Arc<Followed>>,
}

type AppState = Arc<Mirror>;

/// A refusal: a JSON error body with a stable code, as the board's.
#[derive(Debug)]
pub struct Refusal(ErrorCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).expect("a valid status");
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.0,
                message: self.1,
            },
        };
        (status, Json(body)).into_response()
    }
}

/// The mirror's routes.
pub fn router(mirror: Arc<Mirror>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/elections/{id}/mirror", get(status))
        .route("/v1/elections/{id}/manifest", get(manifest))
        .route("/v1/elections/{id}/checkpoint", get(checkpoint))
        .route("/v1/elections/{id}/entries", get(entries))
        .route("/v1/elections/{id}/receipts/{index}", get(receipt))
        .route("/v1/elections/{id}/proofs/inclusion", get(inclusion))
        .route("/v1/elections/{id}/proofs/consistency", get(consistency))
        .route("/v1/elections/{id}/record", get(record))
        .fallback(unknown_route)
        .method_not_allowed_fallback(|| async { read_only() })
        // A handler that panics answers 500 instead of dropping the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                Refusal(
                    ErrorCode::BoardError,
                    "the mirror failed on this request".into(),
                )
                .into_response()
            },
        ))
        // Any origin may read the record (a booth or verifier page hosted elsewhere).
        .layer(axum::middleware::map_response(|mut r: Response| async {
            r.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            r
        }))
        .with_state(mirror)
}

fn read_only() -> Refusal {
    Refusal(
        ErrorCode::MethodNotAllowed,
        "a mirror is read-only: post to the board".into(),
    )
}

/// Any other route: read-only for a method other than GET, else unknown.
async fn unknown_route(method: Method) -> Refusal {
    if method == Method::GET || method == Method::HEAD {
        Refusal(ErrorCode::UnknownRoute, "no such route on a mirror".into())
    } else {
        read_only()
    }
}

fn followed(m: &Mirror, id: &str) -> Result<Arc<Followed>, Refusal> {
    let eid = hex32(id)
        .ok()
        .filter(|_| id.bytes().all(|c| !c.is_ascii_uppercase()))
        .ok_or_else(|| {
            Refusal(
                ErrorCode::BadElectionId,
                "an election id is 64 lowercase hex digits".into(),
            )
        })?;
    m.elections.get(&eid).cloned().ok_or_else(|| {
        Refusal(
            ErrorCode::UnknownElection,
            "this mirror does not follow that election".into(),
        )
    })
}

/// The latest checkpoint whose every entry is held.
fn held(f: &Followed) -> Result<Signed, Refusal> {
    f.view().held.ok_or_else(|| {
        Refusal(
            ErrorCode::NotMirrored,
            "the mirror holds no verified checkpoint of this election yet".into(),
        )
    })
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Refusal> {
    q.map(|Query(t)| t)
        .map_err(|e| Refusal(ErrorCode::BadRequest, e.body_text()))
}

fn proof_refusal(e: impl ToString) -> Refusal {
    Refusal(ErrorCode::BadProofRequest, e.to_string())
}

/// `GET /v1/health`: the elections followed and where each stands.
async fn health(State(m): State<AppState>) -> Json<serde_json::Value> {
    let elections: Vec<_> = m
        .elections
        .values()
        .map(|f| {
            let v = f.view();
            serde_json::json!({
                "election_id": hex::encode(f.eid),
                "board": f.board,
                "state": v.state,
                "size": v.held.map_or(0, |h| h.size),
            })
        })
        .collect();
    Json(serde_json::json!({ "status": "ok", "role": "mirror", "elections": elections }))
}

/// Where the mirror stands with one election: `GET /v1/elections/{id}/mirror`.
#[derive(Serialize)]
pub struct MirrorStatus {
    /// The election id, hex.
    pub election_id: String,
    /// The board followed.
    pub board: String,
    /// Catching up, following, or stopped on a fork.
    pub state: FollowState,
    /// The latest checkpoint whose every entry is held and proven (what is served).
    pub checkpoint: Option<CheckpointView>,
    /// The election's witnesses that cosigned it.
    pub cosigned_by: Vec<String>,
    /// What the verifier's checks found wrong so far (empty: nothing).
    pub findings: Vec<Finding>,
    /// The whole verification's report, once the record ends with its result.
    pub report: Option<Report>,
    /// Why the latest round of following failed, if it did.
    pub last_error: Option<String>,
    /// The evidence of the fork seen, if any.
    pub fork: Option<Fork>,
}

fn view_of(s: &Signed) -> CheckpointView {
    CheckpointView {
        size: s.size,
        root: hex::encode(s.root),
        checkpoint: s.note.clone(),
    }
}

async fn status(
    State(m): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MirrorStatus>, Refusal> {
    let f = followed(&m, &id)?;
    let v = f.view();
    Ok(Json(MirrorStatus {
        election_id: hex::encode(f.eid),
        board: f.board.clone(),
        state: v.state,
        checkpoint: v.held.as_ref().map(view_of),
        cosigned_by: v.cosigned_by,
        findings: v.findings,
        report: v.report,
        last_error: v.last_error,
        fork: v.fork,
    }))
}

async fn manifest(
    State(m): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<zkvote_core::Manifest>, Refusal> {
    let f = followed(&m, &id)?;
    held(&f)?;
    f.view().manifest.map(Json).ok_or_else(|| {
        Refusal(
            ErrorCode::NotMirrored,
            "the mirror holds no manifest of this election yet".into(),
        )
    })
}

async fn checkpoint(
    State(m): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CheckpointView>, Refusal> {
    let f = followed(&m, &id)?;
    Ok(Json(view_of(&held(&f)?)))
}

#[derive(Deserialize)]
struct Page {
    from: Option<u64>,
    limit: Option<u64>,
    kind: Option<String>,
}

async fn entries(
    State(m): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<Page>, QueryRejection>,
) -> Result<Response, Refusal> {
    let f = followed(&m, &id)?;
    let p = query(q)?;
    let size = held(&f)?.size;
    if let Some(name) = &p.kind {
        EntryKind::from_name(name)
            .ok_or_else(|| Refusal(ErrorCode::BadKind, format!("no entry kind {name:?}")))?;
    }
    let limit = p.limit.unwrap_or(100).min(PAGE);
    let list = m
        .store
        .entries(&f.eid, p.from.unwrap_or(0), limit, p.kind.as_deref())
        .await
        .map_err(|e| Refusal(ErrorCode::BoardError, e.to_string()))?;
    let lines: Vec<String> = list
        .iter()
        .filter(|e| e.index < size)
        .map(|e| entry_line(e.index, &e.kind, &e.data))
        .collect();
    let body = format!("[{}]", lines.join(","));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn receipt(
    State(m): State<AppState>,
    Path((id, index)): Path<(String, u64)>,
) -> Result<Json<Receipt>, Refusal> {
    let f = followed(&m, &id)?;
    let held = held(&f)?;
    let tree = f.tree.read().expect("tree lock");
    let proof = inclusion_proof(&*tree, index, held.size).map_err(proof_refusal)?;
    Ok(Json(Receipt {
        index,
        leaf_hash: *tree.leaf(index).expect("below the held size"),
        checkpoint: held.note,
        inclusion_proof: proof,
    }))
}

#[derive(Deserialize)]
struct InclusionQuery {
    index: Option<u64>,
    digest: Option<String>,
    size: Option<u64>,
}

async fn inclusion(
    State(m): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Json<InclusionView>, Refusal> {
    let f = followed(&m, &id)?;
    let q = query(q)?;
    let held = held(&f)?;
    let index = match (q.index, q.digest) {
        (Some(i), None) => i,
        (None, Some(_)) => {
            return Err(proof_refusal(
                "a mirror finds entries by index (a receipt names it): ask with index",
            ))
        }
        _ => return Err(proof_refusal("give exactly one of index and digest")),
    };
    let size = q.size.unwrap_or(held.size);
    if size > held.size {
        return Err(proof_refusal(format!(
            "the mirror's verified checkpoint is of size {}",
            held.size
        )));
    }
    let tree = f.tree.read().expect("tree lock");
    let proof = inclusion_proof(&*tree, index, size).map_err(proof_refusal)?;
    Ok(Json(InclusionView {
        index,
        size,
        leaf_hash: tree.leaf(index).map(hex::encode),
        proof: proof.iter().map(hex::encode).collect(),
    }))
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    old: u64,
    new: u64,
}

async fn consistency(
    State(m): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<ConsistencyView>, Refusal> {
    let f = followed(&m, &id)?;
    let q = query(q)?;
    let held = held(&f)?;
    if q.new > held.size {
        return Err(proof_refusal(format!(
            "the mirror's verified checkpoint is of size {}",
            held.size
        )));
    }
    let tree = f.tree.read().expect("tree lock");
    let proof = consistency_proof(&*tree, q.old, q.new).map_err(proof_refusal)?;
    Ok(Json(ConsistencyView {
        old: q.old,
        new: q.new,
        proof: proof.iter().map(hex::encode).collect(),
    }))
}

/// `GET /v1/elections/{id}/record`: the entries under the held checkpoint, streamed from
/// the store page by page, then the checkpoint: byte for byte the board's record at
/// that checkpoint.
async fn record(State(m): State<AppState>, Path(id): Path<String>) -> Result<Response, Refusal> {
    let f = followed(&m, &id)?;
    let held = held(&f)?;
    let (store, eid, size, note) = (m.store.clone(), f.eid, held.size, held.note);
    let pages = futures_util::stream::unfold(Some(0u64), move |state| {
        let (store, note) = (store.clone(), note.clone());
        async move {
            let from = state?;
            if from >= size {
                let last = format!("{}\n", checkpoint_line(&note));
                return Some((Ok::<_, std::io::Error>(Bytes::from(last)), None));
            }
            match store.entries(&eid, from, PAGE.min(size - from), None).await {
                Ok(list) if !list.is_empty() => {
                    let mut out = String::new();
                    for e in &list {
                        out.push_str(&entry_line(e.index, &e.kind, &e.data));
                        out.push('\n');
                    }
                    Some((Ok(Bytes::from(out)), Some(from + list.len() as u64)))
                }
                Ok(_) => Some((Err(std::io::Error::other("entries missing")), None)),
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(pages),
    )
        .into_response())
}
