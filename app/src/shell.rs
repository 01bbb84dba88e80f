//! The HTML document around the app.

use crate::chat_page::ChatPage;
use leptos::prelude::*;

pub fn shell(options: LeptosOptions) -> impl IntoView {
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
