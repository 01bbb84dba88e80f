//! The conversation: user messages as text, replies as server-rendered Markdown, each labelled
//! with the model that wrote it; plus the message in flight and its "working" indicator.

use crate::chat_page::ChatState;
use crate::conversation::{Message, Role};
use leptos::html::Div;
use leptos::prelude::*;

#[component]
pub fn Transcript() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let scroller = NodeRef::<Div>::new();

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
            <For each=move || state.messages.get() key=|m| m.seq let:message>
                <MessageView message/>
            </For>
            {move || state.pending.get().map(|out| view! {
                <article class="message user pending">
                    <p class="text">{out.text}</p>
                </article>
                <div class="working" role="status">
                    <span class="dots" aria-hidden="true"></span>
                    {format!("{} is thinking…", out.model.short_name())}
                </div>
            })}
        </div>
    }
}

#[component]
fn MessageView(message: Message) -> impl IntoView {
    match message.role {
        Role::User => view! {
            <article class="message user" data-seq=message.seq>
                <p class="text">{message.text}</p>
            </article>
        }
        .into_any(),
        Role::Model => view! {
            <article class="message model" data-seq=message.seq data-model=message.model.as_str()>
                <header class="author">{message.model.label()}</header>
                <div class="markdown" inner_html=message.html.unwrap_or_default()></div>
            </article>
        }
        .into_any(),
    }
}
