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

/// Field names of aiplatform v1's `GenerateContentRequest` and the messages our requests use,
/// in the camelCase JSON spelling; Google's JSON mapping accepts the proto (snake_case) names
/// too. Anything else is refused as Google refuses it.
const REQUEST_FIELDS: &[&str] = &[
    "model",
    "contents",
    "systemInstruction",
    "cachedContent",
    "tools",
    "toolConfig",
    "labels",
    "safetySettings",
    "modelArmorConfig",
    "generationConfig",
];
const CONTENT_FIELDS: &[&str] = &["role", "parts"];
const PART_FIELDS: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "videoMetadata",
    "thought",
    "thoughtSignature",
];
const GENERATION_FIELDS: &[&str] = &[
    "temperature",
    "topP",
    "topK",
    "candidateCount",
    "maxOutputTokens",
    "stopSequences",
    "responseLogprobs",
    "logprobs",
    "presencePenalty",
    "frequencyPenalty",
    "seed",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "routingConfig",
    "audioTimestamp",
    "mediaResolution",
    "responseModalities",
    "speechConfig",
    "thinkingConfig",
    "imageConfig",
    "enableAffectiveDialog",
    "modelConfig",
];
const THINKING_FIELDS: &[&str] = &["includeThoughts", "thinkingBudget", "thinkingLevel"];

/// Gemini 2.5 Flash's limits (Vertex's model and thinking pages).
pub const MAX_OUTPUT_TOKENS: u64 = 65_536;
pub const MAX_THINKING_BUDGET: i64 = 24_576;
/// How far Auto (dynamic) thinking may go.
pub const AUTO_THINKING_CAP: u64 = 8_192;

fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Finds `key` in `known` under either spelling.
fn known_field(known: &[&str], key: &str) -> bool {
    known.iter().any(|k| *k == key || snake(k) == key)
}

/// Google's words for a field it does not know, e.g. `Unknown name "thinkingBudget" at
/// 'generation_config': Cannot find field.`
fn check_fields(value: &Value, known: &[&str], at: &str) -> Result<(), String> {
    let Some(object) = value.as_object() else {
        return Err(format!("Invalid value at '{at}', expected an object."));
    };
    for key in object.keys() {
        if !known_field(known, key) {
            let place = if at.is_empty() {
                String::new()
            } else {
                format!(" at '{at}'")
            };
            return Err(format!(
                "Invalid JSON payload received. Unknown name \"{key}\"{place}: Cannot find field."
            ));
        }
    }
    Ok(())
}

/// `value[camel]` under either spelling.
fn field<'a>(value: &'a Value, camel: &str) -> Option<&'a Value> {
    value.get(camel).or_else(|| value.get(snake(camel)))
}

/// A request as Vertex reads it: the last user text and the generation settings that shape the
/// reply. Names are checked as Google's JSON mapping does; values as Vertex's docs say.
pub(super) struct Checked {
    pub last_user: String,
    pub max_output_tokens: u64,
    /// `None`: dynamic (no `thinkingConfig`, or a budget of -1).
    pub thinking_budget: Option<u64>,
    pub include_thoughts: bool,
}

pub(super) fn validate_request(body: &Value) -> Result<Checked, String> {
    check_fields(body, REQUEST_FIELDS, "")?;
    let contents = field(body, "contents")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or("Unable to submit request because it has an empty contents field.")?;
    let mut last_user = String::new();
    for (i, c) in contents.iter().enumerate() {
        let at = format!("contents[{i}]");
        check_fields(c, CONTENT_FIELDS, &at)?;
        let role = c.get("role").and_then(Value::as_str).unwrap_or("");
        let expected = if i % 2 == 0 { "user" } else { "model" };
        if role != expected {
            return Err(format!(
                "Please ensure that multiturn requests alternate between user and model ({at}.role must be {expected})."
            ));
        }
        let parts = c
            .get("parts")
            .and_then(Value::as_array)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("Unable to submit request because {at} has no parts."))?;
        let mut text = String::new();
        for (j, p) in parts.iter().enumerate() {
            check_fields(p, PART_FIELDS, &format!("{at}.parts[{j}]"))?;
            match p.get("text") {
                Some(Value::String(t)) => text.push_str(t),
                _ => {
                    return Err(format!(
                        "Invalid value at '{at}.parts[{j}].text' (TYPE_STRING)."
                    ))
                }
            }
        }
        if role == "user" {
            last_user = text;
        }
    }
    if contents.len().is_multiple_of(2) {
        return Err("Please ensure that multiturn requests end with a user role.".into());
    }
    if let Some(system) = field(body, "systemInstruction") {
        check_fields(system, CONTENT_FIELDS, "system_instruction")?;
        for (j, p) in system
            .get("parts")
            .and_then(Value::as_array)
            .ok_or("Invalid value at 'system_instruction.parts'.")?
            .iter()
            .enumerate()
        {
            check_fields(p, PART_FIELDS, &format!("system_instruction.parts[{j}]"))?;
        }
    }
    let mut checked = Checked {
        last_user,
        max_output_tokens: MAX_OUTPUT_TOKENS,
        thinking_budget: None,
        include_thoughts: false,
    };
    let Some(config) = field(body, "generationConfig") else {
        return Ok(checked);
    };
    check_fields(config, GENERATION_FIELDS, "generation_config")?;
    for (key, lo, hi) in [("temperature", 0.0, 2.0), ("topP", 0.0, 1.0)] {
        match field(config, key) {
            None => {}
            Some(v) => match v.as_f64() {
                Some(v) if v >= lo && v <= hi => {}
                _ => {
                    return Err(format!(
                        "Unable to submit request because it has a {key} value of {v} but the supported range is from {lo} (inclusive) to {hi} (inclusive). Update the value and try again."
                    ))
                }
            },
        }
    }
    if let Some(v) = field(config, "maxOutputTokens") {
        match v.as_u64() {
            Some(n) if (1..=MAX_OUTPUT_TOKENS).contains(&n) => checked.max_output_tokens = n,
            _ => {
                return Err(format!(
                    "Unable to submit request because it has a maxOutputTokens value of {v} but the supported range is from 1 (inclusive) to {} (exclusive). Update the value and try again.",
                    MAX_OUTPUT_TOKENS + 1
                ))
            }
        }
    }
    if let Some(thinking) = field(config, "thinkingConfig") {
        check_fields(
            thinking,
            THINKING_FIELDS,
            "generation_config.thinking_config",
        )?;
        if let Some(v) = field(thinking, "thinkingBudget") {
            checked.thinking_budget = match v.as_i64() {
                Some(-1) => None,
                Some(b) if (0..=MAX_THINKING_BUDGET).contains(&b) => Some(b as u64),
                _ => {
                    return Err(format!(
                        "Unable to submit request because thinking_budget is out of range; supported values are integers from 0 to {MAX_THINKING_BUDGET}, or -1 for dynamic thinking."
                    ))
                }
            };
        }
        match field(thinking, "includeThoughts") {
            None => {}
            Some(Value::Bool(b)) => checked.include_thoughts = *b,
            Some(_) => {
                return Err(
                    "Invalid value at 'generation_config.thinking_config.include_thoughts' (TYPE_BOOL)."
                        .into(),
                )
            }
        }
    }
    Ok(checked)
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
        Some(Fault::MaxTokensNoText) => {
            json!({"candidates": [candidate(json!([]), "MAX_TOKENS")], "usageMetadata": usage(0, 0)})
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
