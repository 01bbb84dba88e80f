//! The codelab's model-garden container: `POST /generate` with a raw prompt, answered as
//! `{"predictions": ["Prompt:\n<prompt>\nOutput:\n<text>"]}`.
//!
//! The prompt uses Gemma's own chat template rather than the codelab's invented
//! "User's Turn:" format. Gemma has no system role, so a system prompt is folded into the first
//! user turn, as Gemma's template in vLLM does. `<bos>` is left out: the server's tokenizer
//! adds it.

use app::conversation::Role;
use app::services::PromptMessage;
use serde::{Deserialize, Serialize};

const START: &str = "<start_of_turn>";
const END: &str = "<end_of_turn>";

/// Where generation must stop: the end of the model's turn, or the start of another.
pub const STOP: [&str; 2] = [END, START];

#[derive(Debug, Serialize)]
pub struct GenerateRequest<'a> {
    pub prompt: &'a str,
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: u32,
    pub stop: [&'static str; 2],
}

/// The model garden answers `{"predictions": [...]}`; upstream vLLM's `api_server` answers
/// `{"text": [prompt + output]}`. Either is read.
#[derive(Debug, Deserialize)]
pub struct GenerateResponse {
    #[serde(default)]
    pub predictions: Vec<String>,
    #[serde(default)]
    pub text: Vec<String>,
}

impl GenerateResponse {
    pub fn first(self) -> Option<String> {
        self.predictions.into_iter().chain(self.text).next()
    }
}

/// Renders a conversation with Gemma's chat template, ending with an open model turn.
pub fn gemma_prompt(conversation: &[PromptMessage], system: Option<&str>) -> String {
    let mut prompt = String::new();
    let mut system = system.filter(|s| !s.trim().is_empty());
    for message in conversation {
        let role = match message.role {
            Role::User => "user",
            Role::Model => "model",
        };
        prompt.push_str(START);
        prompt.push_str(role);
        prompt.push('\n');
        if message.role == Role::User {
            if let Some(s) = system.take() {
                prompt.push_str(s.trim());
                prompt.push_str("\n\n");
            }
        }
        prompt.push_str(message.text.trim());
        prompt.push_str(END);
        prompt.push('\n');
    }
    prompt.push_str(START);
    prompt.push_str("model\n");
    prompt
}

/// Extracts the generated text from a prediction. The container echoes our exact prompt, so we
/// strip that exact prefix (a reply that itself contains "Output:" or "Prompt:" is left alone);
/// if the echo differs, we fall back to the text after the last opened model turn.
pub fn reply_text(prediction: &str, prompt: &str) -> String {
    let echoed = format!("Prompt:\n{prompt}\nOutput:\n");
    let generated = if let Some(rest) = prediction.strip_prefix(&echoed) {
        rest
    } else if let Some(pos) = prediction.rfind(&format!("{START}model\n")) {
        let rest = &prediction[pos + START.len() + "model\n".len()..];
        rest.strip_prefix("\nOutput:\n")
            .or_else(|| rest.strip_prefix("Output:\n"))
            .unwrap_or(rest)
    } else {
        prediction
    };
    let end = STOP
        .iter()
        .filter_map(|stop| generated.find(stop))
        .min()
        .unwrap_or(generated.len());
    generated[..end].trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: Role, text: &str) -> PromptMessage {
        PromptMessage {
            role,
            text: text.into(),
            files: Vec::new(),
        }
    }

    #[test]
    fn renders_gemmas_chat_template() {
        let conversation = [
            msg(Role::User, "Hi"),
            msg(Role::Model, "Hello! How can I help?"),
            msg(Role::User, "Tell me a joke"),
        ];
        assert_eq!(
            gemma_prompt(&conversation, None),
            "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello! How can I help?<end_of_turn>\n<start_of_turn>user\nTell me a joke<end_of_turn>\n<start_of_turn>model\n"
        );
    }

    #[test]
    fn folds_the_system_prompt_into_the_first_user_turn_only() {
        let conversation = [
            msg(Role::User, "Hi"),
            msg(Role::Model, "Arr!"),
            msg(Role::User, "More"),
        ];
        let prompt = gemma_prompt(&conversation, Some("You are a pirate."));
        assert!(
            prompt.starts_with("<start_of_turn>user\nYou are a pirate.\n\nHi<end_of_turn>\n"),
            "{prompt}"
        );
        assert_eq!(prompt.matches("pirate").count(), 1);
        assert!(!prompt.contains("system"));
    }

    #[test]
    fn strips_the_echoed_prompt_and_stop_text() {
        let prompt = gemma_prompt(&[msg(Role::User, "Hi")], None);
        let prediction = format!(
            "Prompt:\n{prompt}\nOutput:\n Hello there!<end_of_turn>\n<start_of_turn>user\nmore"
        );
        assert_eq!(reply_text(&prediction, &prompt), "Hello there!");
    }

    #[test]
    fn replies_containing_the_marker_words_survive() {
        let prompt = gemma_prompt(&[msg(Role::User, "What does the API return?")], None);
        let answer = "It returns \"Prompt:\\n...\\nOutput:\\n...\".\nOutput: the generated text.";
        let prediction = format!("Prompt:\n{prompt}\nOutput:\n{answer}");
        assert_eq!(reply_text(&prediction, &prompt), answer);
    }

    #[test]
    fn falls_back_when_the_echo_is_not_exact() {
        let prompt = gemma_prompt(&[msg(Role::User, "Hi")], None);
        let prediction = "Prompt:\n<start_of_turn>user\nHi (reformatted)<end_of_turn>\n<start_of_turn>model\n\nOutput:\nHey<end_of_turn>";
        assert_eq!(reply_text(prediction, &prompt), "Hey");
        assert_eq!(reply_text("just text", &prompt), "just text");
    }
}
