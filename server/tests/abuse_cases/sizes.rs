//! Texts within the character limits but heavy in bytes: 4-byte emoji in messages, system
//! prompts and chat names.

use super::stores::{Kind, Stand};
use super::Case;
use testkit::{Emulator, Visitor};

pub async fn emoji_texts(kind: Kind, emulator: &Emulator) -> Case {
    let stand = Stand::start(kind, emulator, "sizes", &[("TOKENS_PER_DAY", "1000000")]).await;
    let mut case = Case::new(format!("emoji-sized texts ({})", kind.label()));
    let mut me = Visitor::new(&stand.server);
    let first = me.send("an ordinary first message", "gemma").await;
    case.ordinary(first.status == 200, || {
        format!("first send: {}", first.status)
    });
    let chat = me.session();
    let calls = stand.model.requests("gemma").len();
    let charged = stand.counters("tokens-").await;

    let emoji = |n: usize| "😀".repeat(n);
    // 20,000 and 32,000 emoji are within the 32,000-character limit: 80 KB and 128 KB.
    for n in [20_000, 32_000] {
        let reply = me.send(&emoji(n), "gemma").await;
        case.attempt(
            reply.status == 400 && reply.body.contains("TooLarge"),
            || format!("{n} emoji sent: {} {}", reply.status, short(&reply.body)),
        );
    }
    let prompt = emoji(3_000);
    let reply = me
        .call(
            "/api/system_prompt",
            &[("chat", &chat), ("prompt", &prompt)],
        )
        .await;
    case.attempt(
        reply.status == 400 && reply.body.contains("TooLarge"),
        || {
            format!(
                "3,000-emoji system prompt: {} {}",
                reply.status,
                short(&reply.body)
            )
        },
    );
    let title = emoji(80);
    let reply = me
        .call("/api/rename_session", &[("id", &chat), ("title", &title)])
        .await;
    case.attempt(
        reply.status == 400 && reply.body.contains("TooLarge"),
        || format!("80-emoji name: {} {}", reply.status, short(&reply.body)),
    );

    // Nothing of them kept, sent or charged.
    let export = me.get(&format!("/export/{chat}.json")).await.json();
    let messages = export["messages"].as_array().map_or(0, Vec::len);
    case.require(messages == 2, || {
        format!("the chat holds {messages} messages, not 2")
    });
    let session = &export["session"];
    case.require(session["system_prompt"].is_null(), || {
        format!(
            "system prompt stored: {}",
            short(&session["system_prompt"].to_string())
        )
    });
    case.require(!session["title"].to_string().contains('😀'), || {
        "the emoji name was stored".into()
    });
    case.require(stand.model.requests("gemma").len() == calls, || {
        "a model was called".into()
    });
    let after = stand.counters("tokens-").await;
    case.require(after == charged, || {
        format!("tokens charged: {charged:?} → {after:?}")
    });
    // The largest message that is accepted still is.
    let largest = "é".repeat(32_000);
    let reply = me.send(&largest, "gemma").await;
    case.ordinary(reply.status == 200, || {
        format!("32,000 é (64,000 bytes): {}", reply.status)
    });
    case.cost = "0 tokens, 0 bytes stored; a message weighs ≤ 64,000 bytes".into();
    case
}

fn short(text: &str) -> String {
    text.chars().take(160).collect()
}
