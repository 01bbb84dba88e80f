//! The per-visitor limit counters (`UsageCounters`), one document per key.

use super::errors::store_error;
use super::{FirestoreStore, COUNTERS};
use crate::limits::UsageCounters;
use app::errors::StoreError;
use async_trait::async_trait;
use firestore::{FirestoreInstant, FirestoreTransactionOptions};
use serde::{Deserialize, Serialize};

/// One per-visitor limit counter. `expires_at` is a timestamp so a Firestore TTL policy
/// (infra/firestore.tf) can delete old counters.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CounterDoc {
    value: i64,
    #[serde(with = "firestore::serialize_as_timestamp")]
    expires_at: FirestoreInstant,
}

#[async_trait]
impl UsageCounters for FirestoreStore {
    async fn add(&self, key: &str, delta: i64, expires_at_ms: i64) -> Result<i64, StoreError> {
        let key = key.to_string();
        let expires_at =
            FirestoreInstant::from_millisecond(expires_at_ms).map_err(|_| StoreError::Failed)?;
        // Contention is one visitor's own turns racing; a few retries settle it.
        let options = FirestoreTransactionOptions::new().with_max_retries(20);
        self.db
            .run_transaction_with_options(
                move |db, transaction| {
                    let key = key.clone();
                    Box::pin(async move {
                        let existing: Option<CounterDoc> = db
                            .fluent()
                            .select()
                            .by_id_in(COUNTERS)
                            .obj()
                            .one(&key)
                            .await?;
                        let value = existing.map_or(0, |c| c.value) + delta;
                        db.fluent()
                            .update()
                            .in_col(COUNTERS)
                            .document_id(&key)
                            .object(&CounterDoc { value, expires_at })
                            .add_to_transaction(transaction)?;
                        Ok(value)
                    })
                },
                options,
            )
            .await
            .map_err(store_error)
    }

    async fn get(&self, key: &str) -> Result<i64, StoreError> {
        let doc: Option<CounterDoc> = self
            .db
            .fluent()
            .select()
            .by_id_in(COUNTERS)
            .obj()
            .one(key)
            .await
            .map_err(store_error)?;
        Ok(doc.map_or(0, |c| c.value))
    }
}
