//! vLLM's OpenAI-compatible chat API: `POST /v1/chat/completions`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<WireMessage<'a>>,
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: u32,
}

#[derive(Debug, Serialize)]
pub struct WireMessage<'a> {
    /// `user` or `assistant`; vLLM applies Gemma's chat template to these roles.
    pub role: &'static str,
    pub content: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct ChatResponse {
    #[serde(default)]
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    #[serde(default)]
    pub message: Option<AssistantMessage>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AssistantMessage {
    #[serde(default)]
    pub content: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
    #[serde(default)]
    pub total_tokens: u32,
}

/// vLLM answers errors as `{"object":"error","message":…}`; OpenAI as `{"error":{"message":…}}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error: Option<ErrorDetail>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub message: Option<String>,
}

/// vLLM's error bodies: `{"message": …}` (`/generate`) or OpenAI's `{"error": {"message": …}}`.
impl crate::backends::transport::WireError for ErrorBody {
    fn message(self) -> Option<String> {
        self.message.or(self.error.and_then(|e| e.message))
    }
}
