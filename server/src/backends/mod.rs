//! Model backends: each implements `app::services::ChatModel` over one wire format.

pub mod in_flight;
pub mod transport;
pub mod vllm;

use crate::config::Config;
use app::services::ChatModel;
use std::sync::Arc;

/// Builds every configured backend and starts their background health probes.
/// Gemini (Vertex AI) is not wired yet, so the picker shows it as not configured.
pub fn start(config: &Config) -> Result<Vec<Arc<dyn ChatModel>>, reqwest::Error> {
    let gemma = Arc::new(vllm::VllmChat::new(&config.vllm)?);
    gemma.spawn_probe(config.vllm.probe_interval);
    Ok(vec![gemma])
}
