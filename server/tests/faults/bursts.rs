//! Part of `faults.rs`: see its notes.

use super::*;

/// 50 sessions, then 200 sends at once (four tabs per session) while the model fails about one
/// call in five. Every session stays consistent, every failure is reported, nothing twice.
pub(crate) async fn concurrent_with_faults(standin: &StandIn) -> Tally {
    let dir = testkit::tempdir();
    let server = sqlite_server(dir.path(), standin).await;
    let mut t = Tally::default();
    let mut visitors = Vec::new();
    for i in 0..50 {
        let mut v = Visitor::new(&server);
        let reply = v.send(&format!("s{i} opening"), "gemma").await;
        assert_eq!(reply.status, 200, "set-up turn: {}", reply.body);
        visitors.push(v);
    }
    standin.set(
        "gemma",
        Behaviour::fault(Fault::Status500).latency(20).percent(20),
    );
    let mut tasks = Vec::new();
    for (i, v) in visitors.iter().enumerate() {
        for tab in 0..4 {
            let mut twin = v.twin();
            let session = v.session();
            let text = format!("s{i} tab{tab} message");
            tasks.push(tokio::spawn(async move {
                let reply = twin.send(&text, "gemma").await;
                (session, text, reply)
            }));
        }
    }
    let mut acknowledged: HashMap<String, Vec<String>> = HashMap::new();
    let mut refused: HashSet<String> = HashSet::new();
    // Refused sends by session: (text, whether a model failed it; else a 409).
    let mut refusals: HashMap<String, Vec<(String, bool)>> = HashMap::new();
    let (mut model_failures, mut one_at_a_time) = (0, 0);
    for task in tasks {
        let (session, text, reply) = task.await.expect("send task");
        if reply.status == 200 {
            acknowledged.entry(session).or_default().push(text);
            continue;
        }
        // Two errors are expected: the stand-in's 500, and a chat's one-turn-at-a-time rule
        // (the four tabs of a chat send at once).
        match words(&reply) {
            Some(w) if w.contains("internal error") => {
                model_failures += 1;
                refusals
                    .entry(session)
                    .or_default()
                    .push((text.clone(), true));
            }
            Some(w) if w.contains("still on its way") && reply.status == 409 => {
                one_at_a_time += 1;
                refusals
                    .entry(session)
                    .or_default()
                    .push((text.clone(), false));
            }
            _ => t.problems.push(format!(
                "{text}: unclear error {} {}",
                reply.status,
                short(&reply.body)
            )),
        }
        refused.insert(text);
    }
    standin.set("gemma", Behaviour::default());
    let accepted = 200 - one_at_a_time;
    if accepted < 50 || model_failures * 100 < accepted * 5 || model_failures * 100 > accepted * 50
    {
        t.problems.push(format!(
            "{model_failures} of {accepted} accepted turns failed; the stand-in fails about 20 %"
        ));
    }

    for v in &visitors {
        let session = v.session();
        let rows = turn_rows(&server.sqlite_path(), &session);
        if !whole_turns(&rows) {
            t.problems.push(format!(
                "session {session} is not a sequence of whole turns"
            ));
        }
        let answered: Vec<&str> = rows
            .iter()
            .filter(|r| r.1 == "user" && r.3 == "complete")
            .map(|r| r.2.as_str())
            .collect();
        for text in acknowledged.get(&session).into_iter().flatten() {
            t.found(text, answered.iter().filter(|s| **s == text).count());
        }
        for text in answered.iter().filter(|s| refused.contains(**s)) {
            t.problems
                .push(format!("{text} failed but was stored as answered"));
        }
        // A model failure is kept, marked failed with the error's code; a refused turn is not.
        for r in rows.iter().filter(|r| r.1 == "user" && r.3 != "complete") {
            if r.3 != "failed" || r.4.as_deref() != Some("model.backend_error.gemma") {
                t.problems
                    .push(format!("{}: kept as {} ({:?})", r.2, r.3, r.4));
            }
        }
        // Each refused send, read back from the rows: a model's failure is its one user
        // message, failed, with the error's code; a 409 left nothing at all.
        for (text, by_model) in refusals.get(&session).into_iter().flatten() {
            let kept: Vec<_> = rows.iter().filter(|r| r.2 == *text).collect();
            let ok = if *by_model {
                kept.len() == 1
                    && kept[0].1 == "user"
                    && kept[0].3 == "failed"
                    && kept[0].4.as_deref() == Some("model.backend_error.gemma")
            } else {
                kept.is_empty()
            };
            t.check(ok, || {
                let why = if *by_model { "model failure" } else { "409" };
                format!("{text} ({why}) is stored as {kept:?}")
            });
        }
    }
    t
}

/// A burst of turns, the server killed with SIGKILL in the middle of it, then started again on
/// the same file: every turn it acknowledged is there once, and no turn is half-written.
pub(crate) async fn killed_mid_burst(standin: &StandIn) -> Tally {
    let dir = testkit::tempdir();
    let server = sqlite_server(dir.path(), standin).await;
    let mut t = Tally::default();
    standin.set("gemma", Behaviour::slow(150));
    let asked_before = standin.requests("gemma").len();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let mut v = Visitor::new(&server);
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for turn in 0..10 {
                let text = format!("burst {i} turn {turn}");
                // A connection the kill cut off ends this visitor's burst.
                let Ok(reply) = v.try_send(&text, "gemma").await else {
                    break;
                };
                if reply.status == 200 {
                    acknowledged.push((v.session(), text));
                }
            }
            (acknowledged, v)
        }));
    }
    // Killed mid-burst: once the model has been asked for a quarter of the 400 turns (past
    // every visitor's first, so most visitors know their chat's id).
    testkit::until(
        "the burst to be under way",
        Duration::from_secs(30),
        || async { standin.requests("gemma").len() >= asked_before + 100 },
    )
    .await;
    let pid = server.pid();
    server.kill();
    let mut acknowledged = Vec::new();
    // Each chat's visitor (its browser's cookies), to load its page after the restart.
    let mut owners: HashMap<String, Visitor> = HashMap::new();
    for task in tasks {
        let (acked, v) = task.await.expect("burst task");
        acknowledged.extend(acked);
        if let Some(chat) = v.chat.clone() {
            owners.insert(chat, v);
        }
    }
    standin.set("gemma", Behaviour::default());
    if acknowledged.is_empty() || acknowledged.len() == 40 * 10 {
        t.problems.push(format!(
            "{} of 400 turns acknowledged: the kill did not land mid-burst",
            acknowledged.len()
        ));
    }

    let server = Server::start(dir.path(), &standin.url(), &[]).await;
    assert_ne!(server.pid(), pid);
    let mut by_session: HashMap<String, Vec<String>> = HashMap::new();
    for (session, text) in acknowledged {
        by_session.entry(session).or_default().push(text);
    }
    for (session, texts) in &by_session {
        let rows = stored_messages(&server.sqlite_path(), session);
        for text in texts {
            t.found(text, rows.iter().filter(|r| &r.2 == text).count());
        }
    }
    // Turns the kill caught after they were accepted (the message stored, the model still
    // working): none is silently gone or left waiting; each is reported failed.
    let sessions: Vec<String> = {
        let conn = rusqlite::Connection::open(server.sqlite_path()).expect("db");
        let mut stmt = conn.prepare("SELECT id FROM sessions").expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    };
    let mut interrupted = 0;
    for session in &sessions {
        let rows = turn_rows(&server.sqlite_path(), session);
        if !whole_turns(&rows) {
            t.problems
                .push(format!("session {session} has a half-written turn"));
        }
        for r in rows.iter().filter(|r| r.1 == "user" && r.3 != "complete") {
            t.check(
                r.3 == "failed" && r.4.as_deref() == Some("interrupted"),
                || format!("{}: left {} after the restart", r.2, r.3),
            );
            interrupted += 1;
        }
    }
    if interrupted == 0 {
        t.problems
            .push("the kill caught no accepted, unanswered turn".into());
    }
    // What the person sees: the page of such a chat says the message was not answered. (A
    // visitor whose first turn the kill caught never learned its chat's id: not that one.)
    let caught = sessions.iter().find_map(|s| {
        let v = owners.get(s)?;
        let rows = turn_rows(&server.sqlite_path(), s);
        rows.iter()
            .any(|r| r.3 == "failed")
            .then(|| (s.clone(), v.twin()))
    });
    if caught.is_none() {
        t.problems
            .push("no chat whose visitor knows it had an interrupted turn".into());
    }
    if let Some((session, mut v)) = caught {
        v.base = server.url.clone();
        let page = v.get(&format!("/c/{session}")).await;
        t.check(
            page.status == 200
                && page.body.contains(r#"data-status="failed""#)
                && page
                    .body
                    .contains("the server stopped before the reply came"),
            || format!("the page of {session} does not report the interrupted turn"),
        );
    }
    // And it still works.
    let mut after = Visitor::new(&server);
    let reply = after.send("after the restart", "gemma").await;
    t.check(reply.status == 200, || {
        format!("after restart: {}", reply.status)
    });
    t
}
