//! vLLM's OpenAI-compatible chat API: `POST /v1/chat/completions`.

use crate::backends::inline::DataUrl;
use app::conversation::Role;
use app::services::PromptMessage;
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
    pub content: WireContent<'a>,
}

/// A message's content: its words, or (with pictures) OpenAI's content parts.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum WireContent<'a> {
    Text(&'a str),
    Parts(Vec<ContentPart<'a>>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrl<'a> },
}

/// A picture as a `data:` URL: vLLM decodes it itself, fetching nothing.
#[derive(Debug, Serialize)]
pub struct ImageUrl<'a> {
    pub url: DataUrl<'a>,
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

    /// vLLM's 400 when prompt + `max_tokens` exceed `--max-model-len`: "'max_tokens' or
    /// 'max_completion_tokens' is too large: …" or "This model's maximum context length is …".
    fn context_too_long(&self) -> bool {
        let text = self
            .message
            .as_deref()
            .or(self.error.as_ref().and_then(|e| e.message.as_deref()))
            .unwrap_or("");
        text.contains("maximum context length") || text.contains("is too large")
    }

    /// A 404 for the served model name (`VLLM_MODEL` does not match `--served-model-name`).
    fn misconfigured(&self) -> bool {
        self.error
            .as_ref()
            .and_then(|e| e.message.as_deref())
            .is_some_and(|m| m.contains("does not exist"))
    }
}

/// `GET /v1/models`: vLLM adds each model's `max_model_len` to OpenAI's list.
#[derive(Debug, Deserialize)]
pub struct ModelList {
    #[serde(default)]
    pub data: Vec<ModelCard>,
}

#[derive(Debug, Deserialize)]
pub struct ModelCard {
    pub id: String,
    #[serde(default)]
    pub max_model_len: Option<u32>,
}

/// `POST /tokenize` with chat messages: vLLM counts them through the model's own template.
#[derive(Debug, Serialize)]
pub struct TokenizeRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<WireMessage<'a>>,
    pub add_generation_prompt: bool,
}

#[derive(Debug, Deserialize)]
pub struct TokenizeResponse {
    pub count: u32,
}

/// The system prompt and the conversation as chat messages; a message with pictures as content
/// parts, each a `data:` URL.
pub fn messages<'a>(
    system: Option<&'a str>,
    conversation: &'a [PromptMessage],
) -> Vec<WireMessage<'a>> {
    let system = system.map(|content| WireMessage {
        role: "system",
        content: WireContent::Text(content),
    });
    let content = |m: &'a PromptMessage| {
        if m.files.is_empty() {
            return WireContent::Text(&m.text);
        }
        // Pictures first, then the words about them.
        let pictures = m.files.iter().map(|f| ContentPart::ImageUrl {
            image_url: ImageUrl {
                url: DataUrl {
                    mime: f.attachment.kind.mime(),
                    bytes: &f.bytes,
                },
            },
        });
        WireContent::Parts(
            pictures
                .chain((!m.text.is_empty()).then_some(ContentPart::Text { text: &m.text }))
                .collect(),
        )
    };
    system
        .into_iter()
        .chain(conversation.iter().map(|m| WireMessage {
            role: match m.role {
                Role::User => "user",
                Role::Model => "assistant",
            },
            content: content(m),
        }))
        .collect()
}
