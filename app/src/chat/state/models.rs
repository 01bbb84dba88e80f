//! The picker's models kept true while the page is open: where each stands is asked for every
//! [`MODEL_STATUS_EVERY`] and after every turn's answer (the server answers from its own probes).

use super::ChatState;
use crate::chat::api::model_status;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

pub const MODEL_STATUS_EVERY: Duration = Duration::from_secs(10);

impl ChatState {
    pub fn watch_models(self) {
        set_interval(move || self.refresh_models(), MODEL_STATUS_EVERY);
    }

    /// Asks where the models stand now (also after every turn's answer).
    pub fn refresh_models(self) {
        spawn_local(async move {
            // A failed ask changes nothing: the next one may get through.
            if let Ok(models) = model_status().await {
                if self.models.with_untracked(|m| *m != models) {
                    self.models.set(models);
                }
            }
        })
    }
}
