//! The trustees' key ceremony: dealings and complaints (each signed by its author inside
//! the message), and the commission's open, which publishes the joint key.

use super::auth::commission_summary;
use super::board::{ceremony_outcome, require_phase, Board};
use super::{created, election_body, ApiError, AppState};
use axum::extract::{Path, Request, State};
use axum::response::Response;
use zkvote_protocol::api::{MAX_BODY, MAX_MESSAGE_BODY};
use zkvote_protocol::{Entry, EntryKind, ErrorCode};
use zkvote_tally::{Complaint, Dealing};

/// A trustee's self-signed ceremony message: its author, signature domain, signed body and
/// signature, and the entry it becomes.
struct TrusteeMessage {
    author: u32,
    domain: &'static [u8],
    body: Vec<u8>,
    signature: [u8; 64],
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
    require_phase(&s, m.entry.kind())?;
    let t = s
        .ceremony()
        .trustee(m.author)
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownTrustee, "no such trustee"))?;
    zkvote_tally::ceremony::verify_signature(
        &t.signing_key,
        m.domain,
        &s.ceremony().manifest_hash,
        &m.body,
        &m.signature,
    )
    .map_err(|e| ApiError::unauthorized(format!("{e} (trustee {})", m.author)))?;
    Ok(created(b.append_entry(eid, &mut s, m.entry).await?))
}

pub(super) async fn post_dealing(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (eid, d): (_, Dealing) = election_body(&id, req, MAX_BODY).await?;
    let m = TrusteeMessage {
        author: d.dealer,
        domain: zkvote_tally::labels::SIG_DEALING,
        body: d.body(),
        signature: d.signature,
        entry: Entry::Dealing { dealing: d },
    };
    post_ceremony_message(&b, &eid, m).await
}

pub(super) async fn post_complaint(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (eid, c): (_, Complaint) = election_body(&id, req, MAX_MESSAGE_BODY).await?;
    let m = TrusteeMessage {
        author: c.accuser,
        domain: zkvote_tally::labels::SIG_COMPLAINT,
        body: c.body(),
        signature: c.signature,
        entry: Entry::Complaint { complaint: c },
    };
    post_ceremony_message(&b, &eid, m).await
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
