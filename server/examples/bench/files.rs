//! Files in messages: a 5 MB picture from the browser to stored (and answered, Gemma at 0 ms),
//! what one picture adds to a turn, and the server's memory while 16 sessions send 5 MB
//! pictures at once (each file is read, stripped and stored, never held twice over).

use crate::stats::{ms, percentile};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use testkit::files::png_of_size;
use testkit::{rss_kb, SendForm, Server, Visitor};

async fn timed_send(server: &Server, files: &[(&str, Vec<u8>)]) -> Duration {
    let mut v = Visitor::new(server);
    v.get("/").await;
    let form = SendForm::new("what is in this picture?").model("gemma");
    let started = Instant::now();
    let reply = v.send_files("/api/send", &form, files, false).await;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, 200, "{}", reply.body);
    elapsed
}

pub(crate) async fn files(server: &Server, quick: bool) -> Value {
    let runs = if quick { 3 } else { 15 };
    let five_mb = png_of_size(2_000, 1_500, 5_000_000);
    let small = png_of_size(800, 600, 200_000);
    let (mut big, mut one, mut none) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        big.push(timed_send(server, &[("big.png", five_mb.clone())]).await);
        one.push(timed_send(server, &[("small.png", small.clone())]).await);
        none.push(timed_send(server, &[]).await);
    }
    let with_one = percentile(&mut one, 50.0);
    let without = percentile(&mut none, 50.0);

    // 16, then 32 sessions at once, each uploading a 5 MB picture (the composer with
    // JavaScript), then each sending one with its message (without); RSS sampled every 10 ms.
    // Flat: the peak does not grow with the number of sessions.
    let pid = server.pid();
    let before = rss_kb(pid).0;
    let upload = || async {
        let mut v = Visitor::new(server);
        let started = Instant::now();
        let reply = v.attach(&[("p.png", five_mb.clone())], 0).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        started.elapsed()
    };
    let send = || {
        let picture = five_mb.clone();
        async move { timed_send(server, &[("p.png", picture)]).await }
    };
    let (mut uploads, upload_peak) = sampled(pid, 16, upload).await;
    let (_, upload_peak_32) = sampled(pid, 32, upload).await;
    let (mut each, peak) = sampled(pid, 16, send).await;
    let (_, peak_32) = sampled(pid, 32, send).await;
    json!({
        "upload_5mb_p50_ms": ms(percentile(&mut big, 50.0)),
        "turn_with_200kb_picture_p50_ms": ms(with_one),
        "turn_without_p50_ms": ms(without),
        "picture_overhead_p50_ms": ms(with_one.saturating_sub(without)),
        "concurrent_16x5mb_p50_ms": ms(percentile(&mut each, 50.0)),
        "concurrent_16x5mb_uploads_p50_ms": ms(percentile(&mut uploads, 50.0)),
        "rss_peak_16x5mb_uploads_kb": upload_peak,
        "rss_peak_32x5mb_uploads_kb": upload_peak_32,
        "rss_peak_32x5mb_kb": peak_32,
        "rss_before_16x5mb_kb": before,
        "rss_peak_16x5mb_kb": peak,
    })
}

/// Runs `one` `n` times at once, sampling the server's RSS every 10 ms: each run's time, and
/// the peak.
async fn sampled<F, Fut>(pid: u32, n: usize, one: F) -> (Vec<Duration>, u64)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let done = AtomicBool::new(false);
    let runs = async {
        let each = futures::future::join_all((0..n).map(|_| one())).await;
        done.store(true, Ordering::SeqCst);
        each
    };
    let sampler = async {
        let mut peak = rss_kb(pid).0;
        while !done.load(Ordering::SeqCst) {
            peak = peak.max(rss_kb(pid).0);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        peak
    };
    tokio::join!(runs, sampler)
}
