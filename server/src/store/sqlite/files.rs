//! Attached files' records on SQLite: one row each in `attachments`.

use super::*;
use app::attachment::{Attachment, AttachmentKind};
use app::services::{FileRecord, FileRecords};

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<FileRecord>> {
    let kind: String = row.get("kind")?;
    let (Some(kind), Some(owner)) = (
        AttachmentKind::parse(&kind),
        OwnerId::parse(&row.get::<_, String>("owner")?),
    ) else {
        return Ok(None);
    };
    Ok(Some(FileRecord {
        attachment: Attachment {
            id: row.get("id")?,
            kind,
            name: row.get("name")?,
            bytes: row.get::<_, i64>("bytes")?.max(0) as u64,
            width: row.get::<_, i64>("width")?.max(0) as u32,
            height: row.get::<_, i64>("height")?.max(0) as u32,
        },
        owner,
        chat: row.get("session_id")?,
        sha256: row.get("sha256")?,
        at_ms: row.get("created_at_ms")?,
    }))
}

/// Marks the turn's files as sent in `session`, in the transaction that stores its message.
pub(super) fn claim(tx: &Connection, session: &str, files: &[Attachment]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached("UPDATE attachments SET session_id = ?2 WHERE id = ?1")?;
    for f in files {
        stmt.execute(params![f.id, session])?;
    }
    Ok(())
}

fn ids(rows: impl Iterator<Item = rusqlite::Result<String>>) -> Result<Vec<String>, Fail> {
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[async_trait]
impl FileRecords for SqliteStore {
    async fn record_file(&self, record: &FileRecord) -> Result<(), StoreError> {
        let r = record.clone();
        self.with_conn(move |conn| {
            let a = &r.attachment;
            conn.prepare_cached(
                "INSERT INTO attachments (id, owner, session_id, kind, name, bytes, width, height, sha256, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                a.id,
                r.owner.as_str(),
                r.chat,
                a.kind.as_str(),
                a.name,
                a.bytes as i64,
                a.width as i64,
                a.height as i64,
                r.sha256,
                r.at_ms
            ])?;
            Ok(())
        })
        .await
    }

    async fn file(&self, id: &str) -> Result<Option<FileRecord>, StoreError> {
        let id = id.to_string();
        self.with_conn(move |conn| {
            Ok(conn
                .prepare_cached("SELECT * FROM attachments WHERE id = ?1")?
                .query_row([id], row_to_record)
                .optional()?
                .flatten())
        })
        .await
    }

    async fn file_bytes_since(&self, owner: &OwnerId, since_ms: i64) -> Result<u64, StoreError> {
        let owner = owner.as_str().to_string();
        self.with_conn(move |conn| {
            let total: i64 = conn
                .prepare_cached(
                    "SELECT COALESCE(SUM(bytes), 0) FROM attachments WHERE owner = ?1 AND created_at_ms >= ?2",
                )?
                .query_row(params![owner, since_ms], |r| r.get(0))?;
            Ok(total.max(0) as u64)
        })
        .await
    }

    async fn files_of_chat(&self, session: &SessionId) -> Result<Vec<String>, StoreError> {
        let session = session.as_str().to_string();
        self.with_conn(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id FROM attachments WHERE session_id = ?1")?;
            let rows = stmt.query_map([session], |r| r.get(0))?;
            ids(rows)
        })
        .await
    }

    async fn orphan_files(&self, before_ms: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM attachments WHERE session_id IS NULL AND created_at_ms < ?1 LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![before_ms, limit as i64], |r| r.get(0))?;
            ids(rows)
        })
        .await
    }

    async fn forget_files(&self, ids: &[String]) -> Result<(), StoreError> {
        let ids = ids.to_vec();
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached("DELETE FROM attachments WHERE id = ?1")?;
                for id in &ids {
                    stmt.execute([id])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
