//! The blob stores behind `app::services::BlobStore`: a folder on a laptop, a Cloud Storage
//! bucket on GKE. Both pass the same contract tests (`server/tests/blob_contract.rs`), the
//! bucket against fake-gcs-server.

pub mod folder;
pub mod gcs;

use crate::config::BlobConfig;
use app::services::BlobStore;
use std::sync::Arc;

/// The blob store the config names, ready to use (a folder is created; a bucket is not
/// contacted until the first request, so a slow Cloud Storage never delays start-up).
pub async fn open(config: &BlobConfig) -> Result<Arc<dyn BlobStore>, String> {
    Ok(match config {
        BlobConfig::Folder { dir } => Arc::new(
            folder::FolderBlobs::open(dir)
                .map_err(|e| format!("cannot use the attachments folder {}: {e}", dir.display()))?,
        ),
        BlobConfig::Gcs { bucket, emulator } => Arc::new(
            gcs::GcsBlobs::connect(bucket, emulator.as_deref())
                .await
                .map_err(|e| format!("cannot use the attachments bucket {bucket}: {e}"))?,
        ),
    })
}
