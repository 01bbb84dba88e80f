//! One turn: validate, find the chat (the one named in the request, or a new one), pass the
//! limits, read the history from the store, ask each target model (at once when there are
//! several), and store the message with every reply in one write. Any failure stores nothing.

use super::{now_ms, to_view, Request};
use crate::chat::chat_path;
use crate::conversation::{NewReply, NewTurn, Role, TurnView};
use crate::errors::{ChatError, ModelError};
use crate::models::ModelId;
use crate::params::SendRequest;
use crate::services::{prompt_history, PromptMessage};
use crate::session::{self, SessionId};
use std::time::Instant;

/// What a send or compare form carries. `model: None` asks both models.
pub struct Form {
    pub chat: Option<String>,
    pub message: String,
    pub model: Option<String>,
    pub temperature: String,
    pub top_p: String,
    pub max_tokens: String,
}

pub async fn send(request: &Request, form: Form) -> Result<TurnView, ChatError> {
    let mut settings = session::settings_from(&request.parts);
    let model = form
        .model
        .clone()
        .unwrap_or_else(|| settings.model.as_str().to_string());
    let parsed = SendRequest::parse(
        &form.message,
        &model,
        &form.temperature,
        &form.top_p,
        &form.max_tokens,
    )?;
    let targets: Vec<ModelId> = match form.model {
        Some(_) => {
            settings.model = parsed.model;
            vec![parsed.model]
        }
        None => ModelId::ALL.to_vec(),
    };
    settings.params = parsed.params;
    let services = &request.services;
    request.set_header(session::settings_cookie(&settings, request.secure()));
    let backends = targets
        .iter()
        .map(|id| services.model(*id).ok_or(ModelError::NotConfigured(*id)))
        .collect::<Result<Vec<_>, _>>()?;

    // The chat the request names, or a new one. Never a cookie: the tab's own chat decides.
    let chat = form
        .chat
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let (session, owner, history, is_new) = match chat {
        Some(id) => {
            let (id, owner, history) = request.owned_chat(id).await?;
            (id, owner, history, false)
        }
        None => {
            // Issued by a page load only; a request without one did not come from our page.
            let owner = request.owner().ok_or(ChatError::NoOwner)?;
            (SessionId::generate(), owner, Vec::new(), true)
        }
    };

    // Limits count against who sent the turn and from where, before anything is spent on it.
    let visitors = session::visitor_keys(&request.parts, &services.owner_key);
    if let Some(limits) = &services.limits {
        for visitor in &visitors {
            limits.admit(visitor).await?;
        }
    }
    // The model call, the store write and the budget charge run in a task of their own: if the
    // visitor reloads, closes the tab or a proxy gives up, the request is dropped but the turn
    // still completes and is stored (and graceful shutdown waits for it, see `TurnTasks`).
    let job = Job {
        services: services.clone(),
        backends,
        history,
        text: parsed.text,
        params: parsed.params,
        session: session.clone(),
        owner,
        is_new,
        visitors,
    };
    let (done, result) = futures::channel::oneshot::channel();
    let running = services.tasks.start();
    // The task keeps the request's span, so its log lines still carry the request id.
    let span = tracing::Span::current();
    leptos::task::spawn(tracing::Instrument::instrument(
        async move {
            let _running = running;
            let _ = done.send(job.run().await);
        },
        span,
    ));
    let appended = result.await.map_err(|_| ChatError::NotSaved)??;
    request.redirect_page(&chat_path(session.as_str()));
    let mut stored = appended.messages.into_iter().map(to_view);
    let user = stored.next().ok_or(ChatError::NotSaved)?;
    Ok(TurnView {
        user,
        replies: stored.collect(),
        session: appended.session,
    })
}

/// Everything a turn needs once it is accepted, owned, so it can outlive the request.
struct Job {
    services: crate::services::Services,
    backends: Vec<std::sync::Arc<dyn crate::services::ChatModel>>,
    history: Vec<crate::conversation::StoredMessage>,
    text: String,
    params: crate::params::GenParams,
    session: SessionId,
    owner: crate::session::OwnerId,
    is_new: bool,
    visitors: Vec<String>,
}

impl Job {
    async fn run(self) -> Result<crate::conversation::AppendedTurn, ChatError> {
        let Job {
            services,
            backends,
            history,
            text,
            params,
            session,
            owner,
            is_new,
            visitors,
        } = self;
        let user_at_ms = now_ms();
        let calls = backends.iter().map(|backend| {
            let mut prompt = prompt_history(&history, backend.id());
            prompt.push(PromptMessage {
                role: Role::User,
                text: text.clone(),
            });
            async move {
                let model = backend.id();
                let started = Instant::now();
                let reply = backend.complete(&prompt, &params).await;
                let latency_ms = started.elapsed().as_millis() as u64;
                let reply = match reply {
                    Ok(r) if r.text.trim().is_empty() => Err(ModelError::Empty(model)),
                    other => other,
                }
                .inspect_err(|e| {
                    tracing::warn!(%model, latency_ms, error = ?e, "model call failed");
                })?;
                tracing::info!(
                    %model,
                    latency_ms,
                    finish_reason = reply.finish_reason.as_deref().unwrap_or(""),
                    "turn answered"
                );
                Ok::<_, ModelError>(NewReply {
                    model,
                    text: reply.text,
                    at_ms: now_ms(),
                    latency_ms,
                    usage: reply.usage,
                    finish_reason: reply.finish_reason,
                })
            }
        });
        let replies = futures::future::join_all(calls)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;

        let turn = NewTurn {
            params,
            user_text: text,
            user_at_ms,
            replies,
        };
        // A chat deleted while its turn was with the model stays deleted: the store refuses to
        // append to a chat that no longer exists, inside its own transaction.
        let appended = services
            .store
            .append_turn(&session, &owner, &turn, is_new)
            .await
            .map_err(|e| match ChatError::from(e) {
                ChatError::Store(e) => {
                    tracing::error!(error = ?e, "turn not saved");
                    ChatError::NotSaved
                }
                deleted => deleted,
            })?;
        if let Some(limits) = &services.limits {
            let tokens = turn_tokens(&turn);
            for visitor in &visitors {
                limits.charge(visitor, tokens).await;
            }
        }
        Ok(appended)
    }
}

/// Tokens a turn cost: what the models reported, or about one per four characters of prompt
/// and reply when a backend reports nothing.
fn turn_tokens(turn: &NewTurn) -> u64 {
    turn.replies
        .iter()
        .map(|r| match r.usage {
            Some(u) => u64::from(u.total_tokens),
            None => ((turn.user_text.len() + r.text.len()) / 4) as u64,
        })
        .sum()
}
