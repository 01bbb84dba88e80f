//! What a process remembers of the chats it served last: per chat, the session document as it
//! last wrote it, that write's time, and the chat's newest messages as of that write.
//!
//! The chat's next turn is accepted in one commit, on the condition that the session document
//! is still that version (`FirestoreStore::begin_at_version`). Every write to a chat's messages
//! also writes its session document (accepting, completing, marking a turn interrupted;
//! a delete removes it first), so when the condition holds, the remembered messages are exactly
//! the stored ones, and the turn's history needs no read at all. When it fails (another
//! replica, a rename), a transaction decides and the history is read, as without this.

use super::docs::SessionDoc;
use app::conversation::StoredMessage;
use firestore::FirestoreInstant;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How many chats a process remembers…
const KNOWN_CHATS: usize = 10_000;
/// …and how many bytes of their messages' text, at most. Past either, it starts afresh.
const KNOWN_BYTES: usize = 64 << 20;

#[derive(Clone)]
pub(super) struct Known {
    pub version: FirestoreInstant,
    pub doc: SessionDoc,
    /// The chat's newest messages as of `version`, oldest first, up to `cap` of them. Only a
    /// whole tail is kept: its last message is the newest in the chat.
    pub window: Option<Arc<Vec<StoredMessage>>>,
    /// The history window the chat's turns use (`ChatStore::begin_turn`'s `history`).
    pub cap: usize,
}

impl Known {
    /// The newest `history` messages before message `next` (the new turn's), if this window
    /// holds them all and no turn is pending: the one-commit path takes no turn then, so the
    /// history is read beside its transaction instead.
    pub fn history(&self, next: u64, history: usize) -> Option<Vec<StoredMessage>> {
        if self.doc.pending_seq.is_some() {
            return None;
        }
        let window = self.window.as_ref()?;
        let whole = window.last().map_or(0, |m| m.seq + 1) == next
            && window.len() >= history.min(next as usize);
        whole.then(|| window[window.len().saturating_sub(history)..].to_vec())
    }
}

/// The window after a turn: the one before it (which ends with the turn's user message, as it
/// was accepted), with that message as completed and the replies after it, cut to `cap`.
/// `None` if the window did not end with that message.
pub(super) fn after_turn(
    before: Option<&[StoredMessage]>,
    written: &[StoredMessage],
    cap: usize,
) -> Option<Vec<StoredMessage>> {
    let (before, user) = (before?, written.first()?);
    let (last, rest) = before.split_last()?;
    if last.seq != user.seq {
        return None;
    }
    let mut window: Vec<StoredMessage> = rest.iter().chain(written).cloned().collect();
    window.drain(..window.len().saturating_sub(cap));
    Some(window)
}

fn bytes(window: &Option<Arc<Vec<StoredMessage>>>) -> usize {
    window
        .as_ref()
        .map_or(0, |w| w.iter().map(|m| m.text.len()).sum())
}

#[derive(Clone, Default)]
pub(super) struct KnownChats(Arc<Mutex<Chats>>);

#[derive(Default)]
struct Chats {
    chats: HashMap<String, Known>,
    bytes: usize,
}

impl KnownChats {
    pub fn get(&self, session: &str) -> Option<Known> {
        self.0.lock().ok()?.chats.get(session).cloned()
    }

    pub fn remember(&self, known: Known) {
        let Ok(mut all) = self.0.lock() else {
            return;
        };
        if let Some(old) = all.chats.remove(&known.doc.id) {
            all.bytes -= bytes(&old.window);
        }
        let size = bytes(&known.window);
        if all.chats.len() >= KNOWN_CHATS || all.bytes + size > KNOWN_BYTES {
            all.chats.clear();
            all.bytes = 0;
        }
        all.bytes += size;
        all.chats.insert(known.doc.id.clone(), known);
    }

    /// Forgets the chat, returning what was known of it.
    pub fn take(&self, session: &str) -> Option<Known> {
        let mut all = self.0.lock().ok()?;
        let known = all.chats.remove(session)?;
        all.bytes -= bytes(&known.window);
        Some(known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::conversation::{Role, TurnStatus};
    use app::models::ModelId;
    use app::params::GenParams;

    fn message(seq: u64, role: Role, status: TurnStatus) -> StoredMessage {
        StoredMessage {
            seq,
            role,
            text: format!("m{seq}"),
            model: ModelId::Gemma,
            params: GenParams::default(),
            created_at_ms: 0,
            latency_ms: None,
            usage: None,
            cost: None,
            finish_reason: None,
            turn: None,
            status,
            error: None,
            verdict: None,
            attachments: Vec::new(),
        }
    }

    fn known(window: Vec<StoredMessage>) -> Known {
        Known {
            version: FirestoreInstant::UNIX_EPOCH,
            doc: SessionDoc::default(),
            window: Some(Arc::new(window)),
            cap: 4,
        }
    }

    fn seqs(ms: &[StoredMessage]) -> Vec<u64> {
        ms.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn a_window_gives_a_history_only_when_it_reaches_the_new_message() {
        let window: Vec<_> = (6..10)
            .map(|s| message(s, Role::User, TurnStatus::Complete))
            .collect();
        let k = known(window);
        assert_eq!(
            k.history(10, 4).as_deref().map(seqs),
            Some(vec![6, 7, 8, 9])
        );
        assert_eq!(k.history(10, 2).as_deref().map(seqs), Some(vec![8, 9]));
        // Something was written after it, or it is too short for the history asked for.
        assert_eq!(k.history(11, 4), None);
        assert_eq!(k.history(10, 5), None);
        // A chat shorter than the history: the whole chat is enough.
        let k = known(vec![message(0, Role::User, TurnStatus::Complete)]);
        assert_eq!(k.history(1, 64).as_deref().map(seqs), Some(vec![0]));
        assert_eq!(known(Vec::new()).history(0, 64), Some(Vec::new()));
    }

    #[test]
    fn after_a_turn_the_window_holds_the_completed_message_and_its_replies() {
        let before = vec![
            message(4, Role::User, TurnStatus::Complete),
            message(5, Role::Model, TurnStatus::Complete),
            message(6, Role::User, TurnStatus::Pending),
        ];
        let written = vec![
            message(6, Role::User, TurnStatus::Complete),
            message(7, Role::Model, TurnStatus::Complete),
            message(8, Role::Model, TurnStatus::Complete),
        ];
        let after = after_turn(Some(&before), &written, 4).expect("a window");
        assert_eq!(seqs(&after), [5, 6, 7, 8]);
        assert_eq!(after[1].status, TurnStatus::Complete);
        // A window that is not this turn's is not carried on.
        assert_eq!(after_turn(Some(&before[..2]), &written, 4), None);
        assert_eq!(after_turn(None, &written, 4), None);
    }

    #[test]
    fn the_memory_is_bounded_and_counts_what_it_holds() {
        let chats = KnownChats::default();
        let mut k = known(vec![message(0, Role::User, TurnStatus::Complete)]);
        k.doc.id = "a".into();
        chats.remember(k.clone());
        chats.remember(k.clone());
        assert_eq!(chats.0.lock().map(|c| c.bytes).ok(), Some(2));
        assert!(chats.take("a").is_some());
        assert_eq!(
            chats.0.lock().map(|c| (c.bytes, c.chats.len())).ok(),
            Some((0, 0))
        );
        assert!(chats.get("a").is_none());
    }
}
