//! One `Commit` of several writes, without a transaction: what accepting a turn in one round
//! trip needs (see `turns.rs`).

use super::FirestoreStore;
use firestore::errors::FirestoreError;
use firestore::{FirestoreInstant, FirestoreResult};
use std::time::Duration;

impl FirestoreStore {
    /// Commits `writes` at once, without a transaction: atomic, like a client library's write
    /// batch (the crate's batch writer uses BatchWrite, which is not). `None` when a write's
    /// precondition failed; otherwise the commit time.
    pub(super) async fn commit_if(
        &self,
        writes: Vec<firestore::gcloud_sdk::google::firestore::v1::Write>,
    ) -> FirestoreResult<Option<FirestoreInstant>> {
        use firestore::gcloud_sdk::google::firestore::v1::CommitRequest;
        use firestore::gcloud_sdk::tonic;
        let mut request = tonic::Request::new(CommitRequest {
            database: self.db.get_database_path().clone(),
            writes,
            transaction: Vec::new(),
            request_options: None,
        });
        request.set_timeout(Duration::from_secs(10));
        match self.db.client().get().commit(request).await {
            Ok(response) => {
                let time = response.into_inner().commit_time.ok_or_else(|| {
                    FirestoreError::from(tonic::Status::internal("commit without a time"))
                })?;
                // Exact to the nanosecond, as the precondition needs it.
                firestore::timestamp_utils::from_timestamp(time).map(Some)
            }
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::FailedPrecondition
                        | tonic::Code::NotFound
                        | tonic::Code::AlreadyExists
                ) =>
            {
                Ok(None)
            }
            Err(status) => Err(FirestoreError::from(status)),
        }
    }
}
