//! How the process runs on a cluster: its logs, its metrics listener, and how it shuts down.

use super::env::{ConfigError, Env};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    /// One JSON object per line, for Cloud Logging on GKE.
    Json,
}

/// What a graceful shutdown adds to the model timeout: the store write after the reply.
pub const SHUTDOWN_MARGIN: Duration = Duration::from_secs(5);

pub(super) fn log_format(env: &Env) -> Result<LogFormat, ConfigError> {
    // On Kubernetes, default to JSON for Cloud Logging.
    let default = if env.raw("KUBERNETES_SERVICE_HOST").is_some() {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    env.one_of(
        "LOG_FORMAT",
        &[("text", LogFormat::Text), ("json", LogFormat::Json)],
        default,
    )
}

/// (drain, grace): `/readyz` answers 503 for `drain` after SIGTERM, then requests in flight get
/// up to `grace`, by default the model timeout plus [`SHUTDOWN_MARGIN`].
pub(super) fn shutdown(
    env: &Env,
    model_timeout: Duration,
) -> Result<(Duration, Duration), ConfigError> {
    let drain = match env.var("SHUTDOWN_DRAIN_SECS") {
        Some(raw) if raw.trim() == "0" => Duration::ZERO,
        Some(_) => env.secs("SHUTDOWN_DRAIN_SECS", 0.0)?,
        None => Duration::ZERO,
    };
    let grace = env.secs(
        "SHUTDOWN_GRACE_SECS",
        (model_timeout + SHUTDOWN_MARGIN).as_secs_f64(),
    )?;
    Ok((drain, grace))
}

pub(super) fn metrics_addr(env: &Env) -> Result<Option<SocketAddr>, ConfigError> {
    env.var("METRICS_ADDR")
        .map(|raw| {
            raw.trim().parse().map_err(|_| {
                ConfigError::new(
                    "METRICS_ADDR",
                    raw.clone(),
                    "expected an address such as `0.0.0.0:9090`",
                )
            })
        })
        .transpose()
}
