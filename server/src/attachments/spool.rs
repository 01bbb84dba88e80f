//! A post's files, kept on disk while they arrive. Memory then holds a few hundred KB per
//! upload whatever its size or pace, and a slow sender holds only its connection and the bytes
//! it has sent so far, never one of the few workers that read and store files (`form.rs`).
//! Each file is unnamed (`O_TMPFILE`): gone when dropped, and after a crash.

use std::io::{Read, Seek, SeekFrom, Write};
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

    /// Its bytes, read whole; the file and its room go.
    pub async fn bytes(self) -> std::io::Result<Vec<u8>> {
        let Spooled {
            mut file,
            len,
            room,
        } = self;
        let bytes = blocking(move || {
            file.seek(SeekFrom::Start(0))?;
            let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            file.read_to_end(&mut bytes)?;
            Ok(bytes)
        })
        .await?;
        drop(room);
        Ok(bytes)
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
