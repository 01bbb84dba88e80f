//! One turn, in two phases. Accept: validate, find the chat (the one the request names, or a
//! new one), pass the limits, and store the user's message as pending, which also reads the
//! history. Then the rest runs in a task of its own (`job`), which finishes even if the client
//! leaves. A send repeated with the same turn id gets that turn back instead of a second model
//! call.

use super::job::Job;
use super::{now_ms, Request};
use crate::chat::chat_path;
use crate::conversation::{Begun, StoredMessage, TurnId, TurnRequest, TurnStatus, TurnView};
use crate::errors::ChatError;
use crate::models::ModelId;
use crate::params::{SendRequest, Thinking};
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
    /// Gemini's thinking (`off`, `auto` or a budget); absent: the server's default.
    pub thinking: Option<String>,
    /// A pending turn of this chat that this one replaces ("Ask Gemini instead"): it is
    /// stopped first.
    pub replaces: Option<String>,
    /// The chat's last user message (its position), edited: this turn replaces it and its
    /// replies, which stay in the chat marked as edited.
    pub edits: Option<String>,
    /// Files attached to the message: their ids, comma-separated (see `files.rs`).
    pub attachments: Option<String>,
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
    let mut parsed = SendRequest::parse(
        &form.message,
        given(&form.attachments).is_some(),
        &model,
        &form.temperature,
        &form.top_p,
        &form.max_tokens,
    )?;
    // Stored with the turn, whichever model answers: the chat's page shows it as its setting.
    parsed.params.thinking = Some(match given(&form.thinking) {
        Some(t) => Thinking::parse(t)?,
        None => request.services.thinking,
    });
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
    let backends = super::job::backends(services, &targets)?;
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

    let estimate = super::budget::estimate(
        services,
        parsed.text.chars().count(),
        &parsed.params,
        &targets,
    );
    let budget = super::job::admit(request, &targets, estimate).await?;
    if create {
        super::job::admit_new_chat(request).await?;
    }
    if let (Some(replaced), false) = (given(&form.replaces), create) {
        let replaced = TurnId::parse(replaced).ok_or_else(malformed)?;
        super::stop::stop_turn(services, &session, &owner, &replaced).await?;
    }
    let edits = match (given(&form.edits), create) {
        (Some(seq), false) => {
            let seq = seq.parse::<u64>().map_err(|_| malformed())?;
            super::edit::check(request, &session, &owner, seq).await?;
            Some(seq)
        }
        _ => None,
    };
    let attachments = super::files::named(
        request,
        given(&form.attachments),
        &owner,
        &session,
        &backends,
    )
    .await?;
    let turn = TurnRequest {
        turn: turn_id,
        text: parsed.text,
        model: targets[0],
        params: parsed.params,
        at_ms: now_ms(),
        attachments,
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
    let (mut history, user, summary) = match begun {
        Begun::Accepted {
            history,
            user,
            session,
        } => (history, user, session),
        Begun::Existing(messages) => return existing(request, &session, &owner, messages).await,
    };
    if let Some(seq) = edits {
        super::edit::replace(services, &session, seq, &mut history).await;
    }

    // The model calls, the store write and the budget charge run in a task of their own: if the
    // visitor reloads, closes the tab or a proxy gives up, the request is dropped but the turn
    // still completes and is stored (and graceful shutdown waits for it, see `TurnTasks`).
    let job = Job {
        services: services.clone(),
        backends,
        history,
        user: user.clone(),
        session: session.clone(),
        owner,
        budget,
        system: services.system_prompt_of(&summary),
        running: services.tasks.start(session.as_str(), turn.turn.as_str()),
    };
    job.start(request, summary).await
}

/// A send whose turn id is already in the chat (a retry after a lost response): its stored
/// outcome, waited for if it is still pending. No model is asked again.
pub(super) async fn existing(
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
        TurnStatus::Complete | TurnStatus::Replaced => {
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
        TurnStatus::Stopped => Err(ChatError::Stopped),
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
