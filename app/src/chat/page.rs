//! The chat page's view: the transcript, the composer, the sidebar and the settings, around the
//! state in [`ChatState`].

use super::api::load_chat;
use super::state::ChatState;
use crate::components::{
    composer::Composer, sessions::Sessions, settings_panel::SettingsPanel, transcript::Transcript,
};
use crate::conversation::ChatView;
use leptos::either::Either;
use leptos::prelude::*;

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
    Effect::new(move |_| {
        state.hydrated.set(true);
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

    view! {
        // `data-hydrated` tells tests (and curious people) that the wasm has taken over.
        <main class="app" data-hydrated=move || state.hydrated.get().then_some("true")>
            <header class="topbar">
                <h1>"hybrid-chat"</h1>
                <p class="tagline">"Gemma on your cluster, Gemini on Vertex AI: one conversation."</p>
                // A link: a new chat is just the address `/`; nothing is stored until it has a
                // message.
                <a class="new-chat button secondary" href="/" on:click=move |ev| {
                    ev.prevent_default();
                    state.start_new_chat(true);
                }>"New chat"</a>
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
