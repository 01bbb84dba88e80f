//! `GET /models`: how Gemma on the cluster compares with Gemini on Vertex AI, in the visitor's
//! own chats (and, for an operator, everyone's): replies, median latency, tokens per reply,
//! error rate, and the verdicts on side-by-side pairs. The numbers that say how much traffic the
//! GPU should carry. A static page written here (no wasm): it reads one tally per owner
//! (`app::tally`), never the chats.

use crate::config::Operators;
use app::errors::ChatError;
use app::html::escape;
use app::models::ModelId;
use app::services::Services;
use app::session::{self, VerifiedUser};
use app::tally::{ModelFigures, Standing, Tally};
use axum::extract::State;
use axum::http::{header, request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Clone)]
pub struct ModelsPage {
    pub services: Services,
    pub operators: Operators,
}

pub async fn page(State(page): State<ModelsPage>, parts: Parts) -> Response {
    let store = &page.services.store;
    let email = parts
        .extensions
        .get::<VerifiedUser>()
        .map(|u| u.email.clone());
    let mine = match session::owner_from(&parts, &page.services.owner_key) {
        Some(owner) => store.tally(Some(&owner)).await,
        // A browser that never opened a chat has no figures yet.
        None => Ok(Tally::default()),
    };
    let everyone = if page.operators.include(email.as_deref()) {
        store.tally(None).await.map(Some)
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
    let mut body = section("yours", "Your chats", &mine);
    if let Some(all) = everyone {
        body += &section("everyone", "Everyone's chats", &all);
    }
    respond(StatusCode::OK, &document(&body))
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
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><title>Models · hybrid-chat</title><link rel="stylesheet" href="/pkg/hybrid-chat.css"><link rel="icon" href="/favicon.svg" type="image/svg+xml"></head><body><main class="models-page"><header class="topbar"><h1>Models</h1><a class="button secondary" href="/">Back to your chats</a></header><p class="lede">Gemma on your cluster next to Gemini on Vertex AI: how often each answers, how fast, how much, and which answer people pick when they ask both (“Ask both”, then “Better answer” under the pair).</p>{body}</main></body></html>"#
    )
}

fn section(id: &str, title: &str, tally: &Tally) -> String {
    let rows: String = ModelId::ALL
        .into_iter()
        .map(|m| figures_row(&tally.figures(m)))
        .collect();
    format!(
        r#"<section aria-labelledby="{id}" data-figures="{id}"><h2 id="{id}">{title}</h2><div class="table-scroll"><table><caption>Replies</caption><thead><tr><th scope="col">Model</th><th scope="col">Replies</th><th scope="col">Median latency</th><th scope="col">Output tokens per reply</th><th scope="col">Error rate</th></tr></thead><tbody>{rows}</tbody></table></div>{}</section>"#,
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
    format!(
        r#"<tr data-model="{}"><th scope="row">{}</th><td data-figure="replies">{}</td><td data-figure="median">{median}</td><td data-figure="tokens">{tokens}</td><td data-figure="errors">{errors}</td></tr>"#,
        f.model.as_str(),
        f.model.label(),
        f.replies,
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
