//! The turn the page waits for: how long it has waited, Stop (the button, or Esc), and "Ask
//! Gemini instead" (stop it, then send the same words to Gemini).

use super::browser::{now_ms, random_hex};
use super::{ChatState, Failure, Outgoing, Target};
use crate::announce;
use crate::chat::api::stop_turn;
use crate::conversation::{Message, Role, TurnStatus};
use crate::errors::ChatError;
use crate::models::ModelId;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// A turn the page shows pending: this tab's own send, or one it follows.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    pub text: String,
    pub target: Target,
    pub chat: String,
    pub turn: String,
    /// When it was sent, on the server's clock.
    pub since_ms: i64,
}

impl Waiting {
    /// A pending message the page follows (it did not send it, or was reloaded since).
    pub fn followed(m: &Message, chat: String, now: i64) -> Waiting {
        Waiting {
            text: m.text.clone(),
            target: Target::One(m.model),
            chat,
            turn: m.turn.clone().unwrap_or_default(),
            since_ms: m.since_ms.unwrap_or(now),
        }
    }
}

/// How many times a Stop is tried again while its send has not reached the server yet.
const STOP_TRIES: u32 = 8;

impl ChatState {
    /// Unix ms on the server's clock (the browser's, corrected by the skew measured at load).
    pub fn clock(&self) -> i64 {
        now_ms() + self.skew.get_value()
    }

    /// Keeps `now` ticking, for the elapsed time of a pending turn.
    pub fn tick(self) {
        set_interval(
            move || self.now.set(self.clock()),
            std::time::Duration::from_secs(1),
        );
    }

    /// Whether a turn of this chat is pending (tracked): a chat takes one turn at a time, and the
    /// pending one may be this tab's, or one it is following after a reload.
    pub fn is_waiting(&self) -> bool {
        self.pending.with(Option::is_some)
            || self
                .messages
                .with(|ms| ms.last().is_some_and(|m| m.status == TurnStatus::Pending))
    }

    /// The turn this page waits for, if any (tracked).
    pub fn waiting(&self) -> Option<Waiting> {
        if let Some(out) = self.pending.get() {
            return Some(Waiting {
                chat: out.chat.or(out.start).unwrap_or_default(),
                turn: out.turn.unwrap_or_default(),
                text: out.text,
                target: out.target,
                since_ms: out.since_ms,
            });
        }
        let chat = self.current.get()?;
        self.messages.with(|ms| {
            ms.last()
                .filter(|m| m.role == Role::User && m.status == TurnStatus::Pending)
                .map(|m| Waiting::followed(m, chat, self.now.get_untracked()))
        })
    }

    /// Stops the pending turn; its words go back in the message box.
    pub fn stop(self) {
        self.stop_then(None);
    }

    /// Stops the pending turn and sends its words to `model` instead.
    pub fn ask_instead(self, model: ModelId) {
        self.stop_then(Some(model));
    }

    fn stop_then(self, then: Option<ModelId>) {
        // A Stop already on its way answers for this turn.
        if self
            .pending
            .with_untracked(|p| p.as_ref().is_some_and(|p| p.stopping))
        {
            return;
        }
        let Some(waiting) = untrack(|| self.waiting()) else {
            return;
        };
        // This tab's own send, if it was one, no longer owns the page: its answer is ignored.
        // Its words stay on the page until the Stop answers with the turn as stored.
        let own = self.pending.get_untracked();
        self.pending.update(|p| {
            if let Some(p) = p {
                p.stopping = true;
            }
        });
        self.announcement.set("Stopping…".into());
        self.request_stop(waiting, own, then, self.epoch.get_untracked(), STOP_TRIES);
    }

    fn request_stop(
        self,
        waiting: Waiting,
        own: Option<Outgoing>,
        then: Option<ModelId>,
        epoch: u32,
        tries: u32,
    ) {
        spawn_local(async move {
            let result = stop_turn(waiting.chat.clone(), waiting.turn.clone()).await;
            if self.epoch.get_untracked() != epoch {
                return;
            }
            match result {
                Ok(turn) => self.stopped(turn, waiting, own, then),
                // A Stop right after Send can overtake the send: try again shortly.
                Err(ChatError::NoSuchChat) if own.is_some() && tries > 1 => set_timeout(
                    move || self.request_stop(waiting, own, then, epoch, tries - 1),
                    std::time::Duration::from_millis(400),
                ),
                // Not stopped: this tab's send, if it was one, goes on as before.
                Err(error) => {
                    self.announcement.set(String::new());
                    self.pending.set(own);
                    self.failed.set(Some(Failure { error, send: None }));
                }
            }
        });
    }

    /// The turn as the Stop left it: stopped, or ended before the Stop got there.
    fn stopped(
        self,
        turn: Vec<Message>,
        waiting: Waiting,
        own: Option<Outgoing>,
        then: Option<ModelId>,
    ) {
        let stopped = turn
            .first()
            .is_some_and(|m| m.status == TurnStatus::Stopped);
        let replies = announce::replies(&turn[turn.len().min(1)..]);
        self.messages.update(|ms| {
            if let Some(first) = turn.first() {
                ms.retain(|m| m.seq < first.seq);
            }
            ms.extend(turn);
        });
        // The stopped send's words leave their pending place once the stored turn shows them.
        if own.is_some() {
            self.pending.set(None);
        }
        match then {
            Some(model) if stopped => self.send(Outgoing {
                text: waiting.text,
                target: Target::One(model),
                // This tab's send goes again with its files.
                files: own.as_ref().and_then(|o| o.files.clone()),
                params: own.map_or_else(|| self.settings_untracked().params, |o| o.params),
                chat: Some(waiting.chat),
                start: None,
                turn: random_hex(16),
                since_ms: 0,
                edits: None,
                stopping: false,
            }),
            _ if stopped => {
                self.announcement.set("Stopped.".into());
                if self.draft.get_untracked().trim().is_empty() {
                    self.draft.set(waiting.text);
                }
            }
            _ => self.announcement.set(replies),
        }
    }
}
