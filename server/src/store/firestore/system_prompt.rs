//! A chat's own system prompt on Firestore: a field of its session document.

use super::docs::SessionDoc;
use super::errors::store_error;
use super::{FirestoreStore, SESSIONS};
use app::conversation::SessionSummary;
use app::errors::StoreError;
use app::session::{OwnerId, SessionId};
use firestore::{paths, FirestoreWritePrecondition};

impl FirestoreStore {
    pub(super) async fn write_system_prompt(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        prompt: Option<&str>,
        create_at: Option<i64>,
    ) -> Result<SessionSummary, StoreError> {
        self.forget(session);
        let id = session.as_str();
        let existing = self.session_doc(id).await.map_err(store_error)?;
        let (mut doc, create) = match (existing, create_at) {
            (Some(doc), _) if doc.owner == owner.as_str() => (doc, false),
            (None, Some(at_ms)) => (SessionDoc::untitled(id, owner.as_str(), at_ms), true),
            _ => return Err(StoreError::NotFound),
        };
        doc.system_prompt = prompt.map(String::from);
        let write = self.db.fluent().update();
        let write = if create {
            // Created whole, unless a turn created it meanwhile: then that chat is updated.
            write
                .in_col(SESSIONS)
                .precondition(FirestoreWritePrecondition::Exists(false))
        } else {
            // Only the prompt, and only if the chat still exists (a delete is not undone).
            write
                .fields(paths!(SessionDoc::{system_prompt}))
                .in_col(SESSIONS)
                .precondition(FirestoreWritePrecondition::Exists(true))
        };
        let written = write.document_id(id).object(&doc).execute::<()>().await;
        match written {
            Ok(()) => doc.summary().ok_or(StoreError::Failed),
            Err(_) if create => {
                Box::pin(self.write_system_prompt(session, owner, prompt, None)).await
            }
            Err(e) => Err(match store_error(e) {
                StoreError::Failed => StoreError::NotFound,
                other => other,
            }),
        }
    }
}
