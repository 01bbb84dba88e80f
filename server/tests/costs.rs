//! What each answer costs, through the real binary on SQLite and on Firestore (Google's
//! emulator), against the stand-ins, which report usage as Vertex AI and vLLM do. Every expected
//! figure comes from what the stand-ins reported (read back from the JSON export) and the prices
//! configured here, never from numbers written into the test: under each reply, the chat's
//! total, both exports, the Models page for a period, the break-even sentence, and the
//! operators' spend per person and CSV ledger.

use app::cost::dollars;
use serde_json::Value;
use testkit::standin::{Behaviour, Fault};
use testkit::{Emulator, Stack, Visitor};

#[path = "costs/ceilings.rs"]
mod ceilings;

/// Prices that make each token and millisecond a whole number of nano-dollars: Gemini $1,000
/// per million input tokens and $3,000 per million output, Gemma's GPU $36,000 an hour.
const PRICES: [(&str, &str); 3] = [
    ("GEMINI_USD_PER_M_INPUT", "1000"),
    ("GEMINI_USD_PER_M_OUTPUT", "3000"),
    ("GEMMA_GPU_USD_PER_HOUR", "36000"),
];

/// The cell `figure` of `model`'s row in the section `section` of the Models page.
fn cell(page: &str, section: &str, model: &str, figure: &str) -> String {
    let start = page
        .find(&format!(r#"data-figures="{section}""#))
        .unwrap_or_else(|| panic!("no {section} section in {page}"));
    let row = &page[start..];
    let row = &row[row
        .find(&format!(r#"data-model="{model}""#))
        .unwrap_or_else(|| panic!("no {model} row in {page}"))..];
    let needle = format!(r#"data-figure="{figure}">"#);
    let at = row.find(&needle).expect("cell") + needle.len();
    row[at..at + row[at..].find('<').expect("end of cell")].to_string()
}

/// The chat's messages and session from its JSON export.
async fn export(me: &mut Visitor, chat: &str) -> (Vec<Value>, Value) {
    let r = me.get(&format!("/export/{chat}.json")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let json = r.json();
    let messages = json["messages"].as_array().expect("messages").clone();
    (messages, json["session"].clone())
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// What a Gemini call costs at [`PRICES`], from the usage it stored.
fn gemini_cost(usage: &Value) -> u64 {
    n(&usage["prompt_tokens"]) * 1_000_000
        + (n(&usage["completion_tokens"]) + n(&usage["thinking_tokens"])) * 3_000_000
}

async fn costs(env: &[(&str, &str)]) {
    let mut env = env.to_vec();
    env.extend(PRICES);
    env.push(("OPERATORS", "*"));
    let (_dir, model, server) = Stack::start(&env).await.into_parts();
    let mut me = Visitor::new(&server);

    // Gemini, thinking as it does by default: its input, answer and thinking are billed.
    assert_eq!(me.send("how much is this", "gemini").await.status, 200);
    let chat = me.session();
    // Gemma, alone on its GPU for about 300 ms: that share of the hour.
    model.set("gemma", Behaviour::slow(300));
    assert_eq!(me.send("and this one", "gemma").await.status, 200);
    // Gemini out of tokens after thinking: no answer, but billed.
    model.set("gemini", Behaviour::fault(Fault::MaxTokensNoText));
    let failed = me.send("think hard", "gemini").await;
    assert!(failed.status >= 400, "{}", failed.body);
    model.set("gemini", Behaviour::default());

    let (messages, session) = export(&mut me, &chat).await;
    let gemini = &messages[1];
    assert_eq!(gemini["model"], "gemini");
    assert!(n(&gemini["usage"]["thinking_tokens"]) > 0, "{gemini}");
    let gemini_nano = gemini_cost(&gemini["usage"]);
    assert_eq!(n(&gemini["cost"]["nano_usd"]), gemini_nano, "{gemini}");
    let gemma = &messages[3];
    assert_eq!(gemma["model"], "gemma");
    let gpu_ms = n(&gemma["cost"]["gpu_ms"]);
    let latency = n(&gemma["latency_ms"]);
    assert!(
        (250..=latency + 1).contains(&gpu_ms),
        "alone, Gemma held about its wall time: {gpu_ms} of {latency} ms"
    );
    // $36,000 an hour is $0.01 a millisecond.
    let gemma_nano = gpu_ms * 10_000_000;
    assert_eq!(n(&gemma["cost"]["nano_usd"]), gemma_nano, "{gemma}");
    let billed = &messages[4];
    assert_eq!(billed["status"], "failed", "{billed}");
    let billed_nano = gemini_cost(&billed["usage"]);
    assert!(billed_nano > 0, "{billed}");
    assert_eq!(n(&billed["cost"]["nano_usd"]), billed_nano, "{billed}");
    let total = gemini_nano + gemma_nano + billed_nano;
    assert_eq!(n(&session["cost_nano"]), total, "{session}");

    // Under each reply and under the title, rendered on the server (no JavaScript needed).
    let page = me.get(&format!("/c/{chat}")).await.body;
    assert!(page.contains(&dollars(gemini_nano)), "{page}");
    assert!(
        page.contains(&format!("≈ {} of GPU time", dollars(gemma_nano))),
        "{page}"
    );
    assert!(
        page.contains(&format!("Spent in this chat: {}", dollars(total))),
        "{page}"
    );
    let md = me.get(&format!("/export/{chat}.md")).await.body;
    assert!(
        md.contains(&format!("Spent in this chat: {}", dollars(total))),
        "{md}"
    );
    assert!(
        md.contains(&format!("· {}\n", dollars(gemini_nano))),
        "{md}"
    );

    // The Models page for today: spend, mean and per 1,000 output tokens, from the same figures.
    let models = me.get("/models?period=today").await.body;
    assert_eq!(
        cell(&models, "yours", "gemini", "spend"),
        dollars(gemini_nano + billed_nano)
    );
    assert_eq!(
        cell(&models, "yours", "gemma", "spend"),
        dollars(gemma_nano)
    );
    // One priced Gemini reply: its mean cost is the whole spend, the billed failure's included.
    assert_eq!(
        cell(&models, "yours", "gemini", "mean-cost"),
        dollars(gemini_nano + billed_nano)
    );
    let out = n(&gemini["usage"]["completion_tokens"]) + n(&gemini["usage"]["thinking_tokens"]);
    assert_eq!(
        cell(&models, "yours", "gemini", "per-1k"),
        dollars(((gemini_nano + billed_nano) as f64 * 1_000.0 / out as f64).round() as u64)
    );
    assert!(models.contains(r#"data-figure="break-even""#), "{models}");
    assert!(models.contains("Method: Gemma's GPU nodes cost $36000.00 an hour"));
    assert!(models.contains(r#"<svg viewBox"#), "the chart: {models}");
    // All time agrees with today: every figure here is from today.
    let all = me.get("/models?period=all").await.body;
    assert_eq!(
        cell(&all, "yours", "gemini", "spend"),
        dollars(gemini_nano + billed_nano)
    );
    assert!(all.contains(r#"href="/models?period=all" aria-current="page""#));

    // Two Gemma replies at once, each on the GPU for about 600 ms: each held about half of it.
    model.set("gemma", Behaviour::slow(600));
    let (mut a, mut b) = (Visitor::new(&server), Visitor::new(&server));
    let (ra, rb) = tokio::join!(a.send("first at once", "gemma"), b.send("second", "gemma"));
    assert_eq!((ra.status, rb.status), (200, 200));
    let mut held = 0;
    for v in [&mut a, &mut b] {
        let chat = v.session();
        let (messages, _) = export(v, &chat).await;
        let (gpu, latency) = (
            n(&messages[1]["cost"]["gpu_ms"]),
            n(&messages[1]["latency_ms"]),
        );
        assert!(
            gpu * 4 < latency * 3,
            "shared, a reply holds less than its wall time: {gpu} of {latency} ms"
        );
        held += gpu;
    }
    assert!(
        held <= 700,
        "two shares of about 600 ms of GPU add up to about 600 ms: {held}"
    );

    // The operator's view: spend per person, and the ledger.
    let models = me.get("/models?period=7d").await.body;
    let owner = me.owner().chars().take(12).collect::<String>();
    assert!(
        models.contains(&format!(r#"<tr data-owner="{owner}">"#)),
        "{models}"
    );
    let csv = me.get("/models.csv?period=7d").await;
    assert_eq!(csv.status, 200);
    let mine: Vec<&str> = csv
        .body
        .lines()
        .filter(|l| l.contains(&me.owner()) && l.contains(",gemini,"))
        .collect();
    assert_eq!(mine.len(), 1, "{}", csv.body);
    let spend = mine[0].rsplit(',').next().expect("spend");
    let nano: u64 = spend.replace('.', "").parse().expect("spend in dollars");
    assert_eq!(nano, gemini_nano + billed_nano, "{}", mine[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn costs_on_sqlite() {
    costs(&[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn costs_on_firestore() {
    let emulator = Emulator::start().await;
    let env = emulator.server_env("hybrid-chat-costs");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    costs(&env).await;
}

/// The break-even sentence for one GPU price, after `gemma` Gemma replies and one Gemini reply,
/// on SQLite or, with an emulator, on a Firestore project of its own.
async fn break_even(emulator: Option<&Emulator>, gpu_per_hour: &str, gemma: usize) -> String {
    let project = format!("hybrid-chat-break-even-{}", gpu_per_hour.replace('.', "-"));
    let store_env = emulator.map_or_else(Vec::new, |e| e.server_env(&project));
    let mut env: Vec<(&str, &str)> = store_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("GEMMA_GPU_USD_PER_HOUR", gpu_per_hour));
    let (_dir, model, server) = Stack::start(&env).await.into_parts();
    model.set("gemma", Behaviour::slow(20));
    let mut me = Visitor::new(&server);
    for i in 0..gemma {
        assert_eq!(me.send(&format!("gemma {i}"), "gemma").await.status, 200);
    }
    assert_eq!(me.send("gemini", "gemini").await.status, 200);
    let page = me.get("/models?period=today").await.body;
    let at = page
        .find(r#"<p data-figure="break-even">"#)
        .expect("sentence")
        + 28;
    page[at..at + page[at..].find("</p>").expect("end")].to_string()
}

async fn break_evens(emulator: Option<&Emulator>) {
    // Nodes almost free: Gemma is cheaper at any traffic.
    let s = break_even(emulator, "0.000001", 2).await;
    assert!(
        s.contains("Gemma is the cheaper one; it stays so above"),
        "{s}"
    );
    // $1 an hour for two replies today: Gemini is cheaper, until Gemma's traffic grows.
    let s = break_even(emulator, "1", 2).await;
    assert!(
        s.contains("Gemini is the cheaper one; Gemma becomes cheaper from"),
        "{s}"
    );
    assert!(s.contains("idle"), "{s}");
    // A GPU so dear that even its busy time costs more than Gemini: never.
    let s = break_even(emulator, "1000000", 2).await;
    assert!(
        s.starts_with("Gemma is never the cheaper one at any volume"),
        "{s}"
    );
    // No Gemma traffic: what it would need.
    let s = break_even(emulator, "4.0017", 0).await;
    assert!(s.starts_with("No Gemma replies in your chats"), "{s}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_break_even_says_which_model_is_cheaper_at_the_traffic_on_sqlite() {
    break_evens(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_break_even_says_which_model_is_cheaper_at_the_traffic_on_firestore() {
    break_evens(Some(&Emulator::start().await)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_operators_read_the_ledger_and_a_period_reads_its_days_only() {
    let (_dir, _model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("hi", "gemini").await.status, 200);
    let csv = me.get("/models.csv?period=30d").await;
    assert_eq!(csv.status, 403, "{}", csv.body);
    let page = me.get("/models").await.body;
    assert!(!page.contains("Download the ledger"), "{page}");

    // An operator's server on the same file, with 5 Gemini replies counted 10 days ago.
    let db = server.sqlite_path();
    drop(server);
    let today = app::tally::day_of(app::chat::ssr::now_ms());
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute(
        "INSERT INTO day_tallies (day, owner, key, value) VALUES (?1, 'earlier', 'gemini_replies', 5)",
        [today - 10],
    )
    .expect("insert");
    drop(conn);
    let stack = Stack::start(&[
        ("OPERATORS", "*"),
        ("SQLITE_PATH", db.to_str().expect("path")),
    ])
    .await;
    let mut me = Visitor::new(&stack.server);
    let week = me.get("/models?period=7d").await.body;
    assert_eq!(cell(&week, "everyone", "gemini", "replies"), "1", "{week}");
    let month = me.get("/models?period=30d").await.body;
    assert_eq!(
        cell(&month, "everyone", "gemini", "replies"),
        "6",
        "{month}"
    );
    let csv = me.get("/models.csv?period=30d").await.body;
    assert!(csv.contains(",earlier,,gemini,5,"), "{csv}");
    let csv = me.get("/models.csv?period=7d").await.body;
    assert!(!csv.contains("earlier"), "{csv}");
}
