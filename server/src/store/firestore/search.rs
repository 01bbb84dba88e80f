//! Title search through an index. Firestore has no substring queries, so each session document
//! carries `title_grams`: every piece of its lower-cased title one to three characters long. A
//! search asks the index for the owner's sessions holding one piece of the query
//! (`array-contains`, newest first), and keeps those whose title holds the whole query: the
//! same answers as SQLite's `LIKE`, reading at most [`MAX_READS`] documents however many chats
//! the owner has. infra/firestore.tf creates the index.

use super::docs::SessionDoc;
use super::errors::store_error;
use super::{FirestoreStore, SESSIONS};
use app::conversation::SessionSummary;
use app::errors::StoreError;
use app::session::OwnerId;
use firestore::path;
use futures::TryStreamExt;

/// The longest piece kept: a title of 80 characters has at most 237 of them.
const GRAM: usize = 3;

/// The most session documents one search reads.
pub(super) const MAX_READS: usize = 200;

/// Every distinct piece of `title`, lower-cased, one to [`GRAM`] characters long.
pub(super) fn grams(title: &str) -> Vec<String> {
    let chars: Vec<char> = title.to_lowercase().chars().collect();
    let mut out: Vec<String> = (1..=GRAM)
        .flat_map(|n| chars.windows(n).map(|w| w.iter().collect::<String>()))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The piece of a (lower-cased) query the index is asked for: the whole query if it is short,
/// else its rarest-looking piece, the one with the fewest common letters.
fn query_gram(query: &str) -> String {
    let chars: Vec<char> = query.chars().collect();
    if chars.len() <= GRAM {
        return query.to_string();
    }
    let common = |c: &char| "etaoin srhl".contains(*c);
    chars
        .windows(GRAM)
        .min_by_key(|w| w.iter().filter(|c| common(c)).count())
        .map(|w| w.iter().collect())
        .unwrap_or_default()
}

impl FirestoreStore {
    pub(super) async fn search_titles(
        &self,
        owner: &OwnerId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let query = query.to_lowercase();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let gram = query_gram(&query);
        let owner = owner.as_str().to_string();
        let docs: Vec<SessionDoc> = self
            .db
            .fluent()
            .select()
            .from(SESSIONS)
            .filter(|q| {
                q.for_all([
                    q.field(path!(SessionDoc::owner)).eq(owner.clone()),
                    q.field(path!(SessionDoc::title_grams))
                        .array_contains(gram.clone()),
                ])
            })
            .order(|o| o.fields([o.field(path!(SessionDoc::updated_at_ms)).descending()]))
            .limit(MAX_READS as u32)
            .obj()
            .stream_query_with_errors()
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        self.read
            .fetch_add(docs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(docs
            .into_iter()
            .filter(|d| d.title.to_lowercase().contains(&query))
            .filter_map(SessionDoc::summary)
            .take(limit)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_substring_of_a_title_holds_the_query_piece() {
        let title = "Kubernetes 100% Ready";
        let held = grams(title);
        for query in ["kubernetes", "100%", "%", "s 1", "ready", "ube", "k"] {
            let gram = query_gram(query);
            assert!(held.contains(&gram), "{query}: {gram}");
        }
        assert!(!held.contains(&query_gram("helm")));
        assert!(grams(&"x".repeat(80)).len() == 3, "repeats are kept once");
        assert!(grams(&"abcdefghij".repeat(8)).len() <= 3 * 80);
    }
}
