//! For operators: spend per person over the period, and the ledger behind it as CSV (one row per
//! UTC day, owner and model), both from the per-day figures (`app::tally::DayTally`).

use app::cost::dollars;
use app::html::escape;
use app::models::ModelId;
use app::tally::{DayTally, Tally};
use std::collections::{BTreeMap, HashMap};

/// A CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A leading `=`, `+`,
/// `-` or `@` is prefixed with `'` so a spreadsheet does not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// How an owner is named to operators: the first 12 characters of the owner id (a signed-in
/// person's is derived from their IAP email with the server's key, so it is stable per person).
pub fn short_id(owner: &str) -> String {
    owner.chars().take(12).collect()
}

/// The period's owners, dearest first: what `per_person` lists and whose names it needs.
pub fn dearest(days: &[DayTally]) -> Vec<(String, [ModelRow; 2])> {
    let mut owners: BTreeMap<&str, Tally> = BTreeMap::new();
    for d in days {
        owners.entry(&d.owner).or_default().add(&d.tally);
    }
    let mut rows: Vec<(String, [ModelRow; 2])> = owners
        .iter()
        .map(|(owner, t)| (owner.to_string(), ModelId::ALL.map(|m| ModelRow::of(t, m))))
        .collect();
    rows.sort_by(|(a, ra), (b, rb)| {
        (rb[0].spend + rb[1].spend, a).cmp(&(ra[0].spend + ra[1].spend, b))
    });
    rows
}

/// The period's spend per person, dearest first, at most `limit` rows: a signed-in person by
/// their email (`labels`), anyone else by their owner id's first characters.
pub fn per_person(
    rows: &[(String, [ModelRow; 2])],
    labels: &HashMap<String, String>,
    limit: usize,
) -> String {
    if rows.is_empty() {
        return r#"<p class="hint" data-figure="people">No one has spent anything in this period.</p>"#.into();
    }
    let body: String = rows
        .iter()
        .take(limit)
        .map(|(owner, r)| {
            let who = match labels.get(owner) {
                Some(email) => escape(email),
                None => format!("<code>{}</code>", escape(&short_id(owner))),
            };
            format!(
                r#"<tr data-owner="{}"><th scope="row">{who}</th><td>{}</td><td>{}</td><td>{}</td><td data-figure="spend">{}</td></tr>"#,
                escape(&short_id(owner)),
                r[0].replies,
                r[1].replies,
                dollars(r[0].spend),
                dollars(r[0].spend + r[1].spend),
            )
        })
        .collect();
    format!(
        r#"<div class="table-scroll"><table data-figures="people"><caption>Spend per person ({} in all{})</caption><thead><tr><th scope="col">Person</th><th scope="col">Gemma replies</th><th scope="col">Gemini replies</th><th scope="col">Gemma spend</th><th scope="col">Spend</th></tr></thead><tbody>{body}</tbody></table></div>"#,
        rows.len(),
        if rows.len() > limit {
            format!(", the {limit} dearest shown; the CSV has everyone")
        } else {
            String::new()
        },
    )
}

pub struct ModelRow {
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

/// The ledger: `day,owner,person,model,replies,failures,input_tokens,output_tokens,gpu_seconds,
/// spend_usd`, `person` a signed-in person's email (`labels`) or empty.
pub fn csv(days: &[DayTally], labels: &HashMap<String, String>) -> String {
    let mut out = String::from(
        "day,owner,person,model,replies,failures,input_tokens,output_tokens,gpu_seconds,spend_usd\n",
    );
    for d in days {
        for m in ModelId::ALL {
            let f = d.tally.figures(m);
            if f.replies == 0 && f.failures == 0 && f.spend_nano == 0 {
                continue;
            }
            out += &format!(
                "{},{},{},{},{},{},{},{},{}.{:03},{}.{:09}\n",
                app::components::sessions::date(d.day * 86_400_000),
                // Owner ids are hex: nothing to quote.
                d.owner,
                labels
                    .get(&d.owner)
                    .map_or_else(String::new, |l| csv_field(l)),
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
