//! The benchmark: runs the release server against the model stand-in (fixed latency) on the
//! embedded store and on Google's Firestore emulator, prints a table next to the targets and
//! writes the figures as JSON. Run it with `bash .ci/bench` (it builds what it needs first).
//!
//! `bench [OUT.json]`; `BENCH_QUICK=1` shortens the load runs (for a smoke test).

mod browser;
mod files;
mod long;
mod measure;
mod report;
mod stats;

use browser::{browser, lighthouse};
use measure::{
    cold_start, first_load, load, per_turn, restore_500, round_trips, stop_latency, wait_ready,
};
use report::print_table;
use serde_json::{json, Value};
use stats::machine;
use std::path::PathBuf;
use testkit::rss_kb;
use testkit::standin::{self, Behaviour};
use testkit::Emulator;
use testkit::{http, Server, Visitor};

pub(crate) const PROJECT: &str = "hybrid-chat-bench";

/// What the benchmark needs to know about one store.
#[derive(Clone)]
pub(crate) struct Store {
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
    // `BENCH_ONLY=files`: the attachment figures alone, printed (while working on uploads).
    let only_files = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "files");
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
    let gcs = testkit::FakeGcs::start().await;
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
            (
                "ATTACHMENTS_BUCKET".into(),
                testkit::fake_gcs::BUCKET.into(),
            ),
            ("STORAGE_EMULATOR_HOST".into(), gcs.url.clone()),
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

    // Load runs where a turn failed, or the store kept other than what clients were told.
    let mut problems = Vec::new();
    for store in [&sqlite, &firestore] {
        eprintln!("== {}", store.name);
        let mut f = json!({});
        f["cold_start"] = cold_start(&standin, store).await;

        let dir = testkit::tempdir();
        let server = Server::start(dir.path(), &standin.url(), &store.env()).await;
        wait_ready(&http().build().expect("client"), &server).await;
        if only_files {
            let mut figures = files::files(&server, quick).await;
            figures["crowds"] = files::crowds(&standin.url(), &store.env()).await;
            println!("{} files: {figures}", store.name);
            continue;
        }
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
        f["stop"] = stop_latency(&server, &standin, if quick { 5 } else { 30 }).await;

        f["long_chats"] = long::long_chats(&server).await;
        f["files"] = files::files(&server, quick).await;
        f["files"]["crowds"] = files::crowds(&standin.url(), &store.env()).await;
        let (ssr, cookie, path) = restore_500(&server).await;
        f["ssr_500_messages"] = ssr;
        if store.name == "sqlite" {
            let url = format!("{}{path}", server.url);
            figures["browser_restore_500"] = browser(&url, Some(&cookie));
            figures["lighthouse_500"] = lighthouse(&url, Some(&cookie), lighthouse_runs);
        }

        standin.set("gemma", Behaviour::slow(500));
        for sessions in [64, 256] {
            let run = load(&server, sessions, load_secs).await;
            if run["failures"] != 0 || run["stored_turns"] != run["turns"] {
                problems.push(format!("{} load_{sessions}: {run}", store.name));
            }
            f[format!("load_{sessions}")] = run;
        }
        f["rss_peak_kb"] = json!(rss_kb(server.pid()).1);
        f["rss_after_load_kb"] = json!(rss_kb(server.pid()).0);
        standin.set("gemma", Behaviour::default());
        drop(server);
        figures[store.name] = f;
    }

    if only_files {
        return;
    }
    // The abuse suite (`cargo test --test abuse`, run before the bench in CI) leaves its
    // figures beside the build: what each attack cost, peak RSS and store reads among them.
    let abuse = std::env::var("CARGO_TARGET_DIR")
        .ok()
        .and_then(|dir| std::fs::read_to_string(PathBuf::from(dir).join("abuse.json")).ok())
        .and_then(|text| serde_json::from_str::<Value>(&text).ok());
    figures["abuse"] = abuse.unwrap_or(Value::Null);

    print_table(&figures);
    report::print_abuse(&figures["abuse"]);
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).expect("output dir");
    }
    std::fs::write(&out, serde_json::to_string_pretty(&figures).expect("JSON"))
        .expect("write figures");
    println!("\nfigures written to {}", out.display());
    if !problems.is_empty() {
        eprintln!("load runs that failed turns or disagree with the store:");
        for p in &problems {
            eprintln!("  {p}");
        }
        std::process::exit(1);
    }
}
