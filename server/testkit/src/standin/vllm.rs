//! vLLM's routes: OpenAI-compatible chat, the model garden's `/generate`, health and models.

use super::faults::{enter, transport_fault, words};
use super::{lock, Fault, Shared, GEMMA_NAME};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) async fn health(State(s): State<Arc<Shared>>) -> StatusCode {
    if lock(&s.behaviour).get("gemma").is_some_and(|b| b.unhealthy) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

/// vLLM's default for Gemma 3 12B in our manifest (`--max-model-len`).
pub const DEFAULT_MAX_MODEL_LEN: u64 = 32_768;

fn max_model_len(s: &Shared) -> u64 {
    lock(&s.behaviour)
        .get("gemma")
        .and_then(|b| b.max_model_len)
        .unwrap_or(DEFAULT_MAX_MODEL_LEN)
}

pub(super) async fn models(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(
        json!({"object": "list", "data": [{"id": GEMMA_NAME, "object": "model", "owned_by": "vllm", "root": GEMMA_NAME, "max_model_len": max_model_len(&s)}]}),
    )
}

/// `GET /metrics`, in vLLM 0.11's names and labels (V1 engine): requests running are the ones
/// in flight here, requests waiting what [`super::Behaviour::queue_waiting`] says.
pub(super) async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    let running = lock(&s.in_flight).get("gemma").map_or(0, |c| c.0);
    let waiting = lock(&s.behaviour)
        .get("gemma")
        .and_then(|b| b.queue_waiting)
        .unwrap_or(0);
    let labels = format!(r#"engine="0",model_name="{GEMMA_NAME}""#);
    let body = format!(
        "# HELP vllm:num_requests_running Number of requests in model execution batches.\n\
         # TYPE vllm:num_requests_running gauge\n\
         vllm:num_requests_running{{{labels}}} {running}.0\n\
         # HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n\
         # TYPE vllm:num_requests_waiting gauge\n\
         vllm:num_requests_waiting{{{labels}}} {waiting}.0\n"
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Tokens of chat messages through the template, as the stand-in counts them: a word a token,
/// plus Gemma's turn markers.
fn prompt_tokens(messages: &[Value]) -> u64 {
    messages
        .iter()
        .filter_map(|m| content(m).ok())
        .map(|(text, images)| words(&text) as u64 + 4 + IMAGE_TOKENS * images as u64)
        .sum::<u64>()
        + 2
}

/// Gemma 3 reads every picture as 256 tokens.
const IMAGE_TOKENS: u64 = 256;

/// The most pictures a prompt may carry: the deployment's `--limit-mm-per-prompt` (deploy/).
pub const IMAGES_PER_PROMPT: usize = 5;

/// A message's words and how many pictures it carries: `content` is a string, or OpenAI's list
/// of parts (`text`, and `image_url` with a `data:` URL that must hold that picture).
fn content(m: &Value) -> Result<(String, usize), String> {
    match m.get("content") {
        Some(Value::String(text)) => Ok((text.clone(), 0)),
        Some(Value::Array(parts)) => {
            let (mut text, mut images) = (String::new(), 0);
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => text.push_str(
                        part.get("text")
                            .and_then(Value::as_str)
                            .ok_or("a text part needs a text string")?,
                    ),
                    Some("image_url") => {
                        let url = part
                            .pointer("/image_url/url")
                            .and_then(Value::as_str)
                            .ok_or("an image_url part needs image_url.url")?;
                        super::media::data_url(url)?;
                        images += 1;
                    }
                    other => {
                        return Err(format!("Unknown part type: {}", other.unwrap_or("(none)")))
                    }
                }
            }
            Ok((text, images))
        }
        _ => Err("content must be a string or a list of parts".into()),
    }
}

/// `POST /tokenize` with chat messages.
pub(super) async fn tokenize(State(s): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return vllm_error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
    };
    if body.get("model").and_then(Value::as_str) != Some(GEMMA_NAME) {
        return vllm_error(
            StatusCode::NOT_FOUND,
            &format!(
                "The model `{}` does not exist.",
                body.get("model").unwrap_or(&Value::Null)
            ),
        );
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return vllm_error(StatusCode::BAD_REQUEST, "messages must be a list");
    };
    lock(&s.requests)
        .entry("gemma_tokenize".into())
        .or_default()
        .push(body.clone());
    let count = prompt_tokens(messages);
    Json(json!({"count": count, "max_model_len": max_model_len(&s), "tokens": (0..count).collect::<Vec<u64>>()}))
        .into_response()
}

/// vLLM's error body since v0.10.1: nested under `error`.
pub(super) fn vllm_error(status: StatusCode, message: &str) -> Response {
    let kind = match status {
        StatusCode::NOT_FOUND => "NotFoundError",
        StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailableError",
        StatusCode::TOO_MANY_REQUESTS => "RateLimitError",
        _ => "BadRequestError",
    };
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": status.as_u16()}});
    (status, Json(body)).into_response()
}

pub(super) fn check_sampling(body: &Value, max_key: &str) -> Result<(), String> {
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
pub(super) fn validate_chat(body: &Value) -> Result<String, String> {
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
    let mut images = 0;
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let (content, pictures) = content(m)?;
        images += pictures;
        let expected = if i % 2 == 0 { "user" } else { "assistant" };
        if role != expected {
            // Gemma's chat template raises exactly this.
            return Err(
                "Conversation roles must alternate user/assistant/user/assistant/...".into(),
            );
        }
        if role == "user" {
            last_user = content;
        }
    }
    if messages.len().is_multiple_of(2) {
        return Err("The last message must come from the user.".into());
    }
    // vLLM's words when a prompt has more than `--limit-mm-per-prompt` allows.
    if images > IMAGES_PER_PROMPT {
        return Err(format!(
            "At most {IMAGES_PER_PROMPT} image(s) may be provided in one prompt."
        ));
    }
    Ok(last_user)
}

pub(super) async fn chat_completions(
    State(s): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return vllm_error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
    };
    let (_guard, behaviour, fault) = enter(&s, "gemma", &body).await;
    let last_user = match validate_chat(&body) {
        Ok(text) => text,
        Err(message) if message.contains("does not exist") => {
            return vllm_error(StatusCode::NOT_FOUND, &message)
        }
        Err(message) => return vllm_error(StatusCode::BAD_REQUEST, &message),
    };
    // vLLM's own check and words (v0.10): prompt + max_tokens must fit the context.
    let len = behaviour.max_model_len.unwrap_or(DEFAULT_MAX_MODEL_LEN);
    let prompt = body["messages"].as_array().map_or(0, |m| prompt_tokens(m));
    let max_tokens = body["max_tokens"].as_u64().unwrap_or(0);
    if prompt > len {
        return vllm_error(StatusCode::BAD_REQUEST, &format!("This model's maximum context length is {len} tokens. However, your request has {prompt} input tokens. Please reduce the length of the input messages."));
    }
    if prompt + max_tokens > len {
        return vllm_error(StatusCode::BAD_REQUEST, &format!("'max_tokens' or 'max_completion_tokens' is too large: {max_tokens}. This model's maximum context length is {len} tokens and your request has {prompt} input tokens ({max_tokens} > {len} - {prompt})."));
    }
    if let Some(r) = transport_fault(fault) {
        return r;
    }
    let content = match fault {
        Some(Fault::Status429) => {
            return vllm_error(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
        }
        Some(Fault::Status503 | Fault::Internal) => {
            let mut r = vllm_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The engine is not ready to accept requests.",
            );
            if let Some(secs) = behaviour.retry_after_s {
                if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
                }
            }
            return r;
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
    let prompt_tokens = prompt;
    let completion_tokens = content.as_str().map(words).unwrap_or(0) as u64;
    Json(json!({
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": GEMMA_NAME,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "tool_calls": []},
            "logprobs": null,
            "finish_reason": match fault {
                Some(Fault::CutOff | Fault::MaxTokensNoText) => "length",
                Some(Fault::Abort) => "abort",
                _ => "stop",
            },
            "stop_reason": null
        }],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}
    }))
    .into_response()
}

pub(super) async fn generate(State(s): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
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
