//! One contract, two stores: the embedded SQLite file and Firestore on Google's emulator must
//! behave the same and lose nothing.

// The reads half of the contract, and the races and figures, in files of their own.
#[path = "store_contract/figures.rs"]
mod figures;
#[path = "store_contract/reads.rs"]
mod reads;

use app::conversation::{
    Begun, MessageRange, NewReply, NewTurn, Role, TokenUsage, TurnId, TurnOutcome, TurnStatus,
};
use app::errors::StoreError;
use app::models::ModelId;
use app::params::GenParams;
use app::services::ChatStore;
use app::session::{OwnerId, SessionId};
use server::limits::UsageCounters;
use server::store::firestore::FirestoreStore;
use server::store::sqlite::SqliteStore;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::Emulator;

fn turn(n: usize, text_len: usize) -> NewTurn {
    let pad = |s: String| {
        let mut s = s;
        while s.len() < text_len {
            s.push_str(" lorem ipsum");
        }
        s
    };
    NewTurn::single(
        GenParams {
            temperature: 0.5,
            top_p: 0.9,
            max_tokens: 100 + n as u32,
            thinking: Some(app::params::Thinking::Budget(2_048)),
        },
        pad(format!("question {n}")),
        1_000 + n as i64,
        NewReply {
            model: if n.is_multiple_of(3) {
                ModelId::Gemini
            } else {
                ModelId::Gemma
            },
            text: pad(format!("answer {n}")),
            at_ms: 2_000 + n as i64,
            latency_ms: 40 + n as u64,
            usage: Some(TokenUsage {
                prompt_tokens: 5,
                completion_tokens: 7,
                // Gemini's thinking, which both stores keep.
                thinking_tokens: 9,
                total_tokens: 21,
            }),
            // What it cost, and for Gemma the GPU time it held: both stores keep them.
            cost: Some(app::cost::Cost {
                nano_usd: 1_000 + n as u64,
                gpu_ms: (!n.is_multiple_of(3)).then_some(10 + n as u64),
            }),
            finish_reason: Some("stop".into()),
        },
    )
}

fn turn_id(s: &str) -> TurnId {
    TurnId::parse(s).expect("turn id")
}

/// `replica` is a second store on the same data, as another server replica would hold.
async fn contract(
    name: &str,
    store: Arc<dyn ChatStore>,
    replica: Arc<dyn ChatStore>,
    reset: impl AsyncFn(),
) {
    let case = |c: &str| println!("[{name}] {c}");
    let me = OwnerId::generate();

    case("an unknown session is empty and does not exist");
    let nobody = SessionId::generate();
    assert!(store.load(&nobody).await.expect("load").is_empty());
    assert_eq!(store.owner_of(&nobody).await.expect("owner"), None);
    assert_eq!(store.summary(&nobody).await.expect("summary"), None);
    store.ping().await.expect("ping");

    case("appended turns come back in order with their metadata");
    let s = SessionId::generate();
    for n in 0..3 {
        let stored = store
            .append_turn(&s, &me, &turn(n, 0), n == 0)
            .await
            .expect("append")
            .messages;
        assert_eq!(
            stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [2 * n as u64, 2 * n as u64 + 1]
        );
    }
    assert_eq!(store.owner_of(&s).await.expect("owner"), Some(me.clone()));
    let msgs = store.load(&s).await.expect("load");
    assert_eq!(msgs.len(), 6);
    assert_eq!(
        msgs.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );
    assert_eq!(msgs[0].text, "question 0");
    assert_eq!(
        (msgs[1].role, msgs[1].model),
        (Role::Model, ModelId::Gemini)
    );
    assert_eq!(msgs[5].latency_ms, Some(42));
    assert_eq!(msgs[5].usage.map(|u| u.total_tokens), Some(21));
    assert_eq!(msgs[5].usage.map(|u| u.thinking_tokens), Some(9));
    assert_eq!(msgs[5].finish_reason.as_deref(), Some("stop"));
    assert_eq!(msgs[4].params.max_tokens, 102);
    assert_eq!(
        msgs[4].params.thinking,
        Some(app::params::Thinking::Budget(2_048))
    );
    assert!((msgs[4].params.temperature - 0.5).abs() < 1e-6);

    case("a compared turn keeps one question and both answers");
    let mut both = turn(9, 0);
    let mut second = both.replies[0].clone();
    second.model = ModelId::Gemma;
    both.replies.push(second);
    let stored = store
        .append_turn(&s, &me, &both, false)
        .await
        .expect("compare turn")
        .messages;
    assert_eq!(stored.iter().map(|m| m.seq).collect::<Vec<_>>(), [6, 7, 8]);
    assert_eq!(store.load(&s).await.expect("load").len(), 9);

    case("the owner check and the history read are one call");
    assert_eq!(
        store
            .load_range(&s, &me, MessageRange::ALL)
            .await
            .expect("owned")
            .map(|m| m.len()),
        Some(9)
    );
    assert_eq!(
        store
            .load_range(&s, &OwnerId::generate(), MessageRange::ALL)
            .await
            .expect("not mine"),
        None
    );
    assert_eq!(
        store
            .load_range(&nobody, &me, MessageRange::ALL)
            .await
            .expect("nobody"),
        None
    );

    case("appending needs the chat to exist and be the owner's; a new one is created");
    assert_eq!(
        store
            .append_turn(&nobody, &me, &turn(1, 0), false)
            .await
            .map(|_| ()),
        Err(StoreError::NotFound),
        "no chat made by appending to an unknown id"
    );
    assert_eq!(
        store
            .append_turn(&s, &OwnerId::generate(), &turn(1, 0), false)
            .await
            .map(|_| ()),
        Err(StoreError::NotFound),
        "no appending to someone else's chat"
    );
    assert_eq!(store.load(&nobody).await.expect("load").len(), 0);
    assert_eq!(store.load(&s).await.expect("load").len(), 9);

    case("sessions are isolated");
    let other = SessionId::generate();
    store
        .append_turn(&other, &me, &turn(7, 0), true)
        .await
        .expect("other");
    assert_eq!(store.load(&other).await.expect("load").len(), 2);
    assert_eq!(store.load(&s).await.expect("load").len(), 9);

    case("sessions are listed per owner, newest first, with paging");
    reset().await;
    let (alice, bob) = (OwnerId::generate(), OwnerId::generate());
    let mut alices = Vec::new();
    for n in 0..5 {
        let id = SessionId::generate();
        let mut t = turn(n, 0);
        t.user_at_ms = 10_000 + n as i64 * 1_000;
        t.replies[0].at_ms = t.user_at_ms + 500;
        store
            .append_turn(&id, &alice, &t, true)
            .await
            .expect("alice");
        alices.push(id);
    }
    store
        .append_turn(&SessionId::generate(), &bob, &turn(9, 0), true)
        .await
        .expect("bob");
    let page1 = store.list_sessions(&alice, 3, None).await.expect("list");
    assert_eq!(
        page1.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        [4, 3, 2].map(|i| alices[i].as_str().to_string())
    );
    assert_eq!(page1[0].title, "question 4");
    assert_eq!(page1[0].message_count, 2);
    assert_eq!(
        (page1[0].created_at_ms, page1[0].updated_at_ms),
        (14_000, 14_500)
    );
    let page2 = store
        .list_sessions(&alice, 3, Some(page1[2].updated_at_ms))
        .await
        .expect("page 2");
    assert_eq!(
        page2.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        [1, 0].map(|i| alices[i].as_str().to_string())
    );
    assert_eq!(
        store
            .list_sessions(&bob, 10, None)
            .await
            .expect("bob")
            .len(),
        1
    );
    assert!(store
        .list_sessions(&OwnerId::generate(), 10, None)
        .await
        .expect("nobody")
        .is_empty());

    case("titles are searched per owner, case-insensitively, newest first");
    store
        .rename(&alices[3], "Kubernetes 100% Ready")
        .await
        .expect("rename");
    store
        .rename(&alices[1], "kubernetes_notes")
        .await
        .expect("rename");
    let found = store
        .search_sessions(&alice, "KUBERNETES", 10)
        .await
        .expect("search");
    assert_eq!(
        found.iter().map(|s| s.title.as_str()).collect::<Vec<_>>(),
        ["Kubernetes 100% Ready", "kubernetes_notes"]
    );
    let literal = store
        .search_sessions(&alice, "100%", 10)
        .await
        .expect("search");
    assert_eq!(literal.len(), 1, "% is matched as typed");
    assert_eq!(
        store
            .search_sessions(&alice, "_", 10)
            .await
            .expect("search")
            .len(),
        1,
        "_ is matched as typed"
    );
    assert!(store
        .search_sessions(&bob, "kubernetes", 10)
        .await
        .expect("bob")
        .is_empty());
    assert_eq!(
        store
            .search_sessions(&alice, "question", 2)
            .await
            .expect("limit")
            .len(),
        2
    );

    case("rename keeps the messages; delete removes the session and every message");
    store.rename(&alices[0], "Renamed").await.expect("rename");
    let s0 = store
        .summary(&alices[0])
        .await
        .expect("summary")
        .expect("exists");
    assert_eq!((s0.title.as_str(), s0.message_count), ("Renamed", 2));
    store.delete(&alices[1]).await.expect("delete");
    assert_eq!(store.summary(&alices[1]).await.expect("summary"), None);
    assert!(store.load(&alices[1]).await.expect("load").is_empty());
    assert_eq!(store.owner_of(&alices[1]).await.expect("owner"), None);
    assert_eq!(
        store
            .list_sessions(&alice, 10, None)
            .await
            .expect("list")
            .len(),
        4
    );

    case("a deleted chat stays deleted: a turn or a rename landing late brings nothing back");
    assert_eq!(
        store
            .append_turn(&alices[1], &alice, &turn(5, 0), false)
            .await
            .map(|_| ()),
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.rename(&alices[1], "late rename").await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.summary(&alices[1]).await.expect("summary"), None);
    assert!(store.load(&alices[1]).await.expect("load").is_empty());
    assert_eq!(
        store
            .list_sessions(&alice, 10, None)
            .await
            .expect("list")
            .len(),
        4,
        "no title-only chat appeared"
    );

    case("a turn is accepted pending, then completed; the history is what came before");
    reset().await;
    let s = SessionId::generate();
    store
        .append_turn(&s, &me, &turn(100, 0), true)
        .await
        .expect("the chat's first turn");
    let (request, replies) = turn(1, 0).split(turn_id("turn-one-0000000001"));
    let Begun::Accepted { history, user, .. } = store
        .begin_turn(&s, &me, &request, false, 0, 64)
        .await
        .expect("accepted")
    else {
        panic!("a new turn id is accepted")
    };
    assert_eq!(history.len(), 2);
    assert_eq!((user.seq, user.status), (2, TurnStatus::Pending));
    let loaded = store.load(&s).await.expect("load");
    assert_eq!(
        loaded.len(),
        3,
        "the user's message is stored before any reply"
    );
    assert_eq!(loaded[2].status, TurnStatus::Pending);

    case("turns in one chat go one at a time: 20 tabs at once, none accepted while one pends");
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let (store, s, me) = (store.clone(), s.clone(), me.clone());
            let (request, _) = turn(n, 0).split(turn_id(&format!("concurrent-turn-{n:04}")));
            tokio::spawn(async move { store.begin_turn(&s, &me, &request, false, 0, 64).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(
            t.await.expect("join").map(|_| ()),
            Err(StoreError::TurnPending)
        );
    }
    assert_eq!(store.load(&s).await.expect("load").len(), 3);

    case("the same turn id again is the stored turn, pending or complete, never a second one");
    assert_eq!(
        store.begin_turn(&s, &me, &request, false, 0, 64).await,
        Ok(Begun::Existing(vec![user.clone()]))
    );
    let done = store
        .finish_turn(&s, &user, &TurnOutcome::Answered(replies))
        .await
        .expect("finished");
    assert_eq!(done.messages.len(), 2);
    assert_eq!(done.messages[0].status, TurnStatus::Complete);
    assert_eq!((done.messages[1].seq, done.session.message_count), (3, 4));
    let Ok(Begun::Existing(again)) = store.begin_turn(&s, &me, &request, false, 0, 64).await else {
        panic!("a repeated turn id is the existing turn")
    };
    assert_eq!(again, done.messages);
    assert_eq!(
        store
            .load_turn(&s, &me, &request.turn)
            .await
            .expect("load turn"),
        Some(done.messages.clone())
    );
    assert_eq!(
        store
            .load_turn(&s, &OwnerId::generate(), &request.turn)
            .await
            .expect("not mine"),
        None
    );
    assert_eq!(
        store
            .finish_turn(&s, &user, &TurnOutcome::Stopped)
            .await
            .map(|_| ()),
        Err(StoreError::NotFound),
        "a turn completes once"
    );

    case("a failed turn keeps the message, the error's code and what it was billed, and the chat goes on");
    let (request, _) = turn(2, 0).split(turn_id("turn-two-0000000002"));
    let Ok(Begun::Accepted { user, .. }) = store.begin_turn(&s, &me, &request, false, 0, 64).await
    else {
        panic!("accepted")
    };
    // Gemini out of tokens after thinking: no reply, but the thinking was billed.
    let billed = TokenUsage {
        prompt_tokens: 5,
        completion_tokens: 0,
        thinking_tokens: 1_000,
        total_tokens: 1_005,
    };
    let failed = store
        .finish_turn(
            &s,
            &user,
            &TurnOutcome::Failed {
                code: "model.out_of_tokens.gemini".into(),
                billed: Some(billed),
                cost: None,
            },
        )
        .await
        .expect("failed");
    assert_eq!(failed.messages.len(), 1);
    assert_eq!(failed.messages[0].usage, Some(billed));
    let loaded = store.load(&s).await.expect("load");
    assert_eq!(loaded.len(), 5);
    assert_eq!(loaded[4].status, TurnStatus::Failed);
    assert_eq!(
        loaded[4].error.as_deref(),
        Some("model.out_of_tokens.gemini")
    );
    assert_eq!(loaded[4].usage, Some(billed), "the billed tokens are kept");

    case("a pending turn older than the deadline lost its task: marked interrupted, chat goes on");
    let (request, _) = turn(3, 0).split(turn_id("turn-three-000000003"));
    let Ok(Begun::Accepted { user: orphan, .. }) =
        store.begin_turn(&s, &me, &request, false, 0, 64).await
    else {
        panic!("accepted")
    };
    let (request, _) = turn(4, 0).split(turn_id("turn-four-0000000004"));
    assert_eq!(
        store
            .begin_turn(&s, &me, &request, false, 0, 64)
            .await
            .map(|_| ()),
        Err(StoreError::TurnPending),
        "not stale yet"
    );
    let stale_before = request.at_ms + 1;
    let Ok(Begun::Accepted { history, .. }) = store
        .begin_turn(&s, &me, &request, false, stale_before, 64)
        .await
    else {
        panic!("accepted once the other is stale")
    };
    let interrupted = &history[orphan.seq as usize];
    assert_eq!(interrupted.status, TurnStatus::Failed);
    assert_eq!(interrupted.error.as_deref(), Some("interrupted"));
    assert_eq!(
        store
            .finish_turn(&s, &orphan, &TurnOutcome::Answered(turn(3, 0).replies))
            .await
            .map(|_| ()),
        Err(StoreError::NotFound),
        "its task, if it was only slow, cannot complete it any more"
    );

    case("a chat deleted while its turn is pending stays deleted when the turn completes");
    let d = SessionId::generate();
    let (request, replies) = turn(5, 0).split(turn_id("turn-five-0000000005"));
    let Ok(Begun::Accepted { user, .. }) = store.begin_turn(&d, &me, &request, true, 0, 64).await
    else {
        panic!("accepted")
    };
    assert_eq!(
        store.summary(&d).await.expect("summary").map(|s| s.title),
        Some("question 5".into())
    );
    store.delete(&d).await.expect("delete");
    assert_eq!(
        store
            .finish_turn(&d, &user, &TurnOutcome::Answered(replies))
            .await
            .map(|_| ()),
        Err(StoreError::NotFound)
    );
    assert_eq!(store.summary(&d).await.expect("summary"), None);
    assert!(store.load(&d).await.expect("load").is_empty());
    assert_eq!(
        store.load_turn(&d, &me, &request.turn).await.expect("turn"),
        None
    );

    case("two replicas take turns in one chat: what one knows never overwrites the other's");
    let r = SessionId::generate();
    store
        .append_turn(&r, &me, &turn(1, 0), true)
        .await
        .expect("first, here");
    replica
        .append_turn(&r, &me, &turn(2, 0), false)
        .await
        .expect("second, on the replica");
    let third = store
        .append_turn(&r, &me, &turn(3, 0), false)
        .await
        .expect("third, here again");
    assert_eq!(
        third.messages[0].seq, 4,
        "after the replica's turn, not over it"
    );
    assert_eq!(third.session.message_count, 6);
    let texts: Vec<String> = store
        .load(&r)
        .await
        .expect("load")
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        texts,
        [
            "question 1",
            "answer 1",
            "question 2",
            "answer 2",
            "question 3",
            "answer 3"
        ]
    );
    replica
        .rename(&r, "renamed on the replica")
        .await
        .expect("rename");
    let fourth = store
        .append_turn(&r, &me, &turn(4, 0), false)
        .await
        .expect("fourth");
    assert_eq!(
        fourth.session.title, "renamed on the replica",
        "the rename survives"
    );
    replica.delete(&r).await.expect("deleted on the replica");
    assert_eq!(
        store
            .append_turn(&r, &me, &turn(5, 0), false)
            .await
            .map(|_| ()),
        Err(StoreError::NotFound),
        "a chat deleted on the replica is not brought back here"
    );
    assert!(store.load(&r).await.expect("load").is_empty());

    case("a chat larger than 1 MiB (Firestore's document limit) is kept whole");
    let s = SessionId::generate();
    for n in 0..24 {
        store
            .append_turn(&s, &me, &turn(n, 24_000), n == 0)
            .await
            .expect("append big");
    }
    let msgs = store.load(&s).await.expect("load");
    assert_eq!(msgs.len(), 48);
    let bytes: usize = msgs.iter().map(|m| m.text.len()).sum();
    assert!(bytes > 1 << 20, "{bytes} bytes");

    case("2,000 turns in one session");
    let s = SessionId::generate();
    let started = Instant::now();
    for n in 0..2_000 {
        store
            .append_turn(&s, &me, &turn(n, 0), n == 0)
            .await
            .expect("append");
    }
    let msgs = store.load(&s).await.expect("load");
    assert_eq!(msgs.len(), 4_000);
    assert!(msgs.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
    assert_eq!(msgs[3_999].text, "answer 1999");
    println!(
        "[{name}] 2,000 turns appended and read back in {:?}",
        started.elapsed()
    );
}

/// The per-visitor limit counters: atomic adds, from many tasks at once, that outlive the
/// process (the limits must hold across restarts and replicas).
async fn counters_contract(name: &str, counters: Arc<dyn UsageCounters>) {
    println!("[{name}] limit counters add atomically");
    let far = 4_102_444_800_000; // 2100-01-01
    assert_eq!(counters.get("turns-a-1").await.expect("get"), 0);
    assert_eq!(counters.add("turns-a-1", 1, far).await.expect("add"), 1);
    assert_eq!(counters.add("turns-a-1", 41, far).await.expect("add"), 42);
    let adds: Vec<_> = (0..20)
        .map(|_| {
            let c = counters.clone();
            tokio::spawn(async move { c.add("turns-b-1", 1, far).await.expect("add") })
        })
        .collect();
    let mut seen = Vec::new();
    for a in adds {
        seen.push(a.await.expect("join"));
    }
    seen.sort();
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<i64>>(),
        "every add saw its own count"
    );
    assert_eq!(counters.get("turns-b-1").await.expect("get"), 20);
    assert_eq!(counters.get("turns-a-1").await.expect("get"), 42);
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_store_keeps_the_contract() {
    let dir = testkit::tempdir();
    let path = dir.path().join("chat.sqlite3");
    let store = Arc::new(SqliteStore::open(&path).expect("open"));
    let replica = Arc::new(SqliteStore::open(&path).expect("open again"));
    contract("sqlite", store.clone(), replica.clone(), async || {}).await;
    reads::reads_contract("sqlite", store.clone(), replica, false).await;
    figures::figures_contract("sqlite", store.clone()).await;
    counters_contract("sqlite", store).await;
    let reopened = SqliteStore::open(&path).expect("reopen");
    assert_eq!(reopened.get("turns-b-1").await.expect("get"), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn firestore_store_keeps_the_contract_on_the_emulator() {
    let emulator = Emulator::start().await;
    // The firestore crate reads this to talk to the emulator without credentials. Only this
    // test in this binary touches Firestore.
    std::env::set_var("FIRESTORE_EMULATOR_HOST", &emulator.host);
    let store = FirestoreStore::connect("hybrid-chat-test", "chat-app-db", Duration::from_secs(20))
        .await
        .expect("connect to the emulator");
    emulator.wipe("hybrid-chat-test", "chat-app-db").await;
    let store = Arc::new(store);
    let replica = Arc::new(
        FirestoreStore::connect("hybrid-chat-test", "chat-app-db", Duration::from_secs(20))
            .await
            .expect("a second connection"),
    );
    contract("firestore", store.clone(), replica.clone(), async || {
        emulator.wipe("hybrid-chat-test", "chat-app-db").await
    })
    .await;
    emulator.wipe("hybrid-chat-test", "chat-app-db").await;
    reads::reads_contract("firestore", store.clone(), replica, true).await;
    figures::figures_contract("firestore", store.clone()).await;
    counters_contract("firestore", store).await;
}
