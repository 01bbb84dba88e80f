//! Stand-ins for the model servers, for tests only (never part of the shipped server). One HTTP
//! server speaks the exact wire formats of:
//! - vLLM's OpenAI-compatible chat, `POST /v1/chat/completions` (+ `GET /health`, `/v1/models`,
//!   `/metrics`, `POST /tokenize`);
//! - the codelab's model-garden vLLM, `POST /generate`;
//! - Vertex AI, `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent`,
//!   which requires a bearer token issued by
//! - an OAuth token endpoint, `POST /token` (the JWT-bearer grant a service-account key uses).
//!
//! Requests are validated as the real servers do (roles alternate, parameters in range, the
//! token is one we issued), and each backend ("gemma", "gemini") has switches for latency and
//! faults. Control: `POST /_standin/behaviour/{backend}`, `GET /_standin/requests/{backend}`,
//! `GET /_standin/stats`, `POST /_standin/reset`.

mod faults;
mod media;
pub mod vertex;
mod vertex_schema;
mod vllm;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use vertex::{generate_content, token};
use vllm::{chat_completions, generate, health, metrics, models, tokenize};

pub const GEMMA_NAME: &str = "google/gemma-3-12b-it";
pub const GEMINI_NAME: &str = "gemini-2.5-flash";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// HTTP 500 with an HTML body, as a crashed proxy would send.
    Status500,
    /// HTTP 429 (for Gemini: `RESOURCE_EXHAUSTED`).
    Status429,
    /// HTTP 200 with a body that is not JSON.
    Malformed,
    /// HTTP 200 with no text.
    Empty,
    /// Never answers.
    Hang,
    /// HTTP 200 with a 5 MiB body.
    Oversized,
    /// Gemini: the prompt is blocked (`promptFeedback.blockReason`, no candidates).
    SafetyBlock,
    /// Gemini: the reply is stopped with `finishReason: SAFETY`.
    ReplySafety,
    /// Gemini: `MAX_TOKENS` before any text (thinking used the budget).
    MaxTokensNoText,
    /// The usual text, stopped by the token limit: vLLM's `finish_reason: length`, Gemini's
    /// `MAX_TOKENS`.
    CutOff,
    /// HTTP 503 in the service's own shape (Vertex `UNAVAILABLE`, vLLM's nested error).
    Status503,
    /// Vertex: HTTP 500 `INTERNAL` in Google's shape (a 500 worth retrying).
    Internal,
    /// Gemini: a candidate with `Behaviour::finish_reason` (default `OTHER`) and a little text.
    Finish,
    /// vLLM: `finish_reason: abort` with some text.
    Abort,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Behaviour {
    /// Delay before every answer.
    pub latency_ms: u64,
    pub fault: Option<Fault>,
    /// Apply the fault to this many requests, then answer normally; `None` means always.
    pub fault_times: Option<u32>,
    /// Apply the fault to about this percentage of requests, picked at random.
    pub fault_percent: Option<u32>,
    /// Fixed reply text; by default the reply echoes the last user message.
    pub reply: Option<String>,
    /// `GET /health` answers 503 when set.
    pub unhealthy: bool,
    /// Gemini: tokens it thinks on Auto before answering (default
    /// [`vertex::DEFAULT_THINKING`]); a budget caps them, a budget of 0 turns them off.
    pub thinking_tokens: Option<u64>,
    /// `Retry-After` seconds on a 429 or 503.
    pub retry_after_s: Option<u64>,
    /// The finish reason [`Fault::Finish`] answers with.
    pub finish_reason: Option<String>,
    /// Gemma: the served context (`--max-model-len`), enforced as vLLM does; default 32,768.
    pub max_model_len: Option<u64>,
    /// Gemma: requests vLLM reports waiting on `/metrics` (`vllm:num_requests_waiting`): the
    /// load other replicas put on the shared engine.
    pub queue_waiting: Option<u64>,
}

impl Behaviour {
    /// Answers with `fault` to every request (narrow it with [`Behaviour::once`],
    /// [`Behaviour::times`] or [`Behaviour::percent`]).
    pub fn fault(fault: Fault) -> Behaviour {
        Behaviour {
            fault: Some(fault),
            ..Behaviour::default()
        }
    }

    /// Answers normally after `ms` milliseconds.
    pub fn slow(ms: u64) -> Behaviour {
        Behaviour::default().latency(ms)
    }

    /// `GET /health` answers 503; requests are still served.
    pub fn unhealthy() -> Behaviour {
        Behaviour {
            unhealthy: true,
            ..Behaviour::default()
        }
    }

    /// Always answers `text`.
    pub fn replying(text: &str) -> Behaviour {
        Behaviour {
            reply: Some(text.to_string()),
            ..Behaviour::default()
        }
    }

    /// Gemini stops its reply with `reason` (a Vertex `finishReason`).
    pub fn finishing(reason: &str) -> Behaviour {
        Behaviour {
            fault: Some(Fault::Finish),
            finish_reason: Some(reason.to_string()),
            ..Behaviour::default()
        }
    }

    /// Gemini thinks this many tokens on Auto.
    pub fn thinking(mut self, tokens: u64) -> Behaviour {
        self.thinking_tokens = Some(tokens);
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Behaviour {
        self.retry_after_s = Some(secs);
        self
    }

    pub fn latency(mut self, ms: u64) -> Behaviour {
        self.latency_ms = ms;
        self
    }

    /// The fault hits the next request only.
    pub fn once(self) -> Behaviour {
        self.times(1)
    }

    /// The fault hits the next `n` requests only.
    pub fn times(mut self, n: u32) -> Behaviour {
        self.fault_times = Some(n);
        self
    }

    /// The fault hits about `percent` % of requests, at random.
    pub fn percent(mut self, percent: u32) -> Behaviour {
        self.fault_percent = Some(percent);
        self
    }
}

#[derive(Default)]
struct Shared {
    behaviour: Mutex<HashMap<String, Behaviour>>,
    requests: Mutex<HashMap<String, Vec<Value>>>,
    /// (now, peak) per backend.
    in_flight: Mutex<HashMap<String, (usize, usize)>>,
    tokens: Mutex<Vec<String>>,
    /// Served at `GET /iap/jwk`, as IAP publishes its keys.
    jwks: Mutex<Value>,
    jwks_fetches: std::sync::atomic::AtomicUsize,
}

#[derive(Clone)]
pub struct StandIn {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl StandIn {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, backend: &str, behaviour: Behaviour) {
        lock(&self.shared.behaviour).insert(backend.into(), behaviour);
    }

    /// Request bodies received by a backend, oldest first.
    /// Publishes a JWK set at `/iap/jwk`.
    pub fn set_jwks(&self, jwks: Value) {
        *lock(&self.shared.jwks) = jwks;
    }

    /// How many times the JWK set was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.shared
            .jwks_fetches
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn requests(&self, backend: &str) -> Vec<Value> {
        lock(&self.shared.requests)
            .get(backend)
            .cloned()
            .unwrap_or_default()
    }

    pub fn peak_in_flight(&self, backend: &str) -> usize {
        lock(&self.shared.in_flight)
            .get(backend)
            .map(|f| f.1)
            .unwrap_or(0)
    }

    /// Requests a backend is serving now: a request whose client went away (a stopped turn)
    /// is dropped, as vLLM aborts its generation.
    pub fn in_flight(&self, backend: &str) -> usize {
        lock(&self.shared.in_flight)
            .get(backend)
            .map(|f| f.0)
            .unwrap_or(0)
    }

    pub fn tokens_issued(&self) -> usize {
        lock(&self.shared.tokens).len()
    }
}

/// Starts the stand-in on `127.0.0.1:port` (0 for any free port) in the current runtime.
pub async fn start(port: u16) -> StandIn {
    let shared = Arc::new(Shared::default());
    let app = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/generate", post(generate))
        .route("/health", get(health))
        .route("/v1/models", get(models))
        .route("/tokenize", post(tokenize))
        .route("/metrics", get(metrics))
        .route("/token", post(token))
        .route(
            "/v1/projects/{project}/locations/{location}/publishers/google/models/{call}",
            post(generate_content),
        )
        .route("/iap/jwk", get(iap_jwks).post(set_iap_jwks))
        .route("/_standin/behaviour/{backend}", post(set_behaviour))
        .route("/_standin/requests/{backend}", get(requests))
        .route("/_standin/stats", get(stats))
        .route("/_standin/reset", post(reset))
        // vLLM (uvicorn) sets no body limit, and prompts with pictures run to megabytes; axum's
        // own 2 MB default would refuse what the services take.
        .layer(axum::extract::DefaultBodyLimit::max(128 << 20))
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

// ---- control ----

async fn iap_jwks(State(s): State<Arc<Shared>>) -> Json<Value> {
    s.jwks_fetches
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Json(lock(&s.jwks).clone())
}

/// Lets the Playwright setup publish keys it generated.
async fn set_iap_jwks(State(s): State<Arc<Shared>>, Json(jwks): Json<Value>) -> StatusCode {
    *lock(&s.jwks) = jwks;
    StatusCode::NO_CONTENT
}

async fn set_behaviour(
    State(s): State<Arc<Shared>>,
    Path(backend): Path<String>,
    Json(b): Json<Behaviour>,
) -> StatusCode {
    lock(&s.behaviour).insert(backend, b);
    StatusCode::NO_CONTENT
}

async fn requests(State(s): State<Arc<Shared>>, Path(backend): Path<String>) -> Json<Vec<Value>> {
    Json(lock(&s.requests).get(&backend).cloned().unwrap_or_default())
}

async fn stats(State(s): State<Arc<Shared>>) -> Json<Value> {
    let peaks: HashMap<String, usize> = lock(&s.in_flight)
        .iter()
        .map(|(k, v)| (k.clone(), v.1))
        .collect();
    let now: HashMap<String, usize> = lock(&s.in_flight)
        .iter()
        .map(|(k, v)| (k.clone(), v.0))
        .collect();
    Json(json!({
        "tokens_issued": lock(&s.tokens).len(),
        "peak_in_flight": peaks,
        "in_flight": now,
    }))
}

async fn reset(State(s): State<Arc<Shared>>) -> StatusCode {
    lock(&s.behaviour).clear();
    lock(&s.requests).clear();
    lock(&s.in_flight).clear();
    StatusCode::NO_CONTENT
}

// ---- shared machinery ----
