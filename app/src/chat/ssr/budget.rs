//! The daily token budget, reserved when a turn is admitted and settled when it ends. A turn
//! is charged its estimate up front (its prompt at most the history window, its answer at most
//! Max tokens, Gemini's thinking at most its allowance), so a Stop, a timeout or a failure
//! cannot keep a GPU busy for free: the estimate stays charged unless the models reported what
//! they used, which it is then settled to. A turn refused before its job starts (another turn
//! pending, the chat gone, a later limit) gives its reservation back.

use crate::conversation::{NewReply, TurnOutcome};
use crate::errors::ChatError;
use crate::models::ModelId;
use crate::params::GenParams;
use crate::services::{Services, TurnLimits};
use std::sync::Arc;

/// The most a turn to `targets` can use: for each model, the history window, the message
/// (about four characters a token), Max tokens and, for Gemini, its thinking allowance.
pub(super) fn estimate(
    services: &Services,
    message_chars: usize,
    params: &GenParams,
    targets: &[ModelId],
) -> u64 {
    targets
        .iter()
        .map(|m| {
            let thinking = match m {
                ModelId::Gemini => params.thinking.unwrap_or(services.thinking).allowance(),
                ModelId::Gemma => 0,
            };
            services.history.tokens as u64
                + message_chars.div_ceil(4) as u64
                + u64::from(params.max_tokens)
                + u64::from(thinking)
        })
        .sum()
}

/// Tokens charged to a turn's visitors; given back if dropped unsettled.
pub(super) struct Reservation {
    limits: Option<Arc<dyn TurnLimits>>,
    /// The visitors it was charged to, in the order they were admitted.
    visitors: Vec<String>,
    tokens: u64,
    /// How many models it was reserved for (a failed one's share stays charged).
    models: u64,
    settled: bool,
}

impl Reservation {
    /// Admits the turn for each visitor, charging each `tokens`; if one refuses, those already
    /// charged get theirs back (the reservation is dropped unsettled).
    pub(super) async fn admit(
        services: &Services,
        visitors: Vec<String>,
        tokens: u64,
        models: usize,
    ) -> Result<Reservation, ChatError> {
        let mut reservation = Reservation {
            limits: services.limits.clone(),
            visitors: Vec::with_capacity(visitors.len()),
            tokens,
            models: models.max(1) as u64,
            settled: false,
        };
        if let Some(limits) = &services.limits {
            for visitor in visitors {
                limits.admit(&visitor, tokens).await?;
                reservation.visitors.push(visitor);
            }
        } else {
            reservation.visitors = visitors;
        }
        Ok(reservation)
    }

    /// Settles the reservation to what the turn used: what the models reported, and the
    /// estimate where they reported nothing (a stopped turn, a failure without usage).
    pub(super) async fn settle(mut self, outcome: &TurnOutcome, message: &str) {
        self.settled = true;
        let share = self.tokens / self.models;
        let used = match outcome {
            TurnOutcome::Answered(replies) => used(message, replies),
            TurnOutcome::Partly { replies, .. } => used(message, replies) + share,
            TurnOutcome::Failed {
                billed: Some(u), ..
            } => u64::from(u.total_tokens),
            TurnOutcome::Failed { billed: None, .. } | TurnOutcome::Stopped => self.tokens,
        };
        self.charge(used as i64 - self.tokens as i64).await;
    }

    async fn charge(&self, delta: i64) {
        if let (Some(limits), true) = (&self.limits, delta != 0) {
            for visitor in &self.visitors {
                limits.charge(visitor, delta).await;
            }
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.settled || self.tokens == 0 || self.limits.is_none() {
            return;
        }
        let back = Reservation {
            limits: self.limits.take(),
            visitors: std::mem::take(&mut self.visitors),
            tokens: self.tokens,
            models: self.models,
            settled: true,
        };
        leptos::task::spawn(async move { back.charge(-(back.tokens as i64)).await });
    }
}

/// Tokens a turn used: what the models reported, or about one per four characters of message
/// and reply when a backend reports nothing.
fn used(message: &str, replies: &[NewReply]) -> u64 {
    replies
        .iter()
        .map(|r| match r.usage {
            Some(u) => u64::from(u.total_tokens),
            None => ((message.len() + r.text.len()) / 4) as u64,
        })
        .sum()
}
