//! A post's files, kept on disk while they arrive. Memory then holds a few hundred KB per
//! upload whatever its size or pace, and a slow sender holds only its connection and the bytes
//! it has sent so far, never one of the few workers that read and store files (`form.rs`).
//! Each file is unnamed (`O_TMPFILE`): gone when dropped, and after a crash. A file is then
//! examined where it lies and streamed to the blob store (`upload.rs`), never read whole.

use super::metadata::Plan;
use super::source::{FileSource, WINDOW};
use app::services::blobs::BlobBody;
use app::services::BlobError;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes gathered before each write to disk.
const BATCH: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the file is larger than allowed")]
    TooLarge,
    /// Every byte of the spool's room is taken by uploads under way.
    #[error("the upload spool is full")]
    Full,
    /// The post itself failed: cut off, too slow, or past the body limit.
    #[error("reading the post: {0}")]
    Read(#[source] multer::Error),
    #[error("the upload spool's disk: {0}")]
    Disk(#[from] std::io::Error),
}

/// Where files wait, and how many bytes may wait at once.
pub struct Spool {
    dir: PathBuf,
    room: Arc<Semaphore>,
}

impl Spool {
    /// A spool in `dir` (created if missing), checked now so that a folder that cannot be
    /// written stops the start, not the first upload.
    pub fn open(dir: &Path, bytes: u64) -> std::io::Result<Spool> {
        std::fs::create_dir_all(dir)?;
        drop(tempfile::tempfile_in(dir)?);
        let bytes = usize::try_from(bytes)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Ok(Spool {
            dir: dir.to_path_buf(),
            room: Arc::new(Semaphore::new(bytes)),
        })
    }

    /// Writes `field` to disk as it arrives; refused once past `max` bytes, or when the spool's
    /// room is taken (rather than wait for room some other half-sent file holds).
    pub async fn take(
        &self,
        field: &mut multer::Field<'_>,
        max: u64,
    ) -> Result<Spooled, SpoolError> {
        let dir = self.dir.clone();
        let mut file = blocking(move || tempfile::tempfile_in(dir)).await?;
        let mut room: Option<OwnedSemaphorePermit> = None;
        let mut len = 0u64;
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(chunk) = field.chunk().await.map_err(SpoolError::Read)? {
            len += chunk.len() as u64;
            if len > max {
                return Err(SpoolError::TooLarge);
            }
            self.reserve(&mut room, &chunk)?;
            batch.extend_from_slice(&chunk);
            if batch.len() >= BATCH {
                (file, batch) = write(file, batch).await?;
            }
        }
        let (file, _) = write(file, batch).await?;
        Ok(Spooled { file, len, room })
    }

    /// Keeps `bytes` (a message kept as a file) in the spool, as an upload would be.
    pub async fn hold(&self, bytes: Vec<u8>) -> Result<Spooled, SpoolError> {
        let mut room = None;
        self.reserve(&mut room, &bytes)?;
        let dir = self.dir.clone();
        let len = bytes.len() as u64;
        let file = blocking(move || {
            let mut file = tempfile::tempfile_in(dir)?;
            file.write_all(&bytes)?;
            Ok(file)
        })
        .await?;
        Ok(Spooled { file, len, room })
    }

    fn reserve(
        &self,
        room: &mut Option<OwnedSemaphorePermit>,
        chunk: &[u8],
    ) -> Result<(), SpoolError> {
        let n = u32::try_from(chunk.len()).map_err(|_| SpoolError::Full)?;
        let more = self
            .room
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| SpoolError::Full)?;
        match room {
            Some(held) => held.merge(more),
            None => *room = Some(more),
        }
        Ok(())
    }
}

/// One file, on disk until read.
pub struct Spooled {
    file: std::fs::File,
    len: u64,
    /// The spool's room this file takes, given back when it goes.
    room: Option<OwnedSemaphorePermit>,
}

impl Spooled {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Runs `look` over the file where it lies, off the async threads; the file comes back.
    pub async fn examine<T: Send + 'static>(
        self,
        look: impl FnOnce(&mut FileSource) -> T + Send + 'static,
    ) -> std::io::Result<(Spooled, T)> {
        let Spooled { file, len, room } = self;
        let (file, seen) = blocking(move || {
            let mut src = FileSource::new(file, usize::try_from(len).unwrap_or(usize::MAX));
            let seen = look(&mut src);
            Ok((src.into_file(), seen))
        })
        .await?;
        Ok((Spooled { file, len, room }, seen))
    }

    /// What `plan` keeps of the file, a window read each time the reader asks for the next
    /// (so no thread waits on the reader: the blocking threads are few, and the folder store
    /// writes with them too); the file and its room go with the stream.
    pub fn stream(self, plan: Plan) -> BlobBody {
        let Spooled { file, room, .. } = self;
        let pieces = plan.pieces(WINDOW).into_iter();
        let state = (Arc::new(file), room, plan, pieces, 0usize);
        Box::pin(futures::stream::unfold(
            state,
            |(file, room, plan, mut pieces, out_at)| async move {
                let piece = pieces.next()?;
                let from = file.clone();
                let read = blocking(move || {
                    let mut bytes = vec![0u8; piece.len()];
                    from.read_exact_at(&mut bytes, piece.start as u64)?;
                    Ok(bytes)
                })
                .await;
                match read {
                    Ok(mut bytes) => {
                        plan.patch(out_at, &mut bytes);
                        let out_at = out_at + bytes.len();
                        Some((Ok(bytes), (file, room, plan, pieces, out_at)))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not read an upload back from the spool");
                        let none = Vec::new().into_iter();
                        Some((Err(BlobError::Failed), (file, room, plan, none, out_at)))
                    }
                }
            },
        ))
    }
}

async fn write(
    mut file: std::fs::File,
    mut batch: Vec<u8>,
) -> std::io::Result<(std::fs::File, Vec<u8>)> {
    blocking(move || {
        file.write_all(&batch)?;
        batch.clear();
        Ok((file, batch))
    })
    .await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(std::io::Error::other)?
}
