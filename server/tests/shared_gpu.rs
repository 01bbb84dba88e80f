//! Every replica sends to one vLLM: its own queue tells the picker when Gemma is busy (before
//! anyone sends), and each replica's share of it is capped (`VLLM_MAX_IN_FLIGHT`) without
//! capping Gemini.

use serde_json::json;
use std::time::Duration;
use testkit::standin::{self, Behaviour};
use testkit::{Server, Stack, Visitor};

fn queue(waiting: u64) -> Behaviour {
    Behaviour {
        queue_waiting: Some(waiting),
        ..Behaviour::default()
    }
}

/// The new-chat page once `ready` holds for it (a background probe's finding), within 10 s.
async fn page_once(me: &mut Visitor, ready: impl Fn(&str) -> bool) -> String {
    for _ in 0..200 {
        let page = me.get("/").await;
        if ready(&page.body) {
            return page.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the page never changed as expected: {}",
        me.get("/").await.body
    );
}

const BUSY: &str = "Gemma is busy: 12 waiting for its GPU";

#[tokio::test(flavor = "multi_thread")]
async fn a_long_vllm_queue_shows_in_the_picker_with_gemini_offered_and_clears_when_it_drains() {
    let model = standin::start(0).await;
    model.set("gemma", queue(12));
    let (_dir, model, server) = Stack::start_on(model, &[("MODEL_PROBE_INTERVAL_SECS", "0.2")])
        .await
        .into_parts();
    server.wait_for_gemini().await;
    let mut me = Visitor::new(&server);

    // Rendered on the server: it holds without JavaScript.
    let page = page_once(&mut me, |p| p.contains(BUSY)).await;
    assert!(
        page.contains("Gemma 3 12B-it (vLLM) — busy"),
        "the picker's entry says so"
    );
    assert!(page.contains("Gemini can answer now."), "and offers Gemini");
    assert!(
        page.contains(r#"class="model-status busy""#),
        "a status of its own"
    );
    // Busy is not refused: a person may still choose to wait.
    assert!(!page.contains(r#"<option value="gemma" disabled"#));
    let reply = me.send("still here", "gemma").await;
    assert_eq!(reply.status, 200);

    // Below the threshold (8) it is not worth a word.
    model.set("gemma", queue(7));
    page_once(&mut me, |p| !p.contains("Gemma is busy")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_busy_threshold_is_the_operators_and_zero_turns_it_off() {
    let model = standin::start(0).await;
    model.set("gemma", queue(3));
    let (_dir, _model, server) = Stack::start_on(
        model,
        &[
            ("MODEL_PROBE_INTERVAL_SECS", "0.2"),
            ("VLLM_BUSY_WAITING", "3"),
        ],
    )
    .await
    .into_parts();
    let mut me = Visitor::new(&server);
    page_once(&mut me, |p| p.contains("Gemma is busy: 3 waiting")).await;

    let model = standin::start(0).await;
    model.set("gemma", queue(500));
    let (_dir, _model, server) = Stack::start_on(
        model,
        &[
            ("MODEL_PROBE_INTERVAL_SECS", "0.2"),
            ("VLLM_BUSY_WAITING", "0"),
            ("RUST_LOG", "warn,server::backends::vllm=info"),
        ],
    )
    .await
    .into_parts();
    wait_for_probe(&server).await;
    let page = Visitor::new(&server).get("/").await.body;
    assert!(!page.contains("is busy"), "off");
}

/// Waits until the server's vLLM probe has run (it logs the served context).
async fn wait_for_probe(server: &Server) {
    for _ in 0..100 {
        if server.log().contains("served context length") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the probe never ran: {}", server.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn each_replica_sends_vllm_its_share_and_gemini_is_not_capped_by_it() {
    // Slower than the 2 s a send waits for a slot, within the model timeout.
    let (_dir, model, server) =
        Stack::start(&[("VLLM_MAX_IN_FLIGHT", "2"), ("MODEL_TIMEOUT_SECS", "10")])
            .await
            .into_parts();
    server.wait_for_gemini().await;
    model.set("gemma", Behaviour::slow(3500));
    model.set("gemini", Behaviour::slow(3500));
    let send = |model: &'static str, i: usize| {
        let mut v = Visitor::new(&server);
        tokio::spawn(async move { v.send(&format!("{model} {i}"), model).await })
    };
    let gemma: Vec<_> = (0..3).map(|i| send("gemma", i)).collect();
    let gemini: Vec<_> = (0..3).map(|i| send("gemini", i)).collect();
    let mut busy = 0;
    for s in gemma {
        let reply = s.await.expect("send");
        if reply.json() == json!({"Model": {"Busy": "gemma"}}) {
            busy += 1;
        } else {
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
    }
    assert_eq!(busy, 1, "two of three Gemma sends fit this replica's share");
    assert_eq!(model.peak_in_flight("gemma"), 2);
    for s in gemini {
        assert_eq!(
            s.await.expect("send").status,
            200,
            "Gemini keeps MODEL_MAX_IN_FLIGHT"
        );
    }
    assert_eq!(model.peak_in_flight("gemini"), 3);
}
