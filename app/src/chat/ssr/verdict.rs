//! The user's verdict on a side-by-side pair: which of the two models' answers to one message
//! was better, or a tie. Kept on the turn's user message and counted in the owner's model
//! figures (the Models page); changed or taken back at will, the counts following.

use super::Request;
use crate::chat::chat_path;
use crate::conversation::{one_turn, MessageRange, Role, TurnStatus, Verdict};
use crate::errors::{ChatError, InputError, Transport};
use crate::models::ModelId;

/// Records `verdict` (`gemma`, `gemini`, `tie`, or `none` to take it back) on the turn whose
/// user message is at `seq` in chat `chat`, which both models must have answered.
pub async fn judge(
    request: &Request,
    chat: &str,
    seq: &str,
    verdict: &str,
) -> Result<(), ChatError> {
    let owner = request.owner().ok_or(ChatError::NoSuchChat)?;
    let session = request.parse_chat(chat)?;
    let seq: u64 = seq
        .trim()
        .parse()
        .map_err(|_| ChatError::Transport(Transport::Malformed))?;
    let verdict = match verdict.trim() {
        "none" => None,
        v => Some(Verdict::parse(v).ok_or(InputError::BadVerdict)?),
    };
    let store = &request.services.store;
    // The turn: its user message and the replies after it (a turn has a few at most).
    let range = MessageRange {
        from: seq,
        before: Some(seq.saturating_add(64)),
        limit: 64,
        ..MessageRange::ALL
    };
    let turn = one_turn(
        store
            .load_range(&session, &owner, range)
            .await?
            .ok_or(ChatError::NoSuchChat)?,
    );
    let answered_by = |model: ModelId| {
        turn.iter()
            .any(|m| m.role == Role::Model && m.model == model)
    };
    let pair = turn
        .first()
        .is_some_and(|u| u.seq == seq && u.role == Role::User && u.status == TurnStatus::Complete)
        && ModelId::ALL.into_iter().all(answered_by);
    if !pair {
        return Err(InputError::NotAPair.into());
    }
    // The owner's figures follow in the same transaction.
    store.judge(&session, &owner, seq, verdict).await?;
    request.redirect_page(&chat_path(session.as_str()));
    Ok(())
}
