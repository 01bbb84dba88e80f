//! hybrid-chat's UI and its server functions, shared by the server (feature `ssr`) and the
//! browser bundle (feature `hydrate`).

pub mod announce;
pub mod attachment;
pub mod chat;
pub mod codec;
pub mod components;
pub mod conversation;
pub mod cost;
pub mod errors;
pub mod html;
pub mod models;
pub mod params;
pub mod shell;

#[cfg(feature = "ssr")]
pub mod error_codes;
#[cfg(feature = "ssr")]
pub mod markdown;
#[cfg(feature = "ssr")]
pub mod prompt;
#[cfg(feature = "ssr")]
pub mod services;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod tally;
#[cfg(feature = "ssr")]
pub mod turn_tasks;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(chat::ChatPage);
}
