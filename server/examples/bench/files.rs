//! Files in messages: a 5 MB picture from the browser to stored (and answered, Gemma at 0 ms),
//! what one picture adds to a turn, and the server's memory while crowds of sessions upload or
//! send 5 MB pictures at once (`crowds`).

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

    json!({
        "upload_5mb_p50_ms": ms(percentile(&mut big, 50.0)),
        "turn_with_200kb_picture_p50_ms": ms(with_one),
        "turn_without_p50_ms": ms(without),
        "picture_overhead_p50_ms": ms(with_one.saturating_sub(without)),
    })
}

/// What a crowd costs: for 1, 16 and 32 sessions at once, each uploading a 5 MB picture (the
/// composer with JavaScript) or sending one with its message (without), the time each took
/// (p50) and how far the server's RSS rose above its own before. Each crowd meets a server of
/// its own, warmed by one upload and one send, so no crowd pays for what an earlier one left in
/// the allocator. Flat: the rise does not grow with the crowd.
pub(crate) async fn crowds(standin_url: &str, env: &[(&str, &str)]) -> Value {
    let five_mb = png_of_size(2_000, 1_500, 5_000_000);
    let mut figures = json!({});
    for n in [1usize, 16, 32] {
        for sending in [false, true] {
            let dir = testkit::tempdir();
            let server = Server::start(dir.path(), standin_url, env).await;
            crate::measure::wait_ready(&testkit::http().build().expect("client"), &server).await;
            let small = png_of_size(100, 100, 50_000);
            upload(&server, &small).await;
            timed_send(&server, &[("warm.png", small)]).await;
            let pid = server.pid();
            let before = rss_kb(pid).0;
            let (mut each, peak) = sampled(pid, n, || {
                let picture = five_mb.clone();
                let server = &server;
                async move {
                    if sending {
                        timed_send(server, &[("p.png", picture)]).await
                    } else {
                        upload(server, &picture).await
                    }
                }
            })
            .await;
            let what = if sending { "sends" } else { "uploads" };
            figures[format!("{what}_{n}")] = json!({
                "p50_ms": ms(percentile(&mut each, 50.0)),
                "rss_before_kb": before,
                "rss_rise_kb": peak.saturating_sub(before),
            });
        }
    }
    figures
}

async fn upload(server: &Server, picture: &[u8]) -> Duration {
    let mut v = Visitor::new(server);
    let started = Instant::now();
    let reply = v.attach(&[("p.png", picture.to_vec())], 0).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    started.elapsed()
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
