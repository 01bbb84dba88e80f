//! Room for files in model requests. A turn's files are held while its models answer: as bytes,
//! and as base64 in each model's request body. Many people sending pictures to a slow model at
//! once would take the pod past its memory limit, so each replica gives such files a fixed room
//! (`MODEL_FILE_MB`); a turn that does not fit waits for room (`MODEL_FILE_WAIT_SECS`), then is
//! refused in words rather than crash everyone's turns.

use crate::errors::BlobError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Clone, Debug)]
pub struct FileRoom {
    /// In kilobytes: a semaphore counts in `u32` at a time.
    room: Arc<Semaphore>,
    kb: u32,
    wait: Duration,
}

/// Room taken, given back when the last of the turn's file bytes goes.
pub type HeldRoom = OwnedSemaphorePermit;

impl FileRoom {
    pub fn new(bytes: u64, wait: Duration) -> Self {
        let kb = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .max(1);
        FileRoom {
            room: Arc::new(Semaphore::new(kb as usize)),
            kb,
            wait,
        }
    }

    /// Room for `bytes` of files sent to `models` models: the bytes, and a third more in base64
    /// for each. A turn larger than the whole room takes all of it, alone.
    pub async fn take(&self, bytes: u64, models: usize) -> Result<HeldRoom, BlobError> {
        let kb = (bytes.saturating_mul(3 + 4 * models as u64) / 3).div_ceil(1024);
        let kb = u32::try_from(kb).unwrap_or(self.kb).min(self.kb);
        match tokio::time::timeout(self.wait, self.room.clone().acquire_many_owned(kb)).await {
            Ok(Ok(held)) => Ok(held),
            _ => {
                tracing::warn!(kb, "no room for a turn's files in the model requests");
                Err(BlobError::Busy)
            }
        }
    }
}

impl Default for FileRoom {
    fn default() -> Self {
        FileRoom::new(64 * 1024 * 1024, Duration::from_secs(30))
    }
}
