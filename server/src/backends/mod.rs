//! Model backends: each implements `app::services::ChatModel` over one wire format.

pub mod gpu_share;
pub mod in_flight;
pub mod inline;
pub mod probe;
pub mod transport;
pub mod vertex;
pub mod vllm;

use crate::config::Config;
use crate::metrics::{Metrics, ModelLabels};
use app::models::ModelId;
use app::services::ChatModel;
use prometheus_client::metrics::counter::Counter;
use std::sync::Arc;

/// Builds both backends and starts their background work (vLLM health probe, Vertex credential
/// search). Neither blocks start-up. Each counts its retries in `metrics`.
pub fn start(
    config: &Config,
    metrics: &Metrics,
) -> Result<Vec<Arc<dyn ChatModel>>, reqwest::Error> {
    let retries = |id: ModelId| -> Counter {
        metrics
            .model_retries
            .get_or_create(&ModelLabels { model: id.as_str() })
            .clone()
    };
    let gemma = Arc::new(vllm::VllmChat::new(&config.vllm, retries(ModelId::Gemma))?);
    gemma.spawn_probe(config.vllm.probe_interval);
    let gemini = Arc::new(vertex::VertexGemini::new(
        &config.vertex,
        retries(ModelId::Gemini),
    )?);
    gemini.spawn_credential_search();
    Ok(vec![gemma, gemini])
}
