//! Blobs as objects in a Cloud Storage bucket, through `gcloud-storage` (the JSON API: what
//! fake-gcs-server speaks too). Tokens come from gcp_auth, as Vertex's do: Workload Identity on
//! GKE, `GOOGLE_APPLICATION_CREDENTIALS` elsewhere; an emulator takes none.

use app::services::blobs::valid_key;
use app::services::blobs::BlobBody;
use app::services::{BlobError, BlobStore};
use async_trait::async_trait;
use gcloud_storage::client::{Client, ClientConfig};
use gcloud_storage::http::objects::delete::DeleteObjectRequest;
use gcloud_storage::http::objects::download::Range;
use gcloud_storage::http::objects::get::GetObjectRequest;
use gcloud_storage::http::objects::upload::{Media, UploadObjectRequest, UploadType};
use gcloud_storage::http::Error;
use std::sync::Arc;
use std::time::Duration;
use token_source::{TokenSource, TokenSourceProvider};
use tokio::sync::OnceCell;

/// Object create, get and delete: what the bucket's IAM grants (`infra/attachments.tf`).
const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_write";

pub struct GcsBlobs {
    client: Client,
    bucket: String,
}

impl GcsBlobs {
    /// A client for `bucket`; `emulator` (a base URL) is reached without credentials.
    pub async fn connect(bucket: &str, emulator: Option<&str>) -> Result<GcsBlobs, reqwest::Error> {
        // A 10 MB file over a slow link still fits; a hung bucket does not hold a request.
        let http =
            crate::backends::transport::client(Duration::from_secs(5), Duration::from_secs(60))?;
        let mut config = ClientConfig {
            http: Some(reqwest_middleware::ClientBuilder::new(http).build()),
            ..ClientConfig::default()
        };
        config = match emulator {
            Some(url) => ClientConfig {
                storage_endpoint: url.to_string(),
                ..config
            }
            .anonymous(),
            None => ClientConfig {
                token_source_provider: Some(Box::new(GcpAuth::default())),
                ..config
            },
        };
        Ok(GcsBlobs {
            client: Client::new(config),
            bucket: bucket.to_string(),
        })
    }

    fn key<'k>(&self, key: &'k str) -> Result<&'k str, BlobError> {
        if valid_key(key) {
            Ok(key)
        } else {
            tracing::error!(key, "refused a blob key the server does not make");
            Err(BlobError::Failed)
        }
    }
}

/// The HTTP status Cloud Storage answered with, whether its body was JSON or not (a media
/// download's "not found" is plain text).
fn status(e: &Error) -> Option<u16> {
    match e {
        Error::Response(r) => Some(r.code),
        Error::HttpClient(h) | Error::RawResponse(h, _) => h.status().map(|s| s.as_u16()),
        _ => None,
    }
}

/// What a Cloud Storage failure means for the person waiting; the detail goes to the log.
fn classify(what: &'static str, e: &Error) -> BlobError {
    tracing::error!(error = ?e, "Cloud Storage: {what} failed");
    match (status(e), e) {
        (Some(401 | 403), _) | (None, Error::TokenSource(_)) => BlobError::PermissionDenied,
        (Some(408 | 429 | 500..=599), _) => BlobError::Unavailable,
        (Some(_), _) => BlobError::Failed,
        (None, Error::HttpClient(h) | Error::RawResponse(h, _)) if h.is_timeout() => {
            BlobError::TimedOut
        }
        // Refused, reset or unresolvable: nothing answered.
        (None, Error::HttpClient(_) | Error::HttpMiddleware(_)) => BlobError::Unavailable,
        _ => BlobError::Failed,
    }
}

fn not_found(e: &Error) -> bool {
    status(e) == Some(404)
}

#[async_trait]
impl BlobStore for GcsBlobs {
    async fn put_stream(
        &self,
        key: &str,
        len: u64,
        body: BlobBody,
        content_type: &str,
    ) -> Result<(), BlobError> {
        let media = Media {
            name: self.key(key)?.to_string().into(),
            content_type: content_type.to_string().into(),
            content_length: Some(len),
        };
        let request = UploadObjectRequest {
            bucket: self.bucket.clone(),
            ..Default::default()
        };
        self.client
            .upload_streamed_object(&request, body, &UploadType::Simple(media))
            .await
            .map(|_| ())
            .map_err(|e| classify("upload", &e))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let request = GetObjectRequest {
            bucket: self.bucket.clone(),
            object: self.key(key)?.to_string(),
            ..Default::default()
        };
        match self
            .client
            .download_object(&request, &Range::default())
            .await
        {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(classify("download", &e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let request = DeleteObjectRequest {
            bucket: self.bucket.clone(),
            object: self.key(key)?.to_string(),
            ..Default::default()
        };
        match self.client.delete_object(&request).await {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(classify("delete", &e)),
        }
    }

    /// Reads an object that is never written: "not found" proves the bucket answers and lets
    /// this server in, with no permission beyond what it uses (no `buckets.get`).
    async fn ping(&self) -> Result<(), BlobError> {
        let request = GetObjectRequest {
            bucket: self.bucket.clone(),
            object: "healthz".to_string(),
            ..Default::default()
        };
        match self.client.get_object(&request).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(classify("ping", &e)),
        }
    }
}

/// gcp_auth's tokens for gcloud-storage, found on first use (a laptop without credentials that
/// never attaches a file never looks).
#[derive(Default, Debug)]
struct GcpAuth {
    source: Arc<GcpAuthSource>,
}

impl TokenSourceProvider for GcpAuth {
    fn token_source(&self) -> Arc<dyn TokenSource> {
        self.source.clone()
    }
}

#[derive(Default)]
struct GcpAuthSource {
    provider: OnceCell<Arc<dyn gcp_auth::TokenProvider>>,
}

impl std::fmt::Debug for GcpAuthSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GcpAuthSource")
    }
}

#[async_trait]
impl TokenSource for GcpAuthSource {
    async fn token(&self) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        let provider = self
            .provider
            .get_or_try_init(|| async { gcp_auth::provider().await })
            .await?;
        let token = provider.token(&[SCOPE]).await?;
        Ok(format!("Bearer {}", token.as_str()))
    }
}
