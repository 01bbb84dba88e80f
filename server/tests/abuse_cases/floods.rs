//! Floods of cheap requests that are not turns: new chats, and searches, exports and page
//! loads. Each visitor comes from an address of its own, behind the load balancer.

use super::stores::{Kind, Stand};
use super::Case;
use testkit::{metric, Emulator, Visitor};

const CHATS: usize = 5;
const READS: usize = 30;

fn from(stand: &Stand<'_>, address: &str) -> Visitor {
    let mut visitor = Visitor::new(&stand.server);
    // As Google's load balancer appends it: `<client>, <load balancer>`.
    visitor.forwarded_for = Some(format!("{address}, 130.211.0.1"));
    visitor
}

pub async fn new_chats(kind: Kind, emulator: &Emulator) -> Case {
    let chats = CHATS.to_string();
    let stand = Stand::start(
        kind,
        emulator,
        "chats",
        &[
            ("CHATS_PER_HOUR", chats.as_str()),
            ("CLIENT_IP_SOURCE", "google-load-balancer"),
        ],
    )
    .await;
    let mut case = Case::new(format!("chat-creation flood ({})", kind.label()));
    let mut attacker = from(&stand, "198.51.100.7");
    let mut kept = None;
    for i in 0..30 {
        attacker.chat = None;
        let reply = if i % 3 == 2 {
            // A new chat through the system-prompt form.
            attacker
                .call(
                    "/api/system_prompt",
                    &[("chat", ""), ("prompt", "be brief")],
                )
                .await
        } else {
            attacker.send(&format!("chat number {i}"), "gemma").await
        };
        if i < CHATS {
            case.require(reply.status == 200, || {
                format!("chat {i}: {}", reply.status)
            });
            kept = attacker.chat.clone().or(kept);
            continue;
        }
        case.attempt(
            reply.status == 429 && reply.body.contains("TooManyChats"),
            || {
                format!(
                    "chat {i}: {} {}",
                    reply.status,
                    &reply.body[..reply.body.len().min(120)]
                )
            },
        );
    }
    let stored = stand.count("chat_sessions", "sessions").await;
    case.require(stored == CHATS, || {
        format!("{stored} chats stored, {CHATS} allowed")
    });
    // The attacker's chats so far still take turns; a neighbour starts chats of its own.
    attacker.chat = kept;
    let turn = attacker.send("still talking in a kept chat", "gemma").await;
    case.ordinary(turn.status == 200, || {
        format!("a kept chat's turn: {}", turn.status)
    });
    let mut neighbour = from(&stand, "203.0.113.5");
    let first = neighbour.send("a neighbour's first chat", "gemma").await;
    case.ordinary(first.status == 200, || {
        format!("a neighbour's chat: {}", first.status)
    });
    case.cost = format!("{stored} chats stored for 30 tries; refusals write one counter");
    case
}

pub async fn reads(kind: Kind, emulator: &Emulator) -> Case {
    let reads = READS.to_string();
    let stand = Stand::start(
        kind,
        emulator,
        "reads",
        &[
            ("READS_PER_MINUTE", reads.as_str()),
            ("CLIENT_IP_SOURCE", "google-load-balancer"),
        ],
    )
    .await;
    let mut case = Case::new(format!("search, export, page floods ({})", kind.label()));
    let mut attacker = from(&stand, "198.51.100.7");
    for i in 0..3 {
        attacker.chat = None;
        attacker.send(&format!("needle {i}"), "gemma").await;
    }
    let chat = attacker.session();
    let metrics = || async {
        let body = Visitor::new(&stand.server).get("/metrics").await.body;
        metric(&body, "hybrid_chat_store_messages_read_total")
    };
    let reads_before = metrics().await;
    let paths = [
        "/?q=needle".to_string(),
        format!("/export/{chat}.json"),
        format!("/c/{chat}"),
    ];
    let mut served = 0;
    let mut found = true;
    for i in 0..150 {
        let path = &paths[i % paths.len()];
        let reply = attacker.get(path).await;
        if reply.status == 200 {
            served += 1;
            if i % paths.len() == 0 {
                found &= reply.body.contains("needle 0") && reply.body.contains("needle 2");
            }
        } else {
            case.attempt(
                reply.status == 429 && reply.body.contains("Please wait"),
                || format!("{path}: {}", reply.status),
            );
        }
    }
    let store_reads = metrics().await - reads_before;
    // The first page load (before the three sends) counted too; and a window may end during
    // the flood: at most two windows' worth get through.
    case.require((READS - 1..=2 * READS).contains(&served), || {
        format!("{served} of 150 reads served, limit {READS} a minute")
    });
    case.require(found, || "the search did not find the needles".into());
    let mut neighbour = from(&stand, "203.0.113.5");
    let page = neighbour.get("/?q=anything").await;
    case.ordinary(page.status == 200, || {
        format!("a neighbour's search: {}", page.status)
    });
    case.cost = format!(
        "{served} of 150 served; {store_reads} store reads ({:.0} per read served)",
        store_reads / served.max(1) as f64
    );
    case
}
