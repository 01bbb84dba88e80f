//! A 2,000-message chat against the binary: its page carries the newest page of messages and a
//! "Show earlier" link that works without JavaScript, the page before comes from a server
//! function, and a turn in it sends the model only its history window.

use serde_json::Value;
use testkit::seed::{long_chat, question};
use testkit::{standin, Server, StandIn, TempDir, Visitor};

const MESSAGES: usize = 2_000;
/// `CHAT_PAGE` in `app/src/chat/mod.rs`.
const PAGE: u64 = 50;

async fn start(extra_env: &[(&str, &str)]) -> (TempDir, StandIn, Server, Visitor, String) {
    let dir = testkit::tempdir();
    let model = standin::start(0).await;
    let (chat, cookie) = long_chat(dir.path(), MESSAGES).await;
    let server = Server::start(dir.path(), &model.url(), extra_env).await;
    let mut visitor = Visitor::new(&server);
    visitor.owner = Some(cookie);
    visitor.chat = Some(chat.clone());
    (dir, model, server, visitor, chat)
}

/// The seqs of the messages a page shows, in order.
fn shown(page: &str) -> Vec<u64> {
    page.split("data-seq=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .collect()
}

fn seqs(reply: &Value) -> Vec<u64> {
    reply
        .as_array()
        .expect("a list of messages")
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_chat_opens_at_its_newest_page_and_shows_earlier_ones_on_request() {
    let (_dir, _model, _server, mut me, chat) = start(&[]).await;
    let total = MESSAGES as u64;

    let page = me.get(&format!("/c/{chat}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(shown(&page.body), (total - PAGE..total).collect::<Vec<_>>());
    assert!(page.body.contains(&question(999)));
    assert!(
        !page.body.contains(&question(974)),
        "older turns are not sent"
    );
    // Each body is sent once, in the HTML: the hydration data carries the rest, so the page
    // weighs at most 1.3 times its HTML alone.
    assert_eq!(page.body.matches(&question(999)).count(), 1);
    assert_eq!(page.body.matches("answer 999:").count(), 1);
    let hydration = testkit::hydration_bytes(&page.body);
    let html = page.body.len() - hydration;
    assert!(hydration > 0, "the page has its hydration data");
    assert!(
        page.body.len() * 10 <= html * 13,
        "the page is {} bytes, its HTML alone {html}",
        page.body.len()
    );
    let earlier = format!("href=\"/c/{chat}?from={}\"", total - 2 * PAGE);
    assert!(
        page.body.contains(&earlier),
        "a Show earlier link: {earlier}"
    );
    println!(
        "page of a {MESSAGES}-message chat: {} bytes",
        page.body.len()
    );

    // Without JavaScript the link loads the chat from a page earlier on.
    let from = me
        .get(&format!("/c/{chat}?from={}", total - 2 * PAGE))
        .await;
    assert_eq!(
        shown(&from.body),
        (total - 2 * PAGE..total).collect::<Vec<_>>()
    );
    assert!(from
        .body
        .contains(&format!("href=\"/c/{chat}?from={}\"", total - 3 * PAGE)));
    // A page never starts with a reply whose question it does not show.
    let odd = me
        .get(&format!("/c/{chat}?from={}", total - 2 * PAGE + 1))
        .await;
    assert_eq!(shown(&odd.body).first(), Some(&(total - 2 * PAGE + 2)));
    // From the first message there is nothing earlier to offer.
    let whole = me.get(&format!("/c/{chat}?from=0")).await;
    assert_eq!(shown(&whole.body).len(), MESSAGES);
    assert!(!whole.body.contains("Show earlier"));

    // A `from` that is not a number is the newest page, not an error.
    let garbage = me.get(&format!("/c/{chat}?from=%FF-1")).await;
    assert_eq!(garbage.status, 200);
    assert_eq!(shown(&garbage.body).len(), PAGE as usize);

    // With JavaScript: the page before the first shown, from a server function.
    let before = (total - PAGE).to_string();
    let reply = me
        .call("/api/open_session", &[("id", &chat), ("before", &before)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        seqs(&reply.json()),
        (total - 2 * PAGE..total - PAGE).collect::<Vec<_>>()
    );
    let odd = (total - PAGE + 1).to_string();
    let reply = me
        .call("/api/open_session", &[("id", &chat), ("before", &odd)])
        .await;
    assert_eq!(seqs(&reply.json()).first(), Some(&(total - 2 * PAGE + 2)));
    let reply = me
        .call("/api/open_session", &[("id", &chat), ("before", "2")])
        .await;
    assert_eq!(seqs(&reply.json()), [0, 1]);

    // Bad input: a clear refusal, and someone else's chat is no chat.
    let bad = me
        .call("/api/open_session", &[("id", &chat), ("before", "soon")])
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let mut stranger = Visitor::new(&_server);
    stranger.get("/").await;
    let theirs = stranger
        .call("/api/open_session", &[("id", &chat), ("before", &before)])
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_turn_in_a_long_chat_sends_its_history_window_and_keeps_the_whole_chat() {
    let (_dir, model, _server, mut me, chat) = start(&[("HISTORY_MESSAGES", "10")]).await;
    let reply = me.send("And one more thing", "gemma").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen = model.requests("gemma");
    let messages = seen[0]["messages"].as_array().expect("messages");
    // The newest 10 stored messages (5 turns), then the new one.
    assert_eq!(messages.len(), 11);
    assert_eq!(messages[0]["content"], question(995));
    assert_eq!(messages[10]["content"], "And one more thing");

    // A page shows at most 2,000, the first ones from `from=`: asked for the start of a chat
    // now 2,002 long, it shows the start, so each "Show earlier" reaches further back.
    let start = me.get(&format!("/c/{chat}?from=0")).await;
    let seqs = shown(&start.body);
    assert_eq!((seqs.first(), seqs.last()), (Some(&0), Some(&1_999)));

    // Nothing older was lost: the export has every message.
    let export = me.get(&format!("/export/{chat}.json")).await;
    assert_eq!(export.status, 200);
    let all = export.json()["messages"].as_array().map_or(0, |m| m.len());
    assert_eq!(all, MESSAGES + 2);
}
