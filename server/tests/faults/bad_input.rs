//! Part of `faults.rs`: see its notes.

use super::*;

/// Every malformed thing a browser or a script can send: a clear 4xx, no model call, nothing
/// stored. Forged cookies are not errors: they get a fresh session of their own.
pub(crate) async fn bad_input(standin: &StandIn) -> Tally {
    let dir = testkit::tempdir();
    let server = sqlite_server(dir.path(), standin).await;
    let mut t = Tally::default();
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("a first, good turn", "gemma").await.status, 200);
    let calls_before = standin.requests("gemma").len();
    let stored_before = count_all_messages(&server.sqlite_path());

    let huge = "a".repeat(1_000_000);
    let long = "b".repeat(32_001);
    let good = ("hello", "gemma", "0.9", "0.95", "1024");
    let mut cases: Vec<(String, [&str; 5])> = vec![
        ("empty message".into(), ["", good.1, good.2, good.3, good.4]),
        (
            "whitespace-only message".into(),
            [" \n\t  ", good.1, good.2, good.3, good.4],
        ),
        (
            "32,001-character message".into(),
            [&long, good.1, good.2, good.3, good.4],
        ),
        (
            "1 MB message".into(),
            [&huge, good.1, good.2, good.3, good.4],
        ),
        (
            "unknown model".into(),
            [good.0, "gpt-4", good.2, good.3, good.4],
        ),
        ("empty model".into(), [good.0, "", good.2, good.3, good.4]),
    ];
    let sliders: [(usize, &str, &[&str]); 3] = [
        (2, "temperature", &["2.5", "-1", "NaN", "inf", "hot", ""]),
        (3, "top_p", &["1.5", "-0.1", "NaN", "0x1", "most"]),
        (
            4,
            "max_tokens",
            &["0", "-5", "1e9", "12.5", "99999999999", "lots"],
        ),
    ];
    for (index, name, values) in sliders {
        for v in values {
            let mut form = [good.0, good.1, good.2, good.3, good.4];
            form[index] = v;
            cases.push((format!("{name}={v:?}"), form));
        }
    }
    for (name, [message, model, temperature, top_p, max_tokens]) in &cases {
        let reply = me
            .call(
                "/api/send",
                &[
                    ("message", message),
                    ("model", model),
                    ("temperature", temperature),
                    ("top_p", top_p),
                    ("max_tokens", max_tokens),
                ],
            )
            .await;
        let ok = (400..500).contains(&reply.status) && words(&reply).is_some();
        t.check(ok, || {
            format!("{name}: {} {}", reply.status, short(&reply.body))
        });
    }

    let malformed: [(&str, &str, Vec<u8>); 5] = [
        (
            "fields missing",
            "application/x-www-form-urlencoded",
            b"message=hi".to_vec(),
        ),
        (
            "JSON where a form is expected",
            "application/json",
            br#"{"message": "hi"}"#.to_vec(),
        ),
        (
            "binary junk",
            "application/x-www-form-urlencoded",
            vec![0xff, 0xfe, 0x00, 0x9c, 0x80],
        ),
        (
            "over the 1 MiB body limit",
            "application/x-www-form-urlencoded",
            vec![b'x'; 2 << 20],
        ),
        (
            "unknown server function",
            "application/x-www-form-urlencoded",
            b"message=hi".to_vec(),
        ),
    ];
    for (name, content_type, body) in malformed {
        let path = if name == "unknown server function" {
            "/api/no_such_function"
        } else {
            "/api/send"
        };
        let outcome = match me.post_raw(path, content_type, body).await {
            Ok(reply) => {
                let ok = (400..500).contains(&reply.status) && !reply.body.contains("panicked");
                (ok, format!("{} {}", reply.status, short(&reply.body)))
            }
            // The body limit answers 413 from the Content-Length alone and closes the
            // connection, so a client still writing the body may see the close instead.
            Err(e) => (name.starts_with("over the"), e.to_string()),
        };
        t.check(outcome.0, || format!("{name}: {}", outcome.1));
    }

    let nothing_stored = count_all_messages(&server.sqlite_path()) == stored_before;
    let no_model_call = standin.requests("gemma").len() == calls_before;
    t.check(nothing_stored && no_model_call, || {
        format!("bad input reached the store ({nothing_stored}) or a model ({no_model_call})")
    });

    // Cookies and chat ids: garbage, oversized, forged (well-formed, but unsigned or nobody's),
    // someone else's. A bad owner is no owner: the page load issues a fresh one and the visitor
    // chats in a chat of their own; someone else's chat is "no such chat". Nothing leaks.
    let forged_session = "ab".repeat(32);
    let forged_owner = "cd".repeat(32);
    let cases = [
        ("garbage cookie", "hc_owner=<script>".to_string(), None),
        (
            "oversized cookie",
            format!("hc_owner={}", "e".repeat(6000)),
            None,
        ),
        ("forged cookie", format!("hc_owner={forged_owner}"), None),
        (
            "forged signed-looking cookie",
            format!("hc_owner={forged_owner}.{}", "0".repeat(32)),
            None,
        ),
        ("someone else's chat", String::new(), Some(me.session())),
        (
            "a forged chat id",
            String::new(),
            Some(forged_session.clone()),
        ),
    ];
    for (name, cookie, chat) in cases {
        let mut stranger = Visitor::new(&server);
        stranger.owner = (!cookie.is_empty()).then_some(cookie);
        let page = stranger.get("/").await;
        let leaked = page.body.contains("a first, good turn");
        let fresh_owner = stranger.owner.as_deref().is_some_and(|o| o.contains('.'));
        let outcome = match chat {
            None => {
                let reply = stranger.send(&format!("hello from {name}"), "gemma").await;
                reply.status == 200 && stranger.chat.as_deref() != Some(me.session().as_str())
            }
            Some(chat) => {
                let chat_page = stranger.get(&format!("/c/{chat}")).await;
                stranger.chat = Some(chat);
                let reply = stranger.send(&format!("hello from {name}"), "gemma").await;
                chat_page.status == 404
                    && !chat_page.body.contains("a first, good turn")
                    && reply.status == 404
                    && words(&reply).is_some_and(|w| w.contains("no longer exists"))
            }
        };
        t.check(
            page.status == 200 && !leaked && fresh_owner && outcome,
            || {
                format!(
                    "{name}: page {} leaked {leaked}, owner {fresh_owner}, outcome {outcome}",
                    page.status
                )
            },
        );
    }
    let forged_rows = stored_messages(&server.sqlite_path(), &forged_session).len();
    let mine = stored_messages(&server.sqlite_path(), &me.session()).len();
    t.check(forged_rows == 0 && mine == 2, || {
        format!("forged session has {forged_rows} rows; the owner's has {mine} (want 2)")
    });
    t
}
