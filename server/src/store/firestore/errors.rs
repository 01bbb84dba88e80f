//! Firestore's errors as the store's.

use app::errors::StoreError;
use firestore::errors::FirestoreError;

/// Maps Firestore's errors to the store's, logging the detail here and only here.
pub(super) fn store_error(e: FirestoreError) -> StoreError {
    tracing::error!(error = %e, "firestore error");
    let code = match &e {
        FirestoreError::DatabaseError(db) => db.public.code.clone(),
        // A transaction reports its last attempt's failure inside its own error.
        FirestoreError::ErrorInTransaction(t) => t.to_string(),
        FirestoreError::NetworkError(_) => return StoreError::Unavailable,
        _ => return StoreError::Failed,
    };
    for (name, error) in [
        ("PermissionDenied", StoreError::PermissionDenied),
        ("Unauthenticated", StoreError::PermissionDenied),
        ("DeadlineExceeded", StoreError::TimedOut),
        ("Aborted", StoreError::Busy),
        ("ResourceExhausted", StoreError::Busy),
        ("Unavailable", StoreError::Unavailable),
    ] {
        if code.contains(name) {
            return error;
        }
    }
    StoreError::Failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use firestore::errors::{FirestoreDatabaseError, FirestoreErrorPublicGenericDetails};

    fn db_error(code: &str) -> FirestoreError {
        FirestoreError::DatabaseError(FirestoreDatabaseError::new(
            FirestoreErrorPublicGenericDetails::new(code.to_string()),
            "detail".to_string(),
            false,
        ))
    }

    #[test]
    fn firestore_codes_map_to_typed_store_errors() {
        assert_eq!(
            store_error(db_error("PermissionDenied")),
            StoreError::PermissionDenied
        );
        assert_eq!(
            store_error(db_error("DeadlineExceeded")),
            StoreError::TimedOut
        );
        assert_eq!(store_error(db_error("Aborted")), StoreError::Busy);
        assert_eq!(
            store_error(db_error("Unavailable")),
            StoreError::Unavailable
        );
        assert_eq!(store_error(db_error("Internal")), StoreError::Failed);
        assert!(StoreError::PermissionDenied
            .to_string()
            .contains("operator"));
    }
}
