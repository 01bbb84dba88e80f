//! Long chats written straight into a server's SQLite file before it starts: a 2,000-message
//! chat takes a second or two this way, where a thousand turns over HTTP take much longer.

use app::conversation::{NewReply, NewTurn};
use app::models::ModelId;
use app::params::GenParams;
use app::services::ChatStore;
use app::session::{OwnerId, SessionId};
use server::store::sqlite::SqliteStore;
use std::path::Path;

/// The user message of turn `n` of a seeded chat (at seq `2n`); its reply is at `2n + 1`.
pub fn question(n: usize) -> String {
    format!("question {n}: tell me about **markdown** and `code`")
}

/// A chat of `messages` messages (a question and a Markdown answer per turn, alternating
/// Gemma and Gemini) in the SQLite file a server in `dir` uses, owned by a new owner. Returns
/// the chat's id and that owner's cookie (`hc_owner=…`).
pub async fn long_chat(dir: &Path, messages: usize) -> (String, String) {
    let store = SqliteStore::open(&dir.join("chat.sqlite3")).expect("open the server's SQLite");
    let owner = OwnerId::generate();
    let chat = chat_in(&store, &owner, messages).await;
    (chat.as_str().to_string(), crate::owner_cookie(dir, &owner))
}

/// [`long_chat`] with every message as heavy as the app accepts: 32,000 characters, 64,000
/// bytes (`é` takes two).
pub async fn heaviest_chat(dir: &Path, messages: usize) -> (String, String) {
    let store = SqliteStore::open(&dir.join("chat.sqlite3")).expect("open the server's SQLite");
    let owner = OwnerId::generate();
    let heavy = |n: usize, who: &str| {
        let head = format!("{who} {n}: ");
        let fill = (app::params::MAX_MESSAGE_BYTES - head.len()) / 2;
        format!("{head}{}", "é".repeat(fill))
    };
    let chat = seed(&store, &owner, messages, |n| {
        (heavy(n, "question"), heavy(n, "answer"), ModelId::Gemma)
    })
    .await;
    (chat.as_str().to_string(), crate::owner_cookie(dir, &owner))
}

/// [`long_chat`] in any store (Firestore's, say), for `owner`.
pub async fn chat_in(store: &dyn ChatStore, owner: &OwnerId, messages: usize) -> SessionId {
    seed(store, owner, messages, |n| {
        let answer = format!(
            "answer {n}: here is **bold**, `code` and a list:\n\n- one\n- two\n\n```rust\nfn main() {{}}\n```"
        );
        // Alternating Gemma and Gemini.
        let model = if n % 2 == 0 { ModelId::Gemma } else { ModelId::Gemini };
        (question(n), answer, model)
    })
    .await
}

/// A new chat of `messages` messages: turn `n`'s question, answer and model from `turn`.
async fn seed(
    store: &dyn ChatStore,
    owner: &OwnerId,
    messages: usize,
    turn: impl Fn(usize) -> (String, String, ModelId),
) -> SessionId {
    let chat = SessionId::generate();
    for n in 0..messages / 2 {
        let (text, answer, model) = turn(n);
        let at_ms = 1_700_000_000_000 + 2_000 * n as i64;
        let turn = NewTurn::single(
            GenParams::default(),
            text,
            at_ms,
            NewReply {
                model,
                text: answer,
                at_ms: at_ms + 900,
                latency_ms: 900,
                usage: None,
                cost: None,
                finish_reason: Some("stop".into()),
            },
        );
        store
            .append_turn(&chat, owner, &turn, n == 0)
            .await
            .expect("seed a turn");
    }
    chat
}
