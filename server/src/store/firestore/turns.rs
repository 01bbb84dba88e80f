//! A turn's two writes: accepting it (one conditional commit, or a transaction) and
//! completing it (a transaction that reads the session first).

use super::commit::in_transaction;
use super::docs::{interrupted, message_id, MessageDoc, SessionDoc, TurnDoc};
use super::errors::store_error;
use super::known::Known;
use super::{FirestoreStore, MESSAGES, SESSIONS, TURNS};
use app::conversation::{Begun, MessageRange, StoredMessage, TurnOutcome, TurnRequest};
use app::errors::StoreError;
use app::session::{OwnerId, SessionId};
use firestore::{
    paths, FirestoreDb, FirestoreInstant, FirestoreResult, FirestoreWritePrecondition,
    ParentPathBuilder,
};
use std::sync::Arc;

/// The accepting transaction's reads and writes (see `ChatStore::begin_turn`): `Err(StoreError)`
/// refuses the turn, `Ok(Err(seq))` names the turn already stored under this id, and
/// `Ok(Ok(..))` is the pending message, the session document and the stale turn marked
/// interrupted, if any.
pub(super) type Accepted = (StoredMessage, SessionDoc, Option<u64>);

/// Whether a turn's transaction wrote it (neither refused nor a repeat), so it commits.
pub(super) fn written<T>(found: &Result<Result<T, u64>, StoreError>) -> bool {
    matches!(found, Ok(Ok(_)))
}

pub(super) async fn accept(
    db: &FirestoreDb,
    transaction: &mut firestore::FirestoreTransaction<'_>,
    session: &SessionId,
    owner: &OwnerId,
    turn: &TurnRequest,
    create: bool,
    stale_before_ms: i64,
) -> FirestoreResult<Result<Result<Accepted, u64>, StoreError>> {
    let (id, owner) = (session.as_str().to_string(), owner.as_str().to_string());
    let parent = db.parent_path(SESSIONS, &id)?;
    let (existing, marker) = read_session_and_marker(db, &parent, &id, turn.turn.as_str()).await?;
    match &existing {
        Some(s) if s.owner != owner => return Ok(Err(StoreError::NotFound)),
        None if !create => return Ok(Err(StoreError::NotFound)),
        _ => {}
    }
    if let Some(m) = marker {
        return Ok(Ok(Err(m.seq as u64)));
    }
    let interrupted_seq = match &existing {
        Some(s) => match settle_pending(db, transaction, &parent, s, stale_before_ms, None)? {
            Ok(seq) => seq,
            Err(e) => return Ok(Err(e)),
        },
        None => None,
    };
    let next = existing.as_ref().map_or(0, |s| s.message_count) as u64;
    let user = turn.to_stored(next);
    let doc = SessionDoc::accepting(existing, &id, &owner, turn);
    write_pending(db, transaction, &parent, &user, turn.turn.as_str(), &doc)?;
    Ok(Ok(Ok((user, doc, interrupted_seq))))
}

/// What a turn's transaction reads first, side by side: the session document and the turn id's
/// marker. Read in the transaction, so a chat deleted meanwhile (the delete writes the session
/// document first) is not brought back.
pub(super) async fn read_session_and_marker(
    db: &FirestoreDb,
    parent: &ParentPathBuilder,
    id: &str,
    turn: &str,
) -> FirestoreResult<(Option<SessionDoc>, Option<TurnDoc>)> {
    let session_read = db.fluent().select().by_id_in(SESSIONS).obj().one(id);
    let marker_read = db
        .fluent()
        .select()
        .by_id_in(TURNS)
        .parent(parent)
        .obj()
        .one(turn);
    let (existing, marker) = futures::join!(session_read, marker_read);
    Ok((existing?, marker?))
}

/// Turns in a chat go one at a time: `Err(TurnPending)` while one accepted after
/// `stale_before_ms` is pending. One accepted before lost its process: it is marked interrupted
/// in `transaction` (unless it is `keep`, the turn being asked again), and its position returned.
pub(super) fn settle_pending(
    db: &FirestoreDb,
    transaction: &mut firestore::FirestoreTransaction<'_>,
    parent: &ParentPathBuilder,
    doc: &SessionDoc,
    stale_before_ms: i64,
    keep: Option<u64>,
) -> FirestoreResult<Result<Option<u64>, StoreError>> {
    let (Some(seq), Some(at)) = (doc.pending_seq, doc.pending_at_ms) else {
        return Ok(Ok(None));
    };
    if at >= stale_before_ms {
        return Ok(Err(StoreError::TurnPending));
    }
    let seq = seq as u64;
    if keep == Some(seq) {
        return Ok(Ok(None));
    }
    db.fluent()
        .update()
        .fields(paths!(MessageDoc::{status, error}))
        .in_col(MESSAGES)
        .document_id(message_id(seq))
        .parent(parent)
        .object(&interrupted())
        .add_to_transaction(transaction)?;
    Ok(Ok(Some(seq)))
}

/// Writes a pending turn into `transaction`: its user message, its turn id's marker and the
/// session document that names it pending.
pub(super) fn write_pending(
    db: &FirestoreDb,
    transaction: &mut firestore::FirestoreTransaction<'_>,
    parent: &ParentPathBuilder,
    user: &StoredMessage,
    turn: &str,
    doc: &SessionDoc,
) -> FirestoreResult<()> {
    db.fluent()
        .update()
        .in_col(MESSAGES)
        .document_id(message_id(user.seq))
        .parent(parent)
        .object(&MessageDoc::from(user))
        .add_to_transaction(transaction)?;
    super::files::claim(db, transaction, &doc.id, &user.attachments)?;
    db.fluent()
        .update()
        .in_col(TURNS)
        .document_id(turn)
        .parent(parent)
        .object(&TurnDoc {
            seq: user.seq as i64,
        })
        .add_to_transaction(transaction)?;
    db.fluent()
        .update()
        .in_col(SESSIONS)
        .document_id(&doc.id)
        .object(doc)
        .add_to_transaction(transaction)?;
    Ok(())
}

/// A pending turn completed with `outcome`: its messages as they are written (the user's, then
/// any replies, right after it), and `doc` updated to match.
pub(super) fn completed(
    user: &StoredMessage,
    outcome: &TurnOutcome,
    doc: &mut SessionDoc,
) -> Vec<StoredMessage> {
    let (_, _, replies) = outcome.parts();
    let user = outcome.settled(user.clone());
    let next = doc.message_count as u64;
    let mut messages = vec![user];
    for (i, reply) in replies.iter().enumerate() {
        messages.push(reply.to_stored(next + i as u64, messages[0].params));
    }
    doc.message_count = (next as usize + replies.len()) as i64;
    doc.updated_at_ms = doc
        .updated_at_ms
        .max(messages.last().map_or(0, |m| m.created_at_ms));
    if let Some(r) = replies.first() {
        doc.last_model = r.model.as_str().into();
    }
    (doc.pending_seq, doc.pending_at_ms) = (None, None);
    doc.cost_nano += outcome.cost_nano() as i64;
    messages
}

/// The completing transaction's reads and writes (see `ChatStore::finish_turn`): `None` if the
/// chat is gone or this turn is no longer its pending one.
pub(super) async fn complete(
    db: &FirestoreDb,
    transaction: &mut firestore::FirestoreTransaction<'_>,
    session: &SessionId,
    user: &StoredMessage,
    outcome: &TurnOutcome,
) -> FirestoreResult<Option<(Vec<StoredMessage>, SessionDoc)>> {
    let id = session.as_str();
    let parent = db.parent_path(SESSIONS, id)?;
    let existing: Option<SessionDoc> = db
        .fluent()
        .select()
        .by_id_in(SESSIONS)
        .obj()
        .one(id)
        .await?;
    // The session document names its pending turn: one read tells both that the chat still
    // exists and that this turn is still the pending one.
    let Some(mut doc) = existing.filter(|s| s.pending_seq == Some(user.seq as i64)) else {
        return Ok(None);
    };
    let messages = completed(user, outcome, &mut doc);
    for m in &messages {
        db.fluent()
            .update()
            .in_col(MESSAGES)
            .document_id(message_id(m.seq))
            .parent(&parent)
            .object(&MessageDoc::from(m))
            .add_to_transaction(transaction)?;
    }
    db.fluent()
        .update()
        .in_col(SESSIONS)
        .document_id(id)
        .object(&doc)
        .add_to_transaction(transaction)?;
    let counts = app::tally::for_outcome(outcome);
    super::verdicts::add_counts(db, transaction, &doc.owner, &counts)?;
    Ok(Some((messages, doc)))
}

impl FirestoreStore {
    /// One transaction reads the session document and the turn id's marker and writes the
    /// pending user message, the marker and the session; the history is read beside it (not in
    /// it, so its documents are not locked) and checked against the new message's position.
    pub(super) async fn begin(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnRequest,
        create: bool,
        stale_before_ms: i64,
        history: usize,
    ) -> Result<Begun, StoreError> {
        // What this process remembers of the chat: with it, the turn may be accepted in one
        // commit, and then its remembered messages are the history (see `known.rs`).
        let known = self.known(session);
        let cached = known
            .as_ref()
            .and_then(|k| k.history(k.doc.message_count as u64, history));
        // With the commit time: the session document's version (see `known.rs`).
        let transaction = async {
            if let Some((accepted, version)) = self
                .begin_at_version(session, owner, turn, create, known)
                .await?
            {
                return Ok(Ok(Ok((accepted, Some(version), true))));
            }
            let (accepted, version) = in_transaction(&self.db, written, |db, tx| {
                Box::pin(accept(
                    db,
                    tx,
                    session,
                    owner,
                    turn,
                    create,
                    stale_before_ms,
                ))
            })
            .await?;
            Ok(accepted.map(|r| r.map(|a| (a, version, false))))
        };
        // A new chat has no history to read, nor one whose history is remembered. Otherwise one
        // more than the window: the new message may be among the newest.
        let (written, window) = if create || history == 0 || cached.is_some() {
            (transaction.await, Ok(Vec::new()))
        } else {
            let newest = self.newest(session, MessageRange::newest(history + 1));
            futures::join!(transaction, newest)
        };
        let ((user, doc, interrupted_seq), version, one_commit) =
            match written.map_err(store_error)?? {
                Ok(accepted) => accepted,
                Err(seq) => {
                    return Ok(Begun::Existing(self.turn_at(session, seq).await?));
                }
            };
        let cap = history;
        let history = match cached {
            // The commit's condition held: nothing was written to the chat since it was
            // remembered.
            Some(cached) if one_commit => cached,
            _ => {
                self.history_before(session, &user, window?, history, interrupted_seq)
                    .await?
            }
        };
        match version {
            // Remembered with the pending message, which completing the turn replaces.
            Some(version) => self.known.remember(Known {
                version,
                doc: doc.clone(),
                window: Some(Arc::new(
                    history.iter().chain([&user]).cloned().collect::<Vec<_>>(),
                )),
                cap,
            }),
            None => {
                self.forget(session);
            }
        }
        Ok(Begun::Accepted {
            history,
            user,
            session: doc.summary().ok_or(StoreError::Failed)?,
        })
    }

    /// Accepts a turn in one commit when this process knows the chat's session document (or the
    /// chat is new): the checks are made against that version, and the commit is conditional on
    /// it (and on the turn id being new). `None`: no such knowledge, or the condition failed.
    pub(super) async fn begin_at_version(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnRequest,
        create: bool,
        known: Option<Known>,
    ) -> FirestoreResult<Option<(Accepted, FirestoreInstant)>> {
        let known = known.map(|k| (k.version, k.doc));
        // A turn with files claims them in the transaction, which checks they still exist.
        if !turn.attachments.is_empty() {
            return Ok(None);
        }
        let (existing, precondition) = match known {
            // A pending turn (perhaps stale) or someone else's chat: the transaction decides.
            Some((_, doc)) if doc.pending_seq.is_some() || doc.owner != owner.as_str() => {
                return Ok(None)
            }
            Some((version, doc)) => (Some(doc), FirestoreWritePrecondition::UpdateTime(version)),
            None if create => (None, FirestoreWritePrecondition::Exists(false)),
            None => return Ok(None),
        };
        let id = session.as_str();
        let parent = self.db.parent_path(SESSIONS, id)?;
        let next = existing.as_ref().map_or(0, |s| s.message_count) as u64;
        let user = turn.to_stored(next);
        let doc = SessionDoc::accepting(existing, id, owner.as_str(), turn);
        let writer = self.db.create_simple_batch_writer().await?;
        let mut batch = writer.new_batch();
        self.db
            .fluent()
            .update()
            .in_col(MESSAGES)
            .document_id(message_id(next))
            .parent(&parent)
            .object(&MessageDoc::from(&user))
            .add_to_batch(&mut batch)?;
        // A turn id already used fails the condition; the transaction then finds its turn.
        self.db
            .fluent()
            .update()
            .in_col(TURNS)
            .precondition(FirestoreWritePrecondition::Exists(false))
            .document_id(turn.turn.as_str())
            .parent(&parent)
            .object(&TurnDoc { seq: next as i64 })
            .add_to_batch(&mut batch)?;
        self.db
            .fluent()
            .update()
            .in_col(SESSIONS)
            .precondition(precondition)
            .document_id(id)
            .object(&doc)
            .add_to_batch(&mut batch)?;
        Ok(self
            .commit_if(std::mem::take(&mut batch.writes))
            .await?
            .map(|version| ((user, doc, None), version)))
    }
}
