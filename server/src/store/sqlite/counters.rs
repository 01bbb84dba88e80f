//! `UsageCounters` on SQLite: the limits' counters, in the same file as the chats.

use super::*;

#[async_trait]
impl UsageCounters for SqliteStore {
    async fn add(&self, key: &str, delta: i64, expires_at_ms: i64) -> Result<i64, StoreError> {
        let key = key.to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value: i64 = tx
                .prepare_cached(
                    "INSERT INTO usage_counters (key, value, expires_at_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = value + excluded.value
                     RETURNING value",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![key, delta, expires_at_ms], |r| r.get(0))
                })?;
            // A new counter means a new window began: a good moment to drop the expired ones.
            if value == delta {
                tx.prepare_cached("DELETE FROM usage_counters WHERE expires_at_ms < ?1")
                    .and_then(|mut stmt| {
                        stmt.execute(params![expires_at_ms - 2 * 24 * 3600 * 1000])
                    })?;
            }
            tx.commit()?;
            Ok(value)
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<i64, StoreError> {
        let key = key.to_string();
        self.with_conn(move |conn| {
            conn.prepare_cached("SELECT value FROM usage_counters WHERE key = ?1")
                .and_then(|mut stmt| stmt.query_row(params![key], |r| r.get(0)).optional())
                .map(Option::unwrap_or_default)
                .map_err(Fail::from)
        })
        .await
    }
}
