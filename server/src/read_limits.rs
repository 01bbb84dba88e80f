//! A rate limit on what only reads: page loads (searches are page loads with `?q=`), exports
//! and the Models page. Each costs store reads and memory but no model call.
//!
//! Counted in this process's memory, not the store: a counter write per page load would cost
//! more than the reads it guards. So each replica allows its own share, and a visitor spread
//! over several replicas by the load balancer gets up to that many times the limit; the
//! autoscaler's ceiling (10) bounds it.

use crate::metrics::{LimitLabels, Metrics};
use app::session::{address_key, VerifiedUser};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

const WINDOW_MS: u64 = 60_000;

/// Beyond this many visitors in a window, counts of earlier windows are dropped first; the
/// map never holds more than the visitors of two windows.
const TRIM_AT: usize = 10_000;

pub struct ReadLimiter {
    per_minute: u32,
    /// Visitor → (window, reads in it).
    counts: Mutex<HashMap<String, (u64, u32)>>,
    metrics: Arc<Metrics>,
}

impl ReadLimiter {
    pub fn new(per_minute: u32, metrics: Arc<Metrics>) -> ReadLimiter {
        ReadLimiter {
            per_minute,
            counts: Mutex::default(),
            metrics,
        }
    }

    /// Counts one read for `visitor`; `Err(seconds until the window ends)` past the limit.
    fn count(&self, visitor: &str, now_ms: u64) -> Result<(), u64> {
        let window = now_ms / WINDOW_MS;
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= TRIM_AT && !counts.contains_key(visitor) {
            counts.retain(|_, (w, _)| *w == window);
        }
        let entry = counts.entry(visitor.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= self.per_minute {
            return Err(((window + 1) * WINDOW_MS - now_ms).div_ceil(1000));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// Whether a request only reads a person's chats or figures (and is worth limiting).
fn is_read(req: &Request<Body>) -> bool {
    let path = req.uri().path();
    matches!(*req.method(), Method::GET | Method::HEAD)
        && (path == "/"
            || path.starts_with("/c/")
            || path.starts_with("/export/")
            || path.starts_with("/source/")
            || path.starts_with("/models"))
}

/// Refuses reads past the visitor's limit with 429 and `Retry-After`. A signed-in person is
/// counted by identity, anyone else by address (as the turn limits count addresses).
pub async fn limit(
    State(limiter): State<Arc<ReadLimiter>>,
    req: Request<Body>,
    next: Next,
) -> Response {
    if !is_read(&req) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let visitor = match parts.extensions.get::<VerifiedUser>() {
        Some(user) => format!("user:{}", user.owner.as_str()),
        None => address_key(&parts),
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    if let Err(retry_after_s) = limiter.count(&visitor, now_ms) {
        limiter
            .metrics
            .refused
            .get_or_create(&LimitLabels { limit: "reads" })
            .inc();
        tracing::info!(limit = "reads", "page load refused by a visitor limit");
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CACHE_CONTROL, "no-store")],
            format!(
                "Too many page loads, searches and exports from you in a minute. \
                 Please wait {retry_after_s} s and reload."
            ),
        )
            .into_response();
        if let Ok(value) = HeaderValue::from_str(&retry_after_s.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_gets_its_reads_per_window_and_others_theirs() {
        let limiter = ReadLimiter::new(3, Metrics::new());
        let start = 10 * WINDOW_MS + 1_000;
        for _ in 0..3 {
            assert_eq!(limiter.count("ip:1.2.3.4", start), Ok(()));
        }
        assert_eq!(limiter.count("ip:1.2.3.4", start + 500), Err(59));
        assert_eq!(limiter.count("ip:5.6.7.8", start), Ok(()));
        assert_eq!(limiter.count("ip:1.2.3.4", start + WINDOW_MS), Ok(()));
    }

    #[test]
    fn the_map_stays_bounded() {
        let limiter = ReadLimiter::new(3, Metrics::new());
        for i in 0..TRIM_AT {
            let _ = limiter.count(&format!("ip:{i}"), 0);
        }
        let _ = limiter.count("ip:late", WINDOW_MS);
        assert_eq!(limiter.counts.lock().expect("lock").len(), 1);
    }
}
