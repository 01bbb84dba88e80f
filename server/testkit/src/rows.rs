//! What a SQLite file holds, read straight from it (not through the store under test).

use std::path::Path;

/// The conversation a chat holds: its answered turns' messages (seq, role, text, model). A turn
/// that failed or is pending is not part of it; [`turn_rows`] shows those too.
pub fn stored_messages(db: &Path, session: &str) -> Vec<(i64, String, String, String)> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn
        .prepare("SELECT seq, role, text, model FROM messages WHERE session_id = ?1 AND status = 'complete' ORDER BY seq")
        .expect("prepare");
    stmt.query_map([session], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .expect("query")
    .map(|r| r.expect("row"))
    .collect()
}

/// Every row of a chat, whatever its turn's status: (seq, role, text, status, error code).
pub fn turn_rows(db: &Path, session: &str) -> Vec<(i64, String, String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn
        .prepare("SELECT seq, role, text, status, error FROM messages WHERE session_id = ?1 ORDER BY seq")
        .expect("prepare");
    stmt.query_map([session], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .expect("query")
    .map(|r| r.expect("row"))
    .collect()
}

/// Whether a chat's rows are whole turns: gap-free, every answered user message followed by
/// its reply (or replies), every failed or pending one by none.
pub fn whole_turns(rows: &[(i64, String, String, String, Option<String>)]) -> bool {
    rows.iter().enumerate().all(|(i, r)| {
        let next_is_reply = rows.get(i + 1).is_some_and(|n| n.1 == "model");
        r.0 == i as i64
            && match (r.1.as_str(), r.3.as_str()) {
                ("user", "complete") => next_is_reply,
                ("user", _) => !next_is_reply,
                ("model", s) => s == "complete" && i > 0,
                _ => false,
            }
    })
}

pub fn count_all_messages(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
        .expect("count")
}

/// A reply's token figures as stored.
pub struct UsageRow {
    pub seq: i64,
    pub total_tokens: i64,
    pub thinking_tokens: i64,
}

/// Each reply of a chat with its tokens; thinking is 0 where none is stored.
pub fn usage_rows(db: &Path, session: &str) -> Vec<UsageRow> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn
        .prepare("SELECT seq, COALESCE(total_tokens, 0), COALESCE(thinking_tokens, 0) FROM messages WHERE session_id = ?1 AND role = 'model' ORDER BY seq")
        .expect("prepare");
    stmt.query_map([session], |r| {
        Ok(UsageRow {
            seq: r.get(0)?,
            total_tokens: r.get(1)?,
            thinking_tokens: r.get(2)?,
        })
    })
    .expect("query")
    .map(|r| r.expect("row"))
    .collect()
}
