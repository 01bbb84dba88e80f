//! What can be done with the chat's last turn: ask it again (Regenerate, the other model, both)
//! and continue a cut-off reply. Plain forms, so they work the same with and without JavaScript
//! (a post, then the chat's page, which follows the turn until it is answered); written as one
//! string per turn, so the bundle carries no view for them. The stylesheet shows the last turn's
//! only, and the server refuses any other (`StoreError::NotLastTurn`).

use crate::chat::api::{AskAgain, SendMessage};
use crate::chat::state::ChatState;
use crate::models::ModelId;
use crate::params::decimal;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// What Continue sends, to the model whose reply was cut off.
pub const CONTINUE: &str = "Continue from where you stopped.";

/// The actions after turn `seq` (its user message's position): `answered` is the model of its
/// newest reply (Regenerate asks it again) or, for a turn without replies, the model it was
/// asked of; `cut_off` the model whose reply reached Max tokens, if one did.
pub fn turn_actions(
    state: ChatState,
    seq: u64,
    answered: ModelId,
    has_replies: bool,
    cut_off: Option<ModelId>,
) -> impl IntoView {
    let chat = state.current.get_untracked().unwrap_or_default();
    use crate::html::hidden;
    let ask = |model: &str, label: &str| {
        format!(
            r#"<button type="submit" name="model" value="{model}" class="secondary">{label}</button>"#
        )
    };
    let mut html = format!(
        r#"<form method="post" action="{}">{}{}{}"#,
        AskAgain::PATH,
        hidden("chat", &chat),
        hidden("seq", &seq.to_string()),
        if has_replies {
            ask(answered.as_str(), "Regenerate")
        } else {
            ask(
                answered.as_str(),
                &format!("Ask {} again", answered.short_name()),
            )
        },
    );
    let other = ModelId::ALL.into_iter().find(|m| *m != answered);
    if let Some(other) = other.filter(|m| state.selectable(*m)) {
        html += &ask(other.as_str(), &format!("Ask {}", other.short_name()));
        if state.selectable(answered) {
            html += &ask("both", "Both models");
        }
    }
    html += "</form>";
    if let Some(model) = cut_off {
        let p = state.settings_untracked().params;
        html += &format!(
            r#"<form method="post" action="{}">{}{}{}{}{}{}{}<button type="submit" class="secondary">Continue</button></form>"#,
            SendMessage::PATH,
            hidden("chat", &chat),
            hidden("message", CONTINUE),
            hidden("model", model.as_str()),
            hidden("temperature", &decimal(p.temperature.into(), 2)),
            hidden("top_p", &decimal(p.top_p.into(), 2)),
            hidden("max_tokens", &p.max_tokens.to_string()),
            p.thinking
                .map(|t| hidden("thinking", &t.to_string()))
                .unwrap_or_default(),
        );
    }
    view! { <div class="turn-actions" role="group" aria-label="This turn" inner_html=html></div> }
}
