//! Turns changed after they ended. Asking a chat's last turn again (regenerate, the other
//! model, a failed model retried): its user message becomes pending again under a new turn id,
//! in one transaction; completing it adds the new replies after the ones it has. And an edited
//! turn marked replaced.

use super::commit::in_transaction;
use super::docs::{message_id, status_only, MessageDoc, SessionDoc};
use super::errors::store_error;
use super::turns::{read_session_and_marker, settle_pending, write_pending, written};
use super::{FirestoreStore, MESSAGES, SESSIONS};
use app::conversation::{Begun, MessageRange, Role, StoredMessage, TurnStatus};
use app::errors::StoreError;
use app::services::Again;
use app::session::{OwnerId, SessionId};
use firestore::{FirestoreDb, FirestoreResult};
use futures::TryStreamExt;

/// What the transaction found: the reopened message and session document, or the seq of the
/// turn already stored under this id (a repeat).
type Reopened = Result<(StoredMessage, SessionDoc), u64>;

/// The turn at `seq` when it is the chat's last: the user message there, and its replies up to
/// `count`. Anything else (a message after it, a reply at `seq`) is not the last turn.
fn last_turn(
    seq: u64,
    count: u64,
    docs: Vec<Option<MessageDoc>>,
) -> Result<StoredMessage, StoreError> {
    let mut messages = docs
        .into_iter()
        .map(|d| d.and_then(MessageDoc::into_stored));
    let user = match messages.next() {
        Some(Some(m)) if m.role == Role::User && m.seq == seq && seq < count => m,
        _ => return Err(StoreError::NotLastTurn),
    };
    if messages.any(|m| m.is_none_or(|m| m.role != Role::Model)) {
        return Err(StoreError::NotLastTurn);
    }
    Ok(user)
}

async fn reopening(
    db: &FirestoreDb,
    transaction: &mut firestore::FirestoreTransaction<'_>,
    session: &SessionId,
    owner: &OwnerId,
    again: &Again,
    stale_before_ms: i64,
) -> FirestoreResult<Result<Reopened, StoreError>> {
    let Again { seq, turn, at_ms } = again;
    let (seq, at_ms) = (*seq, *at_ms);
    let id = session.as_str();
    let parent = db.parent_path(SESSIONS, id)?;
    let (existing, marker) = read_session_and_marker(db, &parent, id, turn.as_str()).await?;
    let Some(mut doc) = existing.filter(|s| s.owner == owner.as_str()) else {
        return Ok(Err(StoreError::NotFound));
    };
    if let Some(m) = marker {
        return Ok(Ok(Err(m.seq as u64)));
    }
    if let Err(e) = settle_pending(db, transaction, &parent, &doc, stale_before_ms, Some(seq))? {
        return Ok(Err(e));
    }
    let count = doc.message_count as u64;
    let ids: Vec<String> = (seq..count.max(seq + 1)).map(message_id).collect();
    let docs: Vec<(String, Option<MessageDoc>)> = db
        .fluent()
        .select()
        .by_id_in(MESSAGES)
        .parent(&parent)
        .obj()
        .batch_with_errors(ids.clone())
        .await?
        .try_collect()
        .await?;
    // In the order asked for, whatever order they came back in.
    let docs = ids
        .iter()
        .map(|i| {
            docs.iter()
                .find(|(d, _)| d == i)
                .and_then(|(_, m)| m.clone())
        })
        .collect();
    let user = match last_turn(seq, count, docs) {
        Ok(user) => StoredMessage {
            status: TurnStatus::Pending,
            error: None,
            turn: Some(turn.as_str().to_string()),
            // A pending turn's age is its message's: a turn asked again is a fresh one.
            created_at_ms: at_ms,
            ..user
        },
        Err(e) => return Ok(Err(e)),
    };
    doc.pending_seq = Some(seq as i64);
    doc.pending_at_ms = Some(at_ms);
    doc.updated_at_ms = at_ms;
    write_pending(db, transaction, &parent, &user, turn.as_str(), &doc)?;
    Ok(Ok(Ok((user, doc))))
}

impl FirestoreStore {
    /// See `ChatStore::replace_turn`. One field of one document, if it exists.
    pub(super) async fn replace(&self, session: &SessionId, seq: u64) -> Result<(), StoreError> {
        // The remembered window holds the turn as it was: the next turn reads afresh.
        self.forget(session);
        let parent = self
            .db
            .parent_path(SESSIONS, session.as_str())
            .map_err(store_error)?;
        self.db
            .fluent()
            .update()
            .fields(firestore::paths!(MessageDoc::{status}))
            .in_col(MESSAGES)
            .precondition(firestore::FirestoreWritePrecondition::Exists(true))
            .document_id(message_id(seq))
            .parent(&parent)
            .object(&status_only(TurnStatus::Replaced, None))
            .execute::<()>()
            .await
            .map_err(|e| match store_error(e) {
                StoreError::Failed => StoreError::NotFound,
                other => other,
            })
    }

    /// See `ChatStore::reopen_turn`.
    pub(super) async fn reopen(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        again: &Again,
        stale_before_ms: i64,
        history: usize,
    ) -> Result<Begun, StoreError> {
        // The remembered window ends with this turn's replies; the next turn reads afresh.
        self.forget(session);
        let (written, _) = in_transaction(&self.db, written, |db, tx| {
            Box::pin(reopening(db, tx, session, owner, again, stale_before_ms))
        })
        .await
        .map_err(store_error)?;
        match written? {
            Err(existing) => Ok(Begun::Existing(self.turn_at(session, existing).await?)),
            Ok((user, doc)) => {
                let before = MessageRange {
                    before: Some(again.seq),
                    ..MessageRange::newest(history)
                };
                let history = self.newest(session, before).await?;
                Ok(Begun::Accepted {
                    history,
                    user,
                    session: doc.summary().ok_or(StoreError::Failed)?,
                })
            }
        }
    }
}
