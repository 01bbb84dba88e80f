//! The conversation: user messages as text, replies as server-rendered Markdown, each labelled
//! with the model that wrote it, its latency and tokens; compared replies side by side; plus the
//! message in flight and its "working" indicator.

use crate::chat::state::ChatState;
use crate::chat::{chat_from_path, CHAT_PAGE};
use crate::conversation::{Message, Role, TurnStatus};
use leptos::html::Div;
use leptos::prelude::*;

/// A user message, or the reply (or compared replies) that answered it.
#[derive(Clone, Debug, PartialEq)]
enum Block {
    User(Message),
    Replies(Vec<Message>),
}

impl Block {
    /// Sequence and text: two chats both start at seq 0, so the seq alone would let a switch
    /// reuse the other chat's rows. The status: a pending message that completes is redrawn.
    fn key(&self) -> (u64, String, TurnStatus) {
        let first = match self {
            Block::User(m) => Some(m),
            Block::Replies(r) => r.first(),
        };
        first.map_or((u64::MAX, String::new(), TurnStatus::Complete), |m| {
            (m.seq, m.text.clone(), m.status)
        })
    }
}

fn blocks(messages: &[Message]) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for m in messages {
        match (m.role, out.last_mut()) {
            (Role::User, _) => out.push(Block::User(m.clone())),
            (Role::Model, Some(Block::Replies(r))) => r.push(m.clone()),
            (Role::Model, _) => out.push(Block::Replies(vec![m.clone()])),
        }
    }
    out
}

#[component]
pub fn Transcript() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let scroller = NodeRef::<Div>::new();
    let grouped = Memo::new(move |_| state.messages.with(|m| blocks(m)));

    // Keep the newest message in view when one arrives. (Earlier ones put on top do not move
    // the reader: see `ChatState::show_earlier`.)
    let newest = Memo::new(move |_| state.messages.with(|m| m.last().map(|m| m.seq)));
    Effect::new(move |_| {
        newest.track();
        state.pending.with(|p| p.is_some());
        // After the frame's layout: the new rows are drawn by then.
        request_animation_frame(move || {
            if let Some(el) = scroller.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    });

    view! {
        // Not a live region: opening a chat must not read it all aloud. New replies are
        // announced once by the page's announcer.
        <div class="transcript" node_ref=scroller>
            // Always in the page and hidden by CSS once the chat has a message: drawn once, it is
            // not painted again at hydration (it is a new chat's largest text, its LCP).
            <p class="empty">"Say hello. Pick a model in the settings; you can switch at any message."</p>
            // A link, so it works without JavaScript: the chat from a page earlier on.
            {move || state.first_shown().zip(state.current.get()).map(|(first, chat)| view! {
                <a
                    class="earlier"
                    href=chat_from_path(&chat, first.saturating_sub(CHAT_PAGE as u64))
                    on:click=move |ev| {
                        ev.prevent_default();
                        state.show_earlier();
                    }
                >
                    "Show earlier messages"
                </a>
            })}
            <For each=move || grouped.get() key=|b| b.key() let:block>
                {match block {
                    Block::User(m) => view! { <UserMessage message=m/> }.into_any(),
                    Block::Replies(replies) if replies.len() == 1 => replies.into_iter().map(|m| view! { <Reply message=m/> }).collect_view().into_any(),
                    Block::Replies(replies) => view! {
                        <div class="compare">
                            {replies.into_iter().map(|m| view! { <Reply message=m/> }).collect_view()}
                        </div>
                    }.into_any(),
                }}
            </For>
            {move || state.pending.get().map(|out| view! {
                <article class="message user pending">
                    <p class="text">{out.text}</p>
                </article>
                <div class="working">
                    <span class="dots" aria-hidden="true"></span>
                    {out.target.thinking()}
                </div>
            })}
        </div>
    }
}

/// A user message, and where its turn stands when it is not complete: still waiting (after a
/// reload, or in another tab) or not answered, with the reason.
#[component]
fn UserMessage(message: Message) -> impl IntoView {
    let status = message.status;
    let class = match status {
        TurnStatus::Complete => "message user",
        TurnStatus::Pending => "message user pending",
        TurnStatus::Failed | TurnStatus::Stopped => "message user failed",
    };
    let note = match status {
        TurnStatus::Failed => message.error.as_ref().map(|e| format!("Not answered: {e}")),
        TurnStatus::Stopped => Some("Stopped before the reply came.".to_string()),
        _ => None,
    };
    view! {
        <article class=class data-seq=message.seq data-status=(!status.is_complete()).then_some(status.as_str())>
            <p class="text">{message.text}</p>
            {note.map(|n| view! { <p class="turn-note">{n}</p> })}
        </article>
        {(status == TurnStatus::Pending).then(|| view! {
            <div class="working">
                <span class="dots" aria-hidden="true"></span>
                "Waiting for the reply…"
            </div>
            // Without JavaScript nothing polls: the page reloads itself until the reply is in.
            <noscript inner_html=r#"<meta http-equiv="refresh" content="2">"#></noscript>
        })}
    }
}

#[component]
fn Reply(message: Message) -> impl IntoView {
    let mut meta = Vec::new();
    if let Some(ms) = message.latency_ms {
        meta.push(format!("{:.1} s", ms as f64 / 1000.0));
    }
    if let Some(tokens) = message.total_tokens {
        meta.push(format!("{tokens} tokens"));
    }
    view! {
        <article class="message model" data-seq=message.seq data-model=message.model.as_str()>
            <header class="author">
                <h3>{message.model.label()}</h3>
                <span class="meta">{meta.join(" · ")}</span>
            </header>
            <div class="markdown" inner_html=message.html.unwrap_or_default()></div>
            {message.cut_off.then(|| view! {
                <p class="turn-note cut-off">"Cut off: the reply reached the Max tokens limit."</p>
            })}
        </article>
    }
}
