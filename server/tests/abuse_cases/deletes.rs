//! Deletes that leave nothing: every message and turn marker of a chat, also when the delete
//! is cut off half-way (the server killed between batches).

use super::stores::{Kind, Stand, DATABASE};
use super::Case;
use app::session::{OwnerId, OwnerKey};
use server::store::firestore::FirestoreStore;
use std::time::{Duration, Instant};
use testkit::form::SendForm;
use testkit::standin::{Behaviour, Fault};
use testkit::{Emulator, Server, Visitor};

/// A chat with every kind of turn: one model, both, a failed one and an Again.
async fn busy_chat(stand: &Stand<'_>, me: &mut Visitor, case: &mut Case) -> String {
    me.chat = None;
    let first = me.send("a first question", "gemma").await;
    case.ordinary(first.status == 200, || {
        format!("first turn: {}", first.status)
    });
    let chat = me.session();
    let both = me
        .call(
            "/api/compare",
            &SendForm::new("both of you").without("model").fields(),
        )
        .await;
    case.ordinary(both.status == 200, || format!("both: {}", both.status));
    // Again on the last turn (the one both answered, its user message at seq 2).
    let again = me
        .call(
            "/api/ask_again",
            &[("chat", &chat), ("seq", "2"), ("model", "gemini")],
        )
        .await;
    case.ordinary(again.status == 200, || format!("again: {}", again.status));
    stand.model.set("gemma", Behaviour::fault(Fault::Status500));
    me.send("this one fails", "gemma").await;
    stand.model.set("gemma", Behaviour::default());
    chat
}

pub async fn leaves_nothing(kind: Kind, emulator: &Emulator) -> Case {
    let stand = Stand::start(kind, emulator, "delete", &[]).await;
    let mut case = Case::new(format!(
        "delete a chat of every kind of turn ({})",
        kind.label()
    ));
    let mut me = Visitor::new(&stand.server);
    let kept = busy_chat(&stand, &mut me, &mut case).await;
    let kept_messages = messages_of(&mut me, &kept).await;
    let doomed = busy_chat(&stand, &mut me, &mut case).await;
    let before = stand.chat_docs(&doomed).await;
    let deleted = me.call("/api/delete_session", &[("id", &doomed)]).await;
    case.require(deleted.status == 200, || {
        format!("delete: {}", deleted.status)
    });
    let left = stand.chat_docs(&doomed).await;
    case.attempt(left == 0, || {
        format!("{left} of {before} documents left after the delete")
    });
    let messages = messages_of(&mut me, &kept).await;
    case.ordinary(messages == kept_messages, || {
        format!("the other chat holds {messages} messages, not {kept_messages}")
    });
    case.cost = format!("{before} documents written, {left} left after the delete");
    case
}

/// The server is killed while it deletes a long chat; a restarted one sweeps what is left.
pub async fn half_failed(emulator: &Emulator) -> Case {
    let mut case = Case::new("half-failed delete (Firestore)");
    let mut stand = Stand::start(Kind::Firestore, emulator, "halfdelete", &[]).await;
    let store = FirestoreStore::connect(&stand.project, DATABASE, Duration::from_secs(30))
        .await
        .expect("the emulator");
    let key = OwnerKey::from_hex(testkit::OWNER_KEY).expect("key");
    let mut ordinary = Visitor::new(&stand.server);
    let kept = busy_chat(&stand, &mut ordinary, &mut case).await;
    let kept_messages = messages_of(&mut ordinary, &kept).await;
    let mut cut = None;
    // A long chat takes several batches to delete; kill the server between two of them. The
    // moment depends on the machine's load: too early, wait longer next time; too late, less.
    let mut delay_ms = 150u64;
    for _ in 0..6 {
        let owner = OwnerId::generate();
        let chat = testkit::seed::chat_in(&store, &owner, 800).await;
        let chat = chat.as_str().to_string();
        let before = stand.chat_docs(&chat).await;
        let mut me = visitor_of(&stand.server, &key, &owner);
        me.get("/").await;
        let delete = tokio::spawn({
            let chat = chat.clone();
            async move {
                me.try_call("/api/delete_session", &[("id", &chat)])
                    .await
                    .map(|r| r.status)
            }
        });
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        stand.crash();
        let _ = delete.await;
        stand.restart(&[("DELETE_SWEEP_SECS", "1")]).await;
        let left = stand.chat_docs(&chat).await;
        case.tried += 1;
        if left > 1 && left < before {
            cut = Some((chat, owner, before, left));
            break;
        }
        delay_ms = if left >= before {
            delay_ms * 2
        } else {
            (delay_ms / 2).max(10)
        };
    }
    let Some((chat, owner, before, left)) = cut else {
        case.problems
            .push("no delete was cut off half-way in six tries".into());
        return case;
    };
    // Unreachable at once: no page or export shows any of it.
    let mut me = visitor_of(&stand.server, &key, &owner);
    let page = me.get(&format!("/c/{chat}")).await;
    let export = me.get(&format!("/export/{chat}.json")).await;
    case.require(
        !page.body.contains("question 1:") && export.status == 404,
        || {
            format!(
                "the half-deleted chat still shows: page {}, export {}",
                page.status, export.status
            )
        },
    );
    // The restarted server sweeps it (DELETE_SWEEP_SECS=1).
    let started = Instant::now();
    let mut remaining = left;
    while remaining > 0 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        remaining = stand.chat_docs(&chat).await;
    }
    case.refused += usize::from(remaining == 0);
    case.require(remaining == 0, || {
        format!("{remaining} documents left 30 s after the cut")
    });
    let mut ordinary = Visitor {
        base: stand.server.url.clone(),
        ..ordinary
    };
    let messages = messages_of(&mut ordinary, &kept).await;
    case.ordinary(messages == kept_messages, || {
        format!("the other chat holds {messages} messages, not {kept_messages}")
    });
    case.cost = format!(
        "{left} of {before} documents left by the cut; swept in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    case
}

async fn messages_of(me: &mut Visitor, chat: &str) -> usize {
    let export = me.get(&format!("/export/{chat}.json")).await.json();
    export["messages"].as_array().map_or(0, Vec::len)
}

fn visitor_of(server: &Server, key: &OwnerKey, owner: &OwnerId) -> Visitor {
    let mut me = Visitor::new(server);
    me.owner = Some(format!("hc_owner={}", key.sign(owner)));
    me
}
