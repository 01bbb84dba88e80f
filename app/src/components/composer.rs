//! The message box. Enter sends, Shift+Enter is a newline. It is a real form posting to the
//! send server function, so it also works with JavaScript off; with JavaScript on, the submit is
//! taken over to keep the page and show progress.

use crate::chat_page::{ChatState, SendMessage};
use crate::components::settings_panel::COMPOSER_FORM_ID;
use crate::params::MAX_MESSAGE_CHARS;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

#[component]
pub fn Composer() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let blocked = move || {
        state.hydrated.get()
            && (state.pending.with(|p| p.is_some()) || state.draft.with(|d| d.trim().is_empty()))
    };

    view! {
        {move || state.failed.get().map(|(outgoing, error)| {
            let can_retry = error.retryable() && !outgoing.text.is_empty();
            view! {
                <div class="error" role="alert">
                    <p>{error.to_string()}</p>
                    {can_retry.then(|| view! {
                        <button type="button" class="retry" on:click=move |_| state.retry()>"Retry"</button>
                    })}
                </div>
            }
        })}
        <form
            id=COMPOSER_FORM_ID
            class="composer"
            method="post"
            action=SendMessage::PATH
            on:submit=move |ev| {
                ev.prevent_default();
                state.submit_draft();
            }
        >
            <textarea
                name="message"
                rows="3"
                maxlength=MAX_MESSAGE_CHARS
                placeholder="Message (Enter to send, Shift+Enter for a new line)"
                aria-label="Message"
                prop:value=move || state.draft.get()
                on:input=move |ev| state.draft.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        state.submit_draft();
                    }
                }
            ></textarea>
            <button type="submit" class="send" disabled=blocked>"Send"</button>
        </form>
    }
}
