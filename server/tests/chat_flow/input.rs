//! Part of `chat_flow.rs`: see its notes.

use super::*;

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
