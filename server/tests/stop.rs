//! Stop and "Ask Gemini instead" through the real binary, on SQLite and on Firestore (Google's
//! emulator): a stopped turn's backend request is dropped (the stand-in sees it leave), its
//! message stays in the chat and the export marked stopped, later turns leave it out of their
//! history, and the no-JavaScript forms do the same. On Firestore a Stop that reaches another
//! replica stops the turn too.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use testkit::form::SendForm;
use testkit::standin::{Behaviour, Fault, StandIn};
use testkit::{Emulator, Server, Stack, Visitor};

const TURN: &str = "stop-me-0000000000000001";

/// Waits until the stand-in serves `n` requests for `backend`.
async fn in_flight(model: &StandIn, backend: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while model.in_flight(backend) != n {
        assert!(
            Instant::now() < deadline,
            "{backend}: {} in flight, not {n}",
            model.in_flight(backend)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `text` to a Gemma that never answers, from another tab; returns that tab's send.
async fn hanging_send(
    me: &Visitor,
    model: &StandIn,
    text: &str,
    turn: &str,
) -> tokio::task::JoinHandle<testkit::Reply> {
    model.set("gemma", Behaviour::fault(Fault::Hang));
    let mut tab = me.twin();
    let form = SendForm::new(text).set("turn", turn);
    let send = tokio::spawn(async move { tab.send_form(&form).await });
    in_flight(model, "gemma", 1).await;
    send
}

fn statuses(turn: &Value) -> Vec<&str> {
    turn.as_array()
        .map(|ms| ms.iter().filter_map(|m| m["status"].as_str()).collect())
        .unwrap_or_default()
}

/// The whole story on one server: Stop (JSON and form), its effects, and bad input.
async fn stops_and_asks_instead(env: &[(&str, &str)]) {
    let mut env = env.to_vec();
    env.push(("OFFER_GEMINI_AFTER_SECS", "1"));
    let (_dir, model, server) = Stack::start(&env).await.into_parts();
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("opening", "gemma").await.status, 200);
    let chat = me.session();

    // Pending: the page (as served, for a browser without JavaScript) carries a Stop form for
    // this turn, and the elapsed time.
    let send = hanging_send(&me, &model, "stop me", TURN).await;
    let page = me.get(&format!("/c/{chat}")).await.body;
    assert!(page.contains(r#"action="/api/stop_turn""#), "{page}");
    assert!(page.contains(&format!(r#"value="{TURN}""#)));
    assert!(page.contains(r#"class="elapsed""#));

    // Stop: the answer is the turn, stopped; the backend request is dropped at once.
    let asked = std::time::Instant::now();
    let stopped = me
        .call("/api/stop_turn", &[("chat", &chat), ("turn", TURN)])
        .await;
    // Not a benchmark (the bench prints Stop's figures): a guard against the handler and the
    // turn's task writing the turn at once, which on Firestore waited on each other's locks
    // for 2.1 s (42 ms without). 1 s leaves a slow machine 20 times the room.
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "Stop took {:?}",
        asked.elapsed()
    );
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    let turn = stopped.json();
    assert_eq!(turn[0]["text"], "stop me");
    assert_eq!(statuses(&turn), ["stopped"]);
    in_flight(&model, "gemma", 0).await;
    // The tab that sent it hears that it was stopped.
    let sent = send.await.expect("join");
    assert_eq!(sent.status, 409, "{}", sent.body);
    assert_eq!(sent.json(), json!("Stopped"));
    // Stopping again changes nothing.
    let again = me
        .call("/api/stop_turn", &[("chat", &chat), ("turn", TURN)])
        .await;
    assert_eq!(again.json(), turn);

    // The chat goes on; the stopped message is in the export, not in the next prompt.
    model.set("gemma", Behaviour::default());
    assert_eq!(me.send("next", "gemma").await.status, 200);
    let prompt = model.requests("gemma").last().expect("request")["messages"].to_string();
    assert!(
        !prompt.contains("stop me") && prompt.contains("next"),
        "{prompt}"
    );
    let export = me.get(&format!("/export/{chat}.md")).await.body;
    assert!(
        export.contains("stop me\n\n_Stopped before the reply came._"),
        "{export}"
    );

    // Without JavaScript: the Stop form posts and comes back to the chat, whose message box
    // holds the stopped words for editing.
    let send = hanging_send(&me, &model, "stopped by a form", "stop-me-0000000000000002").await;
    let posted = me
        .post_form(
            "/api/stop_turn",
            &[("chat", &chat), ("turn", "stop-me-0000000000000002")],
        )
        .await;
    assert_eq!(posted.status, 302, "{}", posted.body);
    assert_eq!(
        posted.location.as_deref(),
        Some(format!("/c/{chat}").as_str())
    );
    in_flight(&model, "gemma", 0).await;
    assert_eq!(send.await.expect("join").status, 409);
    let page = me.get(&format!("/c/{chat}")).await.body;
    assert!(
        page.contains(">stopped by a form</textarea>"),
        "the words are offered back: {page}"
    );

    // "Ask Gemini instead": offered once Gemma has kept the person waiting (1 s here), as a
    // form that stops the Gemma turn and sends the same words to Gemini.
    let slow = "stop-me-0000000000000003";
    let send = hanging_send(&me, &model, "too slow for Gemma", slow).await;
    let early = me.get(&format!("/c/{chat}")).await.body;
    assert!(
        !early.contains(r#"name="replaces""#),
        "not before the delay"
    );
    // Offered once the turn has waited OFFER_GEMINI_AFTER_SECS: the page is asked until it is.
    let mut page = String::new();
    for _ in 0..250 {
        page = me.get(&format!("/c/{chat}")).await.body;
        if page.contains(r#"name="replaces""#) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(page.contains("Ask Gemini instead"), "{page}");
    assert!(page.contains(&format!(r#"name="replaces" value="{slow}""#)));
    let instead = SendForm::new("too slow for Gemma")
        .model("gemini")
        .set("turn", "stop-me-0000000000000004")
        .set("replaces", slow);
    let posted = me.post_form("/api/send", &instead.fields()).await;
    assert_eq!(posted.status, 302, "{}", posted.body);
    in_flight(&model, "gemma", 0).await;
    assert_eq!(send.await.expect("join").status, 409);
    let page = me.get_settled(&format!("/c/{chat}")).await.body;
    assert!(
        page.contains("Gemini echo: too slow for Gemma"),
        "Gemini answered"
    );
    let export = me.get(&format!("/export/{chat}.md")).await.body;
    let asked = export.matches("too slow for Gemma").count();
    assert_eq!(asked, 3, "stopped, asked again, answered: {export}");
    assert_eq!(model.requests("gemini").len(), 1);

    // Bad input: garbage ids, someone else's chat, a turn that is not there.
    for (c, t) in [
        (chat.as_str(), "x"),
        ("not-a-chat", TURN),
        (chat.as_str(), "no-such-turn-00000000000"),
    ] {
        let r = me.call("/api/stop_turn", &[("chat", c), ("turn", t)]).await;
        assert_eq!(r.status, 404, "{c} {t}: {}", r.body);
    }
    let mut stranger = Visitor::new(&server);
    let r = stranger
        .call("/api/stop_turn", &[("chat", &chat), ("turn", TURN)])
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let bad = SendForm::new("x")
        .set("replaces", "garbage")
        .set("turn", "stop-me-0000000000000005");
    assert_eq!(me.send_form(&bad).await.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_and_ask_instead_on_sqlite() {
    stops_and_asks_instead(&[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_and_ask_instead_on_firestore() {
    let emulator = Emulator::start().await;
    let env = emulator.server_env("hybrid-chat-stop");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    stops_and_asks_instead(&env).await;
}

/// Two replicas on one Firestore: the Stop reaches the one not running the turn, which marks it
/// stopped; the one running it finds out from the store and drops its backend request.
#[tokio::test(flavor = "multi_thread")]
async fn a_stop_on_another_replica_drops_the_backend_request() {
    let emulator = Emulator::start().await;
    let env = emulator.server_env("hybrid-chat-stop");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_dir, model, server) = Stack::start(&env).await.into_parts();
    let other_dir = testkit::tempdir();
    let other = Server::start(other_dir.path(), &model.url(), &env).await;
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("opening", "gemma").await.status, 200);
    let chat = me.session();
    let send = hanging_send(&me, &model, "stop me elsewhere", TURN).await;

    let mut elsewhere = me.twin();
    elsewhere.base = other.url.clone();
    let stopped = elsewhere
        .call("/api/stop_turn", &[("chat", &chat), ("turn", TURN)])
        .await;
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    assert_eq!(statuses(&stopped.json()), ["stopped"]);
    in_flight(&model, "gemma", 0).await;
    let sent = send.await.expect("join");
    assert_eq!(sent.status, 409, "{}", sent.body);
    assert_eq!(sent.json(), json!("Stopped"));
}
