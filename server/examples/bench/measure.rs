//! What the benchmark measures over HTTP: cold start, first load, per-turn overhead, round
//! trips, a 500-message restore and the load runs.

use crate::stats::{median, ms, percentile, round1};
use crate::Store;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use testkit::standin::{Behaviour, Fault, StandIn};
use testkit::{http, SendForm, Server, Visitor};

/// Polls `/readyz` every millisecond; `client` is built beforehand so it is not timed.
pub(crate) async fn wait_ready(client: &reqwest::Client, server: &Server) {
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", server.url)).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server never became ready"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Process start to the first 200 from `/readyz`, and to the first page served; median of 5.
pub(crate) async fn cold_start(standin: &StandIn, store: &Store) -> Value {
    let client = http().build().expect("client");
    let mut ready = Vec::new();
    let mut page = Vec::new();
    for _ in 0..5 {
        let dir = testkit::tempdir();
        let started = Instant::now();
        let server = Server::spawn(dir.path(), &standin.url(), &store.env());
        wait_ready(&client, &server).await;
        ready.push(started.elapsed());
        let r = client
            .get(format!("{}/", server.url))
            .send()
            .await
            .expect("page");
        assert!(r.status().is_success());
        let _ = r.bytes().await;
        page.push(started.elapsed());
        drop(server);
    }
    json!({ "to_ready_ms": ms(median(&mut ready)), "to_first_page_ms": ms(median(&mut page)) })
}

/// Bytes on the wire for a first visit: the page and every asset it names, fetched as a
/// browser would (br, gzip) and uncompressed.
pub(crate) async fn first_load(server: &Server) -> Value {
    let client = http().build().expect("client");
    let fetch = |path: String, encoding: &'static str| {
        let client = client.clone();
        let url = format!("{}{path}", server.url);
        async move {
            let r = client
                .get(url)
                .header("accept-encoding", encoding)
                .send()
                .await
                .expect("GET");
            assert!(r.status().is_success(), "{path}: {}", r.status());
            let served_as = r
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("identity")
                .to_string();
            // reqwest is built without decompression, so these are the bytes on the wire.
            (r.bytes().await.expect("body").to_vec(), served_as)
        }
    };
    let (html, _) = fetch("/".into(), "identity").await;
    let html = String::from_utf8_lossy(&html).to_string();
    let assets = asset_paths(&html);
    assert!(
        assets.iter().any(|a| a.ends_with(".wasm")),
        "the page names its wasm: {assets:?}"
    );
    let mut rows = Vec::new();
    let (mut raw_total, mut wire_total) = (0, 0);
    for path in std::iter::once("/".to_string()).chain(assets) {
        let (raw, _) = fetch(path.clone(), "identity").await;
        let (wire, encoding) = fetch(path.clone(), "br, gzip").await;
        raw_total += raw.len();
        wire_total += wire.len();
        rows.push(
            json!({ "path": path, "raw": raw.len(), "wire": wire.len(), "encoding": encoding }),
        );
    }
    json!({
        "requests": rows.len(),
        "raw_bytes": raw_total,
        "wire_bytes": wire_total,
        "files": rows,
    })
}

/// The stylesheet, script and wasm the page loads (the script loads the wasm).
fn asset_paths(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for quote in html.split('"') {
        if quote.starts_with("/pkg/") && !out.iter().any(|p: &String| p == quote) {
            out.push(quote.to_string());
        }
    }
    if !out.iter().any(|p| p.ends_with(".wasm")) {
        if let Some(js) = out.iter().find(|p| p.ends_with(".js")) {
            out.push(js.replace(".js", ".wasm"));
        }
    }
    out
}

/// One session at a time (ten chats of `turns / 10` turns, one turn after another), the model
/// answering at once: end-to-end latency and the server's share (end-to-end minus the model
/// call the server timed).
pub(crate) async fn per_turn(server: &Server, turns: usize) -> Value {
    let mut visitor = Visitor::new(server);
    let mut total = Vec::with_capacity(turns);
    let mut overhead = Vec::with_capacity(turns);
    for i in 0..turns {
        if i % (turns / 10).max(1) == 0 {
            visitor = Visitor::new(server);
            // The page load that issues the owner is not part of a turn.
            visitor.get("/").await;
        }
        let started = Instant::now();
        let reply = visitor
            .send(&format!("turn {i}: how are you?"), "gemma")
            .await;
        let elapsed = started.elapsed();
        assert_eq!(reply.status, 200, "{}", reply.body);
        let model_ms = reply.json()["replies"][0]["latency_ms"]
            .as_u64()
            .unwrap_or(0);
        total.push(elapsed);
        overhead.push(elapsed.saturating_sub(Duration::from_millis(model_ms)));
    }
    json!({
        "turns": turns,
        "latency_p50_ms": ms(percentile(&mut total, 50.0)),
        "latency_p99_ms": ms(percentile(&mut total, 99.0)),
        "overhead_p50_ms": ms(percentile(&mut overhead, 50.0)),
        "overhead_p99_ms": ms(percentile(&mut overhead, 99.0)),
    })
}

/// Store calls (every one is a round trip on Firestore) for a turn in an existing chat and for
/// a page load of a chat, read from `/metrics` (`store_latency_seconds_count`, all ops).
pub(crate) async fn round_trips(server: &Server) -> Value {
    async fn store_calls(server: &Server) -> f64 {
        let metrics = Visitor::new(server).get("/metrics").await.body;
        metrics
            .lines()
            .filter(|l| l.starts_with("hybrid_chat_store_latency_seconds_count{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
    let mut v = Visitor::new(server);
    v.get("/").await;
    assert_eq!(v.send("a first turn", "gemma").await.status, 200);
    let before = store_calls(server).await;
    assert_eq!(v.send("a second turn", "gemma").await.status, 200);
    let after_turn = store_calls(server).await;
    assert_eq!(v.get(&format!("/c/{}", v.session())).await.status, 200);
    let after_page = store_calls(server).await;
    json!({
        "per_turn": after_turn - before,
        "per_page_load": after_page - after_turn,
    })
}

/// Builds a 500-message chat (250 turns), then times the server rendering it on a reload.
pub(crate) async fn restore_500(server: &Server) -> (Value, String, String) {
    let mut visitor = Visitor::new(server);
    for i in 0..250 {
        let reply = visitor
            .send(
                &format!("message {i}: tell me about **markdown** and `code`"),
                "gemma",
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..20 {
        let started = Instant::now();
        let page = visitor.get(&format!("/c/{}", visitor.session())).await;
        times.push(started.elapsed());
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("message 249:"),
            "the whole chat is rendered"
        );
        bytes = page.body.len();
    }
    let cookie = visitor.owner.clone().unwrap_or_default();
    (
        json!({
            "messages": 500,
            "html_bytes": bytes,
            "render_p50_ms": ms(percentile(&mut times, 50.0)),
            "render_p99_ms": ms(percentile(&mut times, 99.0)),
        }),
        cookie,
        format!("/c/{}", visitor.session()),
    )
}

/// Stop, as a person presses it: `stops` turns each held by a model that never answers, each
/// stopped once it is at the model; the time to Stop's answer.
pub(crate) async fn stop_latency(server: &Server, standin: &StandIn, stops: usize) -> Value {
    standin.set("gemma", Behaviour::fault(Fault::Hang));
    let mut me = Visitor::new(server);
    me.send("a chat to stop turns in", "gemini").await;
    let chat = me.chat.clone().expect("a chat");
    let mut times = Vec::new();
    for i in 0..stops {
        let turn = format!("bench-stop-{i:012}");
        let mut tab = me.twin();
        let form = SendForm::new("stop this").set("turn", &turn);
        let send = tokio::spawn(async move { tab.send_form(&form).await });
        testkit::until(
            "the turn to reach the model",
            Duration::from_secs(10),
            || async { standin.in_flight("gemma") == 1 },
        )
        .await;
        let t = Instant::now();
        let stopped = me
            .call("/api/stop_turn", &[("chat", &chat), ("turn", &turn)])
            .await;
        times.push(t.elapsed());
        assert_eq!(stopped.status, 200, "stop: {}", stopped.body);
        let _ = send.await;
        // The stopped request has left the model before the next turn is counted there.
        testkit::until(
            "the stopped request to be dropped",
            Duration::from_secs(10),
            || async { standin.in_flight("gemma") == 0 },
        )
        .await;
    }
    standin.set("gemma", Behaviour::default());
    json!({
        "stops": stops,
        "stop_p50_ms": ms(percentile(&mut times, 50.0)),
        "stop_p99_ms": ms(percentile(&mut times, 99.0)),
    })
}

/// Answered turns in the visitor's chat, from its JSON export (0 if it has no chat).
async fn stored_turns(visitor: &mut Visitor) -> usize {
    let Some(chat) = visitor.chat.clone() else {
        return 0;
    };
    let export = visitor.get(&format!("/export/{chat}.json")).await;
    let js: Value = serde_json::from_str(&export.body).unwrap_or_default();
    let messages = js["messages"].as_array().cloned().unwrap_or_default();
    messages
        .windows(2)
        .filter(|w| {
            w[0]["role"] == "user" && w[0]["status"] == "complete" && w[1]["role"] == "model"
        })
        .count()
}

/// `sessions` visitors, each sending turns back to back for `secs` seconds.
pub(crate) async fn load(server: &Server, sessions: usize, secs: u64) -> Value {
    let mut visitors: Vec<Visitor> = (0..sessions).map(|_| Visitor::new(server)).collect();
    // Each visitor loads the page first (its owner), as a browser does, before the clock runs.
    for v in &mut visitors {
        v.get("/").await;
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let tasks: Vec<_> = visitors
        .into_iter()
        .enumerate()
        .map(|(s, mut visitor)| {
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0usize;
                let mut i = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let reply = visitor
                        .send(&format!("session {s} turn {i}"), "gemma")
                        .await;
                    if reply.status == 200 {
                        latencies.push(t.elapsed());
                    } else {
                        failures += 1;
                    }
                    i += 1;
                }
                (latencies, failures, visitor)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut visitors = Vec::new();
    for task in tasks {
        let (l, f, v) = task.await.expect("visitor task");
        latencies.extend(l);
        failures += f;
        visitors.push(v);
    }
    let elapsed = started.elapsed().as_secs_f64();
    // What the store kept, read back through each chat's JSON export: answered turns (a complete
    // user message followed by its reply). It must equal the turns the clients were told of.
    let mut stored = 0;
    for v in &mut visitors {
        stored += stored_turns(v).await;
    }
    json!({
        "sessions": sessions,
        "turns": latencies.len(),
        "stored_turns": stored,
        "failures": failures,
        "turns_per_s": round1(latencies.len() as f64 / elapsed),
        "latency_p50_ms": ms(percentile(&mut latencies, 50.0)),
        "latency_p99_ms": ms(percentile(&mut latencies, 99.0)),
    })
}
