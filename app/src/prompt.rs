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
    pub bytes: std::sync::Arc<FileBytes>,
}

/// A file's bytes, read for a turn's model requests, with the share of the replica's budget for
/// such bytes that they hold until every request is done with them (`chat::ssr::files`).
#[derive(Default)]
pub struct FileBytes {
    bytes: Vec<u8>,
    _held: Option<std::sync::Arc<crate::services::HeldRoom>>,
}

impl FileBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        FileBytes { bytes, _held: None }
    }

    pub fn held(bytes: Vec<u8>, held: std::sync::Arc<crate::services::HeldRoom>) -> Self {
        FileBytes {
            bytes,
            _held: Some(held),
        }
    }
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl PartialEq for FileBytes {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileBytes({} bytes)", self.bytes.len())
    }
}

/// The most files one prompt carries, the new message's and earlier ones' together (vLLM's
/// `--limit-mm-per-prompt` is set to match in deploy/). Older files are left out, newest kept.
pub const MAX_PROMPT_FILES: usize = 5;

/// A text file's wrapper (`<file name="…">` and its end), estimated high.
const FILE_WRAPPER_TOKENS: usize = 40;

impl PromptMessage {
    /// Text files join the words, each in a `<file name="…">` block before them (long
    /// documents first, then the question, as Google's long-context guide advises), so every
    /// wire and every server, `/generate` too, carries them as text.
    pub fn fold_text_files(&mut self) {
        let (texts, others): (Vec<PromptFile>, Vec<PromptFile>) = std::mem::take(&mut self.files)
            .into_iter()
            .partition(|f| f.attachment.kind.is_text());
        self.files = others;
        if texts.is_empty() {
            return;
        }
        let mut text = String::new();
        for f in &texts {
            let body = String::from_utf8_lossy(&f.bytes);
            let body = body.strip_prefix('\u{feff}').unwrap_or(&body);
            text.push_str(&format!(
                "<file name=\"{}\">\n{}\n</file>\n\n",
                f.attachment.name,
                body.trim_end()
            ));
        }
        text.push_str(&self.text);
        self.text = text.trim_end().to_string();
    }
}

/// What a file adds to the prompt, in tokens (a text file: its words, estimated as any are): Gemma 3 reads any picture as 256 tokens, Gemini
/// as 258 (a picture up to 384 pixels a side; larger ones are tiled, about 258 a tile); a PDF
/// is about 258 a page, guessed here from its size (a page of text runs near 3 KB).
pub fn file_tokens(file: &Attachment, target: ModelId) -> usize {
    if file.kind.is_text() {
        return (file.bytes as usize).div_ceil(3) + FILE_WRAPPER_TOKENS;
    }
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
mod tests;
