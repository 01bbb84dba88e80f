//! A server on either store, and what the store holds, read past the app.

use testkit::standin::{self, StandIn};
use testkit::{Emulator, Server, TempDir};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Firestore,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Sqlite => "SQLite",
            Kind::Firestore => "Firestore",
        }
    }
}

pub const DATABASE: &str = "chat-app-db";

/// Fields drop in order: the server stops before its stand-in and its files go.
pub struct Stand<'e> {
    pub server: Server,
    pub model: StandIn,
    dir: TempDir,
    pub kind: Kind,
    emulator: &'e Emulator,
    pub project: String,
    env: Vec<(String, String)>,
}

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

impl<'e> Stand<'e> {
    /// A server on `kind`; on Firestore, in a project of its own named after `case`.
    pub async fn start(
        kind: Kind,
        emulator: &'e Emulator,
        case: &str,
        extra: &[(&str, &str)],
    ) -> Stand<'e> {
        let model = standin::start(0).await;
        let dir = testkit::tempdir();
        let project = format!("abuse-{case}");
        let mut env: Vec<(String, String)> = match kind {
            Kind::Sqlite => Vec::new(),
            Kind::Firestore => emulator
                .server_env(&project)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        };
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let server = Server::start(dir.path(), &model.url(), &pairs(&env)).await;
        Stand {
            server,
            model,
            dir,
            kind,
            emulator,
            project,
            env,
        }
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn crash(&self) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &self.server.pid().to_string()])
            .status();
    }

    /// A new server on the same store, with `extra` settings on top of the first's.
    pub async fn restart(&mut self, extra: &[(&str, &str)]) {
        let mut env = self.env.clone();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.server = Server::start(self.dir.path(), &self.model.url(), &pairs(&env)).await;
    }

    /// Every document (row) of chat `id` the store holds: its session, messages and turn
    /// markers, and on Firestore an unfinished delete's tombstone.
    pub async fn chat_docs(&self, id: &str) -> usize {
        match self.kind {
            Kind::Sqlite => {
                let db = rusqlite::Connection::open(self.server.sqlite_path()).expect("open");
                let count = |sql: &str| -> usize {
                    db.query_row(sql, [id], |row| row.get::<_, i64>(0))
                        .expect("count") as usize
                };
                count("SELECT COUNT(*) FROM sessions WHERE id = ?1")
                    + count("SELECT COUNT(*) FROM messages WHERE session_id = ?1")
            }
            Kind::Firestore => {
                let mut n = 0;
                for collection in [
                    format!("chat_sessions/{id}/messages"),
                    format!("chat_sessions/{id}/turns"),
                ] {
                    n += self
                        .emulator
                        .documents(&self.project, DATABASE, &collection)
                        .await
                        .len();
                }
                for collection in ["chat_sessions", "chat_deletions"] {
                    n += self
                        .emulator
                        .documents(&self.project, DATABASE, collection)
                        .await
                        .iter()
                        .filter(|(doc, _)| doc == id)
                        .count();
                }
                n
            }
        }
    }

    /// Every limit counter whose key starts with `prefix`, with its value.
    pub async fn counters(&self, prefix: &str) -> Vec<(String, i64)> {
        match self.kind {
            Kind::Sqlite => {
                let db = rusqlite::Connection::open(self.server.sqlite_path()).expect("open");
                let mut query = db
                    .prepare("SELECT key, value FROM usage_counters WHERE key LIKE ?1 || '%'")
                    .expect("query");
                query
                    .query_map([prefix], |row| Ok((row.get(0)?, row.get(1)?)))
                    .expect("rows")
                    .map(|row| row.expect("row"))
                    .collect()
            }
            Kind::Firestore => self
                .emulator
                .documents(&self.project, DATABASE, "visitor_usage")
                .await
                .into_iter()
                .filter(|(id, _)| id.starts_with(prefix))
                .map(|(id, fields)| {
                    let value = fields["value"]["integerValue"]
                        .as_str()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    (id, value)
                })
                .collect(),
        }
    }

    /// How many documents (rows) of `collection` the store holds: Firestore collection ids,
    /// or the SQLite table of the same meaning.
    pub async fn count(&self, collection: &str, table: &str) -> usize {
        match self.kind {
            Kind::Sqlite => {
                let db = rusqlite::Connection::open(self.server.sqlite_path()).expect("open");
                db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                    row.get::<_, i64>(0)
                })
                .expect("count") as usize
            }
            Kind::Firestore => self
                .emulator
                .documents(&self.project, DATABASE, collection)
                .await
                .len(),
        }
    }
}
