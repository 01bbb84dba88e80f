//! Reads that do not grow with the chat: a turn reads its history window, a page load its
//! newest page, whatever the chat's length. Counted by the store itself (`messages_read`:
//! Firestore documents, which are billed, or SQLite rows).

use super::{turn, turn_id};
use app::conversation::{Begun, MessageRange, TurnOutcome};
use app::services::ChatStore;
use app::session::{OwnerId, SessionId};
use std::sync::Arc;

const WINDOW: usize = 64;
const PAGE: usize = 50;

/// A chat of `messages` messages (one question, one answer each turn), seeded without reads.
async fn chat_of(store: &dyn ChatStore, me: &OwnerId, messages: usize) -> SessionId {
    let s = SessionId::generate();
    for n in 0..messages / 2 {
        store
            .append_turn(&s, me, &turn(n, 0), n == 0)
            .await
            .expect("seed a turn");
    }
    s
}

/// Messages read by one turn in `s`, and the history it was given.
async fn one_turn(store: &dyn ChatStore, me: &OwnerId, s: &SessionId, id: &str) -> (u64, Vec<u64>) {
    let before = store.messages_read();
    let (request, replies) = turn(7, 0).split(turn_id(id));
    let Begun::Accepted { history, user, .. } = store
        .begin_turn(s, me, &request, false, 0, WINDOW)
        .await
        .expect("accepted")
    else {
        panic!("a new turn id is accepted")
    };
    store
        .finish_turn(s, &user, &TurnOutcome::Answered(replies))
        .await
        .expect("completed");
    (
        store.messages_read() - before,
        history.iter().map(|m| m.seq).collect(),
    )
}

/// Messages read by opening the chat at its newest page, and the seqs shown.
async fn page_load(store: &dyn ChatStore, me: &OwnerId, s: &SessionId) -> (u64, Vec<u64>) {
    let before = store.messages_read();
    let page = store
        .load_range(s, me, MessageRange::newest(PAGE))
        .await
        .expect("page")
        .expect("the owner's chat");
    (
        store.messages_read() - before,
        page.iter().map(|m| m.seq).collect(),
    )
}

/// `replica` is a second store on the same data, as another server replica would hold.
/// `remembers` says the store keeps the history of the chats it served (Firestore, where reads
/// are billed), so their next turn reads nothing.
pub async fn reads_contract(
    name: &str,
    store: Arc<dyn ChatStore>,
    replica: Arc<dyn ChatStore>,
    remembers: bool,
) {
    let case = |c: &str| println!("[{name}] {c}");
    let me = OwnerId::generate();
    let (store, replica) = (store.as_ref(), replica.as_ref());

    case("a range is the newest of the messages inside it, in order");
    let s = chat_of(store, &me, 40).await;
    let (s, me) = (&s, &me);
    let seqs = |range| async move {
        store
            .load_range(s, me, range)
            .await
            .expect("range")
            .expect("owned")
            .iter()
            .map(|m| m.seq)
            .collect::<Vec<_>>()
    };
    let range = |from, before, limit| MessageRange {
        from,
        before,
        limit,
        ..MessageRange::ALL
    };
    assert_eq!(seqs(range(10, Some(20), 5)).await, [15, 16, 17, 18, 19]);
    assert_eq!(seqs(range(35, None, 50)).await, [35, 36, 37, 38, 39]);
    assert_eq!(seqs(range(0, Some(3), 50)).await, [0, 1, 2]);
    assert_eq!(seqs(MessageRange::newest(2)).await, [38, 39]);
    assert!(seqs(range(0, Some(0), 50)).await.is_empty());
    assert!(seqs(range(u64::MAX, None, 50)).await.is_empty());
    assert_eq!(seqs(MessageRange::ALL).await.len(), 40);

    case("a range reads at most its bytes of text, and the newest message always");
    let all = store
        .load_range(s, me, MessageRange::ALL)
        .await
        .expect("all")
        .expect("owned");
    let newest_3: usize = all[37..].iter().map(|m| m.text.len()).sum();
    let page = |bytes| MessageRange::newest(50).within_bytes(bytes);
    assert_eq!(seqs(page(newest_3)).await, [37, 38, 39]);
    assert_eq!(seqs(page(newest_3 - 1)).await, [38, 39]);
    assert_eq!(seqs(page(1)).await, [39]);
    assert_eq!(seqs(range(10, Some(20), 5).within_bytes(1)).await, [19]);
    assert_eq!(
        store
            .load_range(s, &OwnerId::generate(), MessageRange::newest(PAGE))
            .await
            .expect("someone else's"),
        None,
        "a range of someone else's chat is no chat at all"
    );

    case("a turn gets the newest window of its history, and reads no more");
    let me = me.clone();
    let short = chat_of(store, &me, 10).await;
    let (read, history) = one_turn(store, &me, &short, "reads-short-00000001").await;
    assert_eq!(history, (0..10).collect::<Vec<_>>());
    assert!(read <= 11, "a 10-message chat's turn read {read} messages");
    let long = chat_of(store, &me, 300).await;
    let (read_300, history) = one_turn(store, &me, &long, "reads-long-000000001").await;
    assert_eq!(history, (300 - WINDOW as u64..300).collect::<Vec<_>>());
    let longer = chat_of(store, &me, 1_000).await;
    let (read_1000, history) = one_turn(store, &me, &longer, "reads-longer-0000001").await;
    assert_eq!(history, (1_000 - WINDOW as u64..1_000).collect::<Vec<_>>());
    println!("[{name}] messages read per turn: 10 → {read}, 300 → {read_300}, 1000 → {read_1000}");
    assert!(
        read_300 <= WINDOW as u64 + 1 && read_1000 <= read_300,
        "reads per turn grow with the chat: {read_300} at 300 messages, {read_1000} at 1000"
    );

    case("the next turn in the chat reads no more than the first");
    let (again, history) = one_turn(store, &me, &longer, "reads-longer-0000002").await;
    assert_eq!(history, (1_002 - WINDOW as u64..1_002).collect::<Vec<_>>());
    println!("[{name}] messages read by the next turn: {again}");
    assert!(again <= read_1000, "{again} > {read_1000}");
    if remembers {
        assert_eq!(again, 0, "the history was remembered, not read");
    }

    case("a turn on another replica is in the next turn's history here");
    let (_, history) = one_turn(replica, &me, &longer, "reads-replica-000001").await;
    assert_eq!(history.last(), Some(&1_003));
    let (_, history) = one_turn(store, &me, &longer, "reads-longer-0000003").await;
    assert_eq!(history, (1_006 - WINDOW as u64..1_006).collect::<Vec<_>>());
    let texts: Vec<String> = store
        .load_range(&longer, &me, MessageRange::newest(4))
        .await
        .expect("range")
        .expect("owned")
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts.len(), 4, "both turns stored whole: {texts:?}");

    case("a page load reads one page, however long the chat");
    let (read_300, shown) = page_load(store, &me, &long).await;
    assert_eq!(shown, (302 - PAGE as u64..302).collect::<Vec<_>>());
    let (read_1000, shown) = page_load(store, &me, &longer).await;
    assert_eq!(shown, (1_008 - PAGE as u64..1_008).collect::<Vec<_>>());
    println!("[{name}] messages read per page load: 300 → {read_300}, 1000 → {read_1000}");
    assert!(
        read_300 <= PAGE as u64 && read_1000 <= read_300,
        "page loads read {read_300} messages at 300, {read_1000} at 1000"
    );
}
