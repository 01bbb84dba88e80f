//! The files a send names (its `attachments` field: ids, comma-separated), checked before the
//! turn is stored: each the sender's, sent in no other chat, read by every model asked, and
//! within a message's limits. The turn's store write then claims them for the chat.

use super::Request;
use crate::attachment::{Attachment, FileRefusal, MAX_FILES, MAX_MESSAGE_FILE_BYTES};
use crate::errors::{ChatError, InputError};
use crate::services::blobs::valid_key;
use crate::services::ChatModel;
use crate::session::{OwnerId, SessionId};
use std::sync::Arc;

fn refused(why: FileRefusal) -> ChatError {
    InputError::File(why).into()
}

pub async fn named(
    request: &Request,
    field: Option<&str>,
    owner: &OwnerId,
    session: &SessionId,
    backends: &[Arc<dyn ChatModel>],
) -> Result<Vec<Attachment>, ChatError> {
    let ids: Vec<&str> = field
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    if ids.len() > MAX_FILES {
        return Err(refused(FileRefusal::TooMany));
    }
    let mut files: Vec<Attachment> = Vec::with_capacity(ids.len());
    for id in ids {
        if !valid_key(id) || files.iter().any(|f| f.id == id) {
            return Err(refused(FileRefusal::Gone));
        }
        let record = request.services.files.file(id).await?;
        let Some(record) = record.filter(|r| {
            &r.owner == owner && r.chat.as_deref().is_none_or(|c| c == session.as_str())
        }) else {
            return Err(refused(FileRefusal::Gone));
        };
        if let Some(b) = backends.iter().find(|b| !b.reads_files()) {
            return Err(refused(FileRefusal::TextOnly(b.id())));
        }
        let kind = record.attachment.kind;
        if let Some(b) = backends.iter().find(|b| !kind.read_by(b.id())) {
            return Err(refused(FileRefusal::NotReadBy(b.id())));
        }
        files.push(record.attachment);
    }
    if files.iter().map(|f| f.bytes).sum::<u64>() > MAX_MESSAGE_FILE_BYTES {
        return Err(refused(FileRefusal::TooMuchTogether));
    }
    Ok(files)
}
