//! Loading the page: the chat in the address, the visitor's chats, the settings, and the
//! browser's owner, issued or renewed here (a same-origin page load) and nowhere else.

use super::Request;
use crate::chat::{chat_in_path, CHAT_PAGE, PAGE_TEXT_BYTES};
use crate::conversation::{ChatView, MessageRange, PageMessages, Role};
use crate::errors::ChatError;
use crate::session::{self, OwnerId};

/// How many past chats the sidebar shows at once; older ones are a "More" link away.
const SIDEBAR_SESSIONS: usize = 50;
/// The most messages one page load shows: "Show earlier" without JavaScript adds a page at a
/// time, so a person reaches this only by asking for it forty times over.
const MAX_SHOWN: usize = 2_000;
/// The longest search the sidebar takes.
const MAX_SEARCH_CHARS: usize = 100;

pub async fn load(request: &Request) -> Result<ChatView, ChatError> {
    let services = &request.services;
    let parts = &request.parts;
    let models = services.model_options();
    let mut settings = session::settings_from(parts);
    if !models
        .iter()
        .any(|m| m.id == settings.model && m.availability.selectable())
    {
        if let Some(first) = models.iter().find(|m| m.availability.selectable()) {
            settings.model = first.id;
        }
    }
    settings.params.thinking = settings.params.thinking.or(Some(services.thinking));
    let mut error = error_from_redirect(parts);
    let owner = match issue_owner(request).await {
        Ok(owner) => owner,
        Err(e) => {
            error = error.or(Some(e));
            None
        }
    };

    // Which chat: the one in the address, if it is the visitor's. Its newest page of messages,
    // or those from `from=` on (where "Show earlier" leads without JavaScript), at most
    // MAX_SHOWN of them: the first ones, so the next "Show earlier" always reaches further back.
    let range = match query_param(parts, "from").and_then(|f| f.parse::<u64>().ok()) {
        Some(from) => MessageRange {
            from,
            before: Some(from.saturating_add(MAX_SHOWN as u64)),
            limit: MAX_SHOWN,
            ..MessageRange::ALL
        },
        None => MessageRange::newest(CHAT_PAGE),
    }
    .within_bytes(PAGE_TEXT_BYTES);
    let (current, messages) = match chat_in_path(parts.uri.path()) {
        None => (None, Vec::new()),
        Some(id) => match request.owned_chat(id, range).await {
            Ok((id, _, stored)) => {
                // The chat's own thinking setting: what its newest message was sent with.
                if let Some(t) = stored.iter().rev().find_map(|m| m.params.thinking) {
                    settings.params.thinking = Some(t);
                }
                (Some(id.as_str().to_string()), request.views(stored))
            }
            Err(e) => {
                request.set_status(e.status());
                error = error.or(Some(e));
                (None, Vec::new())
            }
        },
    };
    // `?edit=SEQ` (the Edit link): the chat's last user message, if it is that and not pending.
    let editing = query_param(parts, "edit")
        .and_then(|e| e.parse::<u64>().ok())
        .filter(|seq| {
            messages
                .iter()
                .rev()
                .find(|m| m.role == Role::User)
                .is_some_and(|m| {
                    m.seq == *seq && m.status != crate::conversation::TurnStatus::Pending
                })
        });
    let edit_files = editing
        .and_then(|seq| messages.iter().find(|m| m.seq == seq))
        .map(|m| super::file_ids(&m.files).join(","))
        .unwrap_or_default();
    let before = query_param(parts, "before").and_then(|b| b.parse::<i64>().ok());
    let search = query_param(parts, "q")
        .map(|q| q.trim().chars().take(MAX_SEARCH_CHARS).collect::<String>())
        .filter(|q| !q.is_empty());
    let (sessions, more_before) = match (&owner, &search) {
        (None, _) => (Vec::new(), None),
        (Some(owner), Some(q)) => (
            services
                .store
                .search_sessions(owner, q, SIDEBAR_SESSIONS)
                .await
                .unwrap_or_default(),
            None,
        ),
        (Some(owner), None) => {
            // One more than a page tells whether there is a next one.
            let mut page = services
                .store
                .list_sessions(owner, SIDEBAR_SESSIONS + 1, before)
                .await
                .unwrap_or_default();
            let more = page.len() > SIDEBAR_SESSIONS;
            page.truncate(SIDEBAR_SESSIONS);
            let cursor = more.then(|| page.last().map(|s| s.updated_at_ms)).flatten();
            (page, cursor)
        }
    };
    Ok(ChatView {
        messages: PageMessages(messages),
        sessions,
        current,
        more_before,
        paged: before.is_some() && search.is_none(),
        search,
        settings,
        models,
        error,
        editing,
        edit_files,
        next_turn: crate::conversation::TurnId::generate().as_str().to_string(),
        now_ms: super::now_ms(),
        offer_gemini_after_s: request.services.offer_gemini_after.as_secs() as u32,
        default_system_prompt: request.services.system_prompt.clone(),
    })
}

/// The visitor's owner. A browser without a valid signed owner cookie gets a new one, but only
/// on a page load (GET): a POST never mints one, so a cross-site form cannot swap a browser's
/// owner and orphan its chats. A valid cookie is set again (renewed) on every page load.
async fn issue_owner(request: &Request) -> Result<Option<OwnerId>, ChatError> {
    let is_page_load = request.parts.method == http::Method::GET;
    let key = &request.services.owner_key;
    if let Some(user) = request.parts.extensions.get::<session::VerifiedUser>() {
        return Ok(Some(user.owner.clone()));
    }
    if let Some(owner) = request.owner() {
        if is_page_load {
            request.set_header(session::owner_cookie(&owner, key, request.secure()));
        }
        return Ok(Some(owner));
    }
    if !is_page_load {
        return Ok(None);
    }
    if let Some(limits) = &request.services.limits {
        limits
            .admit_new_owner(&session::address_key(&request.parts))
            .await?;
    }
    let owner = OwnerId::generate();
    request.set_header(session::owner_cookie(&owner, key, request.secure()));
    Ok(Some(owner))
}

/// A query parameter of the page's address, percent-decoded (`+` is a space, as forms send it).
/// The words of a message with files refused without JavaScript (`draft`, which the refusal's
/// redirect carries beside its error code): the message box is served holding them again. They
/// are the visitor's own words in their own box, sent only if they send them.
pub fn refused_draft() -> Option<String> {
    let parts = leptos::prelude::use_context::<http::request::Parts>()?;
    error_from_redirect(&parts)?;
    query_param(&parts, "draft")
        .filter(|words| !words.trim().is_empty() && words.len() <= crate::params::MAX_MESSAGE_BYTES)
}

fn query_param(parts: &http::request::Parts, name: &str) -> Option<String> {
    let value = parts.uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })?;
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The error a failed plain form post's redirect names (`?err=CODE`), in this server's own
/// words. Anything else in the address (leptos's `__err`, free text) is ignored: a link anyone
/// can write must not put words in the app's mouth.
fn error_from_redirect(parts: &http::request::Parts) -> Option<ChatError> {
    crate::error_codes::from_code(&query_param(parts, crate::error_codes::PARAM)?)
}
