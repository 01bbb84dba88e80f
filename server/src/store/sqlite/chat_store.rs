//! `ChatStore` on SQLite: every read and write of chats, each in one transaction.

use super::rows::*;
use super::*;
use app::tally::Tally;

#[async_trait]
impl ChatStore for SqliteStore {
    async fn load(&self, session: &SessionId) -> Result<Vec<StoredMessage>, StoreError> {
        let id = session.as_str().to_string();
        self.with_conn(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT * FROM messages WHERE session_id = ?1 ORDER BY seq")?;
            read_messages(&mut stmt, [id])
        })
        .await
    }

    async fn load_range(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        range: MessageRange,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError> {
        let (id, owner) = (session.as_str().to_string(), owner.as_str().to_string());
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            let owned = tx
                .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1 AND owner = ?2")
                .and_then(|mut s| s.exists([&id, &owner]))?;
            if !owned {
                return Ok(None);
            }
            Ok(Some(newest(&tx, &id, range)?))
        })
        .await
    }

    async fn owner_of(&self, session: &SessionId) -> Result<Option<OwnerId>, StoreError> {
        let id = session.as_str().to_string();
        self.with_conn(move |conn| {
            let owner: Option<String> = conn
                .prepare_cached("SELECT owner FROM sessions WHERE id = ?1")
                .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())?;
            // A session from before owners existed belongs to nobody, so nobody can open it.
            Ok(owner.and_then(|o| OwnerId::parse(&o)))
        })
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
        let id = session.as_str().to_string();
        let owner = owner.as_str().to_string();
        let turn = turn.clone();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            if create {
                create_session(&tx, &id, &owner, turn.at_ms, &turn.title(), turn.model)?;
            }
            // In the same transaction as the write: a chat deleted meanwhile stays deleted.
            let next: i64 = tx
                .prepare_cached("SELECT message_count FROM sessions WHERE id = ?1 AND owner = ?2")
                .and_then(|mut s| s.query_row([&id, &owner], |r| r.get(0)).optional())?
                .ok_or(StoreError::NotFound)?;
            if let Some(existing) = turn_by_id(&tx, &id, &turn.turn)? {
                return Ok(existing);
            }
            no_turn_pending(&tx, &id, stale_before_ms)?;
            let history = newest(&tx, &id, MessageRange::newest(history))?;
            let user = turn.to_stored(next as u64);
            insert_message(&tx, &id, &user)?;
            super::files::claim(&tx, &id, &turn.attachments)?;
            // The first message names the chat, also one created before it (a system prompt).
            tx.prepare_cached(
                "UPDATE sessions SET message_count = ?2, updated_at_ms = ?3, last_model = ?4, title = CASE WHEN ?2 = 1 THEN ?5 ELSE title END WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, next + 1, turn.at_ms, turn.model.as_str(), turn.title()]))?;
            let session = summary_of(&tx, &id)?.ok_or(StoreError::Failed)?;
            tx.commit()?;
            Ok(Begun::Accepted {
                history,
                user,
                session,
            })
        })
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
        let (id, owner) = (session.as_str().to_string(), owner.as_str().to_string());
        let again = again.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let owned = tx
                .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1 AND owner = ?2")
                .and_then(|mut s| s.exists([&id, &owner]))?;
            if !owned {
                return Err(StoreError::NotFound.into());
            }
            if let Some(existing) = turn_by_id(&tx, &id, &again.turn)? {
                return Ok(existing);
            }
            no_turn_pending(&tx, &id, stale_before_ms)?;
            let last: Option<i64> = tx
                .prepare_cached("SELECT MAX(seq) FROM messages WHERE session_id = ?1 AND role = 'user'")
                .and_then(|mut s| s.query_row([&id], |r| r.get(0)))?;
            let seq = again.seq as i64;
            if last != Some(seq) {
                return Err(StoreError::NotLastTurn.into());
            }
            tx.prepare_cached(
                "UPDATE messages SET status = 'pending', error = NULL, turn_id = ?3, created_at_ms = ?4 WHERE session_id = ?1 AND seq = ?2",
            )
            .and_then(|mut s| s.execute(params![id, seq, again.turn.as_str(), again.at_ms]))?;
            tx.prepare_cached("UPDATE sessions SET updated_at_ms = ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id, again.at_ms]))?;
            let before = MessageRange {
                before: Some(again.seq),
                ..MessageRange::newest(history)
            };
            let history = newest(&tx, &id, before)?;
            let user = turn_at(&tx, &id, seq)?
                .into_iter()
                .next()
                .ok_or(StoreError::Failed)?;
            let session = summary_of(&tx, &id)?.ok_or(StoreError::Failed)?;
            tx.commit()?;
            Ok(Begun::Accepted {
                history,
                user,
                session,
            })
        })
        .await
    }

    async fn replace_turn(&self, session: &SessionId, seq: u64) -> Result<(), StoreError> {
        let id = session.as_str().to_string();
        self.with_conn(move |conn| {
            let changed = conn
                .prepare_cached(
                    "UPDATE messages SET status = 'replaced' WHERE session_id = ?1 AND seq = ?2 AND role = 'user' AND status != 'pending'",
                )
                .and_then(|mut s| s.execute(params![id, seq as i64]))?;
            if changed == 0 {
                return Err(StoreError::NotFound.into());
            }
            Ok(())
        })
        .await
    }

    async fn finish_turn(
        &self,
        session: &SessionId,
        user: &StoredMessage,
        outcome: &TurnOutcome,
    ) -> Result<AppendedTurn, StoreError> {
        let id = session.as_str().to_string();
        let outcome = outcome.clone();
        let user = user.clone();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let seq = user.seq as i64;
            let (next, owner): (i64, String) = tx
                .prepare_cached("SELECT message_count, owner FROM sessions WHERE id = ?1")
                .and_then(|mut s| s.query_row([&id], |r| Ok((r.get(0)?, r.get(1)?))).optional())?
                .ok_or(StoreError::NotFound)?;
            // Still pending: not completed already, nor marked interrupted by a later turn.
            let status: Option<String> = tx
                .prepare_cached("SELECT status FROM messages WHERE session_id = ?1 AND seq = ?2")
                .and_then(|mut s| s.query_row(params![id, seq], |r| r.get(0)).optional())?;
            if status.as_deref() != Some(TurnStatus::Pending.as_str()) {
                return Err(StoreError::NotFound.into());
            }
            let (_, _, replies) = outcome.parts();
            let settled = outcome.settled(user);
            settle_message(&tx, &id, &settled)?;
            let mut messages = vec![settled];
            // Turns go one at a time, so the replies land right after their message.
            for (i, reply) in replies.iter().enumerate() {
                let m = reply.to_stored(next as u64 + i as u64, messages[0].params);
                insert_message(&tx, &id, &m)?;
                messages.push(m);
            }
            let last = messages.last().map_or(0, |m| m.created_at_ms);
            let model = replies.first().map_or(messages[0].model, |r| r.model);
            tx.prepare_cached(
                "UPDATE sessions SET message_count = ?2, updated_at_ms = max(updated_at_ms, ?3), last_model = ?4, cost_nano = cost_nano + ?5 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, next + replies.len() as i64, last, model.as_str(), outcome.cost_nano() as i64]))?;
            super::verdicts::add_counts(&tx, &owner, &app::tally::for_outcome(&outcome))?;
            let session = summary_of(&tx, &id)?.ok_or(StoreError::Failed)?;
            tx.commit()?;
            Ok(AppendedTurn { messages, session })
        })
        .await
    }

    async fn load_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnId,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError> {
        let (id, owner, turn) = (
            session.as_str().to_string(),
            owner.as_str().to_string(),
            turn.as_str().to_string(),
        );
        self.with_conn(move |conn| {
            let seq: Option<i64> = conn
                .prepare_cached(
                    "SELECT m.seq FROM messages m JOIN sessions s ON s.id = m.session_id \
                     WHERE m.session_id = ?1 AND s.owner = ?2 AND m.turn_id = ?3",
                )
                .and_then(|mut s| s.query_row([&id, &owner, &turn], |r| r.get(0)).optional())?;
            seq.map(|seq| turn_at(conn, &id, seq)).transpose()
        })
        .await
    }

    async fn search_sessions(
        &self,
        owner: &OwnerId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        self.find_titles(owner, query, limit).await
    }

    async fn list_sessions(
        &self,
        owner: &OwnerId,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        self.list_owned(owner, limit, before).await
    }

    async fn summary(&self, session: &SessionId) -> Result<Option<SessionSummary>, StoreError> {
        let id = session.as_str().to_string();
        self.with_conn(move |conn| summary_of(conn, &id)).await
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
        self.write_label(owner, label).await
    }

    async fn owner_labels(
        &self,
        owners: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        self.read_labels(owners).await
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
        let (id, title) = (session.as_str().to_string(), title.to_string());
        self.with_conn(move |conn| {
            let changed = conn
                .prepare_cached("UPDATE sessions SET title = ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id, title]))?;
            if changed == 0 {
                return Err(StoreError::NotFound.into());
            }
            Ok(())
        })
        .await
    }

    async fn delete(&self, session: &SessionId) -> Result<(), StoreError> {
        let id = session.as_str().to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM messages WHERE session_id = ?1", [&id])?;
            tx.execute("DELETE FROM sessions WHERE id = ?1", [&id])?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(|_| StoreError::Unavailable.into())
        })
        .await
    }

    fn messages_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}

/// Turns in a chat go one at a time: refuses while another is pending, unless that one was
/// accepted before `stale_before_ms` (its process is gone), which is marked interrupted.
fn no_turn_pending(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    stale_before_ms: i64,
) -> Result<(), Fail> {
    let pending: Option<(i64, i64)> = tx
        .prepare_cached(
            "SELECT seq, created_at_ms FROM messages WHERE session_id = ?1 AND role = 'user' AND status = 'pending'",
        )
        .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())?;
    if let Some((seq, at_ms)) = pending {
        if at_ms >= stale_before_ms {
            return Err(StoreError::TurnPending.into());
        }
        tx.prepare_cached(
            "UPDATE messages SET status = 'failed', error = 'interrupted' WHERE session_id = ?1 AND seq = ?2",
        )
        .and_then(|mut s| s.execute(params![id, seq]))?;
    }
    Ok(())
}

/// The turn already stored under this id (a repeated request), if there is one.
fn turn_by_id(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    turn: &TurnId,
) -> Result<Option<Begun>, Fail> {
    let seq: Option<i64> = tx
        .prepare_cached("SELECT seq FROM messages WHERE session_id = ?1 AND turn_id = ?2")
        .and_then(|mut s| s.query_row([id, turn.as_str()], |r| r.get(0)).optional())?;
    seq.map(|seq| Ok(Begun::Existing(turn_at(tx, id, seq)?)))
        .transpose()
}
