//! Identity-Aware Proxy mode: only requests with a valid IAP assertion reach the app, and each
//! signed-in person's chats follow them across browsers. Keys are generated for the run and
//! published by the stand-in's JWKS endpoint, as IAP publishes its own.

use serde_json::json;
use std::time::Duration;
use testkit::form::SendForm;
use testkit::iap::{b64url, claims, now, Key, AUDIENCE};
use testkit::in_process;
use testkit::standin::{self, StandIn};
use testkit::{Server, Visitor};

struct Setup {
    _dir: testkit::TempDir,
    standin: StandIn,
    server: Server,
    key: Key,
}

async fn iap_server() -> Setup {
    iap_server_with(&[]).await
}

/// An IAP server with `extra` settings besides.
async fn iap_server_with(extra: &[(&str, &str)]) -> Setup {
    let dir = testkit::tempdir();
    let standin = standin::start(0).await;
    let key = Key::generate("iap-key-1");
    standin.set_jwks(json!({ "keys": [key.jwk.clone()] }));
    let mut env = vec![
        ("IAP_AUDIENCE", AUDIENCE),
        ("IAP_JWKS_URL", "{standin}/iap/jwk"),
    ];
    env.extend_from_slice(extra);
    let server = Server::start(dir.path(), &standin.url(), &env).await;
    Setup {
        _dir: dir,
        standin,
        server,
        key,
    }
}

fn as_user(server: &Server, token: Option<String>) -> Visitor {
    let mut v = Visitor::new(server);
    v.assertion = token;
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_token_is_admitted() {
    let s = iap_server().await;
    let mut alice = as_user(&s.server, Some(s.key.sign(&claims("alice@example.com"))));
    let page = alice.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("composer"));
    assert_eq!(alice.send("hello", "gemma").await.status, 200);
    assert!(
        alice.owner.is_none(),
        "a signed-in user needs no owner cookie"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_fetched_once_and_cached() {
    let s = iap_server().await;
    let token = s.key.sign(&claims("alice@example.com"));
    for _ in 0..5 {
        assert_eq!(
            as_user(&s.server, Some(token.clone()))
                .get("/")
                .await
                .status,
            200
        );
    }
    // Tokens naming an unknown key may trigger one refresh, not one per request.
    let stranger = Key::generate("not-published");
    for _ in 0..5 {
        let t = stranger.sign(&claims("mallory@example.com"));
        assert_eq!(as_user(&s.server, Some(t)).get("/").await.status, 401);
    }
    assert_eq!(
        s.standin.jwks_fetches(),
        1,
        "one fetch served all ten requests"
    );
}

/// The same store served without IAP: a cookie crafted from a signed-in person's subject (not
/// a secret) names nobody, because their owner id is keyed and cookies must be signed.
#[tokio::test(flavor = "multi_thread")]
async fn a_crafted_cookie_cannot_claim_a_signed_in_persons_chats() {
    use sha2::{Digest, Sha256};
    let s = iap_server().await;
    let mut alice = as_user(&s.server, Some(s.key.sign(&claims("alice@example.com"))));
    assert_eq!(alice.send("alice's notes", "gemma").await.status, 200);
    let chat = alice.session();
    let dir = s.server.dir.clone();
    let url = s.standin.url();
    drop(s.server);

    let open = Server::start(&dir, &url, &[]).await;
    let subject = format!(
        "accounts.google.com:{}",
        "alice@example.com".len() * 1000 + 97
    );
    let unkeyed = app::session::to_hex(&Sha256::digest(format!("iap:{subject}").as_bytes()));
    for cookie in [
        format!("hc_owner={unkeyed}"),
        format!("hc_owner={unkeyed}.{}", "a".repeat(32)),
    ] {
        let mut mallory = Visitor::new(&open);
        mallory.owner = Some(cookie);
        let page = mallory.get("/").await;
        assert!(!page.body.contains("alice"), "not listed");
        assert_eq!(mallory.get(&format!("/c/{chat}")).await.status, 404);
        assert_eq!(mallory.get(&format!("/export/{chat}.md")).await.status, 404);
    }
}

/// The `iap` deployment sets IAP_REQUIRED: without an audience (or with a blank one) the server
/// refuses to start, naming the variable, instead of serving without the check.
#[tokio::test(flavor = "multi_thread")]
async fn iap_required_without_an_audience_refuses_to_start() {
    for env in [
        &[("IAP_REQUIRED", "true")][..],
        &[("IAP_REQUIRED", "true"), ("IAP_AUDIENCE", " ")][..],
    ] {
        let dir = testkit::tempdir();
        let server = Server::spawn(dir.path(), "http://127.0.0.1:9", env);
        let log_dir = server.dir.clone();
        let status = server
            .exit_status(Duration::from_secs(10))
            .expect("the server must exit, not serve");
        assert_eq!(status.code(), Some(2), "{env:?}");
        let log = std::fs::read_to_string(log_dir.join("server.log")).unwrap_or_default();
        assert!(log.contains("IAP_AUDIENCE"), "{env:?}: {log}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_user_sees_their_own_chats_from_any_browser_and_never_anothers() {
    let s = iap_server().await;
    let alice_token = s.key.sign(&claims("alice@example.com"));
    let mut alice_laptop = as_user(&s.server, Some(alice_token.clone()));
    assert_eq!(
        alice_laptop.send("alice's plans", "gemma").await.status,
        200
    );
    let alice_chat = alice_laptop.session();

    // Her phone: no cookies at all, same identity. The chat is listed and opens.
    let mut alice_phone = as_user(&s.server, Some(alice_token));
    let page = alice_phone.get("/").await;
    assert!(page.body.contains("alice&#x27;s plans") || page.body.contains("alice's plans"));
    let opened = alice_phone
        .call("/api/open_session", &[("id", &alice_chat)])
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert!(opened.body.contains("alice's plans"));

    // Bob, even knowing Alice's chat's address, sees and opens nothing of hers.
    let mut bob = as_user(&s.server, Some(s.key.sign(&claims("bob@example.com"))));
    let page = bob.get(&format!("/c/{alice_chat}")).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("alice"), "nothing of Alice's chat");
    let opened = bob.call("/api/open_session", &[("id", &alice_chat)]).await;
    assert_eq!(opened.status, 404);
    assert_eq!(
        bob.get(&format!("/export/{alice_chat}.md")).await.status,
        404
    );
    bob.chat = Some(alice_chat.clone());
    assert_eq!(bob.send("into alice's chat", "gemma").await.status, 404);
    bob.chat = None;
    assert_eq!(bob.send("bob's turn", "gemma").await.status, 200);
    assert_ne!(bob.session(), alice_chat, "Bob got a chat of his own");
    let rows = testkit::stored_messages(&s.server.sqlite_path(), &alice_chat);
    assert_eq!(rows.len(), 2, "Alice's chat is untouched");
}

/// Every way an assertion can be wrong, in-process against one app: each gets the 401 page
/// (nothing of the app), a send gets 401, and nothing is stored. Probes and metrics need no
/// identity.
#[tokio::test(flavor = "multi_thread")]
async fn every_missing_or_bad_assertion_is_refused() {
    let key = Key::generate("iap-key-1");
    let standin = standin::start(0).await;
    standin.set_jwks(json!({ "keys": [key.jwk.clone()] }));
    let h = in_process::harness_on(
        standin,
        &[
            ("IAP_AUDIENCE", AUDIENCE),
            ("IAP_JWKS_URL", "{standin}/iap/jwk"),
        ],
    )
    .await;
    let alice = claims("alice@example.com");
    let with = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut c = alice.clone();
        change(&mut c);
        key.sign(&c)
    };
    let impostor = Key::generate("iap-key-1"); // same key id, another key
    let stranger = Key::generate("not-published");
    let unsigned = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","typ":"JWT","kid":"iap-key-1"}"#),
        b64url(alice.to_string().as_bytes())
    );
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no assertion", None),
        (
            "another backend's audience",
            Some(with(&|c| {
                c["aud"] = json!("/projects/123456/global/backendServices/111")
            })),
        ),
        (
            "another issuer",
            Some(with(&|c| c["iss"] = json!("https://accounts.google.com"))),
        ),
        (
            "expired an hour ago",
            Some(with(&|c| {
                c["iat"] = json!(now() - 7200);
                c["exp"] = json!(now() - 3600);
            })),
        ),
        (
            // Google's FUTURE_ISSUE test case: `iat` an hour ahead, otherwise valid.
            "issued in the future",
            Some(with(&|c| {
                c["iat"] = json!(now() + 3600);
                c["exp"] = json!(now() + 7200);
            })),
        ),
        ("a bad signature", Some(impostor.sign(&alice))),
        ("an unknown key id", Some(stranger.sign(&alice))),
        ("alg none", Some(unsigned)),
        ("garbage", Some("garbage.!!!.###".into())),
    ];
    for (what, token) in cases {
        let headers: Vec<(&str, &str)> = token
            .as_deref()
            .map(|t| ("x-goog-iap-jwt-assertion", t))
            .into_iter()
            .collect();
        let page = h.get_with("/", &headers).await;
        assert_eq!(page.status, 401, "{what}");
        assert!(page.body.contains("Sign-in required"), "{what}");
        assert!(
            !page.body.contains("composer"),
            "{what}: no part of the app"
        );
        let send = h
            .post(
                "/api/send",
                None,
                SendForm::new("let me in").encode(),
                &headers,
            )
            .await;
        assert_eq!(send.status, 401, "{what}");
    }
    assert_eq!(testkit::count_all_messages(&h.db), 0, "nothing stored");

    // The real thing gets in.
    let token = key.sign(&alice);
    let page = h
        .get_with("/", &[("x-goog-iap-jwt-assertion", token.as_str())])
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("composer"));

    for path in ["/healthz", "/readyz", "/healthz/store", "/metrics"] {
        assert_eq!(
            h.get(path, None).await.status,
            200,
            "{path} needs no identity"
        );
    }
}

/// Behind IAP, limits count each signed-in person alone: colleagues behind one office address
/// (here every request comes from 127.0.0.1) do not share an allowance, and one who spends
/// theirs locks nobody else out.
#[tokio::test(flavor = "multi_thread")]
async fn colleagues_behind_one_address_each_have_their_own_allowance() {
    let s = iap_server_with(&[
        ("TURNS_PER_WINDOW", "2"),
        ("TURN_WINDOW_SECS", "3600"),
        ("ADDRESS_LIMIT_MULTIPLIER", "1"),
    ])
    .await;
    let (server, key) = (&s.server, &s.key);
    let mut alice = as_user(server, Some(key.sign(&claims("alice@example.com"))));
    for i in 0..2 {
        assert_eq!(alice.send(&format!("alice {i}"), "gemma").await.status, 200);
    }
    let refused = alice.send("alice again", "gemma").await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    // The same address, another person: their own two turns.
    let mut bob = as_user(server, Some(key.sign(&claims("bob@example.com"))));
    for i in 0..2 {
        assert_eq!(bob.send(&format!("bob {i}"), "gemma").await.status, 200);
    }
    assert_eq!(bob.send("bob again", "gemma").await.status, 429);
}
