//! The chat store's records of attached files: whose each is and which chat it was sent in. The
//! bytes are in the [`super::BlobStore`]; a record is written before its bytes, so every blob
//! has one, and a file never sent is found by [`FileRecords::orphan_files`] and swept.

use crate::attachment::Attachment;
use crate::errors::StoreError;
use crate::session::{OwnerId, SessionId};
use async_trait::async_trait;

/// One stored file.
#[derive(Clone, Debug, PartialEq)]
pub struct FileRecord {
    pub attachment: Attachment,
    pub owner: OwnerId,
    /// The chat it was sent in; `None` until then.
    pub chat: Option<String>,
    /// SHA-256 of the bytes as stored (hex).
    pub sha256: String,
    pub at_ms: i64,
}

#[async_trait]
pub trait FileRecords: Send + Sync {
    /// Records a file about to be stored, sent in no chat yet.
    async fn record_file(&self, record: &FileRecord) -> Result<(), StoreError>;

    /// The file's record, if there is one.
    async fn file(&self, id: &str) -> Result<Option<FileRecord>, StoreError>;

    /// Bytes of the files `owner` stored from `since_ms` on: the daily quota.
    async fn file_bytes_since(&self, owner: &OwnerId, since_ms: i64) -> Result<u64, StoreError>;

    /// The files sent in `session`: what deleting it deletes.
    async fn files_of_chat(&self, session: &SessionId) -> Result<Vec<String>, StoreError>;

    /// Files never sent in any chat and stored before `before_ms`, at most `limit`: a closed
    /// tab's, a failed upload's, or a crash's between the record and the bytes.
    async fn orphan_files(&self, before_ms: i64, limit: usize) -> Result<Vec<String>, StoreError>;

    /// Forgets these records (their bytes are deleted first).
    async fn forget_files(&self, ids: &[String]) -> Result<(), StoreError>;
}
