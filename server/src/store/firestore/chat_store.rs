//! `ChatStore` on Firestore.

use super::commit::in_transaction;
use super::docs::{SessionDoc, TurnDoc};
use super::errors::store_error;
use super::known::{after_turn, Known};
use super::turns::complete;
use super::{FirestoreStore, SESSIONS, TURNS};
use app::conversation::{
    AppendedTurn, Begun, MessageRange, SessionSummary, StoredMessage, TurnId, TurnOutcome,
    TurnRequest, Verdict,
};
use app::errors::StoreError;
use app::services::{Again, ChatStore};
use app::session::{OwnerId, SessionId};
use app::tally::Tally;
use async_trait::async_trait;
use firestore::{path, paths, FirestoreWritePrecondition};
use futures::TryStreamExt;
use std::sync::Arc;

#[async_trait]
impl ChatStore for FirestoreStore {
    async fn load(&self, session: &SessionId) -> Result<Vec<StoredMessage>, StoreError> {
        self.messages_from(session, 0, None).await
    }

    async fn load_range(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        range: MessageRange,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError> {
        // Side by side: the session document (its owner) and the messages, in one round trip's
        // time instead of two.
        let (doc, messages) = futures::join!(
            self.session_doc(session.as_str()),
            self.newest(session, range)
        );
        let doc = doc.map_err(store_error)?;
        match doc {
            Some(d) if d.owner == owner.as_str() => Ok(Some(messages?)),
            _ => Ok(None),
        }
    }

    async fn owner_of(&self, session: &SessionId) -> Result<Option<OwnerId>, StoreError> {
        Ok(self
            .session_doc(session.as_str())
            .await
            .map_err(store_error)?
            .and_then(|d| OwnerId::parse(&d.owner)))
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
        self.begin(session, owner, turn, create, stale_before_ms, history)
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
        self.reopen(session, owner, again, stale_before_ms, history)
            .await
    }

    async fn replace_turn(&self, session: &SessionId, seq: u64) -> Result<(), StoreError> {
        self.replace(session, seq).await
    }

    /// Seeding needs no history: this skips the read that grows with the chat.
    async fn append_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &app::conversation::NewTurn,
        create: bool,
    ) -> Result<AppendedTurn, StoreError> {
        let (request, replies) = turn.clone().split(TurnId::generate());
        let begun = self
            .begin(session, owner, &request, create, i64::MIN, 0)
            .await?;
        app::services::answer_seeded(self, session, begun, replies).await
    }

    /// Always a transaction that reads the session document first. During a store stall it is
    /// that read which waits, so a completion reported as not saved cannot land later (a lone
    /// commit, queued by a stalled database, could). Its commit time is remembered, with the
    /// chat's newest messages, so the chat's next turn is accepted in one commit
    /// (`begin_at_version`) and reads no history.
    async fn finish_turn(
        &self,
        session: &SessionId,
        user: &StoredMessage,
        outcome: &TurnOutcome,
    ) -> Result<AppendedTurn, StoreError> {
        let known = self.forget(session);
        let (written, version) = in_transaction(&self.db, Option::is_some, |db, tx| {
            Box::pin(complete(db, tx, session, user, outcome))
        })
        .await
        .map_err(store_error)?;
        let (messages, doc) = written.ok_or(StoreError::NotFound)?;
        if let Some(version) = version {
            // The window remembered when the turn was accepted, carried past it.
            let (window, cap) = known.map_or((None, 0), |k| {
                (
                    after_turn(k.window.as_deref().map(|w| &w[..]), &messages, k.cap),
                    k.cap,
                )
            });
            self.known.remember(Known {
                version,
                doc: doc.clone(),
                window: window.map(Arc::new),
                cap,
            });
        }
        Ok(AppendedTurn {
            messages,
            session: doc.summary().ok_or(StoreError::Failed)?,
        })
    }

    async fn load_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnId,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError> {
        let parent = self
            .db
            .parent_path(SESSIONS, session.as_str())
            .map_err(store_error)?;
        let marker = self
            .db
            .fluent()
            .select()
            .by_id_in(TURNS)
            .parent(&parent)
            .obj::<TurnDoc>()
            .one(turn.as_str());
        let (doc, marker) = futures::join!(self.session_doc(session.as_str()), marker);
        let owned = doc
            .map_err(store_error)?
            .is_some_and(|d| d.owner == owner.as_str());
        match marker.map_err(store_error)? {
            Some(m) if owned => Ok(Some(self.turn_at(session, m.seq as u64).await?)),
            _ => Ok(None),
        }
    }

    /// Through an index, reading a bounded number of documents (`search.rs`).
    async fn search_sessions(
        &self,
        owner: &OwnerId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        self.search_titles(owner, query, limit).await
    }

    async fn list_sessions(
        &self,
        owner: &OwnerId,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let owner = owner.as_str().to_string();
        let docs: Vec<SessionDoc> = self
            .db
            .fluent()
            .select()
            .from(SESSIONS)
            .filter(|q| {
                q.for_all([
                    q.field(path!(SessionDoc::owner)).eq(owner.clone()),
                    before.and_then(|b| q.field(path!(SessionDoc::updated_at_ms)).less_than(b)),
                ])
            })
            .order(|o| o.fields([o.field(path!(SessionDoc::updated_at_ms)).descending()]))
            .limit(limit as u32)
            .obj()
            .stream_query_with_errors()
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        Ok(docs.into_iter().filter_map(SessionDoc::summary).collect())
    }

    async fn summary(&self, session: &SessionId) -> Result<Option<SessionSummary>, StoreError> {
        Ok(self
            .session_doc(session.as_str())
            .await
            .map_err(store_error)?
            .and_then(SessionDoc::summary))
    }

    async fn judge(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        seq: u64,
        verdict: Option<Verdict>,
    ) -> Result<Option<Verdict>, StoreError> {
        self.set_verdict(session, owner, seq, verdict).await
    }

    async fn tally(&self, owner: Option<&OwnerId>) -> Result<Tally, StoreError> {
        self.read_tally(owner).await
    }

    async fn day_tallies(
        &self,
        owner: Option<&OwnerId>,
        since_day: i64,
    ) -> Result<Vec<app::tally::DayTally>, StoreError> {
        self.read_day_tallies(owner, since_day).await
    }

    async fn label_owner(&self, owner: &OwnerId, label: &str) -> Result<(), StoreError> {
        self.write_owner_label(owner, label).await
    }

    async fn owner_labels(
        &self,
        owners: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        self.read_owner_labels(owners).await
    }

    async fn set_system_prompt(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        prompt: Option<&str>,
        create_at: Option<i64>,
    ) -> Result<SessionSummary, StoreError> {
        self.write_system_prompt(session, owner, prompt, create_at)
            .await
    }

    async fn rename(&self, session: &SessionId, title: &str) -> Result<(), StoreError> {
        self.forget(session);
        let Some(mut doc) = self
            .session_doc(session.as_str())
            .await
            .map_err(store_error)?
        else {
            return Err(StoreError::NotFound);
        };
        doc.title = title.to_string();
        doc.title_grams = super::search::grams(title);
        // Only the title is written, so a turn landing meanwhile keeps its count; and only if
        // the session still exists, so a delete in between is not undone by a title-only
        // document (Firestore's update would otherwise create it).
        self.db
            .fluent()
            .update()
            .fields(paths!(SessionDoc::{title, title_grams}))
            .in_col(SESSIONS)
            .precondition(FirestoreWritePrecondition::Exists(true))
            .document_id(session.as_str())
            .object(&doc)
            .execute::<()>()
            .await
            .map_err(|e| match store_error(e) {
                StoreError::Failed => StoreError::NotFound,
                other => other,
            })
    }

    /// See `deletion.rs`: unreachable at once, and nothing left even after a crash.
    async fn delete(&self, session: &SessionId) -> Result<(), StoreError> {
        self.forget(session);
        self.delete_chat(session.as_str()).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.session_doc("readiness-probe")
            .await
            .map(|_| ())
            .map_err(store_error)
    }

    fn messages_read(&self) -> u64 {
        self.read.load(std::sync::atomic::Ordering::Relaxed)
    }
}
