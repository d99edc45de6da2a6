//! Reading the log: signed checkpoints, receipts, pages of entries, inclusion and
//! consistency proofs, and the whole record, streamed in the line format of
//! `zkvote_protocol::record`.

use super::{election_id, ApiError, AppState, Board};
use crate::store::{StoreError, StoredEntry};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use zkvote_core::codec::hex32;
use zkvote_core::log::Receipt;
use zkvote_protocol::api::{CheckpointView, ConsistencyView, InclusionView};
use zkvote_protocol::record::{checkpoint_line, entry_line};
use zkvote_protocol::{EntryKind, ErrorCode};

/// Entries per page when the record is streamed from the store.
const RECORD_PAGE: u64 = 1000;

pub(super) async fn checkpoint(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CheckpointView>, ApiError> {
    let eid = election_id(&id)?;
    b.election(&eid).await?;
    let cp = b.log.published(&eid, None).await?;
    Ok(Json(CheckpointView {
        size: cp.size,
        root: hex::encode(cp.root),
        checkpoint: cp.note,
    }))
}

pub(super) async fn receipt(
    State(b): State<AppState>,
    Path((id, index)): Path<(String, u64)>,
) -> Result<Json<Receipt>, ApiError> {
    let eid = election_id(&id)?;
    b.election(&eid).await?;
    Ok(Json(b.log.receipt(&eid, index).await?))
}

#[derive(Deserialize)]
pub(super) struct Page {
    from: Option<u64>,
    limit: Option<u64>,
    kind: Option<String>,
}

pub(super) async fn entries(
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
            let kind = EntryKind::from_name(name).ok_or_else(|| {
                ApiError::new(ErrorCode::BadKind, format!("no entry kind {name:?}"))
            })?;
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
        out.push_str(&line(e));
    }
    out.push(']');
    Ok(([("content-type", "application/json")], out).into_response())
}

/// A stored entry's record line.
fn line(e: &StoredEntry) -> String {
    entry_line(e.index, &e.kind, &e.data)
}

#[derive(Deserialize)]
pub(super) struct InclusionQuery {
    index: Option<u64>,
    digest: Option<String>,
    size: Option<u64>,
}

/// The log index of the ballot with this digest (tracker).
async fn ballot_index(b: &Board, eid: &[u8; 32], digest: &str) -> Result<u64, ApiError> {
    let d = hex32(digest).map_err(|e| ApiError::new(ErrorCode::BadDigest, e.to_string()))?;
    b.log
        .store()
        .index_of_digest(eid, &d)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownBallot,
                "no ballot with this digest on the board",
            )
        })
}

pub(super) async fn ballot_receipt(
    State(b): State<AppState>,
    Path((id, digest)): Path<(String, String)>,
) -> Result<Json<Receipt>, ApiError> {
    let eid = election_id(&id)?;
    let index = ballot_index(&b, &eid, &digest).await?;
    Ok(Json(b.log.receipt(&eid, index).await?))
}

pub(super) async fn inclusion(
    State(b): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<InclusionView>, ApiError> {
    let eid = election_id(&id)?;
    b.election(&eid).await?;
    let index = match (q.index, &q.digest) {
        (Some(i), None) => i,
        (None, Some(d)) => ballot_index(&b, &eid, d).await?,
        _ => {
            return Err(ApiError::new(
                ErrorCode::BadProofRequest,
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
    Ok(Json(InclusionView {
        index,
        size,
        leaf_hash: leaf.first().map(|e| hex::encode(e.leaf_hash)),
        proof: proof.iter().map(hex::encode).collect(),
    }))
}

#[derive(Deserialize)]
pub(super) struct ConsistencyQuery {
    old: u64,
    new: u64,
}

pub(super) async fn consistency(
    State(b): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyView>, ApiError> {
    let eid = election_id(&id)?;
    b.election(&eid).await?;
    let proof = b.log.consistency_proof(&eid, q.old, q.new).await?;
    Ok(Json(ConsistencyView {
        old: q.old,
        new: q.new,
        proof: proof.iter().map(hex::encode).collect(),
    }))
}

pub(super) async fn record(
    State(b): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let eid = election_id(&id)?;
    b.election(&eid).await?;
    let cp = b.log.published(&eid, None).await?;
    let (size, note) = (cp.size, cp.note.clone());
    let store = b.log.store().clone();
    // Streamed page by page (entries below the checkpoint's size never change), so a
    // record of millions of ballots never sits in memory; the signed checkpoint is last.
    let pages = futures_util::stream::unfold(Some(0u64), move |state| {
        let (store, note) = (store.clone(), note.clone());
        async move {
            let from = state?;
            if from >= size {
                let last = format!("{}\n", checkpoint_line(&note));
                return Some((Ok(Bytes::from(last)), None));
            }
            match store
                .entries(&eid, from, RECORD_PAGE.min(size - from))
                .await
            {
                Ok(list) if !list.is_empty() => {
                    let mut out = String::new();
                    for e in &list {
                        out.push_str(&line(e));
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
