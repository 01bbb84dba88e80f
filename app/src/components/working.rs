//! The working indicator under a pending message: how long it has waited, and once Gemma has
//! kept the person waiting for a while, "Ask Gemini instead". With JavaScript, Stop is the
//! composer's button (and Esc). Without it, Stop and the offer are forms inside `<noscript>`,
//! written as HTML on the server: the wasm never builds them.

use crate::chat::page::focus_message_box;
use crate::chat::state::{ChatState, Target, Waiting};
use crate::models::ModelId;
use leptos::prelude::*;

#[component]
pub fn Working(waiting: Waiting) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let since = waiting.since_ms;
    let elapsed = move || (state.now.get() - since).max(0) / 1000;
    let may_offer =
        waiting.target == Target::One(ModelId::Gemma) && state.selectable(ModelId::Gemini);
    let after = i64::from(state.offer_gemini_after_s.get_value());
    // A memo: the offer is drawn once when it comes, not each second (focus would be lost).
    let offer = Memo::new(move |_| may_offer && state.hydrated.get() && elapsed() >= after);
    Effect::new(move |_| {
        if offer.get() {
            state
                .announcement
                .set("Gemma is taking a while. You can ask Gemini instead.".into());
        }
    });
    let no_script = no_script(&state, &waiting, may_offer && elapsed() >= after);
    // One fixed structure (the offer is hidden until it is due): every conditional part would
    // add its own code to the bundle.
    view! {
        <div class="working">
            <span class="dots" aria-hidden="true"></span>
            {waiting.target.thinking()}
            <span class="elapsed">{move || format!("{} s", elapsed())}</span>
            <button type="button" class="secondary instead" hidden=move || !offer.get()
                title="Gemma may be starting up its GPU node"
                on:click=move |_| {
                    state.ask_instead(ModelId::Gemini);
                    focus_message_box();
                }>"Ask Gemini instead"</button>
            <noscript inner_html=no_script></noscript>
        </div>
    }
}

/// Without JavaScript: the page reloads itself until the reply is in, and offers Stop and, after
/// the delay, "Ask Gemini instead" (the same words to Gemini, replacing this turn), as forms.
#[cfg(feature = "ssr")]
fn no_script(state: &ChatState, w: &Waiting, offer: bool) -> String {
    use crate::chat::api::{SendMessage, StopTurn};
    use crate::html::hidden;
    use leptos::server_fn::ServerFn;
    let mut html = format!(
        r#"<meta http-equiv="refresh" content="2"><form class="stop-form" method="post" action="{}">{}{}<button type="submit" class="secondary stop">Stop</button></form>"#,
        StopTurn::PATH,
        hidden("chat", &w.chat),
        hidden("turn", &w.turn),
    );
    if offer {
        let p = state.settings_untracked().params;
        html += &format!(
            r#"<form class="instead" method="post" action="{}">{}<p>Gemma is taking a while: its GPU may be starting up.</p><button type="submit" class="secondary">Ask Gemini instead</button></form>"#,
            SendMessage::PATH,
            [
                hidden("chat", &w.chat),
                hidden("turn", &state.next_turn.get_value()),
                hidden("replaces", &w.turn),
                hidden("message", &w.text),
                hidden("model", ModelId::Gemini.as_str()),
                hidden("temperature", &p.temperature.to_string()),
                hidden("top_p", &p.top_p.to_string()),
                hidden("max_tokens", &p.max_tokens.to_string()),
                p.thinking
                    .map(|t| hidden("thinking", &t.to_string()))
                    .unwrap_or_default(),
            ]
            .concat(),
        );
    }
    html
}

/// In the browser `<noscript>` is never shown: nothing to write.
#[cfg(not(feature = "ssr"))]
fn no_script(_: &ChatState, _: &Waiting, _: bool) -> String {
    String::new()
}
