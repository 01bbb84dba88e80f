//! The embedded store: SQLite in one file, used when no Google Cloud project is configured.
//!
//! One row per session and one per message, keyed `(session_id, seq)`, so a chat of any length
//! fits and reads come back in order. Accepting a turn and completing it are one `BEGIN
//! IMMEDIATE` transaction each, which also serialises two tabs sending to the same chat: one is
//! accepted, the other finds it pending.
//! rusqlite is synchronous, so calls run on tokio's blocking pool.
//!
//! `schema.rs` holds the tables and their migrations, `rows.rs` the mapping between rows and
//! messages, `chat_store.rs` and `counters.rs` the two traits the app needs.

mod chat_store;
mod counters;
mod files;
mod listing;
mod rows;
mod schema;
mod system_prompt;
#[cfg(test)]
mod tests;
mod verdicts;

use crate::limits::UsageCounters;
use app::conversation::{
    one_turn, AppendedTurn, Begun, MessageRange, Role, SessionSummary, StoredMessage, TokenUsage,
    TurnId, TurnOutcome, TurnRequest, TurnStatus, Verdict, UNTITLED,
};
#[cfg(test)]
use app::conversation::{NewReply, NewTurn};
use app::errors::StoreError;
use app::models::ModelId;
use app::params::GenParams;
use app::services::{Again, ChatStore};
use app::session::{OwnerId, SessionId};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use thiserror::Error;

use schema::{MIGRATIONS, SCHEMA};

/// Why the store could not open; start-up reports it and stops.
#[derive(Debug, Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the database file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open SQLite database {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
}

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// Message rows read so far (`ChatStore::messages_read`).
    read: Arc<AtomicU64>,
}

thread_local! {
    /// Message rows read by the call running on this thread: `rows::read_messages` counts them
    /// here, and [`SqliteStore::with_conn`] adds them to the store's total, so no statement
    /// needs the counter passed to it.
    static READ: Cell<u64> = const { Cell::new(0) };
}

/// How a call fails inside its connection: SQLite itself (logged, and reported as
/// `StoreError::Failed` in one place, [`SqliteStore::with_conn`]) or a refusal the store makes.
/// `?` converts both, so no statement maps its own error.
#[derive(Debug, Error)]
enum Fail {
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    tracing::error!(error = %e, "sqlite store error");
    StoreError::Failed
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, OpenError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| OpenError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let sqlite_err = |source| OpenError::Sqlite {
            path: path.display().to_string(),
            source,
        };
        // A new file is made readable by the server's user only (everyone's chats are in it);
        // SQLite gives its -wal and -shm files the same permissions.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => {
                    return Err(OpenError::File {
                        path: path.display().to_string(),
                        source,
                    })
                }
            }
        }
        let conn = Connection::open(path).map_err(sqlite_err)?;
        // WAL: readers never block the writer; synchronous=NORMAL is durable across a process
        // crash (only an OS crash can lose the last commit).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .map_err(sqlite_err)?;
        conn.execute_batch(SCHEMA).map_err(sqlite_err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sqlite_err)?;
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            let target = i as i64 + 2;
            if version < target {
                conn.execute_batch(&format!(
                    "BEGIN; {migration} PRAGMA user_version = {target}; COMMIT;"
                ))
                .map_err(sqlite_err)?;
            }
        }
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            read: Arc::default(),
        })
    }

    /// Marks every pending turn failed (`interrupted`). Called once at start-up: the file
    /// belongs to this one process, so a turn still pending then lost its task to a crash or a
    /// SIGKILL, and the person sees that on their next load instead of a reply that never comes.
    pub async fn fail_interrupted_turns(&self) -> Result<usize, StoreError> {
        self.with_conn(|conn| {
            conn.execute(
                "UPDATE messages SET status = 'failed', error = 'interrupted' WHERE status = 'pending'",
                [],
            )
            .map_err(Fail::from)
        })
        .await
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, Fail> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (conn, read) = (self.conn.clone(), self.read.clone());
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Unavailable)?;
            READ.set(0);
            let result = f(&mut guard);
            read.fetch_add(READ.take(), Ordering::Relaxed);
            result.map_err(|e| match e {
                Fail::Sql(e) => failed(e),
                Fail::Store(e) => e,
            })
        })
        .await
        .map_err(failed)?
    }
}
