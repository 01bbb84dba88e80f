//! Who may open a file: its owner, and an operator named in `OPERATORS` behind IAP (each such
//! read logged). Nobody else, not even with `OPERATORS=*`, which shares figures, not files.

use super::shown_files;
use testkit::files::png;
use testkit::iap::{claims, Key, AUDIENCE};
use testkit::{SendForm, Stack, Visitor};

#[tokio::test(flavor = "multi_thread")]
async fn a_named_operator_opens_anyones_file_and_nobody_else_does() {
    let key = Key::generate("iap-key-1");
    let model = testkit::standin::start(0).await;
    model.set_jwks(serde_json::json!({ "keys": [key.jwk.clone()] }));
    let stack = Stack::start_on(
        model,
        &[
            ("IAP_AUDIENCE", AUDIENCE),
            ("IAP_JWKS_URL", "{standin}/iap/jwk"),
            ("OPERATORS", "alice@example.com"),
            ("RUST_LOG", "info"),
        ],
    )
    .await;
    let as_user = |email: &str| {
        let mut v = Visitor::new(&stack.server);
        v.assertion = Some(key.sign(&claims(email)));
        v
    };
    let mut bob = as_user("bob@example.com");
    let sent = bob
        .send_files(
            "/api/send",
            &SendForm::new("my picture").model("gemma"),
            &[("bob.png", png(7, 7))],
            false,
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let page = bob.get(&format!("/c/{}", bob.session())).await;
    let url = format!("/attachments/{}", shown_files(&page.body)[0]);
    assert_eq!(bob.get(&url).await.status, 200);
    // Bob on another device: the file follows the person IAP signed in, not the browser.
    let mut bobs_phone = as_user("bob@example.com");
    bobs_phone.get("/").await;
    assert_eq!(bobs_phone.get(&url).await.status, 200);

    let mut alice = as_user("alice@example.com");
    alice.get("/").await;
    let (kind, bytes, _) = alice.get_bytes(&url).await;
    assert_eq!(kind, "image/png", "the operator reads it");
    assert!(bytes.starts_with(b"\x89PNG"));
    assert!(
        stack
            .server
            .log()
            .contains("an operator opened someone's file"),
        "and it is logged"
    );

    let mut carol = as_user("carol@example.com");
    carol.get("/").await;
    assert_eq!(carol.get(&url).await.status, 404, "anyone else: 404");
}

#[tokio::test]
async fn operators_star_shares_figures_but_not_files() {
    let stack = Stack::start(&[("OPERATORS", "*")]).await;
    let mut ana = Visitor::new(&stack.server);
    let sent = ana
        .send_files(
            "/api/send",
            &SendForm::new("mine").model("gemma"),
            &[("ana.png", png(5, 5))],
            false,
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let page = ana.get(&format!("/c/{}", ana.session())).await;
    let url = format!("/attachments/{}", shown_files(&page.body)[0]);
    let mut ben = Visitor::new(&stack.server);
    ben.get("/").await;
    assert_eq!(ben.get(&url).await.status, 404);
}
