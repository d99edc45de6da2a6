//! What every route shares: the JSON form of the framework's own refusals, the request
//! target limit, the unknown-route fallback, and the health and OpenAPI documents.

use super::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use zkvote_protocol::api::{Health, MAX_URI};
use zkvote_protocol::ErrorCode;

/// The OpenAPI 3.1 description of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

pub(super) async fn unknown_route() -> ApiError {
    ApiError::new(
        ErrorCode::UnknownRoute,
        "no such route (GET /v1/openapi.json lists them)",
    )
}

/// The answer to a request whose handler panicked: a 500 `board-error`. The panic's
/// message is not sent (the panic hook has logged it).
pub(super) fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::new(
        ErrorCode::BoardError,
        "the board failed on this request; it was not completed",
    )
    .into_response()
}

pub(super) async fn limit_uri(req: Request, next: axum::middleware::Next) -> Response {
    if req.uri().to_string().len() > MAX_URI {
        return ApiError::new(
            ErrorCode::UriTooLong,
            format!("the request target exceeds {MAX_URI} bytes"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Cross-origin access (a booth hosted on another origin): every answer may be read by any
/// origin (`Access-Control-Allow-Origin: *`; no credentials are ever involved), and a
/// CORS preflight (an `OPTIONS` request naming `Access-Control-Request-Method`) is
/// answered 204 for GET and POST with a JSON body. Any other `OPTIONS` request goes on to
/// the routes (405).
pub(super) async fn cors(req: Request, next: axum::middleware::Next) -> Response {
    use axum::http::{header, HeaderValue, Method};
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = if preflight {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    } else {
        next.run(req).await
    };
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// Every refusal is a JSON error with a stable code: refusals made by the framework
/// (path and query parse failures, wrong method, timeouts) are rewritten into that form,
/// keeping their status and their text as the message.
pub(super) async fn json_errors(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => ErrorCode::BadRequest,
        StatusCode::NOT_FOUND => ErrorCode::UnknownRoute,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::Timeout,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyTooLarge,
        StatusCode::URI_TOO_LONG => ErrorCode::UriTooLong,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        s if s.is_server_error() => ErrorCode::BoardError,
        _ => ErrorCode::BadRequest,
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
    let mut out = ApiError::with_status(status, code, message).into_response();
    // Headers such as `Allow` (405) are kept; the body's own are the JSON error's.
    for (name, value) in &parts.headers {
        if name != "content-type" && name != "content-length" {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

pub(super) async fn openapi() -> Response {
    ([("content-type", "application/json")], OPENAPI).into_response()
}

pub(super) async fn health(State(b): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        storage: b.log.store().backend_name().into(),
        board_key: hex::encode(b.log.public_key().to_bytes()),
    })
}
