//! Part of `models.rs`: see its notes.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn compare_asks_both_models_stores_both_and_each_keeps_its_own_thread() {
    let (_dir, model, server) = started(&[]).await;
    let mut me = Visitor::new(&server);
    let form = [
        ("message", "which is better?"),
        ("temperature", "0.5"),
        ("top_p", "0.9"),
        ("max_tokens", "300"),
    ];
    let reply = me.call("/api/compare", &form).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let turn = reply.json();
    let replies = turn["replies"].as_array().expect("replies");
    assert_eq!(replies.len(), 2);
    assert_eq!(
        (replies[0]["model"].as_str(), replies[1]["model"].as_str()),
        (Some("gemma"), Some("gemini"))
    );
    assert_eq!(replies[1]["text"], "Gemini echo: which is better?");
    assert!(replies
        .iter()
        .all(|r| r["latency_ms"].is_u64() && r["total_tokens"].as_u64().unwrap_or(0) > 0));
    assert_eq!(model.requests("gemma")[0]["max_tokens"], 300);
    // Max tokens is the answer's length for both; Gemini's thinking (Auto) comes on top.
    assert_eq!(
        model.requests("gemini")[0]["generationConfig"]["maxOutputTokens"],
        300 + 8192
    );

    // Both stored with the one question; afterwards each model sees its own answer.
    let rows = stored_messages(&server.sqlite_path(), &me.session());
    assert_eq!(
        rows.iter()
            .map(|r| (r.1.as_str(), r.3.as_str()))
            .collect::<Vec<_>>(),
        [("user", "gemma"), ("model", "gemma"), ("model", "gemini")]
    );
    assert_eq!(me.send("follow up", "gemma").await.status, 200);
    assert_eq!(me.send("and you?", "gemini").await.status, 200);
    assert_eq!(
        model.requests("gemma")[1]["messages"][1]["content"],
        "Echo: which is better?"
    );
    assert_eq!(
        model.requests("gemini")[1]["contents"][1]["parts"][0]["text"],
        "Gemini echo: which is better?"
    );

    // The page shows the compared answers together.
    let page = me.get(&format!("/c/{}", me.session())).await;
    assert!(page.body.contains(r#"<div class="compare">"#));

    // One model failing keeps the other's answer, with the failure noted on the message.
    let before = stored_messages(&server.sqlite_path(), &me.session()).len();
    model.set("gemini", Behaviour::fault(Fault::Status500).once());
    let partly = me.call("/api/compare", &form).await.json();
    assert_eq!(partly["replies"].as_array().map(Vec::len), Some(1));
    assert_eq!(partly["replies"][0]["model"], "gemma");
    assert_eq!(
        partly["user"]["error"],
        json!({"Model": {"BackendError": "gemini"}})
    );
    assert_eq!(
        stored_messages(&server.sqlite_path(), &me.session()).len(),
        before + 2
    );
    // Both failing is the error, and no reply is stored (the message is, marked failed).
    model.set("gemma", Behaviour::fault(Fault::Status500).once());
    model.set("gemini", Behaviour::fault(Fault::Status500).once());
    let failed = me.call("/api/compare", &form).await;
    assert_eq!(failed.status, 502, "{}", failed.body);
    assert_eq!(
        stored_messages(&server.sqlite_path(), &me.session()).len(),
        before + 2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn compare_works_as_a_plain_form_post_too() {
    let (_dir, model, server) = started(&[]).await;
    let mut me = Visitor::new(&server);
    // The browser posts every field of the composer form, `model` included.
    let form = SendForm::new("both please")
        .set("temperature", "1")
        .set("top_p", "1")
        .max_tokens("10");
    let reply = me.post_form("/api/compare", &form.fields()).await;
    assert_eq!(reply.status, 302, "{}", reply.body);
    let page = me.get_settled(&format!("/c/{}", me.session())).await;
    assert!(
        page.body.contains("Echo: both please") && page.body.contains("Gemini echo: both please")
    );
    assert_eq!(
        (
            model.requests("gemma").len(),
            model.requests("gemini").len()
        ),
        (1, 1)
    );
}

/// A reply stopped by the token limit says so under it, in either model's words for it (vLLM's
/// `finish_reason: length`, Vertex's `MAX_TOKENS`); a whole reply does not.
#[tokio::test(flavor = "multi_thread")]
async fn a_reply_cut_off_at_max_tokens_says_so() {
    let (_dir, model, server) = started(&[]).await;
    let note = "Cut off: the reply reached the Max tokens limit.";
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("the whole story", "gemma").await.status, 200);
    let page = me.get(&format!("/c/{}", me.session())).await;
    assert!(page.body.contains("Echo: the whole story") && !page.body.contains(note));

    for (backend, n) in [("gemma", 1), ("gemini", 2)] {
        model.set(backend, Behaviour::fault(Fault::CutOff));
        let reply = me.send("and then?", backend).await;
        assert_eq!(reply.status, 200, "{backend}: {}", reply.body);
        let page = me.get(&format!("/c/{}", me.session())).await;
        assert_eq!(
            page.body.matches(note).count(),
            n,
            "{backend}: {}",
            page.body
        );
    }
}

/// The picker's status is served on its own (`/api/model_status`, which an open page asks for
/// every 10 s): it follows the server's probes both ways, so a Gemma that was unreachable is
/// shown as available once it is up, without a reload.
#[tokio::test(flavor = "multi_thread")]
async fn model_status_follows_the_probes_both_ways() {
    let (_dir, model, server) = started(&[("MODEL_PROBE_INTERVAL_SECS", "1")]).await;
    let mut me = Visitor::new(&server);
    let gemma = |me: &mut Visitor| {
        let mut me = me.twin();
        async move {
            let r = me.call("/api/model_status", &[]).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()
                .as_array()
                .and_then(|ms| ms.iter().find(|m| m["id"] == "gemma").cloned())
                .map(|m| m["availability"].clone())
                .unwrap_or_default()
        }
    };
    for (behaviour, unreachable) in [
        (Behaviour::unhealthy(), true),
        (Behaviour::default(), false),
    ] {
        model.set("gemma", behaviour);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = gemma(&mut me).await;
            if now.get("Unreachable").is_some() == unreachable
                && (unreachable || now == "Available")
            {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "still {now}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}
