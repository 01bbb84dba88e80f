//! The chat's system prompt, under its title: what both models are told before every message
//! of this chat, and a form to change it (a plain post, with or without JavaScript). Written as
//! one string, so the bundle carries no view for it (see `turn_actions`).

use crate::chat::api::SetSystemPrompt;
use crate::chat::state::ChatState;
use crate::conversation::MAX_SYSTEM_PROMPT_CHARS;
use crate::html::{escape, hidden};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

pub fn system_prompt(state: ChatState) -> impl IntoView {
    // A memo: a turn that lands replaces the chat's summary, and an open form being typed in
    // must not be drawn anew when its prompt has not changed.
    let html = Memo::new(move |_| {
        let chat = state.current.get().unwrap_or_default();
        let own = state.with_current(|s| s.system_prompt.clone()).flatten();
        state
            .default_system_prompt
            .with_value(|default| render(&chat, own.as_deref(), default.as_deref()))
    });
    view! { <details class="system-prompt" inner_html=html></details> }
}

/// The header's disclosure for chat `chat` (empty: a new chat, which saving creates).
pub fn render(chat: &str, own: Option<&str>, default: Option<&str>) -> String {
    let shown = match (own, default) {
        (Some(own), _) => escape(own),
        (None, Some(_)) => "the server's default".to_string(),
        (None, None) => "none".to_string(),
    };
    let fallback = match default {
        Some(d) => format!("the server's: “{}”", escape(d)),
        None => "none".to_string(),
    };
    format!(
        r#"<summary>System prompt: <span class="system-prompt-text">{shown}</span></summary><form method="post" action="{}">{}<label for="system-prompt">Instructions for this chat, sent ahead of every turn</label><textarea id="system-prompt" name="prompt" rows="3" maxlength="{MAX_SYSTEM_PROMPT_CHARS}" aria-describedby="system-prompt-hint">{}</textarea><p id="system-prompt-hint" class="hint">Leave it empty for {fallback}.</p><button type="submit">Save</button></form>"#,
        SetSystemPrompt::PATH,
        hidden("chat", chat),
        escape(own.unwrap_or_default()),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_prompt_is_shown_escaped_and_the_default_named() {
        let html = super::render("c1", Some("<b>Be brief</b>"), Some("Server's"));
        assert!(
            html.contains("&lt;b&gt;Be brief&lt;/b&gt;</span>"),
            "{html}"
        );
        assert!(
            html.contains("</textarea>") && !html.contains("<b>"),
            "{html}"
        );
        assert!(html.contains("the server's: “Server's”"), "{html}");
        let html = super::render("", None, None);
        assert!(html.contains(r#"<span class="system-prompt-text">none</span>"#));
    }
}
