//! Loading the page: the chat in the address, the visitor's chats, the settings, and the
//! browser's owner, issued or renewed here (a same-origin page load) and nowhere else.

use super::{to_view, Request};
use crate::chat::chat_in_path;
use crate::conversation::ChatView;
use crate::errors::ChatError;
use crate::session::{self, OwnerId};

/// How many past chats the sidebar shows.
const SIDEBAR_SESSIONS: usize = 50;

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
    let mut error = error_from_redirect(parts);
    let owner = match issue_owner(request).await {
        Ok(owner) => owner,
        Err(e) => {
            error = error.or(Some(e));
            None
        }
    };

    // Which chat: the one in the address, if it is the visitor's.
    let (current, messages) = match chat_in_path(parts.uri.path()) {
        None => (None, Vec::new()),
        Some(id) => match request.owned_chat(id).await {
            Ok((id, _, stored)) => (
                Some(id.as_str().to_string()),
                stored.into_iter().map(to_view).collect(),
            ),
            Err(e) => {
                request.set_status(e.status());
                error = error.or(Some(e));
                (None, Vec::new())
            }
        },
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
        current,
        settings,
        models,
        error,
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

/// The error a failed plain form post's redirect names (`?err=CODE`), in this server's own
/// words. Anything else in the address (leptos's `__err`, free text) is ignored: a link anyone
/// can write must not put words in the app's mouth.
fn error_from_redirect(parts: &http::request::Parts) -> Option<ChatError> {
    parts.uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == crate::error_codes::PARAM)
            .then(|| crate::error_codes::from_code(value))
            .flatten()
    })
}
