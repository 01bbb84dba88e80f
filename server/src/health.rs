//! Liveness and readiness endpoints for Kubernetes probes.

use app::services::Services;
use axum::extract::State;
use axum::http::StatusCode;

/// `GET /healthz`: the process is up and serving. Never touches a dependency, so a slow store
/// cannot get a healthy pod restarted.
pub async fn live() -> &'static str {
    "ok"
}

/// `GET /readyz`: the store answers, so turns can be saved.
pub async fn ready(State(services): State<Services>) -> (StatusCode, &'static str) {
    match services.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable"),
    }
}
