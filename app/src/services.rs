//! What the server functions need from the server, as small traits. `server` implements them
//! (vLLM, SQLite, …) and provides a [`Services`] value as Leptos context; `app` never depends on
//! how they are built.

use crate::conversation::{
    AppendedTurn, Begun, MessageRange, NewTurn, Replies, SessionSummary, StoredMessage, TokenUsage,
    TurnId, TurnOutcome, TurnRequest, Verdict,
};
use crate::errors::{ChatError, ModelError, StoreError};
use crate::models::{Availability, ModelId, ModelOption};
use crate::params::GenParams;
pub use crate::prompt::{HistoryWindow, PromptMessage};
use crate::session::{OwnerId, OwnerKey, SessionId};
use crate::tally::Tally;
pub use crate::turn_tasks::{RunningTurn, TurnTasks};
use async_trait::async_trait;
pub use blobs::{BlobError, BlobStore};
pub use file_room::{FileRoom, HeldRoom};
pub use files::{FileRecord, FileRecords};
pub use labelled::Labelled;
use std::sync::Arc;

pub mod blobs;
mod file_room;
mod files;
mod labelled;

/// The chat's last turn, asked again: the user message at `seq`, under a new turn id, at `at_ms`.
#[derive(Clone, Debug, PartialEq)]
pub struct Again {
    pub seq: u64,
    pub turn: TurnId,
    pub at_ms: i64,
}

/// A model's whole reply. Its text is never blank: [`ModelReply::new`] is the one place a blank
/// answer becomes [`ModelError::Empty`], whichever backend it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelReply {
    pub(crate) text: String,
    pub finish_reason: Option<String>,
    pub usage: Option<TokenUsage>,
    /// A GPU-priced backend's share of its GPU's time while it answered (ms): see
    /// `crate::cost`. Set by the backend after [`ModelReply::new`].
    pub gpu_ms: Option<u64>,
}

impl ModelReply {
    pub fn new(
        model: ModelId,
        text: &str,
        finish_reason: Option<String>,
        usage: Option<TokenUsage>,
    ) -> Result<ModelReply, ModelError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ModelError::Empty(model));
        }
        Ok(ModelReply {
            text: text.to_string(),
            finish_reason,
            usage,
            gpu_ms: None,
        })
    }

    /// The reply with the GPU time it held (a GPU-priced backend's).
    pub fn with_gpu_ms(self, gpu_ms: u64) -> ModelReply {
        ModelReply {
            gpu_ms: Some(gpu_ms),
            ..self
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// A chat model: a conversation and parameters in, one reply (or a typed error) out.
#[async_trait]
pub trait ChatModel: Send + Sync {
    fn id(&self) -> ModelId;

    /// The last known availability; cheap, never blocks on the network.
    fn availability(&self) -> Availability;

    /// Whether it takes files at all (what kinds: `AttachmentKind::read_by`). A vLLM serving
    /// the model-garden `/generate` reads one string of text.
    fn reads_files(&self) -> bool {
        true
    }

    /// `system`: the chat's system prompt (or the server's), if it has one.
    async fn complete(
        &self,
        system: Option<&str>,
        conversation: &[PromptMessage],
        params: &GenParams,
    ) -> Result<ModelReply, ModelError>;
}

/// Where chat sessions live.
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// All messages of a session in order; an unknown session is empty, not an error.
    async fn load(&self, session: &SessionId) -> Result<Vec<StoredMessage>, StoreError>;

    /// The session's owner, or `None` if it was never written.
    async fn owner_of(&self, session: &SessionId) -> Result<Option<OwnerId>, StoreError>;

    /// The newest `range.limit` of the session's messages with `range.from <= seq < range.before`,
    /// in order, if the session exists and belongs to `owner`, else `None`: the owner check and
    /// the read in one call (one query on SQLite, reads side by side on Firestore). A chat's
    /// page, the earlier messages it shows on request, and its export.
    async fn load_range(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        range: MessageRange,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError>;

    /// Accepts a turn: stores its user message, pending, and returns the newest `history`
    /// messages before it (what its prompt may use: see [`HistoryWindow`]).
    /// With `create` the session is created (owned by `owner`) if it does not exist; without
    /// it, it must exist. Either way it must be `owner`'s, checked in the same transaction as
    /// the write, so a chat deleted meanwhile is never brought back ([`StoreError::NotFound`]).
    /// A turn with the same id already in the chat is returned as [`Begun::Existing`] instead.
    /// Turns in a chat go one at a time: while another is pending this is
    /// [`StoreError::TurnPending`], unless that one was accepted before `stale_before_ms` (its
    /// process is gone), in which case it is marked failed (`interrupted`) first.
    async fn begin_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnRequest,
        create: bool,
        stale_before_ms: i64,
        history: usize,
    ) -> Result<Begun, StoreError>;

    /// Asks the chat's last turn again (regenerate, another model, a failed model retried):
    /// its user message, at `again.seq`, becomes pending under the new turn id (its time is the
    /// new request's, as a pending turn's age is its message's), and the newest `history`
    /// messages before it are returned, as [`ChatStore::begin_turn`] does; completing it stores
    /// the new replies after those it has. The same checks and answers as `begin_turn` (owner,
    /// one pending turn at a time, a repeated turn id), plus [`StoreError::NotLastTurn`] when a
    /// user message follows it.
    async fn reopen_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        again: &Again,
        stale_before_ms: i64,
        history: usize,
    ) -> Result<Begun, StoreError>;

    /// Marks the turn whose user message is at `seq` replaced (an edit of it was sent after it):
    /// it stays in the chat and the export, out of every prompt. Not a pending turn, nor a reply.
    async fn replace_turn(&self, session: &SessionId, seq: u64) -> Result<(), StoreError>;

    /// Completes the pending turn whose user message is `user` (as [`ChatStore::begin_turn`]
    /// stored it): its replies are stored after it (or it is marked failed or stopped), in one
    /// transaction, with the figures it adds to its owner's tally ([`crate::tally::for_outcome`]).
    /// [`StoreError::NotFound`] if the chat was deleted meanwhile, or the turn is no longer
    /// pending. Returns the turn's messages as stored and the session after the write.
    async fn finish_turn(
        &self,
        session: &SessionId,
        user: &StoredMessage,
        outcome: &TurnOutcome,
    ) -> Result<AppendedTurn, StoreError>;

    /// The turn with id `turn` in the owner's chat: its user message and replies, if it is there.
    async fn load_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnId,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError>;

    /// A whole turn at once (accepted and answered): for seeding chats in tests and benchmarks.
    async fn append_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &NewTurn,
        create: bool,
    ) -> Result<AppendedTurn, StoreError> {
        let (request, replies) = turn.clone().split(TurnId::generate());
        let begun = self
            .begin_turn(session, owner, &request, create, i64::MIN, 0)
            .await?;
        answer_seeded(self, session, begun, replies).await
    }

    /// The owner's sessions, most recently updated first; `before` (an `updated_at_ms`) pages.
    async fn list_sessions(
        &self,
        owner: &OwnerId,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<SessionSummary>, StoreError>;

    /// The owner's sessions whose title contains `query` (case-insensitively), most recently
    /// updated first, at most `limit`.
    async fn search_sessions(
        &self,
        owner: &OwnerId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, StoreError>;

    /// One session's summary, if it exists.
    async fn summary(&self, session: &SessionId) -> Result<Option<SessionSummary>, StoreError>;

    /// Records the user's verdict on the turn whose user message is at `seq` (`None` takes it
    /// back), in the owner's chat, and returns the verdict it replaces; the owner's figures
    /// follow in the same transaction ([`crate::tally::for_verdict`]), so two tabs judging at
    /// once still add up.
    /// [`StoreError::NotFound`] if the chat is not the owner's or has no user message there.
    async fn judge(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        seq: u64,
        verdict: Option<Verdict>,
    ) -> Result<Option<Verdict>, StoreError>;

    /// The owner's model figures, or with `None` everyone's, summed.
    async fn tally(&self, owner: Option<&OwnerId>) -> Result<Tally, StoreError>;

    /// The owner's figures (with `None` every owner's) for each UTC day from `since_day` (days
    /// since 1970) on, one entry per owner and day that has any: a bounded read, never the
    /// chats. One owner's are read for the last 366 days at most.
    async fn day_tallies(
        &self,
        owner: Option<&OwnerId>,
        since_day: i64,
    ) -> Result<Vec<crate::tally::DayTally>, StoreError>;

    /// Names `owner` for operators (a signed-in person's IAP email), replacing any name before.
    async fn label_owner(&self, owner: &OwnerId, label: &str) -> Result<(), StoreError>;

    /// The names of those of `owners` that have one (`label_owner`), by owner id.
    async fn owner_labels(
        &self,
        owners: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError>;

    /// Sets the owner's chat's system prompt (`None`: the server's). With `create_at` a chat
    /// that does not exist yet is created (owned by `owner`, untitled, no messages) at that
    /// time: a system prompt set before the first message. [`StoreError::NotFound`] if the chat
    /// is someone else's, or gone and not to be created. Returns the session as it now stands.
    async fn set_system_prompt(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        prompt: Option<&str>,
        create_at: Option<i64>,
    ) -> Result<SessionSummary, StoreError>;

    /// Renames an existing session; [`StoreError::NotFound`] if it is gone (never re-created).
    async fn rename(&self, session: &SessionId, title: &str) -> Result<(), StoreError>;

    /// Deletes the session and all its messages.
    async fn delete(&self, session: &SessionId) -> Result<(), StoreError>;

    /// Cheap reachability check for `/healthz/store`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// How many messages (Firestore documents, SQLite rows) this store has read so far: what
    /// grows with a chat's length, and what Firestore bills. For the benchmark and the tests
    /// that hold reads per turn flat.
    fn messages_read(&self) -> u64;
}

/// The second half of [`ChatStore::append_turn`]: answers the turn it has just begun. Shared by
/// the default and by a store that begins seeded turns its own way.
pub async fn answer_seeded<S: ChatStore + ?Sized>(
    store: &S,
    session: &SessionId,
    begun: Begun,
    replies: Replies,
) -> Result<AppendedTurn, StoreError> {
    match begun {
        Begun::Accepted { user, .. } => {
            store
                .finish_turn(session, &user, &TurnOutcome::Answered(replies))
                .await
        }
        // A fresh turn id was just generated: finding it stored means the store is broken.
        Begun::Existing(_) => Err(StoreError::Failed),
    }
}

/// Per-visitor limits (turns per window, tokens per day). Checked before a turn reaches a
/// model; a refused turn stores nothing.
#[async_trait]
pub trait TurnLimits: Send + Sync {
    /// Counts one turn for `visitor` and charges `reserve` tokens to its daily budget, or
    /// refuses it ([`ChatError::Limited`]) and charges nothing.
    async fn admit(&self, visitor: &str, reserve: u64) -> Result<(), ChatError>;

    /// Adds `delta` tokens to the visitor's daily budget (negative: gives some back, when a
    /// turn used less than it reserved).
    async fn charge(&self, visitor: &str, delta: i64);

    /// Counts one new browser owner issued to `address`, or refuses it: otherwise a client
    /// could shed its limits by asking for a fresh owner per turn.
    async fn admit_new_owner(&self, address: &str) -> Result<(), ChatError>;

    /// Counts one new chat for each of `visitors` (as [`TurnLimits::admit`] counts turns), or
    /// refuses it ([`crate::errors::LimitError::TooManyChats`]).
    async fn admit_new_chat(&self, visitors: &[String]) -> Result<(), ChatError>;
}

/// An operator's daily ceilings on what each model may spend, everyone's turns together.
#[async_trait]
pub trait SpendCeilings: Send + Sync {
    /// Refuses a turn to `model` once today's spend on it has reached its ceiling
    /// ([`crate::errors::LimitError::ModelSpent`]).
    async fn admit(&self, model: ModelId) -> Result<(), ChatError>;

    /// What a stored turn spent on `model` (nano-dollars): this replica counts it at once.
    fn spent(&self, model: ModelId, nano_usd: u64);

    /// `model`'s ceiling, nano-dollars a UTC day, if it has one.
    fn ceiling(&self, model: ModelId) -> Option<u64>;
}

/// Everything the server functions use, provided as context by the server.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn ChatStore>,
    pub models: Vec<Arc<dyn ChatModel>>,
    /// Attachments' bytes, and the chat store's records of them.
    pub blobs: Arc<dyn BlobStore>,
    pub files: Arc<dyn FileRecords>,
    /// What files model requests may hold at once (`MODEL_FILE_MB`).
    pub file_room: FileRoom,
    /// `None` when no limit is configured.
    pub limits: Option<Arc<dyn TurnLimits>>,
    /// `None` when no model has a daily spending ceiling.
    pub ceilings: Option<Arc<dyn SpendCeilings>>,
    /// Signed-in people already named for operators' spend per person.
    pub labelled: Labelled,
    /// Signs owner cookies and keys signed-in people's owner ids.
    pub owner_key: OwnerKey,
    /// Turns still running in their own tasks, which graceful shutdown waits for.
    pub tasks: TurnTasks,
    /// How much of a chat a turn sends to the models.
    pub history: HistoryWindow,
    /// The longest a turn can take (model timeouts plus the store write). A turn pending for
    /// longer lost its task (a crash): it is shown as failed, and the chat takes new turns.
    pub turn_deadline: std::time::Duration,
    /// The system prompt of a chat that has none of its own (`SYSTEM_PROMPT`).
    pub system_prompt: Option<String>,
    /// How long a Gemma reply may be pending before the page offers "Ask Gemini instead".
    pub offer_gemini_after: std::time::Duration,
    /// Gemini's thinking where a send names none (`GEMINI_THINKING`): what a new chat starts on.
    pub thinking: crate::params::Thinking,
    /// Each model's price: what every reply is costed at as it is stored.
    pub prices: crate::cost::Prices,
}

impl Services {
    pub fn model(&self, id: ModelId) -> Option<Arc<dyn ChatModel>> {
        self.models.iter().find(|m| m.id() == id).cloned()
    }

    /// What a turn in the chat `summary` sends as its system prompt: its own, or the server's.
    pub fn system_prompt_of(&self, summary: &SessionSummary) -> Option<String> {
        summary
            .system_prompt
            .clone()
            .or_else(|| self.system_prompt.clone())
    }

    /// The picker's entries, in a fixed order, including models the server has no backend for.
    pub fn model_options(&self) -> Vec<ModelOption> {
        ModelId::ALL
            .into_iter()
            .map(|id| ModelOption {
                id,
                availability: match self.model(id) {
                    Some(m) => m.availability(),
                    None => Availability::NotConfigured(format!(
                        "{} is not configured on this server.",
                        id.short_name()
                    )),
                },
            })
            .collect()
    }
}
