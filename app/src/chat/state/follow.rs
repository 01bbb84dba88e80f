//! Following a turn this page did not send: after a reload, or sent from another tab, the page
//! asks for it every 1.5 s until it is answered or failed.

use super::ChatState;
use crate::announce;
use crate::chat::api::turn_status;
use crate::conversation::{Role, TurnStatus, TurnView};
use crate::errors::ChatError;
use leptos::prelude::*;
use leptos::task::spawn_local;

impl ChatState {
    /// Follows the address after back/forward.
    pub fn follow_address(self, path: &str) {
        match crate::chat::chat_in_path(path) {
            Some(id) if self.current.get_untracked().as_deref() != Some(id) => {
                self.open(id.to_string(), false)
            }
            Some(_) => {}
            None => self.start_new_chat(false),
        }
    }

    /// Follows a turn this page shows pending but did not send (after a reload, or sent from
    /// another tab) until it is answered or fails: a small status request every 1.5 s.
    pub fn watch_pending(self) {
        let pending = self.messages.with_untracked(|ms| {
            ms.iter()
                .rev()
                .find(|m| m.role == Role::User)
                .filter(|m| m.status == TurnStatus::Pending)
                .and_then(|m| m.turn.clone())
        });
        if let (Some(turn), Some(chat)) = (pending, self.current.get_untracked()) {
            self.poll_turn(chat, turn, self.epoch.get_untracked());
        }
    }

    fn poll_turn(self, chat: String, turn: String, epoch: u32) {
        set_timeout(
            move || {
                spawn_local(async move {
                    if self.epoch.get_untracked() != epoch {
                        return;
                    }
                    let result = turn_status(chat.clone(), turn.clone()).await;
                    if self.epoch.get_untracked() != epoch {
                        return;
                    }
                    match result {
                        // Still waiting, or the network blinked: ask again.
                        Ok(None) | Err(ChatError::Transport(_)) => {
                            self.poll_turn(chat, turn, epoch)
                        }
                        Ok(Some(TurnView {
                            user,
                            replies,
                            session,
                        })) => {
                            self.announcement.set(announce::replies(&replies));
                            self.messages.update(|ms| {
                                ms.retain(|m| m.seq < user.seq);
                                ms.push(user);
                                ms.extend(replies);
                            });
                            self.sessions.update(|all| {
                                all.retain(|s| s.id != session.id);
                                all.insert(0, session);
                            });
                        }
                        Err(error) => {
                            // Stopped (in another tab, or here): said without alarm.
                            let status = if error == ChatError::Stopped {
                                self.announcement.set("Stopped.".into());
                                TurnStatus::Stopped
                            } else {
                                self.announcement.set(String::new());
                                self.alert.set(format!("Not answered: {error}"));
                                TurnStatus::Failed
                            };
                            self.messages.update(|ms| {
                                if let Some(m) = ms
                                    .iter_mut()
                                    .rev()
                                    .find(|m| m.turn.as_deref() == Some(turn.as_str()))
                                {
                                    m.status = status;
                                    m.turn = None;
                                    m.error = (status == TurnStatus::Failed).then_some(error);
                                }
                            })
                        }
                    }
                });
            },
            std::time::Duration::from_millis(1500),
        );
    }
}
