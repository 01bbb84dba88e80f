//! Gemma served by vLLM, through either of its APIs (`VLLM_API`):
//! - `chat`: the OpenAI-compatible chat API; vLLM applies Gemma's own chat template to the
//!   role-tagged messages, so no prompt format is invented here;
//! - `generate`: the codelab's model-garden `/generate`, with the prompt built by
//!   [`generate::gemma_prompt`].

mod context;
mod generate;
mod queue;
mod wire;

use super::gpu_share::GpuShare;
use super::in_flight::InFlight;
use super::transport::{self, RawReply};
use crate::config::{Secret, VllmApi, VllmConfig};
use app::conversation::TokenUsage;
use app::errors::ModelError;
use app::models::{Availability, ModelId};
use app::params::GenParams;
use app::services::{ChatModel, ModelReply, PromptMessage};
use async_trait::async_trait;
use prometheus_client::metrics::counter::Counter;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use wire::{ChatRequest, ChatResponse, ErrorBody, ModelList, TokenizeRequest, TokenizeResponse};

const MODEL: ModelId = ModelId::Gemma;
/// The longest of vLLM's own probe timeouts in the deployment.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct VllmChat {
    api: VllmApi,
    client: reqwest::Client,
    base_url: String,
    model_name: String,
    api_key: Option<Secret>,
    in_flight: InFlight,
    /// This replica's requests' shares of the GPU: what a reply costs (`app::cost`).
    gpu: Arc<GpuShare>,
    availability: RwLock<Availability>,
    probe_timeout: Duration,
    request_timeout: Duration,
    retries: Counter,
    /// The served context (`--max-model-len`) from `/v1/models`; 0 until read.
    max_model_len: AtomicU32,
    busy_waiting: Option<usize>,
}

impl VllmChat {
    pub fn new(config: &VllmConfig, retries: Counter) -> Result<Self, reqwest::Error> {
        let client = transport::client(config.connect_timeout, config.request_timeout)?;
        Ok(VllmChat {
            api: config.api,
            client,
            base_url: config.base_url.clone(),
            model_name: config.model.clone(),
            api_key: config.api_key.clone(),
            in_flight: InFlight::new(MODEL, config.max_in_flight, Duration::from_secs(2)),
            gpu: Arc::default(),
            availability: RwLock::new(Availability::Unknown),
            // vLLM's own probes in deploy/gemma3-12b-deploy.yaml wait up to 10 s (liveness):
            // a busy engine that Kubernetes still calls healthy is not "unreachable" here.
            probe_timeout: config.connect_timeout.max(PROBE_TIMEOUT),
            request_timeout: config.request_timeout,
            retries,
            max_model_len: AtomicU32::new(0),
            busy_waiting: config.busy_waiting,
        })
    }

    // The reasons visitors read name no internal address; the log, which operators read, does.
    fn unreachable(&self) -> Availability {
        Availability::Unreachable("Gemma's server (vLLM) does not answer.".into())
    }

    fn set_availability(&self, a: Availability) {
        if let Ok(mut slot) = self.availability.write() {
            if *slot != a {
                if let Some(why) = a.describe() {
                    tracing::warn!(url = %self.base_url, reason = why, "Gemma's availability changed");
                }
            }
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
            Ok(r) if r.status().is_success() => {
                let served = match self.api {
                    VllmApi::Chat => self.read_models().await,
                    VllmApi::Generate => Availability::Available,
                };
                match (served, self.busy_waiting) {
                    (Availability::Available, Some(threshold)) => self.read_queue(threshold).await,
                    (other, _) => other,
                }
            }
            Ok(r) => Availability::Unreachable(format!(
                "Gemma's server answered HTTP {}; it may still be loading the model.",
                r.status().as_u16()
            )),
            Err(e) if e.is_timeout() => Availability::Unreachable(format!(
                "Gemma's server timed out: its health check took longer than {} s.",
                self.probe_timeout.as_secs()
            )),
            Err(_) => self.unreachable(),
        }
    }

    /// The served context length, when `/v1/models` has told it.
    pub fn max_model_len(&self) -> u32 {
        self.max_model_len.load(Ordering::Relaxed)
    }

    /// Reads `GET /v1/models`: whether it serves `VLLM_MODEL` (a name it does not serve is
    /// an operator's mistake, shown in the picker before anyone sends), and its
    /// `max_model_len`. A list it cannot give says nothing against it.
    async fn read_models(&self) -> Availability {
        let mut request = self
            .client
            .get(format!("{}/v1/models", self.base_url))
            .timeout(self.probe_timeout);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose());
        }
        let list = match request.send().await {
            Ok(r) if r.status().is_success() => r.json::<ModelList>().await.ok(),
            _ => None,
        };
        let Some(list) = list else {
            return Availability::Available;
        };
        let Some(card) = list.data.iter().find(|m| m.id == self.model_name) else {
            let served: Vec<&str> = list.data.iter().map(|m| m.id.as_str()).collect();
            tracing::error!(model = %MODEL, wanted = %self.model_name, ?served, "vLLM does not serve VLLM_MODEL");
            return Availability::NotConfigured(format!(
                "Gemma is not set up on this server: its vLLM serves {}, not {} (VLLM_MODEL).",
                served.join(", "),
                self.model_name
            ));
        };
        if let Some(len) = card.max_model_len {
            if self.max_model_len.swap(len, Ordering::Relaxed) != len {
                tracing::info!(model = %MODEL, max_model_len = len, "served context length");
            }
        }
        Availability::Available
    }

    /// Reads vLLM's own queue from its Prometheus `/metrics`: every replica of this app sends
    /// to the same engine, so its queue is the cluster's load, which no replica's own count
    /// shows. A server without those metrics says nothing against it.
    async fn read_queue(&self, threshold: usize) -> Availability {
        let response = self
            .client
            .get(format!("{}/metrics", self.base_url))
            .timeout(self.probe_timeout)
            .send()
            .await;
        let text = match response {
            Ok(r) if r.status().is_success() => r.text().await.ok(),
            _ => None,
        };
        match text.and_then(|t| queue::waiting(&t, &self.model_name)) {
            Some(waiting) if waiting >= threshold => Availability::Busy(format!(
                "Gemma is busy: {waiting} waiting for its GPU, so a message sent now waits too."
            )),
            _ => Availability::Available,
        }
    }

    /// vLLM's exact count of `messages` through Gemma's template, or `None` if it cannot tell.
    async fn count_tokens(&self, system: Option<&str>, messages: &[PromptMessage]) -> Option<u32> {
        let body = serde_json::to_vec(&TokenizeRequest {
            model: &self.model_name,
            messages: wire::messages(system, messages),
            add_generation_prompt: true,
        })
        .ok()?;
        let raw = transport::post_json(
            &self.client,
            MODEL,
            &format!("{}/tokenize", self.base_url),
            self.api_key.as_ref().map(Secret::expose),
            body.into(),
            Some(self.probe_timeout),
        )
        .await
        .ok()?;
        transport::decode::<TokenizeResponse, ErrorBody>(MODEL, raw)
            .ok()
            .map(|t| t.count)
    }

    /// The part of `conversation` to send so that it and Max tokens fit the served context:
    /// the oldest turns left out first, the new message always kept; a new message too long on
    /// its own (by vLLM's exact count) is refused before any model call.
    async fn fit<'c>(
        &self,
        system: Option<&str>,
        conversation: &'c [PromptMessage],
        max_tokens: u32,
    ) -> Result<&'c [PromptMessage], ModelError> {
        let len = self.max_model_len();
        if len == 0 || conversation.is_empty() {
            return Ok(conversation);
        }
        if let Some(start) = context::fitting_start(system, conversation, max_tokens, len) {
            if start > 0 {
                tracing::info!(model = %MODEL, left_out = start, max_model_len = len, "oldest turns left out to fit the context");
            }
            return Ok(&conversation[start..]);
        }
        // The estimate is high: ask vLLM for the exact count of the new message alone.
        let last = &conversation[conversation.len() - 1..];
        match self.count_tokens(system, last).await {
            Some(n) if n.saturating_add(max_tokens) > len => {
                tracing::info!(model = %MODEL, prompt_tokens = n, max_tokens, max_model_len = len, "message too long for the context");
                Err(ModelError::ContextTooLong(MODEL))
            }
            _ => Ok(last),
        }
    }

    /// Probes now and then every `interval`, in the background, so page renders never wait.
    pub fn spawn_probe(self: &Arc<Self>, interval: Duration) {
        let this = Arc::downgrade(self);
        tokio::spawn(super::probe::every(this, interval, |this| async move {
            let a = this.probe().await;
            this.set_availability(a);
        }));
    }

    fn request_body(
        conversation: &[PromptMessage],
        params: &GenParams,
        model: &str,
        system: Option<&str>,
    ) -> Vec<u8> {
        let request = ChatRequest {
            model,
            messages: wire::messages(system, conversation),
            temperature: params.temperature,
            top_p: params.top_p,
            max_tokens: params.max_tokens,
        };
        crate::backends::inline::json_body(&request, system, conversation)
    }

    fn parse_generate(raw: RawReply, prompt: &str) -> Result<ModelReply, ModelError> {
        let parsed: generate::GenerateResponse = transport::decode::<_, ErrorBody>(MODEL, raw)?;
        let prediction = parsed.first().ok_or(ModelError::BadReply(MODEL))?;
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
        // vLLM gave up on the request part-way (engine error, preemption): whatever text came is
        // not an answer.
        if choice.finish_reason.as_deref() == Some("abort") {
            return Err(ModelError::Aborted(MODEL));
        }
        let text = choice.message.and_then(|m| m.content).unwrap_or_default();
        let usage = parsed.usage.map(|u| TokenUsage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            thinking_tokens: 0,
            total_tokens: u.total_tokens,
        });
        // Stopped by max_tokens before a visible word: more tokens would help, as with Gemini.
        if choice.finish_reason.as_deref() == Some("length") && text.trim().is_empty() {
            return Err(ModelError::OutOfTokens {
                model: MODEL,
                billed: usage,
            });
        }
        ModelReply::new(MODEL, &text, choice.finish_reason, usage)
    }
}

#[async_trait]
impl ChatModel for VllmChat {
    fn id(&self) -> ModelId {
        MODEL
    }

    /// The model-garden `/generate` takes one string: no pictures.
    fn reads_files(&self) -> bool {
        self.api == VllmApi::Chat
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
                Self::request_body(
                    self.fit(system, conversation, params.max_tokens).await?,
                    params,
                    &self.model_name,
                    system,
                ),
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
        // From here the request is on the GPU (or in vLLM's queue, which the share cannot see).
        let on_gpu = self.gpu.enter();
        let raw = transport::post_json_retrying::<ErrorBody>(
            &self.client,
            MODEL,
            &url,
            self.api_key.as_ref().map(Secret::expose),
            body.into(),
            self.request_timeout,
            &self.retries,
        )
        .await;
        // A call is a fresher probe than the background one.
        match &raw {
            Ok(_) => self.set_availability(Availability::Available),
            Err(ModelError::Unreachable(_)) => self.set_availability(self.unreachable()),
            Err(_) => {}
        }
        let gpu_ms = on_gpu.share_ms();
        let reply = match prompt {
            Some(prompt) => Self::parse_generate(raw?, &prompt),
            None => Self::parse_reply(raw?),
        };
        reply.map(|r| r.with_gpu_ms(gpu_ms))
    }
}

#[cfg(test)]
mod tests;
