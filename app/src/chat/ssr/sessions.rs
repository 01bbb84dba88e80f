//! The visitor's chats: open one, rename it, delete it. Each names its chat and is checked
//! against the caller's owner; someone else's chat is "no such chat", like one that never was.

use super::Request;
use crate::chat::{CHAT_PAGE, PAGE_TEXT_BYTES};
use crate::conversation::{Message, MessageRange, SessionSummary, MAX_TITLE_CHARS};
use crate::errors::{ChatError, InputError, TextField};

/// The chat's newest page of messages, or the page before `before` (the first message the
/// browser shows), for "Show earlier".
pub async fn open(
    request: &Request,
    id: &str,
    before: Option<u64>,
) -> Result<Vec<Message>, ChatError> {
    let range = MessageRange {
        before,
        ..MessageRange::newest(CHAT_PAGE)
    }
    .within_bytes(PAGE_TEXT_BYTES);
    let (_, _, messages) = request.owned_chat(id, range).await?;
    Ok(request.views(messages))
}

pub async fn rename(request: &Request, id: &str, title: &str) -> Result<SessionSummary, ChatError> {
    let title = title.trim();
    let chars = title.chars().count();
    if chars == 0 || chars > MAX_TITLE_CHARS {
        return Err(InputError::BadTitle {
            max: MAX_TITLE_CHARS,
        }
        .into());
    }
    TextField::Title.check_bytes(title)?;
    let (id, _) = owned(request, id).await?;
    let store = &request.services.store;
    store.rename(&id, title).await?;
    store.summary(&id).await?.ok_or(ChatError::NoSuchChat)
}

pub async fn delete(request: &Request, id: &str) -> Result<(), ChatError> {
    let (id, _) = owned(request, id).await?;
    // Its files first: cut off half-way, the chat is still there to delete again.
    delete_files(&request.services, &id).await?;
    request.services.store.delete(&id).await?;
    // Without JavaScript the page goes back where it was, unless that was the deleted chat.
    let from_that_chat = request
        .parts
        .headers
        .get(http::header::REFERER)
        .and_then(|r| r.to_str().ok())
        .is_some_and(|r| r.contains(&crate::chat::chat_path(id.as_str())));
    if from_that_chat {
        request.redirect_page("/");
    }
    Ok(())
}

/// The chat, if it is the caller's (without reading its messages).
async fn owned(
    request: &Request,
    id: &str,
) -> Result<(crate::session::SessionId, crate::session::OwnerId), ChatError> {
    let owner = request.owner().ok_or(ChatError::NoSuchChat)?;
    let id = request.parse_chat(id)?;
    if request.services.store.owner_of(&id).await?.as_ref() == Some(&owner) {
        Ok((id, owner))
    } else {
        Err(ChatError::NoSuchChat)
    }
}

/// Deletes the files sent in chat `id`: their bytes, then their records.
pub async fn delete_files(
    services: &crate::services::Services,
    id: &crate::session::SessionId,
) -> Result<(), ChatError> {
    let files = services.files.files_of_chat(id).await?;
    for file in &files {
        services
            .blobs
            .delete(file)
            .await
            .map_err(ChatError::Files)?;
    }
    services.files.forget_files(&files).await?;
    Ok(())
}
