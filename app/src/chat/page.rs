//! The chat page's view: the transcript, the composer, the sidebar and the settings, around the
//! state in [`ChatState`].

use super::api::load_chat;
use super::state::ChatState;
use crate::components::system_prompt::system_prompt;
use crate::components::{
    composer::Composer, sessions::Sessions, settings_panel::SettingsPanel, transcript::Transcript,
};
use crate::conversation::{ChatView, UNTITLED};
use leptos::either::Either;
use leptos::prelude::*;

#[component]
pub fn ChatPage() -> impl IntoView {
    // Read in the browser by its own JSON.parse, not serde_json (see `codec`).
    let chat = Resource::new_serde_wb_blocking(|| (), |_| load_chat());
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
    #[cfg(feature = "hydrate")]
    let initial = {
        let mut initial = initial;
        super::state::fill_from_page(&mut initial.messages.0);
        initial
    };
    let state = ChatState::new(initial);
    #[cfg(feature = "ssr")]
    if let Some(words) = super::ssr::page::refused_draft() {
        state.draft.set(words);
    }
    #[cfg(feature = "hydrate")]
    if let Some(typed) = super::state::typed_draft() {
        state.draft.set(typed);
    }
    provide_context(state);
    Effect::new(move |_| {
        state.hydrated.set(true);
        state.tick();
        state.watch_models();
        // A reply still pending when the page loaded (a reload mid-reply) is followed here.
        state.watch_pending();
    });
    // Back and forward move between chats' addresses; the page follows without a reload.
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener_untyped("popstate", move |_| {
            state.follow_address(&window().location().pathname().unwrap_or_default());
        });
        on_cleanup(move || handle.remove());
    }
    Effect::new(move |_| {
        let cookie = state.settings().to_cookie_value();
        write_settings_cookie(&cookie);
    });

    let spent = move || state.with_current(|s| s.cost_nano).unwrap_or(0);
    let title = move || {
        state
            .with_current(|s| s.title.clone())
            .unwrap_or_else(|| UNTITLED.to_string())
    };

    view! {
        // `data-hydrated` tells tests (and curious people) that the wasm has taken over.
        <main class="app" data-hydrated=move || state.hydrated.get().then_some("true")>
            // First in the tab order: one Tab and Enter reach the message box. A plain fragment
            // link without JavaScript; with it, focus moves without touching the address.
            <a class="skip-link" href=format!("#{MESSAGE_BOX_ID}") on:click=move |ev| {
                ev.prevent_default();
                focus_message_box();
            }>"Skip to the message box"</a>
            <header class="topbar">
                // On a phone the chat list and the settings are drawers: native popovers, so
                // they open, close (Esc, a tap outside) and keep focus without JavaScript.
                <button type="button" class="drawer-toggle secondary" popovertarget=CHATS_DRAWER_ID>"Chats"</button>
                <h1>"hybrid-chat"</h1>
                <p class="tagline">"Gemma on your cluster, Gemini on Vertex AI: one conversation."</p>
                // A link: a new chat is just the address `/`; nothing is stored until it has a
                // message.
                <a class="new-chat button secondary" href="/" on:click=move |ev| {
                    ev.prevent_default();
                    state.start_new_chat(true);
                    focus_message_box();
                }>"New chat"</a>
                <button type="button" class="drawer-toggle secondary" popovertarget=SETTINGS_DRAWER_ID
                    aria-label=move || format!("Settings: {}", state.model.get().short_name())>
                    {move || state.model.get().short_name()}
                </button>
            </header>
            <div class="sidebar">
                <div id=CHATS_DRAWER_ID class="drawer" popover="auto">
                    <button type="button" class="drawer-close secondary" popovertarget=CHATS_DRAWER_ID
                        popovertargetaction="hide">"Close"</button>
                    <Sessions/>
                </div>
                <div id=SETTINGS_DRAWER_ID class="drawer" popover="auto">
                    <button type="button" class="drawer-close secondary" popovertarget=SETTINGS_DRAWER_ID
                        popovertargetaction="hide">"Close"</button>
                    <SettingsPanel/>
                </div>
            </div>
            <section class="conversation" aria-labelledby="chat-title">
                <h2 id="chat-title" class="chat-title">{title}</h2>
                // What the chat's calls have cost so far (updated with each turn's summary). One
                // element, hidden while nothing is spent: a conditional view costs wasm bytes.
                <p class="chat-cost" hidden=move || spent() == 0>
                    {move || format!("Spent in this chat: {}", crate::cost::dollars(spent()))}
                </p>
                {system_prompt(state)}
                <Transcript/>
                <Composer/>
            </section>
            // The one polite live region: each new reply is announced once, when it arrives;
            // opening a chat announces nothing. Errors are alerts: where they are shown (the
            // composer's), or here (a followed turn that failed).
            <div class="sr-only" aria-live="polite" aria-atomic="true" data-announcer>
                {move || state.announcement.get()}
            </div>
            {move || state.alert.with(|a| (!a.is_empty()).then(|| view! {
                <p class="sr-only" role="alert" data-alerts>{a.clone()}</p>
            }))}
        </main>
    }
}

/// The message box's id: the skip link's target.
pub const MESSAGE_BOX_ID: &str = "message";
pub const CHATS_DRAWER_ID: &str = "chats-drawer";
pub const SETTINGS_DRAWER_ID: &str = "settings-drawer";

/// Puts the caret in the message box (after a send, a retry, a new chat: focus must not fall
/// back to the page when the button that had it goes away or is disabled).
pub fn focus_message_box() {
    focus(&format!("#{MESSAGE_BOX_ID}"));
}

/// Focuses the first element matching a CSS selector, if there is one.
pub fn focus(selector: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(el) = html_element(selector) {
        let _ = el.focus();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = selector;
}

/// Closes a drawer (a chat was picked from it: show the chat). A no-op on a wide screen, where
/// the drawers are never open.
pub fn close_drawer(id: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(el) = html_element(&format!("#{id}")) {
        // Also a no-op when it is not open.
        let _ = el.hide_popover();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

#[cfg(feature = "hydrate")]
fn html_element(selector: &str) -> Option<web_sys::HtmlElement> {
    use wasm_bindgen::JsCast;
    document()
        .query_selector(selector)
        .ok()
        .flatten()
        .and_then(|el| el.dyn_into().ok())
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
