//! "Show earlier": a chat opens at its newest page of messages (`CHAT_PAGE`), and each click
//! puts the page before it on top, read from the server, keeping the reader's place. Without
//! JavaScript the same link loads the chat from an earlier message on.

use super::{ChatState, Failure};
use crate::chat::api::open_session;
use leptos::prelude::*;
use leptos::task::spawn_local;

impl ChatState {
    /// The first message shown, if the chat has earlier ones. Sequence numbers count from 0
    /// without gaps, so any other first message has some before it.
    pub fn first_shown(&self) -> Option<u64> {
        self.messages
            .with(|ms| ms.first().map(|m| m.seq))
            .filter(|seq| *seq > 0)
    }

    pub fn show_earlier(self) {
        let (Some(chat), Some(before)) = (
            self.current.get_untracked(),
            self.messages.with_untracked(|ms| ms.first().map(|m| m.seq)),
        ) else {
            return;
        };
        let epoch = self.epoch.get_untracked();
        spawn_local(async move {
            let result = open_session(chat, Some(before)).await;
            if self.epoch.get_untracked() != epoch {
                return;
            }
            match result {
                Ok(earlier) => {
                    // A second click answered first has put some of these on already.
                    let first = self
                        .messages
                        .with_untracked(|ms| ms.first().map_or(u64::MAX, |m| m.seq));
                    let earlier: Vec<_> = earlier.into_iter().filter(|m| m.seq < first).collect();
                    let count = earlier.len();
                    // The reader stays where they were: the same distance from the bottom.
                    let transcript = document().query_selector(".transcript").ok().flatten();
                    let from_bottom = transcript
                        .as_ref()
                        .map(|el| el.scroll_height() - el.scroll_top());
                    self.messages.update(|ms| {
                        ms.splice(0..0, earlier);
                    });
                    if let (Some(el), Some(d)) = (transcript, from_bottom) {
                        request_animation_frame(move || el.set_scroll_top(el.scroll_height() - d));
                    }
                    self.announcement
                        .set(format!("{count} earlier messages shown above."));
                }
                Err(error) => self.failed.set(Some(Failure { error, send: None })),
            }
        });
    }
}
