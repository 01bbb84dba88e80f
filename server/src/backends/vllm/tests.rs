//! vLLM's wire mapping: requests, replies, finish reasons and error bodies.

use super::*;
use app::conversation::Role;
use serde_json::{json, Value};

fn raw(status: u16, body: &str) -> RawReply {
    RawReply::of(status, body)
}

#[test]
fn request_carries_roles_in_order_and_every_parameter() {
    let conversation = vec![
        PromptMessage {
            role: Role::User,
            text: "hi".into(),
            files: Vec::new(),
        },
        PromptMessage {
            role: Role::Model,
            text: "hello from gemini".into(),
            files: Vec::new(),
        },
        PromptMessage {
            role: Role::User,
            text: "and now?".into(),
            files: Vec::new(),
        },
    ];
    let params = GenParams {
        temperature: 0.25,
        top_p: 0.5,
        max_tokens: 77,
        thinking: None,
    };
    let body: Value = serde_json::from_slice(&VllmChat::request_body(
        &conversation,
        &params,
        "google/gemma-3-12b-it",
        None,
    ))
    .expect("json");
    assert_eq!(
        body,
        json!({
            "model": "google/gemma-3-12b-it",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello from gemini"},
                {"role": "user", "content": "and now?"}
            ],
            "temperature": 0.25,
            "top_p": 0.5,
            "max_tokens": 77
        })
    );
}

#[test]
fn a_system_prompt_leads_as_a_system_message() {
    let conversation = vec![PromptMessage {
        role: Role::User,
        text: "hi".into(),
        files: Vec::new(),
    }];
    let body: Value = serde_json::from_slice(&VllmChat::request_body(
        &conversation,
        &GenParams::default(),
        "m",
        Some("Be brief."),
    ))
    .expect("json");
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])
    );
}

#[test]
fn generate_replies_are_parsed_and_junk_is_typed() {
    let prompt = generate::gemma_prompt(
        &[PromptMessage {
            role: Role::User,
            text: "hi".into(),
            files: Vec::new(),
        }],
        None,
    );
    let body = json!({"predictions": [format!("Prompt:\n{prompt}\nOutput:\nHello!")]}).to_string();
    let reply = VllmChat::parse_generate(raw(200, &body), &prompt).expect("reply");
    assert_eq!(reply.text(), "Hello!");
    assert_eq!(
        VllmChat::parse_generate(raw(200, r#"{"predictions":[]}"#), &prompt).err(),
        Some(ModelError::BadReply(MODEL))
    );
    assert_eq!(
        VllmChat::parse_generate(raw(200, r#"{"predictions":[7]}"#), &prompt).err(),
        Some(ModelError::BadReply(MODEL))
    );
    assert_eq!(
        VllmChat::parse_generate(raw(503, "busy"), &prompt).err(),
        Some(ModelError::Busy(MODEL))
    );
}

#[test]
fn reply_text_finish_reason_and_usage_are_read() {
    let reply = VllmChat::parse_reply(raw(
        200,
        r#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":" Hi there! "},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#,
    ))
    .expect("reply");
    assert_eq!(reply.text(), "Hi there!");
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        reply.usage,
        Some(TokenUsage {
            prompt_tokens: 12,
            completion_tokens: 3,
            thinking_tokens: 0,
            total_tokens: 15
        })
    );
}

#[test]
fn junk_replies_become_typed_errors_not_panics() {
    let cases = [
        (raw(200, "not json"), ModelError::BadReply(MODEL)),
        (
            raw(200, r#"{"choices":"nope"}"#),
            ModelError::BadReply(MODEL),
        ),
        (raw(200, r#"{"choices":[]}"#), ModelError::BadReply(MODEL)),
        (
            raw(200, r#"{"choices":[{"message":{"content":null}}]}"#),
            ModelError::Empty(MODEL),
        ),
        (
            raw(200, r#"{"choices":[{"message":{"content":"   "}}]}"#),
            ModelError::Empty(MODEL),
        ),
        (raw(200, "\u{0}\u{ff}"), ModelError::BadReply(MODEL)),
        (
            raw(500, "<html>oops</html>"),
            ModelError::BackendError(MODEL),
        ),
        (raw(429, "{}"), ModelError::Busy(MODEL)),
    ];
    for (input, expected) in cases {
        assert_eq!(VllmChat::parse_reply(input).err(), Some(expected));
    }
}

#[test]
fn a_4xx_shows_the_backends_reason_from_either_error_shape() {
    for body in [
        r#"{"object":"error","message":"Conversation roles must alternate user/assistant/user/assistant/...","type":"BadRequestError","code":400}"#,
        r#"{"error":{"message":"Conversation roles must alternate user/assistant/user/assistant/...","type":"BadRequestError","param":null,"code":400}}"#,
    ] {
        assert_eq!(
            VllmChat::parse_reply(raw(400, body)).err(),
            Some(ModelError::Rejected {
                model: MODEL,
                reason: "Conversation roles must alternate user/assistant/user/assistant/..."
                    .into()
            }),
            "{body}"
        );
    }
}

#[test]
fn context_errors_unknown_models_and_aborts_are_worded_as_what_they_are() {
    let too_large = r#"{"error":{"message":"'max_tokens' or 'max_completion_tokens' is too large: 8192. This model's maximum context length is 16384 tokens and your request has 9000 input tokens (8192 > 16384 - 9000).","type":"BadRequestError","param":null,"code":400}}"#;
    assert_eq!(
        VllmChat::parse_reply(raw(400, too_large)).err(),
        Some(ModelError::ContextTooLong(MODEL))
    );
    let old = r#"{"object":"error","message":"This model's maximum context length is 32768 tokens. However, you requested 40000 tokens.","type":"BadRequestError","code":400}"#;
    assert_eq!(
        VllmChat::parse_reply(raw(400, old)).err(),
        Some(ModelError::ContextTooLong(MODEL))
    );
    let unknown = r#"{"error":{"message":"The model `gemma-9` does not exist.","type":"NotFoundError","param":null,"code":404}}"#;
    assert_eq!(
        VllmChat::parse_reply(raw(404, unknown)).err(),
        Some(ModelError::NotConfigured(MODEL))
    );
    let aborted = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Half an ans"},"finish_reason":"abort"}]}"#;
    assert_eq!(
        VllmChat::parse_reply(raw(200, aborted)).err(),
        Some(ModelError::Aborted(MODEL))
    );
    let nothing = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"length"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#;
    match VllmChat::parse_reply(raw(200, nothing)) {
        Err(e @ ModelError::OutOfTokens { .. }) => {
            assert_eq!(e.billed().map(|u| u.total_tokens), Some(10), "billed")
        }
        other => panic!("out of tokens expected, got {other:?}"),
    }
    let cut = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Half an ans"},"finish_reason":"length"}]}"#;
    let reply = VllmChat::parse_reply(raw(200, cut)).expect("a cut-off reply is a reply");
    assert_eq!(reply.finish_reason.as_deref(), Some("length"));
}

#[test]
fn upstream_api_server_replies_are_read_too() {
    let prompt = generate::gemma_prompt(
        &[PromptMessage {
            role: Role::User,
            text: "hi".into(),
            files: Vec::new(),
        }],
        None,
    );
    let body = json!({"text": [format!("{prompt}Hello from upstream!")]}).to_string();
    let reply = VllmChat::parse_generate(raw(200, &body), &prompt).expect("reply");
    assert_eq!(reply.text(), "Hello from upstream!");
}

/// A health check that never answers is "timed out", after vLLM's own probe timeout (10 s in
/// the deployment), not a 3 s "unreachable".
#[tokio::test]
async fn a_health_check_that_hangs_says_timed_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Accepts and holds every connection without a word.
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let config = VllmConfig {
        api: VllmApi::Chat,
        base_url: format!("http://{addr}"),
        model: "m".into(),
        api_key: None,
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(30),
        max_in_flight: 1,
        probe_interval: Duration::from_secs(60),
        busy_waiting: Some(8),
    };
    let chat = VllmChat::new(&config, Counter::default()).expect("client");
    let started = std::time::Instant::now();
    let status = chat.probe().await;
    let waited = started.elapsed();
    assert!(waited >= PROBE_TIMEOUT, "waited {waited:?}");
    match status {
        Availability::Unreachable(why) => assert!(why.contains("timed out"), "{why}"),
        other => panic!("expected unreachable, got {other:?}"),
    }
    held.abort();
}
