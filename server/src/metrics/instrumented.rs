//! Wrappers that record metrics around the real model backends and store, so neither the
//! backends nor the server functions carry measuring code.

use super::{Held, Metrics, ModelLabels, OutcomeLabels, StoreLabels, TokenLabels};
use app::conversation::{
    AppendedTurn, Begun, MessageRange, SessionSummary, StoredMessage, TurnId, TurnOutcome,
    TurnRequest, Verdict,
};
use app::errors::{ModelError, StoreError};
use app::models::{Availability, ModelId};
use app::params::GenParams;
use app::services::{Again, ChatModel, ChatStore, ModelReply, PromptMessage};
use app::session::{OwnerId, SessionId};
use app::tally::Tally;
use async_trait::async_trait;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub struct MeteredModel {
    inner: Arc<dyn ChatModel>,
    metrics: Arc<Metrics>,
}

impl MeteredModel {
    pub fn wrap(inner: Arc<dyn ChatModel>, metrics: Arc<Metrics>) -> Arc<dyn ChatModel> {
        Arc::new(MeteredModel { inner, metrics })
    }
}

#[async_trait]
impl ChatModel for MeteredModel {
    fn id(&self) -> ModelId {
        self.inner.id()
    }

    fn availability(&self) -> Availability {
        self.inner.availability()
    }

    fn reads_files(&self) -> bool {
        self.inner.reads_files()
    }

    async fn complete(
        &self,
        system: Option<&str>,
        conversation: &[PromptMessage],
        params: &GenParams,
    ) -> Result<ModelReply, ModelError> {
        let model = self.inner.id().as_str();
        let _in_flight = Held::enter(&self.metrics.in_flight.get_or_create(&ModelLabels { model }));
        let _load = Held::enter(&self.metrics.load);
        let started = Instant::now();
        let result = self.inner.complete(system, conversation, params).await;
        self.metrics
            .model_seconds
            .get_or_create(&ModelLabels { model })
            .observe(started.elapsed().as_secs_f64());
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        };
        self.metrics
            .turns
            .get_or_create(&OutcomeLabels { model, outcome })
            .inc();
        // A failure that was billed (out of tokens after thinking) counts too.
        let usage = match &result {
            Ok(reply) => reply.usage,
            Err(e) => e.billed(),
        };
        if let Some(usage) = usage {
            for (kind, n) in [
                ("prompt", usage.prompt_tokens),
                ("completion", usage.completion_tokens),
                ("thinking", usage.thinking_tokens),
            ] {
                self.metrics
                    .tokens
                    .get_or_create(&TokenLabels { model, kind })
                    .inc_by(u64::from(n));
            }
        }
        result
    }
}

pub struct MeteredStore {
    inner: Arc<dyn ChatStore>,
    metrics: Arc<Metrics>,
    /// The store's `messages_read` as last added to the metric.
    counted: AtomicU64,
}

impl MeteredStore {
    pub fn wrap(inner: Arc<dyn ChatStore>, metrics: Arc<Metrics>) -> Arc<dyn ChatStore> {
        let counted = AtomicU64::new(inner.messages_read());
        Arc::new(MeteredStore {
            inner,
            metrics,
            counted,
        })
    }

    async fn timed<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        };
        self.metrics
            .store_seconds
            .get_or_create(&StoreLabels { op, outcome })
            .observe(started.elapsed().as_secs_f64());
        // Whatever calls overlapped, the deltas add up to the store's total.
        let read = self.inner.messages_read();
        let before = self.counted.swap(read, Ordering::Relaxed);
        self.metrics
            .store_messages_read
            .inc_by(read.saturating_sub(before));
        result
    }
}

#[async_trait]
impl ChatStore for MeteredStore {
    async fn load(&self, session: &SessionId) -> Result<Vec<StoredMessage>, StoreError> {
        self.timed("load", self.inner.load(session)).await
    }

    async fn owner_of(&self, session: &SessionId) -> Result<Option<OwnerId>, StoreError> {
        self.timed("owner_of", self.inner.owner_of(session)).await
    }

    async fn load_range(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        range: MessageRange,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError> {
        self.timed("load_range", self.inner.load_range(session, owner, range))
            .await
    }

    async fn begin_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnRequest,
        create: bool,
        stale_before_ms: i64,
        history: usize,
    ) -> Result<Begun, StoreError> {
        self.timed(
            "begin_turn",
            self.inner
                .begin_turn(session, owner, turn, create, stale_before_ms, history),
        )
        .await
    }

    async fn reopen_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        again: &Again,
        stale_before_ms: i64,
        history: usize,
    ) -> Result<Begun, StoreError> {
        self.timed(
            "reopen_turn",
            self.inner
                .reopen_turn(session, owner, again, stale_before_ms, history),
        )
        .await
    }

    async fn replace_turn(&self, session: &SessionId, seq: u64) -> Result<(), StoreError> {
        self.timed("replace_turn", self.inner.replace_turn(session, seq))
            .await
    }

    async fn finish_turn(
        &self,
        session: &SessionId,
        user: &StoredMessage,
        outcome: &TurnOutcome,
    ) -> Result<AppendedTurn, StoreError> {
        self.timed(
            "finish_turn",
            self.inner.finish_turn(session, user, outcome),
        )
        .await
    }

    async fn load_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnId,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError> {
        self.timed("load_turn", self.inner.load_turn(session, owner, turn))
            .await
    }

    async fn search_sessions(
        &self,
        owner: &OwnerId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        self.timed(
            "search_sessions",
            self.inner.search_sessions(owner, query, limit),
        )
        .await
    }

    async fn list_sessions(
        &self,
        owner: &OwnerId,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        self.timed(
            "list_sessions",
            self.inner.list_sessions(owner, limit, before),
        )
        .await
    }

    async fn summary(&self, session: &SessionId) -> Result<Option<SessionSummary>, StoreError> {
        self.timed("summary", self.inner.summary(session)).await
    }

    async fn judge(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        seq: u64,
        verdict: Option<Verdict>,
    ) -> Result<Option<Verdict>, StoreError> {
        self.timed("judge", self.inner.judge(session, owner, seq, verdict))
            .await
    }

    async fn tally(&self, owner: Option<&OwnerId>) -> Result<Tally, StoreError> {
        self.timed("tally", self.inner.tally(owner)).await
    }

    async fn day_tallies(
        &self,
        owner: Option<&OwnerId>,
        since_day: i64,
    ) -> Result<Vec<app::tally::DayTally>, StoreError> {
        self.timed("day_tallies", self.inner.day_tallies(owner, since_day))
            .await
    }

    async fn label_owner(&self, owner: &OwnerId, label: &str) -> Result<(), StoreError> {
        self.timed("label_owner", self.inner.label_owner(owner, label))
            .await
    }

    async fn owner_labels(
        &self,
        owners: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        self.timed("owner_labels", self.inner.owner_labels(owners))
            .await
    }

    async fn set_system_prompt(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        prompt: Option<&str>,
        create_at: Option<i64>,
    ) -> Result<SessionSummary, StoreError> {
        self.timed(
            "set_system_prompt",
            self.inner
                .set_system_prompt(session, owner, prompt, create_at),
        )
        .await
    }

    async fn rename(&self, session: &SessionId, title: &str) -> Result<(), StoreError> {
        self.timed("rename", self.inner.rename(session, title))
            .await
    }

    async fn delete(&self, session: &SessionId) -> Result<(), StoreError> {
        self.timed("delete", self.inner.delete(session)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", self.inner.ping()).await
    }

    fn messages_read(&self) -> u64 {
        self.inner.messages_read()
    }
}
