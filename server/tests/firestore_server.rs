//! The real server binary on Firestore (Google's emulator): turns are stored there, survive a
//! restart, `/healthz/store` follows the database while `/readyz` does not (a shared store must
//! not take every replica out of the load balancer), and a lost database is reported without losing the
//! user's text or leaving half a turn.

use serde_json::json;
use testkit::Emulator;
use testkit::{Server, Stack, Visitor};

#[tokio::test(flavor = "multi_thread")]
async fn chats_live_in_firestore_and_store_health_follows_it() {
    let emulator = Emulator::start().await;
    let env = [
        ("CHAT_STORE", "firestore"),
        ("FIRESTORE_EMULATOR_HOST", emulator.host.as_str()),
        ("GOOGLE_CLOUD_PROJECT", "hybrid-chat-e2e"),
        ("FIRESTORE_DATABASE", "chat-app-db"),
        ("OWNER_KEY", testkit::OWNER_KEY),
    ];
    let (dir, model, server) = Stack::start(&env).await.into_parts();
    let mut me = Visitor::new(&server);
    assert_eq!(me.get("/readyz").await.status, 200);
    assert_eq!(me.get("/healthz/store").await.status, 200);
    assert_eq!(me.send("kept in firestore", "gemma").await.status, 200);
    assert_eq!(me.send("second turn", "gemma").await.status, 200);
    assert!(!server.sqlite_path().exists(), "nothing went to SQLite");

    // Restart: the conversation comes back from Firestore.
    assert!(server.stop().success());
    let server = Server::start(dir.path(), &model.url(), &env).await;
    me.base = server.url.clone();
    let page = me.get(&format!("/c/{}", me.session())).await;
    assert!(page.body.contains("kept in firestore") && page.body.contains("Echo: second turn"));
    let third = me.send("third", "gemma").await;
    assert_eq!(
        third.json()["user"]["seq"],
        4,
        "sequence continues after the restart"
    );

    // The database goes away: the store is reported down, the replica stays in rotation (its
    // own answer beats the balancer's 502), and a send says so without storing half a turn.
    let port = emulator.port();
    drop(emulator);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if me.get("/healthz/store").await.status == 503 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/healthz/store never noticed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        me.get("/readyz").await.status,
        200,
        "readiness is not the store's"
    );
    let reply = me.send("while down", "gemma").await;
    assert_eq!(reply.status, 503);
    let error = reply.json();
    assert!(
        [
            json!({"Store": "Unavailable"}),
            json!({"Store": "TimedOut"}),
            json!("NotSaved")
        ]
        .contains(&error),
        "{error}"
    );

    // It comes back (empty: the emulator keeps nothing): ready again, and the next turn works.
    let _back = Emulator::start_on(port).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if me.get("/healthz/store").await.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/healthz/store never recovered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The emulator came back empty, so the old chat is gone: a new one works.
    me.chat = None;
    let after = me.send("after the outage", "gemma").await;
    assert_eq!(after.status, 200, "{}", after.body);
}
