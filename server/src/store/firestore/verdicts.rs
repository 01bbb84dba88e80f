//! Verdicts on side-by-side pairs and the owners' model figures (`app::tally`) on Firestore:
//! a verdict is a field of the turn's user message, changed in a transaction that returns the
//! one it replaces; the figures are one document per owner in `model_tallies`, a map of counts
//! added to by increment transforms in the transaction of what they count (a completed turn,
//! a verdict), so they cost no extra round trip and no update is lost.

use super::docs::{message_id, MessageDoc, SessionDoc};
use super::errors::store_error;
use super::{FirestoreStore, DAY_TALLIES, MESSAGES, OWNER_LABELS, SESSIONS, TALLIES};
use app::conversation::Verdict;
use app::errors::StoreError;
use app::session::{OwnerId, SessionId};
use app::tally::{self, valid_key, DayTally, Tally};
use firestore::{
    paths, FirestoreDb, FirestoreResult, FirestoreTransaction, FirestoreTransactionOptions,
};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default, Serialize, Deserialize)]
struct TallyDoc {
    #[serde(default)]
    counts: BTreeMap<String, i64>,
}

/// One owner's figures on one UTC day, id `{day:06}_{owner}`: `day` is set by a `maximum`
/// transform (a transform-only write cannot set a plain field), so `day >= since` finds a
/// period's documents through Firestore's automatic single-field index.
#[derive(Debug, Default, Serialize, Deserialize)]
struct DayTallyDoc {
    #[serde(default, alias = "_firestore_id")]
    id: String,
    #[serde(default)]
    day: i64,
    #[serde(default)]
    counts: BTreeMap<String, i64>,
}

/// Operators' name for an owner (a signed-in person's IAP email), id the owner id.
#[derive(Debug, Default, Serialize, Deserialize)]
struct OwnerLabelDoc {
    label: String,
}

fn day_doc_id(day: i64, owner: &str) -> String {
    format!("{day:06}_{owner}")
}

/// Adds `counts` to `owner`'s figures in `transaction`, as increment transforms (so two
/// transactions adding at once both count): what they count and the counts commit together.
pub(super) fn add_counts(
    db: &FirestoreDb,
    transaction: &mut FirestoreTransaction<'_>,
    owner: &str,
    counts: &[(String, i64)],
) -> FirestoreResult<()> {
    let counts: Vec<&(String, i64)> = counts.iter().filter(|(k, _)| valid_key(k)).collect();
    // A chat from before owners existed has none (and no document id to count under): its
    // turn is still stored, uncounted.
    if counts.is_empty() || owner.is_empty() {
        return Ok(());
    }
    db.fluent()
        .update()
        .in_col(TALLIES)
        .document_id(owner)
        .transforms(|t| {
            t.fields(
                counts
                    .iter()
                    .map(|(k, v)| t.field(format!("counts.{k}")).increment(*v)),
            )
        })
        .only_transform()
        .add_to_transaction(transaction)?;
    let day = tally::day_of(app::chat::ssr::now_ms());
    db.fluent()
        .update()
        .in_col(DAY_TALLIES)
        .document_id(day_doc_id(day, owner))
        .transforms(|t| {
            t.fields(
                std::iter::once(t.field("day").maximum(day)).chain(
                    counts
                        .iter()
                        .map(|(k, v)| t.field(format!("counts.{k}")).increment(*v)),
                ),
            )
        })
        .only_transform()
        .add_to_transaction(transaction)?;
    Ok(())
}

impl FirestoreStore {
    pub(super) async fn set_verdict(
        &self,
        session: &SessionId,
        owner: &OwnerId,
        seq: u64,
        verdict: Option<Verdict>,
    ) -> Result<Option<Verdict>, StoreError> {
        // The remembered window holds the message as it was.
        self.forget(session);
        let (id, owner) = (session.as_str().to_string(), owner.as_str().to_string());
        let options = FirestoreTransactionOptions::new().with_max_retries(20);
        self.db
            .run_transaction_with_options(
                move |db, transaction| {
                    let (id, owner) = (id.clone(), owner.clone());
                    Box::pin(async move {
                        let parent = db.parent_path(SESSIONS, &id)?;
                        let session: Option<SessionDoc> = db
                            .fluent()
                            .select()
                            .by_id_in(SESSIONS)
                            .obj()
                            .one(&id)
                            .await?;
                        let message: Option<MessageDoc> = db
                            .fluent()
                            .select()
                            .by_id_in(MESSAGES)
                            .parent(&parent)
                            .obj()
                            .one(&message_id(seq))
                            .await?;
                        let mut message = match (session, message) {
                            (Some(s), Some(m)) if s.owner == owner && m.role == "user" => m,
                            _ => return Ok(Err(StoreError::NotFound)),
                        };
                        let old = message.verdict.as_deref().and_then(Verdict::parse);
                        message.verdict = verdict.map(|v| v.as_str().to_string());
                        add_counts(&db, transaction, &owner, &tally::for_verdict(old, verdict))?;
                        db.fluent()
                            .update()
                            .fields(paths!(MessageDoc::{verdict}))
                            .in_col(MESSAGES)
                            .document_id(message_id(seq))
                            .parent(&parent)
                            .object(&message)
                            .add_to_transaction(transaction)?;
                        Ok(Ok(old))
                    })
                },
                options,
            )
            .await
            .map_err(store_error)?
    }

    pub(super) async fn write_owner_label(
        &self,
        owner: &OwnerId,
        label: &str,
    ) -> Result<(), StoreError> {
        self.db
            .fluent()
            .update()
            .in_col(OWNER_LABELS)
            .document_id(owner.as_str())
            .object(&OwnerLabelDoc {
                label: label.to_string(),
            })
            .execute::<()>()
            .await
            .map_err(store_error)
    }

    pub(super) async fn read_owner_labels(
        &self,
        owners: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        if owners.is_empty() {
            return Ok(HashMap::new());
        }
        self.db
            .fluent()
            .select()
            .by_id_in(OWNER_LABELS)
            .obj::<OwnerLabelDoc>()
            .batch_with_errors(owners)
            .await
            .map_err(store_error)?
            .try_filter_map(|(id, doc)| async move { Ok(doc.map(|d| (id, d.label))) })
            .try_collect()
            .await
            .map_err(store_error)
    }

    pub(super) async fn read_day_tallies(
        &self,
        owner: Option<&OwnerId>,
        since_day: i64,
    ) -> Result<Vec<DayTally>, StoreError> {
        let docs: Vec<DayTallyDoc> = match owner {
            // One owner: the period's documents by id (at most one per day), for a year at
            // most: a batch of ids from 1970 on would be some 20,000 reads.
            Some(owner) => {
                let today = tally::day_of(app::chat::ssr::now_ms());
                let ids: Vec<String> = (since_day.max(today - 365)..=today)
                    .map(|d| day_doc_id(d, owner.as_str()))
                    .collect();
                self.db
                    .fluent()
                    .select()
                    .by_id_in(DAY_TALLIES)
                    .obj()
                    .batch_with_errors(ids)
                    .await
                    .map_err(store_error)?
                    .try_filter_map(|(id, doc): (String, Option<DayTallyDoc>)| async move {
                        Ok(doc.map(|d| DayTallyDoc { id, ..d }))
                    })
                    .try_collect()
                    .await
                    .map_err(store_error)?
            }
            None => self
                .db
                .fluent()
                .select()
                .from(DAY_TALLIES)
                .filter(|q| q.field("day").greater_than_or_equal(since_day))
                .obj()
                .stream_query_with_errors()
                .await
                .map_err(store_error)?
                .try_collect()
                .await
                .map_err(store_error)?,
        };
        let mut out: Vec<DayTally> = docs
            .into_iter()
            .filter_map(|d| {
                let (_, owner) = d.id.split_once('_')?;
                Some(DayTally {
                    day: d.day,
                    owner: owner.to_string(),
                    tally: Tally(d.counts),
                })
            })
            .collect();
        out.sort_by(|a, b| (a.day, &a.owner).cmp(&(b.day, &b.owner)));
        Ok(out)
    }

    pub(super) async fn read_tally(&self, owner: Option<&OwnerId>) -> Result<Tally, StoreError> {
        let docs: Vec<TallyDoc> = match owner {
            Some(owner) => self
                .db
                .fluent()
                .select()
                .by_id_in(TALLIES)
                .obj()
                .one(owner.as_str())
                .await
                .map_err(store_error)?
                .into_iter()
                .collect(),
            // Everyone's: one small document per owner who ever sent a turn.
            None => self
                .db
                .fluent()
                .select()
                .from(TALLIES)
                .obj()
                .stream_query_with_errors()
                .await
                .map_err(store_error)?
                .try_collect()
                .await
                .map_err(store_error)?,
        };
        let mut tally = Tally::default();
        for doc in docs {
            tally.add(&Tally(doc.counts));
        }
        Ok(tally)
    }
}
