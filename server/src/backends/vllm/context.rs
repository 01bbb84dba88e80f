//! Fitting a Gemma prompt into the context vLLM serves (`--max-model-len`, read from
//! `GET /v1/models`): history + message + Max tokens must fit, or vLLM refuses the request.
//!
//! The history window (`HISTORY_TOKENS`) already bounds prompts by a high estimate; this is the
//! check against the deployed context itself, so a window set larger than the context, or a GPU
//! profile with a shorter one, costs the oldest turns rather than the answer.

use app::conversation::Role;
use app::models::ModelId;
use app::prompt::{estimated_tokens, file_tokens};
use app::services::PromptMessage;

/// Gemma's chat template around each message (`<start_of_turn>user\n … <end_of_turn>\n`), and
/// the generation prompt, estimated high.
const TEMPLATE_TOKENS: usize = 8;

fn message_tokens(text: &str) -> usize {
    estimated_tokens(text) + TEMPLATE_TOKENS
}

/// Where the prompt should start so that `system` + `conversation[start..]` + `max_tokens` fits
/// `max_model_len` by the estimate: the oldest whole turns are left out first. `None` when not
/// even the last message fits that way (an exact count may still find that it does).
pub fn fitting_start(
    system: Option<&str>,
    conversation: &[PromptMessage],
    max_tokens: u32,
    max_model_len: u32,
) -> Option<usize> {
    let budget = (max_model_len as usize)
        .saturating_sub(max_tokens as usize)
        .saturating_sub(system.map_or(0, message_tokens))
        .saturating_sub(TEMPLATE_TOKENS);
    let mut used = 0;
    let mut start = conversation.len();
    // Newest first; a prompt starts with a user message, so a turn is kept or left out whole.
    for (i, m) in conversation.iter().enumerate().rev() {
        used += message_tokens(&m.text)
            + m.files
                .iter()
                .map(|f| file_tokens(&f.attachment, ModelId::Gemma))
                .sum::<usize>();
        if used > budget {
            break;
        }
        if m.role == Role::User {
            start = i;
        }
    }
    (start < conversation.len()).then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(lengths: &[usize]) -> Vec<PromptMessage> {
        lengths
            .iter()
            .enumerate()
            .map(|(i, n)| PromptMessage {
                role: if i % 2 == 0 { Role::User } else { Role::Model },
                text: "abc".repeat(*n),
                files: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn everything_fits_when_it_can() {
        let c = chat(&[100, 100, 100]);
        assert_eq!(fitting_start(None, &c, 1024, 32_768), Some(0));
    }

    #[test]
    fn the_oldest_whole_turns_go_first_and_the_new_message_always_stays() {
        // Five turns of ~4,000 estimated tokens each, then the new message, in a 16k context.
        let c = chat(&[
            2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 2_000, 200,
        ]);
        let start = fitting_start(Some("Be brief."), &c, 1_024, 16_384).expect("fits");
        assert_eq!(start % 2, 0, "starts with a user message");
        assert!(start > 0);
        let kept: usize = c[start..].iter().map(|m| message_tokens(&m.text)).sum();
        assert!(kept + 1_024 + message_tokens("Be brief.") + TEMPLATE_TOKENS <= 16_384);
        // One more turn would not have fitted.
        let more: usize = c[start - 2..].iter().map(|m| message_tokens(&m.text)).sum();
        assert!(more + 1_024 + message_tokens("Be brief.") + TEMPLATE_TOKENS > 16_384);
    }

    #[test]
    fn a_message_too_long_on_its_own_does_not_fit() {
        let c = chat(&[20_000]);
        assert_eq!(fitting_start(None, &c, 1_024, 16_384), None);
        // Max tokens counts too.
        let c = chat(&[5_000]);
        assert_eq!(fitting_start(None, &c, 8_192, 8_192), None);
    }
}
