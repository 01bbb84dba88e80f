//! Per-visitor limits: turns per window and tokens per day, counted in the chat store so every
//! replica sees the same counts and they survive restarts.
//!
//! Precision given up, on purpose: windows are fixed (aligned to the epoch), so a visitor can
//! send up to twice the limit across a window boundary; and the budget is checked, then the
//! turn's estimate charged (settled when it ends, `app/src/chat/ssr/budget.rs`), so turns
//! admitted at the same moment can each pass the check and overshoot it by their own estimate.
//! Both are bounded by one window or one turn, and neither needs a lock across replicas.

use crate::metrics::{LimitLabels, Metrics};
use app::errors::{ChatError, LimitError, StoreError};
use app::services::TurnLimits;
use app::session::OwnerKey;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// How many documents one address's new-owner count is spread over.
const OWNER_SHARDS: usize = 4;

/// Counters the limits keep in the store. Implemented by both stores.
#[async_trait]
pub trait UsageCounters: Send + Sync {
    /// Adds `delta` to counter `key` (creating it at 0) in one atomic step and returns the new
    /// value. The store may forget the counter after `expires_at_ms`.
    async fn add(&self, key: &str, delta: i64, expires_at_ms: i64) -> Result<i64, StoreError>;

    /// The counter's value; 0 if it does not exist.
    async fn get(&self, key: &str) -> Result<i64, StoreError>;
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimitsConfig {
    /// At most this many turns per `window`.
    pub turns: Option<(u32, Duration)>,
    /// At most this many tokens per UTC day.
    pub tokens_per_day: Option<u64>,
    /// At most this many new browser owners per address per hour.
    pub new_owners_per_hour: Option<u32>,
    /// At most this many new chats per visitor per hour.
    pub chats_per_hour: Option<u32>,
    /// An address may spend this many times a visitor's limits: several people behind one NAT
    /// do not starve each other, and new cookies or owners buy at most this many allowances.
    pub address_multiplier: u32,
}

impl LimitsConfig {
    pub fn is_off(&self) -> bool {
        self.turns.is_none()
            && self.tokens_per_day.is_none()
            && self.new_owners_per_hour.is_none()
            && self.chats_per_hour.is_none()
    }
}

pub struct Limiter {
    counters: Arc<dyn UsageCounters>,
    config: LimitsConfig,
    metrics: Arc<Metrics>,
    /// Keys the hashes the counters are kept under (see [`Limiter::hashed`]).
    key: OwnerKey,
}

impl Limiter {
    pub fn new(
        counters: Arc<dyn UsageCounters>,
        config: LimitsConfig,
        metrics: Arc<Metrics>,
        key: OwnerKey,
    ) -> Limiter {
        Limiter {
            counters,
            config,
            metrics,
            key,
        }
    }

    /// Visitor keys name a user, hold a browser's owner cookie or an address; the store keeps
    /// only a hash, keyed with the server's key: a plain hash of an IPv4 address is undone by
    /// hashing all 2³² of them.
    fn hashed(&self, visitor: &str) -> String {
        self.key.keyed_hash("limits", visitor)
    }

    /// How many visitors' worth of a limit `visitor` may spend: an address several.
    fn scale(&self, visitor: &str) -> u64 {
        if is_address(visitor) {
            u64::from(self.config.address_multiplier.max(1))
        } else {
            1
        }
    }

    fn refuse(&self, limit: &'static str, error: LimitError) -> ChatError {
        self.metrics
            .refused
            .get_or_create(&LimitLabels { limit })
            .inc();
        tracing::info!(limit, "turn refused by a visitor limit");
        ChatError::Limited(error)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Address keys (`ip:…`, `ip6:…`, from `app::session::address_key`) get the multiplied limits.
fn is_address(visitor: &str) -> bool {
    visitor.starts_with("ip")
}

#[async_trait]
impl TurnLimits for Limiter {
    async fn admit(&self, visitor: &str, reserve: u64) -> Result<(), ChatError> {
        let scale = self.scale(visitor);
        let visitor = self.hashed(visitor);
        let now = now_ms();
        if let Some(budget) = self.config.tokens_per_day {
            let day = now / DAY_MS;
            let used = self
                .counters
                .get(&format!("tokens-{visitor}-{day}"))
                .await?;
            if used >= (budget.saturating_mul(scale)) as i64 {
                let resets_in_s = (((day + 1) * DAY_MS - now) / 1000) as u64;
                return Err(self.refuse(
                    "tokens_per_day",
                    LimitError::OverBudget {
                        budget: budget.saturating_mul(scale),
                        resets_in_s,
                    },
                ));
            }
        }
        if let Some((limit, window)) = self.config.turns {
            let window_ms = (window.as_millis() as i64).max(1);
            let slot = now / window_ms;
            let ends = (slot + 1) * window_ms;
            let count = self
                .counters
                .add(&format!("turns-{visitor}-{slot}"), 1, ends + window_ms)
                .await?;
            if count > (u64::from(limit) * scale) as i64 {
                return Err(self.refuse(
                    "turns",
                    LimitError::TooManyTurns {
                        limit: u32::try_from(u64::from(limit) * scale).unwrap_or(u32::MAX),
                        window_s: window.as_secs(),
                        retry_after_s: ((ends - now) as u64).div_ceil(1000),
                    },
                ));
            }
        }
        // Admitted: the turn's estimate is charged now, and settled when it ends.
        if self.config.tokens_per_day.is_some() && reserve > 0 {
            let day = now / DAY_MS;
            self.counters
                .add(
                    &format!("tokens-{visitor}-{day}"),
                    reserve.min(i64::MAX as u64) as i64,
                    (day + 2) * DAY_MS,
                )
                .await?;
        }
        Ok(())
    }

    async fn admit_new_owner(&self, address: &str) -> Result<(), ChatError> {
        let Some(limit) = self.config.new_owners_per_hour else {
            return Ok(());
        };
        const HOUR_MS: i64 = 3600 * 1000;
        let now = now_ms();
        let slot = now / HOUR_MS;
        let ends = (slot + 1) * HOUR_MS;
        // Read first: past the limit nothing is written, so a flood of cookieless page loads
        // costs reads, not a write each. The count is spread over shards (one written per
        // admission), so one address's loads do not queue on one document. Loads at the same
        // moment can each pass the check: the overshoot is bounded by how many run at once.
        let address = self.hashed(address);
        let keys: Vec<String> = (0..OWNER_SHARDS)
            .map(|shard| format!("owners-{address}-{slot}-{shard}"))
            .collect();
        let counts =
            futures::future::try_join_all(keys.iter().map(|key| self.counters.get(key))).await?;
        if counts.iter().sum::<i64>() >= i64::from(limit) {
            return Err(self.refuse(
                "new_owners",
                LimitError::TooManyOwners {
                    retry_after_s: ((ends - now) as u64).div_ceil(1000),
                },
            ));
        }
        let shard = (now as usize) % keys.len();
        self.counters.add(&keys[shard], 1, ends + HOUR_MS).await?;
        Ok(())
    }

    async fn admit_new_chat(&self, visitors: &[String]) -> Result<(), ChatError> {
        let Some(limit) = self.config.chats_per_hour else {
            return Ok(());
        };
        const HOUR_MS: i64 = 3600 * 1000;
        let now = now_ms();
        let slot = now / HOUR_MS;
        let ends = (slot + 1) * HOUR_MS;
        for visitor in visitors {
            let allowed = u64::from(limit) * self.scale(visitor);
            let key = format!("chats-{}-{slot}", self.hashed(visitor));
            let count = self.counters.add(&key, 1, ends + HOUR_MS).await?;
            if count > allowed as i64 {
                return Err(self.refuse(
                    "chats",
                    LimitError::TooManyChats {
                        limit: u32::try_from(allowed).unwrap_or(u32::MAX),
                        retry_after_s: ((ends - now) as u64).div_ceil(1000),
                    },
                ));
            }
        }
        Ok(())
    }

    async fn charge(&self, visitor: &str, delta: i64) {
        if self.config.tokens_per_day.is_none() || delta == 0 {
            return;
        }
        let day = now_ms() / DAY_MS;
        let key = format!("tokens-{}-{day}", self.hashed(visitor));
        // The turn is stored already; a failed charge only makes the budget lenient (or, for a
        // refund, strict by one turn's estimate).
        if let Err(e) = self.counters.add(&key, delta, (day + 2) * DAY_MS).await {
            tracing::warn!(error = ?e, "could not charge tokens to the visitor's budget");
        }
    }
}
