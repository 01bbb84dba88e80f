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
//! document still being the version it wrote, `FirestoreStore::known`), else a transaction too. Turns in one chat go one at a time, so two tabs sending at
//! once conflict on the session document: one is accepted, the other refused as pending.

use crate::limits::UsageCounters;
use app::conversation::{
    one_turn, AppendedTurn, Begun, Role, SessionSummary, StoredMessage, TokenUsage, TurnId,
    TurnOutcome, TurnRequest, TurnStatus,
};
use app::errors::StoreError;
use app::models::ModelId;
use app::params::GenParams;
use app::services::ChatStore;
use app::session::{OwnerId, SessionId};
use async_trait::async_trait;
use firestore::errors::FirestoreError;
use firestore::{
    path, paths, FirestoreConsistencySelector, FirestoreDb, FirestoreDbOptions, FirestoreInstant,
    FirestoreResult, FirestoreTransactionOptions, FirestoreWritePrecondition,
};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SESSIONS: &str = "chat_sessions";
const MESSAGES: &str = "messages";
/// Per session: one small document per turn id (the client's idempotency key), naming the
/// turn's user message, so a retried send is found with one read by id.
const TURNS: &str = "turns";
/// Per-visitor limit counters (server/src/limits.rs).
const COUNTERS: &str = "visitor_usage";
/// How many chats' session documents a process remembers (see `FirestoreStore::known`).
const KNOWN_CHATS: usize = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionDoc {
    #[serde(default)]
    id: String,
    /// The browser (or, later, the user) the session belongs to. Listing filters on it, ordered
    /// by `updated_at_ms`: infra/firestore.tf creates that composite index.
    #[serde(default)]
    owner: String,
    created_at_ms: i64,
    updated_at_ms: i64,
    title: String,
    last_model: String,
    message_count: i64,
    /// The pending turn's user message (`seq`) and when it was accepted: turns go one at a
    /// time, and every turn's transaction reads this document anyway.
    #[serde(default)]
    pending_seq: Option<i64>,
    #[serde(default)]
    pending_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TurnDoc {
    seq: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MessageDoc {
    seq: i64,
    role: String,
    text: String,
    model: String,
    temperature: f64,
    top_p: f64,
    max_tokens: i64,
    created_at_ms: i64,
    latency_ms: Option<i64>,
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
    total_tokens: Option<i64>,
    finish_reason: Option<String>,
    #[serde(default)]
    turn_id: Option<String>,
    /// Absent on messages written before turns had a status: complete.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

impl From<&StoredMessage> for MessageDoc {
    fn from(m: &StoredMessage) -> Self {
        MessageDoc {
            seq: m.seq as i64,
            role: m.role.as_str().into(),
            text: m.text.clone(),
            model: m.model.as_str().into(),
            temperature: m.params.temperature as f64,
            top_p: m.params.top_p as f64,
            max_tokens: m.params.max_tokens as i64,
            created_at_ms: m.created_at_ms,
            latency_ms: m.latency_ms.map(|v| v as i64),
            prompt_tokens: m.usage.map(|u| u.prompt_tokens as i64),
            completion_tokens: m.usage.map(|u| u.completion_tokens as i64),
            total_tokens: m.usage.map(|u| u.total_tokens as i64),
            finish_reason: m.finish_reason.clone(),
            turn_id: m.turn.clone(),
            status: Some(m.status.as_str().to_string()),
            error: m.error.clone(),
        }
    }
}

impl MessageDoc {
    /// A document this version cannot read (unknown model or role) is skipped, not fatal.
    fn into_stored(self) -> Option<StoredMessage> {
        Some(StoredMessage {
            seq: self.seq as u64,
            role: Role::parse(&self.role)?,
            text: self.text,
            model: ModelId::parse(&self.model)?,
            params: GenParams {
                temperature: self.temperature as f32,
                top_p: self.top_p as f32,
                max_tokens: self.max_tokens as u32,
            },
            created_at_ms: self.created_at_ms,
            latency_ms: self.latency_ms.map(|v| v as u64),
            usage: self.total_tokens.map(|total| TokenUsage {
                prompt_tokens: self.prompt_tokens.unwrap_or(0) as u32,
                completion_tokens: self.completion_tokens.unwrap_or(0) as u32,
                total_tokens: total as u32,
            }),
            finish_reason: self.finish_reason,
            turn: self.turn_id,
            status: self
                .status
                .as_deref()
                .and_then(TurnStatus::parse)
                .unwrap_or_default(),
            error: self.error,
        })
    }
}

impl SessionDoc {
    /// The session document once `turn` is accepted after `existing` (none: a new chat): the
    /// turn is pending at the next position.
    fn accepting(existing: Option<SessionDoc>, id: &str, owner: &str, turn: &TurnRequest) -> Self {
        let next = existing.as_ref().map_or(0, |s| s.message_count);
        SessionDoc {
            id: id.to_string(),
            owner: owner.to_string(),
            created_at_ms: existing.as_ref().map_or(turn.at_ms, |s| s.created_at_ms),
            updated_at_ms: turn.at_ms,
            title: existing.map_or_else(|| turn.title(), |s| s.title),
            last_model: turn.model.as_str().into(),
            message_count: next + 1,
            pending_seq: Some(next),
            pending_at_ms: Some(turn.at_ms),
        }
    }

    fn summary(self) -> Option<SessionSummary> {
        Some(SessionSummary {
            last_model: ModelId::parse(&self.last_model)?,
            id: self.id,
            title: self.title,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            message_count: self.message_count as u64,
        })
    }
}

fn message_id(seq: u64) -> String {
    format!("{seq:010}")
}

/// The accepting transaction's reads and writes (see `ChatStore::begin_turn`): `Err(StoreError)`
/// refuses the turn, `Ok(Err(seq))` names the turn already stored under this id, and
/// `Ok(Ok(..))` is the pending message, the session document and the stale turn marked
/// interrupted, if any.
type Accepted = (StoredMessage, SessionDoc, Option<u64>);

async fn accept(
    db: &FirestoreDb,
    transaction: &mut firestore::FirestoreTransaction<'_>,
    session: &SessionId,
    owner: &OwnerId,
    turn: &TurnRequest,
    create: bool,
    stale_before_ms: i64,
) -> FirestoreResult<Result<Result<Accepted, u64>, StoreError>> {
    let (id, owner) = (session.as_str().to_string(), owner.as_str().to_string());
    let parent = db.parent_path(SESSIONS, &id)?;
    // Both read in this transaction, side by side: a chat deleted meanwhile (the
    // delete writes the session document first) is not brought back.
    let session_read = db.fluent().select().by_id_in(SESSIONS).obj().one(&id);
    let marker_read = db
        .fluent()
        .select()
        .by_id_in(TURNS)
        .parent(&parent)
        .obj()
        .one(turn.turn.as_str());
    let (existing, marker) = futures::join!(session_read, marker_read);
    let (existing, marker): (Option<SessionDoc>, Option<TurnDoc>) = (existing?, marker?);
    match &existing {
        Some(s) if s.owner != owner => return Ok(Err(StoreError::NotFound)),
        None if !create => return Ok(Err(StoreError::NotFound)),
        _ => {}
    }
    if let Some(m) = marker {
        return Ok(Ok(Err(m.seq as u64)));
    }
    let mut interrupted_seq = None;
    if let Some(s) = &existing {
        if let (Some(seq), Some(at)) = (s.pending_seq, s.pending_at_ms) {
            if at >= stale_before_ms {
                return Ok(Err(StoreError::TurnPending));
            }
            interrupted_seq = Some(seq as u64);
            db.fluent()
                .update()
                .fields(paths!(MessageDoc::{status, error}))
                .in_col(MESSAGES)
                .document_id(message_id(seq as u64))
                .parent(&parent)
                .object(&interrupted())
                .add_to_transaction(transaction)?;
        }
    }
    let next = existing.as_ref().map_or(0, |s| s.message_count) as u64;
    let user = turn.to_stored(next);
    db.fluent()
        .update()
        .in_col(MESSAGES)
        .document_id(message_id(next))
        .parent(&parent)
        .object(&MessageDoc::from(&user))
        .add_to_transaction(transaction)?;
    db.fluent()
        .update()
        .in_col(TURNS)
        .document_id(turn.turn.as_str())
        .parent(&parent)
        .object(&TurnDoc { seq: next as i64 })
        .add_to_transaction(transaction)?;
    let doc = SessionDoc::accepting(existing, &id, &owner, turn);
    db.fluent()
        .update()
        .in_col(SESSIONS)
        .document_id(&id)
        .object(&doc)
        .add_to_transaction(transaction)?;
    Ok(Ok(Ok((user, doc, interrupted_seq))))
}

/// A pending turn completed with `outcome`: its messages as they are written (the user's, then
/// any replies, right after it), and `doc` updated to match.
fn completed(
    user: &StoredMessage,
    outcome: &TurnOutcome,
    doc: &mut SessionDoc,
) -> Vec<StoredMessage> {
    let (status, error, replies) = match outcome {
        TurnOutcome::Answered(r) => (TurnStatus::Complete, None, r.as_slice()),
        TurnOutcome::Failed(code) => (TurnStatus::Failed, Some(code.clone()), &[][..]),
        TurnOutcome::Stopped => (TurnStatus::Stopped, None, &[][..]),
    };
    let user = StoredMessage {
        status,
        error,
        ..user.clone()
    };
    let next = doc.message_count as u64;
    let mut messages = vec![user];
    for (i, reply) in replies.iter().enumerate() {
        messages.push(reply.to_stored(next + i as u64, messages[0].params));
    }
    doc.message_count = (next as usize + replies.len()) as i64;
    doc.updated_at_ms = doc
        .updated_at_ms
        .max(messages.last().map_or(0, |m| m.created_at_ms));
    if let Some(r) = replies.first() {
        doc.last_model = r.model.as_str().into();
    }
    doc.pending_seq = None;
    doc.pending_at_ms = None;
    messages
}

/// The completing transaction's reads and writes (see `ChatStore::finish_turn`): `None` if the
/// chat is gone or this turn is no longer its pending one.
async fn complete(
    db: &FirestoreDb,
    transaction: &mut firestore::FirestoreTransaction<'_>,
    session: &SessionId,
    user: &StoredMessage,
    outcome: &TurnOutcome,
) -> FirestoreResult<Option<(Vec<StoredMessage>, SessionDoc)>> {
    let id = session.as_str();
    let parent = db.parent_path(SESSIONS, id)?;
    let existing: Option<SessionDoc> = db
        .fluent()
        .select()
        .by_id_in(SESSIONS)
        .obj()
        .one(id)
        .await?;
    // The session document names its pending turn: one read tells both that the chat still
    // exists and that this turn is still the pending one.
    let Some(mut doc) = existing.filter(|s| s.pending_seq == Some(user.seq as i64)) else {
        return Ok(None);
    };
    let messages = completed(user, outcome, &mut doc);
    for m in &messages {
        db.fluent()
            .update()
            .in_col(MESSAGES)
            .document_id(message_id(m.seq))
            .parent(&parent)
            .object(&MessageDoc::from(m))
            .add_to_transaction(transaction)?;
    }
    db.fluent()
        .update()
        .in_col(SESSIONS)
        .document_id(id)
        .object(&doc)
        .add_to_transaction(transaction)?;
    Ok(Some((messages, doc)))
}

/// Whether a transaction lost to another one and may run again.
fn aborted(e: &FirestoreError) -> bool {
    match e {
        FirestoreError::DatabaseError(d) => d.retry_possible || d.public.code.contains("Aborted"),
        _ => false,
    }
}

/// The fields a stale pending turn's user message is updated with.
fn interrupted() -> MessageDoc {
    MessageDoc {
        seq: 0,
        role: String::new(),
        text: String::new(),
        model: String::new(),
        temperature: 0.0,
        top_p: 0.0,
        max_tokens: 0,
        created_at_ms: 0,
        latency_ms: None,
        prompt_tokens: None,
        completion_tokens: None,
        total_tokens: None,
        finish_reason: None,
        turn_id: None,
        status: Some(TurnStatus::Failed.as_str().into()),
        error: Some("interrupted".into()),
    }
}

/// Maps Firestore's errors to the store's, logging the detail here and only here.
fn store_error(e: FirestoreError) -> StoreError {
    tracing::error!(error = %e, "firestore error");
    let code = match &e {
        FirestoreError::DatabaseError(db) => db.public.code.clone(),
        // A transaction reports its last attempt's failure inside its own error.
        FirestoreError::ErrorInTransaction(t) => t.to_string(),
        FirestoreError::NetworkError(_) => return StoreError::Unavailable,
        _ => return StoreError::Failed,
    };
    for (name, error) in [
        ("PermissionDenied", StoreError::PermissionDenied),
        ("Unauthenticated", StoreError::PermissionDenied),
        ("DeadlineExceeded", StoreError::TimedOut),
        ("Aborted", StoreError::Busy),
        ("ResourceExhausted", StoreError::Busy),
        ("Unavailable", StoreError::Unavailable),
    ] {
        if code.contains(name) {
            return error;
        }
    }
    StoreError::Failed
}

#[derive(Clone)]
pub struct FirestoreStore {
    db: FirestoreDb,
    /// Per chat: its session document as this process last wrote it (completing a turn), and
    /// that write's time. The chat's next turn is then accepted in one commit, on the condition
    /// that the document is still that version (nothing touched the chat meanwhile, here or on
    /// another replica): one round trip where a transaction takes three. If the condition fails,
    /// a transaction decides after all. Bounded: cleared when it reaches `KNOWN_CHATS`.
    known: Arc<Mutex<HashMap<String, (FirestoreInstant, SessionDoc)>>>,
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

    /// One transaction reads the session document and the turn id's marker and writes the
    /// pending user message, the marker and the session; the history is read beside it (not in
    /// it, so its documents are not locked) and checked against the new message's position.
    async fn begin(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnRequest,
        create: bool,
        stale_before_ms: i64,
        read_history: bool,
    ) -> Result<Begun, StoreError> {
        // A transaction of our own (not `run_transaction`), for its commit time: the session
        // document's version, which lets the turn's completion skip a transaction (see
        // `finish_turn`).
        let transaction = async {
            if let Some((accepted, version)) =
                self.begin_at_version(session, owner, turn, create).await?
            {
                return Ok(Ok(Ok((accepted, Some(version)))));
            }
            let mut delay = Duration::from_millis(10);
            let mut attempt = 0;
            loop {
                attempt += 1;
                let mut tx = self.db.begin_transaction().await?;
                let db = self.db.clone_with_consistency_selector(
                    FirestoreConsistencySelector::Transaction(tx.transaction_id().clone()),
                );
                let result =
                    match accept(&db, &mut tx, session, owner, turn, create, stale_before_ms).await
                    {
                        Ok(Ok(Ok(accepted))) => {
                            tx.commit().await.map(|r| Ok(Ok((accepted, r.commit_time))))
                        }
                        other => {
                            let _ = tx.rollback().await;
                            other.map(|r| r.map(|r| r.map(|a| (a, None))))
                        }
                    };
                match result {
                    // Contention with another of this chat's tabs: run again, as
                    // `run_transaction` would.
                    Err(e) if aborted(&e) && attempt < 40 => {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(1));
                    }
                    other => return other,
                }
            }
        };
        // A new chat has no history to read.
        let (written, history) = if create || !read_history {
            (transaction.await, Ok(Vec::new()))
        } else {
            futures::join!(transaction, self.load(session))
        };
        let ((user, doc, interrupted_seq), version) = match written.map_err(store_error)?? {
            Ok(accepted) => accepted,
            Err(seq) => {
                return Ok(Begun::Existing(self.turn_at(session, seq).await?));
            }
        };
        match version {
            Some(version) => self.remember(&doc, version),
            None => self.forget(session),
        }
        let mut history = history?;
        history.retain(|m| m.seq < user.seq);
        if !read_history || user.seq == 0 {
            return Ok(Begun::Accepted {
                history,
                user,
                session: doc.summary().ok_or(StoreError::Failed)?,
            });
        }
        // Read beside the transaction, the history may predate a turn that completed just
        // before it: then it is short of the new message's position, and is read again.
        if history.last().map_or(0, |m| m.seq + 1) != user.seq {
            history = self.load(session).await?;
            history.retain(|m| m.seq < user.seq);
        }
        // The stale turn this transaction marked interrupted may have been read before.
        if let Some(m) = history.iter_mut().find(|m| Some(m.seq) == interrupted_seq) {
            m.status = TurnStatus::Failed;
            m.error = Some("interrupted".into());
        }
        Ok(Begun::Accepted {
            history,
            user,
            session: doc.summary().ok_or(StoreError::Failed)?,
        })
    }

    /// Accepts a turn in one commit when this process knows the chat's session document (or the
    /// chat is new): the checks are made against that version, and the commit is conditional on
    /// it (and on the turn id being new). `None`: no such knowledge, or the condition failed.
    async fn begin_at_version(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnRequest,
        create: bool,
    ) -> FirestoreResult<Option<(Accepted, FirestoreInstant)>> {
        let (existing, precondition) = match self.known(session) {
            // A pending turn (perhaps stale) or someone else's chat: the transaction decides.
            Some((_, doc)) if doc.pending_seq.is_some() || doc.owner != owner.as_str() => {
                return Ok(None)
            }
            Some((version, doc)) => (Some(doc), FirestoreWritePrecondition::UpdateTime(version)),
            None if create => (None, FirestoreWritePrecondition::Exists(false)),
            None => return Ok(None),
        };
        let id = session.as_str();
        let parent = self.db.parent_path(SESSIONS, id)?;
        let next = existing.as_ref().map_or(0, |s| s.message_count) as u64;
        let user = turn.to_stored(next);
        let doc = SessionDoc::accepting(existing, id, owner.as_str(), turn);
        let writer = self.db.create_simple_batch_writer().await?;
        let mut batch = writer.new_batch();
        self.db
            .fluent()
            .update()
            .in_col(MESSAGES)
            .document_id(message_id(next))
            .parent(&parent)
            .object(&MessageDoc::from(&user))
            .add_to_batch(&mut batch)?;
        // A turn id already used fails the condition; the transaction then finds its turn.
        self.db
            .fluent()
            .update()
            .in_col(TURNS)
            .precondition(FirestoreWritePrecondition::Exists(false))
            .document_id(turn.turn.as_str())
            .parent(&parent)
            .object(&TurnDoc { seq: next as i64 })
            .add_to_batch(&mut batch)?;
        self.db
            .fluent()
            .update()
            .in_col(SESSIONS)
            .precondition(precondition)
            .document_id(id)
            .object(&doc)
            .add_to_batch(&mut batch)?;
        Ok(self
            .commit_if(std::mem::take(&mut batch.writes))
            .await?
            .map(|version| ((user, doc, None), version)))
    }

    /// Commits `writes` at once, without a transaction: atomic, like a client library's write
    /// batch (the crate's batch writer uses BatchWrite, which is not). `None` when a write's
    /// precondition failed; otherwise the commit time.
    async fn commit_if(
        &self,
        writes: Vec<firestore::gcloud_sdk::google::firestore::v1::Write>,
    ) -> FirestoreResult<Option<FirestoreInstant>> {
        use firestore::gcloud_sdk::google::firestore::v1::CommitRequest;
        use firestore::gcloud_sdk::tonic;
        let mut request = tonic::Request::new(CommitRequest {
            database: self.db.get_database_path().clone(),
            writes,
            transaction: Vec::new(),
            request_options: None,
        });
        request.set_timeout(Duration::from_secs(10));
        match self.db.client().get().commit(request).await {
            Ok(response) => {
                let time = response.into_inner().commit_time.ok_or_else(|| {
                    FirestoreError::from(tonic::Status::internal("commit without a time"))
                })?;
                // Exact to the nanosecond, as the precondition needs it.
                firestore::timestamp_utils::from_timestamp(time).map(Some)
            }
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::FailedPrecondition
                        | tonic::Code::NotFound
                        | tonic::Code::AlreadyExists
                ) =>
            {
                Ok(None)
            }
            Err(status) => Err(FirestoreError::from(status)),
        }
    }

    fn known(&self, session: &SessionId) -> Option<(FirestoreInstant, SessionDoc)> {
        self.known.lock().ok()?.get(session.as_str()).cloned()
    }

    fn remember(&self, doc: &SessionDoc, version: FirestoreInstant) {
        if let Ok(mut known) = self.known.lock() {
            if known.len() >= KNOWN_CHATS {
                known.clear();
            }
            known.insert(doc.id.clone(), (version, doc.clone()));
        }
    }

    fn forget(&self, session: &SessionId) {
        if let Ok(mut known) = self.known.lock() {
            known.remove(session.as_str());
        }
    }

    /// The turn whose user message is at `seq`: that message and the replies after it.
    async fn turn_at(
        &self,
        session: &SessionId,
        seq: u64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let parent = self
            .db
            .parent_path(SESSIONS, session.as_str())
            .map_err(store_error)?;
        let docs: Vec<MessageDoc> = self
            .db
            .fluent()
            .select()
            .from(MESSAGES)
            .parent(&parent)
            .filter(|q| {
                q.for_all([q
                    .field(path!(MessageDoc::seq))
                    .greater_than_or_equal(seq as i64)])
            })
            .order(|o| o.fields([o.field(path!(MessageDoc::seq)).ascending()]))
            .limit(8)
            .obj()
            .stream_query_with_errors()
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        Ok(one_turn(
            docs.into_iter()
                .filter_map(MessageDoc::into_stored)
                .collect(),
        ))
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

#[async_trait]
impl ChatStore for FirestoreStore {
    async fn load(&self, session: &SessionId) -> Result<Vec<StoredMessage>, StoreError> {
        let parent = self
            .db
            .parent_path(SESSIONS, session.as_str())
            .map_err(store_error)?;
        // A query stream (not a listing) so a server error mid-stream is reported, not dropped.
        let docs: Vec<MessageDoc> = self
            .db
            .fluent()
            .select()
            .from(MESSAGES)
            .parent(&parent)
            .order(|o| o.fields([o.field(path!(MessageDoc::seq)).ascending()]))
            .obj()
            .stream_query_with_errors()
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        Ok(docs
            .into_iter()
            .filter_map(MessageDoc::into_stored)
            .collect())
    }

    async fn load_owned(
        &self,
        session: &SessionId,
        owner: &OwnerId,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError> {
        // Side by side: the session document (its owner) and the messages, in one round trip's
        // time instead of two.
        let (doc, messages) =
            futures::join!(self.session_doc(session.as_str()), self.load(session));
        let doc = doc.map_err(store_error)?;
        match doc {
            Some(d) if d.owner == owner.as_str() => Ok(Some(messages?)),
            _ => Ok(None),
        }
    }

    async fn owner_of(&self, session: &SessionId) -> Result<Option<OwnerId>, StoreError> {
        Ok(self
            .session_doc(session.as_str())
            .await
            .map_err(store_error)?
            .and_then(|d| OwnerId::parse(&d.owner)))
    }

    async fn begin_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnRequest,
        create: bool,
        stale_before_ms: i64,
    ) -> Result<Begun, StoreError> {
        self.begin(session, owner, turn, create, stale_before_ms, true)
            .await
    }

    /// Seeding needs no history: this skips the read that grows with the chat.
    async fn append_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &app::conversation::NewTurn,
        create: bool,
    ) -> Result<AppendedTurn, StoreError> {
        if turn.replies.is_empty() {
            return Err(StoreError::Failed);
        }
        let (request, replies) = turn.clone().split(TurnId::generate());
        match self
            .begin(session, owner, &request, create, i64::MIN, false)
            .await?
        {
            Begun::Accepted { user, .. } => {
                self.finish_turn(session, &user, &TurnOutcome::Answered(replies))
                    .await
            }
            Begun::Existing(_) => Err(StoreError::Failed),
        }
    }

    /// Always a transaction that reads the session document first. During a store stall it is
    /// that read which waits, so a completion reported as not saved cannot land later (a lone
    /// commit, queued by a stalled database, could). Its commit time is remembered, so the
    /// chat's next turn is accepted in one commit (`begin_at_version`).
    async fn finish_turn(
        &self,
        session: &SessionId,
        user: &StoredMessage,
        outcome: &TurnOutcome,
    ) -> Result<AppendedTurn, StoreError> {
        self.forget(session);
        let mut delay = Duration::from_millis(10);
        let mut attempt = 0;
        let written =
            loop {
                attempt += 1;
                let mut tx = self.db.begin_transaction().await.map_err(store_error)?;
                let db = self.db.clone_with_consistency_selector(
                    FirestoreConsistencySelector::Transaction(tx.transaction_id().clone()),
                );
                let result = match complete(&db, &mut tx, session, user, outcome).await {
                    Ok(Some(written)) => tx.commit().await.map(|r| Some((written, r.commit_time))),
                    other => {
                        let _ = tx.rollback().await;
                        other.map(|_| None)
                    }
                };
                match result {
                    Err(e) if aborted(&e) && attempt < 40 => {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(1));
                    }
                    other => break other.map_err(store_error)?,
                }
            };
        let ((messages, doc), version) = written.ok_or(StoreError::NotFound)?;
        if let Some(version) = version {
            self.remember(&doc, version);
        }
        Ok(AppendedTurn {
            messages,
            session: doc.summary().ok_or(StoreError::Failed)?,
        })
    }

    async fn load_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnId,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError> {
        let parent = self
            .db
            .parent_path(SESSIONS, session.as_str())
            .map_err(store_error)?;
        let marker = self
            .db
            .fluent()
            .select()
            .by_id_in(TURNS)
            .parent(&parent)
            .obj::<TurnDoc>()
            .one(turn.as_str());
        let (doc, marker) = futures::join!(self.session_doc(session.as_str()), marker);
        let owned = doc
            .map_err(store_error)?
            .is_some_and(|d| d.owner == owner.as_str());
        match marker.map_err(store_error)? {
            Some(m) if owned => Ok(Some(self.turn_at(session, m.seq as u64).await?)),
            _ => Ok(None),
        }
    }

    /// Firestore has no substring queries, so this pages through the owner's sessions, newest
    /// first, and matches titles here: at most SEARCH_SCAN sessions are read, which covers any
    /// person's chats in practice and bounds the cost of a search.
    async fn search_sessions(
        &self,
        owner: &OwnerId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        const PAGE: usize = 300;
        const SEARCH_SCAN: usize = 3_000;
        let query = query.to_lowercase();
        let mut found = Vec::new();
        let mut before = None;
        let mut scanned = 0;
        while scanned < SEARCH_SCAN && found.len() < limit {
            let page = self.list_sessions(owner, PAGE, before).await?;
            scanned += page.len();
            before = page.last().map(|s| s.updated_at_ms);
            let last_page = page.len() < PAGE;
            found.extend(
                page.into_iter()
                    .filter(|s| s.title.to_lowercase().contains(&query)),
            );
            if last_page {
                break;
            }
        }
        found.truncate(limit);
        Ok(found)
    }

    async fn list_sessions(
        &self,
        owner: &OwnerId,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let owner = owner.as_str().to_string();
        let docs: Vec<SessionDoc> = self
            .db
            .fluent()
            .select()
            .from(SESSIONS)
            .filter(|q| {
                q.for_all([
                    q.field(path!(SessionDoc::owner)).eq(owner.clone()),
                    before.and_then(|b| q.field(path!(SessionDoc::updated_at_ms)).less_than(b)),
                ])
            })
            .order(|o| o.fields([o.field(path!(SessionDoc::updated_at_ms)).descending()]))
            .limit(limit as u32)
            .obj()
            .stream_query_with_errors()
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        Ok(docs.into_iter().filter_map(SessionDoc::summary).collect())
    }

    async fn summary(&self, session: &SessionId) -> Result<Option<SessionSummary>, StoreError> {
        Ok(self
            .session_doc(session.as_str())
            .await
            .map_err(store_error)?
            .and_then(SessionDoc::summary))
    }

    async fn rename(&self, session: &SessionId, title: &str) -> Result<(), StoreError> {
        self.forget(session);
        let Some(mut doc) = self
            .session_doc(session.as_str())
            .await
            .map_err(store_error)?
        else {
            return Err(StoreError::NotFound);
        };
        doc.title = title.to_string();
        // Only the title is written, so a turn landing meanwhile keeps its count; and only if
        // the session still exists, so a delete in between is not undone by a title-only
        // document (Firestore's update would otherwise create it).
        self.db
            .fluent()
            .update()
            .fields(paths!(SessionDoc::{title}))
            .in_col(SESSIONS)
            .precondition(FirestoreWritePrecondition::Exists(true))
            .document_id(session.as_str())
            .object(&doc)
            .execute::<()>()
            .await
            .map_err(|e| match store_error(e) {
                StoreError::Failed => StoreError::NotFound,
                other => other,
            })
    }

    /// The session document goes first: every turn's transaction reads it, so from then on no
    /// turn can land here; the messages (read after that, so a turn that landed just before is
    /// included) follow in batches. A crash in between leaves messages no session points at,
    /// which no reader can reach and a second delete removes.
    async fn delete(&self, session: &SessionId) -> Result<(), StoreError> {
        self.forget(session);
        let id = session.as_str();
        let parent = self.db.parent_path(SESSIONS, id).map_err(store_error)?;
        self.db
            .fluent()
            .delete()
            .from(SESSIONS)
            .document_id(id)
            .execute()
            .await
            .map_err(store_error)?;
        let messages = self.load(session).await?;
        let writer = self
            .db
            .create_simple_batch_writer()
            .await
            .map_err(store_error)?;
        // A batch takes at most 500 writes (here at most two per message: it and its turn marker).
        for chunk in messages.chunks(200) {
            let mut batch = writer.new_batch();
            for m in chunk {
                self.db
                    .fluent()
                    .delete()
                    .from(MESSAGES)
                    .parent(&parent)
                    .document_id(message_id(m.seq))
                    .add_to_batch(&mut batch)
                    .map_err(store_error)?;
                if let Some(turn) = &m.turn {
                    self.db
                        .fluent()
                        .delete()
                        .from(TURNS)
                        .parent(&parent)
                        .document_id(turn)
                        .add_to_batch(&mut batch)
                        .map_err(store_error)?;
                }
            }
            batch.write().await.map_err(store_error)?;
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.session_doc("readiness-probe")
            .await
            .map(|_| ())
            .map_err(store_error)
    }
}

/// One per-visitor limit counter. `expires_at` is a timestamp so a Firestore TTL policy
/// (infra/firestore.tf) can delete old counters.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CounterDoc {
    value: i64,
    #[serde(with = "firestore::serialize_as_timestamp")]
    expires_at: FirestoreInstant,
}

#[async_trait]
impl UsageCounters for FirestoreStore {
    async fn add(&self, key: &str, delta: i64, expires_at_ms: i64) -> Result<i64, StoreError> {
        let key = key.to_string();
        let expires_at =
            FirestoreInstant::from_millisecond(expires_at_ms).map_err(|_| StoreError::Failed)?;
        // Contention is one visitor's own turns racing; a few retries settle it.
        let options = FirestoreTransactionOptions::new().with_max_retries(20);
        self.db
            .run_transaction_with_options(
                move |db, transaction| {
                    let key = key.clone();
                    Box::pin(async move {
                        let existing: Option<CounterDoc> = db
                            .fluent()
                            .select()
                            .by_id_in(COUNTERS)
                            .obj()
                            .one(&key)
                            .await?;
                        let value = existing.map_or(0, |c| c.value) + delta;
                        db.fluent()
                            .update()
                            .in_col(COUNTERS)
                            .document_id(&key)
                            .object(&CounterDoc { value, expires_at })
                            .add_to_transaction(transaction)?;
                        Ok(value)
                    })
                },
                options,
            )
            .await
            .map_err(store_error)
    }

    async fn get(&self, key: &str) -> Result<i64, StoreError> {
        let doc: Option<CounterDoc> = self
            .db
            .fluent()
            .select()
            .by_id_in(COUNTERS)
            .obj()
            .one(key)
            .await
            .map_err(store_error)?;
        Ok(doc.map_or(0, |c| c.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firestore::errors::{FirestoreDatabaseError, FirestoreErrorPublicGenericDetails};

    fn db_error(code: &str) -> FirestoreError {
        FirestoreError::DatabaseError(FirestoreDatabaseError::new(
            FirestoreErrorPublicGenericDetails::new(code.to_string()),
            "detail".to_string(),
            false,
        ))
    }

    #[test]
    fn firestore_codes_map_to_typed_store_errors() {
        assert_eq!(
            store_error(db_error("PermissionDenied")),
            StoreError::PermissionDenied
        );
        assert_eq!(
            store_error(db_error("DeadlineExceeded")),
            StoreError::TimedOut
        );
        assert_eq!(store_error(db_error("Aborted")), StoreError::Busy);
        assert_eq!(
            store_error(db_error("Unavailable")),
            StoreError::Unavailable
        );
        assert_eq!(store_error(db_error("Internal")), StoreError::Failed);
        assert!(StoreError::PermissionDenied
            .to_string()
            .contains("operator"));
    }
}
