//! How a model call failed, and why a model refused to answer, in words a person can act on.

use crate::conversation::TokenUsage;
use crate::models::ModelId;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How a model call failed, in terms a person can act on.
#[derive(Clone, Debug, Error, PartialEq, Serialize, Deserialize)]
pub enum ModelError {
    #[error("{} is not set up on this server.", .0.short_name())]
    NotConfigured(ModelId),
    #[error("{} can't be reached right now. It may still be starting up; try again in a minute.", .0.short_name())]
    Unreachable(ModelId),
    #[error("{} took too long to answer and the request was stopped.", .0.short_name())]
    TimedOut(ModelId),
    #[error("{} is busy right now. Please try again shortly.", .0.short_name())]
    Busy(ModelId),
    #[error("{} refused the request: {reason}", .model.short_name())]
    Rejected { model: ModelId, reason: String },
    #[error("{} had an internal error. Please try again.", .0.short_name())]
    BackendError(ModelId),
    #[error("{} sent back a reply this app could not read.", .0.short_name())]
    BadReply(ModelId),
    /// Finished normally with no words: more tokens would not help.
    #[error("{} returned an empty reply. Try rephrasing your message.", .0.short_name())]
    Empty(ModelId),
    /// A filter or policy stopped the prompt or the reply; `reason` says which.
    #[error("{} {}: {}. {}", .model.short_name(), what.stopped(), reason.cause(), reason.advice())]
    Blocked {
        model: ModelId,
        what: BlockedPart,
        reason: Refusal,
    },
    /// The token limit (with Gemini, Max tokens plus its thinking allowance) ran out before any
    /// answer was written: here, and only here, raising Max tokens helps. `billed`: what the
    /// backend reported using, billed though nothing came (kept with the failed message; it
    /// stays on the server).
    #[error("{} used up its tokens before writing an answer. Raise Max tokens (or give Gemini less thinking) and send again.", .model.short_name())]
    OutOfTokens {
        model: ModelId,
        #[serde(skip)]
        billed: Option<TokenUsage>,
    },
    /// The conversation and Max tokens do not fit the model's context window.
    #[error("This message and Max tokens do not fit in {}'s context window. Lower Max tokens, shorten the message, or start a new chat.", .0.short_name())]
    ContextTooLong(ModelId),
    /// vLLM's `finish_reason: abort`: the server gave up on the request part-way.
    #[error("{} stopped part-way through this reply (the server aborted it). Please try again.", .0.short_name())]
    Aborted(ModelId),
    #[error("{} refused this server's credentials. An operator needs to check its access.", .0.short_name())]
    AuthFailed(ModelId),
}

impl ModelError {
    /// The model that failed.
    pub fn model(&self) -> ModelId {
        match self {
            ModelError::NotConfigured(m)
            | ModelError::Unreachable(m)
            | ModelError::TimedOut(m)
            | ModelError::Busy(m)
            | ModelError::BackendError(m)
            | ModelError::BadReply(m)
            | ModelError::Empty(m)
            | ModelError::ContextTooLong(m)
            | ModelError::Aborted(m)
            | ModelError::AuthFailed(m) => *m,
            ModelError::Rejected { model, .. }
            | ModelError::Blocked { model, .. }
            | ModelError::OutOfTokens { model, .. } => *model,
        }
    }

    /// Out of tokens before any answer: nothing came back, but the backend spent (and bills)
    /// these.
    pub fn out_of_tokens(model: ModelId) -> ModelError {
        ModelError::OutOfTokens {
            model,
            billed: None,
        }
    }

    /// Tokens the failed call was billed for, when the backend reported them.
    pub fn billed(&self) -> Option<TokenUsage> {
        match self {
            ModelError::OutOfTokens { billed, .. } => *billed,
            _ => None,
        }
    }

    /// A short stable code for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelError::NotConfigured(_) => "not_configured",
            ModelError::Unreachable(_) => "unreachable",
            ModelError::TimedOut(_) => "timed_out",
            ModelError::Busy(_) => "busy",
            ModelError::Rejected { .. } => "rejected",
            ModelError::BackendError(_) => "backend_error",
            ModelError::BadReply(_) => "bad_reply",
            ModelError::Empty(_) => "empty",
            ModelError::Blocked { .. } => "blocked",
            ModelError::OutOfTokens { .. } => "out_of_tokens",
            ModelError::ContextTooLong(_) => "context_too_long",
            ModelError::Aborted(_) => "aborted",
            ModelError::AuthFailed(_) => "auth_failed",
        }
    }

    /// Whether sending the same message again may work.
    pub fn retryable(&self) -> bool {
        !matches!(
            self,
            ModelError::NotConfigured(_)
                | ModelError::Rejected { .. }
                | ModelError::ContextTooLong(_)
        )
    }
}

/// What a filter stopped: the prompt, or the answer. Serialised as `"message"` or `"reply"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockedPart {
    Message,
    Reply,
}

impl BlockedPart {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockedPart::Message => "message",
            BlockedPart::Reply => "reply",
        }
    }

    fn stopped(self) -> &'static str {
        match self {
            BlockedPart::Message => "did not answer this message",
            BlockedPart::Reply => "stopped its reply",
        }
    }
}

impl std::fmt::Display for BlockedPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why Gemini would not answer: Vertex's `finishReason` for a reply, `promptFeedback.blockReason`
/// for a prompt. Each is told apart, stored as its own code, and worded for what it is: a
/// recitation is not a safety filter, and no refusal is helped by more tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    Safety,
    Recitation,
    Blocklist,
    ProhibitedContent,
    Spii,
    ImageSafety,
    ModelArmor,
    Language,
    Jailbreak,
    MalformedFunctionCall,
    /// `OTHER`, or a value newer than this server (logged where it is read).
    Other,
}

impl Refusal {
    pub const ALL: [Refusal; 11] = [
        Refusal::Safety,
        Refusal::Recitation,
        Refusal::Blocklist,
        Refusal::ProhibitedContent,
        Refusal::Spii,
        Refusal::ImageSafety,
        Refusal::ModelArmor,
        Refusal::Language,
        Refusal::Jailbreak,
        Refusal::MalformedFunctionCall,
        Refusal::Other,
    ];

    /// Vertex's own name for it (`SAFETY`, `RECITATION`, …).
    pub fn google_name(self) -> &'static str {
        match self {
            Refusal::Safety => "SAFETY",
            Refusal::Recitation => "RECITATION",
            Refusal::Blocklist => "BLOCKLIST",
            Refusal::ProhibitedContent => "PROHIBITED_CONTENT",
            Refusal::Spii => "SPII",
            Refusal::ImageSafety => "IMAGE_SAFETY",
            Refusal::ModelArmor => "MODEL_ARMOR",
            Refusal::Language => "LANGUAGE",
            Refusal::Jailbreak => "JAILBREAK",
            Refusal::MalformedFunctionCall => "MALFORMED_FUNCTION_CALL",
            Refusal::Other => "OTHER",
        }
    }

    /// The stored code: the Google name in lower case.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Safety => "safety",
            Refusal::Recitation => "recitation",
            Refusal::Blocklist => "blocklist",
            Refusal::ProhibitedContent => "prohibited_content",
            Refusal::Spii => "spii",
            Refusal::ImageSafety => "image_safety",
            Refusal::ModelArmor => "model_armor",
            Refusal::Language => "language",
            Refusal::Jailbreak => "jailbreak",
            Refusal::MalformedFunctionCall => "malformed_function_call",
            Refusal::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.code() == code)
    }

    /// A Vertex finish or block reason that stops an answer, or `None` for one that does not
    /// (`STOP`, `MAX_TOKENS`, `FINISH_REASON_UNSPECIFIED`). Unknown values are [`Refusal::Other`].
    pub fn from_google(name: &str) -> Option<Refusal> {
        match name {
            "STOP" | "MAX_TOKENS" | "FINISH_REASON_UNSPECIFIED" | "BLOCKED_REASON_UNSPECIFIED" => {
                None
            }
            name => Some(
                Refusal::ALL
                    .into_iter()
                    .find(|r| r.google_name() == name)
                    .unwrap_or(Refusal::Other),
            ),
        }
    }

    fn cause(self) -> &'static str {
        match self {
            Refusal::Safety => "its safety filters flagged it",
            Refusal::Recitation => "it would have repeated existing text too closely (recitation)",
            Refusal::Blocklist => "it contains a term on a blocklist",
            Refusal::ProhibitedContent => "it may involve prohibited content",
            Refusal::Spii => "it may contain sensitive personal information",
            Refusal::ImageSafety => "an image in it was flagged as unsafe",
            Refusal::ModelArmor => "this server's Model Armor policy flagged it",
            Refusal::Language => "it is in a language the model does not support",
            Refusal::Jailbreak => "it looks like an attempt to get around the model's rules",
            Refusal::MalformedFunctionCall => "the model produced a malformed tool call",
            Refusal::Other => "for a reason the model did not give",
        }
    }

    fn advice(self) -> &'static str {
        match self {
            Refusal::Recitation => "Ask for a summary or an answer in its own words instead.",
            Refusal::Spii => "Leave out personal details and send again.",
            Refusal::Language => "Try writing in another language.",
            Refusal::MalformedFunctionCall => "Please try again.",
            _ => "Try rephrasing your message.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_own_code_and_words() {
        let mut codes = std::collections::HashSet::new();
        let mut words = std::collections::HashSet::new();
        for r in Refusal::ALL {
            assert!(codes.insert(r.code()), "{r:?}");
            assert!(words.insert(r.cause()), "{r:?}");
            assert_eq!(Refusal::from_code(r.code()), Some(r));
            assert_eq!(Refusal::from_google(r.google_name()), Some(r));
        }
        assert_eq!(Refusal::from_google("STOP"), None);
        assert_eq!(Refusal::from_google("MAX_TOKENS"), None);
        assert_eq!(Refusal::from_google("SOMETHING_NEW"), Some(Refusal::Other));
    }

    #[test]
    fn recitation_is_not_called_a_safety_filter_and_no_refusal_asks_for_tokens() {
        let e = ModelError::Blocked {
            model: ModelId::Gemini,
            what: BlockedPart::Reply,
            reason: Refusal::Recitation,
        };
        let text = e.to_string();
        assert!(text.contains("recitation"), "{text}");
        assert!(!text.contains("safety"), "{text}");
        for r in Refusal::ALL {
            let e = ModelError::Blocked {
                model: ModelId::Gemini,
                what: BlockedPart::Message,
                reason: r,
            };
            assert!(!e.to_string().contains("Max tokens"), "{e}");
        }
        assert!(!ModelError::Empty(ModelId::Gemma)
            .to_string()
            .contains("Max tokens"));
        assert!(ModelError::out_of_tokens(ModelId::Gemini)
            .to_string()
            .contains("Raise Max tokens"));
    }
}
