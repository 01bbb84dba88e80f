//! The page's messages as its hydration data carries them: without their bodies.
//!
//! The server-rendered HTML already holds every message's text (and each reply's rendered
//! Markdown); sending them again in the data the wasm hydrates from made a chat page weigh about
//! twice its HTML. So the data carries each message's seq, role, model, figures and status, and
//! the browser takes the bodies from the HTML it was given before hydration starts
//! (`chat::state::browser::fill_from_page`). Everything the user acts on is still in the
//! wasm's state. Server functions send whole [`Message`]s: only the page load goes this way.

use super::Message;
use serde::{Deserialize, Serialize, Serializer};

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct PageMessages(pub Vec<Message>);

impl Serialize for PageMessages {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Every field but the bodies, listed so that a new field is not left out unnoticed.
        serializer.collect_seq(self.0.iter().map(|m| Message {
            seq: m.seq,
            role: m.role,
            model: m.model,
            text: String::new(),
            html: None,
            latency_ms: m.latency_ms,
            total_tokens: m.total_tokens,
            thinking_tokens: m.thinking_tokens,
            cost: m.cost.clone(),
            thinking: None,
            cut_off: m.cut_off,
            turn: m.turn.clone(),
            status: m.status,
            error: m.error.clone(),
            since_ms: m.since_ms,
            verdict: m.verdict,
            files: m.files.clone(),
        }))
    }
}

// serde_json is a server-side dependency.
#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::conversation::{Role, TurnStatus};
    use crate::models::ModelId;

    #[test]
    fn the_page_data_leaves_the_bodies_to_the_html() {
        let reply = Message {
            seq: 7,
            role: Role::Model,
            model: ModelId::Gemini,
            text: "**the** source".into(),
            html: Some("<p><strong>the</strong> source</p>".into()),
            latency_ms: Some(900),
            total_tokens: Some(12),
            thinking_tokens: Some(5),
            cost: None,
            thinking: None,
            cut_off: true,
            turn: None,
            status: TurnStatus::Complete,
            error: None,
            since_ms: None,
            verdict: None,
            files: String::new(),
        };
        let json = serde_json::to_string(&PageMessages(vec![reply.clone()])).expect("json");
        assert!(!json.contains("source"), "{json}");
        let back: PageMessages = serde_json::from_str(&json).expect("read back");
        assert_eq!(
            back.0,
            [Message {
                text: String::new(),
                html: None,
                ..reply
            }]
        );
    }
}
