//! The one HTTP path every backend call takes: send, read a size-capped body, turn network
//! failures and status codes into `ModelError`s, and decode the reply. A backend supplies only
//! its wire types: the reply, and its error body ([`WireError`]). Bodies are logged (truncated)
//! here, never shown to the user.

use app::errors::ModelError;
use app::models::ModelId;
use axum::body::Bytes;
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A backend's error body: what it says went wrong when it answers with a failed status.
pub trait WireError: DeserializeOwned {
    /// Its own explanation, shown for 4xx (where it describes the user's request).
    fn message(self) -> Option<String>;

    /// Whether it says "out of quota" in a status that does not (Vertex's `RESOURCE_EXHAUSTED`).
    fn quota_exhausted(&self) -> bool {
        false
    }

    /// Whether it says the conversation and the answer's length do not fit the context window.
    fn context_too_long(&self) -> bool {
        false
    }

    /// Whether a 500 with this body is worth one retry (Vertex's `INTERNAL`).
    fn transient(&self) -> bool {
        false
    }

    /// Whether it says the server's own set-up is wrong (a retired model id, a missing IAM
    /// role): an operator's problem, which the person reads as "not set up on this server".
    fn misconfigured(&self) -> bool {
        false
    }
}

/// A successful reply decoded as `T`, or the error its status (and error body `E`) means.
pub fn decode<T: DeserializeOwned, E: WireError>(
    model: ModelId,
    raw: RawReply,
) -> Result<T, ModelError> {
    if !raw.status.is_success() {
        let detail = serde_json::from_slice::<E>(&raw.body).ok();
        if detail.as_ref().is_some_and(E::quota_exhausted) {
            tracing::warn!(%model, status = raw.status.as_u16(), "quota exhausted");
            return Err(ModelError::Busy(model));
        }
        if raw.status == StatusCode::BAD_REQUEST && detail.as_ref().is_some_and(E::context_too_long)
        {
            tracing::warn!(%model, body = %String::from_utf8_lossy(&raw.body[..raw.body.len().min(500)]), "prompt does not fit the context");
            return Err(ModelError::ContextTooLong(model));
        }
        if detail.as_ref().is_some_and(E::misconfigured) {
            // Google's own words go to the operator's log, never to the page.
            tracing::error!(
                %model,
                status = raw.status.as_u16(),
                body = %String::from_utf8_lossy(&raw.body[..raw.body.len().min(1000)]),
                "the model backend refused this server's set-up"
            );
            return Err(ModelError::NotConfigured(model));
        }
        return Err(status_error(
            model,
            raw.status,
            detail.and_then(E::message),
            &raw.body,
        ));
    }
    serde_json::from_slice(&raw.body).map_err(|e| {
        tracing::warn!(
            %model,
            error = %e,
            reply = std::any::type_name::<T>(),
            "unreadable reply"
        );
        ModelError::BadReply(model)
    })
}

/// Replies larger than this are refused rather than buffered: no chat reply is 4 MiB.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// The HTTP client every backend uses: bounded connect and whole-request timeouts, and pooled
/// connections kept for a minute between turns.
pub fn client(connect: Duration, total: Duration) -> Result<Client, reqwest::Error> {
    Client::builder()
        .connect_timeout(connect)
        .timeout(total)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
}

/// Status and body of a completed HTTP exchange.
pub struct RawReply {
    pub status: StatusCode,
    pub body: Vec<u8>,
    /// The server's `Retry-After`, in seconds, when it sent one.
    pub retry_after: Option<Duration>,
}

#[cfg(test)]
impl RawReply {
    /// A reply as a backend sends it, for the wire-mapping tests.
    pub(crate) fn of(status: u16, body: impl Into<Vec<u8>>) -> RawReply {
        RawReply {
            status: StatusCode::from_u16(status).expect("a valid status"),
            body: body.into(),
            retry_after: None,
        }
    }
}

/// The longest `Retry-After` worth waiting for inside a turn; a longer one is answered "busy".
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

/// One POST, retried once when the backend says the failure is transient: 429, 503, or a 500
/// whose body says so ([`WireError::transient`]). The retry waits for `Retry-After` (or 0.5 to
/// 1.5 s, jittered, so replicas do not retry in step), and only if it and a second attempt fit
/// in `deadline` from the first send; the second attempt gets what is left of it. `retried`
/// counts each retry (the `hybrid_chat_model_retries` metric).
pub async fn post_json_retrying<E: WireError>(
    client: &Client,
    model: ModelId,
    url: &str,
    bearer: Option<&str>,
    body: Bytes,
    deadline: Duration,
    retried: &prometheus_client::metrics::counter::Counter,
) -> Result<RawReply, ModelError> {
    let started = std::time::Instant::now();
    // Shared, not copied: a picture's request body is several megabytes.
    let first = post_json(client, model, url, bearer, body.clone(), None).await?;
    let transient = match first.status.as_u16() {
        429 | 503 => true,
        500 => serde_json::from_slice::<E>(&first.body).is_ok_and(|e| e.transient()),
        _ => false,
    };
    if !transient {
        return Ok(first);
    }
    let wait = first.retry_after.unwrap_or_else(jitter);
    let left = deadline.saturating_sub(started.elapsed() + wait);
    // A retry needs time for a real answer, not just a second failure.
    if wait > MAX_RETRY_WAIT || left < deadline / 4 {
        return Ok(first);
    }
    tracing::info!(%model, status = first.status.as_u16(), wait_ms = wait.as_millis() as u64, "retrying once");
    retried.inc();
    tokio::time::sleep(wait).await;
    post_json(client, model, url, bearer, body, Some(left)).await
}

/// 0.5 to 1.5 s.
fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis(500 + u64::from(nanos % 1000))
}

/// `timeout`: this request's own, shorter than the client's (a retry's remaining time).
pub async fn post_json(
    client: &Client,
    model: ModelId,
    url: &str,
    bearer: Option<&str>,
    body: Bytes,
    timeout: Option<Duration>,
) -> Result<RawReply, ModelError> {
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(t) = timeout {
        request = request.timeout(t);
    }
    let mut response = request.send().await.map_err(|e| network_error(model, &e))?;
    let status = response.status();
    // Seconds only: Google and vLLM send no HTTP dates here.
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    tracing::warn!(%model, limit = MAX_BODY_BYTES, "reply body too large");
                    return Err(ModelError::BadReply(model));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(network_error(model, &e)),
        }
    }
    Ok(RawReply {
        status,
        body,
        retry_after,
    })
}

fn network_error(model: ModelId, e: &reqwest::Error) -> ModelError {
    tracing::warn!(%model, error = %e, timeout = e.is_timeout(), connect = e.is_connect(), "model request failed");
    if e.is_timeout() {
        ModelError::TimedOut(model)
    } else {
        ModelError::Unreachable(model)
    }
}

/// Maps a non-2xx status to an error. `message` is the backend's own explanation, if it gave
/// one; it is shown only for 4xx, where it describes the user's request (e.g. too long).
pub fn status_error(
    model: ModelId,
    status: StatusCode,
    message: Option<String>,
    body: &[u8],
) -> ModelError {
    tracing::warn!(
        %model,
        status = status.as_u16(),
        body = %String::from_utf8_lossy(&body[..body.len().min(500)]),
        "model returned an error status"
    );
    match status {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => ModelError::Busy(model),
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ModelError::TimedOut(model),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ModelError::AuthFailed(model),
        s if s.is_client_error() => ModelError::Rejected {
            model,
            reason: message
                .map(|m| truncate(&m, 300))
                .unwrap_or_else(|| format!("HTTP {}", s.as_u16())),
        },
        _ => ModelError::BackendError(model),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    let mut out: String = s.chars().take(max_chars).collect();
    if s.chars().count() > max_chars {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_user_words() {
        let m = ModelId::Gemma;
        assert_eq!(
            status_error(m, StatusCode::TOO_MANY_REQUESTS, None, b""),
            ModelError::Busy(m)
        );
        assert_eq!(
            status_error(
                m,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("trace".into()),
                b"x"
            ),
            ModelError::BackendError(m)
        );
        assert_eq!(
            status_error(m, StatusCode::GATEWAY_TIMEOUT, None, b""),
            ModelError::TimedOut(m)
        );
        assert_eq!(
            status_error(m, StatusCode::BAD_REQUEST, Some("too long".into()), b""),
            ModelError::Rejected {
                model: m,
                reason: "too long".into()
            }
        );
        let long = "é".repeat(1000);
        match status_error(m, StatusCode::BAD_REQUEST, Some(long), b"") {
            ModelError::Rejected { reason, .. } => assert_eq!(reason.chars().count(), 301),
            other => panic!("{other:?}"),
        }
    }
}
