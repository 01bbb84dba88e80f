//! The printed table: each figure next to its target.

use serde_json::Value;

pub(crate) fn print_table(f: &Value) {
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let s = &f["sqlite"];
    let fs = &f["firestore-emulator"];
    let kb = |v: &Value| format!("{:.1} MB", num(v) / 1024.0);
    let rises = |crowds: &Value, what: &str| {
        [1, 16, 32]
            .map(|n| kb(&crowds[format!("{what}_{n}")]["rss_rise_kb"]))
            .join(" / ")
    };
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
            "a 5 MB picture sent, stored and answered, p50 (sqlite folder / firestore + GCS)"
                .into(),
            format!(
                "{} ms / {} ms",
                s["files"]["upload_5mb_p50_ms"], fs["files"]["upload_5mb_p50_ms"]
            ),
            "".into(),
            "".into(),
        ),
        (
            "a turn's overhead with one 200 KB picture, p50 (sqlite / firestore)".into(),
            format!(
                "{} ms / {} ms",
                s["files"]["picture_overhead_p50_ms"], fs["files"]["picture_overhead_p50_ms"]
            ),
            "".into(),
            "".into(),
        ),
        (
            "RSS rise, 1 / 16 / 32 sessions uploading 5 MB at once (sqlite; firestore)".into(),
            format!(
                "{}; {}",
                rises(&s["files"]["crowds"], "uploads"),
                rises(&fs["files"]["crowds"], "uploads")
            ),
            "".into(),
            "flat".into(),
        ),
        (
            "RSS rise, 1 / 16 / 32 sessions sending a 5 MB picture at once (sqlite; firestore)"
                .into(),
            format!(
                "{}; {}",
                rises(&s["files"]["crowds"], "sends"),
                rises(&fs["files"]["crowds"], "sends")
            ),
            "".into(),
            "flat".into(),
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
        rows.push((
            format!("Stop's answer p50 / p99 ({store})"),
            format!(
                "{} / {} ms",
                v["stop"]["stop_p50_ms"], v["stop"]["stop_p99_ms"]
            ),
            "—".into(),
            "≤ 200 ms".into(),
        ));
    }
    for (store, v) in [("sqlite", s), ("firestore", fs)] {
        for n in [64, 256] {
            let l = &v[format!("load_{n}")];
            rows.push((
                format!("turns/s at {n} sessions, 500 ms model ({store})"),
                format!(
                    "{} (p50 {} ms, p99 {} ms, {} failed, {} of {} stored)",
                    l["turns_per_s"],
                    l["latency_p50_ms"],
                    l["latency_p99_ms"],
                    l["failures"],
                    l["stored_turns"],
                    l["turns"]
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
    let sizes = crate::long::SIZES;
    let each = |v: &Value, f: &dyn Fn(&Value) -> String| {
        sizes
            .iter()
            .map(|n| f(&v["long_chats"][n.to_string()]))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    rows.push((
        "chat page bytes (× its HTML alone), 10 / 300 / 2,000 messages".into(),
        each(s, &|c| {
            format!(
                "{:.1} KB (× {:.2})",
                num(&c["page_bytes"]) / 1000.0,
                num(&c["page_bytes"]) / num(&c["html_bytes"])
            )
        }),
        "—".into(),
        "× ≤ 1.3".into(),
    ));
    rows.push((
        "chat page render p50, 10 / 300 / 2,000 messages (sqlite)".into(),
        each(s, &|c| format!("{} ms", c["render_p50_ms"])),
        "—".into(),
        "≤ 10 ms".into(),
    ));
    for (store, v) in [("sqlite", s), ("firestore", fs)] {
        rows.push((
            format!("messages read per page load / per turn, 10 / 300 / 2,000 ({store})"),
            each(v, &|c| {
                format!("{} / {}", c["reads_per_page_load"], c["reads_per_turn"])
            }),
            "whole chat, every turn".into(),
            "flat".into(),
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

/// The abuse suite's figures, as it printed them: each attack, what it cost, and whether
/// ordinary visitors alongside were served.
pub(crate) fn print_abuse(cases: &Value) {
    let Some(cases) = cases.as_array() else {
        println!(
            "\nabuse suite: no figures (cargo test --release -p server --test abuse writes them)"
        );
        return;
    };
    println!("\nabuse suite (tried / refused or bounded / cost / ordinary visitors)\n");
    for case in cases {
        println!(
            "{:48} {:>5} {:>5}  {}  {}",
            case["case"].as_str().unwrap_or(""),
            case["tried"],
            case["refused"],
            case["cost"].as_str().unwrap_or(""),
            if case["ordinary_visitors_served"] == true {
                "served"
            } else {
                "HURT"
            }
        );
    }
}
