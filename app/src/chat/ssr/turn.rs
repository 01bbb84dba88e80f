//! One turn, in two phases. Accept: validate, find the chat (the one the request names, or a
//! new one), pass the limits, and store the user's message as pending, which also reads the
//! history. Then the model calls, the store write of the replies (or of the failure) and the
//! budget charge run in a task of their own, which finishes even if the client leaves. A send
//! repeated with the same turn id gets that turn back instead of a second model call.

use super::{now_ms, to_view, Request};
use crate::chat::chat_path;
use crate::conversation::{
    Begun, NewReply, NoReplies, Replies, StoredMessage, TurnId, TurnOutcome, TurnRequest,
    TurnStatus, TurnView,
};
use crate::errors::{ChatError, ModelError};
use crate::models::ModelId;
use crate::params::SendRequest;
use crate::prompt::prompt_for;
use crate::session::{self, OwnerId, SessionId};
use std::time::Instant;

/// What a send or compare form carries. `model: None` asks both models.
pub struct Form {
    /// The chat to send in; `None` starts one: at `start` if the page chose its id (so it can
    /// show the chat's address before the reply), else at an id derived from the turn.
    pub chat: Option<String>,
    pub start: Option<String>,
    /// The client's turn id (idempotency key); a form without one gets a fresh one.
    pub turn: Option<String>,
    pub message: String,
    pub model: Option<String>,
    pub temperature: String,
    pub top_p: String,
    pub max_tokens: String,
}

fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|c| !c.is_empty())
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
    // A model the server cannot use at all (no backend, no credentials) is refused here, before
    // the turn is accepted: it is a setting, not a failed turn to keep.
    let backends = targets
        .iter()
        .map(|id| {
            services
                .model(*id)
                .filter(|m| m.availability().selectable())
                .ok_or(ModelError::NotConfigured(*id))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let malformed = || ChatError::Transport(crate::errors::Transport::Malformed);
    let turn_id = match given(&form.turn) {
        Some(t) => TurnId::parse(t).ok_or_else(malformed)?,
        None => TurnId::generate(),
    };

    // The chat the request names, or a new one. Never a cookie: the tab's own chat decides.
    let (session, owner, create) = match (given(&form.chat), given(&form.start)) {
        (Some(id), _) => {
            let owner = request.owner().ok_or(ChatError::NoSuchChat)?;
            (request.parse_chat(id)?, owner, false)
        }
        (None, start) => {
            // Issued by a page load only; a request without one did not come from our page.
            let owner = request.owner().ok_or(ChatError::NoOwner)?;
            let id = match start {
                Some(id) => SessionId::parse(id).ok_or_else(malformed)?,
                None => services.owner_key.chat_for_turn(&owner, &turn_id),
            };
            (id, owner, true)
        }
    };

    // Limits count against who sent the turn and from where, before anything is spent on it.
    let visitors = session::visitor_keys(&request.parts, &services.owner_key);
    if let Some(limits) = &services.limits {
        for visitor in &visitors {
            limits.admit(visitor).await?;
        }
    }
    let turn = TurnRequest {
        turn: turn_id,
        text: parsed.text,
        model: targets[0],
        params: parsed.params,
        at_ms: now_ms(),
    };
    let begun = services
        .store
        .begin_turn(
            &session,
            &owner,
            &turn,
            create,
            request.stale_before_ms(),
            services.history.messages,
        )
        .await?;
    let (history, user, summary) = match begun {
        Begun::Accepted {
            history,
            user,
            session,
        } => (history, user, session),
        Begun::Existing(messages) => return existing(request, &session, &owner, messages).await,
    };

    // The model calls, the store write and the budget charge run in a task of their own: if the
    // visitor reloads, closes the tab or a proxy gives up, the request is dropped but the turn
    // still completes and is stored (and graceful shutdown waits for it, see `TurnTasks`).
    let job = Job {
        services: services.clone(),
        backends,
        history,
        user: user.clone(),
        session: session.clone(),
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
    request.redirect_page(&chat_path(session.as_str()));
    if request.wants_page() {
        // A plain form post goes straight to the chat, which shows the message pending and
        // refreshes itself until the reply is there.
        return Ok(TurnView {
            user: to_view(user, i64::MIN),
            replies: Vec::new(),
            session: summary,
        });
    }
    let appended = result.await.map_err(|_| ChatError::NotSaved)??;
    let mut stored = appended.messages.into_iter().map(|m| to_view(m, i64::MIN));
    let user = stored.next().ok_or(ChatError::NotSaved)?;
    Ok(TurnView {
        user,
        replies: stored.collect(),
        session: appended.session,
    })
}

/// A send whose turn id is already in the chat (a retry after a lost response): its stored
/// outcome, waited for if it is still pending. No model is asked again.
async fn existing(
    request: &Request,
    session: &SessionId,
    owner: &OwnerId,
    mut messages: Vec<StoredMessage>,
) -> Result<TurnView, ChatError> {
    request.redirect_page(&chat_path(session.as_str()));
    let turn = messages
        .first()
        .and_then(|m| m.turn.as_deref())
        .and_then(TurnId::parse)
        .ok_or(ChatError::NotSaved)?;
    let services = &request.services;
    let deadline = Instant::now() + services.turn_deadline;
    while messages
        .first()
        .is_some_and(|m| m.status == TurnStatus::Pending)
        && !request.wants_page()
        && Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        messages = services
            .store
            .load_turn(session, owner, &turn)
            .await?
            .ok_or(ChatError::NoSuchChat)?;
    }
    match settled(request, session, messages.clone()).await? {
        Some(view) => Ok(view),
        None => {
            // Still pending, for a plain form post: it goes to the chat, which refreshes itself.
            let summary = services
                .store
                .summary(session)
                .await?
                .ok_or(ChatError::NoSuchChat)?;
            let user = request
                .views(messages)
                .into_iter()
                .next()
                .ok_or(ChatError::NotSaved)?;
            Ok(TurnView {
                user,
                replies: Vec::new(),
                session: summary,
            })
        }
    }
}

/// A stored turn as its sender sees it: the view when it completed, its error when it failed,
/// `None` while it is still pending.
pub async fn settled(
    request: &Request,
    session: &SessionId,
    messages: Vec<StoredMessage>,
) -> Result<Option<TurnView>, ChatError> {
    let mut shown = request.views(messages).into_iter();
    let user = shown.next().ok_or(ChatError::NotSaved)?;
    match user.status {
        TurnStatus::Pending => Ok(None),
        TurnStatus::Complete => {
            let summary = request
                .services
                .store
                .summary(session)
                .await?
                .ok_or(ChatError::NoSuchChat)?;
            Ok(Some(TurnView {
                user,
                replies: shown.collect(),
                session: summary,
            }))
        }
        TurnStatus::Failed => Err(user.error.unwrap_or(ChatError::NotSaved)),
        TurnStatus::Stopped => Err(ChatError::Interrupted),
    }
}

/// Where a turn stands, for a page that shows it pending (after a reload): `None` while it is,
/// the turn once it completed, or the error it failed with.
pub async fn status(
    request: &Request,
    chat: &str,
    turn: &str,
) -> Result<Option<TurnView>, ChatError> {
    let owner = request.owner().ok_or(ChatError::NoSuchChat)?;
    let session = request.parse_chat(chat)?;
    let turn = TurnId::parse(turn).ok_or(ChatError::NoSuchChat)?;
    let messages = request
        .services
        .store
        .load_turn(&session, &owner, &turn)
        .await?
        .ok_or(ChatError::NoSuchChat)?;
    settled(request, &session, messages).await
}

/// Everything a turn needs once it is accepted, owned, so it can outlive the request.
struct Job {
    services: crate::services::Services,
    backends: Vec<std::sync::Arc<dyn crate::services::ChatModel>>,
    history: Vec<StoredMessage>,
    /// The user's message as stored, pending.
    user: StoredMessage,
    session: SessionId,
    visitors: Vec<String>,
}

impl Job {
    async fn run(self) -> Result<crate::conversation::AppendedTurn, ChatError> {
        let Job {
            services,
            backends,
            history,
            user,
            session,
            visitors,
        } = self;
        let params = user.params;
        let calls = backends.iter().map(|backend| {
            let prompt = prompt_for(&history, &user.text, backend.id(), services.history);
            async move {
                let model = backend.id();
                let started = Instant::now();
                let reply = backend.complete(&prompt, &params).await;
                let latency_ms = started.elapsed().as_millis() as u64;
                let reply = reply.inspect_err(|e| {
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
        // One call per target, and a turn has at least one target.
        let replies = futures::future::join_all(calls)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(ChatError::from)
            .and_then(|all| Replies::try_from(all).map_err(|NoReplies| ChatError::Internal));
        // The turn is completed in the store either way: with its replies, or marked failed with
        // the error's code, so whoever opens the chat next sees what happened to it.
        let (outcome, failure) = match replies {
            Ok(replies) => (TurnOutcome::Answered(replies), None),
            Err(e) => (
                TurnOutcome::Failed(crate::error_codes::to_code(&e)),
                Some(e),
            ),
        };
        // A chat deleted while its turn was with the model stays deleted: the store refuses to
        // complete a turn in a chat that no longer exists, inside its own transaction.
        let finished = services.store.finish_turn(&session, &user, &outcome).await;
        if let (Err(e), TurnOutcome::Answered(_)) = (&finished, &outcome) {
            if *e != crate::errors::StoreError::NotFound {
                // The replies could not be stored: say so in the chat if the store lets us, so
                // the message does not wait until its deadline to show as failed.
                tracing::error!(error = ?e, "turn not saved");
                let not_saved =
                    TurnOutcome::Failed(crate::error_codes::to_code(&ChatError::NotSaved));
                let _ = services
                    .store
                    .finish_turn(&session, &user, &not_saved)
                    .await;
            }
        }
        let finished = finished.map_err(|e| match ChatError::from(e) {
            ChatError::Store(_) => ChatError::NotSaved,
            deleted => deleted,
        });
        if let Some(e) = failure {
            return Err(e);
        }
        let appended = finished?;
        if let (Some(limits), TurnOutcome::Answered(replies)) = (&services.limits, &outcome) {
            let tokens = turn_tokens(&user.text, replies);
            for visitor in &visitors {
                limits.charge(visitor, tokens).await;
            }
        }
        Ok(appended)
    }
}

/// Tokens a turn cost: what the models reported, or about one per four characters of prompt
/// and reply when a backend reports nothing.
fn turn_tokens(user_text: &str, replies: &[NewReply]) -> u64 {
    replies
        .iter()
        .map(|r| match r.usage {
            Some(u) => u64::from(u.total_tokens),
            None => ((user_text.len() + r.text.len()) / 4) as u64,
        })
        .sum()
}
