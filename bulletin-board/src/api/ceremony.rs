//! The trustees' key ceremony: dealings and complaints (each signed by its author inside
//! the message), and the commission's open, which publishes the joint key.

use super::auth::commission_summary;
use super::board::{ceremony_outcome, require_phase, Board};
use super::{created, election_body, ApiError, AppState};
use axum::extract::{Path, Request, State};
use axum::response::Response;
use zkvote_protocol::api::{MAX_BODY, MAX_MESSAGE_BODY};
use zkvote_protocol::{AuthorError, Entry, EntryKind, ErrorCode};
use zkvote_tally::{Complaint, Dealing};

/// Appends a trustee's ceremony message before voting opens, if it is its author's
/// (`Entry::check_author`).
async fn post_ceremony_message(
    b: &Board,
    eid: &[u8; 32],
    entry: Entry,
) -> Result<Response, ApiError> {
    let e = b.election(eid).await?;
    let mut s = e.lock().await;
    require_phase(&s, entry.kind())?;
    entry.check_author(s.ceremony()).map_err(|e| match e {
        AuthorError::UnknownTrustee(_) => ApiError::new(ErrorCode::UnknownTrustee, e.to_string()),
        AuthorError::BadSignature(_) => ApiError::unauthorized(e.to_string()),
    })?;
    Ok(created(b.append_entry(eid, &mut s, entry).await?))
}

pub(super) async fn post_dealing(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (eid, dealing): (_, Dealing) = election_body(&id, req, MAX_BODY).await?;
    post_ceremony_message(&b, &eid, Entry::Dealing { dealing }).await
}

pub(super) async fn post_complaint(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (eid, complaint): (_, Complaint) = election_body(&id, req, MAX_MESSAGE_BODY).await?;
    post_ceremony_message(&b, &eid, Entry::Complaint { complaint }).await
}

pub(super) async fn open(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    commission_summary(&b, &id, req, EntryKind::Open, |s| {
        let outcome = ceremony_outcome(s)?;
        Ok(Entry::Open {
            joint_key: outcome.joint_key,
            qualified: outcome.qualified,
        })
    })
    .await
}
