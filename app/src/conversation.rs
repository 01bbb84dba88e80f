//! A conversation as stored, as sent to a model, and as shown in the page.

mod page;
mod range;
mod replies;
mod status;
mod usage;

pub use page::PageMessages;
pub use range::MessageRange;
pub use replies::{NoReplies, Replies, TurnOutcome};
pub use status::{TurnStatus, Verdict};
pub use usage::TokenUsage;

use crate::cost::Cost;
use crate::errors::ChatError;
use crate::models::{ModelId, ModelOption};
use crate::params::{GenParams, Settings, Thinking};
use serde::{Deserialize, Serialize};

/// The longest chat title, in characters: a rename's limit and the length of a title taken from
/// the first message.
pub const MAX_TITLE_CHARS: usize = 80;

/// The longest system prompt a chat may carry, in characters: it is sent with every turn.
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 4_000;

/// The byte limits beside them (see `params::MAX_MESSAGE_BYTES`): any title in a script of up
/// to 3 bytes a character fits; 80 emoji do not.
pub const MAX_SYSTEM_PROMPT_BYTES: usize = 8_000;
pub const MAX_TITLE_BYTES: usize = 240;

/// The title of a chat created before its first message (a system prompt set in a new chat);
/// the first message's words replace it.
pub const UNTITLED: &str = "New chat";

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
    /// What the call cost (a reply's, or a failed call's that was billed), if it was priced.
    pub cost: Option<Cost>,
    pub finish_reason: Option<String>,
    /// User messages: the client's turn id (the idempotency key of a send) and where the turn
    /// stands; a failed turn keeps its error as a code (`error_codes`), never free text.
    pub turn: Option<String>,
    pub status: TurnStatus,
    pub error: Option<String>,
    /// User messages of a turn answered by both models: which answer the user found better.
    pub verdict: Option<Verdict>,
    /// User messages: the files sent with it (references; the bytes are in the blob store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::attachment::Attachment>,
}

/// A user message and its replies (one, or one per model when comparing), written to the store
/// together or not at all.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTurn {
    pub params: GenParams,
    pub user_text: String,
    pub user_at_ms: i64,
    /// The user message is recorded as addressed to the first reply's model.
    pub replies: Replies,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewReply {
    pub model: ModelId,
    pub text: String,
    pub at_ms: i64,
    pub latency_ms: u64,
    pub usage: Option<TokenUsage>,
    pub cost: Option<Cost>,
    pub finish_reason: Option<String>,
}

impl NewTurn {
    /// A turn answered by one model.
    pub fn single(params: GenParams, user_text: String, user_at_ms: i64, reply: NewReply) -> Self {
        NewTurn {
            params,
            user_text,
            user_at_ms,
            replies: Replies::one(reply),
        }
    }

    pub fn model(&self) -> ModelId {
        self.replies.first().model
    }

    /// The turn as it is accepted (its user message, pending) and as it completes.
    pub fn split(self, turn: TurnId) -> (TurnRequest, Replies) {
        let model = self.model();
        (
            TurnRequest {
                turn,
                text: self.user_text,
                model,
                params: self.params,
                at_ms: self.user_at_ms,
                attachments: Vec::new(),
            },
            self.replies,
        )
    }
}

/// A client-generated turn id: the idempotency key of a send. A send repeated with the same id
/// (a retry after a lost response) gets the stored turn back instead of a second model call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TurnId(String);

impl TurnId {
    /// 16 to 64 of `[A-Za-z0-9_-]`: safe as a Firestore document id and in a URL.
    pub fn parse(s: &str) -> Option<TurnId> {
        let s = s.trim();
        let ok = (16..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| TurnId(s.to_string()))
    }

    /// A fresh random id (the server's, for forms that carry none).
    #[cfg(feature = "ssr")]
    pub fn generate() -> TurnId {
        TurnId(crate::session::SessionId::generate().as_str().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first turn of `messages` (which start at a user message): that message and the replies
/// that follow it, up to the next user message.
pub fn one_turn(mut messages: Vec<StoredMessage>) -> Vec<StoredMessage> {
    if let Some(next) = messages.iter().skip(1).position(|m| m.role == Role::User) {
        messages.truncate(next + 1);
    }
    messages
}

/// A turn as it is accepted: the user's message, before any model has answered.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnRequest {
    pub turn: TurnId,
    pub text: String,
    /// The model it is addressed to (the first, when comparing).
    pub model: ModelId,
    pub params: GenParams,
    pub at_ms: i64,
    /// The files sent with it, already stored and claimed for the chat.
    pub attachments: Vec<crate::attachment::Attachment>,
}

impl TurnRequest {
    /// The session's title when this turn starts it.
    pub fn title(&self) -> String {
        // A message of files alone is named for its first file.
        let words = match (self.text.trim(), self.attachments.first()) {
            ("", Some(file)) => file.name.as_str(),
            (text, _) => text,
        };
        words.chars().take(MAX_TITLE_CHARS).collect()
    }

    /// The pending user message this turn is stored as at `seq`.
    pub fn to_stored(&self, seq: u64) -> StoredMessage {
        StoredMessage {
            seq,
            role: Role::User,
            text: self.text.clone(),
            model: self.model,
            params: self.params,
            created_at_ms: self.at_ms,
            latency_ms: None,
            usage: None,
            cost: None,
            finish_reason: None,
            turn: Some(self.turn.as_str().to_string()),
            status: TurnStatus::Pending,
            error: None,
            verdict: None,
            attachments: self.attachments.clone(),
        }
    }
}

impl NewReply {
    /// The reply as stored at `seq`, with the parameters of the message it answers.
    pub fn to_stored(&self, seq: u64, params: GenParams) -> StoredMessage {
        StoredMessage {
            seq,
            role: Role::Model,
            text: self.text.clone(),
            model: self.model,
            params,
            created_at_ms: self.at_ms,
            latency_ms: Some(self.latency_ms),
            usage: self.usage,
            cost: self.cost,
            finish_reason: self.finish_reason.clone(),
            turn: None,
            status: TurnStatus::Complete,
            error: None,
            verdict: None,
            attachments: Vec::new(),
        }
    }
}

/// What a store says to a turn being accepted. (One per turn, moved once: the variants' sizes
/// do not matter.)
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Begun {
    /// Stored, pending: `history` is every message before it, `user` the message as stored.
    Accepted {
        history: Vec<StoredMessage>,
        user: StoredMessage,
        session: SessionSummary,
    },
    /// A turn with this id is already in the chat (a retry): its user message and replies.
    Existing(Vec<StoredMessage>),
}

/// A message as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub seq: u64,
    pub role: Role,
    pub model: ModelId,
    /// The text as written (user messages are shown as text, never as HTML). Empty only in
    /// the page's hydration data, which leaves it to the HTML (see [`PageMessages`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// For replies: Markdown rendered and sanitised on the server. (Fields with nothing to say
    /// are left out of the page's data: every byte of it is sent again for each message.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// For replies: how long the model took, and the tokens it reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u32>,
    /// For replies: Gemini's thinking, when it thought ("412 thinking tokens").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_tokens: Option<u32>,
    /// For replies: what it cost, as the server words it ("$0.0012", "≈ $0.0030 of GPU
    /// time"): text, so the browser's bundle carries no money formatting for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    /// User messages: the Gemini thinking the turn was sent with, so a chat opened in the page
    /// shows its own setting. (Not in the page's hydration data: its settings carry it.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Thinking>,
    /// For replies: the model stopped at the Max tokens limit, so the text is cut off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut_off: bool,
    /// User messages: where the turn stands (a pending one shows the working indicator and
    /// carries its turn id, to be polled; a failed one says why, in the server's words). Left
    /// out of the page's data when there is nothing to say: most messages are complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<String>,
    #[serde(default, skip_serializing_if = "TurnStatus::is_complete")]
    pub status: TurnStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ChatError>,
    /// A pending turn's start (Unix ms, the server's clock): the page shows how long it waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
    /// A user message whose turn was answered by both models: the user's verdict, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// User messages: their attached files, as HTML the server wrote (thumbnails and links),
    /// so the bundle carries no code for them.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub files: String,
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
    /// The chat's own system prompt, sent to both models; `None`: the server's `SYSTEM_PROMPT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// What the chat's replies have cost so far, in nano-dollars (`crate::cost`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cost_nano: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
    /// The open chat's newest page (or from `from=` on), without bodies in the page's data.
    pub messages: PageMessages,
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
    /// The last message, being edited (`?edit=SEQ`): its text is in the message box, and the
    /// send replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editing: Option<u64>,
    /// The files of the message being edited (their ids, comma-separated): the send carries
    /// them again.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub edit_files: String,
    /// An error carried back by a plain (no-JavaScript) form post's redirect.
    pub error: Option<ChatError>,
    /// A fresh turn id for the page's form, so a plain form post resent (back, then submit
    /// again) is recognised as the same turn.
    pub next_turn: String,
    /// The server's clock when it rendered the page (Unix ms): a pending turn's elapsed time is
    /// counted on it, whatever the browser's clock says.
    pub now_ms: i64,
    /// After this long (seconds), a pending Gemma reply offers "Ask Gemini instead".
    pub offer_gemini_after_s: u32,
    /// The server's `SYSTEM_PROMPT`: what a chat without its own sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_system_prompt: Option<String>,
}

/// What a successful send returns: the messages now stored (the user's, then each reply).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TurnView {
    pub user: Message,
    pub replies: Vec<Message>,
    /// The session as it now stands, for the sidebar.
    pub session: SessionSummary,
}

#[cfg(test)]
mod tests;
