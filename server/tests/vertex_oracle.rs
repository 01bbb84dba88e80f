//! The Vertex AI request bodies the app sends, judged by an oracle neither the app nor its
//! stand-in wrote: Google's own `aiplatform v1` `GenerateContentRequest`, parsed strictly from
//! JSON by PyPI's google-cloud-aiplatform (`.ci/vertex_oracle.py`; `.ci/install` puts it in the
//! tools virtualenv). Every shape the app sends (thinking off, auto and a budget, a system
//! prompt, both models side by side, a long history) must pass; and the stand-in must refuse
//! exactly the bodies Google's types refuse, so its strictness is Google's, not ours.

use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};
use testkit::{SendForm, Stack, Visitor};

/// The oracle's interpreter: `VERTEX_ORACLE_PYTHON`, else the tools virtualenv of `.ci/install`.
fn oracle_python() -> String {
    if let Ok(p) = std::env::var("VERTEX_ORACLE_PYTHON") {
        return p;
    }
    let home = std::env::var("HOME").expect("HOME");
    let venv = format!("{home}/.cache/hybrid-chat/venv/bin/python");
    assert!(
        std::path::Path::new(&venv).exists(),
        "the Vertex oracle needs {venv} with google-cloud-aiplatform: run `bash .ci/install`"
    );
    venv
}

/// Google's verdict on each body: `Ok(())` or `Err(reason)`.
fn oracle(bodies: &[Value]) -> Vec<Result<(), String>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/vertex_oracle.py");
    let mut child = Command::new(oracle_python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the oracle");
    let mut input = String::new();
    for b in bodies {
        input.push_str(&b.to_string());
        input.push('\n');
    }
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write bodies");
    let out = child.wait_with_output().expect("oracle output");
    assert!(
        out.status.success(),
        "the oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<Result<(), String>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| match l {
            "ok" => Ok(()),
            other => Err(other.to_string()),
        })
        .collect();
    assert_eq!(verdicts.len(), bodies.len(), "one verdict per body");
    verdicts
}

/// Bodies the app sent to the stand-in, without the stand-in's own bookkeeping.
fn sent(model: &testkit::StandIn) -> Vec<Value> {
    model
        .requests("gemini")
        .into_iter()
        .map(|mut b| {
            if let Some(o) = b.as_object_mut() {
                o.retain(|k, _| !k.starts_with('_'));
            }
            b
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_shape_the_app_sends_passes_googles_own_schema() {
    let mut bodies = Vec::new();
    for (thinking, system) in [
        ("auto", None),
        ("off", Some("Answer like a sailor.")),
        ("4096", None),
    ] {
        let mut env = vec![("GEMINI_THINKING", thinking)];
        if let Some(s) = system {
            env.push(("SYSTEM_PROMPT", s));
        }
        let (_dir, model, server) = Stack::start(&env).await.into_parts();
        server.wait_for_gemini().await;
        let mut me = Visitor::new(&server);
        // A history that crosses models, then both side by side, then a small Max tokens.
        assert_eq!(me.send("hello gemma", "gemma").await.status, 200);
        assert_eq!(me.send("hello gemini", "gemini").await.status, 200);
        let chat = me.session();
        let both = me
            .call(
                "/api/compare",
                &[
                    ("chat", &chat),
                    ("message", "both of you"),
                    ("temperature", "0.3"),
                    ("top_p", "0.8"),
                    ("max_tokens", "64"),
                ],
            )
            .await;
        assert_eq!(both.status, 200, "{}", both.body);
        let form = SendForm::new("short")
            .model("gemini")
            .chat(&me.session())
            .max_tokens(1);
        assert_eq!(me.send_form(&form).await.status, 200);
        // Files (#28): a picture and a PDF inline, a text file as words, no words of its own.
        let with_files = thinking == "auto";
        if with_files {
            let files = [
                ("p.png", testkit::files::png(8, 8)),
                ("r.pdf", testkit::files::pdf()),
                ("n.md", b"# Notes\n".to_vec()),
            ];
            let form = SendForm::new("").model("gemini").chat(&me.session());
            let sent = me.send_files("/api/send", &form, &files, false).await;
            assert_eq!(sent.status, 200, "{}", sent.body);
        }
        let shapes = sent(&model);
        assert_eq!(shapes.len(), 3 + usize::from(with_files), "{thinking}");
        let budget = shapes[0]["generationConfig"]["thinkingConfig"]["thinkingBudget"].clone();
        let expected = match thinking {
            "auto" => json!(-1),
            "off" => json!(0),
            n => json!(n.parse::<i64>().expect("a number")),
        };
        assert_eq!(budget, expected);
        assert_eq!(shapes[1]["systemInstruction"].is_object(), system.is_some());
        bodies.extend(shapes);
    }
    for (body, verdict) in bodies.iter().zip(oracle(&bodies)) {
        assert_eq!(verdict, Ok(()), "Google's types refuse {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stand_in_refuses_exactly_what_googles_types_refuse() {
    let model = testkit::standin::start(0).await;
    let http = testkit::http().build().expect("client");
    let token: Value = http
        .post(format!("{}/token", model.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c")
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = token["access_token"].as_str().expect("a token").to_string();
    let user = json!([{"role": "user", "parts": [{"text": "hi"}]}]);
    let picture = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(testkit::files::png(4, 4))
    };
    let bodies = [
        // Accepted by both.
        json!({"contents": user}),
        json!({"contents": user, "generationConfig": {"maxOutputTokens": 100, "thinkingConfig": {"thinkingBudget": 0}}}),
        json!({"contents": user, "system_instruction": {"parts": [{"text": "x"}]}, "generation_config": {"top_p": 0.5, "thinking_config": {"include_thoughts": true}}}),
        json!({"contents": user, "generationConfig": {"thinkingConfig": {"thinkingBudget": -1, "includeThoughts": true}}}),
        json!({"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": picture}}, {"text": "what is it?"}]}]}),
        json!({"contents": [{"role": "user", "parts": [{"inline_data": {"mime_type": "image/png", "data": picture}}]}]}),
        // Refused by both: misplaced, unknown or mistyped names.
        json!({"contents": user, "generationConfig": {"thinkingBudget": 0}}),
        json!({"contents": user, "thinkingConfig": {"thinkingBudget": 0}}),
        json!({"contents": user, "generationConfig": {"maxTokens": 10}}),
        json!({"contents": [{"role": "user", "parts": [{"txt": "hi"}]}]}),
        json!({"contents": [{"role": "user", "text": "hi"}]}),
        json!({"contents": user, "generationConfig": {"temperature": "warm"}}),
        json!({"contents": user, "generationConfig": {"thinkingConfig": {"budget": 10}}}),
        json!({"contents": user, "systemInstruction": {"parts": [{"text": "x"}], "name": "s"}}),
        json!({"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "bytes": picture}}]}]}),
        json!({"contents": [{"role": "user", "parts": [{"inlineData": {"mime": "image/png", "data": picture}}]}]}),
    ];
    let url = format!(
        "{}/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:generateContent",
        model.url()
    );
    let google = oracle(&bodies);
    for (body, google) in bodies.iter().zip(google) {
        let answer = http
            .post(&url)
            .bearer_auth(&token)
            .json(body)
            .send()
            .await
            .expect("stand-in");
        let status = answer.status().as_u16();
        let said: Value = answer.json().await.expect("json");
        match google {
            Ok(()) => assert_eq!(
                status, 200,
                "Google accepts {body}; the stand-in said {said}"
            ),
            Err(why) => {
                assert_eq!(
                    status, 400,
                    "Google refuses {body} ({why}); the stand-in said {said}"
                );
                assert_eq!(said["error"]["status"], "INVALID_ARGUMENT", "{said}");
                assert_eq!(said["error"]["code"], 400);
            }
        }
    }
    // Values in range are the stand-in's own check, from Vertex's docs (Google's types do not
    // range-check): a thinking budget past Flash's 24,576 is a 400.
    let answer = http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"contents": user, "generationConfig": {"thinkingConfig": {"thinkingBudget": 30000}}}))
        .send()
        .await
        .expect("stand-in");
    assert_eq!(answer.status().as_u16(), 400);
}
