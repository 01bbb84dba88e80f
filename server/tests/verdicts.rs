//! Verdicts and the Models page, through the real binary on SQLite and on Firestore (Google's
//! emulator): a pair (both models' answers to one message) can be judged, rejudged and taken
//! back, the Models page counting along; each reply's figures (replies, latency, tokens,
//! failures) are counted per owner; an operator sees everyone's; nobody can judge what is not
//! a pair, or someone else's chat.

use serde_json::json;
use testkit::form::SendForm;
use testkit::standin::{Behaviour, Fault};
use testkit::{Emulator, Stack, Visitor};

/// The text of the cell `figure` in `model`'s row of the section `section` of the Models page.
fn cell(page: &str, section: &str, model: &str, figure: &str) -> String {
    let start = page
        .find(&format!(r#"data-figures="{section}""#))
        .unwrap_or_else(|| panic!("no {section} section in {page}"));
    let section = &page[start..];
    let section = &section[..section.find("</section>").unwrap_or(section.len())];
    let needle = format!(r#"data-model="{model}""#);
    // The replies table first, then the verdicts table: the row holding the figure.
    let row = section
        .match_indices(&needle)
        .map(|(i, _)| &section[i..])
        .find(|row| {
            row[..row.find("</tr>").unwrap_or(row.len())]
                .contains(&format!(r#"data-figure="{figure}""#))
        })
        .unwrap_or_else(|| panic!("no {figure} for {model} in {section}"));
    let at = row
        .find(&format!(r#"data-figure="{figure}">"#))
        .expect("cell")
        + figure.len()
        + 15;
    row[at..row[at..].find('<').map_or(row.len(), |e| at + e)].to_string()
}

fn judge<'a>(chat: &'a str, seq: &'a str, verdict: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("chat", chat), ("seq", seq), ("verdict", verdict)]
}

async fn verdicts(env: &[(&str, &str)]) {
    let mut env = env.to_vec();
    env.push(("OPERATORS", "*"));
    let (_dir, model, server) = Stack::start(&env).await.into_parts();
    let mut me = Visitor::new(&server);

    // A pair, then a turn only Gemma answered, then one Gemma failed.
    let both = me
        .call(
            "/api/compare",
            &SendForm::new("one two three").without("model").fields(),
        )
        .await;
    assert_eq!(both.status, 200, "{}", both.body);
    let chat = me.session();
    assert_eq!(me.send("four five", "gemma").await.status, 200);
    model.set("gemma", Behaviour::fault(Fault::Status500));
    assert_eq!(me.send("six", "gemma").await.status, 502);
    model.set("gemma", Behaviour::default());

    let page = me.get("/models").await.body;
    assert_eq!(cell(&page, "yours", "gemma", "replies"), "2");
    assert_eq!(cell(&page, "yours", "gemini", "replies"), "1");
    // "Echo: one two three" and "Echo: four five": 4 and 3 words.
    assert_eq!(cell(&page, "yours", "gemma", "tokens"), "4", "{page}");
    assert_eq!(cell(&page, "yours", "gemma", "errors"), "33 %");
    assert_eq!(cell(&page, "yours", "gemini", "errors"), "0 %");
    assert_eq!(cell(&page, "yours", "gemma", "median"), "0–0.25 s");
    assert!(page.contains("No side-by-side answers judged yet."));

    // The pair carries the form; judged, it shows the verdict pressed and is counted.
    let chat_page = me.get(&format!("/c/{chat}")).await.body;
    assert_eq!(
        chat_page.matches(r#"action="/api/verdict""#).count(),
        1,
        "{chat_page}"
    );
    let r = me.call("/api/verdict", &judge(&chat, "0", "gemma")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let chat_page = me.get(&format!("/c/{chat}")).await.body;
    assert!(chat_page.contains(r#"value="none" class="secondary" aria-pressed="true">Gemma<"#));
    let page = me.get("/models").await.body;
    assert_eq!(
        [
            cell(&page, "yours", "gemma", "wins"),
            cell(&page, "yours", "gemma", "ties"),
            cell(&page, "yours", "gemma", "losses"),
            cell(&page, "yours", "gemini", "wins"),
        ],
        ["1", "0", "0", "0"]
    );
    // Rejudged (without JavaScript: a form post back to the chat), the count moves.
    let r = me
        .post_form("/api/verdict", &judge(&chat, "0", "tie"))
        .await;
    assert_eq!(
        (r.status, r.location.as_deref()),
        (302, Some(format!("/c/{chat}").as_str()))
    );
    let page = me.get("/models").await.body;
    assert_eq!(cell(&page, "yours", "gemma", "wins"), "0");
    assert_eq!(cell(&page, "yours", "gemini", "ties"), "1");
    assert!(page.contains("in 1 judged pair<"), "{page}");

    // Not a pair, not a verdict, not a position: refused, nothing counted.
    let r = me.call("/api/verdict", &judge(&chat, "3", "gemma")).await;
    assert_eq!((r.status, r.json()), (400, json!({"Input": "NotAPair"})));
    let r = me.call("/api/verdict", &judge(&chat, "0", "gpt")).await;
    assert_eq!((r.status, r.json()), (400, json!({"Input": "BadVerdict"})));
    let r = me.call("/api/verdict", &judge(&chat, "1", "gemma")).await;
    assert_eq!(r.status, 400, "a reply is not a turn: {}", r.body);
    let r = me
        .call("/api/verdict", &judge(&chat, "first", "gemma"))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // Someone else: cannot judge it, sees none of it as theirs, but (an operator here) sees
    // everyone's, theirs and mine summed.
    let mut stranger = Visitor::new(&server);
    stranger.get("/").await;
    let r = stranger
        .call("/api/verdict", &judge(&chat, "0", "gemini"))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(stranger.send("hello", "gemini").await.status, 200);
    let page = stranger.get("/models").await.body;
    assert_eq!(cell(&page, "yours", "gemma", "replies"), "0");
    assert_eq!(cell(&page, "yours", "gemini", "replies"), "1");
    assert_eq!(cell(&page, "everyone", "gemini", "replies"), "2");
    assert_eq!(cell(&page, "everyone", "gemma", "replies"), "2");
    assert_eq!(cell(&page, "everyone", "gemma", "ties"), "1");

    // Taken back: no verdict, none counted.
    let r = me.call("/api/verdict", &judge(&chat, "0", "none")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let page = me.get("/models").await.body;
    assert!(page.contains("No side-by-side answers judged yet."));
    let chat_page = me.get(&format!("/c/{chat}")).await.body;
    assert!(!chat_page.contains(r#"aria-pressed="true""#));
    // The export keeps the verdict with the message (JSON); none now.
    let exported = me.get(&format!("/export/{chat}.json")).await.body;
    assert!(!exported.contains("\"verdict\": \""), "{exported}");
    let r = me.call("/api/verdict", &judge(&chat, "0", "gemini")).await;
    assert_eq!(r.status, 200);
    let exported = me.get(&format!("/export/{chat}.json")).await.body;
    assert!(exported.contains("\"verdict\": \"gemini\""), "{exported}");
    let md = me.get(&format!("/export/{chat}.md")).await.body;
    assert!(
        md.contains("_Your verdict on the answers below: Gemini's is better._"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verdicts_and_figures_on_sqlite() {
    verdicts(&[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verdicts_and_figures_on_firestore() {
    let emulator = Emulator::start().await;
    let env = emulator.server_env("hybrid-chat-verdicts");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    verdicts(&env).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_operators_see_everyones_figures() {
    let (_dir, _model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("hi", "gemma").await.status, 200);
    let page = me.get("/models").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"data-figures="yours""#));
    assert!(
        !page.body.contains(r#"data-figures="everyone""#),
        "{}",
        page.body
    );
    // A browser that never opened a chat: empty figures, no error.
    let page = testkit::http()
        .build()
        .expect("client")
        .get(format!("{}/models", server.url))
        .send()
        .await
        .expect("GET");
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap_or_default();
    assert!(
        body.contains("No side-by-side answers judged yet."),
        "{body}"
    );
}
