//! The background probes both backends run, so a page render never waits on a model.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Calls `check` on the backend now and then every `interval`, until the backend is dropped.
pub async fn every<B, F, Fut>(backend: Weak<B>, interval: Duration, check: F)
where
    F: Fn(Arc<B>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(backend) = backend.upgrade() else {
            break;
        };
        check(backend).await;
    }
}
