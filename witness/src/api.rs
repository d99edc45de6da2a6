//! The witness's HTTP API: `POST /add-checkpoint` (C2SP tlog-witness), and two read-only
//! JSON resources, `GET /v1/witness` (name and key) and `GET /v1/evidence` (forks seen).

use crate::witness::{Refusal, Witness};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;

/// Largest request body: 63 proof lines and a checkpoint with a few signatures fit in
/// well under this.
pub const MAX_BODY: usize = 16 * 1024;

/// The witness's routes.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/v1/witness", get(public))
        .route("/v1/evidence", get(evidence))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // A handler that panics answers 500 instead of dropping the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain; charset=utf-8",
                    "the witness failed on this request\n".into(),
                )
            },
        ))
        .with_state(witness)
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = match &self {
            Refusal::Malformed(_) => StatusCode::BAD_REQUEST,
            Refusal::UnknownLog(_) => StatusCode::NOT_FOUND,
            Refusal::NotSigned => StatusCode::FORBIDDEN,
            Refusal::Conflict { latest } => {
                return text(
                    StatusCode::CONFLICT,
                    "text/x.tlog.size",
                    format!("{latest}\n"),
                )
            }
            Refusal::Inconsistent(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        text(status, "text/plain; charset=utf-8", format!("{self}\n"))
    }
}

/// `POST /add-checkpoint`: the cosignature line, or the refusal's status.
async fn add_checkpoint(State(w): State<Arc<Witness>>, body: String) -> Response {
    match w.add_checkpoint(&body).await {
        Ok(line) => text(StatusCode::OK, "text/plain; charset=utf-8", line),
        Err(refusal) => refusal.into_response(),
    }
}

/// `GET /v1/witness`: `{"name", "public_key"}` (hex).
async fn public(State(w): State<Arc<Witness>>) -> Json<serde_json::Value> {
    let key = w.public();
    Json(serde_json::json!({
        "name": key.name,
        "public_key": hex::encode(key.key.as_bytes()),
    }))
}

/// `GET /v1/evidence`: every refused fork, oldest first.
async fn evidence(State(w): State<Arc<Witness>>) -> Response {
    match w.store().evidence().await {
        Ok(list) => Json(list).into_response(),
        Err(e) => Refusal::Store(e).into_response(),
    }
}
