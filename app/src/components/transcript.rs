//! The conversation: user messages as text, replies as server-rendered Markdown, each labelled
//! with the model that wrote it, its latency and tokens; compared replies side by side; plus the
//! message in flight and its "working" indicator.

use crate::chat::state::{ChatState, Waiting};
use crate::chat::{chat_from_path, chat_path, CHAT_PAGE};
use crate::components::turn_actions::turn_actions;
use crate::components::verdict::verdict_form;
use crate::components::working::Working;
use crate::conversation::{Message, Role, TurnStatus, Verdict};
use crate::models::ModelId;
use crate::params::decimal;
use leptos::html::Div;
use leptos::prelude::*;

/// A user message, or the reply (or compared replies) that answered it.
#[derive(Clone, Debug, PartialEq)]
enum Block {
    User(Message),
    /// The replies to the user message at the given position, and its verdict on them.
    Replies(u64, Option<Verdict>, Vec<Message>),
}

impl Block {
    /// Sequence and text: two chats both start at seq 0, so the seq alone would let a switch
    /// reuse the other chat's rows. The status: a pending message that completes is redrawn.
    fn key(&self) -> (u64, String, TurnStatus) {
        let first = match self {
            Block::User(m) => Some(m),
            Block::Replies(_, _, r) => r.first(),
        };
        first.map_or((u64::MAX, String::new(), TurnStatus::Complete), |m| {
            (m.seq, m.text.clone(), m.status)
        })
    }
}

/// The last row's key, and the last user message's position.
fn last_rows(blocks: &[Block]) -> (Option<(u64, String, TurnStatus)>, Option<u64>) {
    let last_user = blocks.iter().rev().find_map(|b| match b {
        Block::User(m) => Some(m.seq),
        Block::Replies(..) => None,
    });
    (blocks.last().map(Block::key), last_user)
}

fn blocks(messages: &[Message]) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for m in messages {
        match (m.role, out.last_mut()) {
            (Role::User, _) => out.push(Block::User(m.clone())),
            (Role::Model, Some(Block::Replies(_, _, r))) => r.push(m.clone()),
            (Role::Model, last) => {
                let (user, verdict) = match last {
                    Some(Block::User(u)) => (u.seq, u.verdict),
                    _ => (m.seq.saturating_sub(1), None),
                };
                out.push(Block::Replies(user, verdict, vec![m.clone()]))
            }
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
            // The last turn's actions and the last message's Edit are drawn with that row only
            // (a row drawn later, with JavaScript, gets its own; the stylesheet hides the earlier
            // ones), so a long chat's page does not carry them once per turn.
            <For each=move || grouped.get() key=|b| b.key() let:block>
                {let (last, last_user) = grouped.with_untracked(|g| last_rows(g));
                let is_last = last == Some(block.key());
                match block {
                    Block::User(m) => {
                        let editable = last_user == Some(m.seq);
                        view! { <UserMessage message=m last=is_last editable/> }.into_any()
                    }
                    Block::Replies(seq, verdict, replies) => {
                        let newest = replies[replies.len() - 1].model;
                        let cut_off = replies.iter().rev().find(|m| m.cut_off).map(|m| m.model);
                        let actions = is_last.then(|| turn_actions(state, seq, newest, true, cut_off));
                        let one = replies.len() == 1;
                        // Both models answered: a pair to judge.
                        let pair = ModelId::ALL.iter().all(|id| replies.iter().any(|m| m.model == *id));
                        let judge = if pair {
                            verdict_form(&state.current.get_untracked().unwrap_or_default(), seq, verdict)
                        } else {
                            String::new()
                        };
                        let replies = replies.into_iter().map(|m| view! { <Reply message=m/> }).collect_view();
                        if one {
                            view! { {replies} {actions} }.into_any()
                        } else {
                            view! {
                                <div class="compare">{replies}</div>
                                <div class="verdict" role="group" aria-label="Your verdict" inner_html=judge></div>
                                {actions}
                            }.into_any()
                        }
                    }
                }}
            </For>
            // This tab's own send, until its reply is in.
            {move || state.pending.with(|p| p.is_some()).then(|| untrack(|| state.waiting()).map(|waiting| view! {
                <article class="message user pending">
                    <p class="text">{waiting.text.clone()}</p>
                </article>
                <Working waiting/>
            }))}
        </div>
    }
}

/// A user message, and where its turn stands when it is not complete: still waiting (after a
/// reload, or in another tab) or not answered, with the reason.
#[component]
fn UserMessage(message: Message, last: bool, editable: bool) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let status = message.status;
    let class = match status {
        TurnStatus::Complete => "message user",
        TurnStatus::Pending => "message user pending",
        TurnStatus::Failed | TurnStatus::Stopped => "message user failed",
        TurnStatus::Replaced => "message user replaced",
    };
    let note = match status {
        TurnStatus::Failed => message.error.as_ref().map(|e| format!("Not answered: {e}")),
        TurnStatus::Stopped => Some("Stopped before the reply came.".to_string()),
        // Asked of both, one answered.
        TurnStatus::Complete => message
            .error
            .as_ref()
            .map(|e| format!("Only one model answered. {e}")),
        TurnStatus::Replaced => Some("Edited: the message after it replaced this one.".into()),
        TurnStatus::Pending => None,
    };
    // The last message can be edited and sent again (shown on the last one only, by the
    // stylesheet): a link to the chat with its words in the message box. A plain link with
    // JavaScript too: the page it loads is the editing state, and the bundle stays smaller.
    let edit = match status {
        TurnStatus::Pending => String::new(),
        _ if !editable => String::new(),
        _ => format!(
            r#"<a href="{}?edit={}">Edit</a>"#,
            chat_path(&state.current.get_untracked().unwrap_or_default()),
            message.seq
        ),
    };
    view! {
        <article class=class data-seq=message.seq data-status=(!status.is_complete()).then_some(status.as_str())>
            <p class="text">{message.text.clone()}</p>
            {(!message.files.is_empty()).then(|| view! { <div class="attached" inner_html=message.files.clone()></div> })}
            {note.map(|n| view! { <p class="turn-note">{n}</p> })}

        </article>
        <p class="edit" inner_html=edit></p>
        // A turn without a reply (failed or stopped) can be asked again.
        {(last && matches!(status, TurnStatus::Failed | TurnStatus::Stopped)).then(|| {
            turn_actions(state, message.seq, message.model, false, None)
        })}
        {(status == TurnStatus::Pending).then(|| view! {
            <Working waiting=Waiting::followed(&message, state.current.get_untracked().unwrap_or_default(), state.now.get_untracked())/>
        })}
    }
}

#[component]
fn Reply(message: Message) -> impl IntoView {
    let mut meta = Vec::new();
    if let Some(ms) = message.latency_ms {
        meta.push(format!("{} s", decimal(ms as f64 / 1000.0, 1)));
    }
    if let Some(tokens) = message.total_tokens {
        meta.push(format!("{tokens} tokens"));
    }
    if let Some(tokens) = message.thinking_tokens {
        meta.push(format!("{tokens} thinking tokens"));
    }
    if let Some(cost) = message.cost {
        meta.push(cost);
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
