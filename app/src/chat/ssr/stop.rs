//! Stop: a pending turn is stored as stopped at once, and the task running it (in this process,
//! or on another replica, which finds out from the store) drops its model calls.

use super::Request;
use crate::chat::chat_path;
use crate::conversation::{Message, StoredMessage, TurnId, TurnOutcome, TurnStatus};
use crate::errors::{ChatError, StoreError};
use crate::services::Services;
use crate::session::{OwnerId, SessionId};

/// Stops turn `turn` of chat `chat`, and answers with the turn as it now stands: its user
/// message stopped, or the turn as it ended if it ended first (answered or failed).
pub async fn stop(request: &Request, chat: &str, turn: &str) -> Result<Vec<Message>, ChatError> {
    let owner = request.owner().ok_or(ChatError::NoSuchChat)?;
    let session = request.parse_chat(chat)?;
    let turn = TurnId::parse(turn).ok_or(ChatError::NoSuchChat)?;
    let messages = stop_turn(&request.services, &session, &owner, &turn).await?;
    request.redirect_page(&chat_path(session.as_str()));
    Ok(request.views(messages))
}

/// Stops the owner's turn `turn`, if it is still pending; the turn as it now stands.
pub(super) async fn stop_turn(
    services: &Services,
    session: &SessionId,
    owner: &OwnerId,
    turn: &TurnId,
) -> Result<Vec<StoredMessage>, ChatError> {
    let load = || async {
        services
            .store
            .load_turn(session, owner, turn)
            .await?
            .ok_or(ChatError::NoSuchChat)
    };
    let messages = load().await?;
    let Some(user) = messages.first().filter(|m| m.status == TurnStatus::Pending) else {
        return Ok(messages);
    };
    // Stored here rather than left to the task, which may be on another replica; and stored
    // before the task is told, so the two never write the turn at once (on Firestore two
    // transactions on one chat wait on each other's locks: Stop took 2 s that way).
    let stored = services
        .store
        .finish_turn(session, user, &TurnOutcome::Stopped)
        .await;
    // Told either way: stopped here, or ended meanwhile, the model call is no longer wanted.
    services.tasks.stop(session.as_str(), turn.as_str());
    match stored {
        Ok(stopped) => Ok(stopped.messages),
        // It ended meanwhile (answered, failed, or stopped by its own task): as it now stands.
        Err(StoreError::NotFound) => load().await,
        Err(e) => Err(e.into()),
    }
}
