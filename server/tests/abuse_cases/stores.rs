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
    _dir: TempDir,
    pub kind: Kind,
    emulator: &'e Emulator,
    pub project: String,
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
        let mut env: Vec<(&str, String)> = match kind {
            Kind::Sqlite => Vec::new(),
            Kind::Firestore => emulator.server_env(&project),
        };
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let server = Server::start(dir.path(), &model.url(), &env).await;
        Stand {
            server,
            model,
            _dir: dir,
            kind,
            emulator,
            project,
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
