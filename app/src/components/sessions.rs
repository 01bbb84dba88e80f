//! The visitor's past chats, newest first: open one (its address, `/c/{id}`), rename it, delete
//! it (after a confirmation), or download it as Markdown or JSON. Every control is a plain link
//! or form first, so it works without JavaScript; with JavaScript the page updates in place.

use crate::chat::api::{DeleteSession, RenameSession};
use crate::chat::chat_path;
use crate::chat::page::{close_drawer, CHATS_DRAWER_ID};
use crate::chat::state::ChatState;
use crate::conversation::SessionSummary;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// `YYYY-MM-DD` (UTC) for a Unix time in milliseconds, the same on server and browser.
pub fn date(ms: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let days = ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[component]
pub fn Sessions() -> impl IntoView {
    let state = expect_context::<ChatState>();
    // Paging and search are plain links and a GET form on the page's own address: they work
    // the same with JavaScript off.
    let here = move || {
        state
            .current
            .get()
            .map_or("/".to_string(), |id| chat_path(&id))
    };
    let search = state.search.get_value();
    let searching = search.is_some();
    let empty_hint = if searching {
        "No chat title matches."
    } else {
        "Chats you start appear here."
    };
    view! {
        <nav class="sessions" aria-label="Your chats">
            <h2>"Your chats"</h2>
            <form class="search" method="get" action=here role="search">
                <input type="search" name="q" aria-label="Search your chats by title"
                    placeholder="Search titles" maxlength="100" value=search.clone()/>
                <button type="submit" class="secondary">"Search"</button>
            </form>
            {searching.then(|| view! {
                <p class="hint">"Chats whose title matches “" {search.clone()} "”. "
                    <a href=here>"Show all"</a>
                </p>
            })}
            <Show when=move || state.sessions.with(|s| s.is_empty())>
                <p class="hint">{empty_hint}</p>
            </Show>
            <ul>
                <For each=move || state.sessions.get() key=|s| (s.id.clone(), s.title.clone(), s.updated_at_ms) let:summary>
                    <SessionEntry summary/>
                </For>
            </ul>
            <p class="paging">
                {state.paged.get_value().then(|| view! {
                    <a href=here rel="first">"Newest chats"</a>
                })}
                " "
                {state.more_before.get_value().map(|before| view! {
                    <a href=move || format!("{}?before={before}", here()) rel="next">"More chats"</a>
                })}
            </p>
        </nav>
    }
}

#[component]
fn SessionEntry(summary: SessionSummary) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let id = summary.id.clone();
    let is_current = {
        let id = id.clone();
        move || state.current.with(|c| c.as_deref() == Some(id.as_str()))
    };
    let is_current_class = is_current.clone();
    let meta = format!(
        "{} · {} · {} messages",
        date(summary.updated_at_ms),
        summary.last_model.short_name(),
        summary.message_count
    );
    let (open_id, rename_id, delete_id) = (id.clone(), id.clone(), id.clone());
    let title = RwSignal::new(summary.title.clone());
    view! {
        <li class="session" class:current=is_current_class data-session=id.clone()>
            <a class="session-title" href=chat_path(&id) title=summary.title.clone()
                aria-current=move || is_current().then_some("page")
                on:click=move |ev| {
                    ev.prevent_default();
                    state.open(open_id.clone(), true);
                    close_drawer(CHATS_DRAWER_ID);
                }>{summary.title.clone()}</a>
            <p class="session-meta">{meta}</p>
            <details class="manage">
                <summary>"Manage"</summary>
                <form class="rename" method="post" action=RenameSession::PATH on:submit=move |ev| {
                    ev.prevent_default();
                    state.rename(rename_id.clone(), title.get_untracked());
                }>
                    <input type="hidden" name="id" value=id.clone()/>
                    <input type="text" name="title" aria-label="New name" maxlength=crate::conversation::MAX_TITLE_CHARS.to_string() required
                        prop:value=move || title.get()
                        on:input=move |ev| title.set(event_target_value(&ev))/>
                    <button type="submit" class="secondary">"Rename"</button>
                </form>
                <p class="export">
                    "Download: "
                    <a href=format!("/export/{id}.md") download>"Markdown"</a>
                    " · "
                    <a href=format!("/export/{id}.json") download>"JSON"</a>
                </p>
                // The <details> is the confirmation without JavaScript; with it, a dialog asks.
                <form method="post" action=DeleteSession::PATH on:submit=move |ev| {
                    ev.prevent_default();
                    if window().confirm_with_message("Delete this chat for good?").unwrap_or(false) {
                        state.delete(delete_id.clone());
                    }
                }>
                    <input type="hidden" name="id" value=id.clone()/>
                    <button type="submit" class="danger">"Delete this chat"</button>
                </form>
            </details>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::date;

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_795_948_800_000), "2026-11-29");
        assert_eq!(date(951_782_400_000), "2000-02-29");
    }
}
