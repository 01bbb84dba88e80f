//! An accepted turn's work, in a task of its own so it outlives the request: the model calls,
//! the store write of the replies (or of the failure) and the budget charge. A Stop drops the
//! model calls mid-way; the turn is then stored as stopped.

use super::budget::Reservation;
use super::{now_ms, to_view, Request};
use crate::chat::chat_path;
use crate::conversation::{
    AppendedTurn, NewReply, NoReplies, Replies, SessionSummary, StoredMessage, TurnId, TurnOutcome,
    TurnStatus, TurnView,
};
use crate::errors::{ChatError, ModelError, StoreError};
use crate::models::ModelId;
use crate::prompt::PromptMessage;
use crate::services::{ChatModel, RunningTurn, Services};
use crate::session::{OwnerId, SessionId};
use futures::future::{select, Either};
use futures::pin_mut;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a running turn looks in the store for a Stop that reached another replica.
const STOP_CHECK: Duration = Duration::from_secs(2);

/// The backends for `targets`. A model the server cannot use at all (no backend, no
/// credentials) is refused before the turn is accepted: it is a setting, not a failed turn.
pub(super) fn backends(
    services: &Services,
    targets: &[ModelId],
) -> Result<Vec<Arc<dyn ChatModel>>, ModelError> {
    targets
        .iter()
        .map(|id| {
            services
                .model(*id)
                .filter(|m| m.availability().selectable())
                .ok_or(ModelError::NotConfigured(*id))
        })
        .collect()
}

/// Limits count against who sent the turn and from where, before anything is spent on it, and
/// charge its estimated tokens (`estimate`, see `budget.rs`): the reservation, which the job
/// settles. A model whose daily spending ceiling is reached is refused first.
/// Counts a new chat against the visitor's limit, or refuses it.
pub(super) async fn admit_new_chat(request: &Request) -> Result<(), ChatError> {
    let services = &request.services;
    match &services.limits {
        Some(limits) => {
            let visitors = crate::session::visitor_keys(&request.parts, &services.owner_key);
            limits.admit_new_chat(&visitors).await
        }
        None => Ok(()),
    }
}

pub(super) async fn admit(
    request: &Request,
    targets: &[ModelId],
    estimate: u64,
) -> Result<Reservation, ChatError> {
    let services = &request.services;
    if let Some(ceilings) = &services.ceilings {
        for model in targets {
            ceilings.admit(*model).await?;
        }
    }
    let visitors = crate::session::visitor_keys(&request.parts, &services.owner_key);
    let reservation = Reservation::admit(services, visitors, estimate, targets.len()).await?;
    // Operators' spend per person names a signed-in person by their IAP email: stored on their
    // first turn to this process.
    if let Some(user) = request
        .parts
        .extensions
        .get::<crate::session::VerifiedUser>()
    {
        if services.labelled.first_time(user.owner.as_str()) {
            if let Err(e) = services.store.label_owner(&user.owner, &user.email).await {
                tracing::warn!(error = ?e, "signed-in person not named for operators");
                services.labelled.forget(user.owner.as_str());
            }
        }
    }
    Ok(reservation)
}

/// Everything a turn needs once it is accepted, owned, so it can outlive the request.
pub(super) struct Job {
    pub services: Services,
    pub backends: Vec<Arc<dyn ChatModel>>,
    pub history: Vec<StoredMessage>,
    /// The user's message as stored, pending.
    pub user: StoredMessage,
    pub session: SessionId,
    pub owner: OwnerId,
    /// The tokens charged to the turn's visitors, settled when it ends.
    pub budget: Reservation,
    /// The chat's system prompt, or the server's.
    pub system: Option<String>,
    /// Counts the turn as running, and carries its stop signal.
    pub running: RunningTurn,
}

impl Job {
    /// Runs the turn in a task of its own and answers the request: a plain form post at once
    /// (redirected to the chat, which shows the turn pending and refreshes itself until it is
    /// answered), anything else once the turn has ended.
    pub async fn start(
        self,
        request: &Request,
        summary: SessionSummary,
    ) -> Result<TurnView, ChatError> {
        let (user, session) = (self.user.clone(), self.session.clone());
        let (done, result) = futures::channel::oneshot::channel();
        // The task keeps the request's span, so its log lines still carry the request id.
        let span = tracing::Span::current();
        leptos::task::spawn(tracing::Instrument::instrument(
            async move {
                let _ = done.send(self.run().await);
            },
            span,
        ));
        request.redirect_page(&chat_path(session.as_str()));
        if request.wants_page() {
            return Ok(TurnView {
                user: to_view(user, i64::MIN),
                replies: Vec::new(),
                session: summary,
            });
        }
        let appended = result.await.map_err(|_| ChatError::NotSaved)??;
        let mut stored = appended.messages.into_iter().map(|m| to_view(m, i64::MIN));
        let user = stored.next().ok_or(ChatError::NotSaved)?;
        Ok(TurnView {
            user,
            replies: stored.collect(),
            session: appended.session,
        })
    }

    async fn run(self) -> Result<AppendedTurn, ChatError> {
        let prompts =
            super::files::prompts(&self.services, &self.backends, &self.history, &self.user).await;
        let replies = {
            let calls = futures::future::join_all(
                self.backends
                    .iter()
                    .zip(prompts)
                    .map(|(b, prompt)| self.call(b, prompt)),
            );
            let stop = self.stop_requested();
            pin_mut!(calls, stop);
            match select(calls, stop).await {
                Either::Left((replies, _)) => Some(replies),
                Either::Right(((), _)) => None,
            }
            // The calls still running are dropped here, and with them their HTTP requests.
        };
        let Some(replies) = replies else {
            return self.stopped().await;
        };
        let Job {
            services,
            user,
            session,
            budget,
            ..
        } = self;
        // What came, and the first failure. Asked of both, one answer is kept even if the other
        // failed (that model can be asked again); asked of one, a failure fails the turn.
        let mut answered = Vec::new();
        let mut failed = None;
        for reply in replies {
            match reply {
                Ok(reply) => answered.push(reply),
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        let code = |e: &ChatError| crate::error_codes::to_code(e);
        let (outcome, failure) = match (Replies::try_from(answered), failed) {
            (Ok(replies), None) => (TurnOutcome::Answered(replies), None),
            (Ok(replies), Some(e)) => (
                TurnOutcome::Partly {
                    replies,
                    failed: code(&e),
                },
                None,
            ),
            (Err(NoReplies), e) => {
                // One call per target, and a turn has at least one target.
                let e = e.unwrap_or(ChatError::Internal);
                let (billed, cost) = match &e {
                    ChatError::Model(m) => {
                        let billed = m.billed();
                        let price = services.prices.of(m.model());
                        (billed, billed.and_then(|u| price.cost(Some(&u), None)))
                    }
                    _ => (None, None),
                };
                let outcome = TurnOutcome::Failed {
                    code: code(&e),
                    billed,
                    cost,
                };
                (outcome, Some(e))
            }
        };
        // A chat deleted while its turn was with the model stays deleted: the store refuses to
        // complete a turn in a chat that no longer exists, inside its own transaction. (So is
        // a turn stopped meanwhile from another replica: it is no longer pending.)
        let finished = services.store.finish_turn(&session, &user, &outcome).await;
        if let (Err(e), Some(_)) = (&finished, outcome.replies()) {
            if *e != StoreError::NotFound {
                // The replies could not be stored: say so in the chat if the store lets us, so
                // the message does not wait until its deadline to show as failed.
                tracing::error!(error = ?e, "turn not saved");
                let not_saved =
                    TurnOutcome::failed(crate::error_codes::to_code(&ChatError::NotSaved));
                let _ = services
                    .store
                    .finish_turn(&session, &user, &not_saved)
                    .await;
            }
        }
        let finished = finished.map_err(|e| match ChatError::from(e) {
            ChatError::Store(_) => ChatError::NotSaved,
            deleted => deleted,
        });
        // What was stored as spent counts against the day's ceilings at once on this replica
        // (the others see it when they next read the day's figures).
        if let (Some(ceilings), Ok(_)) = (&services.ceilings, &finished) {
            for r in outcome.replies().map_or(&[][..], |r| &r[..]) {
                ceilings.spent(r.model, r.cost.map_or(0, |c| c.nano_usd));
            }
            if let (Some(cost), Some(ChatError::Model(m))) = (outcome.billed_cost(), &failure) {
                ceilings.spent(m.model(), cost.nano_usd);
            }
        }
        // The models ran whether or not the turn could be stored: the budget pays what they
        // reported, or keeps the estimate.
        budget.settle(&outcome, &user.text).await;
        if let Some(e) = failure {
            return Err(e);
        }
        finished
    }

    /// One model's answer to the turn.
    async fn call(
        &self,
        backend: &Arc<dyn ChatModel>,
        prompt: Result<Vec<PromptMessage>, ChatError>,
    ) -> Result<NewReply, ChatError> {
        let model = backend.id();
        let prompt = prompt?;
        let started = Instant::now();
        let reply = backend
            .complete(self.system.as_deref(), &prompt, &self.user.params)
            .await;
        let latency_ms = started.elapsed().as_millis() as u64;
        let reply = reply.inspect_err(|e| {
            tracing::warn!(%model, latency_ms, error = ?e, "model call failed");
        })?;
        tracing::info!(
            %model,
            latency_ms,
            finish_reason = reply.finish_reason.as_deref().unwrap_or(""),
            "turn answered"
        );
        Ok(NewReply {
            model,
            text: reply.text,
            at_ms: now_ms(),
            latency_ms,
            usage: reply.usage,
            cost: self
                .services
                .prices
                .of(model)
                .cost(reply.usage.as_ref(), reply.gpu_ms),
            finish_reason: reply.finish_reason,
        })
    }

    /// Resolves when the turn is told to stop: by a Stop that reached this process, or one that
    /// reached another replica, which marks the turn stopped in the store (looked for every
    /// [`STOP_CHECK`]).
    async fn stop_requested(&self) {
        let here = self.running.stopped();
        let elsewhere = async {
            let turn = self.user.turn.as_deref().and_then(TurnId::parse);
            loop {
                tokio::time::sleep(STOP_CHECK).await;
                let Some(turn) = &turn else { continue };
                let stored = self
                    .services
                    .store
                    .load_turn(&self.session, &self.owner, turn)
                    .await;
                // Gone (the chat was deleted) or no longer pending: nothing left to answer.
                match stored {
                    Ok(None) => return,
                    Ok(Some(messages))
                        if messages
                            .first()
                            .is_none_or(|m| m.status != TurnStatus::Pending) =>
                    {
                        return
                    }
                    _ => {}
                }
            }
        };
        pin_mut!(here, elsewhere);
        select(here, elsewhere).await;
    }

    /// The turn was stopped: its model calls are dropped, its estimate stays charged (what the
    /// models used until then is not reported), and it is stored as stopped (unless the Stop's
    /// own request did that first).
    async fn stopped(self) -> Result<AppendedTurn, ChatError> {
        tracing::info!("turn stopped");
        self.budget.settle(&TurnOutcome::Stopped, "").await;
        let stored = self
            .services
            .store
            .finish_turn(&self.session, &self.user, &TurnOutcome::Stopped)
            .await;
        if let Err(e) = stored {
            if e != StoreError::NotFound {
                tracing::error!(error = ?e, "stopped turn not saved");
            }
        }
        Err(ChatError::Stopped)
    }
}
