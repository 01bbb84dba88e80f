//! The documents a chat is stored as, and their mapping to the app's messages.

use app::conversation::{
    Role, SessionSummary, StoredMessage, TokenUsage, TurnRequest, TurnStatus, Verdict, UNTITLED,
};
use app::cost::Cost;
use app::models::ModelId;
use app::params::{GenParams, Thinking};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct SessionDoc {
    #[serde(default)]
    pub(super) id: String,
    /// The browser (or, later, the user) the session belongs to. Listing filters on it, ordered
    /// by `updated_at_ms`: infra/firestore.tf creates that composite index.
    #[serde(default)]
    pub(super) owner: String,
    pub(super) created_at_ms: i64,
    pub(super) updated_at_ms: i64,
    pub(super) title: String,
    pub(super) last_model: String,
    pub(super) message_count: i64,
    /// The pending turn's user message (`seq`) and when it was accepted: turns go one at a
    /// time, and every turn's transaction reads this document anyway.
    #[serde(default)]
    pub(super) pending_seq: Option<i64>,
    #[serde(default)]
    pub(super) pending_at_ms: Option<i64>,
    /// The chat's own system prompt; absent or null: the server's.
    #[serde(default)]
    pub(super) system_prompt: Option<String>,
    /// What the chat's calls have cost, in nano-dollars (`app::cost`).
    #[serde(default)]
    pub(super) cost_nano: i64,
    /// The title's pieces the search's index holds (`search.rs`); set with the title.
    #[serde(default)]
    pub(super) title_grams: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct TurnDoc {
    pub(super) seq: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct MessageDoc {
    pub(super) seq: i64,
    pub(super) role: String,
    pub(super) text: String,
    pub(super) model: String,
    pub(super) temperature: f64,
    pub(super) top_p: f64,
    pub(super) max_tokens: i64,
    /// The Gemini thinking a message was sent with (`Thinking`'s text); absent: the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) thinking: Option<String>,
    pub(super) created_at_ms: i64,
    pub(super) latency_ms: Option<i64>,
    pub(super) prompt_tokens: Option<i64>,
    pub(super) completion_tokens: Option<i64>,
    pub(super) total_tokens: Option<i64>,
    /// Gemini's thinking; absent on replies without any, and on those written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) thinking_tokens: Option<i64>,
    /// What the call cost (`app::cost`), and a GPU-priced reply's GPU time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cost_nano: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gpu_ms: Option<i64>,
    pub(super) finish_reason: Option<String>,
    #[serde(default)]
    pub(super) turn_id: Option<String>,
    /// Absent on messages written before turns had a status: complete.
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) error: Option<String>,
    /// A user message's verdict on its turn's pair (`Verdict::as_str`).
    #[serde(default)]
    pub(super) verdict: Option<String>,
    /// A user message's files: references only (a few hundred bytes each, five at most), so
    /// the 1 MiB document limit is never near; the bytes are in the bucket.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) attachments: Vec<app::attachment::Attachment>,
}

impl From<&StoredMessage> for MessageDoc {
    fn from(m: &StoredMessage) -> Self {
        MessageDoc {
            seq: m.seq as i64,
            role: m.role.as_str().into(),
            text: m.text.clone(),
            model: m.model.as_str().into(),
            temperature: m.params.temperature as f64,
            top_p: m.params.top_p as f64,
            max_tokens: m.params.max_tokens as i64,
            thinking: m.params.thinking.map(|t| t.to_string()),
            created_at_ms: m.created_at_ms,
            latency_ms: m.latency_ms.map(|v| v as i64),
            prompt_tokens: m.usage.map(|u| u.prompt_tokens as i64),
            completion_tokens: m.usage.map(|u| u.completion_tokens as i64),
            total_tokens: m.usage.map(|u| u.total_tokens as i64),
            thinking_tokens: m.usage.map(|u| u.thinking_tokens as i64).filter(|&n| n > 0),
            cost_nano: m.cost.map(|c| c.nano_usd as i64),
            gpu_ms: m.cost.and_then(|c| c.gpu_ms).map(|v| v as i64),
            finish_reason: m.finish_reason.clone(),
            turn_id: m.turn.clone(),
            status: Some(m.status.as_str().to_string()),
            error: m.error.clone(),
            verdict: m.verdict.map(|v| v.as_str().to_string()),
            attachments: m.attachments.clone(),
        }
    }
}

impl MessageDoc {
    /// A document this version cannot read (unknown model or role) is skipped, not fatal.
    pub(super) fn into_stored(self) -> Option<StoredMessage> {
        Some(StoredMessage {
            seq: self.seq as u64,
            role: Role::parse(&self.role)?,
            text: self.text,
            model: ModelId::parse(&self.model)?,
            params: GenParams {
                temperature: self.temperature as f32,
                top_p: self.top_p as f32,
                max_tokens: self.max_tokens as u32,
                thinking: self
                    .thinking
                    .as_deref()
                    .and_then(|t| Thinking::parse(t).ok()),
            },
            created_at_ms: self.created_at_ms,
            latency_ms: self.latency_ms.map(|v| v as u64),
            usage: self.total_tokens.map(|total| TokenUsage {
                prompt_tokens: self.prompt_tokens.unwrap_or(0) as u32,
                completion_tokens: self.completion_tokens.unwrap_or(0) as u32,
                thinking_tokens: self.thinking_tokens.unwrap_or(0) as u32,
                total_tokens: total as u32,
            }),
            cost: self.cost_nano.map(|n| Cost {
                nano_usd: n.max(0) as u64,
                gpu_ms: self.gpu_ms.map(|v| v.max(0) as u64),
            }),
            finish_reason: self.finish_reason,
            turn: self.turn_id,
            status: self
                .status
                .as_deref()
                .and_then(TurnStatus::parse)
                .unwrap_or_default(),
            error: self.error,
            verdict: self.verdict.as_deref().and_then(Verdict::parse),
            attachments: self.attachments,
        })
    }
}

impl SessionDoc {
    /// The session document once `turn` is accepted after `existing` (none: a new chat): the
    /// turn is pending at the next position.
    pub(super) fn accepting(
        existing: Option<SessionDoc>,
        id: &str,
        owner: &str,
        turn: &TurnRequest,
    ) -> Self {
        let existing = existing.unwrap_or_else(|| SessionDoc::untitled(id, owner, turn.at_ms));
        let next = existing.message_count;
        // The first message names the chat, also one created before it (a system prompt).
        let title = if next == 0 {
            turn.title()
        } else {
            existing.title.clone()
        };
        SessionDoc {
            title_grams: super::search::grams(&title),
            title,
            updated_at_ms: turn.at_ms,
            last_model: turn.model.as_str().into(),
            message_count: next + 1,
            pending_seq: Some(next),
            pending_at_ms: Some(turn.at_ms),
            ..existing
        }
    }

    /// A chat without messages yet, owned by `owner`.
    pub(super) fn untitled(id: &str, owner: &str, at_ms: i64) -> Self {
        SessionDoc {
            id: id.to_string(),
            owner: owner.to_string(),
            created_at_ms: at_ms,
            updated_at_ms: at_ms,
            title: UNTITLED.to_string(),
            title_grams: super::search::grams(UNTITLED),
            last_model: ModelId::Gemma.as_str().into(),
            ..SessionDoc::default()
        }
    }

    pub(super) fn summary(self) -> Option<SessionSummary> {
        Some(SessionSummary {
            last_model: ModelId::parse(&self.last_model)?,
            id: self.id,
            title: self.title,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            message_count: self.message_count as u64,
            system_prompt: self.system_prompt,
            cost_nano: self.cost_nano.max(0) as u64,
        })
    }
}

pub(super) fn message_id(seq: u64) -> String {
    format!("{seq:010}")
}

/// The fields a stale pending turn's user message is updated with.
pub(super) fn interrupted() -> MessageDoc {
    status_only(TurnStatus::Failed, Some("interrupted"))
}

/// A document carrying only a status and an error code, for updates of those two fields.
pub(super) fn status_only(status: TurnStatus, error: Option<&str>) -> MessageDoc {
    MessageDoc {
        seq: 0,
        role: String::new(),
        text: String::new(),
        model: String::new(),
        temperature: 0.0,
        top_p: 0.0,
        max_tokens: 0,
        thinking: None,
        created_at_ms: 0,
        latency_ms: None,
        prompt_tokens: None,
        completion_tokens: None,
        total_tokens: None,
        thinking_tokens: None,
        cost_nano: None,
        gpu_ms: None,
        finish_reason: None,
        turn_id: None,
        status: Some(status.as_str().into()),
        error: error.map(String::from),
        verdict: None,
        attachments: Vec::new(),
    }
}
