//! Both models through the real server binary: Gemini on a Vertex AI stand-in with gcp_auth's
//! real service-account flow, the codelab's `/generate` Gemma, every fault, and the in-flight cap.

use serde_json::{json, Value};
use testkit::form::SendForm;
use testkit::standin::{self, Behaviour, Fault};
use testkit::{stored_messages, Server, Stack, Visitor};

async fn started(extra_env: &[(&str, &str)]) -> (testkit::TempDir, standin::StandIn, Server) {
    let (dir, model, server) = Stack::start(extra_env).await.into_parts();
    server.wait_for_gemini().await;
    (dir, model, server)
}

#[path = "models/compare.rs"]
mod compare;

#[tokio::test(flavor = "multi_thread")]
async fn gemini_answers_through_vertex_and_the_token_is_fetched_once() {
    let (_dir, model, server) = started(&[]).await;
    let mut me = Visitor::new(&server);
    for text in ["one", "two", "three"] {
        let reply = me.send(text, "gemini").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.json()["replies"][0]["text"],
            format!("Gemini echo: {text}")
        );
        assert_eq!(reply.json()["replies"][0]["model"], "gemini");
    }
    assert_eq!(
        model.tokens_issued(),
        1,
        "gcp_auth caches the token across requests"
    );

    let seen = model.requests("gemini");
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0]["_project"], "standin-project",
        "project from the key file"
    );
    assert_eq!(seen[0]["_location"], "global");
    assert_eq!(
        seen[2]["generationConfig"],
        json!({"temperature": 0.9, "topP": 0.95, "maxOutputTokens": 1024 + 8192,
               "thinkingConfig": {"thinkingBudget": -1}})
    );
    assert_eq!(seen[2]["contents"].as_array().map(Vec::len), Some(5));
    assert!(seen[0].get("systemInstruction").is_none());

    let conn = rusqlite::Connection::open(server.sqlite_path()).expect("db");
    let (model_name, total, finish): (String, i64, String) = conn
        .query_row(
            "SELECT model, total_tokens, finish_reason FROM messages WHERE session_id = ?1 AND seq = 1",
            [me.session()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("row");
    assert_eq!((model_name.as_str(), finish.as_str()), ("gemini", "STOP"));
    assert!(
        total > 40,
        "usageMetadata.totalTokenCount recorded (includes thinking)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn switching_models_carries_the_conversation_both_ways() {
    let (_dir, model, server) = started(&[("SYSTEM_PROMPT", "Answer briefly.")]).await;
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("hello gemma", "gemma").await.status, 200);
    assert_eq!(me.send("hello gemini", "gemini").await.status, 200);
    assert_eq!(me.send("back to gemma", "gemma").await.status, 200);

    let gemini = &model.requests("gemini")[0];
    assert_eq!(
        gemini["contents"],
        json!([
            {"role": "user", "parts": [{"text": "hello gemma"}]},
            {"role": "model", "parts": [{"text": "Echo: hello gemma"}]},
            {"role": "user", "parts": [{"text": "hello gemini"}]}
        ])
    );
    assert_eq!(
        gemini["systemInstruction"],
        json!({"parts": [{"text": "Answer briefly."}]})
    );
    let gemma = &model.requests("gemma")[1];
    assert_eq!(
        gemma["messages"],
        json!([
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "hello gemma"},
            {"role": "assistant", "content": "Echo: hello gemma"},
            {"role": "user", "content": "hello gemini"},
            {"role": "assistant", "content": "Gemini echo: hello gemini"},
            {"role": "user", "content": "back to gemma"}
        ])
    );
    let rows = stored_messages(&server.sqlite_path(), &me.session());
    assert_eq!(
        rows.iter().map(|r| r.3.as_str()).collect::<Vec<_>>(),
        ["gemma", "gemma", "gemini", "gemini", "gemma", "gemma"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_gemini_fault_gets_its_own_words_stores_nothing_and_retry_works() {
    let (_dir, model, server) = started(&[("MODEL_TIMEOUT_SECS", "1.5")]).await;
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("first", "gemini").await.status, 200);
    let cases: Vec<(Fault, Value, &str)> = vec![
        (
            Fault::SafetyBlock,
            json!({"Blocked": {"model": "gemini", "what": "message", "reason": "safety"}}),
            "Gemini did not answer this message: its safety filters flagged it",
        ),
        (
            Fault::ReplySafety,
            json!({"Blocked": {"model": "gemini", "what": "reply", "reason": "safety"}}),
            "Gemini stopped its reply: its safety filters flagged it",
        ),
        (
            Fault::MaxTokensNoText,
            json!({"OutOfTokens": {"model": "gemini"}}),
            "used up its tokens",
        ),
        (Fault::Status429, json!({"Busy": "gemini"}), "busy"),
        (
            Fault::Status500,
            json!({"BackendError": "gemini"}),
            "internal error",
        ),
        (
            Fault::Malformed,
            json!({"BadReply": "gemini"}),
            "could not read",
        ),
        (
            Fault::Oversized,
            json!({"BadReply": "gemini"}),
            "could not read",
        ),
        (Fault::Empty, json!({"Empty": "gemini"}), "empty reply"),
        (Fault::Hang, json!({"TimedOut": "gemini"}), "took too long"),
    ];
    for (fault, expected, words) in cases {
        // Twice: a 429 is retried once (tests/retries.rs), and here it must still fail.
        model.set("gemini", Behaviour::fault(fault).times(2));
        let reply = me.send("second", "gemini").await;
        assert_eq!(reply.status, testkit::status_for(&expected), "{fault:?}");
        assert_eq!(reply.json(), json!({ "Model": expected }), "{fault:?}");

        // The page shows the same words after a no-JavaScript post.
        model.set("gemini", Behaviour::fault(fault).times(2));
        let form = SendForm::new("second")
            .model("gemini")
            .set("temperature", "1")
            .set("top_p", "1")
            .max_tokens("10");
        let redirect = me.post_form("/api/send", &form.fields()).await;
        let page = me
            .get_settled(
                redirect
                    .location
                    .as_deref()
                    .expect("redirect")
                    .trim_start_matches(&server.url),
            )
            .await;
        // The failed turn is kept and shown, its error stored as a code, in the same words.
        assert!(
            page.body.contains(words) && page.body.contains("Not answered: "),
            "{fault:?}: page lacks {words:?}"
        );
        // Both attempts are kept, marked failed with the error's code; no reply.
        let error: app::errors::ChatError =
            serde_json::from_value(json!({ "Model": expected })).expect("error");
        let code = app::error_codes::to_code(&error);
        let rows = testkit::turn_rows(&server.sqlite_path(), &me.session());
        let last_two: Vec<_> = rows[rows.len() - 2..]
            .iter()
            .map(|r| (r.2.as_str(), r.3.as_str(), r.4.as_deref()))
            .collect();
        assert_eq!(
            last_two,
            [
                ("second", "failed", Some(code.as_str())),
                ("second", "failed", Some(code.as_str()))
            ],
            "{fault:?}"
        );

        assert_eq!(
            stored_messages(&server.sqlite_path(), &me.session()).len(),
            2,
            "{fault:?}: no half turn"
        );
    }
    model.set("gemini", Behaviour::default());
    let retry = me.send("second", "gemini").await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(
        stored_messages(&server.sqlite_path(), &me.session()).len(),
        4
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_codelabs_generate_api_gets_gemmas_template_and_clean_replies() {
    let (_dir, model, server) =
        started(&[("VLLM_API", "generate"), ("SYSTEM_PROMPT", "Be a pirate.")]).await;
    let mut me = Visitor::new(&server);
    let first = me.send("Hi", "gemma").await;
    assert_eq!(first.status, 200, "{}", first.body);
    // The stand-in echoes the first user turn, into which the system prompt was folded; the
    // echoed prompt and the over-generated next turn are gone.
    assert_eq!(
        first.json()["replies"][0]["text"],
        "Echo: Be a pirate.\n\nHi"
    );
    assert_eq!(me.send("Again", "gemma").await.status, 200);

    let seen = model.requests("gemma");
    assert_eq!(
        seen[1]["prompt"],
        "<start_of_turn>user\nBe a pirate.\n\nHi<end_of_turn>\n<start_of_turn>model\nEcho: Be a pirate.\n\nHi<end_of_turn>\n<start_of_turn>user\nAgain<end_of_turn>\n<start_of_turn>model\n"
    );
    assert_eq!(seen[1]["stop"], json!(["<end_of_turn>", "<start_of_turn>"]));
    assert_eq!(seen[1]["max_tokens"], 1024);
    let rows = stored_messages(&server.sqlite_path(), &me.session());
    assert_eq!(rows[3].2, "Echo: Again");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_credentials_gemini_is_not_configured_and_gemma_still_works() {
    let (_dir, model, server) = Stack::start(&[("GOOGLE_APPLICATION_CREDENTIALS", "")])
        .await
        .into_parts();
    let mut me = Visitor::new(&server);
    // What the start-up check found, once it has run.
    let mut page = me.get("/").await;
    for _ in 0..250 {
        if page.body.contains("Gemini needs Google Cloud credentials") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        page = me.get("/").await;
    }
    assert!(
        page.body.contains(r#"<option value="gemini" disabled"#),
        "Gemini cannot be picked"
    );
    assert!(
        page.body.contains("Gemini needs Google Cloud credentials"),
        "and the page says why"
    );
    assert_eq!(
        me.send("hi", "gemini").await.json(),
        json!({"Model": {"NotConfigured": "gemini"}})
    );
    assert_eq!(me.send("hi", "gemma").await.status, 200);
    assert_eq!(model.tokens_issued(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_never_exceeds_the_in_flight_cap() {
    let (_dir, model, server) = started(&[("MODEL_MAX_IN_FLIGHT", "4")]).await;
    model.set("gemma", Behaviour::slow(150));
    // Clients first, so the 50 sends start together.
    let visitors: Vec<Visitor> = (0..50).map(|_| Visitor::new(&server)).collect();
    let tasks: Vec<_> = visitors
        .into_iter()
        .enumerate()
        .map(|(i, mut visitor)| {
            tokio::spawn(async move {
                let reply = visitor.send(&format!("burst {i}"), "gemma").await;
                (reply.status, reply.body)
            })
        })
        .collect();
    let (mut ok, mut busy) = (0, 0);
    for t in tasks {
        let (status, body) = t.await.expect("join");
        match status {
            200 => ok += 1,
            _ => {
                assert_eq!(
                    serde_json::from_str::<Value>(&body).expect("json"),
                    json!({"Model": {"Busy": "gemma"}})
                );
                busy += 1;
            }
        }
    }
    assert_eq!(ok + busy, 50);
    assert!(ok >= 4, "the cap admits work: {ok} answered, {busy} busy");
    assert_eq!(
        model.peak_in_flight("gemma"),
        4,
        "never more than 4 at once, and the cap was reached"
    );
    assert_eq!(
        testkit::count_all_messages(&server.sqlite_path()),
        2 * ok as i64,
        "only answered turns are stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_vllm_reply_is_refused_not_buffered() {
    let (_dir, model, server) = started(&[]).await;
    model.set("gemma", Behaviour::fault(Fault::Oversized));
    let mut me = Visitor::new(&server);
    assert_eq!(
        me.send("hi", "gemma").await.json(),
        json!({"Model": {"BadReply": "gemma"}})
    );
}
