//! Part of `models_as_they_behave.rs`: see its notes.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_long_chat_on_a_16k_gemma_context_is_answered_not_refused() {
    let model = standin::start(0).await;
    model.set(
        "gemma",
        Behaviour {
            max_model_len: Some(16_384),
            ..Behaviour::default()
        },
    );
    // A history window far larger than the context: the context itself must be respected.
    let (_dir, model, server) = Stack::start_on(
        model,
        &[
            ("HISTORY_TOKENS", "100000"),
            ("HISTORY_MESSAGES", "200"),
            ("MODEL_PROBE_INTERVAL_SECS", "0.2"),
            ("RUST_LOG", CONTEXT_LOG),
        ],
    )
    .await
    .into_parts();
    wait_for_context(&server).await;
    let mut me = Visitor::new(&server);
    // 16 turns of 1,000 words asked and echoed: some 32,000 tokens of chat.
    let long = "tide ".repeat(1_000);
    for i in 0..16 {
        let reply = me.send(&format!("{i} {long}"), "gemma").await;
        assert_eq!(reply.status, 200, "turn {i}: {}", reply.body);
    }
    let last = model.requests("gemma").last().cloned().expect("a request");
    let messages = last["messages"].as_array().expect("messages");
    let words: usize = messages
        .iter()
        .map(|m| {
            m["content"]
                .as_str()
                .unwrap_or("")
                .split_whitespace()
                .count()
        })
        .sum();
    assert!(words + 1024 <= 16_384, "{words} words sent");
    assert!(messages.len() >= 3, "history kept where it fits");
    assert!(messages
        .last()
        .and_then(|m| m["content"].as_str())
        .is_some_and(|t| t.starts_with("15 ")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_too_long_for_the_context_is_refused_before_any_model_call() {
    let model = standin::start(0).await;
    model.set(
        "gemma",
        Behaviour {
            max_model_len: Some(4_096),
            ..Behaviour::default()
        },
    );
    let (_dir, model, server) = Stack::start_on(
        model,
        &[
            ("MODEL_PROBE_INTERVAL_SECS", "0.2"),
            ("RUST_LOG", CONTEXT_LOG),
        ],
    )
    .await
    .into_parts();
    wait_for_context(&server).await;
    let mut me = Visitor::new(&server);
    // By the high estimate neither fits; by vLLM's exact count the first does.
    let fits = "sea ".repeat(2_500);
    let reply = send_at(&mut me, &fits, "gemma", 1_024).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let calls = model.requests("gemma").len();
    let too_long = "sea ".repeat(4_000);
    let reply = send_at(&mut me, &too_long, "gemma", 1_024).await;
    assert_eq!(reply.json(), json!({"Model": {"ContextTooLong": "gemma"}}));
    assert_eq!(model.requests("gemma").len(), calls, "no model call");
    // The words are kept, and the page says what to do.
    let rows = testkit::turn_rows(&server.sqlite_path(), &me.session());
    let last = rows.last().expect("kept");
    assert_eq!(
        (last.2.trim(), last.3.as_str()),
        (too_long.trim(), "failed")
    );
    let page = me.get(&format!("/c/{}", me.session())).await;
    assert!(page.body.contains("context window"));
}

/// The new-chat page once it says `words` (a background probe's finding), within 10 s.
pub(crate) async fn page_once_it_says(me: &mut Visitor, words: &str) -> testkit::Reply {
    for _ in 0..200 {
        let page = me.get("/").await;
        if page.body.contains(words) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the page never said {words:?}");
}

/// Logs enough to see the vLLM backend read the served context length.
pub(crate) const CONTEXT_LOG: &str = "warn,server::backends::vllm=info";

/// Waits until the server has read the stand-in's context length (its probe logs it).
pub(crate) async fn wait_for_context(server: &Server) {
    for _ in 0..100 {
        if server.log().contains("served context length") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server never read max_model_len: {}", server.log());
}
