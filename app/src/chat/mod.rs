//! The chat page, split the way the Leptos examples put a server function beside its server
//! side: the view ([`page`]), the browser's state ([`state`]), the server functions the page
//! calls ([`api`], thin), and the server-side use cases behind them (`ssr`: page load, turn,
//! sessions), each taking one explicit request context.
//!
//! A chat has its own address, `/c/{id}`; `/` is a new chat. The chat id travels in every call
//! and form and is checked against the owner on the server: it alone decides where a turn goes,
//! so two tabs on two chats never mix.

pub mod api;
pub mod page;
pub mod state;

#[cfg(feature = "ssr")]
pub mod ssr;

pub use page::ChatPage;

/// How many messages a chat's page shows at first, and how many more each "Show earlier" adds:
/// opening a chat of any length reads and sends about this many.
pub const CHAT_PAGE: usize = 50;

/// And at most this much text (the newest message always): 50 messages at the byte limit are
/// 3.2 MB, which the page renders and repeats for hydration. Fewer messages then, and "Show
/// earlier" reaches the rest.
pub const PAGE_TEXT_BYTES: usize = 512 * 1024;

/// The address of a chat.
pub fn chat_path(id: &str) -> String {
    format!("/c/{id}")
}

/// The address of a chat showing its messages from `seq` on: a "Show earlier" link that works
/// without JavaScript.
pub fn chat_from_path(id: &str, seq: u64) -> String {
    format!("/c/{id}?from={seq}")
}

/// The chat id in a page address: `Some(id)` for `/c/{id}` (not yet validated), `None` for `/`
/// and anything else.
pub fn chat_in_path(path: &str) -> Option<&str> {
    path.strip_prefix("/c/").map(|id| id.trim_end_matches('/'))
}
