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
