//! Verdicts on side-by-side pairs and the owners' model figures (`app::tally`) on SQLite: the
//! counts are added in the transaction of what they count (a completed turn, a verdict).

use super::*;
use app::tally::{self, valid_key, DayTally, Tally};

/// Adds `counts` to `owner`'s figures, all time and today's (UTC), in the caller's transaction:
/// what they count and the counts are written together or not at all.
pub(super) fn add_counts(
    tx: &Connection,
    owner: &str,
    counts: &[(String, i64)],
) -> rusqlite::Result<()> {
    let day = tally::day_of(app::chat::ssr::now_ms());
    for (key, delta) in counts.iter().filter(|(k, _)| valid_key(k)) {
        tx.prepare_cached(
            "INSERT INTO tallies (owner, key, value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (owner, key) DO UPDATE SET value = value + excluded.value",
        )?
        .execute(params![owner, key, delta])?;
        tx.prepare_cached(
            "INSERT INTO day_tallies (day, owner, key, value) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (day, owner, key) DO UPDATE SET value = value + excluded.value",
        )?
        .execute(params![day, owner, key, delta])?;
    }
    Ok(())
}

impl SqliteStore {
    pub(super) async fn set_verdict(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        seq: u64,
        verdict: Option<Verdict>,
    ) -> Result<Option<Verdict>, StoreError> {
        let (id, owner) = (session.as_str().to_string(), owner.as_str().to_string());
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let old: Option<String> = tx
                .prepare_cached(
                    "SELECT m.verdict FROM messages m JOIN sessions s ON s.id = m.session_id \
                     WHERE m.session_id = ?1 AND m.seq = ?2 AND m.role = 'user' AND s.owner = ?3",
                )
                .and_then(|mut s| {
                    s.query_row(params![id, seq as i64, owner], |r| r.get(0))
                        .optional()
                })?
                .ok_or(StoreError::NotFound)?;
            tx.prepare_cached(
                "UPDATE messages SET verdict = ?3 WHERE session_id = ?1 AND seq = ?2",
            )
            .and_then(|mut s| s.execute(params![id, seq as i64, verdict.map(Verdict::as_str)]))?;
            let old = old.as_deref().and_then(Verdict::parse);
            add_counts(&tx, &owner, &tally::for_verdict(old, verdict))?;
            tx.commit()?;
            Ok(old)
        })
        .await
    }

    pub(super) async fn read_day_tallies(
        &self,
        owner: Option<&OwnerId>,
        since_day: i64,
    ) -> Result<Vec<DayTally>, StoreError> {
        let owner = owner.map(|o| o.as_str().to_string());
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT day, owner, key, value FROM day_tallies \
                 WHERE day >= ?1 AND (?2 IS NULL OR owner = ?2) ORDER BY day, owner",
            )?;
            let rows = stmt.query_map(params![since_day, owner], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            let mut out: Vec<DayTally> = Vec::new();
            for row in rows {
                let (day, owner, key, value): (i64, String, String, i64) = row?;
                match out.last_mut() {
                    Some(last) if last.day == day && last.owner == owner => {
                        last.tally.0.insert(key, value);
                    }
                    _ => out.push(DayTally {
                        day,
                        owner,
                        tally: Tally([(key, value)].into_iter().collect()),
                    }),
                }
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn read_tally(&self, owner: Option<&OwnerId>) -> Result<Tally, StoreError> {
        let owner = owner.map(|o| o.as_str().to_string());
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT key, SUM(value) FROM tallies WHERE ?1 IS NULL OR owner = ?1 GROUP BY key",
            )?;
            let rows = stmt.query_map([owner], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let mut tally = Tally::default();
            for row in rows {
                let (key, value): (String, i64) = row?;
                tally.0.insert(key, value);
            }
            Ok(tally)
        })
        .await
    }
}
