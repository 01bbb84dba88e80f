//! Where attachments' bytes are kept: Cloud Storage on GKE, a folder beside the SQLite file on a
//! laptop. The chat store keeps only references; keys are made by the server (an attachment's
//! id), never taken from a request.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why the blob store failed. `Display` is what a person reads; detail goes to the log.
#[derive(Clone, Debug, Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlobError {
    #[error("Attached files are unavailable right now. Please try again.")]
    Unavailable,
    #[error("Attached files took too long to store or read. Please try again.")]
    TimedOut,
    #[error("This server is not allowed to use its file storage. An operator needs to check its access.")]
    PermissionDenied,
    #[error("The file could not be stored or read.")]
    Failed,
}

impl BlobError {
    /// A short stable code for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            BlobError::Unavailable => "unavailable",
            BlobError::TimedOut => "timed_out",
            BlobError::PermissionDenied => "permission_denied",
            BlobError::Failed => "failed",
        }
    }
}

/// Bytes by key. Writes are whole (a reader never sees half a file), and a key is written once:
/// an attachment's bytes never change after it is stored.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key` as `content_type`.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError>;

    /// The bytes under `key`, or `None` if there are none.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError>;

    /// Removes `key`. A missing key is not an error: deletes are repeated by sweeps.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// Cheap reachability check (`/healthz/store`).
    async fn ping(&self) -> Result<(), BlobError>;
}

/// Whether `key` is one the server makes: 1 to 128 ASCII letters, digits, `-` and `_`, so it is
/// one path segment in a folder and one object name in a bucket, with nothing to escape.
pub fn valid_key(key: &str) -> bool {
    (1..=128).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
