//! Typed errors, one per layer, and the single place where each becomes words a person reads.
//!
//! - [`InputError`]: what the user sent is not acceptable.
//! - [`ModelError`]: a model backend failed (raised by `server`'s backends).
//! - [`StoreError`]: the chat store failed (raised by `server`'s stores).
//! - [`ChatError`]: what a server function returns; it crosses the wire to the browser.
//!
//! `Display` on each is the user-facing text. Internal detail (URLs, bodies, SQL) goes to the
//! server log where the error is raised, never into these strings.

mod blob;
mod model;

pub use blob::BlobError;
pub use model::{BlockedPart, ModelError, Refusal};

use crate::models::ModelId;

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A text a person writes, capped in characters and in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    Message,
    SystemPrompt,
    Title,
}

impl TextField {
    /// The most bytes this text may take.
    pub fn max_bytes(self) -> usize {
        match self {
            TextField::Message => crate::params::MAX_MESSAGE_BYTES,
            TextField::SystemPrompt => crate::conversation::MAX_SYSTEM_PROMPT_BYTES,
            TextField::Title => crate::conversation::MAX_TITLE_BYTES,
        }
    }

    /// `Err` if `text` takes more bytes than this field may.
    pub fn check_bytes(self, text: &str) -> Result<(), InputError> {
        let max = self.max_bytes();
        if text.len() > max {
            return Err(InputError::TooLarge {
                bytes: text.len(),
                max,
            });
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Error, PartialEq, Serialize, Deserialize)]
pub enum InputError {
    #[error("Type a message first.")]
    EmptyMessage,
    #[error("That message is {chars} characters long; the limit is {max}. Please shorten it.")]
    MessageTooLong { chars: usize, max: usize },
    #[error("{field} must be between {min} and {max}.")]
    OutOfRange { field: String, min: f64, max: f64 },
    #[error("{field} must be a number.")]
    NotANumber { field: String },
    #[error("{field} must be a whole number.")]
    NotAWholeNumber { field: String },
    #[error("There is no model called “{name}”. Pick one from the list.")]
    UnknownModel { name: String },
    #[error("A chat's name must be 1 to {max} characters.")]
    BadTitle { max: usize },
    #[error(
        "That system prompt is {chars} characters long; the limit is {max}. Please shorten it."
    )]
    SystemPromptTooLong { chars: usize, max: usize },
    /// Within the character limit but not the byte limit: emoji and many scripts take 2 to 4
    /// bytes a character, and bytes are what the store, the pod's memory and the models carry.
    #[error("That text is {bytes} bytes long; the limit is {max} (emoji and many scripts take 2 to 4 bytes a character). Please shorten it.")]
    TooLarge { bytes: usize, max: usize },
    #[error("Only a message both models answered can be judged.")]
    NotAPair,
    #[error("Pick Gemma, Gemini or Tie.")]
    BadVerdict,
    #[error("{0}")]
    File(crate::attachment::FileRefusal),
}

#[derive(Clone, Debug, Error, PartialEq, Serialize, Deserialize)]
pub enum StoreError {
    #[error("The chat history is unavailable right now.")]
    Unavailable,
    #[error("The chat history took too long to answer.")]
    TimedOut,
    /// Too many writes to one chat at once (e.g. many tabs), even after retrying.
    #[error("The chat history is busy with other changes to this chat. Please try again.")]
    Busy,
    #[error("This server is not allowed to use its chat history. An operator needs to check its access.")]
    PermissionDenied,
    #[error("The chat history could not be read or written.")]
    Failed,
    /// The session does not exist (any more): deleted, or never written.
    #[error("That chat no longer exists.")]
    NotFound,
    /// Another turn of this chat is still pending.
    #[error("A reply is still on its way in this chat.")]
    TurnPending,
    /// Only a chat's last turn can be asked again.
    #[error("Only the last message of a chat can be asked again.")]
    NotLastTurn,
}

impl StoreError {
    /// A short stable code for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Unavailable => "unavailable",
            StoreError::TimedOut => "timed_out",
            StoreError::Busy => "busy",
            StoreError::PermissionDenied => "permission_denied",
            StoreError::Failed => "failed",
            StoreError::NotFound => "not_found",
            StoreError::TurnPending => "turn_pending",
            StoreError::NotLastTurn => "not_last_turn",
        }
    }
}

/// A per-visitor limit refused the turn before it reached a model; nothing was stored.
#[derive(Clone, Debug, Error, PartialEq, Serialize, Deserialize)]
pub enum LimitError {
    #[error("You've sent {limit} messages in {window_s} seconds, the most allowed. You can send again in {retry_after_s} s.")]
    TooManyTurns {
        limit: u32,
        window_s: u64,
        retry_after_s: u64,
    },
    #[error("You've used today's budget of {budget} tokens. It resets at midnight UTC, in {}.", hours_minutes(*.resets_in_s))]
    OverBudget { budget: u64, resets_in_s: u64 },
    /// An operator's daily ceiling on what one model may spend, everyone's turns together
    /// (`GEMINI_DAILY_USD`, `GEMMA_DAILY_USD`).
    #[error("{} has spent today's budget of {}, the most the operator allows. It resets at midnight UTC, in {}; the other model can answer meanwhile.", model.short_name(), crate::cost::dollars(*budget_nano), hours_minutes(*resets_in_s))]
    ModelSpent {
        model: ModelId,
        budget_nano: u64,
        resets_in_s: u64,
    },
    /// Too many new browsers from one address: reading works, chatting waits.
    #[error("Too many new visitors from your network in the last hour. You can start chatting in {}.", hours_minutes(*.retry_after_s))]
    TooManyOwners { retry_after_s: u64 },
    /// Too many new chats in the hour (`CHATS_PER_HOUR`); the visitor's chats still take turns.
    #[error("You've started {limit} chats this hour, the most allowed. You can start another in {}; your chats so far still take messages.", hours_minutes(*.retry_after_s))]
    TooManyChats { limit: u32, retry_after_s: u64 },
}

fn hours_minutes(secs: u64) -> String {
    let minutes = secs.div_ceil(60);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// The error every server function returns.
#[derive(Clone, Debug, Error, PartialEq, Serialize, Deserialize)]
pub enum ChatError {
    #[error("{0}")]
    Input(#[from] InputError),
    #[error("{0}")]
    Model(#[from] ModelError),
    /// The model answered but the turn could not be saved, so nothing was kept.
    #[error("The reply could not be saved, so it was not kept. Please send your message again.")]
    NotSaved,
    #[error("{0}")]
    Store(StoreError),
    /// Attached files' storage failed.
    #[error("{0}")]
    Files(BlobError),
    #[error("{0}")]
    Limited(#[from] LimitError),
    /// The chat does not exist, or belongs to someone else: the same answer for both.
    #[error("That chat no longer exists.")]
    NoSuchChat,
    /// The request carries no owner this server issued (cookies off or cleared, or it did not
    /// come from our page): only a page load issues one.
    #[error("This page needs to be reloaded before you can chat (your browser may be blocking cookies).")]
    NoOwner,
    /// Turns in one chat go one at a time (each is sent with the replies before it).
    #[error("A reply is still on its way in this chat. Wait for it, or start a new chat.")]
    TurnPending,
    /// The turn was accepted, but the server stopped before a reply came.
    #[error("This message was not answered: the server stopped before the reply came. Please send it again.")]
    Interrupted,
    /// The person stopped the turn before its reply came.
    #[error("You stopped this reply before it came.")]
    Stopped,
    /// The request did not reach the server function in one piece (network, bad encoding).
    #[error("The request could not be completed ({0}). Check your connection and try again.")]
    Transport(Transport),
    /// The server itself is at fault (a missing piece of its own set-up): a 500, logged where
    /// it happens.
    #[error("Something went wrong on the server. Please try again in a moment.")]
    Internal,
}

/// Why a request did not reach its server function in one piece. Serialised as the words
/// themselves, so the API's JSON stays `{"Transport": "malformed request"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    #[serde(rename = "malformed request")]
    Malformed,
    #[serde(rename = "network error")]
    Network,
    #[serde(rename = "bad response")]
    BadResponse,
    #[serde(rename = "request failed")]
    Failed,
    /// Its body did not arrive within the server's deadline (a slow upload).
    #[serde(rename = "too slow")]
    TooSlow,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Malformed => "malformed request",
            Transport::Network => "network error",
            Transport::BadResponse => "bad response",
            Transport::Failed => "request failed",
            Transport::TooSlow => "it came too slowly",
        })
    }
}

/// A chat the store no longer has (deleted meanwhile) is "no such chat" to the person asking,
/// wherever it surfaces; every other store failure keeps its own words.
impl From<StoreError> for ChatError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ChatError::NoSuchChat,
            StoreError::TurnPending => ChatError::TurnPending,
            e => ChatError::Store(e),
        }
    }
}

impl ChatError {
    pub fn retryable(&self) -> bool {
        match self {
            ChatError::Input(_) | ChatError::NoSuchChat | ChatError::NoOwner => false,
            ChatError::Model(e) => e.retryable(),
            ChatError::NotSaved
            | ChatError::Store(_)
            | ChatError::Files(_)
            | ChatError::Transport(_)
            | ChatError::Internal
            | ChatError::TurnPending
            | ChatError::Interrupted
            | ChatError::Stopped
            | ChatError::Limited(_) => true,
        }
    }
}

#[cfg(feature = "ssr")]
impl ChatError {
    /// Sets this error's HTTP status on the response being built. A plain form post keeps
    /// leptos_axum's redirect back to the page, which carries the error in its URL.
    pub fn set_response_status(&self) {
        use leptos::prelude::use_context;
        let Some(parts) = use_context::<http::request::Parts>() else {
            return;
        };
        let wants_page = parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        if !wants_page {
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(self.status());
            }
        }
    }

    /// The HTTP status a server function answers with when it fails (for callers that read
    /// JSON; a plain form post is redirected back to the page instead).
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            ChatError::Transport(Transport::TooSlow) => S::REQUEST_TIMEOUT,
            ChatError::Input(_) | ChatError::Transport(_) => S::BAD_REQUEST,
            ChatError::Internal => S::INTERNAL_SERVER_ERROR,
            ChatError::NoSuchChat => S::NOT_FOUND,
            ChatError::NoOwner => S::FORBIDDEN,
            ChatError::Limited(_) => S::TOO_MANY_REQUESTS,
            ChatError::TurnPending
            | ChatError::Stopped
            | ChatError::Store(StoreError::NotLastTurn) => S::CONFLICT,
            ChatError::NotSaved
            | ChatError::Store(_)
            | ChatError::Files(_)
            | ChatError::Interrupted => S::SERVICE_UNAVAILABLE,
            ChatError::Model(e) => match e {
                ModelError::TimedOut(_) => S::GATEWAY_TIMEOUT,
                ModelError::NotConfigured(_) | ModelError::Busy(_) => S::SERVICE_UNAVAILABLE,
                ModelError::Rejected { .. }
                | ModelError::Blocked { .. }
                | ModelError::OutOfTokens { .. }
                | ModelError::ContextTooLong(_) => S::UNPROCESSABLE_ENTITY,
                ModelError::Unreachable(_)
                | ModelError::BackendError(_)
                | ModelError::BadReply(_)
                | ModelError::Empty(_)
                | ModelError::Aborted(_)
                | ModelError::AuthFailed(_) => S::BAD_GATEWAY,
            },
        }
    }
}

impl FromServerFnError for ChatError {
    type Encoder = crate::codec::BrowserJsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // Argument decoding failures come from a malformed request; say so without echoing it.
        let error = match value {
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => {
                ChatError::Transport(Transport::Malformed)
            }
            ServerFnErrorErr::Request(_) => ChatError::Transport(Transport::Network),
            ServerFnErrorErr::Response(_) => ChatError::Transport(Transport::BadResponse),
            ServerFnErrorErr::Registration(_)
            | ServerFnErrorErr::ServerError(_)
            | ServerFnErrorErr::MiddlewareError(_)
            | ServerFnErrorErr::Serialization(_) => ChatError::Internal,
        };
        // On the server this runs when a request's arguments cannot be decoded: a 400, not
        // the 500 server_fn would answer with.
        #[cfg(feature = "ssr")]
        error.set_response_status();
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelId;

    #[test]
    fn messages_name_the_model_and_hide_internals() {
        let e = ChatError::from(ModelError::Unreachable(ModelId::Gemma));
        assert_eq!(
            e.to_string(),
            "Gemma can't be reached right now. It may still be starting up; try again in a minute."
        );
        assert!(e.retryable());
        let e = ChatError::Transport(Transport::Malformed);
        assert!(!e.to_string().contains("serde"));
    }

    #[test]
    fn limits_say_when_they_reset() {
        let e = ChatError::from(LimitError::TooManyTurns {
            limit: 10,
            window_s: 60,
            retry_after_s: 42,
        });
        assert_eq!(
            e.to_string(),
            "You've sent 10 messages in 60 seconds, the most allowed. You can send again in 42 s."
        );
        let e = LimitError::OverBudget {
            budget: 50_000,
            resets_in_s: 3 * 3600 + 5 * 60 - 30,
        };
        assert!(e.to_string().ends_with("in 3 h 5 min."), "{e}");
        let e = LimitError::ModelSpent {
            model: ModelId::Gemini,
            budget_nano: 20_000_000_000,
            resets_in_s: 3600,
        };
        assert_eq!(
            e.to_string(),
            "Gemini has spent today's budget of $20.00, the most the operator allows. It resets at midnight UTC, in 1 h; the other model can answer meanwhile."
        );
    }

    #[test]
    fn bad_input_is_not_retryable() {
        assert!(!ChatError::from(InputError::EmptyMessage).retryable());
        assert!(ChatError::NotSaved.retryable());
    }
}
