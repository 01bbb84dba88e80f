//! Under a side-by-side pair (a message both models answered): which answer was better, or a
//! tie. A plain form (a post, then the chat's page), the same with and without JavaScript,
//! written as one string, so the bundle carries no view for it (see `turn_actions`). The
//! verdicts add up on the Models page.

use crate::chat::api::Judge;
use crate::conversation::Verdict;
use crate::html::hidden;
use leptos::server_fn::ServerFn;

/// The form for the pair answering the user message at `seq` in chat `chat`, with `current`
/// pressed; pressing it again takes it back.
pub fn verdict_form(chat: &str, seq: u64, current: Option<Verdict>) -> String {
    let mut html = format!(
        r#"<form method="post" action="{}">{}{}<span>Better answer:</span>"#,
        Judge::PATH,
        hidden("chat", chat),
        hidden("seq", &seq.to_string()),
    );
    for v in Verdict::ALL {
        let pressed = current == Some(v);
        html += &format!(
            r#"<button type="submit" name="verdict" value="{}" class="secondary" aria-pressed="{pressed}">{}</button>"#,
            if pressed { "none" } else { v.as_str() },
            v.label(),
        );
    }
    html + "</form>"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_verdict_is_pressed_and_pressing_it_again_takes_it_back() {
        let html = verdict_form("c1", 4, Some(Verdict::Tie));
        assert!(html.contains(r#"name="seq" value="4""#), "{html}");
        assert!(html.contains(r#"value="none" class="secondary" aria-pressed="true">Tie<"#));
        assert!(html.contains(r#"value="gemma" class="secondary" aria-pressed="false">Gemma<"#));
        assert_eq!(html.matches("aria-pressed=\"true\"").count(), 1);
    }
}
