//! Vertex AI's `generateContent` and the OAuth token endpoint that guards it.

use super::faults::{enter, transport_fault, words};
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

pub(super) fn validate_contents(body: &Value) -> Result<String, String> {
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
            let finish = if fault == Some(Fault::CutOff) {
                "MAX_TOKENS"
            } else {
                "STOP"
            };
            json!({
                "candidates": [candidate(json!([{"text": text}]), finish)],
                "usageMetadata": usage,
                "modelVersion": GEMINI_NAME
            })
        }
    };
    Json(reply).into_response()
}
