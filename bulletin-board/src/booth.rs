//! The web booth, embedded in the board (feature `booth`): its pages and WebAssembly under
//! `/booth/` (with `/` redirected there), from the bundle scripts/build-booth.sh made.
//!
//! Every answer carries the booth's security headers: a strict Content-Security-Policy
//! (no inline script, `script-src 'self' 'wasm-unsafe-eval'`, no framing), `nosniff`, no
//! referrer, and cross-origin isolation (COOP/COEP), which the page needs for WebAssembly
//! threads. Versioned assets are cached for a year; `index.html` and `bundle.json` are
//! revalidated on each load.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

/// The embedded bundle: (file name, bytes), sorted by name.
static ASSETS: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/booth_assets.rs"));

/// The policy of every booth answer (the page repeats it in a meta element, for static
/// hosting, where `frame-ancestors` cannot be given).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' \
    'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; style-src 'self'; \
    img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The embedded files' names and bytes.
pub fn assets() -> &'static [(&'static str, &'static [u8])] {
    ASSETS
}

/// The bundle's SHA-256 (hex): of the `sha256sum` listing (`HASH  NAME` lines, sorted by
/// name) of every embedded file but `bundle.json` — recomputed here, not read from it.
pub fn bundle_hash() -> String {
    let mut files: Vec<&(&str, &[u8])> = ASSETS
        .iter()
        .filter(|(name, _)| *name != "bundle.json")
        .collect();
    files.sort_by_key(|(name, _)| *name);
    let mut listing = Sha256::new();
    for (name, bytes) in files {
        listing.update(format!("{}  {name}\n", hex::encode(Sha256::digest(bytes))));
    }
    hex::encode(listing.finalize())
}

/// The hash `bundle.json` states, if it is readable.
pub fn stated_bundle_hash() -> Option<String> {
    let (_, bytes) = ASSETS.iter().find(|(name, _)| *name == "bundle.json")?;
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("sha256")?.as_str().map(str::to_string)
}

/// The booth's routes: `/` (redirect), `/booth/` and `/booth/{file}`.
pub fn router() -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/booth/") }))
        .route("/booth", get(|| async { Redirect::to("/booth/") }))
        .route("/booth/", get(|| async { asset("index.html") }))
        .route(
            "/booth/{file}",
            get(|Path(file): Path<String>| async move { asset(&file) }),
        )
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn asset(name: &str) -> Response {
    let Some((_, bytes)) = ASSETS.iter().find(|(n, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such file in the booth\n").into_response();
    };
    let cache = if name == "index.html" || name == "bundle.json" {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    let mut response = (*bytes).into_response();
    let headers = response.headers_mut();
    let static_headers = [
        (header::CONTENT_TYPE, content_type(name)),
        (header::CACHE_CONTROL, cache),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (k, v) in static_headers {
        headers.insert(k, HeaderValue::from_static(v));
    }
    for (k, v) in [
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-embedder-policy", "require-corp"),
        ("cross-origin-resource-policy", "same-origin"),
    ] {
        headers.insert(k, HeaderValue::from_static(v));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_bundle_is_whole_and_its_hash_is_the_stated_one() {
        assert!(ASSETS.iter().any(|(n, _)| *n == "index.html"));
        assert_eq!(stated_bundle_hash(), Some(bundle_hash()));
        let index = std::str::from_utf8(
            ASSETS
                .iter()
                .find(|(n, _)| *n == "index.html")
                .map(|(_, b)| *b)
                .unwrap(),
        )
        .unwrap();
        // Every script is pinned by integrity, and nothing is inline.
        assert_eq!(
            index.matches("<script ").count(),
            index.matches("integrity=\"sha384-").count() - 1
        );
        assert!(!index.contains("<script>"));
        assert!(!index.contains("{{"));
    }
}
