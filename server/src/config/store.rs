//! Where chats are kept, and the key that signs owner cookies (which every replica sharing a
//! store must share too).

use super::env::{ConfigError, Env};
use std::path::PathBuf;
use std::time::Duration;

/// Where chat sessions are kept.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreConfig {
    /// The embedded store: a SQLite file.
    Sqlite { path: PathBuf },
    /// Firestore; the project is `GOOGLE_CLOUD_PROJECT` or, on GKE, the metadata server's.
    Firestore {
        project: Option<String>,
        database: String,
        /// How long start-up keeps retrying a database that is not reachable yet.
        connect_wait: Duration,
        /// How often unfinished deletes are looked for, and how old they must be.
        delete_sweep: Duration,
    },
}

/// Where the owner-cookie key comes from. Every replica must use the same one.
#[derive(Clone, Debug)]
pub enum OwnerKeySource {
    /// `OWNER_KEY` (on GKE, from a Kubernetes Secret).
    Given(app::session::OwnerKey),
    /// A laptop: read from this file, or generated into it on first start.
    File(PathBuf),
}

pub(super) fn read(env: &Env) -> Result<StoreConfig, ConfigError> {
    let project = env.var("GOOGLE_CLOUD_PROJECT");
    // A Google Cloud project (or the emulator) means Firestore; nothing means the laptop.
    let implied = project.is_some() || env.var("FIRESTORE_EMULATOR_HOST").is_some();
    let firestore = env.one_of(
        "CHAT_STORE",
        &[("sqlite", false), ("firestore", true)],
        implied,
    )?;
    Ok(if firestore {
        StoreConfig::Firestore {
            project,
            database: env.text("FIRESTORE_DATABASE", "chat-app-db"),
            connect_wait: env.secs("FIRESTORE_CONNECT_WAIT_SECS", 30.0)?,
            delete_sweep: env.secs("DELETE_SWEEP_SECS", 600.0)?,
        }
    } else {
        StoreConfig::Sqlite {
            path: PathBuf::from(env.text("SQLITE_PATH", "data/hybrid-chat.sqlite3")),
        }
    })
}

pub(super) fn owner_key(env: &Env, store: &StoreConfig) -> Result<OwnerKeySource, ConfigError> {
    match (env.var("OWNER_KEY"), store) {
        (Some(raw), _) => app::session::OwnerKey::from_hex(&raw)
            .map(OwnerKeySource::Given)
            .ok_or_else(|| {
                ConfigError::new(
                    "OWNER_KEY",
                    "(hidden)",
                    "expected 64 hex digits (openssl rand -hex 32)",
                )
            }),
        (None, StoreConfig::Firestore { .. }) => Err(ConfigError::new(
            "OWNER_KEY",
            "",
            "required with Firestore: every replica must sign owner cookies with the same key \
             (a Kubernetes Secret; openssl rand -hex 32)",
        )),
        (None, StoreConfig::Sqlite { path }) => Ok(OwnerKeySource::File(
            path.parent()
                .map(|dir| dir.join("owner.key"))
                .unwrap_or_else(|| PathBuf::from("owner.key")),
        )),
    }
}

/// An optional key of 64 hex digits (`OWNER_KEY_PREVIOUS`, `IDENTITY_KEY`).
fn optional_key(
    env: &Env,
    var: &'static str,
) -> Result<Option<app::session::OwnerKey>, ConfigError> {
    env.var(var)
        .map(|raw| {
            app::session::OwnerKey::from_hex(&raw).ok_or_else(|| {
                ConfigError::new(
                    var,
                    "(hidden)",
                    "expected 64 hex digits (openssl rand -hex 32)",
                )
            })
        })
        .transpose()
}

/// `OWNER_KEY_PREVIOUS`: the owner-cookie key before the current one, whose cookies are still
/// accepted (and signed again with `OWNER_KEY` at the next page load).
pub(super) fn previous_owner_key(env: &Env) -> Result<Option<app::session::OwnerKey>, ConfigError> {
    optional_key(env, "OWNER_KEY_PREVIOUS")
}

/// `IDENTITY_KEY`: derives signed-in people's owner ids from their IAP identity, so that
/// rotating `OWNER_KEY` never moves anyone's chats. Unset: `OWNER_KEY` does both, as before.
pub(super) fn identity_key(env: &Env) -> Result<Option<app::session::OwnerKey>, ConfigError> {
    optional_key(env, "IDENTITY_KEY")
}
