//! Vertex AI's REST `generateContent` for Gemini models.

use crate::backends::inline::Base64;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest<'a> {
    pub contents: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<SystemInstruction<'a>>,
    pub generation_config: GenerationConfig,
}

/// `:countTokens`, the probe: free, and refused as a generation would be.
#[derive(Debug, Serialize)]
pub struct CountTokensRequest<'a> {
    pub contents: Vec<Content<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CountTokensResponse {
    #[serde(default)]
    pub total_tokens: u32,
}

#[derive(Debug, Serialize)]
pub struct Content<'a> {
    /// `user` or `model`.
    pub role: &'static str,
    pub parts: Vec<Part<'a>>,
}

#[derive(Debug, Serialize)]
pub struct SystemInstruction<'a> {
    pub parts: Vec<Part<'a>>,
}

/// Words, or a file inline (`inlineData`: its MIME type and base64 bytes).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Part<'a> {
    Text {
        text: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    InlineData {
        inline_data: Blob<'a>,
    },
}

impl<'a> Part<'a> {
    pub fn text(text: &'a str) -> Part<'a> {
        Part::Text { text }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blob<'a> {
    pub mime_type: &'static str,
    pub data: Base64<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    pub temperature: f32,
    pub top_p: f32,
    /// Max tokens plus the thinking allowance: Gemini 2.5 counts its thinking here.
    pub max_output_tokens: u32,
    /// Always sent: without it Gemini 2.5 Flash thinks on its own terms (dynamic).
    pub thinking_config: ThinkingConfig,
}

/// `generationConfig.thinkingConfig` (not `generationConfig.thinkingBudget`, which Google
/// refuses as an unknown field).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    /// 0 off, -1 dynamic, 1 to 24,576 a budget.
    pub thinking_budget: i32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    #[serde(default)]
    pub prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(default)]
    pub content: Option<CandidateContent>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CandidateContent {
    #[serde(default)]
    pub parts: Vec<ResponsePart>,
}

#[derive(Debug, Deserialize)]
pub struct ResponsePart {
    #[serde(default)]
    pub text: Option<String>,
    /// Thought summaries, when requested, are not part of the answer.
    #[serde(default)]
    pub thought: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    #[serde(default)]
    pub block_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: u32,
    #[serde(default)]
    pub candidates_token_count: u32,
    /// Thinking, billed as output; absent when the model did not think.
    #[serde(default)]
    pub thoughts_token_count: u32,
    #[serde(default)]
    pub total_token_count: u32,
}

/// `{"error": {"code": 429, "message": "…", "status": "RESOURCE_EXHAUSTED"}}`
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// Google's error body: `{"error": {"code", "message", "status"}}`. Quota is
/// `RESOURCE_EXHAUSTED`, whatever the HTTP status (429 is "busy" on its own).
impl crate::backends::transport::WireError for ErrorBody {
    fn message(self) -> Option<String> {
        self.error.message
    }

    fn quota_exhausted(&self) -> bool {
        self.error.status.as_deref() == Some("RESOURCE_EXHAUSTED")
    }

    fn transient(&self) -> bool {
        self.error.status.as_deref() == Some("INTERNAL")
    }

    /// A retired or misspelt model (`NOT_FOUND`), an API or billing not enabled
    /// (`FAILED_PRECONDITION`), or a missing IAM role (`PERMISSION_DENIED`).
    fn misconfigured(&self) -> bool {
        matches!(
            self.error.status.as_deref(),
            Some("NOT_FOUND" | "FAILED_PRECONDITION" | "PERMISSION_DENIED")
        )
    }
}
