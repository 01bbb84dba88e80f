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
            files: Vec::new(),
        },
        PromptMessage {
            role: Role::Model,
            text: "hello from gemma".into(),
            files: Vec::new(),
        },
        PromptMessage {
            role: Role::User,
            text: "and you?".into(),
            files: Vec::new(),
        },
    ];
    let params = GenParams {
        temperature: 0.25,
        top_p: 0.5,
        max_tokens: 77,
        thinking: None,
    };
    let body: Value = serde_json::from_slice(&VertexGemini::request_body(
        &conversation,
        &params,
        Some("Be kind."),
        Thinking::Off,
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
            "generationConfig": {"temperature": 0.25, "topP": 0.5, "maxOutputTokens": 77,
                                 "thinkingConfig": {"thinkingBudget": 0}}
        })
    );
    let without: Value = serde_json::from_slice(&VertexGemini::request_body(
        &conversation,
        &params,
        None,
        Thinking::Auto,
    ))
    .expect("json");
    assert!(
        without.get("systemInstruction").is_none(),
        "absent, not null"
    );
}

#[test]
fn max_tokens_is_the_answer_and_thinking_comes_on_top() {
    let conversation = [PromptMessage {
        role: Role::User,
        text: "hi".into(),
        files: Vec::new(),
    }];
    let config = |max_tokens: u32, thinking: Thinking| -> Value {
        let params = GenParams {
            max_tokens,
            ..GenParams::default()
        };
        let body: Value = serde_json::from_slice(&VertexGemini::request_body(
            &conversation,
            &params,
            None,
            thinking,
        ))
        .expect("json");
        body["generationConfig"].clone()
    };
    let auto = config(64, Thinking::Auto);
    assert_eq!(auto["maxOutputTokens"], 64 + 8_192);
    assert_eq!(auto["thinkingConfig"], json!({"thinkingBudget": -1}));
    let off = config(256, Thinking::Off);
    assert_eq!(off["maxOutputTokens"], 256);
    assert_eq!(off["thinkingConfig"], json!({"thinkingBudget": 0}));
    let budget = config(1_000, Thinking::Budget(2_048));
    assert_eq!(budget["maxOutputTokens"], 3_048);
    assert_eq!(budget["thinkingConfig"], json!({"thinkingBudget": 2_048}));
    // Capped at the model's own limit.
    let big = config(8_192, Thinking::Budget(24_576));
    assert_eq!(big["maxOutputTokens"], 8_192 + 24_576);
    assert!(big["maxOutputTokens"].as_u64() <= Some(u64::from(MAX_OUTPUT_TOKENS)));
    assert!(big.get("thinkingBudget").is_none(), "never misplaced");
}

#[test]
fn reads_all_text_parts_usage_and_finish_reason() {
    let reply = VertexGemini::parse_reply(raw(200, json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "thinking…", "thought": true}, {"text": "Hello"}, {"text": " world"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "thoughtsTokenCount": 24, "totalTokenCount": 30}
    })))
    .expect("reply");
    assert_eq!(reply.text(), "Hello world");
    assert_eq!(reply.finish_reason.as_deref(), Some("STOP"));
    assert_eq!(
        reply.usage,
        Some(TokenUsage {
            prompt_tokens: 4,
            completion_tokens: 2,
            thinking_tokens: 24,
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
                reason: Refusal::Safety,
            },
        ),
        (
            raw(200, json!({"candidates": [{"finishReason": "RECITATION"}]})),
            ModelError::Blocked {
                model: MODEL,
                what: BlockedPart::Reply,
                reason: Refusal::Recitation,
            },
        ),
        (
            raw(200, json!({"promptFeedback": {"blockReason": "JAILBREAK"}})),
            ModelError::Blocked {
                model: MODEL,
                what: BlockedPart::Message,
                reason: Refusal::Jailbreak,
            },
        ),
        (
            raw(
                200,
                json!({"candidates": [{"finishReason": "A_REASON_FROM_NEXT_YEAR"}]}),
            ),
            ModelError::Blocked {
                model: MODEL,
                what: BlockedPart::Reply,
                reason: Refusal::Other,
            },
        ),
        (
            raw(
                404,
                json!({"error": {"code": 404, "message": "Publisher Model `gemini-1.0-pro` was not found", "status": "NOT_FOUND"}}),
            ),
            ModelError::NotConfigured(MODEL),
        ),
        (
            raw(
                400,
                json!({"error": {"code": 400, "message": "Vertex AI API has not been used in project", "status": "FAILED_PRECONDITION"}}),
            ),
            ModelError::NotConfigured(MODEL),
        ),
        (
            raw(
                200,
                json!({"candidates": [{"content": {"parts": []}, "finishReason": "MAX_TOKENS"}]}),
            ),
            ModelError::out_of_tokens(MODEL),
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
            ModelError::NotConfigured(MODEL),
        ),
        (
            raw(
                403,
                json!({"error": {"code": 403, "message": "The caller does not have permission"}}),
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

#[test]
fn every_vertex_finish_reason_is_told_apart() {
    let stops = [
        ("SAFETY", Refusal::Safety),
        ("RECITATION", Refusal::Recitation),
        ("BLOCKLIST", Refusal::Blocklist),
        ("PROHIBITED_CONTENT", Refusal::ProhibitedContent),
        ("SPII", Refusal::Spii),
        ("IMAGE_SAFETY", Refusal::ImageSafety),
        ("MODEL_ARMOR", Refusal::ModelArmor),
        ("LANGUAGE", Refusal::Language),
        ("MALFORMED_FUNCTION_CALL", Refusal::MalformedFunctionCall),
        ("OTHER", Refusal::Other),
    ];
    for (name, reason) in stops {
        let reply = VertexGemini::parse_reply(raw(
            200,
            json!({"candidates": [{"content": {"parts": [{"text": "partial"}]}, "finishReason": name}]}),
        ));
        assert_eq!(
            reply.err(),
            Some(ModelError::Blocked {
                model: MODEL,
                what: BlockedPart::Reply,
                reason
            }),
            "{name}"
        );
    }
    let stop = VertexGemini::parse_reply(raw(
        200,
        json!({"candidates": [{"content": {"parts": [{"text": "fine"}]}, "finishReason": "STOP"}]}),
    ))
    .expect("STOP is an answer");
    assert_eq!(stop.text(), "fine");
}
