//! The HTTP contract, in-process: the real router (`server::build`, as `run` serves it) on a
//! real SQLite file and the model stand-in, driven with `tower::ServiceExt::oneshot`, with no
//! server process. Status and error per failure, cookie flags, security headers and the CSP,
//! export, unknown paths, cross-site and oversized requests. What needs a process (restarts,
//! signals, logs, a store that goes away) stays in the process tests.

use app::errors::{ChatError, InputError, LimitError, ModelError};
use app::models::ModelId;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use testkit::form::{encode, SendForm};
use testkit::in_process::harness;
use testkit::standin::{Behaviour, Fault};

/// What is tried, the fault Gemma has, the form fields, and the status and error expected.
type Case<'a> = (
    &'a str,
    Option<Fault>,
    Vec<(&'a str, &'a str)>,
    StatusCode,
    ChatError,
);

#[tokio::test(flavor = "multi_thread")]
async fn each_failure_has_its_status_and_its_typed_error() {
    let h = harness(&[]).await;
    let long = "x".repeat(32_001);
    let someone_elses = "ab".repeat(32);
    let g = ModelId::Gemma;
    let cases: Vec<Case> = vec![
        (
            "empty message",
            None,
            vec![("message", "  ")],
            StatusCode::BAD_REQUEST,
            ChatError::Input(InputError::EmptyMessage),
        ),
        (
            "a chat that is not yours",
            None,
            vec![("chat", someone_elses.as_str())],
            StatusCode::NOT_FOUND,
            ChatError::NoSuchChat,
        ),
        (
            "Gemma answers 500",
            Some(Fault::Status500),
            vec![],
            StatusCode::BAD_GATEWAY,
            ChatError::Model(ModelError::BackendError(g)),
        ),
        (
            "Gemma answers 429",
            Some(Fault::Status429),
            vec![],
            StatusCode::SERVICE_UNAVAILABLE,
            ChatError::Model(ModelError::Busy(g)),
        ),
        (
            "Gemma answers junk",
            Some(Fault::Malformed),
            vec![],
            StatusCode::BAD_GATEWAY,
            ChatError::Model(ModelError::BadReply(g)),
        ),
        (
            "Gemma answers nothing",
            Some(Fault::Empty),
            vec![],
            StatusCode::BAD_GATEWAY,
            ChatError::Model(ModelError::Empty(g)),
        ),
        (
            "Gemma answers 5 MiB",
            Some(Fault::Oversized),
            vec![],
            StatusCode::BAD_GATEWAY,
            ChatError::Model(ModelError::BadReply(g)),
        ),
    ];
    for (what, fault, fields, status, error) in cases {
        h.model.set(
            "gemma",
            Behaviour {
                fault,
                ..Behaviour::default()
            },
        );
        let me = h.visitor().await;
        let answer = h.send(&me, &SendForm::new("hello").with(&fields)).await;
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        assert_eq!(answer.error(), error, "{what}");
    }
    h.model.set("gemma", Behaviour::default());

    // Refusals whose exact input error is not the point: the class and the status are.
    for (what, fields) in [
        (
            "a message over 32,000 characters",
            vec![("message", long.as_str())],
        ),
        ("an unknown model", vec![("model", "gpt-4")]),
        ("temperature 3", vec![("temperature", "3")]),
        ("top-p NaN", vec![("top_p", "NaN")]),
        ("max tokens 0", vec![("max_tokens", "0")]),
    ] {
        let me = h.visitor().await;
        let answer = h.send(&me, &SendForm::new("hello").with(&fields)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{what}");
        assert!(
            matches!(answer.error(), ChatError::Input(_)),
            "{what}: {}",
            answer.body
        );
    }

    // Gemini has no credentials here: refused before anything is stored.
    let me = h.visitor().await;
    let answer = h.send(&me, &SendForm::new("hello").model("gemini")).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(matches!(
        answer.error(),
        ChatError::Model(ModelError::NotConfigured(ModelId::Gemini))
    ));

    // No owner cookie (cookies off, or not from our page) and a forged one: nobody.
    for cookie in [None, Some("hc_owner=forged.value")] {
        let answer = h
            .post("/api/send", cookie, SendForm::new("hi").encode(), &[])
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{cookie:?}");
        assert_eq!(answer.error(), ChatError::NoOwner);
    }

    // And it all still works: a whole turn.
    let me = h.visitor().await;
    let answer = h.send(&me, &SendForm::new("hello")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let turn: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
    assert_eq!(turn["replies"][0]["text"], "Echo: hello");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_turn_limit_answers_429_with_when_it_resets() {
    let h = harness(&[("TURNS_PER_WINDOW", "1"), ("TURN_WINDOW_SECS", "600")]).await;
    let me = h.visitor().await;
    assert_eq!(
        h.send(&me, &SendForm::new("hello")).await.status,
        StatusCode::OK
    );
    let refused = h.send(&me, &SendForm::new("hello")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        matches!(
            refused.error(),
            ChatError::Limited(LimitError::TooManyTurns { .. })
        ),
        "{}",
        refused.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_carry_the_security_headers_the_csp_and_a_private_owner_cookie() {
    let h = harness(&[]).await;
    let page = h.get("/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header(header::CONTENT_TYPE).starts_with("text/html"));
    let csp = page.header(header::CONTENT_SECURITY_POLICY);
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"));
    assert!(
        page.body
            .contains(&format!(r#"<script type="module" nonce="{nonce}">"#)),
        "the hydration script carries the nonce"
    );
    assert_eq!(page.header(header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(page.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(
        page.header(header::REFERRER_POLICY),
        "strict-origin-when-cross-origin"
    );
    assert!(page.header(header::CACHE_CONTROL).contains("no-store"));
    let cookie = page.header(header::SET_COOKIE);
    assert!(cookie.starts_with("hc_owner="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(page.header(header::STRICT_TRANSPORT_SECURITY).is_empty());

    // Behind HTTPS (the load balancer says so): a __Host- cookie, Secure, and HSTS.
    let request = Request::get("/")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .expect("request");
    let secure = h.call(request).await;
    let cookie = secure.header(header::SET_COOKIE);
    assert!(cookie.starts_with("__Host-hc_owner="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(secure
        .header(header::STRICT_TRANSPORT_SECURITY)
        .contains("max-age="));
}

#[tokio::test(flavor = "multi_thread")]
async fn export_unknown_paths_cross_site_and_oversized_requests() {
    let h = harness(&[]).await;
    let me = h.visitor().await;
    let turn = h.send(&me, &SendForm::new("export me")).await;
    assert_eq!(turn.status, StatusCode::OK, "{}", turn.body);
    let chat = serde_json::from_str::<serde_json::Value>(&turn.body).expect("json")["session"]
        ["id"]
        .as_str()
        .expect("chat id")
        .to_string();

    let md = h.get(&format!("/export/{chat}.md"), Some(&me)).await;
    assert_eq!(md.status, StatusCode::OK);
    assert!(md.header(header::CONTENT_TYPE).starts_with("text/markdown"));
    assert!(md
        .header(header::CONTENT_DISPOSITION)
        .starts_with("attachment; filename=\"hybrid-chat-export-me"));
    assert!(md.body.contains("export me") && md.body.contains("Echo: export me"));
    let js = h.get(&format!("/export/{chat}.json"), Some(&me)).await;
    assert_eq!(js.status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&js.body).expect("json export");
    assert_eq!(doc["messages"][1]["text"], "Echo: export me");

    // Another visitor, no cookie, a bad id, an unknown format: the same refusal.
    let other = h.visitor().await;
    for (path, cookie) in [
        (format!("/export/{chat}.md"), Some(other.as_str())),
        (format!("/export/{chat}.md"), None),
        ("/export/not-an-id.md".to_string(), Some(me.as_str())),
        (format!("/export/{chat}.html"), Some(me.as_str())),
    ] {
        let refused = h.get(&path, cookie).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(refused.body, ChatError::NoSuchChat.to_string(), "{path}");
    }

    for path in ["/nope", "/pkg/missing.wasm", "/api/no_such_function"] {
        let answer = h.get(path, Some(&me)).await;
        assert!(
            answer.status == StatusCode::NOT_FOUND || answer.status == StatusCode::BAD_REQUEST,
            "{path}: {}",
            answer.status
        );
    }
    // Someone else's chat address: a 404 page that shows nothing of it.
    let page = h.get(&format!("/c/{chat}"), Some(&other)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("export me"));

    // A post from another site is refused before anything happens.
    let before = h.model.requests("gemma").len();
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("origin", "https://evil.example")],
    ] {
        let fields = encode(&[
            ("chat", chat.as_str()),
            ("message", "from elsewhere"),
            ("model", "gemma"),
            ("temperature", "0.9"),
            ("top_p", "0.95"),
            ("max_tokens", "64"),
        ]);
        let refused = h.post("/api/send", Some(&me), fields, &headers).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{headers:?}");
    }
    assert_eq!(h.model.requests("gemma").len(), before, "no model call");

    // A body over the 1 MiB limit is refused whole.
    let huge = encode(&[("message", &"y".repeat(2 << 20)), ("model", "gemma")]);
    let refused = h.post("/api/send", Some(&me), huge, &[]).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);

    for path in ["/healthz", "/readyz", "/healthz/store", "/metrics"] {
        assert_eq!(h.get(path, None).await.status, StatusCode::OK, "{path}");
    }
}
