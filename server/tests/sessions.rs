//! Past sessions through the real binary: listing, switching, rename, delete, export, and that
//! one visitor can never list, read, rename, delete or export another's chats.

use serde_json::json;
use testkit::form::SendForm;
use testkit::standin::Behaviour;
use testkit::{Stack, Visitor};

/// Waits for the next millisecond on the clock itself, the server's clock on this machine, so
/// that the chat updated next is updated in a millisecond of its own: the sidebar orders by update
/// time, and two chats updated in the same millisecond can swap, or at a page's edge be skipped
/// (a known limit, to be fixed with a (time, id) cursor). Seen in CI in two tests here.
fn next_millisecond() {
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    };
    let sent = now_ms();
    while now_ms() <= sent {
        std::thread::yield_now();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_visitor_lists_switches_renames_exports_and_deletes_their_chats() {
    let (_dir, model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);

    assert_eq!(me.send("first chat question", "gemma").await.status, 200);
    let first = me.session();
    next_millisecond();
    me.chat = None; // New chat: the address `/`.
    let second_turn = me.send("second chat question", "gemma").await.json();
    let second = me.session();
    assert_ne!(first, second);
    assert_eq!(second_turn["session"]["id"], second);
    assert_eq!(second_turn["session"]["title"], "second chat question");
    assert_eq!(second_turn["session"]["message_count"], 2);

    // Both listed, newest first, in the server-rendered page.
    let page = me.get("/").await.body;
    let (a, b) = (
        page.find("second chat question"),
        page.find("first chat question"),
    );
    assert!(a.is_some() && b.is_some() && a < b, "newest first");

    // Switch back to the first: its messages, for the tab that now shows `/c/{first}`.
    let opened = me.call("/api/open_session", &[("id", &first)]).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.json()[0]["text"], "first chat question");
    me.chat = Some(first.clone());
    assert_eq!(me.send("follow-up", "gemma").await.status, 200);
    assert_eq!(
        model.requests("gemma").last().expect("request")["messages"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    // Rename, then export both ways.
    let renamed = me
        .call(
            "/api/rename_session",
            &[("id", &first), ("title", "  Kubernetes jokes  ")],
        )
        .await;
    assert_eq!(renamed.json()["title"], "Kubernetes jokes");
    assert_eq!(
        me.call("/api/rename_session", &[("id", &first), ("title", "   ")])
            .await
            .json(),
        json!({"Input": {"BadTitle": {"max": 80}}})
    );
    let md = me.get(&format!("/export/{first}.md")).await;
    assert_eq!(md.status, 200);
    assert!(md.body.starts_with("# Kubernetes jokes\n"), "{}", md.body);
    assert!(md
        .body
        .contains("## You (to Gemma 3 12B-it (vLLM))\n\nfirst chat question"));
    assert!(md.body.contains("Echo: follow-up"));
    let js = me.get(&format!("/export/{first}.json")).await;
    let js: serde_json::Value = serde_json::from_str(&js.body).expect("json export");
    assert_eq!(js["session"]["title"], "Kubernetes jokes");
    assert_eq!(js["messages"].as_array().map(Vec::len), Some(4));
    assert_eq!(js["messages"][1]["finish_reason"], "stop");

    // Delete the open chat: gone from the list, the store and its address.
    assert_eq!(
        me.call("/api/delete_session", &[("id", &first)])
            .await
            .status,
        200
    );
    assert!(!me.get("/").await.body.contains("Kubernetes jokes"));
    assert_eq!(me.get(&format!("/c/{first}")).await.status, 404);
    assert_eq!(
        me.send("into a deleted chat", "gemma").await.json(),
        json!("NoSuchChat"),
        "a deleted chat is not brought back"
    );
    assert_eq!(
        testkit::stored_messages(&server.sqlite_path(), &first).len(),
        0
    );
    assert_eq!(me.get(&format!("/export/{first}.md")).await.status, 404);
    assert_eq!(
        me.call("/api/open_session", &[("id", &first)]).await.json(),
        json!("NoSuchChat")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_visitor_can_never_reach_anothers_chats() {
    let (_dir, _model, server) = Stack::start(&[]).await.into_parts();
    let mut alice = Visitor::new(&server);
    assert_eq!(
        alice.send("alice's private plan", "gemma").await.status,
        200
    );
    let hers = alice.session();

    let mut bob = Visitor::new(&server);
    assert_eq!(bob.send("bob's own chat", "gemma").await.status, 200);
    let page = bob.get("/").await.body;
    assert!(
        page.contains("bob's own chat") && !page.contains("alice"),
        "Bob lists only his own"
    );

    for (path, form) in [
        ("/api/open_session", vec![("id", hers.as_str())]),
        (
            "/api/rename_session",
            vec![("id", hers.as_str()), ("title", "pwned")],
        ),
        ("/api/delete_session", vec![("id", hers.as_str())]),
    ] {
        let reply = bob.call(path, &form).await;
        assert_eq!(reply.json(), json!("NoSuchChat"), "{path}");
    }
    // A reply's source (its Copy button's): hers to her, nobody else's, nothing past the end.
    let source = alice.get(&format!("/source/{hers}/1")).await;
    assert_eq!(
        (source.status, source.body.as_str()),
        (200, "Echo: alice's private plan")
    );
    assert_eq!(alice.get(&format!("/source/{hers}/2")).await.status, 404);
    assert_eq!(alice.get(&format!("/source/{hers}/x")).await.status, 404);
    for path in [format!("/source/{hers}/1"), format!("/source/{hers}/0")] {
        let refused = bob.get(&path).await;
        assert_eq!(
            (refused.status, refused.body.as_str()),
            (404, "That chat no longer exists.")
        );
    }
    for ext in ["md", "json"] {
        let refused = bob.get(&format!("/export/{hers}.{ext}")).await;
        assert_eq!(refused.status, 404);
        // In the words every other refusal uses, and nothing of hers.
        assert_eq!(refused.body, "That chat no longer exists.");
    }

    // Even knowing her chat's address, Bob can neither read it nor send into it.
    let page = bob.get(&format!("/c/{hers}")).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("private plan"));
    bob.chat = Some(hers.clone());
    assert_eq!(bob.send("hijack?", "gemma").await.status, 404);

    // Alice's chat is untouched, still titled as she left it.
    let page = alice.get(&format!("/c/{hers}")).await.body;
    assert!(page.contains("alice&#x27;s private plan") || page.contains("alice's private plan"));
    assert!(!page.contains("pwned") && !page.contains("hijack"));
    assert_eq!(
        testkit::stored_messages(&server.sqlite_path(), &hers).len(),
        2
    );
}

/// Deleted while its turn was with the model: the chat stays deleted. The late turn is
/// answered "no such chat", nothing is stored, and the chat does not reappear in the list.
#[tokio::test(flavor = "multi_thread")]
async fn a_chat_deleted_during_a_pending_turn_stays_deleted() {
    let (_dir, model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("soon deleted", "gemma").await.status, 200);
    let chat = me.session();
    model.set("gemma", Behaviour::slow(1_500));
    let mut tab = me.twin();
    let pending = tokio::spawn(async move { tab.send("in flight", "gemma").await });
    testkit::until(
        "the turn to reach the model",
        std::time::Duration::from_secs(5),
        || async { model.in_flight("gemma") == 1 },
    )
    .await;
    let deleted = me.call("/api/delete_session", &[("id", &chat)]).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);

    let late = pending.await.expect("join");
    assert_eq!(late.status, 404, "{}", late.body);
    assert_eq!(late.json(), json!("NoSuchChat"));
    assert_eq!(
        testkit::stored_messages(&server.sqlite_path(), &chat).len(),
        0
    );
    assert!(!me.get("/").await.body.contains("soon deleted"));
    assert_eq!(me.get(&format!("/c/{chat}")).await.status, 404);
}

/// A send whose response was lost is sent again with the same turn id: the server answers with
/// the turn it already has (waiting for it if need be), and the model is asked once.
#[tokio::test(flavor = "multi_thread")]
async fn a_send_repeated_with_its_turn_id_is_answered_once() {
    let (_dir, model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("opening", "gemma").await.status, 200);
    let chat = me.session();
    model.set("gemma", Behaviour::slow(1_500));
    let form = SendForm::new("only once, please").set("turn", "lost-response-000000000001");
    // The first attempt's response is lost: this client gives up after 300 ms.
    let mut impatient = me.twin();
    impatient.client = testkit::http()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .expect("client");
    assert!(impatient
        .try_call("/api/send", &form.fields())
        .await
        .is_err());
    // The retry, while the first is still with the model, waits for that same turn.
    let retry = me.call("/api/send", &form.fields()).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    let turn = retry.json();
    assert_eq!(turn["user"]["seq"], json!(2));
    assert_eq!(turn["replies"][0]["text"], json!("Echo: only once, please"));
    // And once it is stored, the same id gets the same turn back at once.
    let again = me.call("/api/send", &form.fields()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json(), turn);
    assert_eq!(model.requests("gemma").len(), 2, "the model was asked once");
    let rows = testkit::turn_rows(&server.sqlite_path(), &chat);
    assert_eq!(
        rows.iter().filter(|r| r.2 == "only once, please").count(),
        1
    );
    // A turn id that is not one is refused, and nothing is stored.
    let bad = form.set("turn", "x");
    let refused = me.call("/api/send", &bad.fields()).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(testkit::turn_rows(&server.sqlite_path(), &chat).len(), 4);
}

/// Every chat stays reachable: the sidebar shows 50, a "More chats" link pages past them (a plain
/// link, so it works without JavaScript), and a search finds titles among all of them.
#[tokio::test(flavor = "multi_thread")]
async fn the_sidebar_pages_past_fifty_and_searches_every_title() {
    let (_dir, _model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);
    for i in 0..55 {
        me.chat = None;
        let reply = me.send(&format!("topic {i:03}"), "gemma").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        next_millisecond();
    }
    let first_page = me.get("/").await.body;
    let listed = |page: &str| {
        (0..55)
            .filter(|i| page.contains(&format!(">topic {i:03}<")))
            .count()
    };
    assert_eq!(listed(&first_page), 50);
    assert!(first_page.contains(">topic 054<") && !first_page.contains(">topic 004<"));
    let start = first_page.find("?before=").expect("a More link");
    let cursor: String = first_page[start..]
        .chars()
        .skip("?before=".len())
        .take_while(char::is_ascii_digit)
        .collect();
    let older = me.get(&format!("/?before={cursor}")).await.body;
    assert_eq!(listed(&older), 5, "the five oldest");
    assert!(older.contains(">topic 000<") && older.contains("Newest chats"));
    assert!(!older.contains("More chats"), "no page after the last");

    // Search reaches the oldest too, and takes what a form sends (+ for spaces).
    let found = me.get("/?q=topic+00").await.body;
    assert_eq!(listed(&found), 10);
    assert!(found.contains(">topic 000<") && found.contains("Show all"));
    let none = me.get("/?q=%3Cscript%3E").await.body;
    assert_eq!(listed(&none), 0);
    assert!(none.contains("No chat title matches."));
    assert!(!none.contains("<script>"), "the search is shown as text");
}
