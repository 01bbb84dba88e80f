//! Where attachments' bytes are kept (issue #28): a Cloud Storage bucket on GKE, a folder on a
//! laptop.

use super::env::{ConfigError, Env};
use super::store::StoreConfig;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub enum BlobConfig {
    /// A folder on this machine: `ATTACHMENTS_DIR`, or `attachments/` beside the SQLite file.
    Folder { dir: PathBuf },
    /// A Cloud Storage bucket, through the app's Workload Identity; `emulator` (a GCS emulator's
    /// base URL, `STORAGE_EMULATOR_HOST`) needs no credentials.
    Gcs {
        bucket: String,
        emulator: Option<String>,
    },
}

/// What visitors may store, where files wait while they arrive, and how long a file may wait
/// to be sent.
#[derive(Clone, Debug, PartialEq)]
pub struct FilesConfig {
    /// The most bytes of files one visitor may store in 24 hours.
    pub bytes_per_day: u64,
    /// The folder where files wait on disk while their post arrives, and how many bytes may
    /// wait there at once.
    pub spool_dir: PathBuf,
    pub spool_bytes: u64,
    /// What files model requests may hold at once, and how long a turn waits for room.
    pub model_room_bytes: u64,
    pub model_room_wait: Duration,
    /// How often each replica deletes files never sent, and how old they must be.
    pub sweep_every: Duration,
    pub unsent_for: Duration,
}

pub(super) fn files(env: &Env) -> Result<FilesConfig, ConfigError> {
    Ok(FilesConfig {
        bytes_per_day: env.count("FILE_MB_PER_DAY", 200)? as u64 * 1_000_000,
        spool_dir: env
            .var("UPLOAD_SPOOL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir),
        spool_bytes: env.count("UPLOAD_SPOOL_MB", 400)? as u64 * 1_000_000,
        model_room_bytes: env.count("MODEL_FILE_MB", 64)? as u64 * 1_000_000,
        model_room_wait: env.secs("MODEL_FILE_WAIT_SECS", 30.0)?,
        sweep_every: env.secs("FILE_SWEEP_SECS", 3_600.0)?,
        unsent_for: env.secs("FILE_UNSENT_SECS", 86_400.0)?,
    })
}

pub(super) fn read(env: &Env, store: &StoreConfig) -> Result<BlobConfig, ConfigError> {
    if let Some(bucket) = env.var("ATTACHMENTS_BUCKET") {
        if !valid_bucket(&bucket) {
            return Err(ConfigError::new(
                "ATTACHMENTS_BUCKET",
                bucket,
                "expected a bucket name (3 to 63 lowercase letters, digits, '-', '_' and '.'), without gs://",
            ));
        }
        return Ok(BlobConfig::Gcs {
            bucket,
            emulator: emulator(env)?,
        });
    }
    let dir =
        match (env.var("ATTACHMENTS_DIR"), store) {
            (Some(dir), _) => PathBuf::from(dir),
            (None, StoreConfig::Sqlite { path }) => path
                .parent()
                .map(|d| d.join("attachments"))
                .unwrap_or_else(|| PathBuf::from("attachments")),
            // A pod's own disk is gone with the pod, and other replicas never see it.
            (None, StoreConfig::Firestore { .. }) => return Err(ConfigError::new(
                "ATTACHMENTS_BUCKET",
                "",
                "required with Firestore: attachments must outlive the pod and be seen by every \
                 replica (or set ATTACHMENTS_DIR to a shared folder)",
            )),
        };
    Ok(BlobConfig::Folder { dir })
}

/// `STORAGE_EMULATOR_HOST`, the variable Google's own clients read: `host:port` or a URL.
fn emulator(env: &Env) -> Result<Option<String>, ConfigError> {
    let Some(raw) = env.var("STORAGE_EMULATOR_HOST") else {
        return Ok(None);
    };
    let url = if raw.contains("://") {
        raw
    } else {
        format!("http://{raw}")
    };
    // The emulator takes no credentials: never send files anywhere but this machine that way.
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| {
            url.strip_prefix(p)
                .is_some_and(|r| r.is_empty() || r.starts_with(':'))
        });
    if !loopback {
        return Err(ConfigError::new(
            "STORAGE_EMULATOR_HOST",
            url,
            "expected a loopback address (127.0.0.1:PORT): the emulator is reached without credentials",
        ));
    }
    Ok(Some(url.trim_end_matches('/').to_string()))
}

/// Cloud Storage's naming rules, enough to catch a `gs://` prefix or a path.
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_with(vars: &[(&str, &str)], store: &StoreConfig) -> Result<BlobConfig, ConfigError> {
        let lookup = |k: &str| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        };
        read(&Env::new(&lookup), store)
    }

    fn sqlite() -> StoreConfig {
        StoreConfig::Sqlite {
            path: PathBuf::from("data/hybrid-chat.sqlite3"),
        }
    }

    fn firestore() -> StoreConfig {
        StoreConfig::Firestore {
            project: None,
            database: "chat-app-db".into(),
            connect_wait: std::time::Duration::from_secs(1),
            delete_sweep: std::time::Duration::from_secs(1),
        }
    }

    #[test]
    fn a_laptop_keeps_files_beside_its_database() {
        assert_eq!(
            read_with(&[], &sqlite()).expect("folder"),
            BlobConfig::Folder {
                dir: PathBuf::from("data/attachments")
            }
        );
    }

    #[test]
    fn firestore_needs_a_bucket_or_a_folder_named_on_purpose() {
        let e = read_with(&[], &firestore()).expect_err("needs a bucket");
        assert!(e.to_string().contains("ATTACHMENTS_BUCKET"), "{e}");
        assert_eq!(
            read_with(&[("ATTACHMENTS_DIR", "/shared")], &firestore()).expect("folder"),
            BlobConfig::Folder {
                dir: PathBuf::from("/shared")
            }
        );
    }

    #[test]
    fn a_bucket_is_checked_and_an_emulator_must_be_local() {
        assert!(read_with(&[("ATTACHMENTS_BUCKET", "gs://x")], &sqlite()).is_err());
        assert!(read_with(&[("ATTACHMENTS_BUCKET", "Bad")], &sqlite()).is_err());
        assert_eq!(
            read_with(
                &[
                    ("ATTACHMENTS_BUCKET", "hc-files"),
                    ("STORAGE_EMULATOR_HOST", "127.0.0.1:4443")
                ],
                &firestore()
            )
            .expect("bucket"),
            BlobConfig::Gcs {
                bucket: "hc-files".into(),
                emulator: Some("http://127.0.0.1:4443".into())
            }
        );
        let far = [
            ("ATTACHMENTS_BUCKET", "hc-files"),
            ("STORAGE_EMULATOR_HOST", "http://10.0.0.9:4443"),
        ];
        assert!(read_with(&far, &sqlite()).is_err());
        let sneaky = [
            ("ATTACHMENTS_BUCKET", "hc-files"),
            ("STORAGE_EMULATOR_HOST", "http://localhost.evil.test"),
        ];
        assert!(read_with(&sneaky, &sqlite()).is_err());
    }
}
