//! The files a send names (its `attachments` field: ids, comma-separated), checked before the
//! turn is stored: each the sender's, sent in no other chat, read by every model asked, and
//! within a message's limits. The turn's store write then claims them for the chat. And each
//! model's prompt with the bytes of the files it carries (`prompts`).

use super::Request;
use crate::attachment::{Attachment, FileRefusal, MAX_FILES, MAX_MESSAGE_FILE_BYTES};
use crate::conversation::StoredMessage;
use crate::errors::{ChatError, InputError};
use crate::prompt::{prompt_for, FileBytes, PromptMessage};
use crate::services::blobs::valid_key;
use crate::services::{ChatModel, Services};
use crate::session::{OwnerId, SessionId};
use std::collections::HashMap;
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
        let kind = record.attachment.kind;
        if let Some(b) = backends
            .iter()
            .find(|b| !b.reads_files() && !kind.is_text())
        {
            return Err(refused(FileRefusal::TextOnly(b.id())));
        }
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

/// Each backend's prompt, its files' bytes read once for all of them: a file of the new
/// message that cannot be read fails the turn (it is never sent without it); an earlier
/// one's that is gone is left out. Text files become words of their message. The bytes hold
/// their room ([`crate::services::FileRoom`]) until the last request is done with them.
pub async fn prompts(
    services: &Services,
    backends: &[Arc<dyn ChatModel>],
    history: &[StoredMessage],
    user: &StoredMessage,
) -> Vec<Result<Vec<PromptMessage>, ChatError>> {
    let mut prompts: Vec<Vec<PromptMessage>> = backends
        .iter()
        .map(|b| {
            prompt_for(
                history,
                &user.text,
                &user.attachments,
                b.id(),
                services.history,
            )
        })
        .collect();
    let mut sizes: HashMap<&str, u64> = HashMap::new();
    for file in prompts.iter().flatten().flat_map(|m| &m.files) {
        sizes.insert(&file.attachment.id, file.attachment.bytes);
    }
    let held = match sizes.values().sum::<u64>() {
        0 => None,
        bytes => match services.file_room.take(bytes, backends.len()).await {
            Ok(held) => Some(Arc::new(held)),
            Err(e) => {
                return prompts
                    .iter()
                    .map(|_| Err(ChatError::Files(e.clone())))
                    .collect()
            }
        },
    };
    let mut read: HashMap<String, Option<Arc<FileBytes>>> = HashMap::new();
    for prompt in &prompts {
        for file in prompt.iter().flat_map(|m| &m.files) {
            let id = &file.attachment.id;
            if read.contains_key(id) {
                continue;
            }
            match services.blobs.get(id).await {
                Ok(bytes) => read.insert(
                    id.clone(),
                    bytes.map(|b| {
                        Arc::new(match &held {
                            Some(held) => FileBytes::held(b, held.clone()),
                            None => FileBytes::new(b),
                        })
                    }),
                ),
                Err(e) => {
                    return prompts
                        .iter()
                        .map(|_| Err(ChatError::Files(e.clone())))
                        .collect()
                }
            };
        }
    }
    let newest = |p: &Vec<PromptMessage>| p.len() - 1;
    prompts
        .iter_mut()
        .zip(backends)
        .map(|(prompt, backend)| {
            // Asked again of a model that cannot read the message's files (Regenerate on
            // another model): the turn says so rather than answering without them.
            let files = &user.attachments;
            if files.iter().any(|f| !f.kind.is_text()) && !backend.reads_files() {
                return Err(InputError::File(FileRefusal::TextOnly(backend.id())).into());
            }
            if files.iter().any(|f| !f.kind.read_by(backend.id())) {
                return Err(InputError::File(FileRefusal::NotReadBy(backend.id())).into());
            }
            let last = newest(prompt);
            for (i, m) in prompt.iter_mut().enumerate() {
                let mut kept = Vec::with_capacity(m.files.len());
                for mut file in std::mem::take(&mut m.files) {
                    match read.get(&file.attachment.id).cloned().flatten() {
                        Some(bytes) => {
                            file.bytes = bytes;
                            kept.push(file);
                        }
                        None if i == last => {
                            return Err(InputError::File(FileRefusal::Gone).into());
                        }
                        None => {}
                    }
                }
                m.files = kept;
                m.fold_text_files();
                if m.files.is_empty() && m.text.is_empty() {
                    // An earlier message of files alone, all since deleted.
                    m.text = "(files no longer stored)".into();
                }
            }
            Ok(std::mem::take(prompt))
        })
        .collect()
}
