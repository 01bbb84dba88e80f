//! The races and figures half of the contract: what the README promises about many tabs at
//! once and about the Models page's figures, on both stores.

use super::{turn, turn_id};
use app::conversation::{Begun, TurnOutcome, TurnStatus, Verdict};
use app::errors::{ChatError, ModelError, StoreError};
use app::models::ModelId;
use app::services::ChatStore;
use app::session::{OwnerId, SessionId};
use std::sync::Arc;

pub async fn figures_contract(name: &str, store: Arc<dyn ChatStore>) {
    let case = |c: &str| println!("[{name}] {c}");

    case("10 tabs sending at once to an idle chat: one accepted, the rest refused, nothing half-written");
    let me = OwnerId::generate();
    let idle = SessionId::generate();
    store
        .append_turn(&idle, &me, &turn(0, 0), true)
        .await
        .expect("a chat with one answered turn");
    let sends: Vec<_> = (0..10)
        .map(|n| {
            let (store, idle, me) = (store.clone(), idle.clone(), me.clone());
            let (request, _) = turn(100 + n, 0).split(turn_id(&format!("idle-race-{n:010}")));
            tokio::spawn(async move {
                let result = store.begin_turn(&idle, &me, &request, false, 0, 64).await;
                (request.text, result)
            })
        })
        .collect();
    let mut accepted = Vec::new();
    for s in sends {
        match s.await.expect("join") {
            (text, Ok(Begun::Accepted { user, .. })) => accepted.push((text, user)),
            (_, Err(StoreError::TurnPending)) => {}
            (text, other) => panic!("{text}: neither accepted nor refused as pending: {other:?}"),
        }
    }
    assert_eq!(accepted.len(), 1, "exactly one tab's turn is accepted");
    let stored = store.load(&idle).await.expect("load");
    assert_eq!(
        stored.len(),
        3,
        "the answered turn and one pending message: {stored:?}"
    );
    assert_eq!(
        (&stored[2].text, stored[2].status),
        (&accepted[0].0, TurnStatus::Pending)
    );
    let summary = store.summary(&idle).await.expect("summary").expect("there");
    assert_eq!(
        summary.message_count, 3,
        "the session agrees with its messages"
    );

    case("20 turns completed at once: no count lost");
    let fig = OwnerId::generate();
    let mut users = Vec::new();
    for n in 0..20 {
        let chat = SessionId::generate();
        let (request, _) = turn(1, 0).split(turn_id(&format!("figures-turn-{n:08}")));
        let Ok(Begun::Accepted { user, .. }) =
            store.begin_turn(&chat, &fig, &request, true, 0, 64).await
        else {
            panic!("accepted")
        };
        users.push((chat, user));
    }
    let finishes: Vec<_> = users
        .iter()
        .cloned()
        .map(|(chat, user)| {
            let store = store.clone();
            tokio::spawn(async move {
                // turn(1) answers with Gemma: 7 completion + 9 thinking tokens billed as output.
                let replies = turn(1, 0).replies;
                store
                    .finish_turn(&chat, &user, &TurnOutcome::Answered(replies))
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    for f in finishes {
        f.await.expect("join").expect("finished");
    }
    let tally = store.tally(Some(&fig)).await.expect("tally");
    assert_eq!(tally.get("gemma_replies"), 20, "{tally:?}");
    assert_eq!(tally.get("gemma_counted"), 20);
    assert_eq!(tally.get("gemma_tokens"), 20 * 16);

    case("20 verdicts at once on 20 pairs, and 10 tabs judging one pair at once: no count lost");
    let mut pairs = Vec::new();
    for _ in 0..21 {
        let chat = SessionId::generate();
        let mut both = turn(2, 0);
        let mut second = both.replies[0].clone();
        second.model = ModelId::Gemini;
        both.replies.push(second);
        store
            .append_turn(&chat, &fig, &both, true)
            .await
            .expect("a compared turn");
        pairs.push(chat);
    }
    let contested = pairs.pop().expect("one pair for the tabs");
    let verdict = |n: usize| Verdict::ALL[n % 3];
    let judging: Vec<_> = pairs
        .iter()
        .cloned()
        .enumerate()
        .map(|(n, chat)| {
            let (store, fig) = (store.clone(), fig.clone());
            tokio::spawn(async move { store.judge(&chat, &fig, 0, Some(verdict(n))).await })
        })
        .chain((0..10).map(|n| {
            let (store, fig, chat) = (store.clone(), fig.clone(), contested.clone());
            tokio::spawn(async move { store.judge(&chat, &fig, 0, Some(verdict(n))).await })
        }))
        .collect();
    for j in judging {
        j.await.expect("join").expect("judged");
    }
    let tally = store.tally(Some(&fig)).await.expect("tally");
    let counted = |v: Verdict| tally.get(&format!("verdict_{}", v.as_str()));
    let total: i64 = Verdict::ALL.into_iter().map(counted).sum();
    assert_eq!(
        total, 21,
        "one verdict per pair, however many tabs judged it: {tally:?}"
    );
    // The contested pair counts once, as the verdict that was stored last.
    let last = store
        .judge(&contested, &fig, 0, None)
        .await
        .expect("taken back");
    let last = last.expect("the contested pair has a verdict");
    let after = store.tally(Some(&fig)).await.expect("tally");
    assert_eq!(
        after.get(&format!("verdict_{}", last.as_str())),
        counted(last) - 1,
        "taking it back takes back the verdict it had"
    );
    for n in 0..20 {
        let v = verdict(n);
        let expected = (0..20).filter(|m| verdict(*m) == v).count() as i64;
        assert_eq!(
            after.get(&format!("verdict_{}", v.as_str())),
            expected,
            "{v:?}"
        );
    }

    case("deleting a chat keeps its figures");
    for chat in users.iter().map(|(c, _)| c).chain(&pairs) {
        store.delete(chat).await.expect("delete");
    }
    assert_eq!(store.tally(Some(&fig)).await.expect("tally"), after);

    case("Ask both failing twice counts the failure its error code names, once");
    let chat = SessionId::generate();
    let (request, _) = turn(3, 0).split(turn_id("both-failed-00000001"));
    let Ok(Begun::Accepted { user, .. }) =
        store.begin_turn(&chat, &fig, &request, true, 0, 64).await
    else {
        panic!("accepted")
    };
    // The job stores the first failure's code (Gemma's, when Gemma was asked first).
    let code =
        app::error_codes::to_code(&ChatError::Model(ModelError::Unreachable(ModelId::Gemma)));
    let before = store.tally(Some(&fig)).await.expect("tally");
    store
        .finish_turn(&chat, &user, &TurnOutcome::failed(code.clone()))
        .await
        .expect("failed");
    let failed = store.tally(Some(&fig)).await.expect("tally");
    assert_eq!(
        failed.get("gemma_failures") - before.get("gemma_failures"),
        1
    );
    assert_eq!(failed.get("gemini_failures"), before.get("gemini_failures"));
    let stored = store.load(&chat).await.expect("load");
    assert_eq!(
        (stored[0].status, stored[0].error.as_deref()),
        (TurnStatus::Failed, Some(code.as_str()))
    );

    case("the figures per UTC day add up to the figures of all time, and a period reads its days");
    // From yesterday: this contract may have run across midnight UTC.
    let today = app::tally::day_of(app::chat::ssr::now_ms());
    let days = store
        .day_tallies(Some(&fig), today - 1)
        .await
        .expect("days");
    assert!(!days.is_empty() && days.iter().all(|d| d.owner == fig.as_str()));
    let mut summed = app::tally::Tally::default();
    for d in &days {
        summed.add(&d.tally);
    }
    assert_eq!(summed, store.tally(Some(&fig)).await.expect("tally"));
    let last = days.last().expect("a day");
    let everyone = store
        .day_tallies(None, today - 1)
        .await
        .expect("everyone's days");
    assert!(everyone
        .iter()
        .any(|d| d.owner == fig.as_str() && d.tally == last.tally));
    assert!(store
        .day_tallies(Some(&fig), today + 1)
        .await
        .expect("tomorrow")
        .is_empty());

    case("owners named for operators: the latest name, none for the unnamed");
    store
        .label_owner(&fig, "fig@example.com")
        .await
        .expect("named");
    store
        .label_owner(&fig, "fig.2@example.com")
        .await
        .expect("renamed");
    let unnamed = OwnerId::generate();
    let labels = store
        .owner_labels(&[fig.as_str().to_string(), unnamed.as_str().to_string()])
        .await
        .expect("labels");
    assert_eq!(labels.len(), 1, "{labels:?}");
    assert_eq!(
        labels.get(fig.as_str()).map(String::as_str),
        Some("fig.2@example.com")
    );
    assert!(store.owner_labels(&[]).await.expect("none").is_empty());
}
