//! Vertex AI's `generateContent` and the OAuth token endpoint that guards it.

use super::faults::{enter, transport_fault, words};
use super::vertex_schema::{validate_request, Checked, AUTO_THINKING_CAP};
use super::{lock, Fault, Shared, GEMINI_NAME};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn google_error(status: StatusCode, code_name: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": status.as_u16(), "message": message, "status": code_name}})),
    )
        .into_response()
}

pub(super) async fn token(State(s): State<Arc<Shared>>, body: String) -> Response {
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

/// What the model writes for `answer` within `checked`'s limits, as Gemini 2.5 does: thinking
/// first (dynamic unless budgeted, none at 0), counted against `maxOutputTokens`; the answer
/// gets what is left and is cut at `MAX_TOKENS` when that is not enough. Tokens are words here.
/// Returns (answer parts, finish reason, answer tokens, thought tokens).
pub(super) fn think_then_answer(
    checked: &Checked,
    wants_to_think: u64,
    answer: &str,
) -> (Vec<Value>, &'static str, u64, u64) {
    let thoughts = match checked.thinking_budget {
        None => wants_to_think.min(AUTO_THINKING_CAP),
        Some(budget) => wants_to_think.min(budget),
    }
    .min(checked.max_output_tokens);
    let room = checked.max_output_tokens - thoughts;
    let words: Vec<&str> = answer.split_whitespace().collect();
    let mut parts = Vec::new();
    if checked.include_thoughts && thoughts > 0 {
        parts.push(json!({"text": "**Thinking it over**\n\nThe person asked a question; answer it plainly.", "thought": true}));
    }
    if room == 0 {
        return (parts, "MAX_TOKENS", 0, thoughts);
    }
    if words.len() as u64 > room {
        let cut = words[..room as usize].join(" ");
        parts.push(json!({"text": cut}));
        return (parts, "MAX_TOKENS", room, thoughts);
    }
    parts.push(json!({"text": answer}));
    (parts, "STOP", words.len() as u64, thoughts)
}

pub(super) async fn generate_content(
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
    if let Some(model) = call.strip_suffix(":countTokens") {
        return count_tokens(&s, model, &body);
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
    let checked = match validate_request(&body) {
        Ok(c) => c,
        Err(m) => return google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", &m),
    };
    let last_user = checked.last_user.clone();
    if let Some(r) = transport_fault(fault) {
        return r;
    }
    let prompt_tokens = words(&last_user) as u64;
    let usage = |answer: u64, thoughts: u64| {
        let mut u = json!({"promptTokenCount": prompt_tokens, "candidatesTokenCount": answer, "totalTokenCount": prompt_tokens + answer + thoughts});
        if thoughts > 0 {
            u["thoughtsTokenCount"] = json!(thoughts);
        }
        u
    };
    let retry_after = behaviour.retry_after_s;
    let candidate = |parts: Value, finish: &str| json!({"content": {"role": "model", "parts": parts}, "finishReason": finish});
    let reply = match fault {
        Some(Fault::Status429) => return with_retry_after(google_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute.",
        ), retry_after),
        Some(Fault::Status503) => return with_retry_after(google_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "The service is currently unavailable.",
        ), retry_after),
        Some(Fault::Internal) => return google_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
        ),
        Some(Fault::SafetyBlock) => {
            json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage(0, 0)})
        }
        Some(Fault::ReplySafety) => {
            json!({"candidates": [{"finishReason": "SAFETY"}], "usageMetadata": usage(0, 0)})
        }
        Some(Fault::Finish) => {
            let reason = behaviour.finish_reason.clone().unwrap_or_else(|| "OTHER".into());
            json!({"candidates": [candidate(json!([{"text": "Partial"}]), &reason)], "usageMetadata": usage(1, 0)})
        }
        // Thinking took every token it was allowed (as it can, past its budget): billed, no text.
        Some(Fault::MaxTokensNoText) => {
            json!({"candidates": [candidate(json!([]), "MAX_TOKENS")], "usageMetadata": usage(0, checked.max_output_tokens)})
        }
        Some(Fault::Empty) => json!({"candidates": [candidate(json!([{"text": ""}]), "STOP")]}),
        _ => {
            let text = behaviour
                .reply
                .clone()
                .unwrap_or_else(|| format!("Gemini echo: {last_user}"));
            let (parts, finish, answer, thoughts) =
                think_then_answer(&checked, behaviour.thinking_tokens.unwrap_or(DEFAULT_THINKING), &text);
            let finish = if fault == Some(Fault::CutOff) {
                "MAX_TOKENS"
            } else {
                finish
            };
            // No text at all: Google leaves the parts out.
            let content = if parts.is_empty() {
                json!({"role": "model"})
            } else {
                json!({"role": "model", "parts": parts})
            };
            json!({
                "candidates": [{"content": content, "finishReason": finish}],
                "usageMetadata": usage(answer, thoughts),
                "modelVersion": GEMINI_NAME
            })
        }
    };
    Json(reply).into_response()
}

/// How many tokens the stand-in thinks on Auto by default: a middling question for Gemini 2.5
/// Flash, more than a small Max tokens leaves room for.
pub const DEFAULT_THINKING: u64 = 600;

fn with_retry_after(mut r: Response, secs: Option<u64>) -> Response {
    if let Some(s) = secs {
        if let Ok(v) = axum::http::HeaderValue::from_str(&s.to_string()) {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
    }
    r
}

/// `:countTokens`: free, refused for an unknown model as a generation is. Recorded apart
/// (`gemini_count`), so tests counting generations are not disturbed by the app's probe.
fn count_tokens(s: &Shared, model: &str, body: &[u8]) -> Response {
    if model != GEMINI_NAME {
        return google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("Publisher Model `projects/standin-project/locations/global/publishers/google/models/{model}` was not found or your project does not have access to it."),
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Invalid JSON payload received.",
        );
    };
    lock(&s.requests)
        .entry("gemini_count".into())
        .or_default()
        .push(body.clone());
    let text: String = body["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["parts"].as_array().into_iter().flatten())
        .filter_map(|p| p["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Json(json!({"totalTokens": words(&text), "totalBillableCharacters": text.chars().count()}))
        .into_response()
}
