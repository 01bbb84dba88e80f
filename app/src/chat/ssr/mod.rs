//! The server side of the chat page: use cases that take one explicit [`Request`] (the
//! services, the request's parts, the response being built) instead of reaching for ambient
//! context at several depths.

pub mod again;
mod budget;
mod edit;
pub mod files;
mod job;
pub mod page;
pub mod sessions;
pub mod stop;
pub mod system;
pub mod turn;
pub mod verdict;

use crate::conversation::{Message, MessageRange, Role, StoredMessage, TurnStatus};
use crate::errors::ChatError;
use crate::markdown;
use crate::services::Services;
use crate::session::{self, OwnerId, SessionId};
use http::request::Parts;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// One request, as a use case sees it.
pub struct Request {
    pub services: Services,
    pub parts: Parts,
    response: Option<ResponseOptions>,
}

impl Request {
    /// The request leptos_axum is serving (a server function call, or the page's SSR).
    pub fn current() -> Result<Request, ChatError> {
        let services = use_context::<Services>().ok_or_else(|| {
            tracing::error!("Services were not provided as context");
            ChatError::Internal
        })?;
        let parts = use_context::<Parts>().ok_or_else(|| {
            tracing::error!("the request's parts were not provided as context");
            ChatError::Internal
        })?;
        Ok(Request {
            services,
            parts,
            response: use_context::<ResponseOptions>(),
        })
    }

    /// A request built by hand, for tests of the use cases.
    pub fn new(services: Services, parts: Parts, response: Option<ResponseOptions>) -> Request {
        Request {
            services,
            parts,
            response,
        }
    }

    pub fn set_header(&self, header: (http::HeaderName, http::HeaderValue)) {
        if let Some(res) = &self.response {
            res.append_header(header.0, header.1);
        }
    }

    pub fn set_status(&self, status: http::StatusCode) {
        if let Some(res) = &self.response {
            res.set_status(status);
        }
    }

    pub fn secure(&self) -> bool {
        session::is_https(&self.parts)
    }

    /// Whether this is a plain form post (no JavaScript), which is answered with a redirect.
    pub fn wants_page(&self) -> bool {
        self.parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
    }

    /// Sends a plain form post on to `path` (on this origin) when it is done.
    pub fn redirect_page(&self, path: &str) {
        if self.wants_page() {
            leptos_axum::redirect(path);
        }
    }

    /// The visitor's owner: the signed-in person, or the browser's signed cookie.
    pub fn owner(&self) -> Option<OwnerId> {
        session::owner_from(&self.parts, &self.services.owner_key)
    }

    /// Gives a failed call its HTTP status (400 for bad input, 503 when not saved, …); a plain
    /// form post keeps leptos_axum's redirect back to the page, which carries the error.
    pub fn reported<T>(&self, result: Result<T, ChatError>) -> Result<T, ChatError> {
        if let Err(e) = &result {
            e.set_response_status();
        }
        result
    }

    /// Chat `id`, if it is well formed and the caller's. Anything else (garbage, unknown,
    /// someone else's) is the same answer: no such chat.
    pub fn parse_chat(&self, id: &str) -> Result<SessionId, ChatError> {
        SessionId::parse(id.trim()).ok_or(ChatError::NoSuchChat)
    }

    /// Pending turns accepted before this time have lost their task (see [`to_view`]).
    pub fn stale_before_ms(&self) -> i64 {
        now_ms().saturating_sub(self.services.turn_deadline.as_millis() as i64)
    }

    /// Stored messages as the page shows them.
    pub fn views(&self, messages: Vec<StoredMessage>) -> Vec<Message> {
        let stale = self.stale_before_ms();
        messages.into_iter().map(|m| to_view(m, stale)).collect()
    }

    /// Chat `id` with its messages in `range`, if it is the caller's: one store call (the owner
    /// check and the read together). The messages start at a user message: replies whose
    /// question is outside the range are left for the page before.
    pub async fn owned_chat(
        &self,
        id: &str,
        range: MessageRange,
    ) -> Result<(SessionId, OwnerId, Vec<StoredMessage>), ChatError> {
        let owner = self.owner().ok_or(ChatError::NoSuchChat)?;
        let id = self.parse_chat(id)?;
        let mut messages = self
            .services
            .store
            .load_range(&id, &owner, range)
            .await?
            .ok_or(ChatError::NoSuchChat)?;
        let orphans = messages
            .iter()
            .take_while(|m| m.role == Role::Model)
            .count();
        messages.drain(..orphans);
        Ok((id, owner, messages))
    }
}

/// A stored message as the page shows it; replies' Markdown is rendered and sanitised here. A
/// turn still pending although accepted before `stale_before_ms` lost its task (the server
/// was killed): it is shown as failed, `interrupted`, never as waiting forever.
pub fn to_view(m: StoredMessage, stale_before_ms: i64) -> Message {
    let html = (m.role == Role::Model).then(|| markdown::render(&m.text));
    let (status, error) = match m.status {
        TurnStatus::Pending if m.created_at_ms < stale_before_ms => {
            (TurnStatus::Failed, Some(ChatError::Interrupted))
        }
        TurnStatus::Failed => (
            TurnStatus::Failed,
            Some(
                m.error
                    .as_deref()
                    .and_then(crate::error_codes::from_code)
                    .unwrap_or(ChatError::NotSaved),
            ),
        ),
        // Answered by one model of two: the other's failure.
        TurnStatus::Complete => (
            TurnStatus::Complete,
            m.error.as_deref().and_then(crate::error_codes::from_code),
        ),
        status => (status, None),
    };
    Message {
        seq: m.seq,
        role: m.role,
        model: m.model,
        text: m.text,
        html,
        latency_ms: m.latency_ms,
        total_tokens: m.usage.map(|u| u.total_tokens),
        thinking_tokens: m.usage.map(|u| u.thinking_tokens).filter(|&n| n > 0),
        cost: m
            .cost
            .filter(|_| m.role == Role::Model)
            .map(|c| c.describe()),
        thinking: m.params.thinking.filter(|_| m.role == Role::User),
        // vLLM (OpenAI) says `length`, Vertex `MAX_TOKENS`.
        cut_off: matches!(m.finish_reason.as_deref(), Some("length" | "MAX_TOKENS")),
        // Only a pending turn's id is any use to the page (it polls with it).
        turn: m.turn.filter(|_| status == TurnStatus::Pending),
        since_ms: (status == TurnStatus::Pending).then_some(m.created_at_ms),
        verdict: m.verdict,
        files: files_html(&m.attachments),
        status,
        error,
    }
}

/// The ids of the files in [`files_html`]'s HTML (for an edit, which sends them again).
pub fn file_ids(files_html: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for rest in files_html.split("/attachments/").skip(1) {
        let id: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        if !id.is_empty() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// A message's files as the page shows them: pictures as thumbnails that open full size, PDFs
/// as a link with their name and size.
pub fn files_html(files: &[crate::attachment::Attachment]) -> String {
    use crate::html::escape;
    if files.is_empty() {
        return String::new();
    }
    let items: String = files
        .iter()
        .map(|f| {
            let (url, label) = (escape(&f.url()), escape(&f.label()));
            if f.kind.is_image() {
                format!(
                    r#"<li><a href="{url}" target="_blank" rel="noopener"><img src="{url}" alt="{}" title="{label}" width="{}" height="{}" loading="lazy"></a></li>"#,
                    escape(&f.name),
                    f.width,
                    f.height
                )
            } else {
                format!(r#"<li><a class="file" href="{url}">{label}</a></li>"#)
            }
        })
        .collect();
    format!(r#"<ul class="files" aria-label="Attached files">{items}</ul>"#)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
