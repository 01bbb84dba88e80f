//! SIGTERM (what Kubernetes sends before killing a pod): stop accepting, let the turn in flight
//! finish and be stored, exit 0.

use std::time::Duration;
use testkit::standin::{self, Behaviour, StandIn};
use testkit::{stored_messages, Reply, Server, Stack, Visitor};

/// A server whose Gemma takes `latency_ms` to answer.
async fn slow_server(latency_ms: u64, env: &[(&str, &str)]) -> (testkit::TempDir, StandIn, Server) {
    let model = standin::start(0).await;
    model.set("gemma", Behaviour::slow(latency_ms));
    let (dir, model, server) = Stack::start_on(model, env).await.into_parts();
    (dir, model, server)
}

/// A turn sent in the background; its reply and the visitor come back when it is done.
fn turn_in_flight(
    server: &Server,
    text: &'static str,
) -> tokio::task::JoinHandle<(Reply, Visitor)> {
    let mut me = Visitor::new(server);
    tokio::spawn(async move {
        let reply = me.send(text, "gemma").await;
        (reply, me)
    })
}

/// Waits until the turn sent is at the model (the stand-in holds it).
async fn at_the_model(model: &StandIn) {
    testkit::until(
        "the turn to reach the model",
        Duration::from_secs(5),
        || async { model.in_flight("gemma") >= 1 },
    )
    .await;
}

/// Whether a new connection to `url` is refused (the listener is closed).
async fn refused(url: &str) -> bool {
    testkit::http()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client")
        .get(format!("{url}/healthz"))
        .send()
        .await
        .is_err()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_the_turn_in_flight_and_exits_cleanly() {
    let (_dir, model, server) = slow_server(1_500, &[]).await;
    let in_flight = turn_in_flight(&server, "answer me before you go");
    at_the_model(&model).await;
    server.terminate();

    // No new work is accepted once shutting down (the listener closes while the turn, 1.5 s at
    // the model, is still in flight).
    let url = server.url.clone();
    testkit::until("the listener to close", Duration::from_secs(1), || {
        refused(&url)
    })
    .await;
    assert_eq!(
        model.in_flight("gemma"),
        1,
        "the turn is still at the model"
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

/// A rollout must not cut a turn that started just before SIGTERM. The grace period defaults to
/// the model timeout plus a margin, so a 21 s reply (past the old fixed 20 s grace) under a
/// 30 s model timeout is still answered and stored.
#[tokio::test(flavor = "multi_thread")]
async fn a_turn_longer_than_the_old_grace_period_is_answered_and_stored() {
    let (_dir, model, server) = slow_server(21_000, &[("MODEL_TIMEOUT_SECS", "30")]).await;
    let in_flight = turn_in_flight(&server, "a long answer, please");
    at_the_model(&model).await;
    server.terminate();

    let (reply, me) = in_flight.await.expect("join");
    assert_eq!(reply.status, 200, "answered: {}", reply.body);
    let db = server.sqlite_path();
    let status = server.stop();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(stored_messages(&db, &me.session()).len(), 2, "stored");
}

/// The drain window (what Kubernetes' preStop delay and endpoint removal need): after SIGTERM,
/// `/readyz` answers 503 so balancers stop routing here, yet a request that still arrives is
/// served in full; only after the window does the listener close.
#[tokio::test(flavor = "multi_thread")]
async fn during_the_drain_window_readiness_fails_but_new_requests_succeed() {
    let (_dir, _model, server) = slow_server(500, &[("SHUTDOWN_DRAIN_SECS", "3")]).await;
    let mut me = Visitor::new(&server);
    assert_eq!(me.get("/readyz").await.status, 200);
    server.terminate();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    let mut ready = me.get("/readyz").await;
    while ready.status != 503 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        ready = me.get("/readyz").await;
    }
    assert_eq!((ready.status, ready.body.as_str()), (503, "draining"));
    let page = me.get("/").await;
    assert_eq!(page.status, 200, "a page load during the drain window");
    let turn = me.send("sent while draining", "gemma").await;
    assert_eq!(
        turn.status, 200,
        "a turn during the drain window: {}",
        turn.body
    );
    assert_eq!(
        stored_messages(&server.sqlite_path(), &me.session()).len(),
        2
    );

    // After the window (3 s from SIGTERM): no new connections, and a clean exit.
    let url = server.url.clone();
    testkit::until(
        "the listener to close after the drain window",
        Duration::from_secs(6),
        || refused(&url),
    )
    .await;
    let status = server.stop();
    assert!(status.success(), "exit status {status:?}");
}

/// A visitor who leaves mid-turn (reload, closed tab, a proxy giving up) does not take the turn
/// with them: it runs in its own task, is answered and stored, and SIGTERM waits for it even
/// though no connection is open any more.
#[tokio::test(flavor = "multi_thread")]
async fn a_turn_whose_visitor_left_is_stored_and_sigterm_waits_for_it() {
    let (_dir, model, server) = slow_server(1_500, &[]).await;
    let mut me = Visitor::new(&server);
    me.get("/").await; // the owner
    let impatient = testkit::http()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let gone = impatient
        .post(format!("{}/api/send", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("cookie", me.owner.clone().expect("owner"))
        .body("chat=&message=still+there%3F&model=gemma&temperature=1&top_p=1&max_tokens=10")
        .send()
        .await;
    assert!(gone.is_err(), "the visitor left before the reply");
    at_the_model(&model).await;
    server.terminate();

    let db = server.sqlite_path();
    let status = server.stop();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(model.requests("gemma").len(), 1, "the model was asked once");
    assert_eq!(
        testkit::count_all_messages(&db),
        2,
        "the turn was answered and stored after its visitor left"
    );
}

/// `hybrid-chat --help` lists every variable the server reads and starts nothing.
#[test]
fn help_lists_every_variable_and_exits() {
    let out = std::process::Command::new(testkit::server_binary())
        .arg("--help")
        .env_clear()
        .output()
        .expect("run --help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for v in server::config::variables() {
        assert!(
            text.contains(&format!("  {}\n", v.name)),
            "{} missing",
            v.name
        );
    }
    assert!(server::config::variables().len() >= 30);
}
