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
                // `viewport-fit=cover`: the page pads itself by the safe-area insets (a phone's
                // notch and home bar), so the composer stays reachable.
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="description" content="Chat with Gemma 3, self-hosted on vLLM in GKE, and Gemini 2.5 Flash on Vertex AI, in one conversation: compare their answers side by side, keep every chat."/>
                <meta name="theme-color" content="#f6f7f9" media="(prefers-color-scheme: light)"/>
                <meta name="theme-color" content="#15171a" media="(prefers-color-scheme: dark)"/>
                <title>"hybrid-chat"</title>
                <link rel="stylesheet" href="/pkg/hybrid-chat.css"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // Copy buttons on replies and code blocks: plain JavaScript, not the wasm.
                <script type="module" src="/copy.js"></script>
                // The composer's files with JavaScript (see `components::attach`).
                <script type="module" src="/attach.js"></script>
                <Hydration options/>
            </head>
            <body>
                <ChatPage/>
            </body>
        </html>
    }
}

/// Loads the wasm and hydrates the page once the browser is idle after the first paint. The
/// server-rendered page is whole and usable before that (every control is a plain form or
/// link), so neither the JS nor the wasm is fetched on the way to the first and largest paint:
/// unlike Leptos's `HydrationScripts`, no preload hints in the head, just this one script.
#[component]
fn Hydration(options: LeptosOptions) -> impl IntoView {
    let pkg = format!("/{}/{}", options.site_pkg_dir, options.output_name);
    let script = format!(
        "(()=>{{const go=()=>import(\"{pkg}.js\").then(m=>m.default({{module_or_path:\"{pkg}.wasm\"}})\
         .then(()=>m.hydrate()));\"requestIdleCallback\" in window?\
         requestIdleCallback(go,{{timeout:1000}}):setTimeout(go)}})()"
    );
    view! { <script type="module" nonce=leptos::nonce::use_nonce()>{script}</script> }
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
