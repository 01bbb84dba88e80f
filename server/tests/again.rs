//! Asking the last turn again, through the real binary on SQLite and on Firestore (Google's
//! emulator): Regenerate, the other model and both add replies to the same user message; later
//! turns send the newest reply of the model they ask; "Ask both" keeps the answer that came when
//! the other model fails, and that model can be asked again; a failed turn can be asked of the
//! other model; Continue follows a cut-off reply; only the last turn can be asked again; and the
//! last message can be edited and sent again, the old one kept but out of every prompt.

use serde_json::{json, Value};
use testkit::form::SendForm;
use testkit::standin::{Behaviour, Fault};
use testkit::{Emulator, Stack, Visitor};

fn again<'a>(chat: &'a str, seq: &'a str, model: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("chat", chat), ("seq", seq), ("model", model)]
}

fn texts(turn: &Value) -> Vec<String> {
    turn["replies"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    format!(
                        "{}: {}",
                        r["model"].as_str().unwrap_or(""),
                        r["text"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The history a backend was last sent, as texts.
fn last_prompt(model: &testkit::StandIn, backend: &str) -> String {
    model
        .requests(backend)
        .last()
        .expect("a request")
        .to_string()
}

async fn asks_again(env: &[(&str, &str)]) {
    let (_dir, model, server) = Stack::start(env).await.into_parts();
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("q1", "gemma").await.status, 200);
    let chat = me.session();

    // Regenerate, another model, both: each adds to the same user message.
    model.set("gemma", Behaviour::replying("gemma, second try"));
    let r = me.call("/api/ask_again", &again(&chat, "0", "gemma")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["user"]["seq"], 0);
    assert_eq!(texts(&r.json()), ["gemma: gemma, second try"]);
    let r = me
        .call("/api/ask_again", &again(&chat, "0", "gemini"))
        .await;
    assert_eq!(texts(&r.json()), ["gemini: Gemini echo: q1"]);
    model.set("gemma", Behaviour::replying("gemma, third try"));
    let r = me.call("/api/ask_again", &again(&chat, "0", "both")).await;
    assert_eq!(
        texts(&r.json()),
        ["gemma: gemma, third try", "gemini: Gemini echo: q1"]
    );
    assert_eq!(r.json()["session"]["message_count"], 6);

    // The page shows them side by side, with the turn's actions (plain forms).
    let page = me.get(&format!("/c/{chat}")).await.body;
    assert_eq!(page.matches(r#"class="message model""#).count(), 5);
    assert!(page.contains(r#"action="/api/ask_again""#));
    assert!(
        page.contains(r#"value="both""#)
            && page.contains(">Regenerate<")
            && page.contains(">Both models<")
    );

    // The next turn sends the newest reply of the model it asks.
    model.set("gemma", Behaviour::default());
    assert_eq!(me.send("q2", "gemma").await.status, 200);
    let prompt = last_prompt(&model, "gemma");
    assert!(prompt.contains("gemma, third try"), "{prompt}");
    assert!(
        !prompt.contains("second try") && !prompt.contains("Echo: q1"),
        "{prompt}"
    );

    // The page carries the actions of the last turn and the Edit of the last message only.
    let page = me.get(&format!("/c/{chat}")).await.body;
    assert_eq!(page.matches(r#"action="/api/ask_again""#).count(), 1);
    assert_eq!(page.matches("?edit=").count(), 1);
    assert!(page.contains("?edit=6"), "{page}");

    // Only the last turn can be asked again; bad input is refused; strangers see nothing.
    let r = me
        .call("/api/ask_again", &again(&chat, "0", "gemini"))
        .await;
    assert_eq!((r.status, r.json()), (409, json!({"Store": "NotLastTurn"})));
    for (seq, m, status) in [
        ("x", "gemma", 400),
        ("6", "gpt-4", 400),
        ("99", "gemma", 409),
    ] {
        let r = me.call("/api/ask_again", &again(&chat, seq, m)).await;
        assert_eq!(r.status, status, "{seq} {m}: {}", r.body);
    }
    let mut stranger = Visitor::new(&server);
    let r = stranger
        .call("/api/ask_again", &again(&chat, "6", "gemma"))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let export = me.get(&format!("/export/{chat}.md")).await.body;
    for text in [
        "gemma, second try",
        "gemma, third try",
        "Gemini echo: q1",
        "Echo: q2",
    ] {
        assert!(export.contains(text), "{text} in {export}");
    }

    // Ask both with Gemini failing: Gemma's answer is kept, with Gemini's error, and Gemini
    // can be asked again for just its answer.
    model.set("gemini", Behaviour::fault(Fault::Status500));
    let both = me
        .call(
            "/api/compare",
            &SendForm::new("q3").without("model").fields(),
        )
        .await;
    assert_eq!(both.status, 200, "{}", both.body);
    assert_eq!(texts(&both.json()), ["gemma: Echo: q3"]);
    assert_eq!(
        both.json()["user"]["error"]["Model"]["BackendError"],
        "gemini"
    );
    let seq = both.json()["user"]["seq"].to_string();
    model.set("gemini", Behaviour::default());
    let r = me
        .call("/api/ask_again", &again(&chat, &seq, "gemini"))
        .await;
    assert_eq!(texts(&r.json()), ["gemini: Gemini echo: q3"]);
    assert!(r.json()["user"].get("error").is_none(), "{}", r.body);

    // A failed turn asked of the other model, without JavaScript: a form post, then the page.
    model.set("gemma", Behaviour::fault(Fault::Status500));
    let failed = me.send("q4", "gemma").await;
    assert_eq!(failed.status, 502, "{}", failed.body);
    let page = me.get(&format!("/c/{chat}")).await.body;
    assert!(
        page.contains("Ask Gemma again"),
        "a failed turn offers to ask again"
    );
    // q1 and its five replies, q2 and one, q3 and two: q4 is at 11.
    let posted = me
        .post_form("/api/ask_again", &again(&chat, "11", "gemini"))
        .await;
    assert_eq!(posted.status, 302, "{}", posted.body);
    let page = me.get_settled(&format!("/c/{chat}")).await.body;
    assert!(page.contains("Gemini echo: q4"), "{page}");

    // Continue after a cut-off reply: a form on the reply, which sends it on to the same model.
    model.set("gemma", Behaviour::fault(Fault::CutOff).once());
    assert_eq!(me.send("write a lot", "gemma").await.status, 200);
    let page = me.get(&format!("/c/{chat}")).await.body;
    let words = app::components::turn_actions::CONTINUE;
    assert!(page.contains(&format!(r#"value="{words}""#)), "{page}");
    let cont = SendForm::new(words).set("turn", "continue-00000000000001");
    assert_eq!(me.post_form("/api/send", &cont.fields()).await.status, 302);
    let page = me.get_settled(&format!("/c/{chat}")).await.body;
    assert!(page.contains(&format!("Echo: {words}")));
    let prompt = last_prompt(&model, "gemma");
    assert!(
        prompt.contains("write a lot") && prompt.contains(words),
        "{prompt}"
    );

    // Edit and resend the last message (Continue, at 15): the new turn replaces it; the old one
    // stays in the chat and the export, marked, and out of every prompt.
    let edited = me
        .send_form(&SendForm::new("keep it short").set("edits", "15"))
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(edited.json()["user"]["seq"], 17);
    let prompt = last_prompt(&model, "gemma");
    assert!(
        prompt.contains("write a lot") && !prompt.contains(words),
        "{prompt}"
    );
    let page = me.get(&format!("/c/{chat}")).await.body;
    assert!(page.contains(r#"data-status="replaced""#), "{page}");
    let export = me.get(&format!("/export/{chat}.md")).await.body;
    assert!(
        export.contains(&format!(
            "{words}\n\n_Edited: the message after it replaced this one._"
        )),
        "{export}"
    );
    // Only the last message can be edited; garbage is refused; nothing is stored for either.
    let r = me.send_form(&SendForm::new("x").set("edits", "13")).await;
    assert_eq!((r.status, r.json()), (409, json!({"Store": "NotLastTurn"})));
    let r = me.send_form(&SendForm::new("x").set("edits", "last")).await;
    assert_eq!(r.status, 400, "{}", r.body);

    // Without JavaScript: the Edit link puts the words in the message box, and the form carries
    // the message it replaces; an earlier message's link does nothing.
    let page = me.get(&format!("/c/{chat}?edit=17")).await.body;
    assert!(page.contains(">keep it short</textarea>"), "{page}");
    assert!(page.contains(r#"name="edits" value="17""#));
    let page = me.get(&format!("/c/{chat}?edit=13")).await.body;
    assert!(page.contains(r#"name="edits" value="""#) && !page.contains(">write a lot</textarea>"));
    let form = SendForm::new("shorter still").set("edits", "17");
    assert_eq!(me.post_form("/api/send", &form.fields()).await.status, 302);
    let page = me.get_settled(&format!("/c/{chat}")).await.body;
    assert!(page.contains("Echo: shorter still"));
    assert_eq!(page.matches(r#"data-status="replaced""#).count(), 2);
    let prompt = last_prompt(&model, "gemma");
    assert!(!prompt.contains("keep it short"), "{prompt}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_turn_asked_again_on_sqlite() {
    asks_again(&[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_turn_asked_again_on_firestore() {
    let emulator = Emulator::start().await;
    let env = emulator.server_env("hybrid-chat-again");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    asks_again(&env).await;
}
