//! Attached files' records on Firestore: one document each in `chat_files`, keyed by the file's
//! id. A turn claims its files for its chat in the transaction that stores its message
//! (`turns::write_pending`).

use super::errors::store_error;
use super::FirestoreStore;
use app::attachment::{Attachment, AttachmentKind};
use app::errors::StoreError;
use app::services::{FileRecord, FileRecords};
use app::session::{OwnerId, SessionId};
use async_trait::async_trait;
use firestore::{path, paths, FirestoreDb, FirestoreResult, FirestoreWritePrecondition};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

pub(super) const FILES: &str = "chat_files";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct FileDoc {
    pub(super) id: String,
    pub(super) owner: String,
    /// The chat it was sent in; an explicit null until then (the sweep's query: a missing
    /// field would match no `is null` filter).
    #[serde(default, with = "firestore::serialize_as_null")]
    pub(super) session_id: Option<String>,
    pub(super) kind: String,
    pub(super) name: String,
    pub(super) bytes: i64,
    pub(super) width: i64,
    pub(super) height: i64,
    pub(super) sha256: String,
    pub(super) created_at_ms: i64,
}

impl FileDoc {
    fn record(self) -> Option<FileRecord> {
        Some(FileRecord {
            attachment: Attachment {
                kind: AttachmentKind::parse(&self.kind)?,
                id: self.id,
                name: self.name,
                bytes: self.bytes.max(0) as u64,
                width: self.width.max(0) as u32,
                height: self.height.max(0) as u32,
            },
            owner: OwnerId::parse(&self.owner)?,
            chat: self.session_id,
            sha256: self.sha256,
            at_ms: self.created_at_ms,
        })
    }
}

/// Marks `files` as sent in `session`, in the turn's transaction.
pub(super) fn claim(
    db: &FirestoreDb,
    transaction: &mut firestore::FirestoreTransaction<'_>,
    session: &str,
    files: &[Attachment],
) -> FirestoreResult<()> {
    #[derive(Serialize, Deserialize)]
    struct Claim {
        session_id: String,
    }
    for f in files {
        db.fluent()
            .update()
            .fields(paths!(FileDoc::{session_id}))
            .in_col(FILES)
            .precondition(FirestoreWritePrecondition::Exists(true))
            .document_id(&f.id)
            .object(&Claim {
                session_id: session.to_string(),
            })
            .add_to_transaction(transaction)?;
    }
    Ok(())
}

impl FirestoreStore {
    async fn file_ids(&self, docs: Vec<FileDoc>) -> Vec<String> {
        self.read
            .fetch_add(docs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        docs.into_iter().map(|d| d.id).collect()
    }
}

#[async_trait]
impl FileRecords for FirestoreStore {
    async fn record_file(&self, record: &FileRecord) -> Result<(), StoreError> {
        let a = &record.attachment;
        let doc = FileDoc {
            id: a.id.clone(),
            owner: record.owner.as_str().to_string(),
            session_id: record.chat.clone(),
            kind: a.kind.as_str().to_string(),
            name: a.name.clone(),
            bytes: a.bytes as i64,
            width: a.width as i64,
            height: a.height as i64,
            sha256: record.sha256.clone(),
            created_at_ms: record.at_ms,
        };
        self.db
            .fluent()
            .insert()
            .into(FILES)
            .document_id(&a.id)
            .object(&doc)
            .execute::<()>()
            .await
            .map_err(store_error)
    }

    async fn file(&self, id: &str) -> Result<Option<FileRecord>, StoreError> {
        let doc: Option<FileDoc> = self
            .db
            .fluent()
            .select()
            .by_id_in(FILES)
            .obj()
            .one(id)
            .await
            .map_err(store_error)?;
        Ok(doc.and_then(FileDoc::record))
    }

    async fn file_bytes_since(&self, owner: &OwnerId, since_ms: i64) -> Result<u64, StoreError> {
        let owner = owner.as_str().to_string();
        let docs: Vec<FileDoc> = self
            .db
            .fluent()
            .select()
            .from(FILES)
            .filter(|q| {
                q.for_all([
                    q.field(path!(FileDoc::owner)).eq(owner.clone()),
                    q.field(path!(FileDoc::created_at_ms))
                        .greater_than_or_equal(since_ms),
                ])
            })
            .obj()
            .stream_query_with_errors()
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        Ok(docs.iter().map(|d| d.bytes.max(0) as u64).sum())
    }

    async fn files_of_chat(&self, session: &SessionId) -> Result<Vec<String>, StoreError> {
        let session = session.as_str().to_string();
        let docs: Vec<FileDoc> = self
            .db
            .fluent()
            .select()
            .from(FILES)
            .filter(|q| q.field(path!(FileDoc::session_id)).eq(session.clone()))
            .obj()
            .stream_query_with_errors()
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        Ok(self.file_ids(docs).await)
    }

    async fn orphan_files(&self, before_ms: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        let docs: Vec<FileDoc> = self
            .db
            .fluent()
            .select()
            .from(FILES)
            .filter(|q| {
                q.for_all([
                    q.field(path!(FileDoc::session_id)).is_null(),
                    q.field(path!(FileDoc::created_at_ms)).less_than(before_ms),
                ])
            })
            .limit(limit as u32)
            .obj()
            .stream_query_with_errors()
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        Ok(self.file_ids(docs).await)
    }

    async fn forget_files(&self, ids: &[String]) -> Result<(), StoreError> {
        let writer = self
            .db
            .create_simple_batch_writer()
            .await
            .map_err(store_error)?;
        for chunk in ids.chunks(400) {
            let mut batch = writer.new_batch();
            for id in chunk {
                self.db
                    .fluent()
                    .delete()
                    .from(FILES)
                    .document_id(id)
                    .add_to_batch(&mut batch)
                    .map_err(store_error)?;
            }
            batch.write().await.map_err(store_error)?;
        }
        Ok(())
    }
}
