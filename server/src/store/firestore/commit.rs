//! How the turn's writes commit: one `Commit` of several writes without a transaction (what
//! accepting a turn in one round trip needs, see `turns.rs`), and transactions of our own.

use super::FirestoreStore;
use firestore::errors::FirestoreError;
use firestore::{
    FirestoreConsistencySelector, FirestoreDb, FirestoreInstant, FirestoreResult,
    FirestoreTransaction,
};
use futures::future::BoxFuture;
use std::time::Duration;

/// Attempts before a transaction that keeps losing to others gives up (about 35 s of backoff).
const TRANSACTION_ATTEMPTS: u32 = 40;

/// Runs `body` in a transaction and commits it when `commits(&value)` says so, else rolls it
/// back; the commit time is `None` then. A transaction that lost to another (another tab of the
/// chat) runs again, with backoff, as `run_transaction` would. Not `run_transaction` itself:
/// the commit time is the session document's version, which `known.rs` remembers.
pub(super) async fn in_transaction<'db, T>(
    db: &'db FirestoreDb,
    commits: impl Fn(&T) -> bool,
    // Boxed: an async closure's future, borrowing the caller's arguments, is not provably
    // `Send` for every lifetime, which `async_trait` needs. The transaction's `'db` bounds `'a`,
    // so the future may borrow whatever outlives the database handle.
    mut body: impl for<'a> FnMut(
        &'a FirestoreDb,
        &'a mut FirestoreTransaction<'db>,
    ) -> BoxFuture<'a, FirestoreResult<T>>,
) -> FirestoreResult<(T, Option<FirestoreInstant>)> {
    let mut delay = Duration::from_millis(10);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut tx = db.begin_transaction().await?;
        let reads = db.clone_with_consistency_selector(FirestoreConsistencySelector::Transaction(
            tx.transaction_id().clone(),
        ));
        let result = match body(&reads, &mut tx).await {
            Ok(value) if commits(&value) => tx.commit().await.map(|r| (value, r.commit_time)),
            other => {
                let _ = tx.rollback().await;
                other.map(|value| (value, None))
            }
        };
        match result {
            Err(e) if aborted(&e) && attempt < TRANSACTION_ATTEMPTS => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            other => return other,
        }
    }
}

/// Whether a transaction lost to another one and may run again.
fn aborted(e: &FirestoreError) -> bool {
    match e {
        FirestoreError::DatabaseError(d) => d.retry_possible || d.public.code.contains("Aborted"),
        _ => false,
    }
}

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
