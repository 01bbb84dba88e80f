//! Where a turn stands, and the user's verdict on a turn both models answered.

use serde::{Deserialize, Serialize};

/// Where a turn stands. A user message is stored `Pending` when its turn is accepted, before
/// any model is asked; the turn's task then completes it with its replies, or marks it failed
/// (or stopped). Replies are always `Complete`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TurnStatus {
    #[default]
    Complete,
    Pending,
    Failed,
    Stopped,
    /// Edited: a later message replaced it (and its replies), which stay in the chat and the
    /// export but out of every prompt.
    Replaced,
}

impl TurnStatus {
    pub fn is_complete(&self) -> bool {
        *self == TurnStatus::Complete
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TurnStatus::Complete => "complete",
            TurnStatus::Pending => "pending",
            TurnStatus::Failed => "failed",
            TurnStatus::Stopped => "stopped",
            TurnStatus::Replaced => "replaced",
        }
    }

    pub fn parse(s: &str) -> Option<TurnStatus> {
        match s {
            "complete" => Some(TurnStatus::Complete),
            "pending" => Some(TurnStatus::Pending),
            "failed" => Some(TurnStatus::Failed),
            "stopped" => Some(TurnStatus::Stopped),
            "replaced" => Some(TurnStatus::Replaced),
            _ => None,
        }
    }
}

/// Which of a side-by-side pair (a turn answered by both models) the user found better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Gemma,
    Gemini,
    Tie,
}

impl Verdict {
    pub const ALL: [Verdict; 3] = [Verdict::Gemma, Verdict::Tie, Verdict::Gemini];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Gemma => "gemma",
            Verdict::Gemini => "gemini",
            Verdict::Tie => "tie",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// What its button says.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Gemma => "Gemma",
            Verdict::Gemini => "Gemini",
            Verdict::Tie => "Tie",
        }
    }
}
