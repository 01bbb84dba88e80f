//! Long chats: for chats of 10, 300 and 2,000 messages, what a page of the chat weighs (and how
//! much of it is hydration data), how long it takes to render, and how many messages the store
//! reads for a page load and for a turn (`store_messages_read_total` from `/metrics`).

use crate::stats::{ms, percentile};
use serde_json::{json, Value};
use std::time::Instant;
use testkit::{Server, Visitor};

pub(crate) const SIZES: [usize; 3] = [10, 300, 2_000];

async fn messages_read(server: &Server) -> u64 {
    let metrics = Visitor::new(server).get("/metrics").await.body;
    testkit::metric(&metrics, "hybrid_chat_store_messages_read_total") as u64
}

pub(crate) async fn long_chats(server: &Server) -> Value {
    let mut out = json!({});
    for size in SIZES {
        let mut v = Visitor::new(server);
        v.get("/").await;
        for i in 0..size / 2 {
            let text = format!("message {i}: tell me about **markdown** and `code`");
            let reply = v.send(&text, "gemma").await;
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
        let path = format!("/c/{}", v.session());
        let before = messages_read(server).await;
        let page = v.get(&path).await;
        assert_eq!(page.status, 200);
        let after_page = messages_read(server).await;
        assert_eq!(v.send("one more", "gemma").await.status, 200);
        let after_turn = messages_read(server).await;
        let mut times = Vec::new();
        for _ in 0..10 {
            let started = Instant::now();
            v.get(&path).await;
            times.push(started.elapsed());
        }
        let hydration = testkit::hydration_bytes(&page.body);
        out[size.to_string()] = json!({
            "page_bytes": page.body.len(),
            "hydration_bytes": hydration,
            "html_bytes": page.body.len() - hydration,
            "render_p50_ms": ms(percentile(&mut times, 50.0)),
            "reads_per_page_load": after_page - before,
            "reads_per_turn": after_turn - after_page,
        });
    }
    out
}
