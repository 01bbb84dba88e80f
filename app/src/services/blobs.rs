//! Where attachments' bytes are kept: Cloud Storage on GKE, a folder beside the SQLite file on a
//! laptop. The chat store keeps only references; keys are made by the server (an attachment's
//! id), never taken from a request.

pub use crate::errors::BlobError;
use async_trait::async_trait;

/// A blob's bytes as they are read, a piece at a time.
pub type BlobBody =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<Vec<u8>, BlobError>> + Send>>;

/// Bytes by key. Writes are whole (a reader never sees half a file), and a key is written once:
/// an attachment's bytes never change after it is stored.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `len` bytes from `body` under `key` as `content_type`, as they come (an upload
    /// from the spool), so no file is held whole.
    async fn put_stream(
        &self,
        key: &str,
        len: u64,
        body: BlobBody,
        content_type: &str,
    ) -> Result<(), BlobError>;

    /// Stores `bytes` under `key` as `content_type`: a stream of one piece.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        let len = bytes.len() as u64;
        let body = futures::stream::once(async move { Ok(bytes) });
        self.put_stream(key, len, Box::pin(body), content_type)
            .await
    }

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
