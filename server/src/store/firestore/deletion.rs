//! Deleting a chat so that nothing of it stays, even when the delete stops half-way.
//!
//! Firestore deletes no subcollection with its document, and a chat is a session document with
//! two subcollections (`messages`, `turns`) that can hold thousands of documents: more than one
//! batch, so a delete can stop between batches (a crash, a timeout). So a delete is two steps:
//!
//! 1. One batch deletes the session document and writes a tombstone (`chat_deletions/{id}`).
//!    From then on the chat is unreachable: every read and every turn goes through the session
//!    document.
//! 2. The subcollections are listed (ids only) and deleted in batches until none is left; then
//!    the tombstone goes.
//!
//! A delete that stops in step 2 leaves its tombstone. Deleting again finishes it, and every
//! replica sweeps tombstones older than the sweep interval ([`FirestoreStore::sweep`]).

use super::errors::store_error;
use super::{FirestoreStore, MESSAGES, SESSIONS, TURNS};
use app::errors::StoreError;
use firestore::FirestoreResult;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

const DELETIONS: &str = "chat_deletions";

/// Deletes per batch: Firestore takes at most 500 writes in one.
const BATCH: usize = 400;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tombstone {
    at_ms: i64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl FirestoreStore {
    /// Step 1, then step 2 (see the module's notes). Deleting a chat that is already gone
    /// finishes whatever of it is left.
    pub(super) async fn delete_chat(&self, id: &str) -> Result<(), StoreError> {
        let writer = self
            .db
            .create_simple_batch_writer()
            .await
            .map_err(store_error)?;
        let mut batch = writer.new_batch();
        self.db
            .fluent()
            .delete()
            .from(SESSIONS)
            .document_id(id)
            .add_to_batch(&mut batch)
            .map_err(store_error)?;
        self.db
            .fluent()
            .update()
            .in_col(DELETIONS)
            .document_id(id)
            .object(&Tombstone { at_ms: now_ms() })
            .add_to_batch(&mut batch)
            .map_err(store_error)?;
        batch.write().await.map_err(store_error)?;
        self.purge(id).await.map_err(store_error)
    }

    /// Step 2: every message and turn marker of chat `id`, then its tombstone.
    async fn purge(&self, id: &str) -> FirestoreResult<()> {
        let parent = self.db.parent_path(SESSIONS, id)?;
        let writer = self.db.create_simple_batch_writer().await?;
        for collection in [MESSAGES, TURNS] {
            loop {
                // Ids only (`seq` is in both kinds of document; its value is not needed).
                let page = self
                    .db
                    .fluent()
                    .list()
                    .fields(["seq"])
                    .from(collection)
                    .parent(&parent)
                    .page_size(BATCH)
                    .get_page()
                    .await?;
                if page.documents.is_empty() {
                    break;
                }
                let mut batch = writer.new_batch();
                for doc in &page.documents {
                    let doc_id = doc.name.rsplit('/').next().unwrap_or_default();
                    self.db
                        .fluent()
                        .delete()
                        .from(collection)
                        .parent(&parent)
                        .document_id(doc_id)
                        .add_to_batch(&mut batch)?;
                }
                batch.write().await?;
            }
        }
        self.db
            .fluent()
            .delete()
            .from(DELETIONS)
            .document_id(id)
            .execute()
            .await
    }

    /// Finishes the deletes that stopped half-way at least `age` ago (a younger tombstone may
    /// be one whose delete is still running). Returns how many it finished.
    pub async fn sweep(&self, age: Duration) -> Result<usize, StoreError> {
        let page = self
            .db
            .fluent()
            .list()
            .from(DELETIONS)
            .page_size(50)
            .get_page()
            .await
            .map_err(store_error)?;
        let before = now_ms() - age.as_millis() as i64;
        let mut finished = 0;
        for doc in page.documents {
            let id = doc.name.rsplit('/').next().unwrap_or_default().to_string();
            let tombstone: Option<Tombstone> =
                firestore::FirestoreDb::deserialize_doc_to(&doc).ok();
            if tombstone.is_some_and(|t| t.at_ms <= before) {
                self.purge(&id).await.map_err(store_error)?;
                finished += 1;
            }
        }
        Ok(finished)
    }

    /// Sweeps every `every`, for as long as the process runs.
    pub fn sweep_in_background(self: Arc<Self>, every: Duration) {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match self.sweep(every).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(chats = n, "finished deletes that had stopped half-way")
                    }
                    Err(e) => tracing::warn!(error = ?e, "could not sweep unfinished deletes"),
                }
            }
        });
    }
}
