//! `GET /export/{session}.md` and `.json`: one of the visitor's chats as a download. Someone
//! else's id, a forged one and a missing one all get the same 404.

use app::conversation::{MessageRange, Role, SessionSummary, StoredMessage, TurnStatus, Verdict};
use app::errors::ChatError;
use app::errors::StoreError;
use app::services::Services;
use app::session::{self, SessionId};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, request::Parts};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

/// Messages per read while exporting: an export holds one page at a time, so its memory does not
/// grow with the chat (20 messages at the byte limit are 1.3 MB).
const EXPORT_PAGE: u64 = 20;

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
    // The first page decides: someone else's chat, like a missing one, is no chat at all.
    let (summary, first) = match (
        services.store.summary(&id).await,
        services.store.load_range(&id, &owner, page(0)).await,
    ) {
        (Ok(Some(summary)), Ok(Some(first))) => (summary, first),
        (Ok(_), Ok(_)) => return refuse(ChatError::NoSuchChat),
        (Err(e), _) | (_, Err(e)) => return refuse(ChatError::Store(e)),
    };
    let (head, content_type, ext) = match format {
        Format::Markdown => (
            markdown_head(&summary, services.system_prompt.as_deref()),
            "text/markdown; charset=utf-8",
            "md",
        ),
        Format::Json => {
            let session = serde_json::to_string_pretty(&summary).unwrap_or_default();
            let prompt =
                serde_json::to_string(&services.system_prompt_of(&summary)).unwrap_or_default();
            (
                format!(
                    "{{\n  \"session\": {},\n  \"system_prompt\": {prompt},\n  \"messages\": [",
                    indent(&session)
                ),
                "application/json",
                "json",
            )
        }
    };
    let disposition = format!(
        "attachment; filename=\"hybrid-chat-{}.{ext}\"",
        slug(&summary.title)
    );
    // Pages are read and written one at a time; the channel's bound holds the reader back
    // while the visitor's connection is slow.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, StoreError>>(2);
    tokio::spawn(write_pages(services, id, owner, format, head, first, tx));
    // Fused: tower-http's compression polls the body again after its end (tower-http #732),
    // and an unfused `unfold` panics there, cutting the download short.
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
    .fuse();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// Messages `[from, from + EXPORT_PAGE)`.
fn page(from: u64) -> MessageRange {
    MessageRange {
        from,
        before: Some(from.saturating_add(EXPORT_PAGE)),
        limit: EXPORT_PAGE as usize,
        ..MessageRange::ALL
    }
}

/// Sends the export in pieces: `head`, each page of messages, the tail. Stops when the
/// visitor goes (the channel closes); a store error mid-way ends the download broken, as a
/// client can tell, rather than short and whole-looking.
async fn write_pages(
    services: Services,
    id: SessionId,
    owner: app::session::OwnerId,
    format: Format,
    head: String,
    first: Vec<StoredMessage>,
    tx: tokio::sync::mpsc::Sender<Result<String, StoreError>>,
) {
    if tx.send(Ok(head)).await.is_err() {
        return;
    }
    let mut messages = first;
    let mut from = 0;
    let mut written = 0usize;
    loop {
        if messages.is_empty() {
            // Sequence numbers have no gaps: an empty page is the end.
            break;
        }
        let mut chunk = String::new();
        for m in &messages {
            match format {
                Format::Markdown => chunk.push_str(&markdown_message(m)),
                Format::Json => {
                    let json = serde_json::to_string_pretty(&json_message(m)).unwrap_or_default();
                    let comma = if written == 0 { "" } else { "," };
                    chunk.push_str(&format!("{comma}\n    {}", indent(&indent(&json))));
                }
            }
            written += 1;
        }
        if tx.send(Ok(chunk)).await.is_err() {
            return;
        }
        from += EXPORT_PAGE;
        messages = match services.store.load_range(&id, &owner, page(from)).await {
            Ok(Some(page)) => page,
            Ok(None) => Vec::new(),
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
    }
    let tail = match format {
        Format::Markdown => String::new(),
        Format::Json if written == 0 => "]\n}\n".to_string(),
        Format::Json => "\n  ]\n}\n".to_string(),
    };
    // Never an empty chunk: on the wire that would read as the end of the body.
    if !tail.is_empty() {
        let _ = tx.send(Ok(tail)).await;
    }
}

/// Pretty JSON nested one level deeper (its strings hold no raw line breaks).
fn indent(json: &str) -> String {
    json.replace('\n', "\n  ")
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
        ..MessageRange::ALL
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

/// The Markdown export's start: the title, what the chat spent, and its system prompt (its own,
/// or the server's `default`). Then [`markdown_message`] for each message.
pub fn markdown_head(summary: &SessionSummary, default: Option<&str>) -> String {
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
    out
}

/// A message as the JSON export has it: as stored, each attached file with its type and link.
fn json_message(m: &StoredMessage) -> serde_json::Value {
    let mut value = serde_json::to_value(m).unwrap_or_default();
    if let Some(files) = value
        .get_mut("attachments")
        .and_then(serde_json::Value::as_array_mut)
    {
        for (file, a) in files.iter_mut().zip(&m.attachments) {
            file["mime_type"] = a.kind.mime().into();
            file["url"] = a.url().into();
        }
    }
    value
}

/// One message of the Markdown export: who said it (a reply's model, latency, tokens and
/// cost), its words, and why a turn has no reply or what the visitor judged.
pub fn markdown_message(m: &StoredMessage) -> String {
    let mut out = String::new();
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
    for f in &m.attachments {
        out.push_str(&format!(
            "- Attached: [{}]({}) ({}, {})\n",
            f.name.replace(['[', ']'], ""),
            f.url(),
            f.kind.mime(),
            app::attachment::size(f.bytes)
        ));
    }
    if !m.attachments.is_empty() {
        out.push('\n');
    }
    // A turn without a reply says why, in the server's words (its error is stored as a code).
    let note = match m.status {
        TurnStatus::Complete => None,
        TurnStatus::Pending => Some("No reply yet.".to_string()),
        TurnStatus::Stopped => Some("Stopped before the reply came.".to_string()),
        TurnStatus::Replaced => Some("Edited: the message after it replaced this one.".to_string()),
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
