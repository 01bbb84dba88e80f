//! The blob store's failures (attached files' bytes).

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
    /// Too many files are arriving at this server at once (its upload spool is full).
    #[error("The server is taking in many files just now. Please try again in a minute.")]
    Busy,
}

impl BlobError {
    /// A short stable code for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            BlobError::Unavailable => "unavailable",
            BlobError::TimedOut => "timed_out",
            BlobError::PermissionDenied => "permission_denied",
            BlobError::Failed => "failed",
            BlobError::Busy => "busy",
        }
    }
}
