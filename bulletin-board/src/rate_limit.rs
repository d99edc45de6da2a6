//! Per-client rate limiting: a token bucket per client IP address. A client over its rate
//! gets `429` with the JSON error code `rate-limited`; nothing else happens.

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use zkvote_protocol::ErrorCode;

/// Token buckets per client address.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second` sustained requests per client, bursts of up to `burst`.
    pub fn new(per_second: u32, burst: u32) -> Arc<Self> {
        Arc::new(RateLimiter {
            per_second: per_second.max(1) as f64,
            burst: burst.max(1) as f64,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one token for `ip`; false if its bucket is empty.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            let horizon = self.burst / self.per_second;
            buckets.retain(|_, (_, t)| now.duration_since(*t).as_secs_f64() < horizon);
        }
        let (tokens, last) = buckets.entry(ip).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The axum middleware. Requests without a known client address (an in-process server
/// built without connect info) are not limited.
pub async fn limit(State(limiter): State<Arc<RateLimiter>>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = ip {
        if !limiter.allow(ip) {
            return crate::api::ApiError::new(
                ErrorCode::RateLimited,
                "too many requests from this address; slow down",
            )
            .into_response();
        }
    }
    next.run(req).await
}
