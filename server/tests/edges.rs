//! The edges of a request, in-process: cross-site posts refused before anything happens,
//! redirects kept on this origin, error banners only from the server's own words, chat pages
//! never cached, HSTS over HTTPS.

use testkit::count_all_messages;
use testkit::form::{encode, SendForm};
use testkit::in_process::harness;

const HOST: &str = "app.test";

fn fields(message: &str) -> String {
    SendForm::new(message).encode()
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_posts_are_refused_and_change_nothing() {
    let h = harness(&[("ALLOWED_HOSTS", HOST)]).await;
    let me = h.visitor().await;
    assert_eq!(h.send(&me, &SendForm::new("my own chat")).await.status, 200);
    let stored_before = count_all_messages(&h.db);
    let calls_before = h.model.requests("gemma").len();

    for (name, value) in [
        ("sec-fetch-site", "cross-site".to_string()),
        ("sec-fetch-site", "same-site".to_string()),
        ("origin", "http://localhost:1".to_string()),
        ("origin", "null".to_string()),
        ("origin", format!("https://{HOST}")),
    ] {
        for path in ["/api/send", "/api/new_chat", "/api/delete_session"] {
            // As a browser would send it: the owner cookie rides along (top-level form post).
            let refused = h
                .post(
                    path,
                    Some(&me),
                    fields("from another site"),
                    &[("host", HOST), ("accept", "text/html"), (name, &value)],
                )
                .await;
            assert_eq!(refused.status, 403, "{path} with {name}: {value}");
            assert!(
                refused.header(axum::http::header::SET_COOKIE).is_empty(),
                "a refused request sets no cookie"
            );
        }
    }
    assert_eq!(count_all_messages(&h.db), stored_before, "nothing stored");
    assert_eq!(
        h.model.requests("gemma").len(),
        calls_before,
        "no model call"
    );

    // The same request from this origin goes through.
    let origin = format!("http://{HOST}");
    let sent = h
        .post(
            "/api/send",
            Some(&me),
            fields("from this site"),
            &[
                ("host", HOST),
                ("origin", &origin),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_no_js_redirect_never_leaves_this_origin() {
    let h = harness(&[("ALLOWED_HOSTS", HOST)]).await;
    // A Referer from elsewhere (no Origin header: an old browser, or one told to hide it).
    for referer in ["https://evil.example/phish", "//evil.example/", "/c/../x"] {
        let response = h
            .post(
                "/api/send",
                None,
                encode(&[("message", "")]),
                &[
                    ("host", HOST),
                    ("accept", "text/html"),
                    ("referer", referer),
                ],
            )
            .await;
        assert_eq!(response.status, 302, "{referer}");
        let location = response.header(axum::http::header::LOCATION);
        assert!(
            location.starts_with('/') && !location.starts_with("//"),
            "{referer} -> {location}"
        );
        assert!(!location.contains("evil"), "{referer} -> {location}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_error_banner_shows_only_the_servers_own_words() {
    use base64::Engine;
    let h = harness(&[("ALLOWED_HOSTS", HOST)]).await;
    let me = h.visitor().await;

    // leptos's old error payload, with words of an attacker's choosing.
    let forged = serde_json::json!({"Model": {"Rejected": {"model": "Gemma", "reason": "Your account is locked. Call +1 555 0100."}}});
    let payload = base64::engine::general_purpose::URL_SAFE
        .encode(serde_json::to_vec(&forged).expect("json"));
    for path in [
        format!("/?__path=/api/send&__err={payload}"),
        "/?err=Your%20account%20is%20locked".to_string(),
        "/?err=model.rejected.gemma%20call%20555".to_string(),
    ] {
        let page = h.get(&path, Some(&me)).await;
        assert_eq!(page.status, 200);
        // The attacker's words, not bare digits: the page carries random hex ids, which may
        // hold a "555" of their own.
        for words in [
            "555 0100",
            "call 555",
            "call%20555",
            "Your account",
            "is locked",
        ] {
            assert!(!page.body.contains(words), "{path}: {words}");
        }
        assert!(
            !page.body.contains(r#"role="alert""#),
            "no banner for {path}"
        );
    }
    // A code the server knows is shown in the server's words.
    let page = h.get("/?err=model.rejected.gemma", Some(&me)).await;
    assert!(
        page.body
            .contains("Gemma refused the request: the request was not accepted"),
        "known code shown"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_pages_are_private_and_https_gets_hsts() {
    use axum::http::header::{CACHE_CONTROL, STRICT_TRANSPORT_SECURITY};
    let h = harness(&[("ALLOWED_HOSTS", HOST)]).await;
    let https = [("x-forwarded-proto", "https")];
    let page = h.get("/", None).await;
    assert_eq!(page.header(CACHE_CONTROL), "private, no-store");
    assert!(page.header(STRICT_TRANSPORT_SECURITY).is_empty());
    let page = h.get_with("/", &https).await;
    assert_eq!(page.header(STRICT_TRANSPORT_SECURITY), "max-age=63072000");
    let bundle = h.get_with("/pkg/hybrid-chat.css", &https).await;
    assert!(!bundle.header(STRICT_TRANSPORT_SECURITY).is_empty());
    assert_ne!(
        bundle.header(CACHE_CONTROL),
        "private, no-store",
        "static files stay cacheable"
    );
}
