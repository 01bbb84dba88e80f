//! The SQLite store on its own: metadata, compared turns, reopening, migrations, start-up.

use super::*;

fn turn(n: usize) -> NewTurn {
    let model = if n.is_multiple_of(2) {
        ModelId::Gemma
    } else {
        ModelId::Gemini
    };
    NewTurn::single(
        GenParams {
            temperature: 0.5,
            top_p: 0.9,
            max_tokens: 100 + n as u32,
            thinking: None,
        },
        format!("question {n}"),
        1_000 + n as i64,
        NewReply {
            model,
            text: format!("answer {n}"),
            at_ms: 2_000 + n as i64,
            latency_ms: 42,
            usage: Some(TokenUsage {
                prompt_tokens: 5,
                completion_tokens: 7,
                thinking_tokens: 0,
                total_tokens: 12,
            }),
            cost: None,
            finish_reason: Some("stop".into()),
        },
    )
}

fn owner() -> OwnerId {
    OwnerId::parse(&"a".repeat(64)).expect("owner")
}

fn open() -> (testkit::TempDir, SqliteStore) {
    let dir = testkit::tempdir();
    let store = SqliteStore::open(&dir.path().join("nested/chat.sqlite3")).expect("open");
    (dir, store)
}

#[tokio::test]
async fn turns_are_stored_with_metadata_and_read_in_order() {
    let (_dir, store) = open();
    let s = SessionId::generate();
    assert!(
        store.load(&s).await.expect("load").is_empty(),
        "unknown session is empty"
    );
    assert_eq!(store.owner_of(&s).await.expect("owner"), None);
    for n in 0..3 {
        let m = store
            .append_turn(&s, &owner(), &turn(n), n == 0)
            .await
            .expect("append")
            .messages;
        assert_eq!((m[0].seq, m[1].seq), (2 * n as u64, 2 * n as u64 + 1));
    }
    assert_eq!(store.owner_of(&s).await.expect("owner"), Some(owner()));
    let msgs = store.load(&s).await.expect("load");
    assert_eq!(msgs.len(), 6);
    assert_eq!(msgs[0].text, "question 0");
    assert_eq!(msgs[3].text, "answer 1");
    assert_eq!(msgs[3].model, ModelId::Gemini);
    assert_eq!(msgs[3].latency_ms, Some(42));
    assert_eq!(msgs[3].usage.map(|u| u.total_tokens), Some(12));
    assert_eq!(msgs[3].finish_reason.as_deref(), Some("stop"));
    assert_eq!(msgs[4].params.max_tokens, 102);
    assert!(msgs.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
}

#[tokio::test]
async fn a_compared_turn_stores_one_question_and_both_answers_together() {
    let (_dir, store) = open();
    let s = SessionId::generate();
    let mut t = turn(0);
    let mut second = t.replies[0].clone();
    second.model = ModelId::Gemini;
    second.text = "gemini's answer".into();
    t.replies.push(second);
    let stored = store
        .append_turn(&s, &owner(), &t, true)
        .await
        .expect("append")
        .messages;
    assert_eq!(stored.iter().map(|m| m.seq).collect::<Vec<_>>(), [0, 1, 2]);
    store
        .append_turn(&s, &owner(), &turn(2), false)
        .await
        .expect("next turn");
    let msgs = store.load(&s).await.expect("load");
    assert_eq!(
        msgs.iter().map(|m| (m.role, m.model)).collect::<Vec<_>>(),
        [
            (Role::User, ModelId::Gemma),
            (Role::Model, ModelId::Gemma),
            (Role::Model, ModelId::Gemini),
            (Role::User, ModelId::Gemma),
            (Role::Model, ModelId::Gemma)
        ]
    );
}

#[tokio::test]
async fn sessions_are_isolated_and_survive_reopening() {
    let dir = testkit::tempdir();
    let path = dir.path().join("chat.sqlite3");
    let (a, b) = (SessionId::generate(), SessionId::generate());
    {
        let store = SqliteStore::open(&path).expect("open");
        store
            .append_turn(&a, &owner(), &turn(0), true)
            .await
            .expect("a");
        // Everyone's chats: the file and its write-ahead log are the server user's alone.
        #[cfg(unix)]
        for file in ["chat.sqlite3", "chat.sqlite3-wal"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(file))
                .expect(file)
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
        store
            .append_turn(&b, &owner(), &turn(1), true)
            .await
            .expect("b");
    }
    let store = SqliteStore::open(&path).expect("reopen");
    let la = store.load(&a).await.expect("load a");
    assert_eq!(
        la.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["question 0", "answer 0"]
    );
    assert_eq!(store.load(&b).await.expect("load b").len(), 2);
}

/// A file from every earlier schema version opens, is brought up to date, and keeps its
/// chats: readable, complete, and (from version 2, which has owners) still taking turns.
#[tokio::test]
async fn every_earlier_schema_version_migrates_and_keeps_its_chats() {
    let latest = MIGRATIONS.len() as i64 + 1;
    for version in 1..latest {
        let dir = testkit::tempdir();
        let path = dir.path().join("old.sqlite3");
        let s = SessionId::generate();
        {
            let conn = Connection::open(&path).expect("create");
            conn.execute_batch(SCHEMA).expect("version 1");
            for migration in &MIGRATIONS[..(version - 1) as usize] {
                conn.execute_batch(migration).expect("earlier migration");
            }
            conn.execute_batch(&format!("PRAGMA user_version = {version};"))
                .expect("version");
            conn.execute(
                "INSERT INTO sessions (id, created_at_ms, updated_at_ms, title, last_model, message_count) VALUES (?1, 1, 2, 'old chat', 'gemma', 2)",
                [s.as_str()],
            )
            .expect("session");
            if version >= 2 {
                conn.execute(
                    "UPDATE sessions SET owner = ?2 WHERE id = ?1",
                    [s.as_str(), owner().as_str()],
                )
                .expect("owner");
            }
            for (seq, role, text) in [(0, "user", "old question"), (1, "model", "old answer")] {
                conn.execute(
                    "INSERT INTO messages (session_id, seq, role, text, model, temperature, top_p, max_tokens, created_at_ms) VALUES (?1, ?2, ?3, ?4, 'gemma', 1.0, 0.9, 64, 1)",
                    params![s.as_str(), seq, role, text],
                )
                .expect("message");
            }
        }
        let store = SqliteStore::open(&path).expect("migrate");
        let now: i64 = store
            .with_conn(|c| {
                c.query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(Fail::from)
            })
            .await
            .expect("version");
        assert_eq!(now, latest, "from version {version}");
        let msgs = store.load(&s).await.expect("load");
        assert_eq!(
            msgs.iter()
                .map(|m| (m.text.as_str(), m.status))
                .collect::<Vec<_>>(),
            [
                ("old question", TurnStatus::Complete),
                ("old answer", TurnStatus::Complete)
            ],
            "from version {version}"
        );
        assert_eq!(store.fail_interrupted_turns().await.expect("recover"), 0);
        if version >= 2 {
            let next = store
                .append_turn(&s, &owner(), &turn(2), false)
                .await
                .expect("a new turn in the old chat");
            assert_eq!(next.messages[0].seq, 2, "from version {version}");
            assert_eq!(next.session.title, "old chat");
        } else {
            // Before owners, a chat belongs to nobody: kept, but nobody's to open.
            assert_eq!(store.owner_of(&s).await.expect("owner"), None);
        }
        drop(store);
        // And opening it again changes nothing.
        let again = SqliteStore::open(&path).expect("reopen");
        assert!(again.load(&s).await.expect("load").len() >= 2);
    }
}

#[tokio::test]
async fn interrupted_turns_are_marked_failed_at_start_up() {
    let (_dir, store) = open();
    let s = SessionId::generate();
    let (request, _) = turn(0).split(TurnId::parse("interrupted-turn-0001").expect("id"));
    store
        .begin_turn(&s, &owner(), &request, true, 0, 64)
        .await
        .expect("accepted");
    assert_eq!(store.fail_interrupted_turns().await.expect("recover"), 1);
    let msgs = store.load(&s).await.expect("load");
    assert_eq!(msgs[0].status, TurnStatus::Failed);
    assert_eq!(msgs[0].error.as_deref(), Some("interrupted"));
    // The chat takes a new turn at once.
    store
        .append_turn(&s, &owner(), &turn(1), false)
        .await
        .expect("next turn");
    assert_eq!(store.fail_interrupted_turns().await.expect("recover"), 0);
}
