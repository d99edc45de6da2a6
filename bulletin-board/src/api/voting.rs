//! Voting: ballots go to the election's ballot box (verified in micro-batches, appended
//! durably before the receipt), and the commission's close drains it.

use super::auth::commission_request;
use super::board::require_phase;
use super::error::rejection;
use super::{created, election_id, parse_json, read_body, ApiError, AppState};
use axum::extract::{Path, Request, State};
use axum::response::Response;
use zkvote_circuits::complete::CompleteBallot;
use zkvote_protocol::api::{EmptyBody, MAX_BALLOT_BODY, MAX_SMALL_BODY};
use zkvote_protocol::{Entry, EntryKind, ErrorCode};

pub(super) async fn post_ballot(
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
            serde_json::error::Category::Data => {
                ApiError::new(ErrorCode::InvalidEncoding, e.to_string())
            }
            _ => ApiError::new(ErrorCode::MalformedJson, e.to_string()),
        })
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    let bb = {
        let e = b.election(&eid).await?;
        let s = e.lock().await;
        require_phase(&s, EntryKind::Ballot)?;
        s.ballot_box.clone().ok_or_else(|| {
            ApiError::new(
                ErrorCode::ElectionNotOpen,
                "the election is not open for voting",
            )
        })?
    };
    let receipt = bb.submit(ballot).await.map_err(rejection)?;
    Ok(created(receipt))
}

pub(super) async fn close(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let r = commission_request(&b, &id, req, MAX_SMALL_BODY).await?;
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
    let receipt = b
        .append_summary(&eid, &mut s, EntryKind::Close, |_| Ok(Entry::Close {}))
        .await?;
    Ok(created(receipt))
}
