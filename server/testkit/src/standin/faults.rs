//! What every model route does first: count the call in flight, wait, and maybe fail.

use super::{lock, Behaviour, Fault, Shared};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub(super) struct InFlightGuard(Arc<Shared>, &'static str);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(f) = lock(&self.0.in_flight).get_mut(self.1) {
            f.0 -= 1;
        }
    }
}

/// Records the request, counts it in flight, applies latency, and returns the fault to play.
pub(super) async fn enter(
    s: &Arc<Shared>,
    backend: &'static str,
    body: &Value,
) -> (InFlightGuard, Behaviour, Option<Fault>) {
    {
        let mut f = lock(&s.in_flight);
        let e = f.entry(backend.into()).or_default();
        e.0 += 1;
        e.1 = e.1.max(e.0);
    }
    let guard = InFlightGuard(s.clone(), backend);
    lock(&s.requests)
        .entry(backend.into())
        .or_default()
        .push(body.clone());
    let (behaviour, fault) = {
        let mut all = lock(&s.behaviour);
        let b = all.entry(backend.into()).or_default();
        let fault = match (b.fault, b.fault_times) {
            (Some(f), None) => match b.fault_percent {
                Some(p) => (roll() % 100 < u64::from(p)).then_some(f),
                None => Some(f),
            },
            (Some(f), Some(n)) if n > 0 => {
                b.fault_times = Some(n - 1);
                Some(f)
            }
            _ => None,
        };
        (b.clone(), fault)
    };
    if behaviour.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(behaviour.latency_ms)).await;
    }
    if fault == Some(Fault::Hang) {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    (guard, behaviour, fault)
}

/// A random number (splitmix64 over a counter seeded from the clock): enough for fault dice.
pub(super) fn roll() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    if STATE.load(Ordering::Relaxed) == 0 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        let _ = STATE.compare_exchange(0, seed | 1, Ordering::Relaxed, Ordering::Relaxed);
    }
    let mut z = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Faults that look the same whatever the API.
pub(super) fn transport_fault(fault: Option<Fault>) -> Option<Response> {
    match fault? {
        Fault::Status500 => Some(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<html><body>Internal Server Error</body></html>",
            )
                .into_response(),
        ),
        Fault::Malformed => Some(
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                "{\"choices\": [{\"message\": ",
            )
                .into_response(),
        ),
        Fault::Oversized => {
            let filler = "x".repeat(5 << 20);
            Some(Json(json!({"padding": filler})).into_response())
        }
        _ => None,
    }
}

pub(super) fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

// ---- vLLM ----
