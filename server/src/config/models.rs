//! The two backends: Gemma on vLLM and Gemini on Vertex AI. They share the model timeouts and
//! the in-flight cap.

use super::env::{ConfigError, Env, Secret};
use app::params::Thinking;
use app::prompt::HistoryWindow;
use std::time::Duration;

/// Which of vLLM's two HTTP APIs the Gemma deployment serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VllmApi {
    /// `vllm serve` (image `vllm/vllm-openai`): `POST /v1/chat/completions`; vLLM applies
    /// Gemma's chat template.
    Chat,
    /// The codelab's model-garden container (`vllm.entrypoints.api_server`): `POST /generate`
    /// with a raw prompt, which we build with Gemma's template.
    Generate,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VllmConfig {
    pub api: VllmApi,
    /// Base URL of the vLLM (or any OpenAI-compatible) server, without `/v1`.
    pub base_url: String,
    /// The served model name sent in each request.
    pub model: String,
    pub api_key: Option<Secret>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Most requests this replica sends to vLLM at once; more wait briefly, then get "busy".
    /// Every replica sends to the same vLLM: the deployment sets it from the GPU profile
    /// (`VLLM_MAX_IN_FLIGHT` × the HPA's most replicas stays within what vLLM serves).
    pub max_in_flight: usize,
    pub probe_interval: Duration,
    /// vLLM's queue (`vllm:num_requests_waiting`) at which the picker calls Gemma busy;
    /// `None` never does.
    pub busy_waiting: Option<usize>,
}

/// Gemini through Vertex AI's REST `generateContent`.
#[derive(Clone, Debug, PartialEq)]
pub struct VertexConfig {
    /// `None`: ask the credentials (gcp_auth) for their project.
    pub project: Option<String>,
    pub location: String,
    pub model: String,
    /// `https://aiplatform.googleapis.com` for `global`, `https://{loc}-aiplatform…` otherwise.
    pub base_url: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub max_in_flight: usize,
    /// How much Gemini thinks before answering, on top of Max tokens (`GEMINI_THINKING`).
    pub thinking: Thinking,
    /// How often the free `countTokens` probe checks the model and the server's access.
    pub probe_interval: Duration,
}

pub(super) fn read(env: &Env) -> Result<(VllmConfig, VertexConfig), ConfigError> {
    let connect_timeout = env.secs("MODEL_CONNECT_TIMEOUT_SECS", 5.0)?;
    let request_timeout = env.secs("MODEL_TIMEOUT_SECS", 120.0)?;
    let max_in_flight = env.count("MODEL_MAX_IN_FLIGHT", 64)?;

    let vllm = VllmConfig {
        api: env.one_of(
            "VLLM_API",
            &[("chat", VllmApi::Chat), ("generate", VllmApi::Generate)],
            VllmApi::Chat,
        )?,
        base_url: env
            .base_url("VLLM_BASE_URL")?
            .unwrap_or_else(|| "http://127.0.0.1:8000".into()),
        model: env.text("VLLM_MODEL", "google/gemma-3-12b-it"),
        api_key: env.var("VLLM_API_KEY").map(Secret),
        connect_timeout,
        request_timeout,
        max_in_flight: env.count("VLLM_MAX_IN_FLIGHT", max_in_flight)?,
        probe_interval: env.secs("MODEL_PROBE_INTERVAL_SECS", 15.0)?,
        busy_waiting: match env.var("VLLM_BUSY_WAITING") {
            None => Some(8),
            Some(_) => env.optional_count("VLLM_BUSY_WAITING")?,
        },
    };

    let location = env.text("VERTEX_LOCATION", "global");
    if !location
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ConfigError::new(
            "VERTEX_LOCATION",
            location,
            "expected a location such as `global` or `us-central1`",
        ));
    }
    let default_host = if location == "global" {
        "https://aiplatform.googleapis.com".to_string()
    } else {
        format!("https://{location}-aiplatform.googleapis.com")
    };
    let vertex = VertexConfig {
        project: env.var("GOOGLE_CLOUD_PROJECT"),
        base_url: env.secure_url("VERTEX_BASE_URL")?.unwrap_or(default_host),
        location,
        model: env.text("VERTEX_MODEL", "gemini-2.5-flash"),
        connect_timeout,
        request_timeout,
        max_in_flight,
        thinking: {
            let raw = env.text("GEMINI_THINKING", "auto");
            Thinking::parse(&raw).map_err(|_| {
                ConfigError::new(
                    "GEMINI_THINKING",
                    raw,
                    "expected `off`, `auto` or a budget of 1 to 24576 tokens",
                )
            })?
        },
        probe_interval: env.secs("GEMINI_PROBE_INTERVAL_SECS", 300.0)?,
    };
    Ok((vllm, vertex))
}

/// How much of a chat each turn sends to the models (and reads from the store).
pub(super) fn history(env: &Env) -> Result<HistoryWindow, ConfigError> {
    let default = HistoryWindow::DEFAULT;
    Ok(HistoryWindow {
        messages: env.count("HISTORY_MESSAGES", default.messages)?,
        tokens: env.count("HISTORY_TOKENS", default.tokens)?,
    })
}
