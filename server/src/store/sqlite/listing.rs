//! A person's chats as lists: newest first, by title, and the names operators see.

use super::rows::*;
use super::*;

impl SqliteStore {
    pub(super) async fn find_titles(
        &self,
        owner: &OwnerId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let (owner, query) = (owner.as_str().to_string(), query.to_lowercase());
        self.with_conn(move |conn| {
            // instr, not LIKE: the query is matched as typed, `%` and `_` included.
            let mut stmt = conn
                .prepare_cached(&format!(
                    "{SELECT_SUMMARY} WHERE owner = ?1 AND instr(lower(title), ?2) > 0 ORDER BY updated_at_ms DESC, id LIMIT ?3"
                ))?;
            let rows = stmt
                .query_map(params![owner, query, limit as i64], row_to_summary)?;
            let mut out = Vec::new();
            for row in rows {
                if let Some(s) = row? {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn list_owned(
        &self,
        owner: &OwnerId,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let owner = owner.as_str().to_string();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "{SELECT_SUMMARY} WHERE owner = ?1 AND updated_at_ms < ?2 ORDER BY updated_at_ms DESC, id LIMIT ?3"
                ))?;
            let rows = stmt
                .query_map(params![owner, before.unwrap_or(i64::MAX), limit as i64], row_to_summary)?;
            rows.filter_map(|r| r.map_err(Fail::from).transpose()).collect()
        })
        .await
    }

    pub(super) async fn write_label(&self, owner: &OwnerId, label: &str) -> Result<(), StoreError> {
        let (owner, label) = (owner.as_str().to_string(), label.to_string());
        self.with_conn(move |conn| {
            conn.prepare_cached(
                "INSERT INTO owner_labels (owner, label) VALUES (?1, ?2) \
                 ON CONFLICT (owner) DO UPDATE SET label = excluded.label",
            )?
            .execute(params![owner, label])?;
            Ok(())
        })
        .await
    }

    pub(super) async fn read_labels(
        &self,
        owners: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let owners = owners.to_vec();
        self.with_conn(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT label FROM owner_labels WHERE owner = ?1")?;
            let mut out = std::collections::HashMap::new();
            for owner in owners {
                if let Some(label) = stmt
                    .query_row([&owner], |r| r.get::<_, String>(0))
                    .optional()?
                {
                    out.insert(owner, label);
                }
            }
            Ok(out)
        })
        .await
    }
}
