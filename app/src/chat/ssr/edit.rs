//! Edit and resend: a send that replaces the chat's last user message. It is checked before the
//! new turn is accepted (the last user message, not pending) and marked replaced after, so a
//! send refused on the way loses nothing; the new turn's prompt leaves the replaced turn out.

use super::Request;
use crate::conversation::{MessageRange, Role, StoredMessage, TurnStatus};
use crate::errors::{ChatError, StoreError};
use crate::services::Services;
use crate::session::{OwnerId, SessionId};

/// Whether the message at `seq` is the chat's last user message, and not pending.
pub(super) async fn check(
    request: &Request,
    session: &SessionId,
    owner: &OwnerId,
    seq: u64,
) -> Result<(), ChatError> {
    // The turn and its replies (a handful; a turn asked again many times has more).
    let range = MessageRange {
        from: seq,
        ..MessageRange::newest(64)
    };
    let turn = request
        .services
        .store
        .load_range(session, owner, range)
        .await?
        .ok_or(ChatError::NoSuchChat)?;
    let last = turn
        .first()
        .is_some_and(|m| m.seq == seq && m.role == Role::User && m.status != TurnStatus::Pending)
        && turn.iter().skip(1).all(|m| m.role == Role::Model);
    if !last {
        return Err(StoreError::NotLastTurn.into());
    }
    Ok(())
}

/// Marks the edited turn replaced, and takes it out of the new turn's history. A failure to
/// mark it is logged, not the new turn's: the edit was sent, and its prompt is right.
pub(super) async fn replace(
    services: &Services,
    session: &SessionId,
    seq: u64,
    history: &mut Vec<StoredMessage>,
) {
    history.retain(|m| m.seq < seq);
    if let Err(e) = services.store.replace_turn(session, seq).await {
        tracing::error!(error = ?e, seq, "edited turn not marked replaced");
    }
}
