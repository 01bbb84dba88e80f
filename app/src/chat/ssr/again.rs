//! Asking the chat's last turn again: Regenerate (the same model), the other model, both, or
//! the model that failed in an "Ask both". Its user message becomes pending again and the new
//! replies are stored after the ones it has (`ChatStore::reopen_turn`); later turns send the
//! newest reply of the model they ask as context (`prompt::prompt_history`).

use super::job::{admit, backends, Job};
use super::{now_ms, Request};
use crate::conversation::{Begun, TurnId, TurnView};
use crate::errors::{ChatError, InputError, Transport};
use crate::models::ModelId;
use crate::services::Again;

/// Asks turn `seq` of chat `chat` (its last) again of `model`: `gemma`, `gemini` or `both`.
/// `turn` is the client's id for this request, as for a send.
pub async fn again(
    request: &Request,
    chat: &str,
    seq: &str,
    model: &str,
    turn: Option<&str>,
) -> Result<TurnView, ChatError> {
    let owner = request.owner().ok_or(ChatError::NoSuchChat)?;
    let session = request.parse_chat(chat)?;
    let malformed = || ChatError::Transport(Transport::Malformed);
    let seq: u64 = seq.trim().parse().map_err(|_| malformed())?;
    let targets = match model.trim() {
        "both" => ModelId::ALL.to_vec(),
        name => vec![
            ModelId::parse(name).ok_or_else(|| InputError::UnknownModel {
                name: name.chars().take(40).collect(),
            })?,
        ],
    };
    let services = &request.services;
    let backends = backends(services, &targets)?;
    let turn = match turn.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => TurnId::parse(t).ok_or_else(malformed)?,
        None => TurnId::generate(),
    };
    // The message is asked again with the parameters it was sent with, which the store holds;
    // the estimate takes the person's current ones (the settlement corrects it).
    let params = crate::session::settings_from(&request.parts).params;
    let budget = admit(
        request,
        &targets,
        super::budget::estimate(services, 0, &params, &targets),
    )
    .await?;
    let again = Again {
        seq,
        turn: turn.clone(),
        at_ms: now_ms(),
    };
    let begun = services
        .store
        .reopen_turn(
            &session,
            &owner,
            &again,
            request.stale_before_ms(),
            services.history.messages,
        )
        .await?;
    let (history, user, summary) = match begun {
        Begun::Accepted {
            history,
            user,
            session,
        } => (history, user, session),
        Begun::Existing(messages) => {
            return super::turn::existing(request, &session, &owner, messages).await
        }
    };
    Job {
        services: services.clone(),
        backends,
        history,
        user,
        session: session.clone(),
        owner,
        budget,
        system: services.system_prompt_of(&summary),
        running: services.tasks.start(session.as_str(), turn.as_str()),
    }
    .start(request, summary)
    .await
}
