//! Each owner's figures per model, for the Models page: replies, failures, tokens, a latency
//! histogram and the verdicts on side-by-side pairs. Stored as counts by key, which both stores
//! add to in the same transaction as what they count (a SQLite upsert when a turn is completed
//! or a verdict changed, a Firestore increment transform in that transaction), so reading them
//! never walks the chats, two tabs never lose a count, and no turn costs an extra write.

use crate::conversation::{TurnOutcome, Verdict};
use crate::cost::Cost;
use crate::errors::ChatError;
use crate::models::ModelId;
use std::collections::BTreeMap;

/// The latency histogram's upper bounds, in ms; slower replies land in the last, open bucket.
pub const LATENCY_BOUNDS_MS: [u64; 14] = [
    250, 500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 45_000, 60_000,
    120_000,
];

/// The cost-per-reply histogram's upper bounds, in nano-dollars ($0.00001 to $0.10); dearer
/// replies land in the last, open bucket.
pub const COST_BOUNDS_NANO: [u64; 9] = [
    10_000,
    30_000,
    100_000,
    300_000,
    1_000_000,
    3_000_000,
    10_000_000,
    30_000_000,
    100_000_000,
];

/// A UTC day, as days since 1970-01-01: what the figures are kept per, besides all time.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(86_400_000)
}

/// One owner's figures on one UTC day.
#[derive(Clone, Debug, PartialEq)]
pub struct DayTally {
    pub day: i64,
    pub owner: String,
    pub tally: Tally,
}

/// Counts by key. Keys are `[a-z0-9_]` only: a Firestore field name as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally(pub BTreeMap<String, i64>);

fn key(model: ModelId, what: &str) -> String {
    format!("{}_{what}", model.as_str())
}

fn verdict_key(v: Verdict) -> String {
    format!("verdict_{}", v.as_str())
}

fn bucket(latency_ms: u64) -> String {
    match LATENCY_BOUNDS_MS.iter().find(|b| latency_ms <= **b) {
        Some(b) => format!("le_{b}"),
        None => "le_inf".into(),
    }
}

fn cost_bucket(nano: u64) -> String {
    match COST_BOUNDS_NANO.iter().find(|b| nano <= **b) {
        Some(b) => format!("cle_{b}"),
        None => "cle_inf".into(),
    }
}

/// What a priced call adds: its money, its GPU time, and (for a reply) its cost bucket.
fn cost_counts(out: &mut Vec<(String, i64)>, model: ModelId, cost: Cost, reply: bool) {
    out.push((key(model, "cost_nano"), cost.nano_usd as i64));
    if let Some(ms) = cost.gpu_ms {
        out.push((key(model, "gpu_ms"), ms as i64));
    }
    if reply {
        out.push((key(model, "costed"), 1));
        out.push((key(model, &cost_bucket(cost.nano_usd)), 1));
    } else {
        out.push((key(model, "billed_failures"), 1));
    }
}

/// What a turn adds as it is stored: for each reply its count, latency bucket and tokens; for
/// a model that failed, its failure (the one named by the turn's error code: when both models
/// of an Ask both fail, the first). A stopped turn, or one not saved, adds no failure.
pub fn for_outcome(outcome: &TurnOutcome) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for r in outcome.replies().map_or(&[][..], |r| &r[..]) {
        out.push((key(r.model, "replies"), 1));
        out.push((key(r.model, &bucket(r.latency_ms)), 1));
        if let Some(u) = r.usage {
            out.push((key(r.model, "counted"), 1));
            // What the provider bills as output: Gemini's thinking too.
            out.push((key(r.model, "tokens"), u.output_tokens() as i64));
            out.push((key(r.model, "input_tokens"), i64::from(u.prompt_tokens)));
        }
        if let Some(cost) = r.cost {
            cost_counts(&mut out, r.model, cost, true);
        }
    }
    let failed = match outcome {
        TurnOutcome::Failed { code, .. } | TurnOutcome::Partly { failed: code, .. } => Some(code),
        _ => None,
    };
    if let Some(ChatError::Model(e)) = failed.and_then(|c| crate::error_codes::from_code(c)) {
        out.push((key(e.model(), "failures"), 1));
        // Failed, but billed (out of tokens after thinking): its money counts in the spend.
        if let Some(cost) = outcome.billed_cost() {
            cost_counts(&mut out, e.model(), cost, false);
        }
    }
    out
}

/// What a verdict changed from `old` to `new` adds (one taken back, one counted).
pub fn for_verdict(old: Option<Verdict>, new: Option<Verdict>) -> Vec<(String, i64)> {
    if old == new {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(o) = old {
        out.push((verdict_key(o), -1));
    }
    if let Some(n) = new {
        out.push((verdict_key(n), 1));
    }
    out
}

/// One model's figures, as the Models page shows them.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFigures {
    pub model: ModelId,
    pub replies: i64,
    pub failures: i64,
    /// The latency bucket holding the median reply: (lower, upper) bounds in ms, `None` upper
    /// for the open last bucket.
    pub median_ms: Option<(u64, Option<u64>)>,
    /// Output tokens per reply (the answer, and Gemini's thinking: what is billed as output),
    /// over replies whose backend reported usage.
    pub tokens_per_reply: Option<f64>,
    /// Money spent (nano-dollars): priced replies, and failed calls that were billed.
    pub spend_nano: u64,
    /// Replies that were priced, and the GPU time (ms) the GPU-priced ones held.
    pub costed: i64,
    pub gpu_ms: i64,
    /// The cost bucket holding the median priced reply, in nano-dollars (as `median_ms`).
    pub median_cost: Option<(u64, Option<u64>)>,
    /// Output tokens of the priced replies, for the cost per 1,000.
    pub output_tokens: i64,
}

impl ModelFigures {
    /// The spend per priced reply, in nano-dollars (billed failures' money included).
    pub fn mean_cost_nano(&self) -> Option<f64> {
        (self.costed > 0).then(|| self.spend_nano as f64 / self.costed as f64)
    }

    /// The spend per 1,000 output tokens, in nano-dollars.
    pub fn cost_per_1k_output_nano(&self) -> Option<f64> {
        (self.output_tokens > 0 && self.costed > 0)
            .then(|| self.spend_nano as f64 * 1_000.0 / self.output_tokens as f64)
    }
}

impl ModelFigures {
    /// Failed calls per call, if there were any calls.
    pub fn error_rate(&self) -> Option<f64> {
        let calls = self.replies + self.failures;
        (calls > 0).then(|| self.failures as f64 / calls as f64)
    }
}

/// The verdicts: pairs where Gemma was better, tied, and where Gemini was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    pub gemma: i64,
    pub tie: i64,
    pub gemini: i64,
}

impl Tally {
    pub fn get(&self, key: &str) -> i64 {
        self.0.get(key).copied().unwrap_or(0)
    }

    /// Adds another tally's counts (everyone's figures are the owners' summed).
    pub fn add(&mut self, other: &Tally) {
        for (k, v) in &other.0 {
            *self.0.entry(k.clone()).or_default() += v;
        }
    }

    pub fn figures(&self, model: ModelId) -> ModelFigures {
        let count = |what: &str| self.get(&key(model, what));
        let counted = count("counted");
        ModelFigures {
            model,
            replies: count("replies"),
            failures: count("failures"),
            median_ms: median(
                &LATENCY_BOUNDS_MS,
                |b| count(&format!("le_{b}")),
                count("le_inf"),
            ),
            tokens_per_reply: (counted > 0).then(|| count("tokens") as f64 / counted as f64),
            spend_nano: count("cost_nano").max(0) as u64,
            costed: count("costed"),
            gpu_ms: count("gpu_ms"),
            median_cost: median(
                &COST_BOUNDS_NANO,
                |b| count(&format!("cle_{b}")),
                count("cle_inf"),
            ),
            // Priced replies reported usage too (a price needs it, or the GPU time): the
            // tokens counted are theirs, near enough (a Gemma reply without usage is rare).
            output_tokens: count("tokens"),
        }
    }

    pub fn standing(&self) -> Standing {
        Standing {
            gemma: self.get(&verdict_key(Verdict::Gemma)),
            tie: self.get(&verdict_key(Verdict::Tie)),
            gemini: self.get(&verdict_key(Verdict::Gemini)),
        }
    }
}

/// The bucket where half of a histogram's counts have been seen: (lower, upper) bounds, `None`
/// upper for the open last bucket.
fn median(bounds: &[u64], count: impl Fn(u64) -> i64, over: i64) -> Option<(u64, Option<u64>)> {
    let mut buckets: Vec<(u64, Option<u64>, i64)> = Vec::new();
    let mut lower = 0;
    for &b in bounds {
        buckets.push((lower, Some(b), count(b)));
        lower = b;
    }
    buckets.push((lower, None, over));
    let total: i64 = buckets.iter().map(|b| b.2).sum();
    let mut seen = 0;
    buckets.iter().find_map(|(lo, hi, n)| {
        seen += n;
        (total > 0 && 2 * seen >= total).then_some((*lo, *hi))
    })
}

/// Whether `key` is one a tally may hold: what the stores check before writing a key as a
/// Firestore field name or a SQLite value.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 40
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests;
