//! The HTML document around the app.

use crate::chat::ChatPage;
use leptos::prelude::*;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <title>"hybrid-chat"</title>
                <link rel="stylesheet" href="/pkg/hybrid-chat.css"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options/>
            </head>
            <body>
                <ChatPage/>
            </body>
        </html>
    }
}

/// Scripts run only from our origin or with this response's nonce (Leptos puts it on its
/// hydration scripts); `wasm-unsafe-eval` lets the wasm compile; nothing may frame the page.
/// Reply Markdown can hold images: only our own and data: URLs load, so a reply cannot make the
/// browser call out to a tracker.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use http::header::CONTENT_SECURITY_POLICY;
    use http::HeaderValue;
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}
