//! The one test kit of hybrid-chat (dev-only; never part of the shipped server):
//! - [`standin`]: HTTP servers speaking vLLM's, Vertex AI's, OAuth's and IAP's wire formats, with
//!   switches for latency and faults ([`Behaviour`]);
//! - [`Server`]: the real `hybrid-chat` binary on a temp SQLite file, and [`Visitor`], a browser
//!   tab talking to it over HTTP; [`Stack`] puts the three together;
//! - [`in_process`]: the same app in-process through `tower::ServiceExt::oneshot`;
//! - [`Emulator`]: Google's Firestore emulator; [`FakeGcs`]: fake-gcs-server, for Cloud Storage; [`iap`]: IAP's keys and assertions;
//! - [`rows`]: what a SQLite file holds, read straight from it; [`seed`]: long chats written
//!   into it.
//!
//! The binaries `standin` and `stack` run the same pieces for Playwright and for a person.

pub mod emulator;
pub mod env;
pub mod fake_gcs;
pub mod files;
pub mod form;
pub mod iap;
pub mod in_process;
pub mod process;
pub mod rows;
pub mod seed;
pub mod stack;
pub mod standin;
pub mod temp;
pub mod visitor;

pub use emulator::Emulator;
pub use fake_gcs::FakeGcs;
pub use form::{urlencode, SendForm};
pub use process::{server_binary, Server};
pub use rows::{count_all_messages, stored_messages, turn_rows, whole_turns};
pub use stack::Stack;
pub use standin::{Behaviour, Fault, StandIn};
pub use temp::{tempdir, TempDir};
pub use visitor::{Reply, Visitor};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// An RSA key made for this test run (PKCS#8 PEM), as in a service-account key file.
fn test_private_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        let out = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ])
            .output()
            .expect("run openssl to generate a test key");
        assert!(out.status.success(), "openssl genpkey failed");
        String::from_utf8(out.stdout).expect("PEM is ASCII")
    })
}

/// `OWNER_KEY` for servers on Firestore, which must be given one (every replica shares it).
pub const OWNER_KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// An `extra_env` value that removes the variable instead of setting it.
pub const UNSET: &str = "\0unset";

/// The owner cookie the server in `dir` (its SQLite file there) would issue to `owner`: signed
/// with the key it keeps beside the database (made here first if the server has not started).
pub fn owner_cookie(dir: &Path, owner: &app::session::OwnerId) -> String {
    let key = server::owner_key::load_or_create(&dir.join("owner.key")).expect("owner key");
    format!("hc_owner={}", key.sign(owner))
}

/// Bytes of a page's inline scripts that carry Leptos's hydration data (`__RESOLVED_RESOURCES`):
/// what the page sends beyond its HTML.
pub fn hydration_bytes(page: &str) -> usize {
    page.split("<script")
        .filter_map(|s| s.split_once("</script>").map(|(body, _)| body))
        .filter(|body| body.contains("__RESOLVED_RESOURCES"))
        .map(str::len)
        .sum()
}

/// Writes a service-account key whose `token_uri` is the stand-in's OAuth endpoint; gcp_auth
/// signs a JWT with it and exchanges it there, exactly as it would with Google.
pub fn write_service_account_key(dir: &Path, standin_url: &str) -> PathBuf {
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": "standin-project",
        "private_key_id": "test-key-1",
        "private_key": test_private_key(),
        "client_email": "hybrid-chat@standin-project.iam.gserviceaccount.com",
        "client_id": "1",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": format!("{standin_url}/token"),
    });
    std::fs::create_dir_all(dir).expect("key dir");
    let path = dir.join("service-account.json");
    std::fs::write(&path, key.to_string()).expect("write key");
    path
}

/// reqwest is built without a default TLS provider; pick ring, as the server does.
pub fn http() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// (VmRSS, VmHWM) of a process, in KiB: its resident memory now and at its peak.
pub fn rss_kb(pid: u32) -> (u64, u64) {
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The HTTP status a failed server function must answer with, by the error's JSON (the
/// API contract, written out here independently of the server's mapping).
pub fn status_for(error: &serde_json::Value) -> u16 {
    let text = error.to_string();
    let has = |k: &str| text.contains(&format!("\"{k}\""));
    if has("Input") || has("Transport") {
        400
    } else if has("NoSuchChat") {
        404
    } else if has("NoOwner") {
        403
    } else if has("NotSaved") || has("Store") || has("Busy") || has("NotConfigured") {
        503
    } else if has("TimedOut") {
        504
    } else if has("Rejected") || has("Blocked") || has("OutOfTokens") || has("ContextTooLong") {
        422
    } else {
        502
    }
}

/// The value of one sample in `/metrics` text (name with its labels, exactly), or 0 if absent.
pub fn metric(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Waits until `ready` holds, asking every 20 ms; panics naming `what` after `within`. Tests wait
/// on the condition itself, never on a fixed sleep that a slow machine can outrun.
pub async fn until<F, Fut>(what: &str, within: std::time::Duration, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if ready().await {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited {within:?} for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
