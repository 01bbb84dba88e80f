//! Blobs as files in one folder, one file per key. Each is written to a temporary name and
//! renamed, so a reader sees the whole file or none, even after a crash mid-write.

use app::services::blobs::valid_key;
use app::services::blobs::BlobBody;
use app::services::{BlobError, BlobStore};
use async_trait::async_trait;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

pub struct FolderBlobs {
    dir: PathBuf,
}

impl FolderBlobs {
    /// Uses `dir`, creating it if needed.
    pub fn open(dir: &Path) -> std::io::Result<FolderBlobs> {
        std::fs::create_dir_all(dir)?;
        Ok(FolderBlobs {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        if !valid_key(key) {
            tracing::error!(key, "refused a blob key the server does not make");
            return Err(BlobError::Failed);
        }
        Ok(self.dir.join(key))
    }
}

fn failed(what: &'static str) -> impl Fn(std::io::Error) -> BlobError {
    move |e| {
        tracing::error!(error = %e, "attachments folder: {what} failed");
        match e.kind() {
            ErrorKind::PermissionDenied => BlobError::PermissionDenied,
            _ => BlobError::Failed,
        }
    }
}

/// Runs file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| BlobError::Failed)?
}

#[async_trait]
impl BlobStore for FolderBlobs {
    async fn put_stream(
        &self,
        key: &str,
        _len: u64,
        mut body: BlobBody,
        _content_type: &str,
    ) -> Result<(), BlobError> {
        use futures::TryStreamExt;
        let path = self.path(key)?;
        let partial = self.dir.join(format!(".{key}.partial"));
        let (created, left) = (partial.clone(), partial.clone());
        let mut file =
            blocking(move || std::fs::File::create(&created).map_err(failed("create"))).await?;
        let written = async {
            while let Some(piece) = body.try_next().await? {
                file = blocking(move || {
                    file.write_all(&piece).map_err(failed("write"))?;
                    Ok(file)
                })
                .await?;
            }
            blocking(move || {
                file.sync_all().map_err(failed("sync"))?;
                std::fs::rename(&partial, &path).map_err(failed("rename"))
            })
            .await
        }
        .await;
        // Cut off part-way (the store failed, or the spool): no partial file stays behind.
        if written.is_err() {
            let _ = blocking(move || Ok(std::fs::remove_file(&left))).await;
        }
        written
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(failed("read")(e)),
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(failed("delete")(e)),
        })
        .await
    }

    async fn ping(&self) -> Result<(), BlobError> {
        let dir = self.dir.clone();
        blocking(move || std::fs::metadata(&dir).map(|_| ()).map_err(failed("stat"))).await
    }
}
