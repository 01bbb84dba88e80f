//! The browser's pieces the state needs: random ids, and the address bar. Both are no-ops on the
//! server, which renders the page without them.

#[cfg(feature = "hydrate")]
use leptos::prelude::*;

/// `bytes` random bytes from the browser's CSPRNG, as hex; `None` where there is none.
#[cfg(feature = "hydrate")]
pub(super) fn random_hex(bytes: usize) -> Option<String> {
    let mut buf = vec![0u8; bytes];
    window()
        .crypto()
        .ok()?
        .get_random_values_with_u8_array(&mut buf)
        .ok()?;
    Some(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(not(feature = "hydrate"))]
pub(super) fn random_hex(_bytes: usize) -> Option<String> {
    None
}

/// The browser's clock, Unix ms (0 on the server, whose clock the page is given instead).
pub(super) fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    return web_sys::js_sys::Date::now() as i64;
    #[cfg(not(feature = "hydrate"))]
    0
}

/// Puts `path` in the address bar: a new history entry (`push`) or in place of the current one.
#[cfg(feature = "hydrate")]
pub(super) fn navigate(path: &str, push: bool) {
    let Ok(history) = window().history() else {
        return;
    };
    let here = window().location().pathname().unwrap_or_default();
    if here == path {
        return;
    }
    let state = wasm_bindgen::JsValue::NULL;
    let _ = if push {
        history.push_state_with_url(&state, "", Some(path))
    } else {
        history.replace_state_with_url(&state, "", Some(path))
    };
}

#[cfg(not(feature = "hydrate"))]
pub(super) fn navigate(_path: &str, _push: bool) {}

/// What the message box holds as hydration starts: the draft it was served with, or what the
/// person typed while the wasm was loading. Hydration sets the box from the state, so the state
/// starts from this (else the Edit link's page put the old words back over the edit).
#[cfg(feature = "hydrate")]
pub fn typed_draft() -> Option<String> {
    use wasm_bindgen::JsCast;
    let element = document()
        .query_selector(&format!("#{}", crate::chat::page::MESSAGE_BOX_ID))
        .ok()??;
    // The id is the composer's textarea's (no `instanceof` check: it costs wasm bytes).
    Some(
        element
            .unchecked_into::<web_sys::HtmlTextAreaElement>()
            .value(),
    )
}

/// Puts back the message bodies the page's data leaves out (`conversation::PageMessages`), from
/// the server-rendered HTML, before hydration takes it over: a user message's text, a reply's
/// rendered Markdown.
#[cfg(feature = "hydrate")]
pub fn fill_from_page(messages: &mut [crate::conversation::Message]) {
    use crate::conversation::Role;
    for m in messages.iter_mut() {
        let selector = match m.role {
            Role::User => ".text",
            Role::Model => ".markdown",
        };
        let Ok(Some(body)) =
            document().query_selector(&format!(".transcript [data-seq=\"{}\"] {selector}", m.seq))
        else {
            continue;
        };
        match m.role {
            Role::User => m.text = body.text_content().unwrap_or_default(),
            Role::Model => m.html = Some(body.inner_html()),
        }
    }
}
