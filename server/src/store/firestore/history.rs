//! The history a new turn is sent with: the newest messages before it.

use super::FirestoreStore;
use app::conversation::{MessageRange, StoredMessage, TurnStatus};
use app::errors::StoreError;
use app::session::SessionId;

impl FirestoreStore {
    /// The newest `history` messages before `user`, from `window` (read beside the accepting
    /// transaction) or read again if that read missed a turn completed just before.
    pub(super) async fn history_before(
        &self,
        session: &SessionId,
        user: &StoredMessage,
        mut window: Vec<StoredMessage>,
        history: usize,
        interrupted_seq: Option<u64>,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let before_user = MessageRange {
            before: Some(user.seq),
            ..MessageRange::newest(history)
        };
        window.retain(|m| before_user.contains(m.seq));
        window.drain(..window.len().saturating_sub(history));
        if history == 0 || user.seq == 0 {
            return Ok(window);
        }
        // Read beside the transaction, the window may predate a turn that completed just
        // before it: then it is short of the new message's position, and is read again.
        if window.last().map_or(0, |m| m.seq + 1) != user.seq {
            window = self.newest(session, before_user).await?;
        }
        let mut history = window;
        // The stale turn this transaction marked interrupted may have been read before.
        if let Some(m) = history.iter_mut().find(|m| Some(m.seq) == interrupted_seq) {
            m.status = TurnStatus::Failed;
            m.error = Some("interrupted".into());
        }
        Ok(history)
    }
}
