//! What the server functions need from the server, as small traits. `server` implements them
//! (vLLM, SQLite, …) and provides a [`Services`] value as Leptos context; `app` never depends on
//! how they are built.

use crate::conversation::{NewTurn, Role, StoredMessage, TokenUsage};
use crate::errors::{ModelError, StoreError};
use crate::models::{Availability, ModelId, ModelOption};
use crate::params::GenParams;
use crate::session::SessionId;
use async_trait::async_trait;
use std::sync::Arc;

/// One message of the conversation as a model sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptMessage {
    pub role: Role,
    pub text: String,
}

/// A model's whole reply.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelReply {
    pub text: String,
    pub finish_reason: Option<String>,
    pub usage: Option<TokenUsage>,
}

/// A chat model: a conversation and parameters in, one reply (or a typed error) out.
#[async_trait]
pub trait ChatModel: Send + Sync {
    fn id(&self) -> ModelId;

    /// The last known availability; cheap, never blocks on the network.
    fn availability(&self) -> Availability;

    async fn complete(
        &self,
        conversation: &[PromptMessage],
        params: &GenParams,
    ) -> Result<ModelReply, ModelError>;
}

/// Where chat sessions live.
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// All messages of a session in order; an unknown session is empty, not an error.
    async fn load(&self, session: &SessionId) -> Result<Vec<StoredMessage>, StoreError>;

    /// Whether the session has ever been written.
    async fn exists(&self, session: &SessionId) -> Result<bool, StoreError>;

    /// Appends the user message and the reply in one atomic write, creating the session if
    /// needed. Returns the two stored messages, with their sequence numbers.
    async fn append_turn(
        &self,
        session: &SessionId,
        turn: &NewTurn,
    ) -> Result<[StoredMessage; 2], StoreError>;

    /// Cheap reachability check for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Everything the server functions use, provided as context by the server.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn ChatStore>,
    pub models: Vec<Arc<dyn ChatModel>>,
}

impl Services {
    pub fn model(&self, id: ModelId) -> Option<Arc<dyn ChatModel>> {
        self.models.iter().find(|m| m.id() == id).cloned()
    }

    /// The picker's entries, in a fixed order, including models the server has no backend for.
    pub fn model_options(&self) -> Vec<ModelOption> {
        ModelId::ALL
            .into_iter()
            .map(|id| ModelOption {
                id,
                availability: match self.model(id) {
                    Some(m) => m.availability(),
                    None => Availability::NotConfigured(format!(
                        "{} is not configured on this server.",
                        id.short_name()
                    )),
                },
            })
            .collect()
    }
}
