//! A chat's own system prompt, set from its header: sent to both models with every turn after
//! it, in place of the server's `SYSTEM_PROMPT`. Set in a new chat, it creates the chat (with no
//! messages yet), so the first message is already sent with it.

use super::{now_ms, Request};
use crate::chat::chat_path;
use crate::conversation::{SessionSummary, MAX_SYSTEM_PROMPT_CHARS};
use crate::errors::{ChatError, InputError, TextField};
use crate::session::SessionId;

/// Sets chat `chat`'s system prompt (blank: the server's again); with no chat, starts one with
/// it. `None` when there was nothing to do (a blank prompt for a chat that does not exist yet).
pub async fn set(
    request: &Request,
    chat: Option<&str>,
    prompt: &str,
) -> Result<Option<SessionSummary>, ChatError> {
    let prompt = prompt.trim();
    let chars = prompt.chars().count();
    if chars > MAX_SYSTEM_PROMPT_CHARS {
        return Err(InputError::SystemPromptTooLong {
            chars,
            max: MAX_SYSTEM_PROMPT_CHARS,
        }
        .into());
    }
    TextField::SystemPrompt.check_bytes(prompt)?;
    let prompt = (!prompt.is_empty()).then_some(prompt);
    let chat = chat.map(str::trim).filter(|c| !c.is_empty());
    let (id, owner, create_at) = match (chat, prompt) {
        (Some(id), _) => {
            let owner = request.owner().ok_or(ChatError::NoSuchChat)?;
            (request.parse_chat(id)?, owner, None)
        }
        (None, None) => {
            request.redirect_page("/");
            return Ok(None);
        }
        (None, Some(_)) => {
            let owner = request.owner().ok_or(ChatError::NoOwner)?;
            super::job::admit_new_chat(request).await?;
            (SessionId::generate(), owner, Some(now_ms()))
        }
    };
    let summary = request
        .services
        .store
        .set_system_prompt(&id, &owner, prompt, create_at)
        .await?;
    request.redirect_page(&chat_path(id.as_str()));
    Ok(Some(summary))
}
