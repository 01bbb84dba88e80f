//! A cap on requests in flight to one backend. Past the cap a request waits briefly, then is
//! told the model is busy, instead of piling up behind a saturated GPU.

use app::errors::ModelError;
use app::models::ModelId;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

pub struct InFlight {
    model: ModelId,
    slots: Semaphore,
    max_wait: Duration,
}

impl InFlight {
    pub fn new(model: ModelId, max: usize, max_wait: Duration) -> Self {
        InFlight {
            model,
            slots: Semaphore::new(max),
            max_wait,
        }
    }

    pub async fn enter(&self) -> Result<SemaphorePermit<'_>, ModelError> {
        match tokio::time::timeout(self.max_wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ModelError::Busy(self.model)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_past_the_cap_after_a_short_wait() {
        let cap = InFlight::new(ModelId::Gemma, 1, Duration::from_millis(20));
        let held = cap.enter().await.expect("first slot");
        assert_eq!(
            cap.enter().await.err(),
            Some(ModelError::Busy(ModelId::Gemma))
        );
        drop(held);
        assert!(cap.enter().await.is_ok());
    }
}
