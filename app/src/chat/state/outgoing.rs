//! What the page sends: a message for one model or both, kept while it is in flight (and after
//! it failed) so it can be shown, stopped and retried.

use super::browser::random_hex;
use super::ChatState;
use crate::errors::ChatError;
use crate::models::ModelId;
use crate::params::GenParams;
use leptos::prelude::*;

/// Who a message is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    One(ModelId),
    /// Compare: the same message to both models.
    Both,
}

impl Target {
    pub fn thinking(self) -> String {
        match self {
            Target::One(m) => format!("{} is thinking…", m.short_name()),
            Target::Both => "Gemma and Gemini are thinking…".into(),
        }
    }
}

/// A send that is in flight or has failed, kept so it can be shown and retried.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub text: String,
    pub target: Target,
    pub params: GenParams,
    /// The chat it was sent in (`None`: it started a new one, at `start` when the page could
    /// choose the id).
    pub chat: Option<String>,
    pub start: Option<String>,
    /// The turn's id: sent again unchanged when a retry may repeat a turn the server already
    /// has (the response was lost), so the server answers with that turn.
    pub turn: Option<String>,
    /// When it was sent (Unix ms on the server's clock, see `ChatState::clock`).
    pub since_ms: i64,
    /// The position of the last message, which this one replaces (edit and resend).
    pub edits: Option<u64>,
    /// Files it carries (ids, comma-separated): an edited message's, sent again, and those
    /// attached in the composer.
    pub files: Option<String>,
    /// A Stop was asked for it: still shown (its words stay on the page until the Stop
    /// answers), but its own answer is no longer the page's.
    pub stopping: bool,
}

/// An error the page shows above the composer, and the send it came from, if there is one to
/// retry (opening, renaming or a no-JavaScript post's error have none).
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub error: ChatError,
    pub send: Option<Outgoing>,
}

impl ChatState {
    /// Sends the failed message again, exactly as it was, or to another target.
    pub fn retry(self, target: Option<Target>) {
        if let Some(Failure {
            error,
            send: Some(mut outgoing),
        }) = self.failed.get_untracked()
        {
            // Only a lost response may hide a turn the server has: then the same id finds it.
            // Any other failure was answered, so the retry is a new turn.
            if !matches!(error, ChatError::Transport(_)) || target.is_some() {
                outgoing.turn = random_hex(16);
            }
            // A turn the model failed was accepted: an edit it carried is done.
            if matches!(error, ChatError::Model(_)) {
                outgoing.edits = None;
            }
            if self.pending.get_untracked().is_none() {
                if self.draft.get_untracked() == outgoing.text {
                    self.draft.set(String::new());
                }
                if let Some(target) = target {
                    if let Target::One(model) = target {
                        self.model.set(model);
                    }
                    outgoing.target = target;
                }
                self.send(outgoing);
            }
        }
    }
}
