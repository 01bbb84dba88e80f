//! Storing one attached file: refused by size, content, pixels or the visitor's daily quota
//! (nothing stored then), stripped of location metadata, recorded in the chat store, then
//! written to the blob store. The record comes first, so every blob has one and a crash between
//! the two leaves a record the sweep finds (`sweep.rs`).

use super::metadata;
use super::sniff::{sniff, SniffError};
use app::attachment::{clean_name, Attachment, FileRefusal, MAX_FILE_BYTES};
use app::errors::{ChatError, InputError};
use app::services::{FileRecord, Services};
use app::session::{OwnerId, SessionId};
use sha2::{Digest, Sha256};

/// A day, for the quota's window.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn refused(why: FileRefusal) -> ChatError {
    InputError::File(why).into()
}

/// What the sniffer's verdict means to the person attaching.
pub fn refusal(e: &SniffError) -> FileRefusal {
    match e {
        SniffError::Unsupported { looks_like } if !looks_like.starts_with("of a kind") => {
            FileRefusal::WebPage
        }
        SniffError::Unsupported { .. } => FileRefusal::Unsupported,
        SniffError::Malformed(_) => FileRefusal::Damaged,
        SniffError::TooManyPixels { .. } => FileRefusal::TooManyPixels,
    }
}

/// Stores `bytes`, attached as `name` by `owner`, and returns its reference. `quota`: the most
/// bytes an owner may store in a day.
pub async fn store(
    services: &Services,
    owner: &OwnerId,
    name: &str,
    bytes: Vec<u8>,
    quota: u64,
) -> Result<Attachment, ChatError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(refused(FileRefusal::TooLarge));
    }
    let sniffed = sniff(&bytes).map_err(|e| refused(refusal(&e)))?;
    if bytes.len() as u64 > sniffed.kind.max_bytes() {
        return Err(refused(FileRefusal::TooLarge));
    }
    // In place: the file is never held twice.
    let bytes = metadata::strip(sniffed.kind, bytes).ok_or(refused(FileRefusal::Damaged))?;
    let at_ms = app::chat::ssr::now_ms();
    let today = services
        .files
        .file_bytes_since(owner, at_ms - DAY_MS)
        .await?;
    if today.saturating_add(bytes.len() as u64) > quota {
        return Err(refused(FileRefusal::OverQuota));
    }
    let attachment = Attachment {
        id: SessionId::generate().as_str().to_string(),
        kind: sniffed.kind,
        name: clean_name(name),
        bytes: bytes.len() as u64,
        width: sniffed.width,
        height: sniffed.height,
    };
    let record = FileRecord {
        attachment: attachment.clone(),
        owner: owner.clone(),
        chat: None,
        sha256: app::session::to_hex(&Sha256::digest(&bytes)),
        at_ms,
    };
    services.files.record_file(&record).await?;
    if let Err(e) = services
        .blobs
        .put(&attachment.id, bytes, attachment.kind.mime())
        .await
    {
        // Nothing half-kept: the record goes too (if this fails, the sweep takes it).
        let _ = services
            .files
            .forget_files(std::slice::from_ref(&attachment.id))
            .await;
        return Err(ChatError::Files(e));
    }
    tracing::info!(
        file = %attachment.id,
        kind = attachment.kind.as_str(),
        bytes = attachment.bytes,
        "file stored"
    );
    Ok(attachment)
}
