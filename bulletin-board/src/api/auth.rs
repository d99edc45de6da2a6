//! Authenticating commission requests: the signature is checked by the protocol's
//! [`verify_request`], then the request's nonce is claimed in the store (shared by every
//! board process), so that a signed request is carried out once (`docs/protocol.md`
//! section 12.4).

use super::board::{Board, Election};
use super::{created, parse_json, read_body, ApiError};
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};
use zkvote_protocol::api::{EmptyBody, MAX_SMALL_BODY};
use zkvote_protocol::request::{
    verify_request, RequestHeaders, SignedRequest, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use zkvote_protocol::ErrorCode;
use zkvote_protocol::{ElectionState, Entry, EntryKind};

/// The headers of a signed request, for an HTTP client built on `http`'s types.
pub fn header_map(signed: &SignedRequest) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in signed.headers() {
        headers.insert(
            name,
            value.parse().expect("decimal and hex are header values"),
        );
    }
    headers
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks a commission request's signature under `key` and claims its nonce, so that the
/// same request is never carried out twice, by this or any board process on the store.
pub(super) async fn check_signed(
    b: &Board,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    body: &[u8],
    key: &[u8; 32],
) -> Result<(), ApiError> {
    let received = RequestHeaders {
        timestamp: header(headers, TIMESTAMP_HEADER),
        nonce: header(headers, NONCE_HEADER),
        signature: header(headers, SIGNATURE_HEADER),
    };
    let now = now();
    let ok = verify_request(key, method.as_str(), path, body, received, now)
        .map_err(|e| ApiError::unauthorized(e.to_string()))?;
    if !b
        .log
        .store()
        .claim_request_nonce(key, &ok.nonce, ok.expires_at, now)
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::ReplayedRequest,
            "this signed request was already received: every signed request is single-use",
        ));
    }
    Ok(())
}

/// A commission request to an existing election, authenticated: the election's state is
/// locked and the request's signature checked (its nonce claimed) under the manifest's
/// commission key.
pub(super) struct CommissionRequest {
    pub eid: [u8; 32],
    pub election: Arc<Mutex<Election>>,
    pub state: OwnedMutexGuard<Election>,
    pub body: Bytes,
}

/// A commission request with the body `{}` that appends the summary entry of `kind`
/// computed by `compute` (freeze, open).
pub(super) async fn commission_summary(
    b: &Board,
    id: &str,
    req: Request,
    kind: EntryKind,
    compute: impl FnOnce(&ElectionState) -> Result<Entry, ApiError>,
) -> Result<Response, ApiError> {
    let mut r = commission_request(b, id, req, MAX_SMALL_BODY).await?;
    parse_json::<EmptyBody>(&r.body)?;
    let receipt = b
        .append_summary(&r.eid, &mut r.state, kind, compute)
        .await?;
    Ok(created(receipt))
}

pub(super) async fn commission_request(
    b: &Board,
    id: &str,
    req: Request,
    limit: usize,
) -> Result<CommissionRequest, ApiError> {
    let eid = super::election_id(id)?;
    let (method, path, headers, body) = read_body(req, limit).await?;
    let election = b.election(&eid).await?;
    let state = election.clone().lock_owned().await;
    let key = state.manifest().commission_key;
    check_signed(b, &headers, &method, &path, &body, &key).await?;
    Ok(CommissionRequest {
        eid,
        election,
        state,
        body,
    })
}
