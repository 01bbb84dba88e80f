//! A stand-in for vLLM's OpenAI-compatible server, for tests only (never part of the shipped
//! server). It speaks the real wire format of `POST /v1/chat/completions`, `GET /health` and
//! `GET /v1/models`, validates requests the way vLLM with Gemma's chat template does (roles must
//! alternate user/assistant, starting with user), and has switches for latency and faults.
//!
//! Control endpoints, used by Rust tests in-process and by Playwright over HTTP:
//! - `POST /_standin/behaviour` with a JSON [`Behaviour`];
//! - `GET /_standin/requests`: every chat request body received, oldest first;
//! - `POST /_standin/reset`.

#![allow(dead_code)]

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// HTTP 500 with an HTML body, as a crashed proxy would send.
    Status500,
    /// HTTP 429 with vLLM's error JSON.
    Status429,
    /// HTTP 200 with a body that is not JSON.
    Malformed,
    /// HTTP 200 with `content: null`.
    Empty,
    /// Never answers.
    Hang,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Behaviour {
    /// Delay before every answer.
    pub latency_ms: u64,
    pub fault: Option<Fault>,
    /// Apply the fault to this many requests, then answer normally; `None` means always.
    pub fault_times: Option<u32>,
    /// Fixed reply text; by default the reply echoes the last user message.
    pub reply: Option<String>,
    /// `GET /health` answers 503 when set.
    pub unhealthy: bool,
}

#[derive(Default)]
struct Shared {
    behaviour: Mutex<Behaviour>,
    requests: Mutex<Vec<Value>>,
    in_flight: Mutex<(usize, usize)>, // (now, peak)
}

#[derive(Clone)]
pub struct StandIn {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl StandIn {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, behaviour: Behaviour) {
        *lock(&self.shared.behaviour) = behaviour;
    }

    pub fn requests(&self) -> Vec<Value> {
        lock(&self.shared.requests).clone()
    }

    pub fn peak_in_flight(&self) -> usize {
        lock(&self.shared.in_flight).1
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the stand-in on `127.0.0.1:port` (0 for any free port) in the current runtime.
pub async fn start(port: u16) -> StandIn {
    let shared = Arc::new(Shared::default());
    let app = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/health", get(health))
        .route("/v1/models", get(models))
        .route("/_standin/behaviour", post(set_behaviour))
        .route("/_standin/requests", get(requests))
        .route("/_standin/reset", post(reset))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("stand-in: bind");
    let addr = listener.local_addr().expect("stand-in: addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("stand-in: serve");
    });
    StandIn { addr, shared }
}

const MODEL_NAME: &str = "google/gemma-3-12b-it";

async fn health(State(s): State<Arc<Shared>>) -> StatusCode {
    if lock(&s.behaviour).unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

async fn models() -> Json<Value> {
    Json(
        json!({"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "vllm"}]}),
    )
}

async fn set_behaviour(State(s): State<Arc<Shared>>, Json(b): Json<Behaviour>) -> StatusCode {
    *lock(&s.behaviour) = b;
    StatusCode::NO_CONTENT
}

async fn requests(State(s): State<Arc<Shared>>) -> Json<Vec<Value>> {
    Json(lock(&s.requests).clone())
}

async fn reset(State(s): State<Arc<Shared>>) -> StatusCode {
    *lock(&s.behaviour) = Behaviour::default();
    lock(&s.requests).clear();
    *lock(&s.in_flight) = (0, 0);
    StatusCode::NO_CONTENT
}

fn vllm_error(status: StatusCode, message: &str) -> Response {
    let body = json!({"object": "error", "message": message, "type": "BadRequestError", "param": null, "code": status.as_u16()});
    (status, Json(body)).into_response()
}

/// Checks a request the way vLLM would, returning the last user message.
fn validate(body: &Value) -> Result<String, String> {
    if body.get("model").and_then(Value::as_str) != Some(MODEL_NAME) {
        return Err(format!(
            "The model `{}` does not exist.",
            body.get("model").unwrap_or(&Value::Null)
        ));
    }
    for (key, lo, hi) in [("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0)] {
        match body.get(key).and_then(Value::as_f64) {
            Some(v) if v >= lo && v <= hi => {}
            _ => return Err(format!("{key} must be a number in [{lo}, {hi}]")),
        }
    }
    if body
        .get("max_tokens")
        .and_then(Value::as_u64)
        .is_none_or(|v| v < 1)
    {
        return Err("max_tokens must be at least 1".into());
    }
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or("messages must be a non-empty list")?;
    let mut last_user = String::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let content = m
            .get("content")
            .and_then(Value::as_str)
            .ok_or("content must be a string")?;
        let expected = if i % 2 == 0 { "user" } else { "assistant" };
        if role != expected {
            // Gemma's chat template raises exactly this.
            return Err(
                "Conversation roles must alternate user/assistant/user/assistant/...".into(),
            );
        }
        if role == "user" {
            last_user = content.to_string();
        }
    }
    if messages.len() % 2 == 0 {
        return Err("The last message must come from the user.".into());
    }
    Ok(last_user)
}

struct InFlightGuard(Arc<Shared>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        lock(&self.0.in_flight).0 -= 1;
    }
}

async fn chat_completions(State(s): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let _guard = {
        let mut f = lock(&s.in_flight);
        f.0 += 1;
        f.1 = f.1.max(f.0);
        InFlightGuard(s.clone())
    };
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return vllm_error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
    };
    lock(&s.requests).push(body.clone());

    let (behaviour, fault) = {
        let mut b = lock(&s.behaviour);
        let fault = match (b.fault, b.fault_times) {
            (Some(f), None) => Some(f),
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

    let last_user = match validate(&body) {
        Ok(text) => text,
        Err(message) => return vllm_error(StatusCode::BAD_REQUEST, &message),
    };

    let content = match fault {
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Some(Fault::Status500) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<html><body>Internal Server Error</body></html>",
            )
                .into_response()
        }
        Some(Fault::Status429) => {
            return vllm_error(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
        }
        Some(Fault::Malformed) => {
            return (
                StatusCode::OK,
                [("content-type", "application/json")],
                "{\"choices\": [{\"message\": ",
            )
                .into_response()
        }
        Some(Fault::Empty) => Value::Null,
        None => Value::String(
            behaviour
                .reply
                .clone()
                .unwrap_or_else(|| format!("Echo: {last_user}")),
        ),
    };
    let prompt_tokens = body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|x| x["content"].as_str())
                .map(|c| c.split_whitespace().count())
                .sum::<usize>()
        })
        .unwrap_or(0);
    let completion_tokens = content
        .as_str()
        .map(|c| c.split_whitespace().count())
        .unwrap_or(0);
    Json(json!({
        "id": format!("chatcmpl-{}", lock(&s.requests).len()),
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL_NAME,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "tool_calls": []},
            "logprobs": null,
            "finish_reason": "stop",
            "stop_reason": null
        }],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}
    }))
    .into_response()
}
