//! End-to-end over HTTP: the real server binary, a stand-in vLLM and a temp SQLite file.

use app::conversation::{NewReply, NewTurn, TokenUsage};
use app::models::ModelId;
use app::params::GenParams;
use app::services::ChatStore;
use app::session::{OwnerId, SessionId};
use serde_json::json;
use server::store::sqlite::SqliteStore;
use testkit::form::SendForm;
use testkit::standin::{self, Behaviour, Fault};
use testkit::{count_all_messages, stored_messages, Server, Stack, Visitor};

#[path = "chat_flow/tabs.rs"]
mod tabs;

#[path = "chat_flow/input.rs"]
mod input;

#[tokio::test(flavor = "multi_thread")]
async fn a_turn_is_stored_whole_and_rendered_again_after_a_restart() {
    let (dir, model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);

    let reply = me.send("Tell me a *Kubernetes* joke", "gemma").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let turn = reply.json();
    assert_eq!(turn["user"]["text"], "Tell me a *Kubernetes* joke");
    assert_eq!(
        turn["replies"][0]["text"],
        "Echo: Tell me a *Kubernetes* joke"
    );
    assert_eq!(turn["replies"][0]["model"], "gemma");
    assert!(
        turn["replies"][0]["html"]
            .as_str()
            .unwrap_or("")
            .contains("<em>Kubernetes</em>"),
        "replies arrive as rendered Markdown: {}",
        turn["replies"][0]
    );
    assert!(
        reply
            .set_cookies
            .iter()
            .all(|c| !c.starts_with("hc_owner=")),
        "a POST never issues an owner"
    );
    let owner = me.owner.clone().expect("the page load issued an owner");
    assert!(owner.starts_with("hc_owner="), "{owner}");

    // What the model saw: the user message, with the chosen parameters.
    let seen = model.requests("gemma");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0]["messages"],
        json!([{"role": "user", "content": "Tell me a *Kubernetes* joke"}])
    );
    assert_eq!(seen[0]["max_tokens"], 1024);

    // One turn = two rows, with the metadata.
    let session = me.session();
    let rows = stored_messages(&server.sqlite_path(), &session);
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].1.as_str(), rows[1].1.as_str()), ("user", "model"));
    let conn = rusqlite::Connection::open(server.sqlite_path()).expect("db");
    let (latency, total, finish, temp): (Option<i64>, Option<i64>, Option<String>, f64) = conn
        .query_row(
            "SELECT latency_ms, total_tokens, finish_reason, temperature FROM messages WHERE session_id=?1 AND seq=1",
            [&session],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("reply row");
    assert!(latency.is_some());
    assert!(total.unwrap_or(0) > 0);
    assert_eq!(finish.as_deref(), Some("stop"));
    assert!((temp - 0.9).abs() < 1e-6);

    // A restart loses nothing: the chat's page is rendered with the conversation in the HTML,
    // and the owner cookie is still good (the key is kept beside the database).
    assert!(server.stop().success(), "SIGTERM exits cleanly");
    let server = Server::start(dir.path(), &model.url(), &[]).await;
    me.base = server.url.clone();
    let page = me.get(&format!("/c/{session}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Tell me a *Kubernetes* joke"),
        "user text in SSR HTML"
    );
    assert!(
        page.body
            .contains("Echo: Tell me a <em>Kubernetes</em> joke"),
        "rendered reply in SSR HTML"
    );
    assert!(
        page.body.contains("Gemma 3 12B-it (vLLM)"),
        "reply labelled with its model"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_model_receives_the_whole_conversation_including_other_models_turns() {
    let dir = testkit::tempdir();
    let model = standin::start(0).await;

    // An earlier turn answered by Gemini, written straight to the store.
    let session = SessionId::generate();
    let owner = OwnerId::generate();
    {
        let store = SqliteStore::open(&dir.path().join("chat.sqlite3")).expect("store");
        store
            .append_turn(
                &session,
                &owner,
                &NewTurn::single(
                    GenParams::default(),
                    "What is a pod?".into(),
                    1,
                    NewReply {
                        model: ModelId::Gemini,
                        text: "The smallest deployable unit.".into(),
                        at_ms: 2,
                        latency_ms: 300,
                        usage: Some(TokenUsage {
                            prompt_tokens: 3,
                            completion_tokens: 4,
                            thinking_tokens: 0,
                            total_tokens: 7,
                        }),
                        finish_reason: Some("STOP".into()),
                        cost: None,
                    },
                ),
                true,
            )
            .await
            .expect("seed");
    }
    let server = Server::start(dir.path(), &model.url(), &[]).await;
    let mut me = Visitor::new(&server);
    me.chat = Some(session.as_str().to_string());
    me.owner = Some(testkit::owner_cookie(dir.path(), &owner));

    assert_eq!(me.send("And a node?", "gemma").await.status, 200);
    assert_eq!(me.send("Thanks!", "gemma").await.status, 200);

    let seen = model.requests("gemma");
    assert_eq!(
        seen[1]["messages"],
        json!([
            {"role": "user", "content": "What is a pod?"},
            {"role": "assistant", "content": "The smallest deployable unit."},
            {"role": "user", "content": "And a node?"},
            {"role": "assistant", "content": "Echo: And a node?"},
            {"role": "user", "content": "Thanks!"}
        ])
    );
    let rows = stored_messages(&server.sqlite_path(), session.as_str());
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );
    assert_eq!(rows[1].3, "gemini");
    assert_eq!(rows[3].3, "gemma");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_model_times_out_with_a_clear_error_and_nothing_half_written() {
    let (_dir, model, server) = Stack::start(&[("MODEL_TIMEOUT_SECS", "1")])
        .await
        .into_parts();
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("first", "gemma").await.status, 200);

    model.set("gemma", Behaviour::fault(Fault::Hang));
    let started = std::time::Instant::now();
    let reply = me.send("second", "gemma").await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "bounded by the timeout"
    );
    assert_eq!(reply.status, 504);
    assert_eq!(reply.json(), json!({"Model": {"TimedOut": "gemma"}}));
    assert_eq!(
        stored_messages(&server.sqlite_path(), &me.session()).len(),
        2,
        "no half turn"
    );

    // Retry once the model is back: the turn lands after the first one.
    model.set("gemma", Behaviour::default());
    assert_eq!(me.send("second", "gemma").await.status, 200);
    let rows = stored_messages(&server.sqlite_path(), &me.session());
    assert_eq!(
        rows.iter().map(|r| r.2.as_str()).collect::<Vec<_>>(),
        ["first", "Echo: first", "second", "Echo: second"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn backend_faults_reach_the_user_as_words_and_store_nothing() {
    let (dir, model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);

    let cases = [
        (
            Fault::Status500,
            json!({"Model": {"BackendError": "gemma"}}),
        ),
        (Fault::Status429, json!({"Model": {"Busy": "gemma"}})),
        (Fault::Malformed, json!({"Model": {"BadReply": "gemma"}})),
        (Fault::Empty, json!({"Model": {"Empty": "gemma"}})),
    ];
    for (fault, expected) in cases {
        model.set("gemma", Behaviour::fault(fault));
        let reply = me.send("hello", "gemma").await;
        assert_eq!(reply.status, testkit::status_for(&expected), "{fault:?}");
        assert_eq!(reply.json(), expected, "{fault:?}");
    }
    // No reply is kept; each message is, marked failed with its error's code (never words).
    let conn = rusqlite::Connection::open(server.sqlite_path()).expect("db");
    let mut stmt = conn
        // Two failed turns can share a millisecond; the error code orders them for the check.
        .prepare("SELECT session_id, role, status, error FROM messages ORDER BY error")
        .expect("prepare");
    let rows: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    assert_eq!(
        rows.iter()
            .map(|r| (r.1.as_str(), r.2.as_str(), r.3.as_str()))
            .collect::<Vec<_>>(),
        [
            ("user", "failed", "model.backend_error.gemma"),
            ("user", "failed", "model.bad_reply.gemma"),
            ("user", "failed", "model.busy.gemma"),
            ("user", "failed", "model.empty.gemma"),
        ]
    );
    // The page says so beside the message, in the server's words.
    let page = me.get(&format!("/c/{}", rows[2].0)).await;
    assert!(page.body.contains("Not answered: Gemma is busy right now."));
    let md = me.get(&format!("/export/{}.md", rows[2].0)).await;
    assert!(
        md.body.contains(
            "hello\n\n_Not answered: Gemma is busy right now. Please try again shortly._"
        ),
        "{}",
        md.body
    );

    // A model that is not running at all.
    let nowhere = format!("127.0.0.1:{}", testkit::free_port());
    let dead = Server::start(&dir.path().join("dead"), &format!("http://{nowhere}"), &[]).await;
    let mut other = Visitor::new(&dead);
    let reply = other.send("hello", "gemma").await;
    assert_eq!(reply.json(), json!({"Model": {"Unreachable": "gemma"}}));
    // The failed call marks it at once; the page says so from then on.
    let mut page = other.get("/").await;
    for _ in 0..100 {
        if page.body.contains("unreachable") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        page = other.get("/").await;
    }
    assert_eq!(page.status, 200, "the page still renders");
    assert!(
        page.body.contains("unreachable"),
        "the picker marks Gemma unreachable"
    );
    assert!(
        page.body.contains("Gemma's server (vLLM) does not answer."),
        "and says why"
    );
    // Without naming the internal address the server calls; the operator's log does.
    assert!(!page.body.contains(&nowhere), "{}", page.body);
    assert!(dead.log().contains(&nowhere), "the log names it");
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_and_security_headers() {
    let (dir, _model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);
    let live = me.get("/healthz").await;
    assert_eq!((live.status, live.body.as_str()), (200, "ok"));
    let ready = me.get("/readyz").await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready"));

    let page = me
        .client
        .get(format!("{}/", server.url))
        .send()
        .await
        .expect("page");
    let h = page.headers();
    assert_eq!(
        h.get("x-content-type-options").map(|v| v.as_bytes()),
        Some(&b"nosniff"[..])
    );
    assert_eq!(
        h.get("x-frame-options").map(|v| v.as_bytes()),
        Some(&b"DENY"[..])
    );
    assert!(h.get("referrer-policy").is_some());
    let csp = h
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .expect("a CSP on the page")
        .to_string();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce")
        .to_string();
    let html = page.text().await.expect("html");
    assert!(
        html.contains(&format!(r#"nonce="{nonce}""#)),
        "the hydration script carries the CSP's nonce"
    );

    let missing = me.get("/no/such/file.js").await;
    assert_eq!(missing.status, 404);

    // The bundle's precompressed copy goes to browsers that accept it, and says it varies.
    let pkg = dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).expect("pkg dir");
    std::fs::write(pkg.join("app.js"), "console.log('plain')").expect("js");
    std::fs::write(pkg.join("app.js.br"), b"brotli bytes").expect("js.br");
    let fetch = |encoding: &'static str| {
        me.client
            .get(format!("{}/pkg/app.js", server.url))
            .header("accept-encoding", encoding)
            .send()
    };
    let br = fetch("gzip, br").await.expect("GET br");
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["vary"], "accept-encoding");
    assert_eq!(br.bytes().await.expect("body").as_ref(), b"brotli bytes");
    let plain = fetch("identity").await.expect("GET identity");
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers()["vary"], "accept-encoding");
    assert_eq!(plain.text().await.expect("body"), "console.log('plain')");
}
