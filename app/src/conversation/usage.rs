//! What a model call used, as its backend reports it.

use serde::{Deserialize, Serialize};

/// Token counts reported by a backend, when it reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u32,
    /// The visible answer.
    pub completion_tokens: u32,
    /// Gemini's thinking (`thoughtsTokenCount`): not in the answer, but billed as output.
    #[serde(default)]
    pub thinking_tokens: u32,
    pub total_tokens: u32,
}

impl TokenUsage {
    /// What the provider bills as output: the answer and the thinking.
    pub fn output_tokens(&self) -> u32 {
        self.completion_tokens.saturating_add(self.thinking_tokens)
    }
}
