//! What replies cost (`app::cost`). The defaults are Google's published on-demand list prices,
//! dated, for the models and machines this repository deploys; an operator with other prices
//! (a discount, another region, another GPU profile) sets them.

use super::env::{ConfigError, Env};
use app::cost::{Price, Prices};

/// Vertex AI, Gemini 2.5 Flash, per million tokens (cloud.google.com/vertex-ai/generative-ai/
/// pricing, read 2025-07-01): text, image and video input $0.30; output, thinking included,
/// $2.50.
pub const GEMINI_INPUT_PER_M: f64 = 0.30;
pub const GEMINI_OUTPUT_PER_M: f64 = 2.50;

/// Compute Engine, us-central1, on-demand (cloud.google.com/compute/vm-instance-pricing,
/// accelerator-optimized G2, read 2025-07-01): g2-standard-48, the machine with the 4 NVIDIA L4
/// the default GPU profile asks for, $4.0017 an hour. The `2xl4` profile's g2-standard-24 is
/// $2.0008; its ConfigMap `gemma-serving` sets that.
pub const GEMMA_GPU_PER_HOUR: f64 = 4.0017;

/// The daily spending ceilings, nano-dollars, in `ModelId::ALL` order (Gemma, Gemini); unset or
/// `0`: none.
pub(super) fn ceilings(env: &Env) -> Result<[Option<u64>; 2], ConfigError> {
    let one = |key| -> Result<Option<u64>, ConfigError> {
        Ok(Some(app::cost::nano(env.usd(key, 0.0)?)).filter(|n| *n > 0))
    };
    Ok([one("GEMMA_DAILY_USD")?, one("GEMINI_DAILY_USD")?])
}

pub(super) fn read(env: &Env) -> Result<Prices, ConfigError> {
    Ok(Prices {
        gemma: Price::GpuHour {
            per_hour: env.usd("GEMMA_GPU_USD_PER_HOUR", GEMMA_GPU_PER_HOUR)?,
        },
        gemini: Price::Tokens {
            input_per_m: env.usd("GEMINI_USD_PER_M_INPUT", GEMINI_INPUT_PER_M)?,
            output_per_m: env.usd("GEMINI_USD_PER_M_OUTPUT", GEMINI_OUTPUT_PER_M)?,
        },
    })
}
