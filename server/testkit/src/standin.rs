//! Stand-ins for the model servers, for tests only (never part of the shipped server). One HTTP
//! server speaks the exact wire formats of:
//! - vLLM's OpenAI-compatible chat, `POST /v1/chat/completions` (+ `GET /health`, `/v1/models`);
//! - the codelab's model-garden vLLM, `POST /generate`;
//! - Vertex AI, `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent`,
//!   which requires a bearer token issued by
//! - an OAuth token endpoint, `POST /token` (the JWT-bearer grant a service-account key uses).
//!
//! Requests are validated as the real servers do (roles alternate, parameters in range, the
//! token is one we issued), and each backend ("gemma", "gemini") has switches for latency and
//! faults. Control: `POST /_standin/behaviour/{backend}`, `GET /_standin/requests/{backend}`,
//! `GET /_standin/stats`, `POST /_standin/reset`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    Json(json!({"tokens_issued": lock(&s.tokens).len(), "peak_in_flight": peaks}))
}

async fn reset(State(s): State<Arc<Shared>>) -> StatusCode {
    lock(&s.behaviour).clear();
    lock(&s.requests).clear();
    lock(&s.in_flight).clear();
    StatusCode::NO_CONTENT
}

// ---- shared machinery ----

struct InFlightGuard(Arc<Shared>, &'static str);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(f) = lock(&self.0.in_flight).get_mut(self.1) {
            f.0 -= 1;
        }
    }
}

/// Records the request, counts it in flight, applies latency, and returns the fault to play.
async fn enter(
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
fn roll() -> u64 {
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
fn transport_fault(fault: Option<Fault>) -> Option<Response> {
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

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

// ---- vLLM ----

async fn health(State(s): State<Arc<Shared>>) -> StatusCode {
    if lock(&s.behaviour).get("gemma").is_some_and(|b| b.unhealthy) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

async fn models() -> Json<Value> {
    Json(
        json!({"object": "list", "data": [{"id": GEMMA_NAME, "object": "model", "owned_by": "vllm"}]}),
    )
}

fn vllm_error(status: StatusCode, message: &str) -> Response {
    let body = json!({"object": "error", "message": message, "type": "BadRequestError", "param": null, "code": status.as_u16()});
    (status, Json(body)).into_response()
}

fn check_sampling(body: &Value, max_key: &str) -> Result<(), String> {
    for (key, lo, hi) in [("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0)] {
        match body.get(key).and_then(Value::as_f64) {
            Some(v) if v >= lo && v <= hi => {}
            _ => return Err(format!("{key} must be a number in [{lo}, {hi}]")),
        }
    }
    if body
        .get(max_key)
        .and_then(Value::as_u64)
        .is_none_or(|v| v < 1)
    {
        return Err(format!("{max_key} must be at least 1"));
    }
    Ok(())
}

/// Checks a chat request the way vLLM with Gemma's template does; returns the last user text.
fn validate_chat(body: &Value) -> Result<String, String> {
    if body.get("model").and_then(Value::as_str) != Some(GEMMA_NAME) {
        return Err(format!(
            "The model `{}` does not exist.",
            body.get("model").unwrap_or(&Value::Null)
        ));
    }
    check_sampling(body, "max_tokens")?;
    let mut messages: &[Value] = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or("messages must be a non-empty list")?;
    if messages[0].get("role").and_then(Value::as_str) == Some("system") {
        messages = &messages[1..];
    }
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
    if messages.len().is_multiple_of(2) {
        return Err("The last message must come from the user.".into());
    }
    Ok(last_user)
}

async fn chat_completions(State(s): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return vllm_error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
    };
    let (_guard, behaviour, fault) = enter(&s, "gemma", &body).await;
    let last_user = match validate_chat(&body) {
        Ok(text) => text,
        Err(message) => return vllm_error(StatusCode::BAD_REQUEST, &message),
    };
    if let Some(r) = transport_fault(fault) {
        return r;
    }
    let content = match fault {
        Some(Fault::Status429) => {
            return vllm_error(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
        }
        Some(Fault::Empty | Fault::SafetyBlock | Fault::ReplySafety | Fault::MaxTokensNoText) => {
            Value::Null
        }
        _ => Value::String(
            behaviour
                .reply
                .clone()
                .unwrap_or_else(|| format!("Echo: {last_user}")),
        ),
    };
    let prompt_tokens: usize = body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|x| x["content"].as_str())
                .map(words)
                .sum()
        })
        .unwrap_or(0);
    let completion_tokens = content.as_str().map(words).unwrap_or(0);
    Json(json!({
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": GEMMA_NAME,
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

async fn generate(State(s): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")).into_response(),
    };
    let (_guard, behaviour, fault) = enter(&s, "gemma", &body).await;
    let prompt = body.get("prompt").and_then(Value::as_str).unwrap_or("");
    if let Err(m) = check_sampling(&body, "max_tokens") {
        return (StatusCode::BAD_REQUEST, m).into_response();
    }
    if !prompt.ends_with("<start_of_turn>model\n") || !prompt.starts_with("<start_of_turn>user\n") {
        return (
            StatusCode::BAD_REQUEST,
            "prompt is not in Gemma's chat format",
        )
            .into_response();
    }
    if let Some(r) = transport_fault(fault) {
        return r;
    }
    let last_user = prompt
        .rsplit("<start_of_turn>user\n")
        .next()
        .and_then(|t| t.split("<end_of_turn>").next())
        .unwrap_or("");
    let text = match fault {
        Some(Fault::Status429) => return (StatusCode::TOO_MANY_REQUESTS, "busy").into_response(),
        Some(Fault::Empty) => String::new(),
        _ => behaviour
            .reply
            .clone()
            .unwrap_or_else(|| format!("Echo: {last_user}")),
    };
    // The model-garden server echoes the prompt; the model often runs past its turn.
    Json(json!({"predictions": [format!("Prompt:\n{prompt}\nOutput:\n{text}<end_of_turn>\n<start_of_turn>user\n")]})).into_response()
}

// ---- OAuth and Vertex AI ----

fn google_error(status: StatusCode, code_name: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": status.as_u16(), "message": message, "status": code_name}})),
    )
        .into_response()
}

async fn token(State(s): State<Arc<Shared>>, body: String) -> Response {
    let form: HashMap<String, String> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%3a", ":")))
        .collect();
    let grant_ok = form.get("grant_type").map(String::as_str)
        == Some("urn:ietf:params:oauth:grant-type:jwt-bearer");
    let jwt_ok = form
        .get("assertion")
        .is_some_and(|a| a.split('.').count() == 3);
    if !grant_ok || !jwt_ok {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let mut tokens = lock(&s.tokens);
    let token = format!("standin-token-{}", tokens.len() + 1);
    tokens.push(token.clone());
    Json(json!({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})).into_response()
}

fn validate_contents(body: &Value) -> Result<String, String> {
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or("contents must be a non-empty list")?;
    let mut last_user = String::new();
    for (i, c) in contents.iter().enumerate() {
        let role = c.get("role").and_then(Value::as_str).unwrap_or("");
        let expected = if i % 2 == 0 { "user" } else { "model" };
        if role != expected {
            return Err(format!("contents[{i}].role must be {expected}"));
        }
        let text: String = c
            .get("parts")
            .and_then(Value::as_array)
            .ok_or("parts must be a list")?
            .iter()
            .map(|p| {
                p.get("text")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .ok_or("parts[].text must be a string")
            })
            .collect::<Result<_, _>>()?;
        if role == "user" {
            last_user = text;
        }
    }
    if contents.len().is_multiple_of(2) {
        return Err("the last content must come from the user".into());
    }
    let config = body
        .get("generationConfig")
        .ok_or("generationConfig is required here")?;
    for (key, lo, hi) in [("temperature", 0.0, 2.0), ("topP", 0.0, 1.0)] {
        match config.get(key).and_then(Value::as_f64) {
            Some(v) if v >= lo && v <= hi => {}
            _ => return Err(format!("generationConfig.{key} must be in [{lo}, {hi}]")),
        }
    }
    if config
        .get("maxOutputTokens")
        .and_then(Value::as_u64)
        .is_none_or(|v| v < 1)
    {
        return Err("generationConfig.maxOutputTokens must be at least 1".into());
    }
    Ok(last_user)
}

async fn generate_content(
    State(s): State<Arc<Shared>>,
    Path((project, location, call)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(String::from);
    if !bearer.as_ref().is_some_and(|t| lock(&s.tokens).contains(t)) {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    }
    if call != format!("{GEMINI_NAME}:generateContent") {
        return google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("Publisher model `{call}` was not found."),
        );
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return google_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "Invalid JSON payload received.",
            )
        }
    };
    let mut recorded = body.clone();
    recorded["_project"] = json!(project);
    recorded["_location"] = json!(location);
    let (_guard, behaviour, fault) = enter(&s, "gemini", &recorded).await;
    let last_user = match validate_contents(&body) {
        Ok(t) => t,
        Err(m) => return google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", &m),
    };
    if let Some(r) = transport_fault(fault) {
        return r;
    }
    let usage = json!({"promptTokenCount": words(&last_user), "candidatesTokenCount": 3, "totalTokenCount": words(&last_user) + 3 + 40});
    let candidate = |parts: Value, finish: &str| json!({"content": {"role": "model", "parts": parts}, "finishReason": finish});
    let reply = match fault {
        Some(Fault::Status429) => return google_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute.",
        ),
        Some(Fault::SafetyBlock) => {
            json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage})
        }
        Some(Fault::ReplySafety) => {
            json!({"candidates": [{"finishReason": "SAFETY"}], "usageMetadata": usage})
        }
        Some(Fault::MaxTokensNoText) => {
            json!({"candidates": [candidate(json!([]), "MAX_TOKENS")], "usageMetadata": usage})
        }
        Some(Fault::Empty) => json!({"candidates": [candidate(json!([{"text": ""}]), "STOP")]}),
        _ => {
            let text = behaviour
                .reply
                .clone()
                .unwrap_or_else(|| format!("Gemini echo: {last_user}"));
            json!({
                "candidates": [candidate(json!([{"text": text}]), "STOP")],
                "usageMetadata": usage,
                "modelVersion": GEMINI_NAME
            })
        }
    };
    Json(reply).into_response()
}
