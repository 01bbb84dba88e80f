//! The benchmark: runs the release server against the model stand-in (fixed latency) on the
//! embedded store and on Google's Firestore emulator, prints a table next to the targets and
//! writes the figures as JSON. Run it with `bash .ci/bench` (it builds what it needs first).
//!
//! `bench [OUT.json]`; `BENCH_QUICK=1` shortens the load runs (for a smoke test).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::standin::{self, Behaviour, StandIn};
use testkit::Emulator;
use testkit::{http, Server, Visitor};

const PROJECT: &str = "hybrid-chat-bench";

/// What the benchmark needs to know about one store.
#[derive(Clone)]
struct Store {
    name: &'static str,
    env: Vec<(String, String)>,
}

impl Store {
    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

#[tokio::main]
async fn main() {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench/bench.json"));
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let load_secs = if quick { 3 } else { 10 };
    let site_root = std::fs::canonicalize(
        std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into()),
    )
    .expect("the site is built (cargo leptos build --release)");
    assert!(
        site_root.join("pkg/hybrid-chat.wasm.br").exists(),
        "run deploy/precompress.sh {} first",
        site_root.display()
    );

    let standin = standin::start(0).await;
    let emulator = Emulator::start().await;
    let sqlite = Store {
        name: "sqlite",
        env: vec![
            ("CHAT_STORE".into(), "sqlite".into()),
            ("LEPTOS_SITE_ROOT".into(), site_root.display().to_string()),
            ("MODEL_MAX_IN_FLIGHT".into(), "512".into()),
        ],
    };
    let firestore = Store {
        name: "firestore-emulator",
        env: vec![
            ("CHAT_STORE".into(), "firestore".into()),
            ("FIRESTORE_EMULATOR_HOST".into(), emulator.host.clone()),
            ("GOOGLE_CLOUD_PROJECT".into(), PROJECT.into()),
            ("OWNER_KEY".into(), testkit::OWNER_KEY.into()),
            ("LEPTOS_SITE_ROOT".into(), site_root.display().to_string()),
            ("MODEL_MAX_IN_FLIGHT".into(), "512".into()),
        ],
    };

    let mut figures = json!({
        "machine": machine(),
        "model_latency_ms": { "overhead_runs": 0, "load_runs": 500 },
        "load_seconds": load_secs,
    });
    let turns = if quick { 40 } else { 200 };
    let lighthouse_runs = if quick { 1 } else { 3 };

    for store in [&sqlite, &firestore] {
        eprintln!("== {}", store.name);
        let mut f = json!({});
        f["cold_start"] = cold_start(&standin, store).await;

        let dir = testkit::tempdir();
        let server = Server::start(dir.path(), &standin.url(), &store.env()).await;
        wait_ready(&http().build().expect("client"), &server).await;
        if store.name == "sqlite" {
            figures["first_load"] = first_load(&server).await;
            figures["browser"] = browser(&server.url, None);
            figures["lighthouse"] = lighthouse(&server.url, None, lighthouse_runs);
        }
        for _ in 0..30 {
            Visitor::new(&server).get("/").await;
        }
        f["rss_idle_kb"] = json!(rss_kb(server.pid()).0);

        standin.set("gemma", Behaviour::default());
        f["per_turn_0ms"] = per_turn(&server, turns).await;
        f["store_round_trips"] = round_trips(&server).await;

        let (ssr, cookie, path) = restore_500(&server).await;
        f["ssr_500_messages"] = ssr;
        if store.name == "sqlite" {
            let url = format!("{}{path}", server.url);
            figures["browser_restore_500"] = browser(&url, Some(&cookie));
            figures["lighthouse_500"] = lighthouse(&url, Some(&cookie), lighthouse_runs);
        }

        standin.set("gemma", Behaviour::slow(500));
        for sessions in [64, 256] {
            f[format!("load_{sessions}")] = load(&server, sessions, load_secs).await;
        }
        f["rss_peak_kb"] = json!(rss_kb(server.pid()).1);
        f["rss_after_load_kb"] = json!(rss_kb(server.pid()).0);
        standin.set("gemma", Behaviour::default());
        drop(server);
        figures[store.name] = f;
    }

    print_table(&figures);
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).expect("output dir");
    }
    std::fs::write(&out, serde_json::to_string_pretty(&figures).expect("JSON"))
        .expect("write figures");
    println!("\nfigures written to {}", out.display());
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "os": std::env::consts::OS,
    })
}

/// Polls `/readyz` every millisecond; `client` is built beforehand so it is not timed.
async fn wait_ready(client: &reqwest::Client, server: &Server) {
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
async fn cold_start(standin: &StandIn, store: &Store) -> Value {
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
async fn first_load(server: &Server) -> Value {
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
async fn per_turn(server: &Server, turns: usize) -> Value {
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
async fn round_trips(server: &Server) -> Value {
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
async fn restore_500(server: &Server) -> (Value, String, String) {
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

/// `sessions` visitors, each sending turns back to back for `secs` seconds.
async fn load(server: &Server, sessions: usize, secs: u64) -> Value {
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
                (latencies, failures)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (l, f) = task.await.expect("visitor task");
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    json!({
        "sessions": sessions,
        "turns": latencies.len(),
        "failures": failures,
        "turns_per_s": round1(latencies.len() as f64 / elapsed),
        "latency_p50_ms": ms(percentile(&mut latencies, 50.0)),
        "latency_p99_ms": ms(percentile(&mut latencies, 99.0)),
    })
}

/// First load to an interactive (hydrated) composer in Chromium, via end2end/bench/first-load.mjs.
fn browser(url: &str, cookie: Option<&str>) -> Value {
    node_json("first-load.mjs", url, "5", cookie)
}

/// Lighthouse's four category scores (mobile preset, Debian Chromium), median of `runs`, via
/// end2end/bench/lighthouse.mjs.
fn lighthouse(url: &str, cookie: Option<&str>, runs: u32) -> Value {
    node_json("lighthouse.mjs", url, &runs.to_string(), cookie)
}

/// Runs one of end2end/bench's Node scripts and reads the JSON object it prints.
fn node_json(script: &str, url: &str, runs: &str, cookie: Option<&str>) -> Value {
    // Run from the repository root (as .ci/bench and .ci/test do); else next to this source.
    let path = [
        PathBuf::from("end2end/bench").join(script),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../end2end/bench")
            .join(script),
    ]
    .into_iter()
    .find(|p| p.exists())
    .unwrap_or_else(|| panic!("end2end/bench/{script} (run from the repository root)"));
    let mut cmd = Command::new("node");
    cmd.arg(&path).arg(url).arg(runs);
    if let Some(c) = cookie {
        cmd.arg(c);
    }
    let out = cmd.output().expect("run node");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{script} prints one JSON object: {e}"))
}

/// (VmRSS, VmHWM) in KiB.
fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn median(v: &mut [Duration]) -> Duration {
    percentile(v, 50.0)
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn print_table(f: &Value) {
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let s = &f["sqlite"];
    let fs = &f["firestore-emulator"];
    let kb = |v: &Value| format!("{:.1} MB", num(v) / 1024.0);
    let rows: Vec<(String, String, String, String)> = vec![
        (
            "cold start to ready (sqlite / firestore)".into(),
            format!(
                "{} ms / {} ms",
                s["cold_start"]["to_ready_ms"], fs["cold_start"]["to_ready_ms"]
            ),
            "9.6 s".into(),
            "≤ 200 ms".into(),
        ),
        (
            "cold start to first page (sqlite)".into(),
            format!("{} ms", s["cold_start"]["to_first_page_ms"]),
            "".into(),
            "".into(),
        ),
        (
            "RSS idle / peak at 256 sessions (sqlite)".into(),
            format!("{} / {}", kb(&s["rss_idle_kb"]), kb(&s["rss_peak_kb"])),
            "155 MB / 170 MB".into(),
            "≤ 30 MB / ≤ 100 MB".into(),
        ),
        (
            "RSS idle / peak (firestore)".into(),
            format!("{} / {}", kb(&fs["rss_idle_kb"]), kb(&fs["rss_peak_kb"])),
            "".into(),
            "".into(),
        ),
        (
            "first load: wire bytes, requests (raw bytes)".into(),
            format!(
                "{:.1} KB, {} ({:.1} KB)",
                num(&f["first_load"]["wire_bytes"]) / 1000.0,
                f["first_load"]["requests"],
                num(&f["first_load"]["raw_bytes"]) / 1000.0
            ),
            "356 KB, 81".into(),
            "≤ 150 KB, ≤ 10".into(),
        ),
        (
            "first load to interactive composer, Chromium".into(),
            format!(
                "{} ms ({} requests, {:.1} KB)",
                f["browser"]["interactive_ms"],
                f["browser"]["requests"],
                num(&f["browser"]["bytes"]) / 1000.0
            ),
            "1.9 s".into(),
            "≤ 300 ms".into(),
        ),
        (
            "per-turn overhead p50 / p99, firestore emulator".into(),
            format!(
                "{} / {} ms",
                fs["per_turn_0ms"]["overhead_p50_ms"], fs["per_turn_0ms"]["overhead_p99_ms"]
            ),
            "150 / 208 ms".into(),
            "≤ 20 / ≤ 50 ms".into(),
        ),
        (
            "per-turn overhead p50 / p99, sqlite".into(),
            format!(
                "{} / {} ms",
                s["per_turn_0ms"]["overhead_p50_ms"], s["per_turn_0ms"]["overhead_p99_ms"]
            ),
            "—".into(),
            "≤ 1 / ≤ 5 ms".into(),
        ),
    ];
    let mut rows = rows;
    rows.push((
        "store round trips per turn / per page load".into(),
        format!(
            "{} / {}",
            fs["store_round_trips"]["per_turn"], fs["store_round_trips"]["per_page_load"]
        ),
        "3 per turn (codelab)".into(),
        "≤ 3 / ≤ 3".into(),
    ));
    for (store, v) in [("sqlite", s), ("firestore", fs)] {
        for n in [64, 256] {
            let l = &v[format!("load_{n}")];
            rows.push((
                format!("turns/s at {n} sessions, 500 ms model ({store})"),
                format!(
                    "{} (p50 {} ms, p99 {} ms, {} failed)",
                    l["turns_per_s"], l["latency_p50_ms"], l["latency_p99_ms"], l["failures"]
                ),
                if n == 64 { "1.6 (p50 30 s)" } else { "—" }.into(),
                if n == 64 {
                    "≥ 121 (≤ 520 ms)"
                } else {
                    "≥ 486"
                }
                .into(),
            ));
        }
    }
    for (store, v) in [("sqlite", s), ("firestore", fs)] {
        rows.push((
            format!("SSR of a 500-message session p50 / p99 ({store})"),
            format!(
                "{} / {} ms ({:.0} KB)",
                v["ssr_500_messages"]["render_p50_ms"],
                v["ssr_500_messages"]["render_p99_ms"],
                num(&v["ssr_500_messages"]["html_bytes"]) / 1000.0
            ),
            "—".into(),
            "≤ 20 ms".into(),
        ));
    }
    rows.push((
        "reload of a 500-message session to interactive, Chromium".into(),
        format!("{} ms", f["browser_restore_500"]["interactive_ms"]),
        "—".into(),
        "".into(),
    ));
    for (page, key) in [
        ("a new chat", "lighthouse"),
        ("a 500-message chat", "lighthouse_500"),
    ] {
        let l = &f[key];
        rows.push((
            format!("Lighthouse mobile: perf / a11y / best pr. / SEO, {page}"),
            format!(
                "{} / {} / {} / {}",
                l["performance"], l["accessibility"], l["best_practices"], l["seo"]
            ),
            if key == "lighthouse" {
                "a11y 95 (Gradio)"
            } else {
                "—"
            }
            .into(),
            "≥ 99 / 100 / 100 / 100".into(),
        ));
    }
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let w2 = rows.iter().map(|r| r.2.chars().count()).max().unwrap_or(0);
    println!(
        "\nhybrid-chat benchmark ({} CPUs: {})\n",
        f["machine"]["cpus"],
        f["machine"]["cpu"].as_str().unwrap_or("")
    );
    println!(
        "{:w0$}  {:w1$}  {:w2$}  target",
        "figure", "measured", "original"
    );
    for (a, b, c, d) in rows {
        println!("{a:w0$}  {b:w1$}  {c:w2$}  {d}");
    }
}
