//! `GET /models`: how Gemma on the cluster compares with Gemini on Vertex AI over a period, in
//! the visitor's own chats (and, for an operator, everyone's): replies, median latency, tokens
//! per reply, error rate, spend and cost per reply, the verdicts on side-by-side pairs, and
//! whether the GPU pays for itself (`breakeven.rs`). Operators also get spend per person and the
//! CSV ledger (`ledger.rs`). A static page written here (no wasm): it reads the figures per
//! owner and UTC day (`app::tally`), never the chats.

mod breakeven;
mod ledger;
mod period;

pub use period::Period;

use crate::config::Operators;
use app::cost::{dollars, Price};
use app::errors::{ChatError, StoreError};
use app::html::escape;
use app::models::ModelId;
use app::services::{ChatStore, Services};
use app::session::{self, OwnerId, VerifiedUser};
use app::tally::{day_of, DayTally, ModelFigures, Standing, Tally};
use axum::extract::State;
use axum::http::{header, request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeSet, HashMap};

#[derive(Clone)]
pub struct ModelsPage {
    pub services: Services,
    pub operators: Operators,
}

/// What the page read for one owner (or everyone): the period's figures, and its days.
struct Read {
    tally: Tally,
    days: Vec<DayTally>,
}

async fn read(
    store: &dyn ChatStore,
    owner: Option<&OwnerId>,
    period: Period,
    today: i64,
) -> Result<Read, StoreError> {
    let days = store.day_tallies(owner, period.since_day(today)).await?;
    let tally = match period {
        // All time includes figures from before they were kept per day.
        Period::All => store.tally(owner).await?,
        _ => {
            let mut t = Tally::default();
            for d in &days {
                t.add(&d.tally);
            }
            t
        }
    };
    Ok(Read { tally, days })
}

/// Who may read everyone's figures, and the ledger.
fn operator(page: &ModelsPage, parts: &Parts) -> bool {
    let email = parts
        .extensions
        .get::<VerifiedUser>()
        .map(|u| u.email.as_str());
    page.operators.include(email)
}

pub async fn page(State(page): State<ModelsPage>, parts: Parts) -> Response {
    let store = page.services.store.as_ref();
    let period = Period::parse(&parts);
    let now = app::chat::ssr::now_ms();
    let today = day_of(now);
    let mine = match session::owner_from(&parts, &page.services.owner_key) {
        Some(owner) => read(store, Some(&owner), period, today).await,
        // A browser that never opened a chat has no figures yet.
        None => Ok(Read {
            tally: Tally::default(),
            days: Vec::new(),
        }),
    };
    let everyone = if operator(&page, &parts) {
        read(store, None, period, today).await.map(Some)
    } else {
        Ok(None)
    };
    let (mine, everyone) = match (mine, everyone) {
        (Ok(m), Ok(e)) => (m, e),
        (Err(e), _) | (_, Err(e)) => {
            let e = ChatError::from(e);
            return respond(
                e.status(),
                &document(&format!(
                    r#"<p class="error" role="alert">{}</p>"#,
                    escape(&e.to_string())
                )),
            );
        }
    };
    let mut body = periods(period);
    body += &section("yours", "Your chats", &mine.tally);
    // The break-even on the widest traffic the visitor may see.
    let (widest, whose) = match &everyone {
        Some(all) => (all, "everyone's"),
        None => (&mine, "your"),
    };
    body += &break_even(&page, widest, whose, period, now);
    if let Some(all) = &everyone {
        body += &section("everyone", "Everyone's chats", &all.tally);
        body += &ceilings(&page, all, today);
        let people = ledger::dearest(&all.days);
        let shown: Vec<String> = people.iter().take(PEOPLE).map(|(o, _)| o.clone()).collect();
        body += &format!(
            r#"<section aria-labelledby="people" data-figures="people-section"><h2 id="people">Spend per person</h2>{}<p><a class="button secondary" href="/models.csv?period={}" download>Download the ledger (CSV)</a></p></section>"#,
            ledger::per_person(&people, &labels(store, &shown).await, PEOPLE),
            period.param(),
        );
    }
    respond(StatusCode::OK, &document(&body))
}

/// The dearest people the Models page lists; the CSV has everyone.
const PEOPLE: usize = 50;

/// Operators' names for `owners` (signed-in people's emails). Without them the page still
/// shows the owner ids, so a failed read is logged, not refused.
async fn labels(store: &dyn ChatStore, owners: &[String]) -> HashMap<String, String> {
    store.owner_labels(owners).await.unwrap_or_else(|e| {
        tracing::warn!(error = ?e, "owners' names not read");
        HashMap::new()
    })
}

/// `GET /models.csv?period=…`: the period's ledger, for operators only.
pub async fn ledger_csv(State(page): State<ModelsPage>, parts: Parts) -> Response {
    if !operator(&page, &parts) {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "The ledger is for operators (OPERATORS).\n",
        )
            .into_response();
    }
    let period = Period::parse(&parts);
    let today = day_of(app::chat::ssr::now_ms());
    match page
        .services
        .store
        .day_tallies(None, period.since_day(today))
        .await
    {
        Ok(days) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"hybrid-chat-ledger-{}.csv\"",
                        period.param()
                    ),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            ledger::csv(&days, &{
                let owners: BTreeSet<String> = days.iter().map(|d| d.owner.clone()).collect();
                labels(
                    page.services.store.as_ref(),
                    &owners.into_iter().collect::<Vec<_>>(),
                )
                .await
            }),
        )
            .into_response(),
        Err(e) => {
            let e = ChatError::from(e);
            (e.status(), e.to_string()).into_response()
        }
    }
}

/// For operators: today's spend against each model's daily ceiling, where one is set.
fn ceilings(page: &ModelsPage, all: &Read, today: i64) -> String {
    let mut spent = Tally::default();
    for d in all.days.iter().filter(|d| d.day == today) {
        spent.add(&d.tally);
    }
    let Some(ceilings) = &page.services.ceilings else {
        return String::new();
    };
    let lines: String = ModelId::ALL
        .into_iter()
        .filter_map(|m| {
            let ceiling = ceilings.ceiling(m)?;
            let used = spent.figures(m).spend_nano;
            Some(format!(
                r#"<li data-ceiling="{}">{}: {} of its {} a day spent today ({}&nbsp;%)</li>"#,
                m.as_str(),
                m.short_name(),
                dollars(used),
                dollars(ceiling),
                (used as f64 * 100.0 / ceiling as f64).round(),
            ))
        })
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    format!(
        r#"<section aria-labelledby="ceilings"><h2 id="ceilings">Daily spending ceilings</h2><ul>{lines}</ul><p class="hint">Everyone's turns together, per UTC day; past a ceiling that model's turns are refused until midnight UTC.</p></section>"#
    )
}

fn periods(current: Period) -> String {
    let links: String = Period::ALL
        .into_iter()
        .map(|p| {
            let here = if p == current {
                r#" aria-current="page""#
            } else {
                ""
            };
            format!(
                r#"<li><a href="/models?period={}"{here}>{}</a></li>"#,
                p.param(),
                p.label()
            )
        })
        .collect();
    format!(r#"<nav class="periods" aria-label="Period"><ul>{links}</ul></nav>"#)
}

fn break_even(page: &ModelsPage, read: &Read, whose: &str, period: Period, now: i64) -> String {
    let gpu_per_hour = match page.services.prices.gemma {
        Price::GpuHour { per_hour } => per_hour,
        Price::Tokens { .. } => return String::new(),
    };
    // The period's length: from its first day's midnight (all time: the first day with
    // figures) to now, so today counts as the part of it gone by.
    let first = match period {
        Period::All => read.days.first().map_or(day_of(now), |d| d.day),
        p => p.since_day(day_of(now)),
    };
    let days = ((now - first * 86_400_000) as f64 / 86_400_000.0).max(1.0 / 24.0);
    let (gemma, gemini) = (
        read_figures(read, ModelId::Gemma, period),
        read_figures(read, ModelId::Gemini, period),
    );
    let b = breakeven::work_out(&breakeven::Inputs {
        gemma: &gemma,
        gemini: &gemini,
        gpu_per_hour,
        days,
        whose,
    });
    format!(
        r#"<section aria-labelledby="break-even" data-figures="break-even"><h2 id="break-even">Does the GPU pay for itself?</h2><p data-figure="break-even">{}</p>{}<p class="hint method">Method: Gemma's GPU nodes cost {} an hour (<code>GEMMA_GPU_USD_PER_HOUR</code>), busy or idle; a Gemma reply holds its wall time divided by the Gemma requests in flight beside it; a Gemini reply costs its tokens at Vertex AI's prices; the nodes' daily cost over Gemini's mean cost per reply is the break-even.</p></section>"#,
        escape(&b.sentence),
        breakeven::chart(&b),
        escape(&dollars(app::cost::nano(gpu_per_hour))),
    )
}

/// The figures a period's break-even reads: the period's days (all time too, so that its
/// length and its figures agree).
fn read_figures(read: &Read, model: ModelId, period: Period) -> ModelFigures {
    match period {
        Period::All => {
            let mut t = Tally::default();
            for d in &read.days {
                t.add(&d.tally);
            }
            t.figures(model)
        }
        _ => read.tally.figures(model),
    }
}

fn respond(status: StatusCode, html: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; \
                 form-action 'self'; frame-ancestors 'none'",
            ),
        ],
        html.to_string(),
    )
        .into_response()
}

fn document(body: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><title>Models · hybrid-chat</title><link rel="stylesheet" href="/pkg/hybrid-chat.css"><link rel="icon" href="/favicon.svg" type="image/svg+xml"></head><body><main class="models-page"><header class="topbar"><h1>Models</h1><a class="button secondary" href="/">Back to your chats</a></header><p class="lede">Gemma on your cluster next to Gemini on Vertex AI: how often each answers, how fast, how much, what it costs, and which answer people pick when they ask both (“Ask both”, then “Better answer” under the pair).</p>{body}</main></body></html>"#
    )
}

fn section(id: &str, title: &str, tally: &Tally) -> String {
    let rows: String = ModelId::ALL
        .into_iter()
        .map(|m| figures_row(&tally.figures(m)))
        .collect();
    format!(
        r#"<section aria-labelledby="{id}" data-figures="{id}"><h2 id="{id}">{title}</h2><div class="table-scroll"><table><caption>Replies</caption><thead><tr><th scope="col">Model</th><th scope="col">Replies</th><th scope="col">Median latency</th><th scope="col">Output tokens per reply</th><th scope="col">Error rate</th><th scope="col">Spend</th><th scope="col">Cost per reply (median)</th><th scope="col">Cost per reply (mean)</th><th scope="col">Per 1,000 output tokens</th></tr></thead><tbody>{rows}</tbody></table></div>{}</section>"#,
        standing(&tally.standing()),
    )
}

fn figures_row(f: &ModelFigures) -> String {
    let median = match f.median_ms {
        Some((lo, Some(hi))) => format!("{}–{} s", seconds(lo), seconds(hi)),
        Some((lo, None)) => format!("over {} s", seconds(lo)),
        None => "–".into(),
    };
    let tokens = f
        .tokens_per_reply
        .map_or_else(|| "–".into(), |t| format!("{t:.0}"));
    let errors = f
        .error_rate()
        .map_or_else(|| "–".into(), |r| format!("{:.0} %", r * 100.0));
    let money =
        |n: Option<f64>| n.map_or_else(|| "–".into(), |n| dollars(app::cost::nano(n / 1e9)));
    let median_cost = match f.median_cost {
        Some((lo, Some(hi))) => format!("{}–{}", dollars(lo), dollars(hi)),
        Some((lo, None)) => format!("over {}", dollars(lo)),
        None => "–".into(),
    };
    format!(
        r#"<tr data-model="{}"><th scope="row">{}</th><td data-figure="replies">{}</td><td data-figure="median">{median}</td><td data-figure="tokens">{tokens}</td><td data-figure="errors">{errors}</td><td data-figure="spend">{}</td><td data-figure="median-cost">{median_cost}</td><td data-figure="mean-cost">{}</td><td data-figure="per-1k">{}</td></tr>"#,
        f.model.as_str(),
        f.model.label(),
        f.replies,
        dollars(f.spend_nano),
        money(f.mean_cost_nano()),
        money(f.cost_per_1k_output_nano()),
    )
}

/// 250 → "0.25", 1000 → "1", 7500 → "7.5".
fn seconds(ms: u64) -> String {
    let s = format!("{:.2}", ms as f64 / 1000.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn standing(s: &Standing) -> String {
    let judged = s.gemma + s.tie + s.gemini;
    if judged == 0 {
        return r#"<p class="hint" data-figure="judged">No side-by-side answers judged yet.</p>"#
            .into();
    }
    let row = |m: ModelId, wins: i64, losses: i64| {
        format!(
            r#"<tr data-model="{}"><th scope="row">{}</th><td data-figure="wins">{wins}</td><td data-figure="ties">{}</td><td data-figure="losses">{losses}</td></tr>"#,
            m.as_str(),
            m.short_name(),
            s.tie,
        )
    };
    format!(
        r#"<div class="table-scroll"><table><caption>Side by side: the better answer, in {judged} judged pair{}</caption><thead><tr><th scope="col">Model</th><th scope="col">Wins</th><th scope="col">Ties</th><th scope="col">Losses</th></tr></thead><tbody>{}{}</tbody></table></div>"#,
        if judged == 1 { "" } else { "s" },
        row(ModelId::Gemma, s.gemma, s.gemini),
        row(ModelId::Gemini, s.gemini, s.gemma),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_bounds_read_as_seconds() {
        assert_eq!(seconds(250), "0.25");
        assert_eq!(seconds(1_000), "1");
        assert_eq!(seconds(7_500), "7.5");
    }
}
