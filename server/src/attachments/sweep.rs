//! Files never sent in a chat (a closed tab, a refused send, a crash between the record and the
//! bytes) are deleted a day after they were stored: by each replica, every `FILE_SWEEP_SECS`.

use app::services::Services;
use std::time::Duration;

/// How long a file may wait to be sent.
pub const UNSENT_FOR: Duration = Duration::from_secs(24 * 60 * 60);

/// The most files one sweep deletes.
const BATCH: usize = 200;

/// Deletes the files stored before `before_ms` and never sent; returns how many.
pub async fn sweep_once(services: &Services, before_ms: i64) -> Result<usize, String> {
    let orphans = services
        .files
        .orphan_files(before_ms, BATCH)
        .await
        .map_err(|e| e.to_string())?;
    for id in &orphans {
        services.blobs.delete(id).await.map_err(|e| e.to_string())?;
    }
    services
        .files
        .forget_files(&orphans)
        .await
        .map_err(|e| e.to_string())?;
    Ok(orphans.len())
}

/// Sweeps every `every`, files unsent for `unsent_for`.
pub fn sweep_in_background(services: Services, every: Duration, unsent_for: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let before = app::chat::ssr::now_ms() - unsent_for.as_millis() as i64;
            match sweep_once(&services, before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(files = n, "unsent files deleted"),
                Err(e) => tracing::warn!(error = %e, "file sweep failed; trying again later"),
            }
        }
    });
}
