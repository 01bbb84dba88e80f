//! One contract, two blob stores: a folder and a Cloud Storage bucket (fake-gcs-server, started
//! here) keep, give back and delete attachments' bytes alike.

use app::services::{BlobError, BlobStore};
use server::blobs::folder::FolderBlobs;
use server::blobs::gcs::GcsBlobs;
use testkit::fake_gcs::{FakeGcs, BUCKET};

/// A 5 MB file whose every byte depends on its position: a truncated or shifted copy differs.
fn five_mb() -> Vec<u8> {
    (0..5_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

async fn keeps_gives_back_and_deletes(blobs: &dyn BlobStore, name: &str) {
    blobs
        .ping()
        .await
        .unwrap_or_else(|e| panic!("{name}: ping: {e}"));
    let bytes = five_mb();
    blobs
        .put("att-1", bytes.clone(), "image/png")
        .await
        .unwrap_or_else(|e| panic!("{name}: put: {e}"));
    blobs
        .put("att-2", b"%PDF-1.7".to_vec(), "application/pdf")
        .await
        .expect("put 2");
    let back = blobs.get("att-1").await.expect("get").expect("stored");
    assert!(
        back == bytes,
        "{name}: 5 MB came back different ({} bytes)",
        back.len()
    );
    assert_eq!(
        blobs.get("never-stored").await.expect("get missing"),
        None,
        "{name}"
    );

    blobs.delete("att-1").await.expect("delete");
    assert_eq!(
        blobs.get("att-1").await.expect("get deleted"),
        None,
        "{name}: deleted"
    );
    blobs
        .delete("att-1")
        .await
        .expect("a second delete is not an error");
    assert_eq!(
        blobs.get("att-2").await.expect("get 2").as_deref(),
        Some(&b"%PDF-1.7"[..]),
        "{name}: a delete touches only its key"
    );

    // Keys are made by the server: anything that could name another place is refused.
    for key in ["../owner.key", "a/b", "", ".hidden", "x y"] {
        assert_eq!(
            blobs.put(key, vec![1], "text/plain").await,
            Err(BlobError::Failed),
            "{name}: {key:?}"
        );
        assert_eq!(
            blobs.get(key).await,
            Err(BlobError::Failed),
            "{name}: {key:?}"
        );
    }
}

#[tokio::test]
async fn a_folder_keeps_gives_back_and_deletes() {
    let dir = testkit::tempdir();
    let blobs = FolderBlobs::open(&dir.path().join("attachments")).expect("folder");
    keeps_gives_back_and_deletes(&blobs, "folder").await;
    // Whole files only: no partial file is left beside them.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("attachments"))
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["att-2"]);
}

#[tokio::test]
async fn a_bucket_keeps_gives_back_and_deletes() {
    let gcs = FakeGcs::start().await;
    let blobs = GcsBlobs::connect(BUCKET, Some(&gcs.url))
        .await
        .expect("client");
    keeps_gives_back_and_deletes(&blobs, "bucket").await;
    assert_eq!(gcs.objects().await, ["att-2"]);
    // Stored with the type the server sniffed, so Cloud Storage never guesses one.
    let meta: serde_json::Value = testkit::http()
        .build()
        .expect("client")
        .get(format!("{}/storage/v1/b/{BUCKET}/o/att-2", gcs.url))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("JSON");
    assert_eq!(meta["contentType"], "application/pdf");
}

#[tokio::test]
async fn a_bucket_that_is_gone_says_so() {
    let mut gcs = FakeGcs::start().await;
    let blobs = GcsBlobs::connect(BUCKET, Some(&gcs.url))
        .await
        .expect("client");
    blobs
        .put("att-1", vec![1, 2, 3], "image/png")
        .await
        .expect("put");
    gcs.stop();
    assert_eq!(
        blobs.put("att-2", vec![1], "image/png").await,
        Err(BlobError::Unavailable)
    );
    assert_eq!(blobs.get("att-1").await, Err(BlobError::Unavailable));
    assert_eq!(blobs.ping().await, Err(BlobError::Unavailable));
}

#[tokio::test]
async fn a_missing_bucket_is_not_taken_for_a_missing_file() {
    let gcs = FakeGcs::start().await;
    let blobs = GcsBlobs::connect("no-such-bucket", Some(&gcs.url))
        .await
        .expect("client");
    assert!(blobs.put("att-1", vec![1], "image/png").await.is_err());
}
