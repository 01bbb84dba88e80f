//! Rows to messages and summaries, and messages to rows.

use super::*;
use app::params::Thinking;

pub(super) fn row_to_message(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<StoredMessage>> {
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
            thinking_tokens: row.get::<_, Option<i64>>("thinking_tokens")?.unwrap_or(0) as u32,
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
            thinking: row
                .get::<_, Option<String>>("thinking")?
                .and_then(|t| Thinking::parse(&t).ok()),
        },
        created_at_ms: row.get("created_at_ms")?,
        latency_ms: row.get::<_, Option<i64>>("latency_ms")?.map(|v| v as u64),
        usage,
        cost: match row.get::<_, Option<i64>>("cost_nano")? {
            Some(n) => Some(app::cost::Cost {
                nano_usd: n.max(0) as u64,
                gpu_ms: row
                    .get::<_, Option<i64>>("gpu_ms")?
                    .map(|v| v.max(0) as u64),
            }),
            None => None,
        },
        finish_reason: row.get("finish_reason")?,
        turn: row.get("turn_id")?,
        status: TurnStatus::parse(&row.get::<_, String>("status")?).unwrap_or_default(),
        error: row.get("error")?,
        verdict: row
            .get::<_, Option<String>>("verdict")?
            .as_deref()
            .and_then(Verdict::parse),
        // JSON references; a list this version cannot read shows no files rather than no chat.
        attachments: row
            .get::<_, Option<String>>("attachments")?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default(),
    }))
}

pub(super) fn read_messages(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredMessage>, Fail> {
    let rows = stmt.query_map(params, row_to_message)?;
    let mut out = Vec::new();
    for row in rows {
        super::READ.set(super::READ.get() + 1);
        // A row this version cannot read (unknown model) is skipped, not fatal.
        if let Some(m) = row? {
            out.push(m);
        }
    }
    Ok(out)
}

/// The newest `range.limit` messages with `range.from <= seq < range.before`, in order, and of
/// those the newest within `range.bytes`: one walk of the `(session_id, seq)` key from the end,
/// however long the chat, that stops at the byte budget (rows are read one at a time).
pub(super) fn newest(
    tx: &Connection,
    session: &str,
    range: MessageRange,
) -> Result<Vec<StoredMessage>, Fail> {
    let mut stmt = tx.prepare_cached(
        "SELECT * FROM messages WHERE session_id = ?1 AND seq >= ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4",
    )?;
    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let before = range.before.map_or(i64::MAX, clamp);
    let limit = clamp(range.limit as u64);
    let rows = stmt.query_map(
        params![session, clamp(range.from), before, limit],
        row_to_message,
    )?;
    let mut out: Vec<StoredMessage> = Vec::new();
    let mut bytes = 0usize;
    for row in rows {
        super::READ.set(super::READ.get() + 1);
        let Some(m) = row? else { continue };
        bytes = bytes.saturating_add(m.text.len());
        if bytes > range.bytes && !out.is_empty() {
            break;
        }
        out.push(m);
    }
    out.reverse();
    Ok(out)
}

/// The turn whose user message is at `seq`: that message and the replies after it.
pub(super) fn turn_at(
    tx: &Connection,
    session: &str,
    seq: i64,
) -> Result<Vec<StoredMessage>, Fail> {
    let mut stmt = tx.prepare_cached(
        "SELECT * FROM messages WHERE session_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT 64",
    )?;
    Ok(one_turn(read_messages(&mut stmt, params![session, seq])?))
}

/// The columns `row_to_summary` reads, in its order: every summary query starts with this.
pub(super) const SELECT_SUMMARY: &str =
    "SELECT id, title, created_at_ms, updated_at_ms, last_model, message_count, system_prompt, cost_nano FROM sessions";

/// Creates session `id` for `owner` with no messages, unless it exists (a turn that starts a
/// chat, or a system prompt set before the first message).
pub(super) fn create_session(
    tx: &Connection,
    id: &str,
    owner: &str,
    at_ms: i64,
    title: &str,
    model: ModelId,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO sessions (id, created_at_ms, updated_at_ms, title, last_model, message_count, owner) VALUES (?1, ?2, ?2, ?3, ?4, 0, ?5)",
    )?
    .execute(params![id, at_ms, title, model.as_str(), owner])?;
    Ok(())
}

pub(super) fn summary_of(tx: &Connection, session: &str) -> Result<Option<SessionSummary>, Fail> {
    tx.prepare_cached(&format!("{SELECT_SUMMARY} WHERE id = ?1"))
        .and_then(|mut s| s.query_row([session], row_to_summary).optional())
        .map(Option::flatten)
        .map_err(Fail::from)
}

pub(super) fn row_to_summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<SessionSummary>> {
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
        system_prompt: row.get(6)?,
        cost_nano: row.get::<_, i64>(7)?.max(0) as u64,
    }))
}

pub(super) const INSERT_MESSAGE: &str = "INSERT INTO messages (session_id, seq, role, text, model, temperature, top_p, max_tokens, created_at_ms, latency_ms, prompt_tokens, completion_tokens, total_tokens, finish_reason, turn_id, status, error, thinking_tokens, thinking, cost_nano, gpu_ms, attachments) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)";

pub(super) fn insert_message(
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
        m.usage.map(|u| u.thinking_tokens as i64).filter(|&n| n > 0),
        m.params.thinking.map(|t| t.to_string()),
        m.cost.map(|c| c.nano_usd as i64),
        m.cost.and_then(|c| c.gpu_ms).map(|v| v as i64),
        (!m.attachments.is_empty())
            .then(|| serde_json::to_string(&m.attachments).ok())
            .flatten(),
    ])?;
    Ok(())
}

/// Writes a settled user message's status, error code and what its call was billed (a failure
/// that ran out of tokens keeps its usage).
pub(super) fn settle_message(
    tx: &Connection,
    session: &str,
    m: &StoredMessage,
) -> rusqlite::Result<()> {
    let u = m.usage;
    tx.prepare_cached(
        "UPDATE messages SET status = ?3, error = ?4, prompt_tokens = ?5, completion_tokens = ?6, thinking_tokens = ?7, total_tokens = ?8, cost_nano = ?9 WHERE session_id = ?1 AND seq = ?2",
    )?
    .execute(params![
        session,
        m.seq as i64,
        m.status.as_str(),
        m.error,
        u.map(|u| u.prompt_tokens as i64),
        u.map(|u| u.completion_tokens as i64),
        u.map(|u| u.thinking_tokens as i64).filter(|&n| n > 0),
        u.map(|u| u.total_tokens as i64),
        m.cost.map(|c| c.nano_usd as i64),
    ])?;
    Ok(())
}
