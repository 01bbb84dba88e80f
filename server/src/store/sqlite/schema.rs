//! The tables, and the migrations that bring an older file up to them (in order; the file
//! records how many it has applied).

pub(super) const SCHEMA: &str = "
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
pub(super) const MIGRATIONS: &[&str] = &[
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
    // 5: a chat's own system prompt (NULL: the server's).
    "ALTER TABLE sessions ADD COLUMN system_prompt TEXT;",
    // 6: the user's verdict on a turn both models answered, and each owner's model figures
    // (`app::tally`): counts by key, added to as turns end and verdicts change.
    "ALTER TABLE messages ADD COLUMN verdict TEXT;
     CREATE TABLE tallies (
         owner TEXT NOT NULL,
         key   TEXT NOT NULL,
         value INTEGER NOT NULL,
         PRIMARY KEY (owner, key)
     ) WITHOUT ROWID;",
    // 7: Gemini's thinking: the setting a message was sent with (`Thinking`'s text; NULL, the
    // server's default) and the tokens a reply thought (billed as output, not in the answer).
    "ALTER TABLE messages ADD COLUMN thinking TEXT;
     ALTER TABLE messages ADD COLUMN thinking_tokens INTEGER;",
    // 8: what each call cost (`app::cost`: nano-dollars, and a GPU-priced reply's GPU time),
    // each chat's running total, and the figures per UTC day (days since 1970), so a period's
    // figures are a bounded read; and operators' names for owners (a signed-in person's email).
    "ALTER TABLE messages ADD COLUMN cost_nano INTEGER;
     ALTER TABLE messages ADD COLUMN gpu_ms INTEGER;
     ALTER TABLE sessions ADD COLUMN cost_nano INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE day_tallies (
         day   INTEGER NOT NULL,
         owner TEXT NOT NULL,
         key   TEXT NOT NULL,
         value INTEGER NOT NULL,
         PRIMARY KEY (day, owner, key)
     ) WITHOUT ROWID;
     CREATE TABLE owner_labels (
         owner TEXT PRIMARY KEY,
         label TEXT NOT NULL
     ) WITHOUT ROWID;",
    // 9: attached files (issue #28). A user message lists its files' references (JSON); the
    // bytes are in the blob store. `attachments` records every stored file: its owner, and the
    // chat it was claimed for once sent (NULL until then), for serving, quotas, deletes and the
    // sweep of files never sent.
    "ALTER TABLE messages ADD COLUMN attachments TEXT;
     CREATE TABLE attachments (
         id            TEXT PRIMARY KEY,
         owner         TEXT NOT NULL,
         session_id    TEXT,
         kind          TEXT NOT NULL,
         name          TEXT NOT NULL,
         bytes         INTEGER NOT NULL,
         width         INTEGER NOT NULL,
         height        INTEGER NOT NULL,
         sha256        TEXT NOT NULL,
         created_at_ms INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX attachments_by_session ON attachments (session_id);
     CREATE INDEX attachments_by_owner ON attachments (owner, created_at_ms);",
];
