//! The turns half of the contract: a turn's two writes, races between tabs and replicas, and
//! chats larger than Firestore's document limit.

use super::*;

pub(crate) async fn turns_contract(
    name: &str,
    store: &Arc<dyn ChatStore>,
    replica: &Arc<dyn ChatStore>,
    me: &OwnerId,
    reset: impl AsyncFn(),
) {
    let case = |c: &str| println!("[{name}] {c}");
    let (store, replica, me) = (store.clone(), replica.clone(), me.clone());
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
