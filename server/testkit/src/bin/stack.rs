//! The stack the Playwright tests run against: `stack SITE_ROOT`.
//!
//! Starts the model stand-ins and three `hybrid-chat` servers on free ports: one open to anyone
//! and one behind "Identity-Aware Proxy" (trusting a key made here, published at the stand-in's
//! JWKS endpoint, and allowing 3 turns an hour per person), each on its own SQLite file, and one
//! open to anyone on Firestore (Google's emulator, started here), the production store. Waits
//! until Gemini can be picked, then prints one JSON line of variables for the tests
//! (`HC_BASE_URL`, `HC_IAP_URL`, `HC_FIRESTORE_URL`, `STANDIN_URL`, `HC_TOKEN_ALICE`…, and `HC_LONG_CHAT` with
//! `HC_LONG_OWNER`: a 2,000-message chat on the open server and its owner's cookie value) and
//! runs until SIGTERM, Ctrl-C or the end of its standard input (the test runner gone).
//!
//! The same `testkit` pieces the Rust tests use, so environment and keys have one source.

use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use testkit::iap::{self, Key, AUDIENCE};
use testkit::{standin, Emulator, FakeGcs, Server};
use tokio::signal::unix::{signal, SignalKind};

#[tokio::main]
async fn main() {
    let Some(site) = std::env::args().nth(1) else {
        eprintln!("usage: stack SITE_ROOT (cargo leptos build --release makes target/site)");
        std::process::exit(2);
    };
    let data = testkit::temp::tempdir_in_tmp("hybrid-chat-e2e-").keep();
    let model = standin::start(0).await;
    let url = model.url();
    // Playwright's waits are sized for a 5 s model timeout.
    let common = [
        ("LEPTOS_SITE_ROOT", site.as_str()),
        ("MODEL_TIMEOUT_SECS", "5"),
        ("MODEL_PROBE_INTERVAL_SECS", "1"),
        // "Ask Gemini instead" after 2 s rather than 15.
        ("OFFER_GEMINI_AFTER_SECS", "2"),
    ];

    // A 2,000-message chat on the open server, written before it starts.
    let (long_chat, long_cookie) = testkit::seed::long_chat(&data.join("open"), 2_000).await;
    let open = Server::start(&data.join("open"), &url, &common).await;

    let key = Key::generate("e2e-iap");
    model.set_jwks(json!({ "keys": [key.jwk.clone()] }));
    let jwks = format!("{url}/iap/jwk");
    let mut iap_env = common.to_vec();
    iap_env.extend([
        ("IAP_AUDIENCE", AUDIENCE),
        ("IAP_JWKS_URL", jwks.as_str()),
        ("TURNS_PER_WINDOW", "3"),
        ("TURN_WINDOW_SECS", "3600"),
    ]);
    let behind_iap = Server::start(&data.join("iap"), &url, &iap_env).await;

    // The production store: the turn-control, pending and two-tab specs run here as well.
    // Its files go to Cloud Storage (fake-gcs-server), as on GKE.
    let emulator = Emulator::start().await;
    let gcs = FakeGcs::start().await;
    let mut firestore_env = common.to_vec();
    firestore_env.extend([
        ("CHAT_STORE", "firestore"),
        ("FIRESTORE_EMULATOR_HOST", emulator.host.as_str()),
        ("GOOGLE_CLOUD_PROJECT", "hybrid-chat-e2e"),
        ("OWNER_KEY", testkit::OWNER_KEY),
        ("ATTACHMENTS_BUCKET", testkit::fake_gcs::BUCKET),
        ("STORAGE_EMULATOR_HOST", gcs.url.as_str()),
    ]);
    let on_firestore = Server::start(&data.join("firestore"), &url, &firestore_env).await;

    // Credentials are looked for in the background.
    open.wait_for_gemini().await;
    on_firestore.wait_for_gemini().await;

    let mut vars = Map::new();
    vars.insert("HC_BASE_URL".into(), open.url.clone().into());
    vars.insert("HC_IAP_URL".into(), behind_iap.url.clone().into());
    vars.insert("HC_FIRESTORE_URL".into(), on_firestore.url.clone().into());
    vars.insert("STANDIN_URL".into(), url.clone().into());
    vars.insert("HC_LONG_CHAT".into(), long_chat.into());
    let owner = long_cookie.trim_start_matches("hc_owner=").to_string();
    vars.insert("HC_LONG_OWNER".into(), owner.into());
    for who in ["alice", "bob", "carol"] {
        let mut claims = iap::claims(&format!("{who}@example.com"));
        // Valid for the whole run.
        claims["exp"] = json!(iap::now() + 3600);
        let token = Value::from(key.sign(&claims));
        vars.insert(format!("HC_TOKEN_{}", who.to_uppercase()), token);
    }
    println!("{}", Value::Object(vars));
    let _ = std::io::stdout().flush();
    eprintln!("stack: server logs in {}", data.display());

    let stdin_closed = tokio::task::spawn_blocking(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
    });
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = stdin_closed => {}
    }
    // Dropping the servers stops them.
    drop((open, behind_iap, on_firestore, emulator, gcs, model));
}
