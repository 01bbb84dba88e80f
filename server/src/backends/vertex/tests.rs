//! Vertex AI's wire mapping: requests, replies, finish reasons and error bodies.

use super::*;
use serde_json::{json, Value};

fn raw(status: u16, body: Value) -> RawReply {
    RawReply::of(status, body.to_string())
}

#[test]
fn conversation_maps_to_contents_and_parameters_to_generation_config() {
    let conversation = vec![
        PromptMessage {
            role: Role::User,
            text: "hi".into(),
        },
        PromptMessage {
            role: Role::Model,
            text: "hello from gemma".into(),
        },
        PromptMessage {
            role: Role::User,
            text: "and you?".into(),
        },
    ];
    let params = GenParams {
        temperature: 0.25,
        top_p: 0.5,
        max_tokens: 77,
    };
    let body: Value = serde_json::from_slice(&VertexGemini::request_body(
        &conversation,
        &params,
        Some("Be kind."),
    ))
    .expect("json");
    assert_eq!(
        body,
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "hi"}]},
                {"role": "model", "parts": [{"text": "hello from gemma"}]},
                {"role": "user", "parts": [{"text": "and you?"}]}
            ],
            "systemInstruction": {"parts": [{"text": "Be kind."}]},
            "generationConfig": {"temperature": 0.25, "topP": 0.5, "maxOutputTokens": 77}
        })
    );
    let without: Value =
        serde_json::from_slice(&VertexGemini::request_body(&conversation, &params, None))
            .expect("json");
    assert!(
        without.get("systemInstruction").is_none(),
        "absent, not null"
    );
}

#[test]
fn reads_all_text_parts_usage_and_finish_reason() {
    let reply = VertexGemini::parse_reply(raw(200, json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "thinking…", "thought": true}, {"text": "Hello"}, {"text": " world"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 30}
    })))
    .expect("reply");
    assert_eq!(reply.text(), "Hello world");
    assert_eq!(reply.finish_reason.as_deref(), Some("STOP"));
    assert_eq!(
        reply.usage,
        Some(TokenUsage {
            prompt_tokens: 4,
            completion_tokens: 2,
            total_tokens: 30
        })
    );
}

#[test]
fn blocks_limits_and_errors_get_specific_words() {
    let cases = [
        (
            raw(200, json!({"promptFeedback": {"blockReason": "SAFETY"}})),
            ModelError::Blocked {
                model: MODEL,
                what: BlockedPart::Message,
                reason: "SAFETY".into(),
            },
        ),
        (
            raw(200, json!({"candidates": [{"finishReason": "RECITATION"}]})),
            ModelError::Blocked {
                model: MODEL,
                what: BlockedPart::Reply,
                reason: "RECITATION".into(),
            },
        ),
        (
            raw(
                200,
                json!({"candidates": [{"content": {"parts": []}, "finishReason": "MAX_TOKENS"}]}),
            ),
            ModelError::OutOfTokens(MODEL),
        ),
        (
            raw(
                200,
                json!({"candidates": [{"content": {"parts": [{"text": " "}]}, "finishReason": "STOP"}]}),
            ),
            ModelError::Empty(MODEL),
        ),
        (
            raw(200, json!({"candidates": 3})),
            ModelError::BadReply(MODEL),
        ),
        (raw(200, json!({})), ModelError::BadReply(MODEL)),
        (
            raw(
                429,
                json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}),
            ),
            ModelError::Busy(MODEL),
        ),
        (
            raw(
                400,
                json!({"error": {"code": 400, "message": "Invalid topP", "status": "INVALID_ARGUMENT"}}),
            ),
            ModelError::Rejected {
                model: MODEL,
                reason: "Invalid topP".into(),
            },
        ),
        (
            raw(
                403,
                json!({"error": {"code": 403, "message": "Permission denied on projects/secret", "status": "PERMISSION_DENIED"}}),
            ),
            ModelError::AuthFailed(MODEL),
        ),
        (raw(500, json!("oops")), ModelError::BackendError(MODEL)),
    ];
    for (input, expected) in cases {
        assert_eq!(VertexGemini::parse_reply(input).err(), Some(expected));
    }
    let partial = VertexGemini::parse_reply(raw(200, json!({"candidates": [{"content": {"parts": [{"text": "cut"}]}, "finishReason": "MAX_TOKENS"}]})))
        .expect("text cut by the limit is still a reply");
    assert_eq!(partial.finish_reason.as_deref(), Some("MAX_TOKENS"));
}
