//! The fault and bad-input suite: every request either works and is stored once, or reaches its
//! sender as a clear error and stores nothing. Prints tried / handled / lost per scenario and
//! fails if anything was lost or unhandled. (`harness = false`: one run, one table.)

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;
use support::firestore_emulator::Emulator;
use support::model_standin::{self, Behaviour, Fault, StandIn};
use support::{count_all_messages, stored_messages, Reply, Server, Visitor};

/// One scenario's tally. `problems` names every request that was not handled.
#[derive(Default)]
struct Tally {
    tried: usize,
    handled: usize,
    lost: usize,
    problems: Vec<String>,
}

impl Tally {
    /// An acknowledged turn must be found exactly once: none is a loss, more is a problem.
    fn found(&mut self, text: &str, copies: usize) {
        self.tried += 1;
        match copies {
            1 => self.handled += 1,
            0 => self.lost += 1,
            n => self.problems.push(format!("{text} found {n} times")),
        }
    }

    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.tried += 1;
        if ok {
            self.handled += 1;
        } else {
            self.problems.push(what());
        }
    }
}

/// The words the page shows for a failed call: its JSON body read back as a `ChatError`, the
/// way the browser bundle reads it. `None` if the body is anything else (a stack trace, HTML).
fn words(reply: &Reply) -> Option<String> {
    if !(400..600).contains(&reply.status) {
        return None;
    }
    serde_json::from_str::<app::errors::ChatError>(&reply.body)
        .ok()
        .map(|e| e.to_string())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let results = runtime.block_on(async {
        let standin = model_standin::start(0).await;
        vec![
            ("bad input", bad_input(&standin).await),
            (
                "200 sends / 50 sessions, model fails 20 %",
                concurrent_with_faults(&standin).await,
            ),
            (
                "server SIGKILLed mid-burst, restarted",
                killed_mid_burst(&standin).await,
            ),
            (
                "store stalls mid-run (emulator stopped, resumed)",
                store_outage(&standin).await,
            ),
        ]
    });

    println!("\nfault and bad-input suite\n");
    println!(
        "{:52} {:>6} {:>8} {:>5}",
        "scenario", "tried", "handled", "lost"
    );
    let mut failed = false;
    for (name, t) in &results {
        println!("{name:52} {:>6} {:>8} {:>5}", t.tried, t.handled, t.lost);
        for p in &t.problems {
            println!("    ! {p}");
        }
        failed |= !t.problems.is_empty() || t.lost > 0 || t.tried == 0;
    }
    let total = |f: fn(&Tally) -> usize| results.iter().map(|(_, t)| f(t)).sum::<usize>();
    println!(
        "{:52} {:>6} {:>8} {:>5}",
        "total",
        total(|t| t.tried),
        total(|t| t.handled),
        total(|t| t.lost)
    );
    if failed {
        eprintln!("\nfault suite FAILED");
        std::process::exit(1);
    }
}

async fn sqlite_server(dir: &std::path::Path, standin: &StandIn) -> Server {
    standin.set("gemma", Behaviour::default());
    Server::start(dir, &standin.url(), &[]).await
}

/// Every malformed thing a browser or a script can send: a clear 4xx, no model call, nothing
/// stored. Forged cookies are not errors: they get a fresh session of their own.
async fn bad_input(standin: &StandIn) -> Tally {
    let dir = tempfile::tempdir().expect("tempdir");
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

/// 50 sessions, then 200 sends at once (four tabs per session) while the model fails about one
/// call in five. Every session stays consistent, every failure is reported, nothing twice.
async fn concurrent_with_faults(standin: &StandIn) -> Tally {
    let dir = tempfile::tempdir().expect("tempdir");
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
        Behaviour {
            latency_ms: 20,
            fault: Some(Fault::Status500),
            fault_percent: Some(20),
            ..Behaviour::default()
        },
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
    for task in tasks {
        let (session, text, reply) = task.await.expect("send task");
        if reply.status == 200 {
            acknowledged.entry(session).or_default().push(text);
        } else {
            let clear = words(&reply).is_some_and(|w| w.contains("internal error"));
            if !clear {
                t.problems.push(format!(
                    "{text}: unclear error {} {}",
                    reply.status,
                    short(&reply.body)
                ));
            }
            refused.insert(text);
        }
    }
    standin.set("gemma", Behaviour::default());
    let failures = refused.len();
    if !(10..=80).contains(&failures) {
        t.problems.push(format!(
            "{failures} of 200 failed; the stand-in should fail about 40"
        ));
    }

    for v in &visitors {
        let session = v.session();
        let rows = stored_messages(&server.sqlite_path(), &session);
        let consistent = rows
            .iter()
            .enumerate()
            .all(|(i, r)| r.0 == i as i64 && r.1 == if i % 2 == 0 { "user" } else { "model" });
        if !consistent {
            t.problems.push(format!(
                "session {session} is not a clean user/model sequence"
            ));
        }
        let texts: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
        for text in acknowledged.get(&session).into_iter().flatten() {
            t.found(text, texts.iter().filter(|s| **s == text).count());
        }
        for text in texts.iter().filter(|s| refused.contains(**s)) {
            t.problems.push(format!("{text} failed but was stored"));
        }
    }
    t.tried += failures;
    t.handled += failures;
    t
}

/// A burst of turns, the server killed with SIGKILL in the middle of it, then started again on
/// the same file: every turn it acknowledged is there once, and no turn is half-written.
async fn killed_mid_burst(standin: &StandIn) -> Tally {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = sqlite_server(dir.path(), standin).await;
    let mut t = Tally::default();
    standin.set(
        "gemma",
        Behaviour {
            latency_ms: 150,
            ..Behaviour::default()
        },
    );
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
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let pid = server.pid();
    server.kill();
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.expect("burst task"));
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
        if !rows.len().is_multiple_of(2) || rows.iter().enumerate().any(|(i, r)| r.0 != i as i64) {
            t.problems
                .push(format!("session {session} has a half-written turn"));
        }
        for text in texts {
            t.found(text, rows.iter().filter(|r| &r.2 == text).count());
        }
    }
    // And it still works.
    let mut after = Visitor::new(&server);
    let reply = after.send("after the restart", "gemma").await;
    t.check(reply.status == 200, || {
        format!("after restart: {}", reply.status)
    });
    t
}

/// On Firestore (the emulator), the database stalls while turns are in flight: those turns are
/// reported "not saved" and are not kept, readiness drops, and once the database is back the
/// app recovers and every acknowledged turn is there.
async fn store_outage(standin: &StandIn) -> Tally {
    let mut t = Tally::default();
    let emulator = Emulator::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    standin.set("gemma", Behaviour::default());
    let server = Server::start(
        dir.path(),
        &standin.url(),
        &[
            ("CHAT_STORE", "firestore"),
            ("FIRESTORE_EMULATOR_HOST", emulator.host.as_str()),
            ("GOOGLE_CLOUD_PROJECT", "hybrid-chat-faults"),
            ("OWNER_KEY", support::OWNER_KEY),
        ],
    )
    .await;
    let mut me = Visitor::new(&server);
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let text = format!("before the outage {i}");
        let reply = me.send(&text, "gemma").await;
        t.check(reply.status == 200, || format!("{text}: {}", reply.status));
        acknowledged.push(text);
    }

    // The model is slow enough that the database stalls between reading the history and
    // writing the turn.
    standin.set(
        "gemma",
        Behaviour {
            latency_ms: 800,
            ..Behaviour::default()
        },
    );
    let during: Vec<_> = (0..3)
        .map(|i| {
            let mut tab = me.twin();
            tokio::spawn(async move {
                let text = format!("during the outage {i}");
                let reply = tab.send(&text, "gemma").await;
                (text, reply)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    emulator.pause();
    let mut probe = Visitor::new(&server);
    let store = probe.get("/healthz/store").await;
    t.check(store.status == 503, || {
        format!("/healthz/store during the outage: {}", store.status)
    });
    let ready = probe.get("/readyz").await;
    t.check(ready.status == 200, || {
        format!(
            "/readyz during a store outage (must stay in rotation): {}",
            ready.status
        )
    });
    let mut refused = Vec::new();
    for task in during {
        let (text, reply) = task.await.expect("send during outage");
        if reply.status == 200 {
            acknowledged.push(text);
            t.check(true, String::new);
        } else {
            let clear = reply.status == 503
                && words(&reply).is_some_and(|w| w.contains("could not be saved"));
            t.check(clear, || {
                format!("{text}: {} {}", reply.status, short(&reply.body))
            });
            refused.push(text);
        }
    }
    emulator.resume();
    standin.set("gemma", Behaviour::default());

    // Back: the next turns work (the first may still meet the reconnect).
    for i in 0..5 {
        let text = format!("after the outage {i}");
        let mut reply = me.send(&text, "gemma").await;
        if reply.status != 200 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            reply = me.send(&text, "gemma").await;
        }
        t.check(reply.status == 200, || format!("{text}: {}", reply.status));
        if reply.status == 200 {
            acknowledged.push(text);
        }
    }
    let page = me.get(&format!("/c/{}", me.session())).await.body;
    for text in &acknowledged {
        let shown = format!(r#"<p class="text">{text}</p>"#);
        t.found(text, page.matches(&shown).count());
    }
    for text in &refused {
        if page.contains(text.as_str()) {
            t.problems
                .push(format!("{text} was reported not saved but is stored"));
        }
    }
    if refused.is_empty() {
        t.problems
            .push("no turn met the stalled database; the scenario did not run".into());
    }
    t
}

fn short(body: &str) -> String {
    body.chars().take(160).collect()
}
