//! The visitor's chats in the sidebar: renaming and deleting them.

use super::ChatState;
use crate::chat::api::{delete_session, rename_session};
use crate::conversation::SessionSummary;
use leptos::prelude::*;
use leptos::task::spawn_local;

impl ChatState {
    /// `f` of the open chat's entry in the sidebar, if it is there (tracked).
    pub fn with_current<T>(self, f: impl FnOnce(&SessionSummary) -> T) -> Option<T> {
        let current = self.current.get();
        self.sessions
            .with(|all| all.iter().find(|s| Some(&s.id) == current.as_ref()).map(f))
    }

    pub fn rename(self, id: String, title: String) {
        spawn_local(async move {
            match rename_session(id.clone(), title).await {
                Ok(summary) => {
                    self.sessions.update(|all| {
                        if let Some(s) = all.iter_mut().find(|s| s.id == summary.id) {
                            *s = summary;
                        }
                    });
                    // The entry is drawn anew with its new name: focus goes to its link, not
                    // back to the top of the page.
                    request_animation_frame(move || {
                        crate::chat::page::focus(&format!("[data-session=\"{id}\"] .session-title"))
                    });
                }
                Err(error) => self.show_error(error),
            }
        });
    }

    pub fn delete(self, id: String) {
        spawn_local(async move {
            match delete_session(id.clone()).await {
                Ok(()) => {
                    self.sessions.update(|all| all.retain(|s| s.id != id));
                    if self.current.get_untracked().as_deref() == Some(id.as_str()) {
                        self.clear(false);
                    }
                }
                Err(error) => self.show_error(error),
            }
        });
    }
}
