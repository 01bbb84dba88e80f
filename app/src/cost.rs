//! What a reply cost, in US dollars. Gemini's is what Vertex AI bills for its tokens (input, and
//! output with the thinking). Gemma's is its share of the GPU nodes' time: the reply's wall time
//! divided by the Gemma requests in flight beside it, as the vLLM backend measured it
//! (`server/src/backends/gpu_share.rs`), at the nodes' price per hour.
//!
//! Amounts are whole nano-dollars (`u64`): stored, added up and shown without floating point,
//! so the browser's bundle carries no float formatting.

use crate::conversation::TokenUsage;
use crate::models::ModelId;
use serde::{Deserialize, Serialize};

/// A reply's cost and what it was computed from beyond its tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// US dollars × 10⁹.
    pub nano_usd: u64,
    /// A GPU-priced model's reply: the GPU time it held (ms), its wall time shared with the
    /// requests in flight beside it. The money is "≈ … of GPU time".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_ms: Option<u64>,
}

/// How a model is priced (configuration: `server/src/config/prices.rs`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Price {
    /// US dollars per million tokens: input, and output (thinking is billed as output).
    Tokens { input_per_m: f64, output_per_m: f64 },
    /// US dollars per hour of the GPU nodes serving the model, whether busy or idle.
    GpuHour { per_hour: f64 },
}

impl Price {
    /// What a call cost: from its billed tokens, or from the GPU time it held. `None` when
    /// what the price needs was not reported.
    pub fn cost(&self, usage: Option<&TokenUsage>, gpu_ms: Option<u64>) -> Option<Cost> {
        match *self {
            Price::Tokens {
                input_per_m,
                output_per_m,
            } => {
                let u = usage?;
                let usd = f64::from(u.prompt_tokens) * input_per_m / 1e6
                    + f64::from(u.output_tokens()) * output_per_m / 1e6;
                Some(Cost {
                    nano_usd: nano(usd),
                    gpu_ms: None,
                })
            }
            Price::GpuHour { per_hour } => {
                let ms = gpu_ms?;
                Some(Cost {
                    nano_usd: nano(ms as f64 / 3_600_000.0 * per_hour),
                    gpu_ms: Some(ms),
                })
            }
        }
    }
}

/// Each model's price, as configured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prices {
    pub gemma: Price,
    pub gemini: Price,
}

impl Prices {
    pub fn of(&self, model: ModelId) -> Price {
        match model {
            ModelId::Gemma => self.gemma,
            ModelId::Gemini => self.gemini,
        }
    }
}

/// Dollars to whole nano-dollars (negative and NaN amounts are 0).
pub fn nano(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        (usd * 1e9).round() as u64
    } else {
        0
    }
}

/// "$12.34", "$0.0012", "$0.000031": two significant digits, at least cents, at most nine
/// decimals.
pub fn dollars(nano_usd: u64) -> String {
    let mut decimals = 2u32;
    let mut value = round_div(nano_usd, 10u64.pow(9 - decimals));
    while value < 10 && decimals < 9 && nano_usd > 0 {
        decimals += 1;
        value = round_div(nano_usd, 10u64.pow(9 - decimals));
    }
    let unit = 10u64.pow(decimals);
    format!(
        "${}.{:0width$}",
        value / unit,
        value % unit,
        width = decimals as usize
    )
}

fn round_div(n: u64, d: u64) -> u64 {
    (n + d / 2) / d
}

impl Cost {
    /// Under a reply: "$0.0012", or for GPU time "≈ $0.0030 of GPU time".
    pub fn describe(&self) -> String {
        match self.gpu_ms {
            Some(_) => format!("≈ {} of GPU time", dollars(self.nano_usd)),
            None => dollars(self.nano_usd),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GEMINI: Price = Price::Tokens {
        input_per_m: 0.30,
        output_per_m: 2.50,
    };
    const GEMMA: Price = Price::GpuHour { per_hour: 4.0 };

    fn usage(prompt: u32, completion: u32, thinking: u32) -> TokenUsage {
        TokenUsage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            thinking_tokens: thinking,
            total_tokens: prompt + completion + thinking,
        }
    }

    #[test]
    fn gemini_bills_input_and_output_with_its_thinking() {
        // 1,000 in at $0.30/M = $0.0003; 200 answer + 600 thinking out at $2.50/M = $0.002.
        let cost = GEMINI.cost(Some(&usage(1_000, 200, 600)), None);
        assert_eq!(
            cost,
            Some(Cost {
                nano_usd: 2_300_000,
                gpu_ms: None
            })
        );
        assert_eq!(cost.map(|c| c.describe()).as_deref(), Some("$0.0023"));
        // Without thinking it is cheaper by exactly the thinking's output.
        let plain = GEMINI.cost(Some(&usage(1_000, 200, 0)), None);
        assert_eq!(plain.map(|c| c.nano_usd), Some(800_000));
        // Nothing reported, nothing counted.
        assert_eq!(GEMINI.cost(None, Some(10)), None);
    }

    #[test]
    fn a_failed_but_billed_gemini_call_costs_its_thinking() {
        // Out of tokens after thinking: no answer, 1,024 thinking tokens billed.
        let cost = GEMINI
            .cost(Some(&usage(50, 0, 1_024)), None)
            .expect("priced");
        assert_eq!(cost.nano_usd, 50 * 300 + 1_024 * 2_500);
        assert_eq!(cost.describe(), "$0.0026");
    }

    #[test]
    fn gemma_costs_its_share_of_the_gpu_hour() {
        // Alone for 9 s: 9/3600 of $4.
        let alone = GEMMA.cost(None, Some(9_000)).expect("priced");
        assert_eq!(alone.nano_usd, 10_000_000);
        assert_eq!(alone.describe(), "≈ $0.010 of GPU time");
        // The same 9 s beside seven others (concurrency 8): an eighth of it.
        let shared = GEMMA
            .cost(Some(&usage(10, 10, 0)), Some(9_000 / 8))
            .expect("priced");
        assert_eq!(shared.nano_usd, 1_250_000);
        assert_eq!(shared.gpu_ms, Some(1_125));
        assert_eq!(GEMMA.cost(Some(&usage(1, 1, 0)), None), None);
    }

    #[test]
    fn dollars_read_with_two_significant_digits() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(12_340_000_000), "$12.34");
        assert_eq!(dollars(1_200_000), "$0.0012");
        assert_eq!(dollars(31_000), "$0.000031");
        assert_eq!(dollars(50_000_000), "$0.050");
        assert_eq!(dollars(1), "$0.000000001");
        assert_eq!(nano(-1.0), 0);
        assert_eq!(nano(f64::NAN), 0);
    }
}
