//! The embedded store: SQLite in one file, used when no Google Cloud project is configured.
//!
//! One row per session and one per message, keyed `(session_id, seq)`, so a chat of any length
//! fits and reads come back in order. Accepting a turn and completing it are one `BEGIN
//! IMMEDIATE` transaction each, which also serialises two tabs sending to the same chat: one is
//! accepted, the other finds it pending.
//! rusqlite is synchronous, so calls run on tokio's blocking pool.

use crate::limits::UsageCounters;
use app::conversation::{
    one_turn, AppendedTurn, Begun, Role, SessionSummary, StoredMessage, TokenUsage, TurnId,
    TurnOutcome, TurnRequest, TurnStatus,
};
#[cfg(test)]
use app::conversation::{NewReply, NewTurn};
use app::errors::StoreError;
use app::models::ModelId;
use app::params::GenParams;
use app::services::ChatStore;
use app::session::{OwnerId, SessionId};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Why the store could not open; start-up reports it and stops.
#[derive(Debug, Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open SQLite database {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id             TEXT PRIMARY KEY,
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    title          TEXT NOT NULL,
    last_model     TEXT NOT NULL,
    message_count  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    session_id        TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq               INTEGER NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('user', 'model')),
    text              TEXT NOT NULL,
    model             TEXT NOT NULL,
    temperature       REAL NOT NULL,
    top_p             REAL NOT NULL,
    max_tokens        INTEGER NOT NULL,
    created_at_ms     INTEGER NOT NULL,
    latency_ms        INTEGER,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    total_tokens      INTEGER,
    finish_reason     TEXT,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
";

/// Schema changes after version 1, applied in order to an existing file.
const MIGRATIONS: &[&str] = &[
    // 2: sessions belong to an owner (the browser that created them).
    "ALTER TABLE sessions ADD COLUMN owner TEXT NOT NULL DEFAULT '';
     CREATE INDEX IF NOT EXISTS sessions_by_owner ON sessions (owner, updated_at_ms DESC);",
    // 3: per-visitor limit counters (server/src/limits.rs).
    "CREATE TABLE usage_counters (
         key           TEXT PRIMARY KEY,
         value         INTEGER NOT NULL,
         expires_at_ms INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX usage_counters_by_expiry ON usage_counters (expires_at_ms);",
    // 4: two-phase turns. A user message is stored pending when its turn is accepted and
    // completed (or failed) by the turn's task; `turn_id` is the client's idempotency key.
    "ALTER TABLE messages ADD COLUMN turn_id TEXT;
     ALTER TABLE messages ADD COLUMN status TEXT NOT NULL DEFAULT 'complete';
     ALTER TABLE messages ADD COLUMN error TEXT;
     CREATE UNIQUE INDEX messages_by_turn ON messages (session_id, turn_id) WHERE turn_id IS NOT NULL;",
];

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
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
            .map_err(failed)
        })
        .await
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Unavailable)?;
            f(&mut guard)
        })
        .await
        .map_err(failed)?
    }
}

fn row_to_message(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<StoredMessage>> {
    let role: String = row.get("role")?;
    let model: String = row.get("model")?;
    let (Some(role), Some(model)) = (Role::parse(&role), ModelId::parse(&model)) else {
        return Ok(None);
    };
    let total: Option<i64> = row.get("total_tokens")?;
    let usage = match total {
        Some(total) => Some(TokenUsage {
            prompt_tokens: row.get::<_, Option<i64>>("prompt_tokens")?.unwrap_or(0) as u32,
            completion_tokens: row.get::<_, Option<i64>>("completion_tokens")?.unwrap_or(0) as u32,
            total_tokens: total as u32,
        }),
        None => None,
    };
    Ok(Some(StoredMessage {
        seq: row.get::<_, i64>("seq")? as u64,
        role,
        text: row.get("text")?,
        model,
        params: GenParams {
            temperature: row.get::<_, f64>("temperature")? as f32,
            top_p: row.get::<_, f64>("top_p")? as f32,
            max_tokens: row.get::<_, i64>("max_tokens")? as u32,
        },
        created_at_ms: row.get("created_at_ms")?,
        latency_ms: row.get::<_, Option<i64>>("latency_ms")?.map(|v| v as u64),
        usage,
        finish_reason: row.get("finish_reason")?,
        turn: row.get("turn_id")?,
        status: TurnStatus::parse(&row.get::<_, String>("status")?).unwrap_or_default(),
        error: row.get("error")?,
    }))
}

fn read_messages(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredMessage>, StoreError> {
    let rows = stmt.query_map(params, row_to_message).map_err(failed)?;
    let mut out = Vec::new();
    for row in rows {
        // A row this version cannot read (unknown model) is skipped, not fatal.
        if let Some(m) = row.map_err(failed)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// The turn whose user message is at `seq`: that message and the replies after it.
fn turn_at(tx: &Connection, session: &str, seq: i64) -> Result<Vec<StoredMessage>, StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT * FROM messages WHERE session_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT 8",
        )
        .map_err(failed)?;
    Ok(one_turn(read_messages(&mut stmt, params![session, seq])?))
}

fn summary_of(tx: &Connection, session: &str) -> Result<Option<SessionSummary>, StoreError> {
    tx.prepare_cached(
        "SELECT id, title, created_at_ms, updated_at_ms, last_model, message_count FROM sessions WHERE id = ?1",
    )
    .and_then(|mut s| s.query_row([session], row_to_summary).optional())
    .map(Option::flatten)
    .map_err(failed)
}

fn row_to_summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<SessionSummary>> {
    let model: String = row.get(4)?;
    let Some(last_model) = ModelId::parse(&model) else {
        return Ok(None);
    };
    Ok(Some(SessionSummary {
        id: row.get(0)?,
        title: row.get(1)?,
        created_at_ms: row.get(2)?,
        updated_at_ms: row.get(3)?,
        last_model,
        message_count: row.get::<_, i64>(5)? as u64,
    }))
}

const INSERT_MESSAGE: &str = "INSERT INTO messages (session_id, seq, role, text, model, temperature, top_p, max_tokens, created_at_ms, latency_ms, prompt_tokens, completion_tokens, total_tokens, finish_reason, turn_id, status, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

fn insert_message(
    tx: &rusqlite::Transaction<'_>,
    session: &str,
    m: &StoredMessage,
) -> rusqlite::Result<()> {
    tx.prepare_cached(INSERT_MESSAGE)?.execute(params![
        session,
        m.seq as i64,
        m.role.as_str(),
        m.text,
        m.model.as_str(),
        m.params.temperature as f64,
        m.params.top_p as f64,
        m.params.max_tokens as i64,
        m.created_at_ms,
        m.latency_ms.map(|v| v as i64),
        m.usage.map(|u| u.prompt_tokens as i64),
        m.usage.map(|u| u.completion_tokens as i64),
        m.usage.map(|u| u.total_tokens as i64),
        m.finish_reason,
        m.turn,
        m.status.as_str(),
        m.error,
    ])?;
    Ok(())
}

#[async_trait]
impl ChatStore for SqliteStore {
    async fn load(&self, session: &SessionId) -> Result<Vec<StoredMessage>, StoreError> {
        let id = session.as_str().to_string();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT * FROM messages WHERE session_id = ?1 ORDER BY seq")
                .map_err(failed)?;
            read_messages(&mut stmt, [id])
        })
        .await
    }

    async fn load_owned(
        &self,
        session: &SessionId,
        owner: &OwnerId,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError> {
        let (id, owner) = (session.as_str().to_string(), owner.as_str().to_string());
        self.with_conn(move |conn| {
            // One query: the owner check is the join. A session always has its first turn, so
            // no rows means not there, or not this owner's.
            let mut stmt = conn
                .prepare_cached(
                    "SELECT m.* FROM messages m JOIN sessions s ON s.id = m.session_id \
                     WHERE m.session_id = ?1 AND s.owner = ?2 ORDER BY m.seq",
                )
                .map_err(failed)?;
            let out = read_messages(&mut stmt, [id, owner])?;
            Ok((!out.is_empty()).then_some(out))
        })
        .await
    }

    async fn owner_of(&self, session: &SessionId) -> Result<Option<OwnerId>, StoreError> {
        let id = session.as_str().to_string();
        self.with_conn(move |conn| {
            let owner: Option<String> = conn
                .prepare_cached("SELECT owner FROM sessions WHERE id = ?1")
                .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
                .map_err(failed)?;
            // A session from before owners existed belongs to nobody, so nobody can open it.
            Ok(owner.and_then(|o| OwnerId::parse(&o)))
        })
        .await
    }

    async fn begin_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnRequest,
        create: bool,
        stale_before_ms: i64,
    ) -> Result<Begun, StoreError> {
        let id = session.as_str().to_string();
        let owner = owner.as_str().to_string();
        let turn = turn.clone();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(failed)?;
            if create {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO sessions (id, created_at_ms, updated_at_ms, title, last_model, message_count, owner) VALUES (?1, ?2, ?2, ?3, ?4, 0, ?5)",
                )
                .and_then(|mut s| s.execute(params![id, turn.at_ms, turn.title(), turn.model.as_str(), owner]))
                .map_err(failed)?;
            }
            // In the same transaction as the write: a chat deleted meanwhile stays deleted.
            let next: i64 = tx
                .prepare_cached("SELECT message_count FROM sessions WHERE id = ?1 AND owner = ?2")
                .and_then(|mut s| s.query_row([&id, &owner], |r| r.get(0)).optional())
                .map_err(failed)?
                .ok_or(StoreError::NotFound)?;
            let existing: Option<i64> = tx
                .prepare_cached("SELECT seq FROM messages WHERE session_id = ?1 AND turn_id = ?2")
                .and_then(|mut s| s.query_row([&id, turn.turn.as_str()], |r| r.get(0)).optional())
                .map_err(failed)?;
            if let Some(seq) = existing {
                return Ok(Begun::Existing(turn_at(&tx, &id, seq)?));
            }
            let pending: Option<(i64, i64)> = tx
                .prepare_cached(
                    "SELECT seq, created_at_ms FROM messages WHERE session_id = ?1 AND role = 'user' AND status = 'pending'",
                )
                .and_then(|mut s| s.query_row([&id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
                .map_err(failed)?;
            if let Some((seq, at_ms)) = pending {
                if at_ms >= stale_before_ms {
                    return Err(StoreError::TurnPending);
                }
                tx.prepare_cached(
                    "UPDATE messages SET status = 'failed', error = 'interrupted' WHERE session_id = ?1 AND seq = ?2",
                )
                .and_then(|mut s| s.execute(params![id, seq]))
                .map_err(failed)?;
            }
            let mut stmt = tx
                .prepare_cached("SELECT * FROM messages WHERE session_id = ?1 ORDER BY seq")
                .map_err(failed)?;
            let history = read_messages(&mut stmt, [&id])?;
            drop(stmt);
            let user = turn.to_stored(next as u64);
            insert_message(&tx, &id, &user).map_err(failed)?;
            tx.prepare_cached(
                "UPDATE sessions SET message_count = ?2, updated_at_ms = ?3, last_model = ?4 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, next + 1, turn.at_ms, turn.model.as_str()]))
            .map_err(failed)?;
            let session = summary_of(&tx, &id)?.ok_or(StoreError::Failed)?;
            tx.commit().map_err(failed)?;
            Ok(Begun::Accepted {
                history,
                user,
                session,
            })
        })
        .await
    }

    async fn finish_turn(
        &self,
        session: &SessionId,
        user: &StoredMessage,
        outcome: &TurnOutcome,
    ) -> Result<AppendedTurn, StoreError> {
        let id = session.as_str().to_string();
        let outcome = outcome.clone();
        let user = user.clone();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(failed)?;
            let seq = user.seq as i64;
            let next: i64 = tx
                .prepare_cached("SELECT message_count FROM sessions WHERE id = ?1")
                .and_then(|mut s| s.query_row([&id], |r| r.get(0)).optional())
                .map_err(failed)?
                .ok_or(StoreError::NotFound)?;
            // Still pending: not completed already, nor marked interrupted by a later turn.
            let status: Option<String> = tx
                .prepare_cached("SELECT status FROM messages WHERE session_id = ?1 AND seq = ?2")
                .and_then(|mut s| s.query_row(params![id, seq], |r| r.get(0)).optional())
                .map_err(failed)?;
            if status.as_deref() != Some(TurnStatus::Pending.as_str()) {
                return Err(StoreError::NotFound);
            }
            let (status, error, replies) = match &outcome {
                TurnOutcome::Answered(replies) => (TurnStatus::Complete, None, replies.as_slice()),
                TurnOutcome::Failed(code) => (TurnStatus::Failed, Some(code.clone()), &[][..]),
                TurnOutcome::Stopped => (TurnStatus::Stopped, None, &[][..]),
            };
            tx.prepare_cached(
                "UPDATE messages SET status = ?3, error = ?4 WHERE session_id = ?1 AND seq = ?2",
            )
            .and_then(|mut s| s.execute(params![id, seq, status.as_str(), error]))
            .map_err(failed)?;
            let mut messages = vec![StoredMessage {
                status,
                error,
                ..user
            }];
            // Turns go one at a time, so the replies land right after their message.
            for (i, reply) in replies.iter().enumerate() {
                let m = reply.to_stored(next as u64 + i as u64, messages[0].params);
                insert_message(&tx, &id, &m).map_err(failed)?;
                messages.push(m);
            }
            let last = messages.last().map_or(0, |m| m.created_at_ms);
            let model = replies.first().map_or(messages[0].model, |r| r.model);
            tx.prepare_cached(
                "UPDATE sessions SET message_count = ?2, updated_at_ms = max(updated_at_ms, ?3), last_model = ?4 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, next + replies.len() as i64, last, model.as_str()]))
            .map_err(failed)?;
            let session = summary_of(&tx, &id)?.ok_or(StoreError::Failed)?;
            tx.commit().map_err(failed)?;
            Ok(AppendedTurn { messages, session })
        })
        .await
    }

    async fn load_turn(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        turn: &TurnId,
    ) -> Result<Option<Vec<StoredMessage>>, StoreError> {
        let (id, owner, turn) = (
            session.as_str().to_string(),
            owner.as_str().to_string(),
            turn.as_str().to_string(),
        );
        self.with_conn(move |conn| {
            let seq: Option<i64> = conn
                .prepare_cached(
                    "SELECT m.seq FROM messages m JOIN sessions s ON s.id = m.session_id \
                     WHERE m.session_id = ?1 AND s.owner = ?2 AND m.turn_id = ?3",
                )
                .and_then(|mut s| s.query_row([&id, &owner, &turn], |r| r.get(0)).optional())
                .map_err(failed)?;
            seq.map(|seq| turn_at(conn, &id, seq)).transpose()
        })
        .await
    }

    async fn search_sessions(
        &self,
        owner: &OwnerId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let (owner, query) = (owner.as_str().to_string(), query.to_lowercase());
        self.with_conn(move |conn| {
            // instr, not LIKE: the query is matched as typed, `%` and `_` included.
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, title, created_at_ms, updated_at_ms, last_model, message_count FROM sessions \
                     WHERE owner = ?1 AND instr(lower(title), ?2) > 0 ORDER BY updated_at_ms DESC, id LIMIT ?3",
                )
                .map_err(failed)?;
            let rows = stmt
                .query_map(params![owner, query, limit as i64], row_to_summary)
                .map_err(failed)?;
            let mut out = Vec::new();
            for row in rows {
                if let Some(s) = row.map_err(failed)? {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn list_sessions(
        &self,
        owner: &OwnerId,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let owner = owner.as_str().to_string();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, title, created_at_ms, updated_at_ms, last_model, message_count FROM sessions WHERE owner = ?1 AND updated_at_ms < ?2 ORDER BY updated_at_ms DESC, id LIMIT ?3",
                )
                .map_err(failed)?;
            let rows = stmt
                .query_map(params![owner, before.unwrap_or(i64::MAX), limit as i64], row_to_summary)
                .map_err(failed)?;
            rows.filter_map(|r| r.map_err(failed).transpose()).collect()
        })
        .await
    }

    async fn summary(&self, session: &SessionId) -> Result<Option<SessionSummary>, StoreError> {
        let id = session.as_str().to_string();
        self.with_conn(move |conn| summary_of(conn, &id)).await
    }

    async fn rename(&self, session: &SessionId, title: &str) -> Result<(), StoreError> {
        let (id, title) = (session.as_str().to_string(), title.to_string());
        self.with_conn(move |conn| {
            let changed = conn
                .prepare_cached("UPDATE sessions SET title = ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id, title]))
                .map_err(failed)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn delete(&self, session: &SessionId) -> Result<(), StoreError> {
        let id = session.as_str().to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(failed)?;
            tx.execute("DELETE FROM messages WHERE session_id = ?1", [&id])
                .map_err(failed)?;
            tx.execute("DELETE FROM sessions WHERE id = ?1", [&id])
                .map_err(failed)?;
            tx.commit().map_err(failed)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(|_| StoreError::Unavailable)
        })
        .await
    }
}

#[async_trait]
impl UsageCounters for SqliteStore {
    async fn add(&self, key: &str, delta: i64, expires_at_ms: i64) -> Result<i64, StoreError> {
        let key = key.to_string();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(failed)?;
            let value: i64 = tx
                .prepare_cached(
                    "INSERT INTO usage_counters (key, value, expires_at_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = value + excluded.value
                     RETURNING value",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![key, delta, expires_at_ms], |r| r.get(0))
                })
                .map_err(failed)?;
            // A new counter means a new window began: a good moment to drop the expired ones.
            if value == delta {
                tx.prepare_cached("DELETE FROM usage_counters WHERE expires_at_ms < ?1")
                    .and_then(|mut stmt| {
                        stmt.execute(params![expires_at_ms - 2 * 24 * 3600 * 1000])
                    })
                    .map_err(failed)?;
            }
            tx.commit().map_err(failed)?;
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
                .map_err(failed)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(n: usize) -> NewTurn {
        let model = if n.is_multiple_of(2) {
            ModelId::Gemma
        } else {
            ModelId::Gemini
        };
        NewTurn::single(
            GenParams {
                temperature: 0.5,
                top_p: 0.9,
                max_tokens: 100 + n as u32,
            },
            format!("question {n}"),
            1_000 + n as i64,
            NewReply {
                model,
                text: format!("answer {n}"),
                at_ms: 2_000 + n as i64,
                latency_ms: 42,
                usage: Some(TokenUsage {
                    prompt_tokens: 5,
                    completion_tokens: 7,
                    total_tokens: 12,
                }),
                finish_reason: Some("stop".into()),
            },
        )
    }

    fn owner() -> OwnerId {
        OwnerId::parse(&"a".repeat(64)).expect("owner")
    }

    fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("nested/chat.sqlite3")).expect("open");
        (dir, store)
    }

    #[tokio::test]
    async fn turns_are_stored_with_metadata_and_read_in_order() {
        let (_dir, store) = open();
        let s = SessionId::generate();
        assert!(
            store.load(&s).await.expect("load").is_empty(),
            "unknown session is empty"
        );
        assert_eq!(store.owner_of(&s).await.expect("owner"), None);
        for n in 0..3 {
            let m = store
                .append_turn(&s, &owner(), &turn(n), n == 0)
                .await
                .expect("append")
                .messages;
            assert_eq!((m[0].seq, m[1].seq), (2 * n as u64, 2 * n as u64 + 1));
        }
        assert_eq!(store.owner_of(&s).await.expect("owner"), Some(owner()));
        let msgs = store.load(&s).await.expect("load");
        assert_eq!(msgs.len(), 6);
        assert_eq!(msgs[0].text, "question 0");
        assert_eq!(msgs[3].text, "answer 1");
        assert_eq!(msgs[3].model, ModelId::Gemini);
        assert_eq!(msgs[3].latency_ms, Some(42));
        assert_eq!(msgs[3].usage.map(|u| u.total_tokens), Some(12));
        assert_eq!(msgs[3].finish_reason.as_deref(), Some("stop"));
        assert_eq!(msgs[4].params.max_tokens, 102);
        assert!(msgs.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
    }

    #[tokio::test]
    async fn a_compared_turn_stores_one_question_and_both_answers_together() {
        let (_dir, store) = open();
        let s = SessionId::generate();
        let mut t = turn(0);
        let mut second = t.replies[0].clone();
        second.model = ModelId::Gemini;
        second.text = "gemini's answer".into();
        t.replies.push(second);
        let stored = store
            .append_turn(&s, &owner(), &t, true)
            .await
            .expect("append")
            .messages;
        assert_eq!(stored.iter().map(|m| m.seq).collect::<Vec<_>>(), [0, 1, 2]);
        store
            .append_turn(&s, &owner(), &turn(2), false)
            .await
            .expect("next turn");
        let msgs = store.load(&s).await.expect("load");
        assert_eq!(
            msgs.iter().map(|m| (m.role, m.model)).collect::<Vec<_>>(),
            [
                (Role::User, ModelId::Gemma),
                (Role::Model, ModelId::Gemma),
                (Role::Model, ModelId::Gemini),
                (Role::User, ModelId::Gemma),
                (Role::Model, ModelId::Gemma)
            ]
        );
        let empty = NewTurn {
            replies: vec![],
            ..turn(4)
        };
        assert!(
            store
                .append_turn(&s, &owner(), &empty, false)
                .await
                .is_err(),
            "a turn needs a reply"
        );
    }

    #[tokio::test]
    async fn sessions_are_isolated_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chat.sqlite3");
        let (a, b) = (SessionId::generate(), SessionId::generate());
        {
            let store = SqliteStore::open(&path).expect("open");
            store
                .append_turn(&a, &owner(), &turn(0), true)
                .await
                .expect("a");
            store
                .append_turn(&b, &owner(), &turn(1), true)
                .await
                .expect("b");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        let la = store.load(&a).await.expect("load a");
        assert_eq!(
            la.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
            ["question 0", "answer 0"]
        );
        assert_eq!(store.load(&b).await.expect("load b").len(), 2);
    }

    /// A file from every earlier schema version opens, is brought up to date, and keeps its
    /// chats: readable, complete, and (from version 2, which has owners) still taking turns.
    #[tokio::test]
    async fn every_earlier_schema_version_migrates_and_keeps_its_chats() {
        let latest = MIGRATIONS.len() as i64 + 1;
        for version in 1..latest {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("old.sqlite3");
            let s = SessionId::generate();
            {
                let conn = Connection::open(&path).expect("create");
                conn.execute_batch(SCHEMA).expect("version 1");
                for migration in &MIGRATIONS[..(version - 1) as usize] {
                    conn.execute_batch(migration).expect("earlier migration");
                }
                conn.execute_batch(&format!("PRAGMA user_version = {version};"))
                    .expect("version");
                conn.execute(
                    "INSERT INTO sessions (id, created_at_ms, updated_at_ms, title, last_model, message_count) VALUES (?1, 1, 2, 'old chat', 'gemma', 2)",
                    [s.as_str()],
                )
                .expect("session");
                if version >= 2 {
                    conn.execute(
                        "UPDATE sessions SET owner = ?2 WHERE id = ?1",
                        [s.as_str(), owner().as_str()],
                    )
                    .expect("owner");
                }
                for (seq, role, text) in [(0, "user", "old question"), (1, "model", "old answer")] {
                    conn.execute(
                        "INSERT INTO messages (session_id, seq, role, text, model, temperature, top_p, max_tokens, created_at_ms) VALUES (?1, ?2, ?3, ?4, 'gemma', 1.0, 0.9, 64, 1)",
                        params![s.as_str(), seq, role, text],
                    )
                    .expect("message");
                }
            }
            let store = SqliteStore::open(&path).expect("migrate");
            let now: i64 = store
                .with_conn(|c| {
                    c.query_row("PRAGMA user_version", [], |r| r.get(0))
                        .map_err(failed)
                })
                .await
                .expect("version");
            assert_eq!(now, latest, "from version {version}");
            let msgs = store.load(&s).await.expect("load");
            assert_eq!(
                msgs.iter()
                    .map(|m| (m.text.as_str(), m.status))
                    .collect::<Vec<_>>(),
                [
                    ("old question", TurnStatus::Complete),
                    ("old answer", TurnStatus::Complete)
                ],
                "from version {version}"
            );
            assert_eq!(store.fail_interrupted_turns().await.expect("recover"), 0);
            if version >= 2 {
                let next = store
                    .append_turn(&s, &owner(), &turn(2), false)
                    .await
                    .expect("a new turn in the old chat");
                assert_eq!(next.messages[0].seq, 2, "from version {version}");
                assert_eq!(next.session.title, "old chat");
            } else {
                // Before owners, a chat belongs to nobody: kept, but nobody's to open.
                assert_eq!(store.owner_of(&s).await.expect("owner"), None);
            }
            drop(store);
            // And opening it again changes nothing.
            let again = SqliteStore::open(&path).expect("reopen");
            assert!(again.load(&s).await.expect("load").len() >= 2);
        }
    }

    #[tokio::test]
    async fn interrupted_turns_are_marked_failed_at_start_up() {
        let (_dir, store) = open();
        let s = SessionId::generate();
        let (request, _) = turn(0).split(TurnId::parse("interrupted-turn-0001").expect("id"));
        store
            .begin_turn(&s, &owner(), &request, true, 0)
            .await
            .expect("accepted");
        assert_eq!(store.fail_interrupted_turns().await.expect("recover"), 1);
        let msgs = store.load(&s).await.expect("load");
        assert_eq!(msgs[0].status, TurnStatus::Failed);
        assert_eq!(msgs[0].error.as_deref(), Some("interrupted"));
        // The chat takes a new turn at once.
        store
            .append_turn(&s, &owner(), &turn(1), false)
            .await
            .expect("next turn");
        assert_eq!(store.fail_interrupted_turns().await.expect("recover"), 0);
    }
}
