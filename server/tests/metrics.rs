//! `/metrics`: each family moves when the thing it counts happens, and labels stay bounded.

use testkit::standin::{Behaviour, Fault};
use testkit::{metric as sample, Stack, Visitor};

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_turns_tokens_store_calls_and_faults() {
    let (_dir, model, server) = Stack::start(&[]).await.into_parts();
    server.wait_for_gemini().await;
    let mut me = Visitor::new(&server);

    let before = me.get("/metrics").await;
    assert_eq!(before.status, 200);
    assert!(before.body.ends_with("# EOF\n"), "OpenMetrics text");

    for text in ["one", "two"] {
        assert_eq!(me.send(text, "gemma").await.status, 200);
    }
    assert_eq!(me.send("three", "gemini").await.status, 200);
    model.set("gemma", Behaviour::fault(Fault::Status500));
    assert_eq!(me.send("four", "gemma").await.status, 502);
    // Garbage paths must not become labels; chat addresses share one.
    me.get("/api/no-such-function-1").await;
    me.get("/api/no-such-function-2").await;
    me.get(&format!("/c/{}", me.session())).await;
    me.get(&format!("/c/{}", "0".repeat(64))).await;

    let m = me.get("/metrics").await.body;
    assert_eq!(
        sample(&m, r#"hybrid_chat_turns_total{model="gemma",outcome="ok"}"#),
        2.0
    );
    assert_eq!(
        sample(
            &m,
            r#"hybrid_chat_turns_total{model="gemini",outcome="ok"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            r#"hybrid_chat_turns_total{model="gemma",outcome="backend_error"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            r#"hybrid_chat_http_requests_total{route="/api/send",status="200"}"#
        ),
        3.0
    );
    assert_eq!(
        sample(
            &m,
            r#"hybrid_chat_http_requests_total{route="/api/send",status="502"}"#
        ),
        1.0
    );
    assert!(m.contains(r#"route="/api/unknown""#));
    assert!(
        !m.contains("no-such-function"),
        "raw paths never become labels"
    );
    assert_eq!(
        sample(
            &m,
            r#"hybrid_chat_http_requests_total{route="/c",status="200"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            r#"hybrid_chat_http_requests_total{route="/c",status="404"}"#
        ),
        1.0
    );
    assert!(
        !m.contains(&"0".repeat(64)) && !m.contains(&me.session()),
        "chat ids never become labels"
    );
    assert_eq!(
        sample(
            &m,
            r#"hybrid_chat_model_latency_seconds_count{model="gemma"}"#
        ),
        3.0
    );
    assert!(
        sample(
            &m,
            r#"hybrid_chat_model_tokens_total{model="gemini",kind="completion"}"#
        ) > 0.0
    );
    // Each of the four turns is accepted (one write) and completed (one write), the failed
    // one included: it is kept, marked failed.
    for op in ["begin_turn", "finish_turn"] {
        assert_eq!(
            sample(
                &m,
                &format!(r#"hybrid_chat_store_latency_seconds_count{{op="{op}",outcome="ok"}}"#)
            ),
            4.0,
            "{op}"
        );
    }
    assert_eq!(
        sample(&m, r#"hybrid_chat_model_in_flight{model="gemma"}"#),
        0.0
    );
    assert!(m.contains(r#"hybrid_chat_model_in_flight{model="gemma"}"#));
}

#[tokio::test(flavor = "multi_thread")]
async fn in_flight_gauge_shows_calls_waiting_on_a_slow_model() {
    let (_dir, model, server) = Stack::start(&[]).await.into_parts();
    model.set("gemma", Behaviour::slow(1500));
    let sends: Vec<_> = (0..3)
        .map(|i| {
            let mut v = Visitor::new(&server);
            tokio::spawn(async move { v.send(&format!("slow {i}"), "gemma").await.status })
        })
        .collect();
    // Polled, not slept on: the three calls reach the stand-in when they do.
    let mut m = String::new();
    for _ in 0..100 {
        m = Visitor::new(&server).get("/metrics").await.body;
        if sample(&m, r#"hybrid_chat_model_in_flight{model="gemma"}"#) == 3.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        sample(&m, r#"hybrid_chat_model_in_flight{model="gemma"}"#),
        3.0
    );
    // The HPA's signal: the three model calls and this scrape itself, at least.
    assert!(sample(&m, "hybrid_chat_load_in_flight") >= 4.0, "{m}");
    for s in sends {
        assert_eq!(s.await.expect("send"), 200);
    }
    let m = Visitor::new(&server).get("/metrics").await.body;
    assert_eq!(
        sample(&m, r#"hybrid_chat_model_in_flight{model="gemma"}"#),
        0.0
    );
    // Only the scrape that reads it is left.
    assert_eq!(sample(&m, "hybrid_chat_load_in_flight"), 1.0, "{m}");
}

/// On GKE `/metrics` has its own port, which no Service exposes: the public entry answers 404
/// for it, and the metrics port serves the same families.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_addr_moves_metrics_off_the_public_port() {
    let metrics_addr = format!("127.0.0.1:{}", testkit::free_port());
    let (_dir, _model, server) = Stack::start(&[("METRICS_ADDR", metrics_addr.as_str())])
        .await
        .into_parts();
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("counted", "gemma").await.status, 200);

    let public = me.get("/metrics").await;
    assert_eq!(
        public.status, 404,
        "the public port must not serve /metrics"
    );
    let private = testkit::http()
        .build()
        .expect("client")
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .expect("metrics port");
    assert_eq!(private.status(), 200);
    let m = private.text().await.expect("body");
    assert_eq!(
        sample(&m, r#"hybrid_chat_turns_total{model="gemma",outcome="ok"}"#),
        1.0
    );
}
