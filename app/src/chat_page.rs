//! The chat page: its state, its server functions, and how a message is sent.

use crate::components::{
    composer::Composer, sessions::Sessions, settings_panel::SettingsPanel, transcript::Transcript,
};
use crate::conversation::{ChatView, Message, SessionSummary, TurnView};
use crate::errors::ChatError;
use crate::models::{ModelId, ModelOption};
use crate::params::{GenParams, Settings};
use leptos::either::Either;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos::task::spawn_local;

#[cfg(feature = "ssr")]
pub use ssr::server_fn_paths;

/// Loads the visitor's session for the first render. During SSR this runs in-process with the
/// page request's cookies; the result is serialised into the HTML, so hydration needs no fetch.
#[server(prefix = "/api", endpoint = "load_chat")]
pub async fn load_chat() -> Result<ChatView, ChatError> {
    ssr::reported(ssr::load_chat().await)
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
    ssr::reported(ssr::send_message(&message, &model, &temperature, &top_p, &max_tokens).await)
}

/// Sends one message to both models at once; both replies are stored with the message.
#[server(prefix = "/api", endpoint = "compare")]
pub async fn compare_models(
    message: String,
    temperature: String,
    top_p: String,
    max_tokens: String,
) -> Result<TurnView, ChatError> {
    ssr::reported(ssr::compare_models(&message, &temperature, &top_p, &max_tokens).await)
}

/// Opens one of the visitor's past chats.
#[server(prefix = "/api", endpoint = "open_session")]
pub async fn open_session(id: String) -> Result<Vec<Message>, ChatError> {
    ssr::reported(ssr::open_session(&id).await)
}

#[server(prefix = "/api", endpoint = "rename_session")]
pub async fn rename_session(id: String, title: String) -> Result<SessionSummary, ChatError> {
    ssr::reported(ssr::rename_session(&id, &title).await)
}

#[server(prefix = "/api", endpoint = "delete_session")]
pub async fn delete_session(id: String) -> Result<(), ChatError> {
    ssr::reported(ssr::delete_session(&id).await)
}

/// Starts a fresh session: the old one stays stored, the cookie no longer points at it.
#[server(prefix = "/api", endpoint = "new_chat")]
pub async fn new_chat() -> Result<(), ChatError> {
    ssr::new_chat()
}

/// Who a message is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    One(ModelId),
    /// Compare: the same message to both models.
    Both,
}

impl Target {
    pub fn thinking(self) -> String {
        match self {
            Target::One(m) => format!("{} is thinking…", m.short_name()),
            Target::Both => "Gemma and Gemini are thinking…".into(),
        }
    }
}

/// A send that is in flight or has failed, kept so it can be shown and retried.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub text: String,
    pub target: Target,
    pub params: GenParams,
}

/// The page's reactive state. Every field is a signal, so the struct is `Copy`.
#[derive(Clone, Copy)]
pub struct ChatState {
    pub messages: RwSignal<Vec<Message>>,
    /// The visitor's chats, newest first, and the open one.
    pub sessions: RwSignal<Vec<SessionSummary>>,
    pub current: RwSignal<Option<String>>,
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
            sessions: RwSignal::new(initial.sessions),
            current: RwSignal::new(initial.current),
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
                        target: Target::One(model),
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

    /// Whether the picker lets the user choose `model`.
    pub fn selectable(&self, model: ModelId) -> bool {
        self.models.with_value(|ms| {
            ms.iter()
                .any(|m| m.id == model && m.availability.selectable())
        })
    }

    /// Sends the draft with the current settings, to the picked model or to both.
    pub fn submit_draft(self, both: bool) {
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
            target: if both {
                Target::Both
            } else {
                Target::One(settings.model)
            },
            params: settings.params,
        });
    }

    /// Sends the failed message again, exactly as it was, or to another target.
    pub fn retry(self, target: Option<Target>) {
        if let Some((mut outgoing, _)) = self.failed.get_untracked() {
            if !outgoing.text.is_empty() && self.pending.get_untracked().is_none() {
                if self.draft.get_untracked() == outgoing.text {
                    self.draft.set(String::new());
                }
                if let Some(target) = target {
                    if let Target::One(model) = target {
                        self.model.set(model);
                    }
                    outgoing.target = target;
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
            let (text, p) = (outgoing.text.clone(), outgoing.params);
            let result = match outgoing.target {
                Target::One(model) => {
                    send_message(
                        text,
                        model.as_str().to_string(),
                        p.temperature.to_string(),
                        p.top_p.to_string(),
                        p.max_tokens.to_string(),
                    )
                    .await
                }
                Target::Both => {
                    compare_models(
                        text,
                        p.temperature.to_string(),
                        p.top_p.to_string(),
                        p.max_tokens.to_string(),
                    )
                    .await
                }
            };
            if self.epoch.get_untracked() != epoch {
                return;
            }
            self.pending.set(None);
            match result {
                Ok(TurnView {
                    user,
                    replies,
                    session,
                }) => {
                    self.messages.update(|m| {
                        m.push(user);
                        m.extend(replies);
                    });
                    self.current.set(Some(session.id.clone()));
                    self.sessions.update(|all| {
                        all.retain(|s| s.id != session.id);
                        all.insert(0, session);
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

    /// Shows an error that has no message to retry (opening, renaming, New chat…).
    fn show_error(self, error: ChatError) {
        self.failed.set(Some((
            Outgoing {
                text: String::new(),
                target: Target::One(self.model.get_untracked()),
                params: self.settings_untracked().params,
            },
            error,
        )));
    }

    /// Switches the transcript to one of the visitor's past chats.
    pub fn open(self, id: String) {
        self.epoch.update(|e| *e += 1);
        spawn_local(async move {
            match open_session(id.clone()).await {
                Ok(messages) => {
                    self.messages.set(messages);
                    self.current.set(Some(id));
                    self.pending.set(None);
                    self.failed.set(None);
                }
                Err(error) => self.show_error(error),
            }
        });
    }

    pub fn rename(self, id: String, title: String) {
        spawn_local(async move {
            match rename_session(id, title).await {
                Ok(summary) => self.sessions.update(|all| {
                    if let Some(s) = all.iter_mut().find(|s| s.id == summary.id) {
                        *s = summary;
                    }
                }),
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
                        self.epoch.update(|e| *e += 1);
                        self.current.set(None);
                        self.messages.set(Vec::new());
                        self.pending.set(None);
                    }
                }
                Err(error) => self.show_error(error),
            }
        });
    }

    pub fn start_new_chat(self) {
        self.epoch.update(|e| *e += 1);
        spawn_local(async move {
            match new_chat().await {
                Ok(()) => {
                    self.current.set(None);
                    self.messages.set(Vec::new());
                    self.pending.set(None);
                    self.failed.set(None);
                    self.draft.set(String::new());
                }
                Err(error) => self.show_error(error),
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
            <aside class="sidebar">
                <Sessions/>
                <SettingsPanel/>
            </aside>
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
    use super::{CompareModels, NewChat, SendMessage};
    use crate::conversation::{
        ChatView, Message, NewReply, NewTurn, Role, SessionSummary, StoredMessage, TurnView,
    };
    use crate::errors::{ChatError, InputError, ModelError, StoreError};
    use crate::markdown;
    use crate::models::ModelId;
    use crate::params::{SendRequest, Settings};
    use crate::services::{prompt_history, PromptMessage, Services};
    use crate::session::{self, OwnerId, SessionId};

    /// How many past chats the sidebar shows.
    const SIDEBAR_SESSIONS: usize = 50;
    pub const MAX_TITLE_CHARS: usize = 80;

    /// The session in the visitor's cookie, if it exists and is theirs. Anything else (no
    /// cookie, garbage, someone else's id) is treated alike: no session.
    async fn own_session(
        services: &Services,
        parts: &Parts,
        owner: Option<&OwnerId>,
    ) -> Result<Option<SessionId>, ChatError> {
        let (Some(id), Some(owner)) = (session::session_from(parts), owner) else {
            return Ok(None);
        };
        Ok(owned(services, &id, owner).await?.then_some(id))
    }

    async fn owned(
        services: &Services,
        id: &SessionId,
        owner: &OwnerId,
    ) -> Result<bool, ChatError> {
        Ok(services.store.owner_of(id).await?.as_ref() == Some(owner))
    }

    /// A session id named in a request, if it is the visitor's.
    async fn requested_session(
        services: &Services,
        parts: &Parts,
        id: &str,
    ) -> Result<SessionId, ChatError> {
        let owner = session::owner_from(parts).ok_or(ChatError::NoSuchChat)?;
        let id = SessionId::parse(id.trim()).ok_or(ChatError::NoSuchChat)?;
        if owned(services, &id, &owner).await? {
            Ok(id)
        } else {
            Err(ChatError::NoSuchChat)
        }
    }

    pub async fn open_session(id: &str) -> Result<Vec<Message>, ChatError> {
        let services = services()?;
        let parts = parts();
        let id = requested_session(&services, &parts, id).await?;
        let messages = services.store.load(&id).await?;
        respond_with(session::session_cookie(&id, session::is_https(&parts)));
        Ok(messages.into_iter().map(to_view).collect())
    }

    pub async fn rename_session(id: &str, title: &str) -> Result<SessionSummary, ChatError> {
        let services = services()?;
        let parts = parts();
        let title = title.trim();
        let chars = title.chars().count();
        if chars == 0 || chars > MAX_TITLE_CHARS {
            return Err(InputError::BadTitle {
                max: MAX_TITLE_CHARS,
            }
            .into());
        }
        let id = requested_session(&services, &parts, id).await?;
        services.store.rename(&id, title).await?;
        services
            .store
            .summary(&id)
            .await?
            .ok_or(ChatError::NoSuchChat)
    }

    pub async fn delete_session(id: &str) -> Result<(), ChatError> {
        let services = services()?;
        let parts = parts();
        let id = requested_session(&services, &parts, id).await?;
        services.store.delete(&id).await?;
        if session::session_from(&parts).as_ref() == Some(&id) {
            respond_with(session::clear_session_cookie(session::is_https(&parts)));
        }
        Ok(())
    }
    use http::request::Parts;
    use leptos::prelude::*;
    use leptos::server_fn::ServerFn;
    use leptos_axum::ResponseOptions;
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    /// Every server function's URL, e.g. for metrics labels that must not grow without bound.
    pub fn server_fn_paths() -> [&'static str; 7] {
        [
            super::LoadChat::PATH,
            SendMessage::PATH,
            CompareModels::PATH,
            NewChat::PATH,
            super::OpenSession::PATH,
            super::RenameSession::PATH,
            super::DeleteSession::PATH,
        ]
    }

    /// Gives a failed call its HTTP status (400 for bad input, 503 when not saved, …).
    pub fn reported<T>(result: Result<T, ChatError>) -> Result<T, ChatError> {
        if let Err(e) = &result {
            e.set_response_status();
        }
        result
    }

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
            latency_ms: m.latency_ms,
            total_tokens: m.usage.map(|u| u.total_tokens),
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
        if !server_fn_paths().contains(&path.as_str()) {
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
        let owner = session::owner_from(&parts);
        let current = match own_session(&services, &parts, owner.as_ref()).await {
            Ok(current) => current,
            Err(e) => {
                error = error.or(Some(e));
                None
            }
        };
        let messages = match &current {
            Some(id) => match services.store.load(id).await {
                Ok(stored) => stored.into_iter().map(to_view).collect(),
                Err(e) => {
                    tracing::warn!(error = ?e, "could not load session");
                    error = error.or(Some(ChatError::Store(e)));
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let sessions = match &owner {
            Some(owner) => services
                .store
                .list_sessions(owner, SIDEBAR_SESSIONS, None)
                .await
                .unwrap_or_default(),
            None => Vec::new(),
        };
        Ok(ChatView {
            messages,
            sessions,
            current: current.map(|id| id.as_str().to_string()),
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
        let request = SendRequest::parse(message, model, temperature, top_p, max_tokens)?;
        let settings = Settings {
            model: request.model,
            params: request.params,
        };
        let target = [request.model];
        run_turn(request, settings, &target).await
    }

    pub async fn compare_models(
        message: &str,
        temperature: &str,
        top_p: &str,
        max_tokens: &str,
    ) -> Result<TurnView, ChatError> {
        let parts = parts();
        let mut settings = session::settings_from(&parts);
        let request = SendRequest::parse(
            message,
            settings.model.as_str(),
            temperature,
            top_p,
            max_tokens,
        )?;
        settings.params = request.params;
        run_turn(request, settings, &ModelId::ALL).await
    }

    /// One turn: validate, read the history from the store, ask each target model (at once when
    /// there are several), and store the message with every reply in one write. Any failure
    /// stores nothing.
    async fn run_turn(
        request: SendRequest,
        settings: Settings,
        targets: &[ModelId],
    ) -> Result<TurnView, ChatError> {
        let services = services()?;
        let parts = parts();
        let secure = session::is_https(&parts);
        respond_with(session::settings_cookie(&settings, secure));
        let backends = targets
            .iter()
            .map(|id| services.model(*id).ok_or(ModelError::NotConfigured(*id)))
            .collect::<Result<Vec<_>, _>>()?;

        let owner = match session::owner_from(&parts) {
            Some(owner) => owner,
            None => {
                let owner = OwnerId::generate();
                respond_with(session::owner_cookie(&owner, secure));
                owner
            }
        };
        let session = match own_session(&services, &parts, Some(&owner)).await? {
            Some(id) => id,
            None => {
                let id = SessionId::generate();
                respond_with(session::session_cookie(&id, secure));
                id
            }
        };
        // Limits count against who sent the turn, before anything else is spent on it.
        let visitor = session::visitor_key(&parts);
        if let Some(limits) = &services.limits {
            limits.admit(&visitor).await?;
        }
        let history = services.store.load(&session).await?;
        let user_at_ms = now_ms();

        let calls = backends.iter().map(|backend| {
            let mut prompt = prompt_history(&history, backend.id());
            prompt.push(PromptMessage {
                role: Role::User,
                text: request.text.clone(),
            });
            let params = request.params;
            async move {
                let model = backend.id();
                let started = Instant::now();
                let reply = backend.complete(&prompt, &params).await;
                let latency_ms = started.elapsed().as_millis() as u64;
                let reply = match reply {
                    Ok(r) if r.text.trim().is_empty() => Err(ModelError::Empty(model)),
                    other => other,
                }
                .inspect_err(|e| {
                    tracing::warn!(%model, latency_ms, error = ?e, "model call failed");
                })?;
                tracing::info!(
                    %model,
                    latency_ms,
                    finish_reason = reply.finish_reason.as_deref().unwrap_or(""),
                    "turn answered"
                );
                Ok::<_, ModelError>(NewReply {
                    model,
                    text: reply.text,
                    at_ms: now_ms(),
                    latency_ms,
                    usage: reply.usage,
                    finish_reason: reply.finish_reason,
                })
            }
        });
        let replies = futures::future::join_all(calls)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;

        let turn = NewTurn {
            params: request.params,
            user_text: request.text,
            user_at_ms,
            replies,
        };
        let appended = services
            .store
            .append_turn(&session, &owner, &turn)
            .await
            .map_err(|e: StoreError| {
                tracing::error!(error = ?e, "turn not saved");
                ChatError::NotSaved
            })?;
        if let Some(limits) = &services.limits {
            let tokens = turn_tokens(&turn);
            limits.charge(&visitor, tokens).await;
        }
        let mut stored = appended.messages.into_iter().map(to_view);
        let user = stored.next().ok_or(ChatError::NotSaved)?;
        Ok(TurnView {
            user,
            replies: stored.collect(),
            session: appended.session,
        })
    }

    /// Tokens a turn cost: what the models reported, or about one per four characters of
    /// prompt and reply when a backend reports nothing.
    fn turn_tokens(turn: &NewTurn) -> u64 {
        turn.replies
            .iter()
            .map(|r| match r.usage {
                Some(u) => u64::from(u.total_tokens),
                None => ((turn.user_text.len() + r.text.len()) / 4) as u64,
            })
            .sum()
    }

    pub fn new_chat() -> Result<(), ChatError> {
        let parts = parts();
        respond_with(session::clear_session_cookie(session::is_https(&parts)));
        Ok(())
    }
}
