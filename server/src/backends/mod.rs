//! Model backends: each implements `app::services::ChatModel` over one wire format.

pub mod in_flight;
pub mod transport;
pub mod vertex;
pub mod vllm;

use crate::config::Config;
use app::services::ChatModel;
use std::sync::Arc;

/// Builds both backends and starts their background work (vLLM health probe, Vertex credential
/// search). Neither blocks start-up.
pub fn start(config: &Config) -> Result<Vec<Arc<dyn ChatModel>>, reqwest::Error> {
    let gemma = Arc::new(vllm::VllmChat::new(&config.vllm)?);
    gemma.spawn_probe(config.vllm.probe_interval);
    let gemini = Arc::new(vertex::VertexGemini::new(&config.vertex)?);
    gemini.spawn_credential_search();
    Ok(vec![gemma, gemini])
}
