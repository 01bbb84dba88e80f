//! Operators' daily ceilings on what each model may spend, all visitors together
//! (`GEMINI_DAILY_USD`, `GEMMA_DAILY_USD`): "Gemini: $20 a day". Today's spend is everyone's
//! figures for the UTC day (`ChatStore::day_tallies`), read at most every [`REFRESH`] and added
//! to by this replica's own turns in between, so admitting a turn costs no store read.
//!
//! Precision given up, on purpose: turns accepted together each pass the check, and another
//! replica's spend is seen up to [`REFRESH`] late, so a ceiling can be passed by the turns in
//! flight in that time. A store that cannot be read admits (and says so in the log): a ceiling
//! on money is not worth refusing every turn during a store blip, which refuses them anyway.

use app::cost::dollars;
use app::errors::{ChatError, LimitError};
use app::models::ModelId;
use app::services::{ChatStore, SpendCeilings};
use app::tally::{day_of, Tally};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How stale the day's spend read from the store may be.
pub const REFRESH: Duration = Duration::from_secs(5);

pub struct DailyCeilings {
    store: Arc<dyn ChatStore>,
    /// Each model's ceiling, nano-dollars a UTC day (`None`: none), in `ModelId::ALL` order.
    ceilings: [Option<u64>; 2],
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    day: i64,
    read_at: Option<Instant>,
    /// Per model: the day's spend as last read, and this replica's since.
    spent: [u64; 2],
}

fn index(model: ModelId) -> usize {
    ModelId::ALL.iter().position(|m| *m == model).unwrap_or(0)
}

impl DailyCeilings {
    /// `None` when no model has a ceiling.
    pub fn configured(
        store: Arc<dyn ChatStore>,
        ceilings: [Option<u64>; 2],
    ) -> Option<Arc<dyn SpendCeilings>> {
        ceilings.iter().any(Option::is_some).then(|| {
            Arc::new(DailyCeilings {
                store,
                ceilings,
                seen: Mutex::default(),
            }) as Arc<dyn SpendCeilings>
        })
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Today's spend on `model`, read again from the store when stale or from another day.
    async fn today(&self, model: ModelId, now_ms: i64) -> u64 {
        let day = day_of(now_ms);
        let fresh = {
            let seen = self.seen();
            seen.day == day && seen.read_at.is_some_and(|t| t.elapsed() < REFRESH)
        };
        if !fresh {
            match self.store.day_tallies(None, day).await {
                Ok(days) => {
                    let mut all = Tally::default();
                    for d in days.iter().filter(|d| d.day == day) {
                        all.add(&d.tally);
                    }
                    let mut seen = self.seen();
                    *seen = Seen {
                        day,
                        read_at: Some(Instant::now()),
                        spent: ModelId::ALL.map(|m| all.figures(m).spend_nano),
                    };
                }
                Err(e) => tracing::warn!(error = ?e, "today's spend not read; admitting"),
            }
        }
        let seen = self.seen();
        if seen.day == day {
            seen.spent[index(model)]
        } else {
            0
        }
    }
}

#[async_trait]
impl SpendCeilings for DailyCeilings {
    async fn admit(&self, model: ModelId) -> Result<(), ChatError> {
        let Some(ceiling) = self.ceilings[index(model)] else {
            return Ok(());
        };
        let now = app::chat::ssr::now_ms();
        let spent = self.today(model, now).await;
        if spent < ceiling {
            return Ok(());
        }
        tracing::warn!(%model, spent = %dollars(spent), ceiling = %dollars(ceiling), "daily spending ceiling reached");
        Err(LimitError::ModelSpent {
            model,
            budget_nano: ceiling,
            resets_in_s: ((day_of(now) + 1) * 86_400_000 - now).max(0) as u64 / 1_000,
        }
        .into())
    }

    fn ceiling(&self, model: ModelId) -> Option<u64> {
        self.ceilings[index(model)]
    }

    fn spent(&self, model: ModelId, nano_usd: u64) {
        let mut seen = self.seen();
        if seen.day == day_of(app::chat::ssr::now_ms()) {
            seen.spent[index(model)] += nano_usd;
        }
    }
}
