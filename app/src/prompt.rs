//! What a turn sends to a model: the newest completed turns of the chat that fit the history
//! window, then the new message. A chat can grow past any model's context window, so a prompt
//! never carries the whole of it; and because the window is bounded, so is what a turn reads
//! from the store.

use crate::attachment::Attachment;
use crate::conversation::{Role, StoredMessage, TurnStatus};
use crate::models::ModelId;

/// One message of the conversation as a model sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptMessage {
    pub role: Role,
    pub text: String,
    /// A user message's files that go with it: the newest [`MAX_PROMPT_FILES`] of the prompt,
    /// of kinds the target reads. Their bytes are filled in by the turn before the call.
    pub files: Vec<PromptFile>,
}

/// One file of a prompt: its reference, and its bytes once read from the blob store.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptFile {
    pub attachment: Attachment,
    pub bytes: std::sync::Arc<Vec<u8>>,
}

/// The most files one prompt carries, the new message's and earlier ones' together (vLLM's
/// `--limit-mm-per-prompt` is set to match in deploy/). Older files are left out, newest kept.
pub const MAX_PROMPT_FILES: usize = 5;

/// What a file adds to the prompt, in tokens: Gemma 3 reads any picture as 256 tokens, Gemini
/// as 258 (a picture up to 384 pixels a side; larger ones are tiled, about 258 a tile); a PDF
/// is about 258 a page, guessed here from its size (a page of text runs near 3 KB).
pub fn file_tokens(file: &Attachment, target: ModelId) -> usize {
    match (file.kind.is_image(), target) {
        (true, ModelId::Gemma) => 256,
        (true, ModelId::Gemini) => {
            let tiles = |px: u32| (px as usize).div_ceil(768).max(1);
            if file.width <= 384 && file.height <= 384 {
                258
            } else {
                258 * tiles(file.width) * tiles(file.height)
            }
        }
        (false, _) => 258 * (file.bytes as usize).div_ceil(3_000).max(1),
    }
}

fn message_tokens(m: &PromptMessage, target: ModelId) -> usize {
    estimated_tokens(&m.text)
        + m.files
            .iter()
            .map(|f| file_tokens(&f.attachment, target))
            .sum::<usize>()
}

fn prompt_files(files: &[Attachment], target: ModelId) -> Vec<PromptFile> {
    files
        .iter()
        .filter(|f| f.kind.read_by(target))
        .map(|f| PromptFile {
            attachment: f.clone(),
            bytes: Default::default(),
        })
        .collect()
}

/// How much of a chat goes into a prompt: at most `messages` stored messages before the new one
/// (what the store reads), cut further, oldest turns first, to an estimated `tokens`
/// (see [`estimated_tokens`]) together with the new message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryWindow {
    pub messages: usize,
    pub tokens: usize,
}

impl HistoryWindow {
    /// 32 turns, and about half of Gemma 3's 32k context as the deployment serves it, which
    /// leaves the rest for the system prompt and the reply.
    pub const DEFAULT: HistoryWindow = HistoryWindow {
        messages: 64,
        tokens: 16_000,
    };
}

impl Default for HistoryWindow {
    fn default() -> Self {
        HistoryWindow::DEFAULT
    }
}

/// A deliberately high token count: a third of the UTF-8 bytes. English runs near four bytes a
/// token and Chinese or Japanese three bytes a character at about a token each, so this
/// over-counts the one and is close for the other: a prompt fits whatever language the chat is
/// in. (The models' own tokenizers are not here; the exact count comes back in the usage.)
pub fn estimated_tokens(text: &str) -> usize {
    text.len().div_ceil(3)
}

/// The prompt for `target`: the newest completed turns of `history` that fit `window.tokens`
/// together with the new message `user`, then `user`. The new message is always sent, however
/// long (its own limit is checked when it is sent).
pub fn prompt_for(
    history: &[StoredMessage],
    user: &str,
    user_files: &[Attachment],
    target: ModelId,
    window: HistoryWindow,
) -> Vec<PromptMessage> {
    let mut past = prompt_history(history, target);
    // The newest files only: walking back, a message past the cap keeps its words alone.
    let mut room = MAX_PROMPT_FILES.saturating_sub(user_files.len());
    for m in past.iter_mut().rev() {
        let keep = m.files.len().min(room);
        m.files.truncate(keep);
        room -= keep;
    }
    let new = PromptMessage {
        role: Role::User,
        text: user.to_string(),
        files: prompt_files(user_files, target),
    };
    let mut budget = window.tokens.saturating_sub(message_tokens(&new, target));
    // `past` alternates user, model: keep whole turns, newest first, while they fit.
    let mut start = past.len();
    while start >= 2 {
        let turn =
            message_tokens(&past[start - 2], target) + message_tokens(&past[start - 1], target);
        if turn > budget {
            break;
        }
        budget -= turn;
        start -= 2;
    }
    let mut prompt = past[start..].to_vec();
    prompt.push(new);
    prompt
}

/// The conversation as `target` should see it. A user message may have several replies (Ask
/// both, Regenerate, another model asked): `target` sees the newest of its own, or if it has
/// none there, the newest of all, so roles still alternate as Gemma's chat template requires.
/// Turns that never completed (pending, failed, stopped) are left out: they have no reply. So
/// are replies at the start whose message is not in `history` (the window began inside a
/// turn): the result always starts with a user message.
pub fn prompt_history(history: &[StoredMessage], target: ModelId) -> Vec<PromptMessage> {
    let mut out: Vec<PromptMessage> = Vec::with_capacity(history.len());
    let mut i = 0;
    while i < history.len() {
        let m = &history[i];
        if m.role == Role::User && m.status != TurnStatus::Complete {
            // The turn is left out whole: an edited one has replies.
            i += 1;
            while history.get(i).is_some_and(|m| m.role == Role::Model) {
                i += 1;
            }
            continue;
        }
        if out.is_empty() && m.role == Role::Model {
            i += 1;
            continue;
        }
        if m.role == Role::User {
            out.push(PromptMessage {
                role: Role::User,
                text: m.text.clone(),
                files: prompt_files(&m.attachments, target),
            });
            i += 1;
            continue;
        }
        let run_end = history[i..]
            .iter()
            .position(|m| m.role != Role::Model)
            .map_or(history.len(), |p| i + p);
        let replies = &history[i..run_end];
        let chosen = replies
            .iter()
            .rev()
            .find(|r| r.model == target)
            .unwrap_or(&replies[replies.len() - 1]);
        out.push(PromptMessage {
            role: Role::Model,
            text: chosen.text.clone(),
            files: Vec::new(),
        });
        i = run_end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::GenParams;

    fn stored(seq: u64, role: Role, model: ModelId, text: &str) -> StoredMessage {
        StoredMessage {
            seq,
            role,
            text: text.into(),
            model,
            params: GenParams::default(),
            created_at_ms: 0,
            latency_ms: None,
            usage: None,
            cost: None,
            finish_reason: None,
            turn: None,
            status: TurnStatus::Complete,
            error: None,
            verdict: None,
            attachments: Vec::new(),
        }
    }

    fn texts(prompt: Vec<PromptMessage>) -> Vec<String> {
        prompt.into_iter().map(|p| p.text).collect()
    }

    #[test]
    fn after_a_compare_each_model_sees_its_own_answer() {
        let history = [
            stored(0, Role::User, ModelId::Gemma, "q1"),
            stored(1, Role::Model, ModelId::Gemma, "gemma a1"),
            stored(2, Role::Model, ModelId::Gemini, "gemini a1"),
            stored(3, Role::User, ModelId::Gemini, "q2"),
            stored(4, Role::Model, ModelId::Gemini, "gemini a2"),
        ];
        let texts = |m: ModelId| texts(prompt_history(&history, m));
        assert_eq!(texts(ModelId::Gemma), ["q1", "gemma a1", "q2", "gemini a2"]);
        assert_eq!(
            texts(ModelId::Gemini),
            ["q1", "gemini a1", "q2", "gemini a2"]
        );
        let roles: Vec<Role> = prompt_history(&history, ModelId::Gemma)
            .into_iter()
            .map(|p| p.role)
            .collect();
        assert_eq!(roles, [Role::User, Role::Model, Role::User, Role::Model]);
    }

    #[test]
    fn a_turn_asked_again_sends_the_newest_reply_of_the_model_asked() {
        let history = [
            stored(0, Role::User, ModelId::Gemma, "q1"),
            stored(1, Role::Model, ModelId::Gemma, "gemma first"),
            stored(2, Role::Model, ModelId::Gemma, "gemma regenerated"),
            stored(3, Role::Model, ModelId::Gemini, "gemini asked too"),
        ];
        let texts = |m: ModelId| texts(prompt_history(&history, m));
        assert_eq!(texts(ModelId::Gemma), ["q1", "gemma regenerated"]);
        assert_eq!(texts(ModelId::Gemini), ["q1", "gemini asked too"]);
        // A model with no reply there sees the newest.
        let regenerated = &history[..3];
        assert_eq!(
            super::tests::texts(prompt_history(regenerated, ModelId::Gemini)),
            ["q1", "gemma regenerated"]
        );
    }

    #[test]
    fn an_edited_turn_is_left_out_with_its_replies() {
        let mut history = vec![
            stored(0, Role::User, ModelId::Gemma, "q1 with a typo"),
            stored(1, Role::Model, ModelId::Gemma, "a1 to the typo"),
            stored(2, Role::User, ModelId::Gemma, "q1 fixed"),
            stored(3, Role::Model, ModelId::Gemma, "a1"),
        ];
        history[0].status = TurnStatus::Replaced;
        assert_eq!(
            texts(prompt_history(&history, ModelId::Gemma)),
            ["q1 fixed", "a1"]
        );
    }

    #[test]
    fn turns_without_a_reply_are_left_out_of_the_prompt() {
        let mut failed = stored(2, Role::User, ModelId::Gemma, "lost");
        failed.status = TurnStatus::Failed;
        let mut pending = stored(5, Role::User, ModelId::Gemma, "waiting");
        pending.status = TurnStatus::Pending;
        let history = [
            stored(0, Role::User, ModelId::Gemma, "q1"),
            stored(1, Role::Model, ModelId::Gemma, "a1"),
            failed,
            stored(3, Role::User, ModelId::Gemma, "q2"),
            stored(4, Role::Model, ModelId::Gemma, "a2"),
            pending,
        ];
        assert_eq!(
            texts(prompt_history(&history, ModelId::Gemma)),
            ["q1", "a1", "q2", "a2"]
        );
    }

    #[test]
    fn a_window_that_begins_inside_a_turn_starts_at_its_next_message() {
        // Seq 0 (the question these replies answer) fell outside the window.
        let history = [
            stored(1, Role::Model, ModelId::Gemma, "gemma a0"),
            stored(2, Role::Model, ModelId::Gemini, "gemini a0"),
            stored(3, Role::User, ModelId::Gemma, "q1"),
            stored(4, Role::Model, ModelId::Gemma, "a1"),
        ];
        let prompt = prompt_for(&history, "q2", &[], ModelId::Gemma, HistoryWindow::DEFAULT);
        assert_eq!(prompt[0].role, Role::User);
        assert_eq!(texts(prompt), ["q1", "a1", "q2"]);
    }

    #[test]
    fn the_oldest_turns_go_first_when_the_tokens_run_out() {
        // Each turn is 300 bytes (100 estimated tokens); the new message 30 bytes (10 tokens).
        let (q, a) = ("q".repeat(150), "a".repeat(150));
        let history: Vec<StoredMessage> = (0..10)
            .flat_map(|t| {
                [
                    stored(
                        2 * t,
                        Role::User,
                        ModelId::Gemma,
                        &format!("{t}{}", &q[1..]),
                    ),
                    stored(2 * t + 1, Role::Model, ModelId::Gemma, &a),
                ]
            })
            .collect();
        let user = "n".repeat(30);
        let window = |tokens| HistoryWindow {
            messages: 64,
            tokens,
        };
        // Room for three whole turns and the new message, not four.
        let prompt = prompt_for(&history, &user, &[], ModelId::Gemma, window(399));
        assert_eq!(prompt.len(), 7);
        assert!(prompt[0].text.starts_with('7'), "the newest three turns");
        assert_eq!(prompt.last().map(|p| p.text.as_str()), Some(user.as_str()));
        assert_eq!(
            prompt_for(&history, &user, &[], ModelId::Gemma, window(410)).len(),
            9
        );
        // No room at all: the new message alone, never an empty prompt.
        let alone = prompt_for(&history, &user, &[], ModelId::Gemma, window(0));
        assert_eq!(texts(alone), [user.as_str()]);
        // Everything fits.
        assert_eq!(
            prompt_for(&history, &user, &[], ModelId::Gemma, HistoryWindow::DEFAULT).len(),
            21
        );
    }

    #[test]
    fn token_estimates_run_high_for_english_and_close_for_cjk() {
        assert_eq!(estimated_tokens(""), 0);
        // "hello world" is 2 tokens to most tokenizers.
        assert_eq!(estimated_tokens("hello world"), 4);
        // Four CJK characters: 12 bytes, about 4 tokens.
        assert_eq!(estimated_tokens("你好世界"), 4);
    }
}
