//! The chat page: its state, its server functions, and how a message is sent.

use crate::components::{
    composer::Composer, settings_panel::SettingsPanel, transcript::Transcript,
};
use crate::conversation::{ChatView, Message, TurnView};
use crate::errors::ChatError;
use crate::models::{ModelId, ModelOption};
use crate::params::{GenParams, Settings};
use leptos::either::Either;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos::task::spawn_local;

/// Loads the visitor's session for the first render. During SSR this runs in-process with the
/// page request's cookies; the result is serialised into the HTML, so hydration needs no fetch.
#[server(prefix = "/api", endpoint = "load_chat")]
pub async fn load_chat() -> Result<ChatView, ChatError> {
    ssr::load_chat().await
}

/// Sends one message. The history comes from the store, never from the client.
#[server(prefix = "/api", endpoint = "send")]
pub async fn send_message(
    message: String,
    model: String,
    temperature: String,
    top_p: String,
    max_tokens: String,
) -> Result<TurnView, ChatError> {
    ssr::send_message(&message, &model, &temperature, &top_p, &max_tokens).await
}

/// Starts a fresh session: the old one stays stored, the cookie no longer points at it.
#[server(prefix = "/api", endpoint = "new_chat")]
pub async fn new_chat() -> Result<(), ChatError> {
    ssr::new_chat()
}

/// A send that is in flight or has failed, kept so it can be shown and retried.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub text: String,
    pub model: ModelId,
    pub params: GenParams,
}

/// The page's reactive state. Every field is a signal, so the struct is `Copy`.
#[derive(Clone, Copy)]
pub struct ChatState {
    pub messages: RwSignal<Vec<Message>>,
    pub models: StoredValue<Vec<ModelOption>>,
    pub model: RwSignal<ModelId>,
    pub temperature: RwSignal<f32>,
    pub top_p: RwSignal<f32>,
    pub max_tokens: RwSignal<u32>,
    pub draft: RwSignal<String>,
    pub pending: RwSignal<Option<Outgoing>>,
    pub failed: RwSignal<Option<(Outgoing, ChatError)>>,
    /// Bumped by "New chat" so a reply still in flight for the old session is dropped.
    pub epoch: RwSignal<u32>,
    /// False during SSR and until hydration: controls stay usable without JavaScript.
    pub hydrated: RwSignal<bool>,
}

impl ChatState {
    fn new(initial: ChatView) -> Self {
        let Settings { model, params } = initial.settings;
        ChatState {
            messages: RwSignal::new(initial.messages),
            models: StoredValue::new(initial.models),
            model: RwSignal::new(model),
            temperature: RwSignal::new(params.temperature),
            top_p: RwSignal::new(params.top_p),
            max_tokens: RwSignal::new(params.max_tokens),
            draft: RwSignal::new(String::new()),
            pending: RwSignal::new(None),
            // An error from a no-JavaScript post arrives with the page; it has no retry payload.
            failed: RwSignal::new(initial.error.map(|e| {
                (
                    Outgoing {
                        text: String::new(),
                        model,
                        params,
                    },
                    e,
                )
            })),
            epoch: RwSignal::new(0),
            hydrated: RwSignal::new(false),
        }
    }

    pub fn settings(&self) -> Settings {
        Settings {
            model: self.model.get(),
            params: GenParams {
                temperature: self.temperature.get(),
                top_p: self.top_p.get(),
                max_tokens: self.max_tokens.get(),
            },
        }
    }

    /// Sends the draft with the current settings.
    pub fn submit_draft(self) {
        if self.pending.get_untracked().is_some() {
            return;
        }
        let text = self.draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        let settings = self.settings_untracked();
        self.draft.set(String::new());
        self.send(Outgoing {
            text,
            model: settings.model,
            params: settings.params,
        });
    }

    /// Sends the failed message again, exactly as it was.
    pub fn retry(self) {
        if let Some((outgoing, _)) = self.failed.get_untracked() {
            if !outgoing.text.is_empty() && self.pending.get_untracked().is_none() {
                if self.draft.get_untracked() == outgoing.text {
                    self.draft.set(String::new());
                }
                self.send(outgoing);
            }
        }
    }

    fn settings_untracked(&self) -> Settings {
        Settings {
            model: self.model.get_untracked(),
            params: GenParams {
                temperature: self.temperature.get_untracked(),
                top_p: self.top_p.get_untracked(),
                max_tokens: self.max_tokens.get_untracked(),
            },
        }
    }

    fn send(self, outgoing: Outgoing) {
        self.failed.set(None);
        self.pending.set(Some(outgoing.clone()));
        let epoch = self.epoch.get_untracked();
        spawn_local(async move {
            let result = send_message(
                outgoing.text.clone(),
                outgoing.model.as_str().to_string(),
                outgoing.params.temperature.to_string(),
                outgoing.params.top_p.to_string(),
                outgoing.params.max_tokens.to_string(),
            )
            .await;
            if self.epoch.get_untracked() != epoch {
                return;
            }
            self.pending.set(None);
            match result {
                Ok(TurnView { user, reply }) => {
                    self.messages.update(|m| {
                        m.push(user);
                        m.push(reply);
                    });
                }
                Err(error) => {
                    // Keep the user's words: put them back unless they have typed something new.
                    if self.draft.get_untracked().trim().is_empty() {
                        self.draft.set(outgoing.text.clone());
                    }
                    self.failed.set(Some((outgoing, error)));
                }
            }
        });
    }

    pub fn start_new_chat(self) {
        self.epoch.update(|e| *e += 1);
        spawn_local(async move {
            match new_chat().await {
                Ok(()) => {
                    self.messages.set(Vec::new());
                    self.pending.set(None);
                    self.failed.set(None);
                    self.draft.set(String::new());
                }
                Err(error) => self.failed.set(Some((
                    Outgoing {
                        text: String::new(),
                        model: self.model.get_untracked(),
                        params: self.settings_untracked().params,
                    },
                    error,
                ))),
            }
        });
    }
}

#[component]
pub fn ChatPage() -> impl IntoView {
    let chat = Resource::new_blocking(|| (), |_| load_chat());
    view! {
        <Suspense fallback=|| view! { <main class="app">"Loading…"</main> }>
            {move || Suspend::new(async move {
                match chat.await {
                    Ok(initial) => Either::Left(view! { <ChatScreen initial/> }),
                    Err(error) => Either::Right(view! {
                        <main class="app">
                            <p class="error" role="alert">{error.to_string()}</p>
                        </main>
                    }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ChatScreen(initial: ChatView) -> impl IntoView {
    let state = ChatState::new(initial);
    provide_context(state);
    Effect::new(move |_| state.hydrated.set(true));
    Effect::new(move |_| {
        let cookie = state.settings().to_cookie_value();
        write_settings_cookie(&cookie);
    });

    view! {
        // `data-hydrated` tells tests (and curious people) that the wasm has taken over.
        <main class="app" data-hydrated=move || state.hydrated.get().then_some("true")>
            <header class="topbar">
                <h1>"hybrid-chat"</h1>
                <p class="tagline">"Gemma on your cluster, Gemini on Vertex AI: one conversation."</p>
                <form
                    class="new-chat"
                    method="post"
                    action=NewChat::PATH
                    on:submit=move |ev| {
                        ev.prevent_default();
                        state.start_new_chat();
                    }
                >
                    <button type="submit" class="secondary">"New chat"</button>
                </form>
            </header>
            <SettingsPanel/>
            <section class="conversation">
                <Transcript/>
                <Composer/>
            </section>
        </main>
    }
}

#[cfg(feature = "hydrate")]
fn write_settings_cookie(value: &str) {
    use wasm_bindgen::JsCast;
    if let Some(doc) = document().dyn_ref::<web_sys::HtmlDocument>() {
        let _ = doc.set_cookie(&format!(
            "{}={value}; Path=/; Max-Age=31536000; SameSite=Lax",
            crate::params::SETTINGS_COOKIE
        ));
    }
}

#[cfg(not(feature = "hydrate"))]
fn write_settings_cookie(_value: &str) {}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{NewChat, SendMessage};
    use crate::conversation::{ChatView, Message, NewTurn, Role, StoredMessage, TurnView};
    use crate::errors::{ChatError, ModelError, StoreError};
    use crate::markdown;
    use crate::params::{SendRequest, Settings};
    use crate::services::{PromptMessage, Services};
    use crate::session::{self, SessionId};
    use http::request::Parts;
    use leptos::prelude::*;
    use leptos::server_fn::ServerFn;
    use leptos_axum::ResponseOptions;
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    fn services() -> Result<Services, ChatError> {
        use_context::<Services>().ok_or_else(|| {
            tracing::error!("Services were not provided as context");
            ChatError::Transport("server error".into())
        })
    }

    fn parts() -> Parts {
        use_context::<Parts>().unwrap_or_else(|| http::Request::new(()).into_parts().0)
    }

    fn respond_with(header: (http::HeaderName, http::HeaderValue)) {
        if let Some(res) = use_context::<ResponseOptions>() {
            res.append_header(header.0, header.1);
        }
    }

    fn now_ms() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    }

    pub fn to_view(m: StoredMessage) -> Message {
        let html = (m.role == Role::Model).then(|| markdown::render(&m.text));
        Message {
            seq: m.seq,
            role: m.role,
            model: m.model,
            text: m.text,
            html,
        }
    }

    /// An error that a plain form post's redirect carried back in the URL (`__err`).
    fn error_from_redirect(parts: &Parts) -> Option<ChatError> {
        use base64::Engine;
        let query = parts.uri.query()?;
        let mut path = None;
        let mut err = None;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("__path", v)) => path = Some(v),
                Some(("__err", v)) => err = Some(v),
                _ => {}
            }
        }
        let path = path?.replace("%2F", "/");
        if path != SendMessage::PATH && path != NewChat::PATH {
            return None;
        }
        let err = err?.replace("%3D", "=");
        let bytes = base64::engine::general_purpose::URL_SAFE
            .decode(err.as_bytes())
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub async fn load_chat() -> Result<ChatView, ChatError> {
        let services = services()?;
        let parts = parts();
        let models = services.model_options();
        let mut settings = session::settings_from(&parts);
        if !models
            .iter()
            .any(|m| m.id == settings.model && m.availability.selectable())
        {
            if let Some(first) = models.iter().find(|m| m.availability.selectable()) {
                settings.model = first.id;
            }
        }
        let mut error = error_from_redirect(&parts);
        let messages = match session::session_from(&parts) {
            // An unknown (or forged) id loads as an empty chat; the next send replaces it.
            Some(id) => match services.store.load(&id).await {
                Ok(stored) => stored.into_iter().map(to_view).collect(),
                Err(e) => {
                    tracing::warn!(error = ?e, "could not load session");
                    error = error.or(Some(ChatError::Store(e)));
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        Ok(ChatView {
            messages,
            settings,
            models,
            error,
        })
    }

    pub async fn send_message(
        message: &str,
        model: &str,
        temperature: &str,
        top_p: &str,
        max_tokens: &str,
    ) -> Result<TurnView, ChatError> {
        let services = services()?;
        let parts = parts();
        let request = SendRequest::parse(message, model, temperature, top_p, max_tokens)?;
        let secure = session::is_https(&parts);
        respond_with(session::settings_cookie(
            &Settings {
                model: request.model,
                params: request.params,
            },
            secure,
        ));
        let backend = services
            .model(request.model)
            .ok_or(ModelError::NotConfigured(request.model))?;

        let session = match session::session_from(&parts) {
            Some(id) if services.store.exists(&id).await? => id,
            _ => {
                let id = SessionId::generate();
                respond_with(session::session_cookie(&id, secure));
                id
            }
        };

        let history = services.store.load(&session).await?;
        let mut prompt: Vec<PromptMessage> = history
            .into_iter()
            .map(|m| PromptMessage {
                role: m.role,
                text: m.text,
            })
            .collect();
        prompt.push(PromptMessage {
            role: Role::User,
            text: request.text.clone(),
        });

        let user_at_ms = now_ms();
        let started = Instant::now();
        let reply = backend.complete(&prompt, &request.params).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        let reply = match reply {
            Ok(r) if r.text.trim().is_empty() => Err(ModelError::Empty(request.model)),
            other => other,
        };
        let reply = reply.inspect_err(|e| {
            tracing::warn!(model = %request.model, latency_ms, error = ?e, "model call failed");
        })?;
        tracing::info!(
            model = %request.model,
            latency_ms,
            finish_reason = reply.finish_reason.as_deref().unwrap_or(""),
            "turn answered"
        );

        let turn = NewTurn {
            model: request.model,
            params: request.params,
            user_text: request.text,
            user_at_ms,
            reply_text: reply.text,
            reply_at_ms: now_ms(),
            latency_ms,
            usage: reply.usage,
            finish_reason: reply.finish_reason,
        };
        let [user, reply] =
            services
                .store
                .append_turn(&session, &turn)
                .await
                .map_err(|e: StoreError| {
                    tracing::error!(error = ?e, "turn not saved");
                    ChatError::NotSaved
                })?;
        Ok(TurnView {
            user: to_view(user),
            reply: to_view(reply),
        })
    }

    pub fn new_chat() -> Result<(), ChatError> {
        let parts = parts();
        respond_with(session::clear_session_cookie(session::is_https(&parts)));
        Ok(())
    }
}
