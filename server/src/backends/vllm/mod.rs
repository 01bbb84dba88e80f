//! Gemma served by vLLM, through either of its APIs (`VLLM_API`):
//! - `chat`: the OpenAI-compatible chat API; vLLM applies Gemma's own chat template to the
//!   role-tagged messages, so no prompt format is invented here;
//! - `generate`: the codelab's model-garden `/generate`, with the prompt built by
//!   [`generate::gemma_prompt`].

mod generate;
mod wire;

use super::in_flight::InFlight;
use super::transport::{self, RawReply};
use crate::config::{Secret, VllmApi, VllmConfig};
use app::conversation::{Role, TokenUsage};
use app::errors::ModelError;
use app::models::{Availability, ModelId};
use app::params::GenParams;
use app::services::{ChatModel, ModelReply, PromptMessage};
use async_trait::async_trait;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use wire::{ChatRequest, ChatResponse, ErrorBody, WireMessage};

const MODEL: ModelId = ModelId::Gemma;

pub struct VllmChat {
    api: VllmApi,
    client: reqwest::Client,
    base_url: String,
    model_name: String,
    api_key: Option<Secret>,
    in_flight: InFlight,
    availability: RwLock<Availability>,
    probe_timeout: Duration,
}

impl VllmChat {
    pub fn new(config: &VllmConfig) -> Result<Self, reqwest::Error> {
        let client = transport::client(config.connect_timeout, config.request_timeout)?;
        Ok(VllmChat {
            api: config.api,
            client,
            base_url: config.base_url.clone(),
            model_name: config.model.clone(),
            api_key: config.api_key.clone(),
            in_flight: InFlight::new(MODEL, config.max_in_flight, Duration::from_secs(2)),
            availability: RwLock::new(Availability::Unknown),
            probe_timeout: config.connect_timeout.min(Duration::from_secs(3)),
        })
    }

    fn unreachable(&self) -> Availability {
        Availability::Unreachable(format!(
            "No vLLM or OpenAI-compatible server answers at {}.",
            self.base_url
        ))
    }

    fn set_availability(&self, a: Availability) {
        if let Ok(mut slot) = self.availability.write() {
            *slot = a;
        }
    }

    /// `GET /health`: 200 means the engine is up and the model loaded.
    pub async fn probe(&self) -> Availability {
        let url = format!("{}/health", self.base_url);
        let result = self
            .client
            .get(&url)
            .timeout(self.probe_timeout)
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => Availability::Available,
            Ok(r) => Availability::Unreachable(format!(
                "Gemma's server at {} answered HTTP {}; it may still be loading the model.",
                self.base_url,
                r.status().as_u16()
            )),
            Err(_) => self.unreachable(),
        }
    }

    /// Probes now and then every `interval`, in the background, so page renders never wait.
    pub fn spawn_probe(self: &Arc<Self>, interval: Duration) {
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(this) = this.upgrade() else { break };
                let a = this.probe().await;
                this.set_availability(a);
            }
        });
    }

    fn request_body(
        conversation: &[PromptMessage],
        params: &GenParams,
        model: &str,
        system: Option<&str>,
    ) -> Vec<u8> {
        let system = system.map(|content| WireMessage {
            role: "system",
            content,
        });
        let request = ChatRequest {
            model,
            messages: system
                .into_iter()
                .chain(conversation.iter().map(|m| WireMessage {
                    role: match m.role {
                        Role::User => "user",
                        Role::Model => "assistant",
                    },
                    content: &m.text,
                }))
                .collect(),
            temperature: params.temperature,
            top_p: params.top_p,
            max_tokens: params.max_tokens,
        };
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_vec(&request).unwrap_or_default()
    }

    fn parse_generate(raw: RawReply, prompt: &str) -> Result<ModelReply, ModelError> {
        let parsed: generate::GenerateResponse = transport::decode::<_, ErrorBody>(MODEL, raw)?;
        let prediction = parsed
            .predictions
            .into_iter()
            .next()
            .ok_or(ModelError::BadReply(MODEL))?;
        // The model-garden server reports neither usage nor a finish reason.
        ModelReply::new(
            MODEL,
            &generate::reply_text(&prediction, prompt),
            None,
            None,
        )
    }

    fn parse_reply(raw: RawReply) -> Result<ModelReply, ModelError> {
        let parsed: ChatResponse = transport::decode::<_, ErrorBody>(MODEL, raw)?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or(ModelError::BadReply(MODEL))?;
        let text = choice.message.and_then(|m| m.content).unwrap_or_default();
        ModelReply::new(
            MODEL,
            &text,
            choice.finish_reason,
            parsed.usage.map(|u| TokenUsage {
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
                total_tokens: u.total_tokens,
            }),
        )
    }
}

#[async_trait]
impl ChatModel for VllmChat {
    fn id(&self) -> ModelId {
        MODEL
    }

    fn availability(&self) -> Availability {
        self.availability
            .read()
            .map(|a| a.clone())
            .unwrap_or(Availability::Unknown)
    }

    async fn complete(
        &self,
        system: Option<&str>,
        conversation: &[PromptMessage],
        params: &GenParams,
    ) -> Result<ModelReply, ModelError> {
        let _slot = self.in_flight.enter().await?;
        let (url, body, prompt) = match self.api {
            VllmApi::Chat => (
                format!("{}/v1/chat/completions", self.base_url),
                Self::request_body(conversation, params, &self.model_name, system),
                None,
            ),
            VllmApi::Generate => {
                let prompt = generate::gemma_prompt(conversation, system);
                let body = serde_json::to_vec(&generate::GenerateRequest {
                    prompt: &prompt,
                    temperature: params.temperature,
                    top_p: params.top_p,
                    max_tokens: params.max_tokens,
                    stop: generate::STOP,
                })
                .unwrap_or_default();
                (format!("{}/generate", self.base_url), body, Some(prompt))
            }
        };
        let raw = transport::post_json(
            &self.client,
            MODEL,
            &url,
            self.api_key.as_ref().map(Secret::expose),
            body,
        )
        .await;
        // A call is a fresher probe than the background one.
        match &raw {
            Ok(_) => self.set_availability(Availability::Available),
            Err(ModelError::Unreachable(_)) => self.set_availability(self.unreachable()),
            Err(_) => {}
        }
        match prompt {
            Some(prompt) => Self::parse_generate(raw?, &prompt),
            None => Self::parse_reply(raw?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn raw(status: u16, body: &str) -> RawReply {
        RawReply::of(status, body)
    }

    #[test]
    fn request_carries_roles_in_order_and_every_parameter() {
        let conversation = vec![
            PromptMessage {
                role: Role::User,
                text: "hi".into(),
            },
            PromptMessage {
                role: Role::Model,
                text: "hello from gemini".into(),
            },
            PromptMessage {
                role: Role::User,
                text: "and now?".into(),
            },
        ];
        let params = GenParams {
            temperature: 0.25,
            top_p: 0.5,
            max_tokens: 77,
        };
        let body: Value = serde_json::from_slice(&VllmChat::request_body(
            &conversation,
            &params,
            "google/gemma-3-12b-it",
            None,
        ))
        .expect("json");
        assert_eq!(
            body,
            json!({
                "model": "google/gemma-3-12b-it",
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello from gemini"},
                    {"role": "user", "content": "and now?"}
                ],
                "temperature": 0.25,
                "top_p": 0.5,
                "max_tokens": 77
            })
        );
    }

    #[test]
    fn a_system_prompt_leads_as_a_system_message() {
        let conversation = vec![PromptMessage {
            role: Role::User,
            text: "hi".into(),
        }];
        let body: Value = serde_json::from_slice(&VllmChat::request_body(
            &conversation,
            &GenParams::default(),
            "m",
            Some("Be brief."),
        ))
        .expect("json");
        assert_eq!(
            body["messages"],
            json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])
        );
    }

    #[test]
    fn generate_replies_are_parsed_and_junk_is_typed() {
        let prompt = generate::gemma_prompt(
            &[PromptMessage {
                role: Role::User,
                text: "hi".into(),
            }],
            None,
        );
        let body =
            json!({"predictions": [format!("Prompt:\n{prompt}\nOutput:\nHello!")]}).to_string();
        let reply = VllmChat::parse_generate(raw(200, &body), &prompt).expect("reply");
        assert_eq!(reply.text(), "Hello!");
        assert_eq!(
            VllmChat::parse_generate(raw(200, r#"{"predictions":[]}"#), &prompt).err(),
            Some(ModelError::BadReply(MODEL))
        );
        assert_eq!(
            VllmChat::parse_generate(raw(200, r#"{"predictions":[7]}"#), &prompt).err(),
            Some(ModelError::BadReply(MODEL))
        );
        assert_eq!(
            VllmChat::parse_generate(raw(503, "busy"), &prompt).err(),
            Some(ModelError::Busy(MODEL))
        );
    }

    #[test]
    fn reply_text_finish_reason_and_usage_are_read() {
        let reply = VllmChat::parse_reply(raw(
            200,
            r#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":" Hi there! "},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#,
        ))
        .expect("reply");
        assert_eq!(reply.text(), "Hi there!");
        assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            reply.usage,
            Some(TokenUsage {
                prompt_tokens: 12,
                completion_tokens: 3,
                total_tokens: 15
            })
        );
    }

    #[test]
    fn junk_replies_become_typed_errors_not_panics() {
        let cases = [
            (raw(200, "not json"), ModelError::BadReply(MODEL)),
            (
                raw(200, r#"{"choices":"nope"}"#),
                ModelError::BadReply(MODEL),
            ),
            (raw(200, r#"{"choices":[]}"#), ModelError::BadReply(MODEL)),
            (
                raw(200, r#"{"choices":[{"message":{"content":null}}]}"#),
                ModelError::Empty(MODEL),
            ),
            (
                raw(200, r#"{"choices":[{"message":{"content":"   "}}]}"#),
                ModelError::Empty(MODEL),
            ),
            (raw(200, "\u{0}\u{ff}"), ModelError::BadReply(MODEL)),
            (
                raw(500, "<html>oops</html>"),
                ModelError::BackendError(MODEL),
            ),
            (raw(429, "{}"), ModelError::Busy(MODEL)),
        ];
        for (input, expected) in cases {
            assert_eq!(VllmChat::parse_reply(input).err(), Some(expected));
        }
    }

    #[test]
    fn a_4xx_shows_the_backends_reason() {
        let err = VllmChat::parse_reply(raw(
            400,
            r#"{"object":"error","message":"This model's maximum context length is 32768 tokens.","type":"BadRequestError","code":400}"#,
        ))
        .err();
        assert_eq!(
            err,
            Some(ModelError::Rejected {
                model: MODEL,
                reason: "This model's maximum context length is 32768 tokens.".into()
            })
        );
    }
}
