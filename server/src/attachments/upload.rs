//! Storing one attached file: refused by size, content, pixels or the visitor's daily quota
//! (nothing stored then), stripped of location metadata, recorded in the chat store, then
//! streamed from the spool to the blob store. The record comes first, so every blob has one and a crash between
//! the two leaves a record the sweep finds (`sweep.rs`).

use super::metadata::{self, Plan};
use super::sniff::{sniff_source, SniffError, Sniffed};
use super::source::{FileSource, Source, WINDOW};
use super::spool::Spooled;
use app::attachment::{clean_name, Attachment, FileRefusal, MAX_FILE_BYTES};
use app::errors::{BlobError, ChatError, InputError};
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

/// What a spooled file is, read where it lies: its kind and size, what is kept of it, and that
/// part's SHA-256.
struct Examined {
    sniffed: Sniffed,
    plan: Plan,
    sha256: String,
}

/// Tells the file apart, plans its stripping and hashes what is kept, a window at a time.
fn examine(src: &mut FileSource) -> Result<Examined, FileRefusal> {
    let sniffed = sniff_source(src).map_err(|e| refusal(&e))?;
    if src.len() as u64 > sniffed.kind.max_bytes() {
        return Err(FileRefusal::TooLarge);
    }
    let plan = metadata::plan(sniffed.kind, src).ok_or(FileRefusal::Damaged)?;
    let mut hash = Sha256::new();
    let mut out_at = 0;
    for piece in plan.pieces(WINDOW) {
        let mut bytes = vec![0u8; piece.len()];
        src.read(piece.start, &mut bytes)
            .ok_or(FileRefusal::Damaged)?;
        plan.patch(out_at, &mut bytes);
        out_at += bytes.len();
        hash.update(&bytes);
    }
    Ok(Examined {
        sniffed,
        plan,
        sha256: app::session::to_hex(&hash.finalize()),
    })
}

/// Stores `file`, attached as `name` by `owner`, and returns its reference. `quota`: the most
/// bytes an owner may store in a day. The file is read where it lies and streamed to the blob
/// store without its metadata: never held whole.
pub async fn store(
    services: &Services,
    owner: &OwnerId,
    name: &str,
    file: Spooled,
    quota: u64,
) -> Result<Attachment, ChatError> {
    if file.len() > MAX_FILE_BYTES {
        return Err(refused(FileRefusal::TooLarge));
    }
    let (file, examined) = file.examine(examine).await.map_err(|e| {
        tracing::error!(error = %e, "could not read an upload from the spool");
        ChatError::Files(BlobError::Failed)
    })?;
    let Examined {
        sniffed,
        plan,
        sha256,
    } = examined.map_err(refused)?;
    let bytes = plan.len() as u64;
    let at_ms = app::chat::ssr::now_ms();
    let today = services
        .files
        .file_bytes_since(owner, at_ms - DAY_MS)
        .await?;
    if today.saturating_add(bytes) > quota {
        return Err(refused(FileRefusal::OverQuota));
    }
    let attachment = Attachment {
        id: SessionId::generate().as_str().to_string(),
        kind: sniffed.kind,
        name: clean_name(name),
        bytes,
        width: sniffed.width,
        height: sniffed.height,
    };
    let record = FileRecord {
        attachment: attachment.clone(),
        owner: owner.clone(),
        chat: None,
        sha256,
        at_ms,
    };
    services.files.record_file(&record).await?;
    let put = services
        .blobs
        .put_stream(
            &attachment.id,
            bytes,
            file.stream(plan),
            attachment.kind.mime(),
        )
        .await;
    if let Err(e) = put {
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
