//! The page's state in the browser, and what the user's actions do to it. The open chat is
//! `current`, mirrored in the address (`/c/{id}`, or `/` for a new chat) through the history
//! API, so back/forward and bookmarks work and every tab keeps its own chat.

use super::api::{compare_models, open_session, send_message};
use super::chat_path;
use crate::announce;
use crate::components::attach;
use crate::conversation::{ChatView, Message, SessionSummary, TurnStatus, TurnView};
use crate::errors::ChatError;
use crate::models::{ModelId, ModelOption};
use crate::params::{decimal, GenParams, Settings, Thinking};
use leptos::prelude::*;
use leptos::task::spawn_local;

mod browser;
mod earlier;
mod follow;
mod models;
mod outgoing;
mod sessions;
mod stop;

#[cfg(feature = "hydrate")]
pub use browser::{fill_from_page, typed_draft};
use browser::{navigate, random_hex};
pub use outgoing::{Failure, Outgoing, Target};
pub use stop::Waiting;

/// The page's reactive state. Every field is a signal, so the struct is `Copy`.
#[derive(Clone, Copy)]
pub struct ChatState {
    pub messages: RwSignal<Vec<Message>>,
    /// The visitor's chats, newest first, and the open one.
    pub sessions: RwSignal<Vec<SessionSummary>>,
    pub current: RwSignal<Option<String>>,
    /// The sidebar's paging and search, as the page was loaded with them.
    pub more_before: StoredValue<Option<i64>>,
    pub paged: StoredValue<bool>,
    pub search: StoredValue<Option<String>>,
    /// The picker's models and where each stands, refreshed while the page is open.
    pub models: RwSignal<Vec<ModelOption>>,
    pub model: RwSignal<ModelId>,
    pub temperature: RwSignal<f32>,
    pub top_p: RwSignal<f32>,
    pub max_tokens: RwSignal<u32>,
    /// Gemini's thinking: the chat's own (as its last message was sent), else the browser's.
    pub thinking: RwSignal<Option<Thinking>>,
    pub draft: RwSignal<String>,
    /// The last message's position while it is being edited: the next send replaces it.
    pub editing: RwSignal<Option<u64>>,
    /// The files of the message being edited: sent again with the edit.
    pub edit_files: StoredValue<String>,
    /// Files in the composer (with JavaScript, `components::attach`): how many are stored,
    /// and whether one is still going up (Send waits for it).
    pub chips: RwSignal<u32>,
    pub uploading: RwSignal<bool>,
    pub pending: RwSignal<Option<Outgoing>>,
    pub failed: RwSignal<Option<Failure>>,
    /// Bumped whenever the open chat changes, so a reply still in flight for another chat is
    /// not shown in this one (it is stored in its own chat all the same).
    pub epoch: RwSignal<u32>,
    /// False during SSR and until hydration: controls stay usable without JavaScript.
    pub hydrated: RwSignal<bool>,
    /// The turn id the no-JavaScript form posts with.
    pub next_turn: StoredValue<String>,
    /// The time (Unix ms on the server's clock), ticking each second in the browser: pending
    /// turns show how long they have waited.
    pub now: RwSignal<i64>,
    /// The server's clock minus the browser's, measured at load.
    pub skew: StoredValue<i64>,
    pub offer_gemini_after_s: StoredValue<u32>,
    /// The server's system prompt, for a chat without its own.
    pub default_system_prompt: StoredValue<Option<String>>,
    /// What the page's polite live region says: the pending state, then each reply once.
    pub announcement: RwSignal<String>,
    /// An error found while nobody was looking at an alert (a followed turn failed): said
    /// assertively, once.
    pub alert: RwSignal<String>,
}

impl ChatState {
    pub fn new(initial: ChatView) -> Self {
        let Settings { model, params } = initial.settings;
        // A turn just stopped (without JavaScript, a Stop post lands here) or being edited (the
        // Edit link): its words are in the message box.
        let shown = &initial.messages.0;
        let draft = shown
            .last()
            .filter(|m| m.status == TurnStatus::Stopped)
            .or_else(|| shown.iter().rev().find(|m| Some(m.seq) == initial.editing))
            .map(|m| m.text.clone())
            .unwrap_or_default();
        ChatState {
            messages: RwSignal::new(initial.messages.0),
            sessions: RwSignal::new(initial.sessions),
            current: RwSignal::new(initial.current),
            more_before: StoredValue::new(initial.more_before),
            paged: StoredValue::new(initial.paged),
            search: StoredValue::new(initial.search),
            models: RwSignal::new(initial.models),
            model: RwSignal::new(model),
            temperature: RwSignal::new(params.temperature),
            top_p: RwSignal::new(params.top_p),
            max_tokens: RwSignal::new(params.max_tokens),
            thinking: RwSignal::new(params.thinking),
            draft: RwSignal::new(draft),
            editing: RwSignal::new(initial.editing),
            edit_files: StoredValue::new(initial.edit_files),
            chips: RwSignal::new(0),
            uploading: RwSignal::new(false),
            pending: RwSignal::new(None),
            // An error from a no-JavaScript post arrives with the page; it has no retry payload.
            failed: RwSignal::new(initial.error.map(|error| Failure { error, send: None })),
            epoch: RwSignal::new(0),
            hydrated: RwSignal::new(false),
            next_turn: StoredValue::new(initial.next_turn),
            now: RwSignal::new(initial.now_ms),
            skew: StoredValue::new(initial.now_ms - browser::now_ms()),
            offer_gemini_after_s: StoredValue::new(initial.offer_gemini_after_s),
            default_system_prompt: StoredValue::new(initial.default_system_prompt),
            announcement: RwSignal::new(String::new()),
            alert: RwSignal::new(String::new()),
        }
    }

    pub fn settings(&self) -> Settings {
        Settings {
            model: self.model.get(),
            params: GenParams {
                temperature: self.temperature.get(),
                top_p: self.top_p.get(),
                max_tokens: self.max_tokens.get(),
                thinking: self.thinking.get(),
            },
        }
    }

    /// Whether the picker lets the user choose `model`.
    pub fn selectable(&self, model: ModelId) -> bool {
        self.models.with_untracked(|ms| {
            ms.iter()
                .any(|m| m.id == model && m.availability.selectable())
        })
    }

    /// Sends the draft with the current settings, to the picked model or to both.
    pub fn submit_draft(self, both: bool) {
        if untrack(|| self.is_waiting()) {
            return;
        }
        let text = self.draft.get_untracked();
        // The form's files: an edited message's and the composer's chips.
        let files = attach::files_in_form();
        // Files still going up hold the send back (Send is disabled meanwhile).
        if (text.trim().is_empty() && files.is_empty()) || self.uploading.get_untracked() {
            return;
        }
        let settings = self.settings_untracked();
        self.draft.set(String::new());
        let chat = self.current.get_untracked();
        // A new chat gets its id here, so its address is in the bar before the reply: a reload
        // while waiting comes back to this chat and its pending message.
        let start = if chat.is_none() { random_hex(32) } else { None };
        if let Some(id) = &start {
            self.current.set(Some(id.clone()));
            navigate(&chat_path(id), false);
        }
        self.send(Outgoing {
            text,
            target: if both {
                Target::Both
            } else {
                Target::One(settings.model)
            },
            params: settings.params,
            chat,
            start,
            turn: random_hex(16),
            since_ms: 0,
            edits: self.editing.get_untracked(),
            files: (!files.is_empty()).then(|| files.join(",")),
            stopping: false,
        });
        self.editing.set(None);
    }

    pub(crate) fn settings_untracked(&self) -> Settings {
        Settings {
            model: self.model.get_untracked(),
            params: GenParams {
                temperature: self.temperature.get_untracked(),
                top_p: self.top_p.get_untracked(),
                max_tokens: self.max_tokens.get_untracked(),
                thinking: self.thinking.get_untracked(),
            },
        }
    }

    fn send(self, mut outgoing: Outgoing) {
        outgoing.since_ms = self.clock();
        self.failed.set(None);
        self.announcement
            .set(format!("Sent. {}", outgoing.target.thinking()));
        self.pending.set(Some(outgoing.clone()));
        let epoch = self.epoch.get_untracked();
        spawn_local(async move {
            let (text, p, chat, start, turn) = (
                outgoing.text.clone(),
                outgoing.params,
                outgoing.chat.clone(),
                outgoing.start.clone(),
                outgoing.turn.clone(),
            );
            let result = match outgoing.target {
                Target::One(model) => {
                    send_message(
                        chat,
                        start,
                        turn,
                        text,
                        model.as_str().to_string(),
                        decimal(p.temperature.into(), 2),
                        decimal(p.top_p.into(), 2),
                        p.max_tokens.to_string(),
                        None,
                        outgoing.edits.map(|seq| seq.to_string()),
                        p.thinking.map(|t| t.to_string()),
                        outgoing.files.clone(),
                    )
                    .await
                }
                Target::Both => {
                    compare_models(
                        chat,
                        start,
                        turn,
                        text,
                        decimal(p.temperature.into(), 2),
                        decimal(p.top_p.into(), 2),
                        p.max_tokens.to_string(),
                        p.thinking.map(|t| t.to_string()),
                        outgoing.files.clone(),
                    )
                    .await
                }
            };
            // Every turn's answer is news of the models (one just failed, or came back): the
            // picker asks where they stand now, not at the next tick.
            self.refresh_models();
            // The sidebar learns of the chat whatever the tab shows now.
            if let Ok(TurnView { session, .. }) = &result {
                let session = session.clone();
                self.sessions.update(|all| {
                    all.retain(|s| s.id != session.id);
                    all.insert(0, session);
                });
            }
            // Sent: its files leave the composer (they stay there if it failed).
            if result.is_ok() {
                attach::mark_sent(outgoing.files.as_deref().unwrap_or_default());
            }
            // Another chat is open now, or this send was stopped (its answer is the Stop's).
            let ours = self.pending.with_untracked(|p| {
                p.as_ref()
                    .is_some_and(|p| p.turn == outgoing.turn && !p.stopping)
            });
            if self.epoch.get_untracked() != epoch || !ours {
                return;
            }
            self.pending.set(None);
            match result {
                Ok(TurnView {
                    user,
                    replies,
                    session,
                }) => {
                    self.announcement.set(announce::replies(&replies));
                    self.messages.update(|m| {
                        if let Some(edited) = m.iter_mut().find(|m| Some(m.seq) == outgoing.edits) {
                            edited.status = TurnStatus::Replaced;
                        }
                        m.push(user);
                        m.extend(replies);
                    });
                    if self.current.get_untracked().is_none() {
                        // The first message made the chat: give it its address.
                        navigate(&chat_path(&session.id), false);
                    }
                    self.current.set(Some(session.id));
                }
                Err(error) => {
                    // Keep the user's words: put them back unless they have typed something new.
                    if self.draft.get_untracked().trim().is_empty() {
                        self.draft.set(outgoing.text.clone());
                    }
                    // Stopped from another tab: the chat shows it as the store has it.
                    if let (ChatError::Stopped, Some(chat)) = (&error, self.current.get_untracked())
                    {
                        return self.open(chat, false);
                    }
                    // A new chat exists once a model was asked; refused before that (limits,
                    // input), it was never made, so the page goes back to a new chat.
                    if outgoing.start.is_some() && !matches!(error, ChatError::Model(_)) {
                        self.current.set(None);
                        navigate("/", false);
                    }
                    self.failed.set(Some(Failure {
                        error,
                        send: Some(outgoing),
                    }));
                }
            }
        });
    }

    /// Shows an error that has no message to retry (opening, renaming…).
    fn show_error(self, error: ChatError) {
        self.failed.set(Some(Failure { error, send: None }));
    }

    /// Switches to one of the visitor's chats; `push` adds it to the history (a click), or not
    /// (back/forward, which has moved the address already).
    pub fn open(self, id: String, push: bool) {
        self.epoch.update(|e| *e += 1);
        self.editing.set(None);
        // Opening a chat is silent: its messages are there to read, not to be read out.
        self.announcement.set(String::new());
        self.alert.set(String::new());
        if push {
            navigate(&chat_path(&id), true);
        }
        spawn_local(async move {
            match open_session(id.clone(), None).await {
                Ok(messages) => {
                    // The chat's own thinking setting, as its newest message was sent.
                    if let Some(t) = messages.iter().rev().find_map(|m| m.thinking) {
                        self.thinking.set(Some(t));
                    }
                    self.messages.set(messages);
                    self.current.set(Some(id));
                    self.pending.set(None);
                    self.failed.set(None);
                    self.watch_pending();
                }
                Err(error) => {
                    self.current.set(None);
                    self.messages.set(Vec::new());
                    self.show_error(error);
                }
            }
        });
    }

    /// A new chat: an empty transcript at `/`. Nothing is stored until the first message.
    pub fn start_new_chat(self, push: bool) {
        self.clear(push);
        self.draft.set(String::new());
    }

    fn clear(self, push: bool) {
        self.epoch.update(|e| *e += 1);
        self.editing.set(None);
        self.announcement.set(String::new());
        self.alert.set(String::new());
        self.current.set(None);
        self.messages.set(Vec::new());
        self.pending.set(None);
        self.failed.set(None);
        navigate("/", push);
    }
}
