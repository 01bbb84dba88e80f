//! The models as they really behave, against stand-ins as strict as the services: Gemini thinks
//! by default and its thinking counts against `maxOutputTokens`; every finish reason is told
//! apart after a reload and in the export; transient failures are retried once; an operator's
//! mistake reads "not set up"; Gemma's prompts fit the served context.

use serde_json::{json, Value};
use testkit::standin::{self, vertex::DEFAULT_THINKING, Behaviour, Fault};
use testkit::{metric, stored_messages, SendForm, Server, Stack, Visitor};

async fn started(extra_env: &[(&str, &str)]) -> (testkit::TempDir, standin::StandIn, Server) {
    let (dir, model, server) = Stack::start(extra_env).await.into_parts();
    server.wait_for_gemini().await;
    (dir, model, server)
}

#[path = "models_as_they_behave/context.rs"]
mod context;

use context::page_once_it_says;

async fn send_at(me: &mut Visitor, text: &str, model: &str, max_tokens: u32) -> testkit::Reply {
    let form = SendForm::new(text).model(model).max_tokens(max_tokens);
    me.send_form(&form).await
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_answers_whole_at_small_max_tokens_with_thinking_on_auto_and_off() {
    // (The app's countTokens probe is recorded apart from generations: "gemini_count".)
    for (thinking, budget, thought) in [("auto", -1, DEFAULT_THINKING), ("off", 0, 0)] {
        let (_dir, model, server) = started(&[("GEMINI_THINKING", thinking)]).await;
        let mut me = Visitor::new(&server);
        for max_tokens in [64u32, 256] {
            let text = format!("explain tides in {max_tokens} tokens");
            let reply = send_at(&mut me, &text, "gemini", max_tokens).await;
            assert_eq!(reply.status, 200, "{thinking} {max_tokens}: {}", reply.body);
            let answer = &reply.json()["replies"][0];
            assert_eq!(answer["text"], format!("Gemini echo: {text}"));
            assert_eq!(answer["cut_off"], Value::Null, "a whole answer");
            let sent = model.requests("gemini").last().cloned().expect("a request");
            let allowance = if thinking == "auto" { 8_192 } else { 0 };
            assert_eq!(
                sent["generationConfig"]["maxOutputTokens"],
                max_tokens + allowance
            );
            assert_eq!(
                sent["generationConfig"]["thinkingConfig"],
                json!({ "thinkingBudget": budget })
            );
        }
        // Thinking tokens are kept with the reply and shown under it, after a reload too.
        let rows = testkit::rows::usage_rows(&server.sqlite_path(), &me.session());
        let thinking_tokens: Vec<i64> = rows.iter().map(|r| r.thinking_tokens).collect();
        assert_eq!(
            thinking_tokens,
            [thought as i64, thought as i64],
            "{thinking}"
        );
        let page = me.get(&format!("/c/{}", me.session())).await;
        let shown = format!("{thought} thinking tokens");
        assert_eq!(
            page.body.contains(&shown),
            thought > 0,
            "{thinking}: {shown}"
        );
        let export = me.get(&format!("/export/{}.md", me.session())).await;
        assert_eq!(export.body.contains(&shown), thought > 0, "{thinking}");
        // Billed as output: counted on /models (answer + thinking per reply) and in the metrics.
        let answer_tokens = "Gemini echo: explain tides in 64 tokens".split(' ').count();
        let models = me.get("/models").await.body;
        let row = models
            .split(r#"<tr data-model="gemini">"#)
            .nth(1)
            .expect("a Gemini row");
        let per_reply = format!(
            r#"<td data-figure="tokens">{}</td>"#,
            answer_tokens + thought as usize
        );
        assert!(row.contains(&per_reply), "{thinking}: {per_reply} in {row}");
        let metrics = me.get("/metrics").await.body;
        assert_eq!(
            metric(
                &metrics,
                r#"hybrid_chat_model_tokens_total{model="gemini",kind="thinking"}"#
            ),
            2.0 * thought as f64
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn thinking_that_outgrows_its_allowance_is_out_of_tokens_and_a_budget_caps_it() {
    // A budget of 512 when the model would think 2,000: it stops at 512, and the answer fits.
    let model = standin::start(0).await;
    model.set("gemini", Behaviour::default().thinking(2_000));
    let (_dir, model, server) = Stack::start_on(model, &[("GEMINI_THINKING", "512")])
        .await
        .into_parts();
    server.wait_for_gemini().await;
    let mut me = Visitor::new(&server);
    let reply = send_at(&mut me, "a hard question", "gemini", 64).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let sent = &model.requests("gemini")[0]["generationConfig"];
    assert_eq!(sent["maxOutputTokens"], 64 + 512);
    assert_eq!(sent["thinkingConfig"]["thinkingBudget"], 512);
    let rows = testkit::rows::usage_rows(&server.sqlite_path(), &me.session());
    assert_eq!(rows[0].thinking_tokens, 512);
}

/// Vertex's finish and block reasons, each with the words the page must show for it.
const REFUSALS: &[(&str, &str)] = &[
    ("SAFETY", "its safety filters flagged it"),
    (
        "RECITATION",
        "repeated existing text too closely (recitation)",
    ),
    ("BLOCKLIST", "a term on a blocklist"),
    ("PROHIBITED_CONTENT", "prohibited content"),
    ("SPII", "sensitive personal information"),
    ("IMAGE_SAFETY", "an image in it was flagged"),
    ("MODEL_ARMOR", "Model Armor policy"),
    ("LANGUAGE", "a language the model does not support"),
    ("MALFORMED_FUNCTION_CALL", "malformed tool call"),
    ("OTHER", "for a reason the model did not give"),
    (
        "SOMETHING_GOOGLE_ADDS_NEXT_YEAR",
        "for a reason the model did not give",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_finish_reason_is_stored_and_worded_as_what_it_is_after_a_reload() {
    let (_dir, model, server) = started(&[]).await;
    for (reason, words) in REFUSALS {
        let mut me = Visitor::new(&server);
        model.set("gemini", Behaviour::default());
        assert_eq!(me.send("hello", "gemini").await.status, 200);
        model.set("gemini", Behaviour::finishing(reason));
        let reply = me.send("tell me something", "gemini").await;
        assert_eq!(reply.status, 422, "{reason}: {}", reply.body);
        let said = reply.json()["Model"]["Blocked"].clone();
        assert_eq!(said["what"], "reply", "{reason}");
        let page = me.get(&format!("/c/{}", me.session())).await;
        assert!(
            page.body.contains(words) && page.body.contains("Not answered: "),
            "{reason}: the page after a reload lacks {words:?}"
        );
        // Nothing asks for more tokens, and a recitation is not called a safety filter.
        assert!(!page.body.contains("Raise Max tokens"), "{reason}");
        if *reason != "SAFETY" {
            assert!(!page.body.contains("safety filters"), "{reason}");
        }
        let export = me.get(&format!("/export/{}.md", me.session())).await;
        assert!(export.body.contains(words), "{reason}: export");
        let rows = testkit::turn_rows(&server.sqlite_path(), &me.session());
        let code = rows.last().and_then(|r| r.4.clone()).unwrap_or_default();
        assert!(code.starts_with("model.blocked_reply.gemini."), "{code}");
    }
    model.set("gemini", Behaviour::default());

    // Running out of tokens is the one case that says to raise Max tokens.
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("hello", "gemini").await.status, 200);
    model.set("gemini", Behaviour::fault(Fault::MaxTokensNoText));
    let reply = me.send("think hard", "gemini").await;
    assert_eq!(
        reply.json(),
        json!({"Model": {"OutOfTokens": {"model": "gemini"}}})
    );
    let page = me.get(&format!("/c/{}", me.session())).await;
    assert!(page.body.contains("Raise Max tokens"));
    // Nothing came, but the thinking was billed: kept with the failed message, and counted.
    let conn = rusqlite::Connection::open(server.sqlite_path()).expect("db");
    let (thinking, total): (i64, i64) = conn
        .query_row(
            "SELECT thinking_tokens, total_tokens FROM messages WHERE session_id = ?1 AND status = 'failed'",
            [me.session()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the failed message keeps its usage");
    assert_eq!(thinking, 1024 + 8192, "all it was allowed");
    assert!(total >= thinking);
    let metrics = me.get("/metrics").await.body;
    assert!(
        metric(
            &metrics,
            r#"hybrid_chat_model_tokens_total{model="gemini",kind="thinking"}"#
        ) >= (1024 + 8192) as f64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vllm_abort_is_a_failure_not_a_reply() {
    let (_dir, model, server) = started(&[]).await;
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("first", "gemma").await.status, 200);
    model.set("gemma", Behaviour::fault(Fault::Abort));
    let reply = me.send("hello", "gemma").await;
    assert_eq!(reply.json(), json!({"Model": {"Aborted": "gemma"}}));
    assert_eq!(
        stored_messages(&server.sqlite_path(), &me.session()).len(),
        2,
        "no reply kept for the aborted turn"
    );
    let page = me.get(&format!("/c/{}", me.session())).await;
    assert!(page.body.contains("the server aborted it"), "{}", page.body);
    let rows = testkit::turn_rows(&server.sqlite_path(), &me.session());
    let last = rows.last().expect("the aborted message");
    assert_eq!(
        (last.2.as_str(), last.3.as_str(), last.4.as_deref()),
        ("hello", "failed", Some("model.aborted.gemma"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_failures_are_retried_once_and_counted() {
    let (_dir, model, server) = started(&[]).await;
    let mut me = Visitor::new(&server);
    let retries = |metrics: &str, m: &str| {
        metric(
            metrics,
            &format!(r#"hybrid_chat_model_retries_total{{model="{m}"}}"#),
        )
    };
    let cases = [
        ("gemini", Behaviour::fault(Fault::Status429).once()),
        (
            "gemini",
            Behaviour::fault(Fault::Status503).once().retry_after(1),
        ),
        ("gemini", Behaviour::fault(Fault::Internal).once()),
        ("gemma", Behaviour::fault(Fault::Status503).once()),
    ];
    for (i, (backend, behaviour)) in cases.into_iter().enumerate() {
        let before = model.requests(backend).len();
        let was = retries(&me.get("/metrics").await.body, backend);
        model.set(backend, behaviour);
        let started = std::time::Instant::now();
        let reply = me.send(&format!("try {i}"), backend).await;
        assert_eq!(reply.status, 200, "{backend} {i}: {}", reply.body);
        assert_eq!(model.requests(backend).len(), before + 2, "one retry");
        assert_eq!(retries(&me.get("/metrics").await.body, backend), was + 1.0);
        if i == 1 {
            assert!(
                started.elapsed().as_millis() >= 1_000,
                "Retry-After honoured"
            );
        }
    }
    // Always failing: one retry, then the person is told it is busy.
    let before = model.requests("gemini").len();
    model.set("gemini", Behaviour::fault(Fault::Status429));
    let reply = me.send("again", "gemini").await;
    assert_eq!(reply.json(), json!({"Model": {"Busy": "gemini"}}));
    assert_eq!(model.requests("gemini").len(), before + 2);
    // A 500 that does not say it is transient (a crashed proxy's HTML) is not retried.
    model.set("gemini", Behaviour::fault(Fault::Status500));
    let before = model.requests("gemini").len();
    let reply = me.send("once more", "gemini").await;
    assert_eq!(reply.json(), json!({"Model": {"BackendError": "gemini"}}));
    assert_eq!(model.requests("gemini").len(), before + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retired_gemini_model_shows_before_anyone_sends_and_reads_not_set_up() {
    let (_dir, model, server) = Stack::start(&[("VERTEX_MODEL", "gemini-1.0-pro")])
        .await
        .into_parts();
    let mut me = Visitor::new(&server);
    // The free countTokens probe at start-up finds it: no turn needed.
    let page = page_once_it_says(&mut me, "Vertex AI refused model gemini-1.0-pro").await;
    assert!(
        page.body.contains(r#"<option value="gemini" disabled"#),
        "the picker marks Gemini unavailable"
    );
    assert!(model.requests("gemini").is_empty(), "before any send");
    // A send anyway (an API caller) reads the same.
    let reply = me.send("hi", "gemini").await;
    assert_eq!(reply.json(), json!({"Model": {"NotConfigured": "gemini"}}));
    // Google's own words are in the operator's log, not on the page.
    assert!(server.log().contains("was not found"), "{}", server.log());
    assert!(!page.body.contains("was not found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn thinking_is_chosen_per_chat_without_javascript_and_stays_with_the_chat() {
    let (_dir, model, server) = started(&[]).await;
    let mut me = Visitor::new(&server);
    let page = me.get("/").await;
    // A new chat starts on the server's default.
    assert!(
        page.body.contains(r#"<option value="auto" selected"#),
        "{}",
        page.body
    );

    // Chat A, thinking off, by a plain form post (no JavaScript).
    let form = SendForm::new("chat a")
        .model("gemini")
        .set("thinking", "off");
    let redirect = me.post_form("/api/send", &form.fields()).await;
    let back = redirect.location.expect("a plain post is redirected back");
    // The reply comes in its own task: the page follows it until it is there.
    me.get_settled(back.trim_start_matches(&server.url)).await;
    let chat_a = me.session();
    assert_eq!(
        model.requests("gemini")[0]["generationConfig"]["thinkingConfig"]["thinkingBudget"],
        0
    );
    // Chat B, a budget (another browser: a chat of its own).
    let mut other = Visitor::new(&server);
    let form = SendForm::new("chat b")
        .model("gemini")
        .set("thinking", "4096");
    assert_eq!(other.send_form(&form).await.status, 200);
    let chat_b = other.session();
    assert_ne!(chat_a, chat_b);
    assert_eq!(
        model.requests("gemini")[1]["generationConfig"],
        json!({"temperature": 0.9, "topP": 0.95, "maxOutputTokens": 1024 + 4096,
               "thinkingConfig": {"thinkingBudget": 4096}})
    );
    // Each chat's page shows its own, after a reload.
    let a = me.get(&format!("/c/{chat_a}")).await;
    assert!(a.body.contains(r#"<option value="off" selected"#));
    let b = other.get(&format!("/c/{chat_b}")).await;
    assert!(b.body.contains(r#"<option value="4096" selected"#));
    // And it is stored with the chat's messages.
    let conn = rusqlite::Connection::open(server.sqlite_path()).expect("db");
    let stored: String = conn
        .query_row(
            "SELECT thinking FROM messages WHERE session_id = ?1 AND seq = 0",
            [&chat_a],
            |r| r.get(0),
        )
        .expect("row");
    assert_eq!(stored, "off");

    // A value out of range is refused with words, and nothing reaches the model.
    let before = model.requests("gemini").len();
    let form = SendForm::new("x").model("gemini").set("thinking", "99999");
    let reply = me.send_form(&form).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        json!({"Input": {"OutOfRange": {"field": "Thinking", "min": 0.0, "max": 24576.0}}})
    );
    assert_eq!(model.requests("gemini").len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_served_model_name_vllm_does_not_know_reads_not_set_up() {
    let (_dir, model, server) = Stack::start(&[("VLLM_MODEL", "google/gemma-9-xl")])
        .await
        .into_parts();
    let mut me = Visitor::new(&server);
    // The probe's look at /v1/models tells before anyone sends.
    page_once_it_says(
        &mut me,
        "its vLLM serves google/gemma-3-12b-it, not google/gemma-9-xl (VLLM_MODEL)",
    )
    .await;
    // A send anyway (an API caller): "not set up", refused before any model call; the operator
    // reads the names in the log. (vLLM's own 404 for it is worded the same: vllm/tests.rs.)
    let reply = me.send("hi", "gemma").await;
    assert_eq!(reply.json(), json!({"Model": {"NotConfigured": "gemma"}}));
    assert_eq!(model.requests("gemma").len(), 0);
    assert!(
        server.log().contains("vLLM does not serve VLLM_MODEL"),
        "{}",
        server.log()
    );
}
