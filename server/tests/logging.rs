//! On GKE the server logs Cloud Logging's structured JSON: checked on the real binary.

use serde_json::Value;
use testkit::standin;
use testkit::{Server, Stack, Visitor};

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_carry_severity_request_id_and_trace_but_never_message_text() {
    let (dir, _model, server) = Stack::start(&[
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info,tower_http=debug"),
        ("GOOGLE_CLOUD_PROJECT", "my-proj"),
    ])
    .await
    .into_parts();
    let mut me = Visitor::new(&server);
    me.get("/").await; // the page load issues the owner a send needs
    let send = me
        .client
        .post(format!("{}/api/send", server.url))
        .header("cookie", me.owner.clone().expect("owner cookie"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header(
            "x-cloud-trace-context",
            "105445aa7843bc8bf206b12000100000/1;o=1",
        )
        .body("message=my+secret+words&model=gemma&temperature=0.9&top_p=0.95&max_tokens=100")
        .send()
        .await
        .expect("send");
    assert_eq!(send.status(), 200);
    let status = server.stop();
    assert!(status.success());

    let log = std::fs::read_to_string(dir.path().join("server.log")).expect("log");
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 3, "{log}");
    for line in &lines {
        let severity = line["severity"].as_str().unwrap_or("");
        assert!(
            ["DEBUG", "INFO", "WARNING", "ERROR"].contains(&severity),
            "{line}"
        );
        assert!(line["timestamp"]["seconds"].is_u64(), "{line}");
        assert!(
            line.get("level").is_none(),
            "Cloud Logging reads severity, not level"
        );
    }
    let answered = lines
        .iter()
        .find(|l| l["message"] == "turn answered")
        .unwrap_or_else(|| panic!("no 'turn answered' line in {log}"));
    assert_eq!(answered["model"], "gemma");
    assert_eq!(answered["path"], "/api/send");
    assert!(
        answered["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 16),
        "{answered}"
    );
    assert_eq!(
        answered["logging.googleapis.com/trace"],
        "projects/my-proj/traces/105445aa7843bc8bf206b12000100000"
    );
    assert!(
        !log.contains("secret words"),
        "message text must not be logged"
    );
    assert!(lines
        .iter()
        .any(|l| l["message"] == "shutting down: listener closed, finishing requests in flight"));
}

/// On a laptop without Google credentials, start-up says once why Gemini is off and where it
/// looked, and gcp_auth's metadata-server retries stay out of the log.
#[tokio::test(flavor = "multi_thread")]
async fn start_up_without_credentials_is_one_clear_line_not_a_page_of_retries() {
    let dir = testkit::tempdir();
    let model = standin::start(0).await;
    let server = Server::start(
        dir.path(),
        &model.url(),
        &[
            ("GOOGLE_APPLICATION_CREDENTIALS", testkit::UNSET),
            ("RUST_LOG", ""),
            // A laptop has a home; without one gcp_auth gives up before the metadata server.
            ("HOME", dir.path().to_str().expect("utf-8 path")),
        ],
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server.log().contains("Gemini is not configured") && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = server.log();
    let gemini: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Gemini is not configured"))
        .collect();
    assert_eq!(gemini.len(), 1, "{log}");
    assert!(
        gemini[0].contains("GOOGLE_APPLICATION_CREDENTIALS: unset")
            && gemini[0].contains("GKE metadata server"),
        "{log}"
    );
    assert!(!log.contains("gcp_auth"), "no gcp_auth retries: {log}");
    let warnings = log.lines().filter(|l| l.contains("WARN")).count();
    assert_eq!(warnings, 1, "only the Gemini line warns: {log}");
    drop(server);

    // The retries are there to be seen when asked for: the quiet above is the filter's doing.
    let dir = testkit::tempdir();
    let server = Server::start(
        dir.path(),
        &model.url(),
        &[
            ("GOOGLE_APPLICATION_CREDENTIALS", testkit::UNSET),
            ("RUST_LOG", "warn,gcp_auth=warn"),
            ("HOME", dir.path().to_str().expect("utf-8 path")),
        ],
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server.log().contains("Gemini is not configured") && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(server.log().contains("gcp_auth"), "{}", server.log());
}
