//! A conversation as stored, as sent to a model, and as shown in the page.

use crate::errors::ChatError;
use crate::models::{ModelId, ModelOption};
use crate::params::{GenParams, Settings};
use serde::{Deserialize, Serialize};

/// The longest chat title, in characters: a rename's limit and the length of a title taken from
/// the first message.
pub const MAX_TITLE_CHARS: usize = 80;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Model,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Model => "model",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "model" => Some(Role::Model),
            _ => None,
        }
    }
}

/// Token counts reported by a backend, when it reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
}

/// One message as the store keeps it: the text plus everything needed to audit the turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// Position in the session, from 0, gap-free.
    pub seq: u64,
    pub role: Role,
    pub text: String,
    /// For user messages, the model it was addressed to; for replies, the model that wrote it.
    pub model: ModelId,
    pub params: GenParams,
    /// Unix time in milliseconds.
    pub created_at_ms: i64,
    /// Replies only.
    pub latency_ms: Option<u64>,
    pub usage: Option<TokenUsage>,
    pub finish_reason: Option<String>,
}

/// A user message and its replies (one, or one per model when comparing), written to the store
/// together or not at all.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTurn {
    pub params: GenParams,
    pub user_text: String,
    pub user_at_ms: i64,
    /// At least one; the user message is recorded as addressed to the first reply's model.
    pub replies: Vec<NewReply>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewReply {
    pub model: ModelId,
    pub text: String,
    pub at_ms: i64,
    pub latency_ms: u64,
    pub usage: Option<TokenUsage>,
    pub finish_reason: Option<String>,
}

impl NewTurn {
    /// A turn answered by one model.
    pub fn single(params: GenParams, user_text: String, user_at_ms: i64, reply: NewReply) -> Self {
        NewTurn {
            params,
            user_text,
            user_at_ms,
            replies: vec![reply],
        }
    }

    pub fn model(&self) -> ModelId {
        self.replies
            .first()
            .map(|r| r.model)
            .unwrap_or(ModelId::Gemma)
    }

    /// A session's title: the start of its first message.
    pub fn title(&self) -> String {
        self.user_text.chars().take(MAX_TITLE_CHARS).collect()
    }

    /// The messages this turn becomes when it lands at `first_seq`: the user's, then each reply.
    /// Both stores write exactly these.
    pub fn into_stored(self, first_seq: u64) -> Vec<StoredMessage> {
        let model = self.model();
        let mut stored = Vec::with_capacity(1 + self.replies.len());
        stored.push(StoredMessage {
            seq: first_seq,
            role: Role::User,
            text: self.user_text,
            model,
            params: self.params,
            created_at_ms: self.user_at_ms,
            latency_ms: None,
            usage: None,
            finish_reason: None,
        });
        for (i, reply) in self.replies.into_iter().enumerate() {
            stored.push(StoredMessage {
                seq: first_seq + 1 + i as u64,
                role: Role::Model,
                text: reply.text,
                model: reply.model,
                params: self.params,
                created_at_ms: reply.at_ms,
                latency_ms: Some(reply.latency_ms),
                usage: reply.usage,
                finish_reason: reply.finish_reason,
            });
        }
        stored
    }
}

/// A message as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub seq: u64,
    pub role: Role,
    pub model: ModelId,
    /// The text as written (user messages are shown as text, never as HTML).
    pub text: String,
    /// For replies: Markdown rendered and sanitised on the server.
    pub html: Option<String>,
    /// For replies: how long the model took, and the tokens it reported.
    pub latency_ms: Option<u64>,
    pub total_tokens: Option<u32>,
}

/// One of the visitor's past sessions, as the sidebar lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// The session id. Shown only to its owner, who holds it in a cookie anyway.
    pub id: String,
    pub title: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub last_model: ModelId,
    pub message_count: u64,
}

/// What a store returns for an appended turn: the messages as stored, and the session as it
/// now stands (so the caller needs no second read).
#[derive(Clone, Debug, PartialEq)]
pub struct AppendedTurn {
    pub messages: Vec<StoredMessage>,
    pub session: SessionSummary,
}

/// Everything the page needs on first render; serialised into the HTML for hydration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatView {
    pub messages: Vec<Message>,
    /// The visitor's sessions, newest first (one page of them, or a search's matches), and
    /// which one is open.
    pub sessions: Vec<SessionSummary>,
    pub current: Option<String>,
    /// The sidebar's next page (older chats): the `before=` cursor, if there are more.
    pub more_before: Option<i64>,
    /// Whether the sidebar shows a later page (`before=` given), so it offers the newest again.
    pub paged: bool,
    /// The sidebar's search, if one is active: the list holds only matching titles.
    pub search: Option<String>,
    pub settings: Settings,
    pub models: Vec<ModelOption>,
    /// An error carried back by a plain (no-JavaScript) form post's redirect.
    pub error: Option<ChatError>,
}

/// What a successful send returns: the messages now stored (the user's, then each reply).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TurnView {
    pub user: Message,
    pub replies: Vec<Message>,
    /// The session as it now stands, for the sidebar.
    pub session: SessionSummary,
}
