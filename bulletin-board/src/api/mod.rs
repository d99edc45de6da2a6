//! The HTTP API (axum), JSON, under `/v1`. Every rejection is a JSON error with a stable
//! code ([`zkvote_protocol::ErrorCode`]) and a clear message, and changes nothing.
//!
//! Commission requests are signed (`zkvote_protocol::request`) and single-use: their
//! nonce is claimed in the store, shared by every board process. Trustee messages
//! (dealings, complaints, partial decryptions) are signed inside the message itself.
//! Voters are anonymous: the proofs are the credential.
//!
//! The modules follow the election's roles: [`auth`] (signed requests), `board` (the
//! election cache and the append paths), `setup` (election, registration), `roll` (the
//! frozen roll, whole or by bucket), `ceremony` (dealings,
//! complaints, open), `voting` (ballots, close), `tally` (partial decryptions, result),
//! `records` (checkpoints, proofs, entries, the record), [`error`] and `framework`.

pub mod auth;
mod board;
mod ceremony;
pub mod error;
mod framework;
mod records;
mod restore;
mod roll;
mod setup;
mod setup_ceremony;
mod tally;
mod voting;

pub use auth::header_map;
pub use board::{Board, BoardConfig, Creators};
pub use error::ApiError;
pub use framework::OPENAPI;
pub use zkvote_protocol::api::{MAX_BALLOT_BODY, MAX_BODY, MAX_URI};
pub use zkvote_protocol::request::{
    parse_timestamp, request_message, sign_request, SignedRequest, MAX_SKEW_SECS, NONCE_HEADER,
    SIGNATURE_HEADER, TIMESTAMP_HEADER,
};

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use zkvote_core::codec::hex32;
use zkvote_protocol::ErrorCode;

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
        .route("/v1/health", get(framework::health))
        .route("/v1/openapi.json", get(framework::openapi))
        .route("/v1/elections", post(setup::create_election))
        .route("/v1/elections/{id}", get(setup::status))
        .route("/v1/elections/{id}/manifest", get(setup::manifest))
        .route("/v1/elections/{id}/groth16-vk", get(setup::groth16_vk))
        .route("/v1/elections/{id}/proving-key", get(setup::proving_key))
        .route(
            "/v1/elections/{id}/registration-codes",
            post(setup::issue_codes),
        )
        .route("/v1/elections/{id}/setup", get(setup_ceremony::status))
        .route(
            "/v1/elections/{id}/setup/contributions",
            post(setup_ceremony::contribute),
        )
        .route(
            "/v1/elections/{id}/setup/close",
            post(setup_ceremony::close),
        )
        .route("/v1/elections/{id}/registrations", post(setup::register))
        .route("/v1/elections/{id}/freeze", post(setup::freeze))
        .route("/v1/elections/{id}/roll", get(roll::roll))
        .route("/v1/elections/{id}/roll/buckets/{index}", get(roll::bucket))
        .route("/v1/elections/{id}/dealings", post(ceremony::post_dealing))
        .route(
            "/v1/elections/{id}/complaints",
            post(ceremony::post_complaint),
        )
        .route("/v1/elections/{id}/open", post(ceremony::open))
        .route("/v1/elections/{id}/ballots", post(voting::post_ballot))
        .route(
            "/v1/elections/{id}/ballots/{digest}",
            get(records::ballot_receipt),
        )
        .route("/v1/elections/{id}/close", post(voting::close))
        .route(
            "/v1/elections/{id}/partial-decryptions",
            post(tally::post_partial),
        )
        .route("/v1/elections/{id}/result", post(tally::post_result))
        .route("/v1/elections/{id}/checkpoint", get(records::checkpoint))
        .route("/v1/elections/{id}/receipts/{index}", get(records::receipt))
        .route("/v1/elections/{id}/entries", get(records::entries))
        .route(
            "/v1/elections/{id}/proofs/inclusion",
            get(records::inclusion),
        )
        .route(
            "/v1/elections/{id}/proofs/consistency",
            get(records::consistency),
        )
        .route("/v1/elections/{id}/record", get(records::record))
        .fallback(framework::unknown_route)
        .layer(axum::middleware::from_fn(framework::limit_uri))
        // A handler that panics answers 500 instead of dropping the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            framework::panicked,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        // Outermost, so that the timeout's refusal is rewritten too.
        .layer(axum::middleware::map_response(framework::json_errors))
        // Any origin may read the public record and post (a booth hosted elsewhere).
        .layer(axum::middleware::from_fn(framework::cors))
        .with_state(board)
}

/// Parses a JSON body (a 400 `malformed-json` if it is not the expected form).
fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::new(ErrorCode::MalformedJson, e.to_string()))
}

/// The election id of the path and the request's JSON body (at most `limit` bytes).
async fn election_body<T: serde::de::DeserializeOwned>(
    id: &str,
    req: Request,
    limit: usize,
) -> Result<([u8; 32], T), ApiError> {
    let eid = election_id(id)?;
    let (_, _, _, body) = read_body(req, limit).await?;
    Ok((eid, parse_json(&body)?))
}

/// Reads a request's body up to `limit` bytes (a 413 `body-too-large` past it).
async fn read_body(
    req: Request,
    limit: usize,
) -> Result<(Method, String, HeaderMap, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            ErrorCode::BodyTooLarge,
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

/// The election id of a path (a 400 `bad-election-id` unless 64 lowercase hex digits).
fn election_id(text: &str) -> Result<[u8; 32], ApiError> {
    hex32(text).map_err(|_| {
        ApiError::new(
            ErrorCode::BadElectionId,
            "the election id must be 64 lowercase hex digits",
        )
    })
}

/// A `201 Created` answer with a JSON body.
fn created<T: serde::Serialize>(body: T) -> axum::response::Response {
    use axum::response::IntoResponse;
    (StatusCode::CREATED, axum::Json(body)).into_response()
}
