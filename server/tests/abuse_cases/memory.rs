//! The pod's memory under the heaviest reads there are: 40 page loads and 10 exports at once of
//! a 2,000-message chat whose every message is as large as the app accepts (128 MB of text);
//! and under a crowd of the largest pictures, uploaded and sent at once to a model that takes
//! its time. The pod's limit is 256 MiB (deploy/chat-deploy.yaml); the server's peak must stay
//! under it.

use super::Case;
use std::time::Instant;
use testkit::{rss_kb, standin, Server, Visitor};

const MESSAGES: usize = 2_000;
const POD_LIMIT_KB: u64 = 256 * 1024;

/// The pod's memory limit, made real where this machine lets us: the server moved into a
/// memory cgroup of 256 MiB (v1 or v2), as the kubelet would put it. Where no cgroup can be
/// made, the peak RSS alone is judged against the limit, and the case says so.
struct PodLimit {
    dir: std::path::PathBuf,
    root: std::path::PathBuf,
    v2: bool,
    pid: u32,
}

impl PodLimit {
    fn apply(pid: u32) -> Option<PodLimit> {
        let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
        let root = std::path::PathBuf::from(if v2 {
            "/sys/fs/cgroup"
        } else {
            "/sys/fs/cgroup/memory"
        });
        let dir = root.join(format!("hybrid-chat-abuse-{pid}"));
        std::fs::create_dir(&dir).ok()?;
        let limit = (POD_LIMIT_KB * 1024).to_string();
        let file = if v2 {
            "memory.max"
        } else {
            "memory.limit_in_bytes"
        };
        let limited = std::fs::write(dir.join(file), &limit).is_ok()
            && std::fs::write(dir.join("cgroup.procs"), pid.to_string()).is_ok();
        let pod = PodLimit { dir, root, v2, pid };
        limited.then_some(pod)
    }

    /// The cgroup's peak, in KiB (page cache included, as the kubelet counts it).
    fn peak_kb(&self) -> u64 {
        let file = if self.v2 {
            "memory.peak"
        } else {
            "memory.max_usage_in_bytes"
        };
        std::fs::read_to_string(self.dir.join(file))
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(0, |b| b / 1024)
    }
}

impl Drop for PodLimit {
    fn drop(&mut self) {
        let _ = std::fs::write(self.root.join("cgroup.procs"), self.pid.to_string());
        let _ = std::fs::remove_dir(&self.dir);
    }
}

pub async fn heavy_reads() -> Case {
    let mut case = Case::new("40 page loads + 10 exports, 2,000 × 64 KB");
    let model = standin::start(0).await;
    let dir = testkit::tempdir();
    let seeding = Instant::now();
    let (chat, cookie) = testkit::seed::heaviest_chat(dir.path(), MESSAGES).await;
    let seeded = seeding.elapsed();
    let server = Server::start(dir.path(), &model.url(), &[]).await;
    let pod = PodLimit::apply(server.pid());
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
    let ((pages, exports), peak_kb) = beside_an_ordinary_turn(&server, &mut case, async {
        tokio::join!(
            futures::future::join_all(pages),
            futures::future::join_all(exports)
        )
    })
    .await;
    let elapsed = started.elapsed();
    let limit = pod_words(&pod, "");
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
    let largest_page = pages.iter().flatten().map(|p| p.1).max().unwrap_or(0);
    case.cost = format!(
        "peak RSS {} MiB (from {} MiB), {limit}; pages ≤ {} KB; {:.1} s (seeded in {:.1} s)",
        peak_kb / 1024,
        before_kb / 1024,
        largest_page / 1000,
        elapsed.as_secs_f64(),
        seeded.as_secs_f64()
    );
    drop(server);
    drop(pod);
    case
}

/// 24 visitors upload a picture of nearly the largest size at once (the composer with
/// JavaScript) while 24 more send one with their message (without), to a Gemma that takes
/// 300 ms a reply: 312 MB of pictures in all. Every one is taken; the peak stays under the pod's
/// limit (before files streamed to disk, 16 sends of 5 MB peaked at 247–329 MB).
pub async fn crowd_of_pictures() -> Case {
    const EACH: usize = 6_500_000;
    let mut case = Case::new("24 uploads + 24 sends of 6.5 MB pictures at once");
    let model = standin::start(300).await;
    let dir = testkit::tempdir();
    // The spool on disk, as the Deployment's emptyDir is (not a tmpfs, which would be memory).
    let spool = dir.path().join("spool");
    let spool = spool.display().to_string();
    let server = Server::start(
        dir.path(),
        &model.url(),
        &[
            ("UPLOAD_SPOOL_DIR", spool.as_str()),
            ("MODEL_TIMEOUT_SECS", "30"),
        ],
    )
    .await;
    let pod = PodLimit::apply(server.pid());
    let (_, before_kb) = rss_kb(server.pid());
    let picture = testkit::files::png_of_size(2_000, 1_500, EACH);
    let started = Instant::now();
    let uploads = (0..24).map(|_| {
        let server = &server;
        let picture = picture.clone();
        async move {
            let mut v = Visitor::new(server);
            v.attach(&[("p.png", picture)], 0).await.status
        }
    });
    let sends = (0..24).map(|_| {
        let server = &server;
        let picture = picture.clone();
        async move {
            let mut v = Visitor::new(server);
            let form = testkit::SendForm::new("what is in this picture?").model("gemma");
            v.send_files("/api/send", &form, &[("p.png", picture)], false)
                .await
                .status
        }
    });
    let ((uploads, sends), peak_kb) = beside_an_ordinary_turn(&server, &mut case, async {
        tokio::join!(
            futures::future::join_all(uploads),
            futures::future::join_all(sends)
        )
    })
    .await;
    let elapsed = started.elapsed();
    for (what, status) in uploads
        .iter()
        .map(|s| ("an upload", s))
        .chain(sends.iter().map(|s| ("a send", s)))
    {
        case.require(*status == 200, || format!("{what} was answered {status}"));
    }
    // The spool's page cache counts in the cgroup too; the kernel writes it back and reclaims
    // it at the limit rather than kill anything.
    let limit = pod_words(&pod, " with the spool's page cache");
    case.cost = format!(
        "peak RSS {} MiB (from {} MiB), {limit}; {:.1} s",
        peak_kb / 1024,
        before_kb / 1024,
        elapsed.as_secs_f64()
    );
    drop(server);
    drop(pod);
    case
}

/// Runs `load` beside an ordinary visitor's turn, then judges what every case here judges: the
/// server still serving (under a real limit an OOM kill would have ended it), the ordinary
/// turn served, the peak RSS under the pod's limit. What `load` gave, and that peak.
async fn beside_an_ordinary_turn<T>(
    server: &Server,
    case: &mut Case,
    load: impl std::future::Future<Output = T>,
) -> (T, u64) {
    let ordinary = async {
        let mut visitor = Visitor::new(server);
        visitor
            .send("an ordinary turn meanwhile", "gemma")
            .await
            .status
    };
    let (out, ordinary) = tokio::join!(load, ordinary);
    let (_, peak_kb) = rss_kb(server.pid());
    let alive = Visitor::new(server).get("/healthz").await.status == 200;
    case.require(alive, || "the server did not survive".into());
    case.ordinary(ordinary == 200, || format!("an ordinary turn: {ordinary}"));
    case.require(peak_kb < POD_LIMIT_KB, || {
        format!("peak RSS {} MiB, over the pod's 256 MiB", peak_kb / 1024)
    });
    (out, peak_kb)
}

/// Where the case ran: in a 256 MiB cgroup (its peak, `what` it counted), or judged by RSS.
fn pod_words(pod: &Option<PodLimit>, what: &str) -> String {
    match pod {
        Some(pod) => format!(
            "in a 256 MiB cgroup, its peak {} MiB{what}",
            pod.peak_kb() / 1024
        ),
        None => "no cgroup could be made here: RSS judged alone".into(),
    }
}
