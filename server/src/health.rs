//! Liveness and readiness endpoints for Kubernetes probes, and the store's own health.

use app::services::ChatStore;
use axum::extract::State;
use axum::http::StatusCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set once SIGTERM arrives: readiness fails so load balancers stop sending new requests, while
/// the listener stays open for the drain period.
#[derive(Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
pub struct Health {
    pub store: Arc<dyn ChatStore>,
    pub draining: Draining,
}

/// `GET /healthz`: the process is up and serving. Never touches a dependency, so a slow store
/// cannot get a healthy pod restarted.
pub async fn live() -> &'static str {
    "ok"
}

/// `GET /readyz`: this replica takes new requests. Only draining makes it fail. The store is
/// shared by every replica, so tying readiness to it would take all of them out of the load
/// balancer at once in a store outage: visitors would get the balancer's bare 502 instead of
/// the app's own "not saved, try again" with their text kept. The store has its own endpoint.
pub async fn ready(State(health): State<Health>) -> (StatusCode, &'static str) {
    if health.draining.is_on() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else {
        (StatusCode::OK, "ready")
    }
}

/// `GET /healthz/store`: the store answers, so turns can be saved. For dashboards and alerts,
/// not for probes (see [`ready`]).
pub async fn store(State(health): State<Health>) -> (StatusCode, &'static str) {
    match health.store.ping().await {
        Ok(()) => (StatusCode::OK, "store ok"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable"),
    }
}
