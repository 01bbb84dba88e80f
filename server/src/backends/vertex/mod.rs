//! Gemini on Vertex AI, over REST `generateContent`, authenticated with gcp_auth: the metadata
//! server (Workload Identity) on GKE, `GOOGLE_APPLICATION_CREDENTIALS` elsewhere. gcp_auth
//! caches tokens and refreshes them before they expire, so a request costs no token fetch.
//!
//! Credentials are looked for in the background after start-up: until they are found the picker
//! shows Gemini as not available, and without any the app runs with Gemma alone.

mod wire;

use super::in_flight::InFlight;
use super::transport::{self, RawReply};
use crate::backends::inline::Base64;
use crate::config::VertexConfig;
use app::conversation::{Role, TokenUsage};
use app::errors::{BlockedPart, ModelError, Refusal};
use app::models::{Availability, ModelId};
use app::params::{GenParams, Thinking};
use app::services::{ChatModel, ModelReply, PromptMessage};
use async_trait::async_trait;
use prometheus_client::metrics::counter::Counter;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use wire::{
    Content, ErrorBody, GenerateContentRequest, GenerateContentResponse, GenerationConfig, Part,
    SystemInstruction, ThinkingConfig,
};

const MODEL: ModelId = ModelId::Gemini;
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Gemini 2.5 Flash's largest `maxOutputTokens` (answer and thinking together).
pub const MAX_OUTPUT_TOKENS: u32 = 65_536;

enum Auth {
    Searching,
    Ready {
        provider: Arc<dyn gcp_auth::TokenProvider>,
        project: String,
    },
    /// gcp_auth found no credentials anywhere it looks.
    NoCredentials,
    /// Credentials, but no project to bill: none configured, and the credentials name none.
    NoProject,
}

impl Auth {
    /// Why Gemini is off, as the model picker says it.
    fn missing(&self) -> Option<&'static str> {
        match self {
            Auth::NoCredentials => Some("Gemini needs Google Cloud credentials: Workload Identity on GKE, or GOOGLE_APPLICATION_CREDENTIALS pointing at a key file."),
            Auth::NoProject => Some("Gemini needs a Google Cloud project: set GOOGLE_CLOUD_PROJECT."),
            Auth::Searching | Auth::Ready { .. } => None,
        }
    }
}

pub struct VertexGemini {
    client: reqwest::Client,
    config: VertexConfig,
    in_flight: InFlight,
    auth: RwLock<Auth>,
    /// What the last call said about Vertex itself, until a call says otherwise.
    last_call: RwLock<LastCall>,
    retries: Counter,
}

#[derive(Clone, Copy, PartialEq)]
enum LastCall {
    Answered,
    Unreachable,
    /// Refused for the server's own set-up (model id, IAM role, API not enabled).
    Misconfigured,
}

/// Where gcp_auth looked for credentials, in its order, and what it found: for the one log line
/// that explains why Gemini is off.
fn credential_places() -> String {
    let key_file = match std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
        Some(f) if !f.is_empty() => format!("{} (not usable)", f.to_string_lossy()),
        _ => "unset".into(),
    };
    let adc = std::env::var_os("HOME").map(|h| {
        std::path::Path::new(&h).join(".config/gcloud/application_default_credentials.json")
    });
    let adc = match adc {
        Some(p) if p.exists() => format!("{} (not usable)", p.display()),
        Some(p) => format!("{} (absent)", p.display()),
        None => "no HOME".into(),
    };
    format!(
        "GOOGLE_APPLICATION_CREDENTIALS: {key_file}; gcloud application default credentials: {adc}; GKE metadata server: not reachable; gcloud CLI: no account"
    )
}

impl VertexGemini {
    pub fn new(config: &VertexConfig, retries: Counter) -> Result<Self, reqwest::Error> {
        let client = transport::client(config.connect_timeout, config.request_timeout)?;
        Ok(VertexGemini {
            client,
            config: config.clone(),
            in_flight: InFlight::new(MODEL, config.max_in_flight, Duration::from_secs(2)),
            auth: RwLock::new(Auth::Searching),
            last_call: RwLock::new(LastCall::Answered),
            retries,
        })
    }

    /// Looks for credentials without delaying start-up.
    pub fn spawn_credential_search(self: &Arc<Self>) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let found = this.find_credentials().await;
            match &found {
                Auth::Ready { project, .. } => {
                    tracing::info!(%project, location = %this.config.location, model = %this.config.model, "Gemini on Vertex AI ready")
                }
                // One line that says why, and where credentials were looked for.
                Auth::NoCredentials => tracing::warn!(
                    reason = found.missing().unwrap_or_default(),
                    looked_at = %credential_places(),
                    "Gemini is not configured"
                ),
                Auth::NoProject => tracing::warn!(
                    reason = found.missing().unwrap_or_default(),
                    "Gemini is not configured"
                ),
                Auth::Searching => {}
            }
            let ready = matches!(found, Auth::Ready { .. });
            if let Ok(mut slot) = this.auth.write() {
                *slot = found;
            }
            // Asks Vertex to count a word's tokens now and every probe interval: free (no
            // generation is billed), and it fails as a turn would for a retired model id, a
            // missing IAM role or an API not enabled, so the picker says so before anyone sends.
            if ready {
                let interval = this.config.probe_interval;
                super::probe::every(Arc::downgrade(&this), interval, |this| async move {
                    let outcome = this.count_tokens().await;
                    this.remember(&outcome);
                })
                .await;
            }
        });
    }

    async fn count_tokens(&self) -> Result<(), ModelError> {
        let (token, project) = self.credentials().await?;
        let body = serde_json::to_vec(&wire::CountTokensRequest {
            contents: vec![Content {
                role: "user",
                parts: vec![Part::text("ping")],
            }],
        })
        .unwrap_or_default();
        let raw = transport::post_json(
            &self.client,
            MODEL,
            &self.url(&project, "countTokens"),
            Some(token.as_str()),
            body.into(),
            Some(self.config.connect_timeout.max(Duration::from_secs(10))),
        )
        .await?;
        let counted = transport::decode::<wire::CountTokensResponse, ErrorBody>(MODEL, raw)?;
        tracing::debug!(tokens = counted.total_tokens, "Gemini probe answered");
        Ok(())
    }

    /// What a call (or the probe) said about Vertex itself: unreachable until the next call
    /// reaches it; an operator's problem until one succeeds.
    fn remember<T>(&self, outcome: &Result<T, ModelError>) {
        if let Ok(mut last) = self.last_call.write() {
            *last = match (outcome, *last) {
                (Err(ModelError::Unreachable(_) | ModelError::TimedOut(_)), _) => {
                    LastCall::Unreachable
                }
                (Err(ModelError::NotConfigured(_)), _) => LastCall::Misconfigured,
                (Err(_), LastCall::Misconfigured) => LastCall::Misconfigured,
                _ => LastCall::Answered,
            };
        }
    }

    async fn find_credentials(&self) -> Auth {
        let provider = match gcp_auth::provider().await {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "gcp_auth found no credentials");
                return Auth::NoCredentials;
            }
        };
        let project = match &self.config.project {
            Some(p) => p.clone(),
            None => match provider.project_id().await {
                Ok(p) => p.to_string(),
                Err(_) => return Auth::NoProject,
            },
        };
        Auth::Ready { provider, project }
    }

    /// An access token (cached and refreshed by gcp_auth) and the project to bill.
    async fn credentials(&self) -> Result<(Arc<gcp_auth::Token>, String), ModelError> {
        let (provider, project) = match self.auth.read().as_deref() {
            Ok(Auth::Ready { provider, project }) => (provider.clone(), project.clone()),
            _ => return Err(ModelError::NotConfigured(MODEL)),
        };
        let token = provider.token(&[SCOPE]).await.map_err(|e| {
            tracing::warn!(model = %MODEL, error = %e, "could not get an access token");
            ModelError::Unreachable(MODEL)
        })?;
        Ok((token, project))
    }

    /// `method`: `generateContent` or `countTokens`.
    fn url(&self, project: &str, method: &str) -> String {
        format!(
            "{}/v1/projects/{project}/locations/{}/publishers/google/models/{}:{method}",
            self.config.base_url, self.config.location, self.config.model
        )
    }

    /// `maxOutputTokens` is Max tokens plus the thinking allowance, so Max tokens keeps meaning
    /// the length of the visible answer.
    fn request_body(
        conversation: &[PromptMessage],
        params: &GenParams,
        system: Option<&str>,
        thinking: Thinking,
    ) -> Vec<u8> {
        let request = GenerateContentRequest {
            contents: conversation
                .iter()
                .map(|m| Content {
                    role: match m.role {
                        Role::User => "user",
                        Role::Model => "model",
                    },
                    // Files first, then the words about them.
                    parts: m
                        .files
                        .iter()
                        .map(|f| Part::InlineData {
                            inline_data: wire::Blob {
                                mime_type: f.attachment.kind.mime(),
                                data: Base64(&f.bytes),
                            },
                        })
                        // A message of pictures alone has no words (Vertex refuses an
                        // empty text part).
                        .chain(
                            (!m.text.is_empty() || m.files.is_empty()).then(|| Part::text(&m.text)),
                        )
                        .collect(),
                })
                .collect(),
            system_instruction: system.map(|text| SystemInstruction {
                parts: vec![Part::text(text)],
            }),
            generation_config: GenerationConfig {
                temperature: params.temperature,
                top_p: params.top_p,
                max_output_tokens: params
                    .max_tokens
                    .saturating_add(thinking.allowance())
                    .min(MAX_OUTPUT_TOKENS),
                thinking_config: ThinkingConfig {
                    thinking_budget: thinking.budget(),
                },
            },
        };
        crate::backends::inline::json_body(&request, system, conversation)
    }

    fn parse_reply(raw: RawReply) -> Result<ModelReply, ModelError> {
        let parsed: GenerateContentResponse = transport::decode::<_, ErrorBody>(MODEL, raw)?;
        let usage = parsed.usage_metadata.map(|u| TokenUsage {
            prompt_tokens: u.prompt_token_count,
            completion_tokens: u.candidates_token_count,
            thinking_tokens: u.thoughts_token_count,
            total_tokens: u.total_token_count,
        });
        let Some(candidate) = parsed.candidates.into_iter().next() else {
            return Err(match parsed.prompt_feedback.and_then(|f| f.block_reason) {
                Some(reason) => ModelError::Blocked {
                    model: MODEL,
                    what: BlockedPart::Message,
                    reason: refusal(&reason).unwrap_or(Refusal::Other),
                },
                None => ModelError::BadReply(MODEL),
            });
        };
        let text: String = candidate
            .content
            .map(|c| {
                c.parts
                    .into_iter()
                    .filter(|p| !p.thought)
                    .filter_map(|p| p.text)
                    .collect()
            })
            .unwrap_or_default();
        let text = text.trim().to_string();
        let finish = candidate.finish_reason;
        if let Some(reason) = finish.as_deref().and_then(refusal) {
            return Err(ModelError::Blocked {
                model: MODEL,
                what: BlockedPart::Reply,
                reason,
            });
        }
        if finish.as_deref() == Some("MAX_TOKENS") && text.is_empty() {
            return Err(ModelError::OutOfTokens {
                model: MODEL,
                billed: usage,
            });
        }
        ModelReply::new(MODEL, &text, finish, usage)
    }
}

/// A finish or block reason that stops the answer, logged when this server does not know it.
fn refusal(reason: &str) -> Option<Refusal> {
    let r = Refusal::from_google(reason);
    if r == Some(Refusal::Other) && reason != "OTHER" {
        tracing::warn!(model = %MODEL, reason, "unknown finish reason, shown as unspecified");
    }
    r
}

#[async_trait]
impl ChatModel for VertexGemini {
    fn id(&self) -> ModelId {
        MODEL
    }

    /// Credentials first; then what the last call or the free `countTokens` probe said: not
    /// set up (an operator's problem) until one succeeds, unreachable until one reaches Vertex.
    fn availability(&self) -> Availability {
        match self.auth.read().as_deref() {
            Ok(Auth::Ready { .. }) => match self.last_call.read().map(|c| *c) {
                Ok(LastCall::Misconfigured) => Availability::NotConfigured(format!(
                    "Gemini is not set up on this server: Vertex AI refused model {} for this project (the server log says why).",
                    self.config.model
                )),
                // The endpoint is in the log where the call failed, not in visitors' words.
                Ok(LastCall::Unreachable) => Availability::Unreachable(
                    "Vertex AI did not answer the last request.".into(),
                ),
                _ => Availability::Available,
            },
            Ok(auth @ (Auth::NoCredentials | Auth::NoProject)) => {
                Availability::NotConfigured(auth.missing().unwrap_or_default().to_string())
            }
            _ => Availability::Unknown,
        }
    }

    async fn complete(
        &self,
        system: Option<&str>,
        conversation: &[PromptMessage],
        params: &GenParams,
    ) -> Result<ModelReply, ModelError> {
        let (token, project) = self.credentials().await?;
        let _slot = self.in_flight.enter().await?;
        let thinking = params.thinking.unwrap_or(self.config.thinking);
        let body = Self::request_body(conversation, params, system, thinking);
        let raw = transport::post_json_retrying::<ErrorBody>(
            &self.client,
            MODEL,
            &self.url(&project, "generateContent"),
            Some(token.as_str()),
            body.into(),
            self.config.request_timeout,
            &self.retries,
        )
        .await;
        let reply = raw.and_then(Self::parse_reply);
        self.remember(&reply);
        reply
    }
}

#[cfg(test)]
mod tests;
