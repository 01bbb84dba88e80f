//! The message box. Enter sends and Shift+Enter is a newline, except on touch screens, where
//! Enter is a newline (as phone keyboards lead people to expect) and the Send button sends. It
//! is a real form posting to the send server function (and, with "Ask both", to compare), so it
//! also works with JavaScript off; with JavaScript on, the submit is taken over to keep the page
//! and show progress. Files: without JavaScript the picker posts them with the message
//! (multipart); with it they go up as soon as they are picked and wait as chips (`attach`).

use super::attach::Chips;
use crate::chat::api::{CompareModels, SendMessage};
use crate::chat::chat_path;
use crate::chat::page::{focus_message_box, MESSAGE_BOX_ID};
use crate::chat::state::{ChatState, Failure, Target};
use crate::components::settings_panel::COMPOSER_FORM_ID;
use crate::errors::{ChatError, ModelError};
use crate::models::ModelId;
use crate::params::MAX_MESSAGE_CHARS;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// Gemma failures that Gemini could answer instead: its GPU node may be scaling up from zero.
fn gemini_could_help(error: &ChatError) -> bool {
    matches!(
        error,
        ChatError::Model(
            ModelError::Unreachable(ModelId::Gemma)
                | ModelError::TimedOut(ModelId::Gemma)
                | ModelError::Busy(ModelId::Gemma)
                | ModelError::BackendError(ModelId::Gemma)
        )
    )
}

#[component]
pub fn Composer() -> impl IntoView {
    let state = expect_context::<ChatState>();
    // A chat takes one turn at a time: the pending one may be this tab's, or one it is
    // following after a reload.
    let waiting = move || state.is_waiting();
    // Files still going up hold Send back; files alone (no words) may be sent.
    let blocked = move || {
        state.hydrated.get()
            && (waiting()
                || state.uploading.get()
                || (state.draft.with(|d| d.trim().is_empty()) && state.chips.get() == 0))
    };
    let stoppable = move || state.hydrated.get() && waiting();
    let both_available = state.selectable(ModelId::Gemma) && state.selectable(ModelId::Gemini);
    view! {
        {move || state.failed.get().map(|Failure { error, send }| {
            let can_retry = error.retryable() && send.is_some();
            let offer_gemini = send.is_some_and(|s| s.target == Target::One(ModelId::Gemma))
                && gemini_could_help(&error)
                && state.selectable(ModelId::Gemini);
            view! {
                <div class="error" role="alert">
                    <p>{error.to_string()}</p>
                    {can_retry.then(|| view! {
                        <button type="button" class="retry" on:click=move |_| {
                            state.retry(None);
                            focus_message_box();
                        }>"Retry"</button>
                    })}
                    {offer_gemini.then(|| view! {
                        <button type="button" class="retry fallback"
                            on:click=move |_| {
                                state.retry(Some(Target::One(ModelId::Gemini)));
                                focus_message_box();
                            }>
                            "Send to Gemini instead"
                        </button>
                    })}
                </div>
            }
        })}
        <form
            id=COMPOSER_FORM_ID
            class="composer"
            method="post"
            action=SendMessage::PATH
            enctype="multipart/form-data"
            // Hydrated: `attach.js` takes files from here on (see `attach.rs`).
            data-enhanced=move || state.hydrated.get().then_some("")
            on:submit=move |ev| {
                ev.prevent_default();
                state.submit_draft(false);
                // The Send button is disabled while the reply is on its way: keep the caret
                // in the box rather than letting focus fall back to the page.
                focus_message_box();
            }
        >
            // The chat this form sends to (empty: a new one). Without JavaScript it is the page's.
            <input type="hidden" name="chat" value=move || state.current.get().unwrap_or_default()/>
            // This page's turn id: a plain form post sent twice (back, then submit) is one turn.
            <input type="hidden" name="turn" value=state.next_turn.get_value()/>
            // Editing the last message (the Edit link loads the page so): the send replaces it.
            // Written once, as the page came; hidden once that send is made or the chat changes.
            <input type="hidden" name="edits" value=move || state.editing.get().map(|s| s.to_string()).unwrap_or_default()/>
            // ...and its files go again with it.
            <input type="hidden" name="attachments" value=move || state.editing.get().map(|_| state.edit_files.get_value()).unwrap_or_default()/>
            <p class="editing" hidden=move || state.editing.get().is_none() inner_html=editing_note(state)></p>
            <textarea
                id=MESSAGE_BOX_ID
                name="message"
                rows="3"
                // Only with JavaScript, where `attach.js` turns a longer paste into a text file;
                // without it the server does (a `maxlength` would cut it unsaid).
                maxlength=move || state.hydrated.get().then_some(MAX_MESSAGE_CHARS)
                placeholder="Message"
                // The Edit link's page: the caret goes to the words being edited.
                autofocus=state.editing.get_untracked().is_some()
                aria-label="Message"
                aria-describedby="composer-keys"
                prop:value=move || state.draft.get()
                on:input=move |ev| state.draft.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Escape" && stoppable() {
                        state.stop();
                    } else if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() && !touch_screen() {
                        ev.prevent_default();
                        state.submit_draft(false);
                    }
                }
            >
                // The draft as served: without JavaScript, a stopped turn's or a refused message's
                // words come back here.
                {served_draft(state.draft.get_untracked())}
            </textarea>
            // Only true where the keydown handler runs: not before hydration, not on touch.
            <p id="composer-keys" class="keys-hint">
                {move || (state.hydrated.get() && !touch_screen()).then_some("Enter sends, Shift+Enter adds a line.")}
            </p>
            <Chips/>
            <div class="actions">
                // While a reply is on its way, Send is Stop (so is Esc in the message box).
                // Without JavaScript the Stop is a form by the pending message.
                <button
                    id=SEND_BUTTON_ID
                    type=move || if stoppable() { "button" } else { "submit" }
                    class="send"
                    aria-keyshortcuts=move || stoppable().then_some("Escape")
                    disabled=move || !stoppable() && blocked()
                    on:click=move |ev| {
                        if stoppable() {
                            ev.prevent_default();
                            state.stop();
                            focus_message_box();
                        }
                    }
                >
                    {move || if stoppable() { "Stop" } else { "Send" }}
                </button>
                {both_available.then(|| view! {
                    <button
                        type="submit"
                        class="secondary compare"
                        formaction=CompareModels::PATH
                        title="Send this message to Gemma and Gemini and show both answers"
                        disabled=blocked
                        on:click=move |ev| {
                            ev.prevent_default();
                            state.submit_draft(true);
                            focus_message_box();
                        }
                    >
                        "Ask both"
                    </button>
                })}
            </div>
            // After Send in the tab order: the message box, then Send, then the picker.
            <div class="attach">
                <label>
                    "Attach files "
                    <input
                        id="attach-files"
                        type="file"
                        name="files"
                        multiple
                        accept=ACCEPT
                        aria-describedby="attach-limits"
                        // `attach.js` takes the files as chips, then says so with a change here.
                        on:change=move |_ev| {
                            #[cfg(feature = "hydrate")]
                            state.count_chips(&event_target::<web_sys::Element>(&_ev));
                        }
                    />
                </label>
                <span id="attach-limits" class="hint">"Pictures (PNG, JPEG, WebP; GIF for Gemma), PDFs for Gemini, text and code. Up to 5 files, 7 MB each (text 1 MB)."</span>
            </div>
        </form>
    }
}

/// "Editing your last message", with a Cancel link back to the chat.
fn editing_note(state: ChatState) -> String {
    match state.editing.get_untracked() {
        Some(_) => format!(
            r#"Editing your last message: sending replaces it. <a href="{}">Cancel</a>"#,
            chat_path(&state.current.get_untracked().unwrap_or_default())
        ),
        None => String::new(),
    }
}

const SEND_BUTTON_ID: &str = "send-button";

/// What the picker offers: the kinds the server takes (it tells them by content, whatever
/// this says), text by its usual extensions, as browsers give many no type.
const ACCEPT: &str = "image/png,image/jpeg,image/webp,image/gif,application/pdf,text/*,.txt,.md,.csv,.json,.yaml,.yml,.toml,.rs,.py,.js,.ts,.go,.java,.c,.h,.cpp,.sh,.sql";

/// Whether the main pointer is a finger: there Enter makes a new line.
fn touch_screen() -> bool {
    #[cfg(feature = "hydrate")]
    {
        window()
            .match_media("(pointer: coarse)")
            .ok()
            .flatten()
            .is_some_and(|q| q.matches())
    }
    #[cfg(not(feature = "hydrate"))]
    false
}

/// The words a textarea is served with. tachys writes a textarea's children unescaped (as it
/// does a script's), yet `</textarea>` in them would end it and the rest would be markup: on the
/// server they are escaped (the browser decodes them back into the box). In the browser the box
/// takes its value from the state, so they go as they are.
fn served_draft(words: String) -> String {
    #[cfg(feature = "ssr")]
    return crate::html::escape(&words);
    #[cfg(not(feature = "ssr"))]
    words
}
