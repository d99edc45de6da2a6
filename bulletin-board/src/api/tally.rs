//! The tally: trustees' partial decryptions of the aggregate (each checked against it),
//! and the commission's result, checked against the partial decryptions.

use super::auth::{commission_request, CommissionRequest};
use super::board::{ceremony_outcome, require_phase, Board, Election};
use super::{created, election_body, parse_json, ApiError, AppState};
use crate::store::StoredEntry;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use std::collections::HashSet;
use std::sync::Arc;
use zkvote_core::{Ballot, Manifest, RevotePolicy};
use zkvote_protocol::api::{PostResult, MAX_BODY, MAX_MESSAGE_BODY};
use zkvote_protocol::{encode_aggregate, Entry, EntryKind, ErrorCode};
use zkvote_tally::{verify_result, Aggregate, PartialDecryption};

/// Ballot entries decoded per step when the aggregate is computed.
const AGGREGATE_PAGE: u64 = 1000;

pub(super) async fn post_partial(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (eid, p): (_, PartialDecryption) = election_body(&id, req, MAX_BODY).await?;
    let e = b.election(&eid).await?;
    let mut s = e.lock().await;
    require_phase(&s, EntryKind::PartialDecryption)?;
    let outcome = ceremony_outcome(&s)?;
    let agg = counted_aggregate(&b, &eid, &mut s).await?;
    zkvote_tally::verify_partial_decryption(
        s.ceremony(),
        &outcome,
        &agg,
        &p,
        &mut rand_core::OsRng,
    )
    .map_err(|e| ApiError::new(ErrorCode::InvalidPartialDecryption, e.to_string()))?;
    let entry = Entry::PartialDecryption { partial: p };
    Ok(created(b.append_entry(&eid, &mut s, entry).await?))
}

pub(super) async fn post_result(
    State(b): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let CommissionRequest {
        eid,
        state: mut s,
        body,
        ..
    } = commission_request(&b, &id, req, MAX_MESSAGE_BODY).await?;
    let r: PostResult = parse_json(&body)?;
    require_phase(&s, EntryKind::Result)?;
    let outcome = ceremony_outcome(&s)?;
    // No ballot is appended after the close: the aggregate is final.
    let agg = counted_aggregate(&b, &eid, &mut s).await?;
    let receipt = b
        .append_summary(&eid, &mut s, EntryKind::Result, |s| {
            verify_result(
                s.ceremony(),
                &outcome,
                &agg,
                s.partials(),
                &r.counts,
                &mut rand_core::OsRng,
            )
            .map_err(|e| ApiError::new(ErrorCode::WrongResult, e.to_string()))?;
            Ok(Entry::Result {
                ballots_counted: agg.ballots,
                aggregate: encode_aggregate(&agg),
                counts: r.counts,
            })
        })
        .await?;
    Ok(created(receipt))
}

/// The aggregate of the counted ballots (all of them under `reject`, where the board
/// refused repeats; the last per nullifier under `last-ballot-counts`), computed once after
/// the close by paging through the store (decoding off the async executor) and cached.
async fn counted_aggregate(
    b: &Board,
    eid: &[u8; 32],
    e: &mut Election,
) -> Result<Aggregate, ApiError> {
    if let Some(a) = &e.aggregate {
        return Ok(a.clone());
    }
    let store = b.log.store();
    let counted: Option<Arc<HashSet<u64>>> = match e.manifest().revote_policy {
        RevotePolicy::Reject => None,
        RevotePolicy::LastBallotCounts => Some(Arc::new(
            store
                .last_ballot_per_nullifier(eid)
                .await?
                .into_iter()
                .collect(),
        )),
    };
    let mut total = Aggregate::empty(e.manifest());
    let mut from = 0u64;
    loop {
        let page = store
            .entries_of_kind_from(eid, EntryKind::Ballot, from, AGGREGATE_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        from = last.index + 1;
        let (manifest, counted) = (e.manifest().clone(), counted.clone());
        let part = tokio::task::spawn_blocking(move || page_sum(&manifest, &page, counted))
            .await
            .map_err(|err| ApiError::internal(err.to_string()))??;
        total = total.merge(part);
    }
    e.aggregate = Some(total.clone());
    Ok(total)
}

/// The sum of the counted ballots of one page of ballot entries.
fn page_sum(
    manifest: &Manifest,
    page: &[StoredEntry],
    counted: Option<Arc<HashSet<u64>>>,
) -> Result<Aggregate, ApiError> {
    use rayon::prelude::*;
    let ballots: Vec<Ballot> = page
        .par_iter()
        .filter(|e| counted.as_ref().map_or(true, |c| c.contains(&e.index)))
        // The board's own stored bytes: decoded (every field checked) without the
        // canonical re-encoding a verifier makes.
        .map(|e| match serde_json::from_slice::<Entry>(&e.data) {
            Ok(Entry::Ballot { ballot }) => Ok(ballot.ballot),
            _ => Err(ApiError::corrupt(format!(
                "entry {} is not a ballot",
                e.index
            ))),
        })
        .collect::<Result<_, _>>()?;
    Ok(zkvote_tally::aggregate(manifest, &ballots))
}
