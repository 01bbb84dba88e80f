//! The models a person can talk to, and how available each one is right now.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A model the user can pick per message. The wire name (`gemma`, `gemini`) is what forms post
/// and what the store records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelId {
    Gemma,
    Gemini,
}

impl ModelId {
    pub const ALL: [ModelId; 2] = [ModelId::Gemma, ModelId::Gemini];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelId::Gemma => "gemma",
            ModelId::Gemini => "gemini",
        }
    }

    /// The name shown in the picker and on every reply.
    pub fn label(self) -> &'static str {
        match self {
            ModelId::Gemma => "Gemma 3 12B-it (vLLM)",
            ModelId::Gemini => "Gemini 2.5 Flash (Vertex AI)",
        }
    }

    /// A short name for sentences such as "Gemma is thinking…".
    pub fn short_name(self) -> &'static str {
        match self {
            ModelId::Gemma => "Gemma",
            ModelId::Gemini => "Gemini",
        }
    }

    pub fn parse(s: &str) -> Option<ModelId> {
        ModelId::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How usable a model is, as last seen by the server's background probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Availability {
    Available,
    /// Not probed yet (the server has just started).
    Unknown,
    /// The operator has not set it up; the reason says what is missing.
    NotConfigured(String),
    /// Configured, but the last probe failed; the reason says how.
    Unreachable(String),
    /// Up, but its own queue is long (vLLM's `num_requests_waiting`, the load of every
    /// replica): a message sent now waits. The reason says how many are waiting.
    Busy(String),
}

impl Availability {
    /// Whether the picker should let the user choose it. An unreachable model stays selectable:
    /// a GPU node may be scaling up, and trying is how the user finds out.
    pub fn selectable(&self) -> bool {
        !matches!(self, Availability::NotConfigured(_))
    }

    pub fn describe(&self) -> Option<&str> {
        match self {
            Availability::Available | Availability::Unknown => None,
            Availability::NotConfigured(why)
            | Availability::Unreachable(why)
            | Availability::Busy(why) => Some(why),
        }
    }

    pub fn css_class(&self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::Unknown => "unknown",
            Availability::NotConfigured(_) => "not-configured",
            Availability::Unreachable(_) => "unreachable",
            Availability::Busy(_) => "busy",
        }
    }

    /// Whether a message sent now would wait behind others, or fail: the picker then offers
    /// another model.
    pub fn slowed(&self) -> bool {
        matches!(self, Availability::Unreachable(_) | Availability::Busy(_))
    }
}

/// One entry of the model picker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOption {
    pub id: ModelId,
    pub availability: Availability,
}

impl ModelOption {
    pub fn picker_text(&self) -> String {
        match &self.availability {
            Availability::NotConfigured(_) => format!("{} — not configured", self.id.label()),
            Availability::Unreachable(_) => format!("{} — unreachable", self.id.label()),
            Availability::Busy(_) => format!("{} — busy", self.id.label()),
            _ => self.id.label().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for m in ModelId::ALL {
            assert_eq!(ModelId::parse(m.as_str()), Some(m));
        }
        assert_eq!(ModelId::parse("gpt-4"), None);
        assert_eq!(ModelId::parse("Gemma"), None, "names are case-sensitive");
    }

    #[test]
    fn not_configured_models_cannot_be_picked() {
        assert!(!Availability::NotConfigured("no credentials".into()).selectable());
        assert!(Availability::Unreachable("refused".into()).selectable());
        assert!(Availability::Available.selectable());
        assert!(Availability::Busy("12 waiting".into()).selectable());
    }
}
