//! Rotating the owner-cookie key without losing anyone's chats, through the real binary: a
//! browser's cookie signed with the old key is still accepted (`OWNER_KEY_PREVIOUS`) and signed
//! again with the new one at its next page load; a signed-in person's owner id comes from
//! `IDENTITY_KEY`, so rotating `OWNER_KEY` moves none of their chats.

use serde_json::json;
use testkit::iap::{claims, Key, AUDIENCE};
use testkit::{Server, Visitor};

const OLD: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW: &str = "2222222222222222222222222222222222222222222222222222222222222222";

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_keeps_its_chats_across_a_key_rotation() {
    let dir = testkit::tempdir();
    let model = testkit::standin::start(0).await;
    let server = Server::start(dir.path(), &model.url(), &[("OWNER_KEY", OLD)]).await;
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("before the rotation", "gemma").await.status, 200);
    let before = me.owner.clone().expect("an owner cookie");
    drop(server);

    // The new key, the old one still accepted: the chat is there, and the page load signs the
    // cookie again with the new key.
    let server = Server::start(
        dir.path(),
        &model.url(),
        &[("OWNER_KEY", NEW), ("OWNER_KEY_PREVIOUS", OLD)],
    )
    .await;
    me.base = server.url.clone();
    let page = me.get("/").await;
    assert!(page.body.contains("before the rotation"), "{}", page.body);
    let after = me.owner.clone().expect("an owner cookie");
    assert_ne!(after, before, "signed again with the new key");
    assert_eq!(
        after.split('.').next(),
        before.split('.').next(),
        "the same owner"
    );
    drop(server);

    // The old key retired: the re-signed cookie still names the owner; the old one would not.
    let server = Server::start(dir.path(), &model.url(), &[("OWNER_KEY", NEW)]).await;
    me.base = server.url.clone();
    assert!(me.get("/").await.body.contains("before the rotation"));
    let mut stale = Visitor::new(&server);
    stale.owner = Some(before);
    let page = stale.get("/").await;
    assert!(!page.body.contains("before the rotation"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_in_people_keep_their_chats_when_the_cookie_key_rotates() {
    let dir = testkit::tempdir();
    let model = testkit::standin::start(0).await;
    let key = Key::generate("iap-key-1");
    model.set_jwks(json!({ "keys": [key.jwk.clone()] }));
    let iap = |extra: &[(&'static str, &'static str)]| {
        let mut env = vec![
            ("IAP_AUDIENCE", AUDIENCE),
            ("IAP_JWKS_URL", "{standin}/iap/jwk"),
        ];
        env.extend_from_slice(extra);
        env
    };
    let alice = |server: &Server| {
        let mut v = Visitor::new(server);
        v.assertion = Some(key.sign(&claims("alice@example.com")));
        v
    };
    // Before there were two keys: OWNER_KEY derived people's ids too.
    let server = Server::start(dir.path(), &model.url(), &iap(&[("OWNER_KEY", OLD)])).await;
    assert_eq!(
        alice(&server).send("alice's chat", "gemma").await.status,
        200
    );
    drop(server);

    // Rotated, with IDENTITY_KEY set to the key that derived her id: her chats stay hers.
    let server = Server::start(
        dir.path(),
        &model.url(),
        &iap(&[("OWNER_KEY", NEW), ("IDENTITY_KEY", OLD)]),
    )
    .await;
    assert!(alice(&server).get("/").await.body.contains("alice's chat"));
    drop(server);

    // Without it, the rotation would have moved them: what IDENTITY_KEY is for.
    let server = Server::start(dir.path(), &model.url(), &iap(&[("OWNER_KEY", NEW)])).await;
    assert!(!alice(&server).get("/").await.body.contains("alice's chat"));
}
