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
async fn bad_input_gets_clear_errors_and_reaches_no_model() {
    // Without credentials Gemini is "not configured", which is itself an answer to test.
    let (_dir, model, server) = Stack::start(&[("GOOGLE_APPLICATION_CREDENTIALS", "")])
        .await
        .into_parts();
    let mut me = Visitor::new(&server);
    let long = "x".repeat(32_001);
    let send = |m: &'static str,
                model: &'static str,
                t: &'static str,
                p: &'static str,
                n: &'static str| {
        [
            ("message", m),
            ("model", model),
            ("temperature", t),
            ("top_p", p),
            ("max_tokens", n),
        ]
    };

    let cases: Vec<([(&str, &str); 5], serde_json::Value)> = vec![
        (
            send("   ", "gemma", "1", "0.5", "10"),
            json!({"Input": "EmptyMessage"}),
        ),
        (
            send("hi", "gpt-4", "1", "0.5", "10"),
            json!({"Input": {"UnknownModel": {"name": "gpt-4"}}}),
        ),
        (
            send("hi", "gemma", "2.5", "0.5", "10"),
            json!({"Input": {"OutOfRange": {"field": "Temperature", "min": 0.0, "max": 2.0}}}),
        ),
        (
            send("hi", "gemma", "1", "0", "10"),
            json!({"Input": {"OutOfRange": {"field": "Top-p", "min": 0.05, "max": 1.0}}}),
        ),
        (
            send("hi", "gemma", "1", "0.5", "9000"),
            json!({"Input": {"OutOfRange": {"field": "Max tokens", "min": 1.0, "max": 8192.0}}}),
        ),
        (
            send("hi", "gemma", "NaN", "0.5", "10"),
            json!({"Input": {"NotANumber": {"field": "Temperature"}}}),
        ),
        (
            send("hi", "gemini", "1", "0.5", "10"),
            json!({"Model": {"NotConfigured": "gemini"}}),
        ),
    ];
    for (form, expected) in cases {
        let reply = me.call("/api/send", &form).await;
        assert_eq!(reply.status, testkit::status_for(&expected), "{form:?}");
        assert_eq!(reply.json(), expected, "{form:?}");
    }
    let mut too_long = send("", "gemma", "1", "0.5", "10");
    too_long[0].1 = &long;
    assert_eq!(
        me.call("/api/send", &too_long).await.json(),
        json!({"Input": {"MessageTooLong": {"chars": 32001, "max": 32000}}})
    );

    // Malformed requests: a missing field, and a body that is not a form at all.
    let reply = me.call("/api/send", &[("message", "hi")]).await;
    assert_eq!(reply.json(), json!({"Transport": "malformed request"}));
    let garbage = me
        .client
        .post(format!("{}/api/send", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'&', b'=', b'%'])
        .send()
        .await
        .expect("post");
    assert!(garbage.status().is_client_error() || garbage.status().is_server_error());

    assert!(
        model.requests("gemma").is_empty(),
        "nothing invalid reached the model"
    );
    assert_eq!(count_all_messages(&server.sqlite_path()), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_garbage_and_someone_elses_chat_ids_get_no_chat() {
    let (_dir, model, server) = Stack::start(&[]).await.into_parts();

    let mut alice = Visitor::new(&server);
    assert_eq!(alice.send("alice's secret plan", "gemma").await.status, 200);
    let alice_session = alice.session();

    let near_miss = {
        let mut s = alice_session.clone();
        let last = if s.ends_with('0') { "1" } else { "0" };
        s.replace_range(63.., last);
        s
    };
    let unknown = SessionId::generate();
    for forged in [
        "garbage".to_string(),
        "x".repeat(5000),
        "..%2F..%2Fetc%2Fpasswd".to_string(),
        near_miss,
        unknown.as_str().to_string(),
        alice_session.to_uppercase(),
        // Alice's real chat id, stolen, but in another browser (without Alice's owner).
        alice_session.clone(),
    ] {
        let mut mallory = Visitor::new(&server);
        let page = mallory.get(&format!("/c/{forged}")).await;
        assert_eq!(page.status, 404, "no such chat, for {forged:.20}");
        assert!(page.body.contains("That chat no longer exists."));
        assert!(
            !page.body.contains("secret plan"),
            "never someone else's chat"
        );

        // Sending to it is refused the same way, and nothing reaches the model or the store.
        mallory.chat = Some(forged.clone());
        let reply = mallory.send("hello", "gemma").await;
        assert_eq!(reply.status, 404, "{}", reply.body);
        assert_eq!(reply.json(), json!("NoSuchChat"));
        if forged != alice_session {
            assert_eq!(
                stored_messages(&server.sqlite_path(), &forged).len(),
                0,
                "the forged id was not used"
            );
        }
    }
    assert_eq!(model.requests("gemma").len(), 1, "only alice's turn");
    assert_eq!(
        stored_messages(&server.sqlite_path(), &alice_session).len(),
        2,
        "alice's chat untouched"
    );

    // Forged owners: unsigned, signed by another key, garbage. None is anybody; a send without
    // a real owner is refused (only a page load issues one), and a page load issues a new one.
    let alice_owner = alice.owner.clone().expect("owner");
    let (_, alice_value) = alice_owner.split_once('=').expect("cookie");
    let (alice_id, _) = alice_value.split_once('.').expect("signed");
    for cookie in [
        format!("hc_owner={alice_id}"),
        format!("hc_owner={alice_id}.{}", "0".repeat(32)),
        "hc_owner=<script>".to_string(),
        format!("hc_owner={}", "e".repeat(6000)),
    ] {
        let mut mallory = Visitor::new(&server);
        mallory.owner = Some(cookie.clone());
        mallory.chat = Some(alice_session.clone());
        let reply = mallory.send("let me in", "gemma").await;
        assert_eq!(reply.status, 404, "{cookie:.40}: {}", reply.body);
        mallory.chat = None;
        let reply = mallory.send("a chat of my own", "gemma").await;
        assert_eq!(reply.status, 403, "{cookie:.40}: {}", reply.body);
        assert_eq!(reply.json(), json!("NoOwner"));
        let page = mallory.get("/").await;
        assert!(!page.body.contains("secret plan"), "{cookie:.40}");
        let issued = page.cookie("hc_owner").expect("a new owner");
        assert!(!issued.starts_with(alice_id), "a fresh owner, not alice's");
    }
    assert_eq!(
        model.requests("gemma").len(),
        1,
        "no forged turn reached a model"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_form_post_works_without_javascript() {
    let (_dir, model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);

    let form = SendForm::new("no js here")
        .set("temperature", "0.3")
        .set("top_p", "0.5")
        .max_tokens(64);
    let reply = me.post_form("/api/send", &form.fields()).await;
    assert_eq!(reply.status, 302, "{}", reply.body);
    let chat = me.session();
    assert_eq!(
        reply.location.as_deref(),
        Some(format!("/c/{chat}").as_str()),
        "redirected to the new chat's address, a path on this origin"
    );
    assert_eq!(
        reply.cookie("hc_settings").as_deref(),
        Some("gemma|0.30|0.50|64|auto"),
        "the sliders, and Gemini's thinking (the server's default: the form named none)"
    );
    // The post returns once the turn is accepted; the page refreshes itself until the reply is in.
    let page = me.get_settled(&format!("/c/{chat}")).await;
    assert!(page.body.contains("no js here") && page.body.contains("Echo: no js here"));
    assert_eq!(model.requests("gemma")[0]["temperature"], 0.3);

    // A model failure: the post goes to the chat at once, and once the turn has failed the
    // page shows the message marked not answered, in the server's words.
    model.set("gemma", Behaviour::fault(Fault::Status500));
    let reply = me.post_form("/api/send", &form.fields()).await;
    assert_eq!(reply.status, 302);
    let location = reply.location.expect("redirect");
    assert_eq!(location, format!("/c/{chat}"));
    let page = me.get_settled(&location).await;
    assert!(
        page.body
            .contains("Not answered: Gemma had an internal error. Please try again."),
        "error shown without JS"
    );

    // A refusal before the turn is accepted comes back through the redirect, as a code.
    let empty = form.set("message", "   ");
    let reply = me.post_form("/api/send", &empty.fields()).await;
    assert_eq!(reply.status, 302);
    let location = reply.location.expect("redirect");
    assert_eq!(
        location,
        format!("/c/{chat}?err=input.empty"),
        "back to the chat, the error as a code, never as text"
    );
    assert!(me
        .get(&location)
        .await
        .body
        .contains("Type a message first."));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_chat_is_the_address_slash_and_the_old_one_keeps_its_own() {
    let (_dir, model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("old chat", "gemma").await.status, 200);
    let old = me.session();

    // New chat: the page at `/`, an empty transcript; the old chat listed in the sidebar.
    me.chat = None;
    let page = me.get("/").await.body;
    assert!(
        !page.contains(r#"<p class="text">old chat</p>"#),
        "transcript is empty"
    );
    assert!(page.contains("old chat"), "the sidebar still lists it");
    assert!(
        page.contains(&format!("href=\"/c/{old}\"")),
        "linked by its address"
    );

    assert_eq!(me.send("new chat", "gemma").await.status, 200);
    assert_ne!(me.session(), old);
    assert_eq!(
        model.requests("gemma")[1]["messages"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "no history carried"
    );
    assert_eq!(stored_messages(&server.sqlite_path(), &old).len(), 2);
    let old_page = me.get(&format!("/c/{old}")).await.body;
    assert!(old_page.contains(r#"<p class="text">old chat</p>"#));
    assert!(!old_page.contains(r#"<p class="text">new chat</p>"#));
}

/// Two tabs of one browser on two chats: each send goes to the chat its tab shows, whatever
/// the other tab did last (there is no browser-wide "current chat").
#[tokio::test(flavor = "multi_thread")]
async fn two_tabs_on_two_chats_never_mix() {
    let (_dir, model, server) = Stack::start(&[]).await.into_parts();
    let mut tab1 = Visitor::new(&server);
    assert_eq!(tab1.send("A: first", "gemma").await.status, 200);
    let a = tab1.session();
    let mut tab2 = tab1.twin();
    tab2.chat = None;
    assert_eq!(tab2.send("B: first", "gemma").await.status, 200);
    let b = tab2.session();
    assert_ne!(a, b);

    // Tab 1 still shows A: its messages (send, compare, a no-JS post) land in A.
    assert_eq!(tab1.send("A: second", "gemma").await.status, 200);
    let form = SendForm::new("A: third, no JS")
        .set("temperature", "0.5")
        .set("top_p", "0.5");
    assert_eq!(
        tab1.post_form("/api/send", &form.fields()).await.status,
        302
    );
    assert_eq!(tab1.session(), a);
    tab1.get_settled(&format!("/c/{a}")).await;
    let texts = |id: &str| {
        stored_messages(&server.sqlite_path(), id)
            .into_iter()
            .map(|r| r.2)
            .filter(|t| !t.starts_with("Echo"))
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&a), ["A: first", "A: second", "A: third, no JS"]);
    assert_eq!(texts(&b), ["B: first"]);
    // And the model saw A's history, not B's.
    let last = model.requests("gemma").last().cloned().expect("request");
    assert!(!last.to_string().contains("B: first"), "{last}");
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
