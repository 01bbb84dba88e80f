//! `GET /export/{session}.md` and `.json`: one of the visitor's chats as a download. Someone
//! else's id, a forged one and a missing one all get the same 404.

use app::conversation::{MessageRange, Role, SessionSummary, StoredMessage, TurnStatus, Verdict};
use app::errors::ChatError;
use app::services::Services;
use app::session::{self, SessionId};
use axum::extract::{Path, State};
use axum::http::{header, request::Parts};
use axum::response::{IntoResponse, Response};

pub async fn export(
    State(services): State<Services>,
    Path(file): Path<String>,
    parts: Parts,
) -> Response {
    let (id, format) = match file.rsplit_once('.') {
        Some((id, "md")) => (id, Format::Markdown),
        Some((id, "json")) => (id, Format::Json),
        _ => return refuse(ChatError::NoSuchChat),
    };
    let (Some(id), Some(owner)) = (
        SessionId::parse(id),
        session::owner_from(&parts, &services.owner_key),
    ) else {
        return refuse(ChatError::NoSuchChat);
    };
    let (summary, messages) = match (
        services.store.summary(&id).await,
        services
            .store
            .load_range(&id, &owner, MessageRange::ALL)
            .await,
    ) {
        (Ok(Some(summary)), Ok(Some(messages))) => (summary, messages),
        (Ok(_), Ok(_)) => return refuse(ChatError::NoSuchChat),
        (Err(e), _) | (_, Err(e)) => return refuse(ChatError::Store(e)),
    };
    let (body, content_type, ext) = match format {
        Format::Markdown => (
            markdown(&summary, &messages, services.system_prompt.as_deref()),
            "text/markdown; charset=utf-8",
            "md",
        ),
        Format::Json => (
            serde_json::to_string_pretty(&serde_json::json!({
                "session": summary,
                "system_prompt": services.system_prompt_of(&summary),
                "messages": messages,
            }))
            .unwrap_or_default(),
            "application/json",
            "json",
        ),
    };
    let disposition = format!(
        "attachment; filename=\"hybrid-chat-{}.{ext}\"",
        slug(&summary.title)
    );
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// `GET /source/{chat}/{seq}`: one message of the visitor's chat as it was written (a reply's
/// Markdown source), for its Copy button. The same refusals as the export.
pub async fn source(
    State(services): State<Services>,
    Path((chat, seq)): Path<(String, String)>,
    parts: Parts,
) -> Response {
    let (Some(id), Some(owner), Ok(seq)) = (
        SessionId::parse(&chat),
        session::owner_from(&parts, &services.owner_key),
        seq.parse::<u64>(),
    ) else {
        return refuse(ChatError::NoSuchChat);
    };
    let range = MessageRange {
        from: seq,
        before: seq.checked_add(1),
        limit: 1,
    };
    match services.store.load_range(&id, &owner, range).await {
        Ok(Some(messages)) => match messages.into_iter().next() {
            Some(m) => (
                [
                    (header::CONTENT_TYPE, "text/markdown; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                m.text,
            )
                .into_response(),
            None => refuse(ChatError::NoSuchChat),
        },
        Ok(None) => refuse(ChatError::NoSuchChat),
        Err(e) => refuse(ChatError::Store(e)),
    }
}

enum Format {
    Markdown,
    Json,
}

/// A download that cannot be given: the status and the words of the shared error table, as
/// every server function answers. Someone else's chat is "no such chat", like a missing one.
fn refuse(error: ChatError) -> Response {
    (
        error.status(),
        [(header::CACHE_CONTROL, "no-store")],
        error.to_string(),
    )
        .into_response()
}

/// A file-name-safe version of a title.
fn slug(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() {
        "chat".into()
    } else {
        s.chars().take(40).collect()
    }
}

/// The chat as a Markdown document: its system prompt (its own, or the server's `default`),
/// then who said what, with each reply's model, latency, tokens and cost.
pub fn markdown(
    summary: &SessionSummary,
    messages: &[StoredMessage],
    default: Option<&str>,
) -> String {
    let mut out = format!("# {}\n\n", summary.title.replace('\n', " "));
    if summary.cost_nano > 0 {
        out.push_str(&format!(
            "Spent in this chat: {}\n\n",
            app::cost::dollars(summary.cost_nano)
        ));
    }
    let system = match (&summary.system_prompt, default) {
        (Some(own), _) => Some(("System prompt", own.as_str())),
        (None, Some(default)) => Some(("System prompt (the server's)", default)),
        (None, None) => None,
    };
    if let Some((label, text)) = system {
        out.push_str(&format!("**{label}:**\n\n"));
        for line in text.trim().lines() {
            out.push_str(&format!("> {line}\n"));
        }
        out.push('\n');
    }
    for m in messages {
        match m.role {
            Role::User => out.push_str(&format!("## You (to {})\n\n", m.model.label())),
            Role::Model => {
                let mut meta = vec![m.model.label().to_string()];
                if let Some(ms) = m.latency_ms {
                    meta.push(format!("{:.1} s", ms as f64 / 1000.0));
                }
                if let Some(u) = m.usage {
                    meta.push(format!("{} tokens", u.total_tokens));
                    if u.thinking_tokens > 0 {
                        meta.push(format!("{} thinking tokens", u.thinking_tokens));
                    }
                }
                if let Some(cost) = m.cost {
                    meta.push(cost.describe());
                }
                out.push_str(&format!("## {}\n\n", meta.join(" · ")));
            }
        }
        out.push_str(m.text.trim());
        out.push_str("\n\n");
        // A turn without a reply says why, in the server's words (its error is stored as a code).
        let note = match m.status {
            TurnStatus::Complete => None,
            TurnStatus::Pending => Some("No reply yet.".to_string()),
            TurnStatus::Stopped => Some("Stopped before the reply came.".to_string()),
            TurnStatus::Replaced => {
                Some("Edited: the message after it replaced this one.".to_string())
            }
            TurnStatus::Failed => Some(format!(
                "Not answered: {}",
                m.error
                    .as_deref()
                    .and_then(app::error_codes::from_code)
                    .unwrap_or(ChatError::NotSaved)
            )),
        };
        if let Some(note) = note {
            out.push_str(&format!("_{note}_\n\n"));
        }
        let verdict = match m.verdict {
            Some(Verdict::Tie) => Some("Your verdict on the answers below: a tie.".to_string()),
            Some(v) => Some(format!(
                "Your verdict on the answers below: {}'s is better.",
                v.label()
            )),
            None => None,
        };
        if let Some(verdict) = verdict {
            out.push_str(&format!("_{verdict}_\n\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(
            slug("Tell me a *Kubernetes* joke!"),
            "tell-me-a-kubernetes-joke"
        );
        assert_eq!(slug("../../etc/passwd"), "etc-passwd");
        assert_eq!(slug("日本語"), "chat");
    }
}
