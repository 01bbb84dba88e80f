//! Per-visitor limits: a polite refusal that stores nothing and says when it resets, counters
//! kept in the store (so they survive a restart), and a window that really ends.

use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use testkit::standin::{Behaviour, Fault};
use testkit::{count_all_messages, Server, Stack, Visitor};

/// Long enough for two sends, a full restart and a third send with a wide margin (they take
/// about 2 s here; the window was once 3 s), short enough that waiting for windows keeps the
/// test quick.
const WINDOW_SECS: u64 = 10;

/// Waits for the start of the next fixed window: the turns that follow fall inside one window,
/// and those sent before are in an earlier one.
async fn start_of_window() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let window = WINDOW_SECS * 1000;
    tokio::time::sleep(Duration::from_millis(window - now % window + 50)).await;
}

fn refused_count(metrics: &str, limit: &str) -> f64 {
    testkit::metric(
        metrics,
        &format!(r#"hybrid_chat_turns_refused_total{{limit="{limit}"}}"#),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_turn_limit_refuses_politely_survives_a_restart_and_lifts_when_the_window_ends() {
    let window = WINDOW_SECS.to_string();
    let env = [
        ("TURNS_PER_WINDOW", "2"),
        ("TURN_WINDOW_SECS", window.as_str()),
    ];
    let (dir, model, server) = Stack::start(&env).await.into_parts();
    let mut me = Visitor::new(&server);
    // The first turn makes the browser's owner cookie (it counts against the address, as a
    // cookieless request does); later turns count against the browser.
    assert_eq!(me.send("zero", "gemma").await.status, 200);
    start_of_window().await;
    assert_eq!(me.send("one", "gemma").await.status, 200);
    assert_eq!(me.send("two", "gemma").await.status, 200);

    // Restarted on the same file: the count of this window is still there.
    drop(server);
    let server = Server::start(dir.path(), &model.url(), &env).await;
    me.base = server.url.clone();
    let calls = model.requests("gemma").len();
    let refused = me.send("three", "gemma").await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let error: Value = refused.json();
    let limit = &error["Limited"]["TooManyTurns"];
    assert_eq!(limit["limit"], 2);
    let retry = limit["retry_after_s"].as_u64().expect("retry_after_s");
    assert!(
        (1..=WINDOW_SECS).contains(&retry),
        "resets within the window: {retry}"
    );
    let words: app::errors::ChatError = serde_json::from_str(&refused.body).expect("a ChatError");
    assert!(words.to_string().contains("You can send again in"));
    assert_eq!(model.requests("gemma").len(), calls, "no model call");
    assert_eq!(
        count_all_messages(&server.sqlite_path()),
        6,
        "nothing stored"
    );

    // Another visitor is not affected.
    let mut other = Visitor::new(&server);
    assert_eq!(other.send("hello", "gemma").await.status, 200);

    let metrics = Visitor::new(&server).get("/metrics").await.body;
    assert_eq!(refused_count(&metrics, "turns"), 1.0);

    tokio::time::sleep(Duration::from_secs(retry) + Duration::from_millis(100)).await;
    let again = me.send("three", "gemma").await;
    assert_eq!(again.status, 200, "the window ended: {}", again.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_token_budget_refuses_once_spent_and_holds_across_a_restart() {
    let env = [("TOKENS_PER_DAY", "40")];
    let (dir, model, server) = Stack::start(&env).await.into_parts();
    let mut me = Visitor::new(&server);
    let mut answered = 0;
    let refusal = loop {
        let reply = me
            .send(&format!("turn {answered} with a few words"), "gemma")
            .await;
        if reply.status != 200 {
            break reply;
        }
        answered += 1;
        assert!(answered < 20, "the budget never ran out");
    };
    assert!(answered >= 1, "the first turns fit the budget");
    assert_eq!(refusal.status, 429, "{}", refusal.body);
    let error: Value = refusal.json();
    assert_eq!(error["Limited"]["OverBudget"]["budget"], 40);
    let words: app::errors::ChatError = serde_json::from_str(&refusal.body).expect("a ChatError");
    assert!(
        words.to_string().contains("resets at midnight UTC"),
        "{words}"
    );
    assert_eq!(
        count_all_messages(&server.sqlite_path()),
        2 * answered as i64,
        "the refused turn is not stored"
    );

    drop(server);
    let server = Server::start(dir.path(), &model.url(), &env).await;
    me.base = server.url.clone();
    let still = me.send("after the restart", "gemma").await;
    assert_eq!(still.status, 429, "the budget is kept in the store");
    let metrics = Visitor::new(&server).get("/metrics").await.body;
    assert_eq!(refused_count(&metrics, "tokens_per_day"), 1.0);

    // The counters are kept under keyed hashes: not the plain hash of the address, which anyone
    // could undo by hashing every IPv4 address.
    use sha2::{Digest, Sha256};
    let plain = app::session::to_hex(&Sha256::digest(b"ip:127.0.0.1")[..16]);
    let conn = rusqlite::Connection::open(server.sqlite_path()).expect("open");
    let keys: Vec<String> = conn
        .prepare("SELECT key FROM usage_counters")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("counters");
    assert!(keys.iter().any(|k| k.starts_with("tokens-")), "{keys:?}");
    assert!(keys.iter().all(|k| !k.contains(&plain)), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rotating_owners_does_not_reset_the_limit() {
    let env = [
        ("TURNS_PER_WINDOW", "2"),
        ("TURN_WINDOW_SECS", "3600"),
        ("ADDRESS_LIMIT_MULTIPLIER", "1"),
    ];
    let (_dir, _model, server) = Stack::start(&env).await.into_parts();
    // A script that takes a fresh owner (a new page load) for every turn: each is a new
    // browser, but they share one address, which counts too.
    let statuses = {
        let mut out = Vec::new();
        for i in 0..3 {
            out.push(
                Visitor::new(&server)
                    .send(&format!("anon {i}"), "gemma")
                    .await
                    .status,
            );
        }
        out
    };
    assert_eq!(statuses, [200, 200, 429]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_limits_configured_nothing_is_refused() {
    let (_dir, _model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);
    for i in 0..30 {
        assert_eq!(me.send(&format!("turn {i}"), "gemma").await.status, 200);
    }
}

/// Random owner cookies are nobody: without a signed owner a send is refused outright, so
/// forging one per request buys nothing either.
#[tokio::test(flavor = "multi_thread")]
async fn random_owner_cookies_are_refused_not_counted_afresh() {
    let env = [("TURNS_PER_WINDOW", "2"), ("TURN_WINDOW_SECS", "3600")];
    let (_dir, model, server) = Stack::start(&env).await.into_parts();
    for _ in 0..5 {
        let mut forger = Visitor::new(&server);
        forger.owner = Some(format!(
            "hc_owner={}",
            app::session::OwnerId::generate().as_str()
        ));
        let reply = forger.send("free turns?", "gemma").await;
        assert_eq!(reply.status, 403, "{}", reply.body);
    }
    assert!(model.requests("gemma").is_empty());
}

/// Behind Google's load balancer the address is the one it appends to X-Forwarded-For, and
/// IPv6 counts by /64: a client cannot walk through its own 2^64 addresses.
#[tokio::test(flavor = "multi_thread")]
async fn ipv6_addresses_count_by_slash_64_behind_the_load_balancer() {
    let env = [
        ("TURNS_PER_WINDOW", "2"),
        ("TURN_WINDOW_SECS", "3600"),
        ("ADDRESS_LIMIT_MULTIPLIER", "1"),
        ("CLIENT_IP_SOURCE", "google-load-balancer"),
    ];
    let (_dir, _model, server) = Stack::start(&env).await.into_parts();
    let send_from = |xff: &str| {
        let mut v = Visitor::new(&server);
        // What a client wrote first is its own word; the load balancer appends the truth.
        v.forwarded_for = Some(format!("203.0.113.77, {xff}, 35.191.0.1"));
        async move { v.send("hello", "gemma").await.status }
    };
    assert_eq!(send_from("2001:db8:1:2::a").await, 200);
    assert_eq!(send_from("2001:db8:1:2:ffff::b").await, 200);
    assert_eq!(send_from("2001:db8:1:2::c").await, 429, "same /64");
    assert_eq!(send_from("2001:db8:1:3::a").await, 200, "another /64");
    assert_eq!(send_from("198.51.100.7").await, 200);
}

/// Owners are issued on page loads only, at most NEW_OWNERS_PER_HOUR per address; a valid
/// owner is renewed (set again, sliding expiry) on every page load.
#[tokio::test(flavor = "multi_thread")]
async fn owners_are_issued_sparingly_and_renewed_on_use() {
    let env = [("NEW_OWNERS_PER_HOUR", "2")];
    let (_dir, _model, server) = Stack::start(&env).await.into_parts();

    let mut first = Visitor::new(&server);
    let page = first.get("/").await;
    let issued = page.cookie("hc_owner").expect("issued");
    let header = page
        .set_cookies
        .iter()
        .find(|c| c.starts_with("hc_owner="))
        .expect("set-cookie");
    assert!(
        header.contains("Max-Age=34560000") && header.contains("HttpOnly"),
        "{header}"
    );
    // Renewed: the same owner, set again with a fresh expiry, on the next page load.
    let again = first.get("/").await;
    assert_eq!(again.cookie("hc_owner").as_deref(), Some(issued.as_str()));
    // A POST never issues one.
    let mut stranger = Visitor::new(&server);
    stranger.owner = Some("hc_owner=nobody".into());
    let post = stranger.send("hi", "gemma").await;
    assert_eq!(post.status, 403);
    assert!(
        post.cookie("hc_owner").is_none(),
        "no owner minted on a POST"
    );

    assert!(Visitor::new(&server)
        .get("/")
        .await
        .cookie("hc_owner")
        .is_some());
    let refused = Visitor::new(&server).get("/").await;
    assert!(
        refused.cookie("hc_owner").is_none(),
        "the third new owner this hour"
    );
    assert!(refused
        .body
        .contains("Too many new visitors from your network"));
    // The browser that has one keeps chatting.
    assert_eq!(first.send("still fine", "gemma").await.status, 200);
}

/// A turn is charged its estimate when admitted: failures that report no usage (here a model
/// answering 500) keep it, so failing or stopped turns cannot use a GPU for free all day; an
/// answered turn is settled to what the model reported.
#[tokio::test(flavor = "multi_thread")]
async fn failed_turns_keep_their_estimate_against_the_budget() {
    // Each Gemma turn reserves about 1,000 (history) + 1,024 (Max tokens) tokens.
    let env = [("TOKENS_PER_DAY", "5000"), ("HISTORY_TOKENS", "1000")];
    let (_dir, model, server) = Stack::start(&env).await.into_parts();
    let mut me = Visitor::new(&server);
    // An answered turn costs what it used (a few tokens), not its estimate.
    for i in 0..3 {
        assert_eq!(me.send(&format!("answered {i}"), "gemma").await.status, 200);
    }
    model.set("gemma", Behaviour::fault(Fault::Status500));
    let mut failed = 0;
    let refusal = loop {
        let reply = me.send(&format!("failing {failed}"), "gemma").await;
        if reply.status != 502 {
            break reply;
        }
        failed += 1;
        assert!(failed < 10, "failed turns never ran out of budget");
    };
    assert_eq!(refusal.status, 429, "{}", refusal.body);
    let error: Value = refusal.json();
    assert_eq!(error["Limited"]["OverBudget"]["budget"], 5000);
    // Two failures keep about 4,050 of 5,000; a third passes the check and overshoots.
    assert_eq!(
        failed, 3,
        "each failure kept its estimate of about 2,025 tokens"
    );
}
