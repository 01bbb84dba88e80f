//! Chat sessions in Firestore: database `chat-app-db` (configurable), collection
//! `chat_sessions`, one document per session (created and updated time, title, last model,
//! message count).
//!
//! Messages live in the session's `messages` subcollection, one document each, with the
//! zero-padded sequence number as id. A document holds at most 1 MiB, so keeping the messages in
//! the session document (or in chunks of it) would cap a chat's length; a subcollection has no
//! such limit and reads back in order by id.
//!
//! A turn is two writes. Accepting it writes the pending user message, a marker under its turn id
//! (`turns/{id}`, for retries) and the session document, which names the pending turn; completing
//! it writes the replies and the session document, in a transaction that reads it first. Accepting
//! is one commit when this process completed the chat's previous turn (conditional on the session
//! document still being the version it wrote, `known.rs`), else a transaction too; the first
//! also needs no history read. Turns in one chat go one at a time, so two tabs sending at once
//! conflict on the session document: one is accepted, the other refused as pending.
//!
//! Here: the store and its reads; `docs` (documents ↔ messages), `turns` (the two writes),
//! `commit` (several writes in one `Commit`),
//! `known` (what a process remembers of the chats it served), `chat_store` (the `ChatStore`
//! trait), `counters` (limits), `verdicts` (verdicts and model figures), `errors` (Firestore's as
//! ours).

mod chat_store;
mod commit;
mod counters;
mod deletion;
mod docs;
mod errors;
mod files;
mod history;
mod known;
mod reopen;
mod search;
mod system_prompt;
mod turns;
mod verdicts;

use app::conversation::{one_turn, MessageRange, StoredMessage};
use app::errors::StoreError;
use app::session::SessionId;
use docs::{MessageDoc, SessionDoc};
use errors::store_error;
use firestore::{path, FirestoreDb, FirestoreDbOptions, FirestoreResult};
use futures::TryStreamExt;
use known::{Known, KnownChats};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SESSIONS: &str = "chat_sessions";
const MESSAGES: &str = "messages";
/// Per session: one small document per turn id (the client's idempotency key), naming the
/// turn's user message, so a retried send is found with one read by id.
const TURNS: &str = "turns";
/// Per-visitor limit counters (server/src/limits.rs).
const COUNTERS: &str = "visitor_usage";
/// Per owner: the model figures the Models page shows (`verdicts.rs`).
const TALLIES: &str = "model_tallies";
/// The same figures per UTC day: documents `{day}_{owner}` (see `verdicts.rs`).
const DAY_TALLIES: &str = "model_day_tallies";
/// Operators' names for owners: a signed-in person's IAP email, by owner id.
const OWNER_LABELS: &str = "owner_labels";

#[derive(Clone)]
pub struct FirestoreStore {
    db: FirestoreDb,
    /// Per chat: its session document as this process last wrote it, that write's time, and its
    /// newest messages; the chat's next turn is then accepted in one commit and reads no
    /// history (see `known.rs`).
    known: KnownChats,
    /// Message documents read so far, and session documents a search read
    /// (`ChatStore::messages_read`): what Firestore bills.
    read: Arc<AtomicU64>,
}

impl FirestoreStore {
    /// Connects, retrying for up to `wait`: on start-up the database (or the emulator) may not
    /// be accepting connections yet. `FIRESTORE_EMULATOR_HOST` is honoured by the crate.
    pub async fn connect(project: &str, database: &str, wait: Duration) -> FirestoreResult<Self> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut delay = Duration::from_millis(200);
        loop {
            // Bounded requests: a hung database fails the turn ("not saved") instead of hanging it.
            let options = FirestoreDbOptions::new(project.to_string())
                .with_database_id(database.to_string())
                .with_request_timeout(Duration::from_secs(10));
            match FirestoreDb::with_options(options).await {
                Ok(db) => {
                    return Ok(FirestoreStore {
                        db,
                        known: Default::default(),
                        read: Default::default(),
                    })
                }
                Err(e) if tokio::time::Instant::now() + delay < deadline => {
                    tracing::warn!(error = %e, ?delay, "Firestore not reachable yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn known(&self, session: &SessionId) -> Option<Known> {
        self.known.get(session.as_str())
    }

    fn forget(&self, session: &SessionId) -> Option<Known> {
        self.known.take(session.as_str())
    }

    /// The turn whose user message is at `seq`: that message and the replies after it.
    pub(super) async fn turn_at(
        &self,
        session: &SessionId,
        seq: u64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        Ok(one_turn(self.messages_from(session, seq, Some(64)).await?))
    }

    /// A chat's messages from `seq` on, in order, at most `limit`.
    pub(super) async fn messages_from(
        &self,
        session: &SessionId,
        seq: u64,
        limit: Option<u32>,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let range = MessageRange {
            from: seq,
            before: None,
            limit: limit.map_or(usize::MAX, |l| l as usize),
            bytes: usize::MAX,
        };
        self.messages_in(session, range, false).await
    }

    /// The newest `range.limit` messages in `range`, in order.
    pub(super) async fn newest(
        &self,
        session: &SessionId,
        range: MessageRange,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut messages = self.messages_in(session, range, true).await?;
        messages.reverse();
        Ok(messages)
    }

    /// Messages in `range`, by seq (`newest_first` or oldest first), at most `range.limit`. A
    /// query stream (not a listing), so a server error mid-stream is reported, not dropped.
    async fn messages_in(
        &self,
        session: &SessionId,
        range: MessageRange,
        newest_first: bool,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        if range.limit == 0 {
            return Ok(Vec::new());
        }
        let parent = self
            .db
            .parent_path(SESSIONS, session.as_str())
            .map_err(store_error)?;
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut query = self
            .db
            .fluent()
            .select()
            .from(MESSAGES)
            .parent(&parent)
            .filter(|q| {
                q.for_all([
                    q.field(path!(MessageDoc::seq))
                        .greater_than_or_equal(clamp(range.from)),
                    range
                        .before
                        .and_then(|b| q.field(path!(MessageDoc::seq)).less_than(clamp(b))),
                ])
            })
            .order(|o| {
                let seq = o.field(path!(MessageDoc::seq));
                o.fields([if newest_first {
                    seq.descending()
                } else {
                    seq.ascending()
                }])
            });
        if let Ok(limit) = u32::try_from(range.limit) {
            query = query.limit(limit);
        }
        // Read one document at a time, up to the byte budget (counted from the far end).
        let mut stream = query
            .obj::<MessageDoc>()
            .stream_query_with_errors()
            .await
            .map_err(store_error)?;
        let mut docs = Vec::new();
        let mut bytes = 0usize;
        while let Some(doc) = stream.try_next().await.map_err(store_error)? {
            bytes = bytes.saturating_add(doc.text.len());
            if bytes > range.bytes && !docs.is_empty() {
                break;
            }
            docs.push(doc);
        }
        self.read.fetch_add(docs.len() as u64, Ordering::Relaxed);
        Ok(docs
            .into_iter()
            .filter_map(MessageDoc::into_stored)
            .collect())
    }

    async fn session_doc(&self, id: &str) -> FirestoreResult<Option<SessionDoc>> {
        self.db
            .fluent()
            .select()
            .by_id_in(SESSIONS)
            .obj()
            .one(id)
            .await
    }
}
