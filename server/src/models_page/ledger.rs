//! For operators: spend per person over the period, and the ledger behind it as CSV (one row per
//! UTC day, owner and model), both from the per-day figures (`app::tally::DayTally`).

use app::cost::dollars;
use app::html::escape;
use app::models::ModelId;
use app::tally::{DayTally, Tally};
use std::collections::BTreeMap;

/// How an owner is named to operators: the first 12 characters of the owner id (a signed-in
/// person's is derived from their IAP email with the server's key, so it is stable per person).
pub fn short_id(owner: &str) -> String {
    owner.chars().take(12).collect()
}

/// The period's spend per owner, dearest first, at most `limit` rows.
pub fn per_person(days: &[DayTally], limit: usize) -> String {
    let mut owners: BTreeMap<&str, Tally> = BTreeMap::new();
    for d in days {
        owners.entry(&d.owner).or_default().add(&d.tally);
    }
    let mut rows: Vec<(&str, [ModelRow; 2])> = owners
        .iter()
        .map(|(owner, t)| (*owner, ModelId::ALL.map(|m| ModelRow::of(t, m))))
        .collect();
    rows.sort_by_key(|(owner, r)| (std::cmp::Reverse(r[0].spend + r[1].spend), *owner));
    if rows.is_empty() {
        return r#"<p class="hint" data-figure="people">No one has spent anything in this period.</p>"#.into();
    }
    let body: String = rows
        .iter()
        .take(limit)
        .map(|(owner, r)| {
            format!(
                r#"<tr data-owner="{id}"><th scope="row"><code>{id}</code></th><td>{}</td><td>{}</td><td>{}</td><td data-figure="spend">{}</td></tr>"#,
                r[0].replies,
                r[1].replies,
                dollars(r[0].spend),
                dollars(r[0].spend + r[1].spend),
                id = escape(&short_id(owner)),
            )
        })
        .collect();
    format!(
        r#"<div class="table-scroll"><table data-figures="people"><caption>Spend per person ({} in all{})</caption><thead><tr><th scope="col">Owner</th><th scope="col">Gemma replies</th><th scope="col">Gemini replies</th><th scope="col">Gemma spend</th><th scope="col">Spend</th></tr></thead><tbody>{body}</tbody></table></div>"#,
        rows.len(),
        if rows.len() > limit {
            format!(", the {limit} dearest shown; the CSV has everyone")
        } else {
            String::new()
        },
    )
}

struct ModelRow {
    replies: i64,
    spend: u64,
}

impl ModelRow {
    fn of(t: &Tally, m: ModelId) -> Self {
        let f = t.figures(m);
        ModelRow {
            replies: f.replies,
            spend: f.spend_nano,
        }
    }
}

/// The ledger: `day,owner,model,replies,failures,input_tokens,output_tokens,gpu_seconds,spend_usd`.
pub fn csv(days: &[DayTally]) -> String {
    let mut out = String::from(
        "day,owner,model,replies,failures,input_tokens,output_tokens,gpu_seconds,spend_usd\n",
    );
    for d in days {
        for m in ModelId::ALL {
            let f = d.tally.figures(m);
            if f.replies == 0 && f.failures == 0 && f.spend_nano == 0 {
                continue;
            }
            out += &format!(
                "{},{},{},{},{},{},{},{}.{:03},{}.{:09}\n",
                app::components::sessions::date(d.day * 86_400_000),
                // Owner ids are [A-Za-z0-9_-]: nothing to quote.
                d.owner,
                m.as_str(),
                f.replies,
                f.failures,
                d.tally.get(&format!("{}_input_tokens", m.as_str())),
                f.output_tokens,
                f.gpu_ms / 1_000,
                f.gpu_ms % 1_000,
                f.spend_nano / 1_000_000_000,
                f.spend_nano % 1_000_000_000,
            );
        }
    }
    out
}
