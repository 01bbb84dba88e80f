//! The turn use case in-process: a real SQLite file, a scripted model, no server process and no
//! HTTP. What the page's server function does, called directly with an explicit request.

use app::chat::ssr::turn::{self, Form};
use app::chat::ssr::Request;
use app::errors::{ChatError, ModelError};
use app::models::{Availability, ModelId};
use app::params::GenParams;
use app::services::{ChatModel, ChatStore, ModelReply, PromptMessage, Services};
use app::session::{OwnerId, OwnerKey, OWNER_COOKIE};
use async_trait::async_trait;
use server::store::sqlite::SqliteStore;
use std::sync::{Arc, Mutex};

/// A model that answers from a script and remembers what it was asked.
struct Scripted {
    id: ModelId,
    replies: Mutex<Vec<Result<String, ModelError>>>,
    seen: Mutex<Vec<Vec<PromptMessage>>>,
}

#[async_trait]
impl ChatModel for Scripted {
    fn id(&self) -> ModelId {
        self.id
    }

    fn availability(&self) -> Availability {
        Availability::Available
    }

    async fn complete(
        &self,
        _system: Option<&str>,
        conversation: &[PromptMessage],
        _params: &GenParams,
    ) -> Result<ModelReply, ModelError> {
        self.seen.lock().expect("lock").push(conversation.to_vec());
        let text = self.replies.lock().expect("lock").remove(0)?;
        ModelReply::new(self.id, &text, Some("stop".into()), None)
    }
}

fn form(chat: Option<&str>, message: &str) -> Form {
    Form {
        chat: chat.map(String::from),
        start: None,
        turn: None,
        message: message.into(),
        model: Some("gemma".into()),
        temperature: "0.5".into(),
        top_p: "0.9".into(),
        max_tokens: "64".into(),
        thinking: None,
        replaces: None,
        edits: None,
        attachments: None,
    }
}

fn request(services: &Services, cookie: Option<String>) -> Request {
    let mut builder = http::Request::builder().method("POST").uri("/api/send");
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", cookie);
    }
    let (parts, ()) = builder.body(()).expect("request").into_parts();
    Request::new(services.clone(), parts, None)
}

/// A real SQLite file, a Gemma scripted with `replies`, the services a server function gets,
/// and a browser's owner with its signed cookie.
#[allow(clippy::type_complexity)]
fn stack(
    replies: Vec<Result<String, ModelError>>,
) -> (
    testkit::TempDir,
    Arc<SqliteStore>,
    Arc<Scripted>,
    Services,
    OwnerId,
    Option<String>,
) {
    let dir = testkit::tempdir();
    let store = Arc::new(SqliteStore::open(&dir.path().join("chat.sqlite3")).expect("store"));
    let gemma = Arc::new(Scripted {
        id: ModelId::Gemma,
        replies: Mutex::new(replies),
        seen: Mutex::new(Vec::new()),
    });
    // Turns run in tasks of their own, on the runtime leptos spawns onto.
    let _ = any_spawner::Executor::init_tokio();
    let key = OwnerKey::generate();
    let services = Services {
        store: store.clone(),
        blobs: Arc::new(
            server::blobs::folder::FolderBlobs::open(&dir.path().join("attachments"))
                .expect("attachments folder"),
        ),
        files: store.clone(),
        file_room: Default::default(),
        models: vec![gemma.clone()],
        limits: None,
        ceilings: None,
        labelled: Default::default(),
        owner_key: key.clone(),
        tasks: Default::default(),
        history: Default::default(),
        turn_deadline: std::time::Duration::from_secs(60),
        offer_gemini_after: std::time::Duration::from_secs(15),
        system_prompt: None,
        thinking: app::params::Thinking::Auto,
        prices: app::cost::Prices {
            gemma: app::cost::Price::GpuHour { per_hour: 4.0 },
            gemini: app::cost::Price::Tokens {
                input_per_m: 0.3,
                output_per_m: 2.5,
            },
        },
    };
    let owner = OwnerId::generate();
    let cookie = Some(format!("{OWNER_COOKIE}={}", key.sign(&owner)));
    (dir, store, gemma, services, owner, cookie)
}

#[tokio::test]
async fn a_turn_runs_in_process_against_sqlite_and_a_scripted_model() {
    let (_dir, store, gemma, services, _owner, cookie) = stack(vec![
        Ok("first answer".into()),
        Err(ModelError::TimedOut(ModelId::Gemma)),
        Ok("second answer".into()),
        Ok("third answer".into()),
    ]);
    let key = services.owner_key.clone();

    // No owner: refused before anything is spent.
    let refused = turn::send(&request(&services, None), form(None, "hi")).await;
    assert_eq!(refused.err(), Some(ChatError::NoOwner));
    assert!(gemma.seen.lock().expect("lock").is_empty());

    // A new chat: created with its first turn.
    let first = turn::send(
        &request(&services, cookie.clone()),
        form(None, "question one"),
    )
    .await
    .expect("first turn");
    let chat = first.session.id.clone();
    assert_eq!(first.replies[0].text, "first answer");

    // A model failure is kept as a failed turn (its reason as a code); the next turn's prompt
    // leaves it out.
    let failed = turn::send(
        &request(&services, cookie.clone()),
        form(Some(&chat), "lost"),
    )
    .await;
    assert_eq!(
        failed.err(),
        Some(ModelError::TimedOut(ModelId::Gemma).into())
    );
    let second = turn::send(
        &request(&services, cookie.clone()),
        form(Some(&chat), "question two"),
    )
    .await
    .expect("second turn");
    assert_eq!(second.session.message_count, 5);
    let seen = gemma.seen.lock().expect("lock").clone();
    let texts: Vec<&str> = seen[2].iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["question one", "first answer", "question two"]);
    let id = app::session::SessionId::parse(&chat).expect("id");
    let stored = store.load(&id).await.expect("load");
    assert_eq!(stored[2].text, "lost");
    assert_eq!(stored[2].status, app::conversation::TurnStatus::Failed);
    assert_eq!(stored[2].error.as_deref(), Some("model.timed_out.gemma"));

    // The same turn id again (a retry after a lost response) returns the stored turn, and the
    // model is not asked a second time.
    let mut once = form(Some(&chat), "question three");
    once.turn = Some("retry-me-0123456789".into());
    let first_try = turn::send(&request(&services, cookie.clone()), once)
        .await
        .expect("third turn");
    let mut again = form(Some(&chat), "question three");
    again.turn = Some("retry-me-0123456789".into());
    let second_try = turn::send(&request(&services, cookie.clone()), again)
        .await
        .expect("the same turn");
    assert_eq!(second_try.user.seq, first_try.user.seq);
    assert_eq!(second_try.replies, first_try.replies);
    assert_eq!(second_try.replies[0].text, "third answer");
    assert_eq!(gemma.seen.lock().expect("lock").len(), 4, "asked once");
    // A turn id that failed returns its failure, not a new attempt.
    let mut failed_again = form(Some(&chat), "lost");
    failed_again.turn = stored[2].turn.clone();
    assert_eq!(
        turn::send(&request(&services, cookie.clone()), failed_again)
            .await
            .err(),
        Some(ModelError::TimedOut(ModelId::Gemma).into())
    );
    assert_eq!(gemma.seen.lock().expect("lock").len(), 4);

    // Someone else's owner cannot send into the chat.
    let stranger = Some(format!("{OWNER_COOKIE}={}", key.sign(&OwnerId::generate())));
    let denied = turn::send(&request(&services, stranger), form(Some(&chat), "mine now")).await;
    assert_eq!(denied.err(), Some(ChatError::NoSuchChat));
    assert_eq!(store.load(&id).await.expect("load").len(), 7);
}

#[tokio::test]
async fn a_first_send_retried_with_its_turn_id_does_not_start_a_second_chat() {
    let (_dir, store, gemma, services, owner, cookie) =
        stack(vec![Ok("hello".into()), Ok("unused".into())]);
    let send = |turn: &str| {
        let mut f = form(None, "first words");
        f.turn = Some(turn.into());
        let r = request(&services, cookie.clone());
        async move { turn::send(&r, f).await }
    };
    let a = send("first-turn-of-a-chat").await.expect("first");
    let b = send("first-turn-of-a-chat").await.expect("retried");
    assert_eq!(a.session.id, b.session.id);
    assert_eq!(b.replies[0].text, "hello");
    assert_eq!(gemma.seen.lock().expect("lock").len(), 1);
    let chats = store.list_sessions(&owner, 10, None).await.expect("list");
    assert_eq!(chats.len(), 1, "one chat, not two");
    // A malformed turn id is refused before anything is stored.
    let bad = send("short").await;
    assert_eq!(
        bad.err(),
        Some(ChatError::Transport(app::errors::Transport::Malformed))
    );
}
