//! The conversation: user messages as text, replies as server-rendered Markdown, each labelled
//! with the model that wrote it, its latency and tokens; compared replies side by side; plus the
//! message in flight and its "working" indicator.

use crate::chat::state::ChatState;
use crate::conversation::{Message, Role};
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
    /// reuse the other chat's rows.
    fn key(&self) -> (u64, String) {
        let first = match self {
            Block::User(m) => Some(m),
            Block::Replies(r) => r.first(),
        };
        first.map_or((u64::MAX, String::new()), |m| (m.seq, m.text.clone()))
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

    // Keep the newest message in view.
    Effect::new(move |_| {
        state.messages.with(|m| m.len());
        state.pending.with(|p| p.is_some());
        if let Some(el) = scroller.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });

    view! {
        <div class="transcript" node_ref=scroller aria-live="polite">
            <Show when=move || state.messages.with(|m| m.is_empty()) && state.pending.with(|p| p.is_none())>
                <p class="empty">"Say hello. Pick a model on the left; you can switch at any message."</p>
            </Show>
            <For each=move || grouped.get() key=|b| b.key() let:block>
                {match block {
                    Block::User(m) => view! {
                        <article class="message user" data-seq=m.seq>
                            <p class="text">{m.text}</p>
                        </article>
                    }.into_any(),
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
                <div class="working" role="status">
                    <span class="dots" aria-hidden="true"></span>
                    {out.target.thinking()}
                </div>
            })}
        </div>
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
                {message.model.label()}
                <span class="meta">{meta.join(" · ")}</span>
            </header>
            <div class="markdown" inner_html=message.html.unwrap_or_default()></div>
        </article>
    }
}
