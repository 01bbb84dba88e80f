//! A chat's own system prompt on SQLite: a column of its session row.

use super::rows::{create_session, summary_of};
use super::*;

impl SqliteStore {
    pub(super) async fn write_system_prompt(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        prompt: Option<&str>,
        create_at: Option<i64>,
    ) -> Result<SessionSummary, StoreError> {
        let (id, owner) = (session.as_str().to_string(), owner.as_str().to_string());
        let prompt = prompt.map(String::from);
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(at_ms) = create_at {
                create_session(&tx, &id, &owner, at_ms, UNTITLED, ModelId::Gemma)?;
            }
            let changed = tx
                .prepare_cached(
                    "UPDATE sessions SET system_prompt = ?3 WHERE id = ?1 AND owner = ?2",
                )
                .and_then(|mut s| s.execute(params![id, owner, prompt]))?;
            if changed == 0 {
                return Err(StoreError::NotFound.into());
            }
            let summary = summary_of(&tx, &id)?.ok_or(StoreError::Failed)?;
            tx.commit()?;
            Ok(summary)
        })
        .await
    }
}
