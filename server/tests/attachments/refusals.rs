//! Every refusal stores nothing: no file, no record, no message, no model called.

use super::{counts, stored_files};
use app::attachment::FileRefusal;
use testkit::files::{gif, html, pdf, png, svg};
use testkit::{SendForm, Stack, Visitor};

/// The refusal a no-JavaScript post was sent back with (its `err` code).
fn code_in(location: &str) -> String {
    location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("err="))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn refused_files_store_nothing_and_say_why() {
    let stack = Stack::start(&[("FILE_MB_PER_DAY", "3")]).await;
    let mut ana = Visitor::new(&stack.server);
    let bomb = png(100_000, 100_000);
    let big = testkit::files::png_of_size(100, 100, 7_000_001);
    let six: Vec<(&str, Vec<u8>)> = (0..6).map(|_| ("p.png", png(4, 4))).collect();
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, Vec<u8>)>, FileRefusal);
    let cases: Vec<Case> = vec![
        (
            "/api/send",
            "gemma",
            vec![("drawing.svg", svg())],
            FileRefusal::WebPage,
        ),
        (
            "/api/send",
            "gemma",
            vec![("cat.png", html())],
            FileRefusal::WebPage,
        ),
        (
            "/api/send",
            "gemma",
            vec![("a.exe", b"MZ\x90\0".to_vec())],
            FileRefusal::Unsupported,
        ),
        (
            "/api/send",
            "gemma",
            vec![("huge.png", bomb)],
            FileRefusal::TooManyPixels,
        ),
        (
            "/api/send",
            "gemma",
            vec![("big.png", big)],
            FileRefusal::TooLarge,
        ),
        ("/api/send", "gemma", six, FileRefusal::TooMany),
        (
            "/api/send",
            "gemma",
            vec![("notes.pdf", pdf())],
            FileRefusal::NotReadBy(app::models::ModelId::Gemma),
        ),
        (
            "/api/send",
            "gemini",
            vec![("a.gif", gif(4, 4))],
            FileRefusal::NotReadBy(app::models::ModelId::Gemini),
        ),
    ];
    for (path, model, files, why) in cases {
        let before = counts(&stack.server.sqlite_path());
        let form = SendForm::new("look").model(model);
        // Without JavaScript: back to the page, with the refusal's code.
        let page = ana.send_files(path, &form, &files, true).await;
        assert_eq!(page.status, 302, "{why:?}: {}", page.body);
        let location = page.location.clone().unwrap_or_default();
        assert_eq!(
            code_in(&location),
            format!("input.file.{}", why.code()),
            "{location}"
        );
        // The words go back with it, and the page serves them in the message box.
        assert!(location.contains("draft=look"), "{location}");
        // With a script: 400 and the refusal as JSON.
        let json = ana.send_files(path, &form, &files, false).await;
        assert_eq!(json.status, 400, "{why:?}: {}", json.body);
        assert!(json.body.contains("File"), "{}", json.body);
        // Nothing kept: files stored before the refusal came (five of six, a PDF whose model
        // was named after it) are deleted before it is answered.
        assert_eq!(counts(&stack.server.sqlite_path()), before, "{why:?}");
        assert!(stored_files(stack.dir.path()).is_empty(), "{why:?}");
    }
    assert!(
        stack.model.requests("gemma").is_empty(),
        "no model was called"
    );
    let form = SendForm::new("what is <this>?").model("gemma");
    let refused = ana
        .send_files("/api/send", &form, &[("n.pdf", pdf())], true)
        .await;
    let location = refused.location.unwrap_or_default();
    let back = ana.get(&location).await;
    let textarea = back
        .body
        .find("<textarea")
        .map(|at| &back.body[at..(at + 400).min(back.body.len())]);
    assert!(
        back.body.contains(">what is &lt;this&gt;?</textarea>"),
        "the page serves the refused words in the box: {location} {textarea:?}"
    );
    // A link anyone can write puts words in the box at most: never markup in the page.
    let crafted = ana
        .get("/?err=input.file.too_large&draft=%3C%2Ftextarea%3E%3Cb%3Einjected%3C%2Fb%3E")
        .await;
    assert!(
        !crafted.body.contains("<b>injected"),
        "markup escaped the box"
    );
    assert!(crafted
        .body
        .contains(">&lt;/textarea&gt;&lt;b&gt;injected&lt;/b&gt;</textarea>"));
    assert!(stack.model.requests("gemini").is_empty());

    // The day's quota (3 MB here): two 1.4 MB pictures pass, the third is refused.
    let picture = || testkit::files::png_of_size(100, 100, 1_400_000);
    for n in 0..2 {
        let ok = ana
            .send_files(
                "/api/send",
                &SendForm::new("ok").model("gemma"),
                &[("p.png", picture())],
                false,
            )
            .await;
        assert_eq!(ok.status, 200, "picture {n}: {}", ok.body);
    }
    let over = ana
        .send_files(
            "/api/send",
            &SendForm::new("one more").model("gemma"),
            &[("p.png", picture())],
            true,
        )
        .await;
    assert_eq!(
        code_in(&over.location.unwrap_or_default()),
        "input.file.quota"
    );
}

#[tokio::test]
async fn cross_site_and_oversized_posts_are_refused_before_any_file_is_read() {
    let stack = Stack::start(&[]).await;
    let mut ana = Visitor::new(&stack.server);
    ana.get("/").await;
    let owner = ana.owner();
    let cookie = format!(
        "hc_owner={}",
        testkit::owner_cookie(
            stack.dir.path(),
            &app::session::OwnerId::parse(&owner).expect("owner")
        )
        .split_once('=')
        .map_or("", |(_, v)| v)
    );
    let client = testkit::http().build().expect("client");
    let body =
        b"--b\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhi\r\n--b--\r\n".to_vec();
    for path in ["/api/send", "/api/attach"] {
        let cross = client
            .post(format!("{}{path}", stack.server.url))
            .header("content-type", "multipart/form-data; boundary=b")
            .header("cookie", &cookie)
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .body(body.clone())
            .send()
            .await
            .expect("post");
        assert_eq!(cross.status().as_u16(), 403, "{path}");
    }
    let huge = client
        .post(format!("{}/api/send", stack.server.url))
        .header("content-type", "multipart/form-data; boundary=b")
        .header("cookie", &cookie)
        .header("content-length", "30000000")
        .body(vec![0u8; 1024])
        .send()
        .await;
    if let Ok(r) = huge {
        assert_eq!(r.status().as_u16(), 413);
    }
    assert!(stored_files(stack.dir.path()).is_empty());
    assert_eq!(counts(&stack.server.sqlite_path()), (0, 0));
}

/// Files wait on disk as they arrive (`UPLOAD_SPOOL_MB`), and a post with files has a deadline
/// of its own (`UPLOAD_READ_TIMEOUT_SECS`): slow senders, more of them than the server has
/// upload workers, hold none of them, and each is refused once its time is up.
#[tokio::test]
async fn a_full_spool_refuses_in_words_and_slow_uploads_hold_no_worker() {
    let stack = Stack::start(&[("UPLOAD_SPOOL_MB", "1"), ("UPLOAD_READ_TIMEOUT_SECS", "3")]).await;
    let mut ana = Visitor::new(&stack.server);
    ana.get("/").await;

    // More than the spool holds at once: refused while it arrives, in the app's words.
    let big = testkit::files::png_of_size(100, 100, 1_400_000);
    let refused = ana.attach(&[("big.png", big)], 0).await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    let body: serde_json::Value = serde_json::from_str(&refused.body).expect("json");
    assert_eq!(body["code"], "files.busy", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("many files"),
        "{body}"
    );
    assert!(stored_files(stack.dir.path()).is_empty());
    // The room it took is given back, and so is each stored file's.
    for n in 0..3 {
        let ok = ana
            .attach(
                &[("p.png", testkit::files::png_of_size(100, 100, 600_000))],
                0,
            )
            .await;
        assert_eq!(ok.status, 200, "upload {n}: {}", ok.body);
    }

    // Six senders (the server has four upload workers) start a picture and stall.
    let addr = stack.server.url.trim_start_matches("http://").to_string();
    let cookie = ana.cookie_header().expect("an owner cookie");
    let slow: Vec<_> = (0..6)
        .map(|_| {
            let (addr, cookie) = (addr.clone(), cookie.clone());
            tokio::spawn(async move { stalled_upload(&addr, &cookie).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Meanwhile an ordinary upload goes through at once.
    let started = std::time::Instant::now();
    let ok = ana.attach(&[("q.png", png(4, 4))], 0).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "an upload beside stalled ones took {:?}",
        started.elapsed()
    );
    for sender in slow {
        let (status, held) = sender.await.expect("sender");
        assert_eq!(status, 408, "a stalled upload was answered {status}");
        assert!(
            held < std::time::Duration::from_secs(3 + 3),
            "a stalled upload was held {held:?}"
        );
    }
    // The three pictures and the one beside the stalled senders; nothing of theirs.
    assert_eq!(stored_files(stack.dir.path()).len(), 4);
}

/// Posts the start of a picture to `/api/attach`, then waits, sending nothing more: the answer's
/// status and how long the server took to give it.
async fn stalled_upload(addr: &str, cookie: &str) -> (u16, std::time::Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = std::time::Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let part = "--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"p.png\"\r\n\
                Content-Type: image/png\r\n\r\n";
    let head = format!(
        "POST /api/attach HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 2000000\r\n\r\n{part}"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(&png(4, 4)[..20]).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut answer),
    )
    .await;
    let status = String::from_utf8_lossy(&answer)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, started.elapsed())
}
