//! SIGTERM (what Kubernetes sends before killing a pod): stop accepting, let the turn in flight
//! finish and be stored, exit 0.

mod support;

use std::time::Duration;
use support::model_standin::{self, Behaviour};
use support::{stored_messages, Server, Visitor};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_the_turn_in_flight_and_exits_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = model_standin::start(0).await;
    model.set(
        "gemma",
        Behaviour {
            latency_ms: 1_500,
            ..Default::default()
        },
    );
    let server = Server::start(dir.path(), &model.url(), &[]).await;

    let mut me = Visitor::new(&server);
    let in_flight = tokio::spawn(async move {
        let reply = me.send("answer me before you go", "gemma").await;
        (reply, me)
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // No new work is accepted once shutting down.
    let late = support::http()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client")
        .get(format!("{}/healthz", server.url))
        .send()
        .await;
    assert!(
        late.is_err(),
        "a new connection was accepted during shutdown"
    );

    let (reply, me) = in_flight.await.expect("join");
    assert_eq!(
        reply.status, 200,
        "the turn in flight completed: {}",
        reply.body
    );
    let session = me.session();
    let session = session.as_str();
    assert_eq!(
        stored_messages(&server.sqlite_path(), session).len(),
        2,
        "and was stored"
    );
    let db = server.sqlite_path();
    let status = server.stop();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(stored_messages(&db, session).len(), 2);
}
