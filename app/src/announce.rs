//! What the page's live region says when a reply arrives: who replied and the reply's first
//! sentence, short enough to hear in full and then read on (or skip) in the transcript.

use crate::conversation::Message;

/// Longest announced sentence, in characters; longer ones are cut at a word.
const MAX_CHARS: usize = 200;

/// "Gemma replied: …", or one sentence per model for a compared pair.
pub fn replies(replies: &[Message]) -> String {
    replies
        .iter()
        .map(|m| {
            let first = first_sentence(&m.text);
            if first.is_empty() {
                format!("{} replied.", m.model.short_name())
            } else {
                format!("{} replied: {first}", m.model.short_name())
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first sentence of a Markdown text, without the marks a screen reader would spell out
/// (`#`, `*`, backticks…), at most [`MAX_CHARS`] characters.
pub fn first_sentence(markdown: &str) -> String {
    let plain: String = markdown
        .lines()
        .map(|line| line.trim_start_matches(['#', '>', '-', ' ']))
        .filter(|line| !line.starts_with("```"))
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !matches!(c, '*' | '_' | '`' | '#'))
        .collect();
    let words = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = words
        .char_indices()
        .find(|&(i, c)| {
            matches!(c, '.' | '!' | '?')
                && words[i + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace)
        })
        .map_or(words.len(), |(i, c)| i + c.len_utf8());
    let sentence = &words[..end];
    if sentence.chars().count() <= MAX_CHARS {
        return sentence.to_string();
    }
    let cut: String = sentence.chars().take(MAX_CHARS).collect();
    let at_word = cut.rfind(' ').map_or(cut.as_str(), |i| &cut[..i]);
    format!("{at_word}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Role;
    use crate::models::ModelId;

    fn reply(model: ModelId, text: &str) -> Message {
        Message {
            seq: 1,
            role: Role::Model,
            model,
            text: text.into(),
            html: None,
            latency_ms: None,
            total_tokens: None,
            thinking_tokens: None,
            cost: None,
            thinking: None,
            cut_off: false,
            turn: None,
            status: Default::default(),
            error: None,
            since_ms: None,
            verdict: None,
            files: String::new(),
        }
    }

    #[test]
    fn the_first_sentence_without_markdown_marks() {
        assert_eq!(
            first_sentence("## Paris\n\n**Paris** is the capital. It has 2M people."),
            "Paris Paris is the capital."
        );
        assert_eq!(
            first_sentence("Version 2.5 is out! Yes."),
            "Version 2.5 is out!"
        );
        assert_eq!(first_sentence("```rust\nfn main() {}\n```"), "fn main() {}");
        assert_eq!(first_sentence(""), "");
    }

    #[test]
    fn long_sentences_are_cut_at_a_word() {
        let long = "word ".repeat(100);
        let said = first_sentence(&long);
        assert!(said.ends_with("word…"), "{said}");
        assert!(said.chars().count() <= MAX_CHARS + 1);
    }

    #[test]
    fn each_model_is_named() {
        assert_eq!(
            replies(&[reply(ModelId::Gemma, "Hi there. More.")]),
            "Gemma replied: Hi there."
        );
        assert_eq!(
            replies(&[reply(ModelId::Gemma, "A."), reply(ModelId::Gemini, "B!")]),
            "Gemma replied: A. Gemini replied: B!"
        );
    }
}
