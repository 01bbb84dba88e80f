//! The pod's memory under the heaviest reads there are: 40 page loads and 10 exports at once of
//! a 2,000-message chat whose every message is as large as the app accepts (128 MB of text).
//! The pod's limit is 256 MiB (deploy/chat-deploy.yaml); the server's peak must stay under it.

use super::Case;
use std::time::Instant;
use testkit::{standin, Server, Visitor};

const MESSAGES: usize = 2_000;
const POD_LIMIT_KB: u64 = 256 * 1024;

/// (VmRSS, VmHWM) of a process, in KiB.
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

pub async fn heavy_reads() -> Case {
    let mut case = Case::new("40 page loads + 10 exports, 2,000 × 64 KB");
    let model = standin::start(0).await;
    let dir = testkit::tempdir();
    let seeding = Instant::now();
    let (chat, cookie) = testkit::seed::heaviest_chat(dir.path(), MESSAGES).await;
    let seeded = seeding.elapsed();
    let server = Server::start(dir.path(), &model.url(), &[]).await;
    let (_, before_kb) = rss_kb(server.pid());
    let client = testkit::http().build().expect("client");
    let started = Instant::now();
    let pages = (0..40).map(|_| {
        let request = client
            .get(format!("{}/c/{chat}", server.url))
            .header("cookie", &cookie);
        async move {
            let page = request.send().await.ok()?;
            let status = page.status().as_u16();
            let body = page.text().await.ok()?;
            Some((status, body.len(), body.contains("answer 999: ")))
        }
    });
    let exports = (0..10).map(|i| {
        let ext = if i % 2 == 0 { "md" } else { "json" };
        let request = client
            .get(format!("{}/export/{chat}.{ext}", server.url))
            .header("cookie", &cookie);
        async move {
            let mut response = request.send().await.ok()?;
            let status = response.status().as_u16();
            // Counted as it arrives, not kept: the client must not be the one to run out.
            let (mut bytes, mut last) = (0usize, Vec::new());
            while let Some(chunk) = response.chunk().await.ok()? {
                bytes += chunk.len();
                last = chunk.to_vec();
            }
            let whole = ext == "md" || String::from_utf8_lossy(&last).trim_end().ends_with('}');
            Some((status, bytes, whole))
        }
    });
    let ordinary = async {
        let mut visitor = Visitor::new(&server);
        visitor
            .send("an ordinary turn meanwhile", "gemma")
            .await
            .status
    };
    let (pages, exports, ordinary) = tokio::join!(
        futures::future::join_all(pages),
        futures::future::join_all(exports),
        ordinary
    );
    let elapsed = started.elapsed();
    let (_, peak_kb) = rss_kb(server.pid());
    for page in &pages {
        case.attempt(matches!(page, Some((200, _, true))), || {
            format!("a page load: {page:?}")
        });
    }
    let text_bytes = MESSAGES * app::params::MAX_MESSAGE_BYTES;
    for export in &exports {
        case.attempt(
            matches!(export, Some((200, bytes, true)) if *bytes >= text_bytes),
            || format!("an export: {export:?} (at least {text_bytes} bytes)"),
        );
    }
    case.ordinary(ordinary == 200, || format!("an ordinary turn: {ordinary}"));
    case.require(peak_kb < POD_LIMIT_KB, || {
        format!("peak RSS {} MiB, over the pod's 256 MiB", peak_kb / 1024)
    });
    let largest_page = pages.iter().flatten().map(|p| p.1).max().unwrap_or(0);
    case.cost = format!(
        "peak RSS {} MiB (from {} MiB); pages ≤ {} KB; {:.1} s (seeded in {:.1} s)",
        peak_kb / 1024,
        before_kb / 1024,
        largest_page / 1000,
        elapsed.as_secs_f64(),
        seeded.as_secs_f64()
    );
    case
}
