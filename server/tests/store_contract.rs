//! One contract, two stores: the embedded SQLite file and Firestore on Google's emulator must
//! behave the same and lose nothing.

// The reads and turns halves of the contract, the limit counters, and the races and figures,
// in files of their own.
#[path = "store_contract/blobs.rs"]
mod blobs;
#[path = "store_contract/counters.rs"]
mod counters;
#[path = "store_contract/figures.rs"]
mod figures;
#[path = "store_contract/reads.rs"]
mod reads;
#[path = "store_contract/turns.rs"]
mod turns;

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

    turns::turns_contract(name, &store, &replica, &me, reset).await;
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
    counters::counters_contract("sqlite", store).await;
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
    counters::counters_contract("firestore", store).await;
}
