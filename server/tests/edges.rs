//! The edges of a request: cross-site posts refused before anything happens, redirects kept on
//! this origin, error banners only from the server's own words, chat pages never cached, HSTS
//! over HTTPS.

mod support;

use support::model_standin;
use support::{count_all_messages, Server, Visitor};

const FORM: [(&str, &str); 5] = [
    ("message", "from another site"),
    ("model", "gemma"),
    ("temperature", "0.9"),
    ("top_p", "0.95"),
    ("max_tokens", "64"),
];

fn encoded(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", support::urlencode(k), support::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_posts_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = model_standin::start(0).await;
    let server = Server::start(dir.path(), &model.url(), &[]).await;
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("my own chat", "gemma").await.status, 200);
    let owner = me.owner.clone().expect("owner cookie");
    let stored_before = count_all_messages(&server.sqlite_path());
    let calls_before = model.requests("gemma").len();

    let client = support::http().build().expect("client");
    let own_host = server.url.trim_start_matches("http://").to_string();
    for (name, value) in [
        ("sec-fetch-site", "cross-site".to_string()),
        ("sec-fetch-site", "same-site".to_string()),
        ("origin", "http://localhost:1".to_string()),
        ("origin", "null".to_string()),
        ("origin", format!("https://{own_host}")),
    ] {
        for path in ["/api/send", "/api/new_chat", "/api/delete_session"] {
            // As a browser would send it: the owner cookie rides along (top-level form post).
            let response = client
                .post(format!("{}{path}", server.url))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "text/html")
                .header("cookie", &owner)
                .header(name, &value)
                .body(encoded(&FORM))
                .send()
                .await
                .expect("POST");
            assert_eq!(response.status(), 403, "{path} with {name}: {value}");
            assert!(
                response.headers().get("set-cookie").is_none(),
                "a refused request sets no cookie"
            );
        }
    }
    assert_eq!(
        count_all_messages(&server.sqlite_path()),
        stored_before,
        "nothing stored"
    );
    assert_eq!(model.requests("gemma").len(), calls_before, "no model call");

    // The same request from this origin goes through.
    let response = client
        .post(format!("{}/api/send", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("cookie", &owner)
        .header("origin", &server.url)
        .header("sec-fetch-site", "same-origin")
        .body(encoded(&FORM))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_no_js_redirect_never_leaves_this_origin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = model_standin::start(0).await;
    let server = Server::start(dir.path(), &model.url(), &[]).await;
    let client = support::http()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // A Referer from elsewhere (no Origin header: an old browser, or one told to hide it).
    for referer in ["https://evil.example/phish", "//evil.example/", "/c/../x"] {
        let response = client
            .post(format!("{}/api/send", server.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html")
            .header("referer", referer)
            .body(encoded(&[("message", "")]))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 302, "{referer}");
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
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
    let dir = tempfile::tempdir().expect("tempdir");
    let model = model_standin::start(0).await;
    let server = Server::start(dir.path(), &model.url(), &[]).await;
    let mut me = Visitor::new(&server);

    // leptos's old error payload, with words of an attacker's choosing.
    let forged = serde_json::json!({"Model": {"Rejected": {"model": "Gemma", "reason": "Your account is locked. Call +1 555 0100."}}});
    let payload = base64::engine::general_purpose::URL_SAFE
        .encode(serde_json::to_vec(&forged).expect("json"));
    for path in [
        format!("/?__path=/api/send&__err={payload}"),
        "/?err=Your%20account%20is%20locked".to_string(),
        "/?err=model.rejected.gemma%20call%20555".to_string(),
    ] {
        let page = me.get(&path).await;
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
    let page = me.get("/?err=model.rejected.gemma").await;
    assert!(
        page.body
            .contains("Gemma refused the request: the request was not accepted"),
        "known code shown"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_pages_are_private_and_https_gets_hsts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = model_standin::start(0).await;
    let server = Server::start(dir.path(), &model.url(), &[]).await;
    let client = support::http().build().expect("client");
    let get = |path: &str, https: bool| {
        let mut req = client.get(format!("{}{path}", server.url));
        if https {
            req = req.header("x-forwarded-proto", "https");
        }
        req.send()
    };
    let page = get("/", false).await.expect("page");
    assert_eq!(
        page.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("private, no-store")
    );
    assert!(page.headers().get("strict-transport-security").is_none());
    let page = get("/", true).await.expect("page");
    assert_eq!(
        page.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=63072000")
    );
    let bundle = get("/pkg/hybrid-chat.css", true).await.expect("css");
    assert!(bundle.headers().get("strict-transport-security").is_some());
    assert_ne!(
        bundle
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("private, no-store"),
        "static files stay cacheable"
    );
}
