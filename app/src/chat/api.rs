//! The server functions the page calls. Each is thin: it builds the request context and hands
//! over to a use case in `chat::ssr`. `chat` names the chat a call is about (empty or absent:
//! a new chat); the server checks it against the caller's owner every time.
// A server function's arguments are its form's fields, one each, so a plain form post can carry
// them; the send form has ten. (Module-wide: the macro also writes the browser's copy.)
#![allow(clippy::too_many_arguments)]

use crate::codec::BrowserJson;
use crate::conversation::{ChatView, Message, SessionSummary, TurnView};
use crate::errors::ChatError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{self, Request};

/// The page's data for its first render: the chat in the address, the sidebar, the settings.
/// During SSR this runs in-process with the page request; the result is serialised into the
/// HTML, so hydration needs no fetch. A page load is also where a browser gets its owner.
#[server(prefix = "/api", endpoint = "load_chat", output = BrowserJson)]
pub async fn load_chat() -> Result<ChatView, ChatError> {
    let request = Request::current()?;
    request.reported(ssr::page::load(&request).await)
}

/// Sends one message in chat `chat` (none: start one, at `start` if given). `turn` is the
/// client's id for this turn: a repeat with the same id returns the stored turn. The history
/// comes from the store, never from the client. `replaces` names a pending turn of the chat to
/// stop first (the no-JavaScript "Ask Gemini instead"); `edits` the position of the chat's last
/// user message, which this one replaces (edit and resend).
#[server(prefix = "/api", endpoint = "send", output = BrowserJson)]
pub async fn send_message(
    chat: Option<String>,
    start: Option<String>,
    turn: Option<String>,
    message: String,
    model: String,
    temperature: String,
    top_p: String,
    max_tokens: String,
    replaces: Option<String>,
    edits: Option<String>,
    thinking: Option<String>,
    attachments: Option<String>,
) -> Result<TurnView, ChatError> {
    let request = Request::current()?;
    let form = ssr::turn::Form {
        chat,
        start,
        turn,
        message,
        model: Some(model),
        temperature,
        top_p,
        max_tokens,
        thinking,
        replaces,
        edits,
        attachments,
    };
    request.reported(ssr::turn::send(&request, form).await)
}

/// Sends one message to both models at once; both replies are stored with the message.
#[server(prefix = "/api", endpoint = "compare", output = BrowserJson)]
pub async fn compare_models(
    chat: Option<String>,
    start: Option<String>,
    turn: Option<String>,
    message: String,
    temperature: String,
    top_p: String,
    max_tokens: String,
    thinking: Option<String>,
    attachments: Option<String>,
) -> Result<TurnView, ChatError> {
    let request = Request::current()?;
    let form = ssr::turn::Form {
        chat,
        start,
        turn,
        message,
        model: None,
        temperature,
        top_p,
        max_tokens,
        thinking,
        replaces: None,
        edits: None,
        attachments,
    };
    request.reported(ssr::turn::send(&request, form).await)
}

/// Where turn `turn` of chat `chat` stands: `None` while its reply is pending, the turn once
/// it is answered, or the error it failed with. Polled by a page that shows a pending turn it
/// did not send itself (after a reload, or in another tab).
#[server(prefix = "/api", endpoint = "turn_status", output = BrowserJson)]
pub async fn turn_status(chat: String, turn: String) -> Result<Option<TurnView>, ChatError> {
    let request = Request::current()?;
    request.reported(ssr::turn::status(&request, &chat, &turn).await)
}

/// Stops turn `turn` of chat `chat` while its reply is pending: the model call is dropped and the
/// message kept, marked stopped. Answers with the turn as it now stands (it may have ended
/// first).
#[server(prefix = "/api", endpoint = "stop_turn", output = BrowserJson)]
pub async fn stop_turn(chat: String, turn: String) -> Result<Vec<Message>, ChatError> {
    let request = Request::current()?;
    request.reported(ssr::stop::stop(&request, &chat, &turn).await)
}

/// Asks the last turn of chat `chat` (its user message at `seq`) again, of `model`: `gemma`,
/// `gemini` or `both`. The new replies join the ones it has; `turn` is the client's id for this
/// request, as for a send.
#[server(prefix = "/api", endpoint = "ask_again", output = BrowserJson)]
pub async fn ask_again(
    chat: String,
    seq: String,
    model: String,
    turn: Option<String>,
) -> Result<TurnView, ChatError> {
    let request = Request::current()?;
    request.reported(ssr::again::again(&request, &chat, &seq, &model, turn.as_deref()).await)
}

/// Where each model stands (the picker's entries): asked for every few seconds by an open page,
/// so a Gemma that was unreachable shows as available once its pod is up. Cheap: the server's
/// own probes answer it, no backend is asked.
#[server(prefix = "/api", endpoint = "model_status", output = BrowserJson)]
pub async fn model_status() -> Result<Vec<crate::models::ModelOption>, ChatError> {
    let request = Request::current()?;
    Ok(request.services.model_options())
}

/// One of the visitor's chats, for switching to it without a page load: its newest page of
/// messages, or with `before` (the first message the page shows) the page before, for "Show
/// earlier". (One function for both keeps the browser's bundle smaller.)
#[server(prefix = "/api", endpoint = "open_session", output = BrowserJson)]
pub async fn open_session(id: String, before: Option<u64>) -> Result<Vec<Message>, ChatError> {
    let request = Request::current()?;
    request.reported(ssr::sessions::open(&request, &id, before).await)
}

#[server(prefix = "/api", endpoint = "rename_session", output = BrowserJson)]
pub async fn rename_session(id: String, title: String) -> Result<SessionSummary, ChatError> {
    let request = Request::current()?;
    request.reported(ssr::sessions::rename(&request, &id, &title).await)
}

#[server(prefix = "/api", endpoint = "delete_session", output = BrowserJson)]
pub async fn delete_session(id: String) -> Result<(), ChatError> {
    let request = Request::current()?;
    request.reported(ssr::sessions::delete(&request, &id).await)
}

/// Sets chat `chat`'s own system prompt (blank: the server's). With no chat, it starts one
/// that has it. A plain form in the chat's header, with or without JavaScript.
#[server(prefix = "/api", endpoint = "system_prompt", output = BrowserJson)]
pub async fn set_system_prompt(
    chat: Option<String>,
    prompt: String,
) -> Result<Option<SessionSummary>, ChatError> {
    let request = Request::current()?;
    request.reported(ssr::system::set(&request, chat.as_deref(), &prompt).await)
}

/// The user's verdict on the pair of replies to the message at `seq` in chat `chat`: `gemma`,
/// `gemini`, `tie`, or `none` to take it back. A plain form under the pair.
#[server(prefix = "/api", endpoint = "verdict", output = BrowserJson)]
pub async fn judge(chat: String, seq: String, verdict: String) -> Result<(), ChatError> {
    let request = Request::current()?;
    request.reported(ssr::verdict::judge(&request, &chat, &seq, &verdict).await)
}

/// Every server function's URL, e.g. for metrics labels that must not grow without bound.
#[cfg(feature = "ssr")]
pub fn server_fn_paths() -> [&'static str; 12] {
    use leptos::server_fn::ServerFn;
    [
        LoadChat::PATH,
        SendMessage::PATH,
        CompareModels::PATH,
        TurnStatus::PATH,
        StopTurn::PATH,
        AskAgain::PATH,
        ModelStatus::PATH,
        OpenSession::PATH,
        RenameSession::PATH,
        DeleteSession::PATH,
        SetSystemPrompt::PATH,
        Judge::PATH,
    ]
}
