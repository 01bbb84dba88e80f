//! A chat's own system prompt, through the real binary on SQLite and on Firestore (Google's
//! emulator): set from the chat's header (with and without JavaScript), also before the first
//! message; sent to both models in place of the server's `SYSTEM_PROMPT`; shown in the header;
//! exported; refused when too long or not the caller's chat, with nothing changed.

use serde_json::{json, Value};
use testkit::{Emulator, Stack, Visitor};

const SHOWN: &str = r#"<span class="system-prompt-text">"#;

fn gemma_system(model: &testkit::StandIn) -> Value {
    let sent = model.requests("gemma").last().cloned().expect("a request");
    sent["messages"][0].clone()
}

fn gemini_system(model: &testkit::StandIn) -> Value {
    let sent = model.requests("gemini").last().cloned().expect("a request");
    sent["systemInstruction"]["parts"][0]["text"].clone()
}

async fn system_prompts(env: &[(&str, &str)]) {
    let mut env = env.to_vec();
    env.push(("SYSTEM_PROMPT", "Server says hi."));
    let (_dir, model, server) = Stack::start(&env).await.into_parts();
    let mut me = Visitor::new(&server);

    // A new chat names the server's prompt; set there without JavaScript, it creates the chat
    // (no messages yet) and the page goes to it, showing it.
    let page = me.get("/").await.body;
    assert!(
        page.contains(&format!("{SHOWN}the server's default</span>")),
        "{page}"
    );
    assert!(page.contains("the server's: “Server says hi.”"));
    let r = me
        .post_form(
            "/api/system_prompt",
            &[("chat", ""), ("prompt", "  Talk like a pirate.  ")],
        )
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let chat = me.session();
    let page = me.get(&format!("/c/{chat}")).await.body;
    assert!(
        page.contains(&format!("{SHOWN}Talk like a pirate.</span>")),
        "{page}"
    );
    assert!(page.contains(">Talk like a pirate.</textarea>"));

    // Both models are told it; the first message still names the chat.
    let r = me.send("where is the treasure", "gemma").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["session"]["title"], "where is the treasure");
    assert_eq!(r.json()["session"]["system_prompt"], "Talk like a pirate.");
    assert_eq!(
        gemma_system(&model),
        json!({"role": "system", "content": "Talk like a pirate."})
    );
    assert_eq!(me.send("and the map", "gemini").await.status, 200);
    assert_eq!(gemini_system(&model), "Talk like a pirate.");

    // Changed as the page's script would; the export holds it.
    let r = me
        .call(
            "/api/system_prompt",
            &[("chat", &chat), ("prompt", "Be <terse>.")],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["system_prompt"].clone()),
        (200, json!("Be <terse>."))
    );
    assert_eq!(me.send("again", "gemma").await.status, 200);
    assert_eq!(gemma_system(&model)["content"], "Be <terse>.");
    let page = me.get(&format!("/c/{chat}")).await.body;
    assert!(
        page.contains(&format!("{SHOWN}Be &lt;terse&gt;.</span>")),
        "{page}"
    );
    let md = me.get(&format!("/export/{chat}.md")).await.body;
    assert!(md.contains("**System prompt:**\n\n> Be <terse>.\n"), "{md}");
    let exported: Value =
        serde_json::from_str(&me.get(&format!("/export/{chat}.json")).await.body).expect("json");
    assert_eq!(exported["system_prompt"], "Be <terse>.");

    // Too long: refused, nothing changed.
    let long = "a".repeat(4_001);
    let r = me
        .call("/api/system_prompt", &[("chat", &chat), ("prompt", &long)])
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("SystemPromptTooLong"), "{}", r.body);
    // Someone else's chat, or a forged id: no such chat, nothing changed.
    let mut stranger = Visitor::new(&server);
    stranger.get("/").await;
    for id in [chat.as_str(), "not-a-chat"] {
        let r = stranger
            .call("/api/system_prompt", &[("chat", id), ("prompt", "pwned")])
            .await;
        assert_eq!(r.status, 404, "{}", r.body);
    }
    let r = me
        .call(
            "/api/ask_again",
            &[("chat", &chat), ("seq", "4"), ("model", "gemma")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(gemma_system(&model)["content"], "Be <terse>.");

    // Blank: the server's prompt again, in the header, the models' requests and the export.
    let r = me
        .call("/api/system_prompt", &[("chat", &chat), ("prompt", "  ")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(me.send("last one", "gemma").await.status, 200);
    assert_eq!(gemma_system(&model)["content"], "Server says hi.");
    let page = me.get(&format!("/c/{chat}")).await.body;
    assert!(page.contains(&format!("{SHOWN}the server's default</span>")));
    let md = me.get(&format!("/export/{chat}.md")).await.body;
    assert!(
        md.contains("**System prompt (the server's):**\n\n> Server says hi.\n"),
        "{md}"
    );

    // A deleted chat is not brought back by setting its prompt.
    assert_eq!(
        me.call("/api/delete_session", &[("id", &chat)])
            .await
            .status,
        200
    );
    let r = me
        .call(
            "/api/system_prompt",
            &[("chat", &chat), ("prompt", "ghost")],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(me.get(&format!("/export/{chat}.md")).await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chat_has_its_own_system_prompt_on_sqlite() {
    system_prompts(&[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chat_has_its_own_system_prompt_on_firestore() {
    let emulator = Emulator::start().await;
    let env = emulator.server_env("hybrid-chat-system");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    system_prompts(&env).await;
}
