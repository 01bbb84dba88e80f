//! Files in a message (issue #28), over HTTP against the real server: stored by content and
//! stripped of location, sent to the models in their wire formats (checked by the stand-ins),
//! shown again after a reload, served to their owner only, refused with nothing stored, and
//! deleted with their chat or swept when never sent. The Firestore and Cloud Storage half is in
//! `attachments/cloud.rs`.

#[path = "attachments/access.rs"]
mod access;
#[path = "attachments/cloud.rs"]
mod cloud;
#[path = "attachments/composer.rs"]
mod composer;
#[path = "attachments/refusals.rs"]
mod refusals;
#[path = "attachments/room.rs"]
mod room;

use base64::Engine;
use serde_json::Value;
use std::path::Path;
use testkit::files::{gif, pdf, png, GPS};
use testkit::{Reply, SendForm, Stack, Visitor};

/// The files stored in a folder store (no partial files).
pub fn stored_files(dir: &Path) -> Vec<Vec<u8>> {
    std::fs::read_dir(dir.join("attachments"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// How many file records and messages the SQLite file holds.
pub fn counts(db: &Path) -> (i64, i64) {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let one = |sql: &str| conn.query_row(sql, [], |r| r.get(0)).expect(sql);
    (
        one("SELECT COUNT(*) FROM attachments"),
        one("SELECT COUNT(*) FROM messages"),
    )
}

/// The ids of the files the page shows (`/attachments/ID` in thumbnails and links).
pub fn shown_files(page: &str) -> Vec<String> {
    app::chat::ssr::file_ids(page)
}

/// The pictures (MIME type, bytes) the stand-in's last request to `backend` carried.
pub fn pictures_sent(stack_model: &testkit::StandIn, backend: &str) -> Vec<(String, Vec<u8>)> {
    let b64 = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("base64")
    };
    let requests = stack_model.requests(backend);
    let last = requests.last().cloned().unwrap_or(Value::Null);
    let mut out = Vec::new();
    // vLLM: the last user message's `image_url` parts.
    for m in last["messages"].as_array().into_iter().flatten() {
        for part in m["content"].as_array().into_iter().flatten() {
            if let Some(url) = part.pointer("/image_url/url").and_then(Value::as_str) {
                let (mime, data) = url
                    .trim_start_matches("data:")
                    .split_once(";base64,")
                    .expect("data URL");
                out.push((mime.to_string(), b64(data)));
            }
        }
    }
    // Vertex: `inlineData` parts.
    for c in last["contents"].as_array().into_iter().flatten() {
        for part in c["parts"].as_array().into_iter().flatten() {
            if let Some(blob) = part.get("inlineData") {
                let mime = blob["mimeType"].as_str().unwrap_or_default().to_string();
                out.push((mime, b64(blob["data"].as_str().unwrap_or_default())));
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Waits until the chat's page no longer shows a pending turn.
pub async fn settled(visitor: &mut Visitor) -> Reply {
    let path = format!("/c/{}", visitor.session());
    visitor.get_settled(&path).await
}

#[tokio::test]
async fn a_picture_without_javascript_reaches_gemma_stripped_and_comes_back_after_a_reload() {
    let stack = Stack::start(&[]).await;
    let mut ana = Visitor::new(&stack.server);
    let sent = ana
        .send_files(
            "/api/send",
            &SendForm::new("What is in this picture?").model("gemma"),
            &[("holiday.png", png(640, 480))],
            true,
        )
        .await;
    assert_eq!(sent.status, 302, "{}", sent.body);
    let page = settled(&mut ana).await;

    // Stored once, without its GPS tag, XMP or text.
    let stored = stored_files(stack.dir.path());
    assert_eq!(stored.len(), 1);
    assert!(!contains(&stored[0], GPS), "location metadata stripped");
    assert!(!contains(&stored[0], b"xmpmeta"));

    // Gemma got it as an OpenAI image part, the bytes as stored.
    let pictures = pictures_sent(&stack.model, "gemma");
    assert_eq!(pictures, [("image/png".to_string(), stored[0].clone())]);

    // The page shows it, served from this origin with its sniffed type, to its owner.
    let ids = shown_files(&page.body);
    assert_eq!(ids.len(), 1, "{}", page.body);
    assert!(page.body.contains(r#"width="640" height="480""#));
    let file = ana.get(&format!("/attachments/{}", ids[0])).await;
    assert_eq!(file.status, 200);
    let served = ana.get_bytes(&format!("/attachments/{}", ids[0])).await;
    assert_eq!(served.0, "image/png");
    assert!(served.1 == stored[0]);
    assert!(served.2.contains("nosniff"), "{}", served.2);

    // Another browser, and a browser with no cookie, get the same 404 as a made-up id.
    let mut bob = Visitor::new(&stack.server);
    assert_eq!(
        bob.get(&format!("/attachments/{}", ids[0])).await.status,
        404
    );
    assert_eq!(
        bob.get(&format!("/attachments/{}", "a".repeat(32)))
            .await
            .status,
        404
    );
    assert_eq!(ana.get("/attachments/..%2Fowner.key").await.status, 404);
}

#[tokio::test]
async fn ask_both_sends_the_picture_to_each_in_its_own_wire_and_a_pdf_goes_to_gemini() {
    let stack = Stack::start(&[]).await;
    let mut ana = Visitor::new(&stack.server);
    let both = ana
        .send_files(
            "/api/compare",
            &SendForm::new("Compare these").without("model"),
            &[
                ("a.png", png(32, 32)),
                ("b.jpg", testkit::files::jpeg(64, 48)),
            ],
            false,
        )
        .await;
    assert_eq!(both.status, 200, "{}", both.body);
    let to_gemma = pictures_sent(&stack.model, "gemma");
    let to_gemini = pictures_sent(&stack.model, "gemini");
    let kinds = |p: &[(String, Vec<u8>)]| p.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>();
    assert_eq!(kinds(&to_gemma), ["image/png", "image/jpeg"]);
    assert_eq!(kinds(&to_gemini), ["image/png", "image/jpeg"]);
    assert_eq!(to_gemma, to_gemini, "the same bytes to both");

    // The next turn carries the earlier pictures in its history; a PDF goes to Gemini only.
    let next = ana
        .send_files(
            "/api/send",
            &SendForm::new("And this document?").model("gemini"),
            &[("notes.pdf", pdf())],
            false,
        )
        .await;
    assert_eq!(next.status, 200, "{}", next.body);
    let kinds_now = kinds(&pictures_sent(&stack.model, "gemini"));
    assert_eq!(kinds_now, ["image/png", "image/jpeg", "application/pdf"]);
    let page = settled(&mut ana).await;
    assert!(
        page.body.contains("notes.pdf, "),
        "the PDF is a link with its name and size"
    );
    let (_, messages) = counts(&stack.server.sqlite_path());
    assert_eq!(messages, 5, "two turns: a pair of replies and one");

    // A GIF goes to Gemma (its first frame); Gemini does not read GIFs.
    let gif_to_gemma = ana
        .send_files(
            "/api/send",
            &SendForm::new("Animated?").model("gemma"),
            &[("a.gif", gif(16, 9))],
            false,
        )
        .await;
    assert_eq!(gif_to_gemma.status, 200, "{}", gif_to_gemma.body);
    assert_eq!(
        kinds(&pictures_sent(&stack.model, "gemma"))
            .last()
            .map(String::as_str),
        Some("image/gif")
    );
}

#[tokio::test]
async fn deleting_a_chat_deletes_its_files_and_unsent_files_are_swept() {
    let stack = Stack::start(&[("FILE_SWEEP_SECS", "0.5"), ("FILE_UNSENT_SECS", "2")]).await;
    let mut ana = Visitor::new(&stack.server);
    let sent = ana
        .send_files(
            "/api/send",
            &SendForm::new("Keep this").model("gemma"),
            &[("a.png", png(8, 8))],
            false,
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    // A send refused after its files were stored (a model nobody serves): they wait, unsent.
    let refused = ana
        .send_files(
            "/api/send",
            &SendForm::new("Keep this too").model("gpt-4"),
            &[("b.png", png(9, 9))],
            false,
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(stored_files(stack.dir.path()).len(), 2);

    // Swept once two seconds old; the sent one stays.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_eq!(
        stored_files(stack.dir.path()).len(),
        1,
        "the unsent file is swept"
    );
    assert_eq!(counts(&stack.server.sqlite_path()).0, 1);
    let page = settled(&mut ana).await;
    let id = shown_files(&page.body).pop().expect("shown");
    assert_eq!(ana.get(&format!("/attachments/{id}")).await.status, 200);

    let chat = ana.session();
    let deleted = ana.call("/api/delete_session", &[("id", &chat)]).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(
        stored_files(stack.dir.path()).is_empty(),
        "its file is gone with it"
    );
    assert_eq!(counts(&stack.server.sqlite_path()), (0, 0));
    assert_eq!(ana.get(&format!("/attachments/{id}")).await.status, 404);
}

#[tokio::test]
async fn an_edit_sends_its_files_again_and_the_other_model_says_what_it_cannot_read() {
    let stack = Stack::start(&[]).await;
    let mut ana = Visitor::new(&stack.server);
    let sent = ana
        .send_files(
            "/api/send",
            &SendForm::new("Read this").model("gemini"),
            &[("n.pdf", pdf())],
            false,
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let chat = ana.session();

    // The Edit link's page carries the message's files in the form; the edit sends them again.
    let editing = ana.get(&format!("/c/{chat}?edit=0")).await;
    let ids = shown_files(&editing.body);
    assert_eq!(ids.len(), 1);
    let hidden = format!(r#"name="attachments" value="{}""#, ids[0]);
    assert!(
        editing.body.contains(&hidden),
        "the edit form carries the file"
    );
    let edit = SendForm::new("Read this, briefly")
        .model("gemini")
        .set("edits", "0")
        .set("attachments", &ids[0]);
    let edited = ana.send_form(&edit).await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    let kinds: Vec<String> = pictures_sent(&stack.model, "gemini")
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    assert_eq!(
        kinds,
        ["application/pdf"],
        "the edited message's PDF, once (the replaced turn is out of the prompt)"
    );

    // Asking Gemma the same turn: it cannot read the PDF, and the turn says so.
    let again = ana
        .call(
            "/api/ask_again",
            &[("chat", &chat), ("seq", "2"), ("model", "gemma")],
        )
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("NotReadBy"), "{}", again.body);
    assert!(
        stack.model.requests("gemma").is_empty(),
        "Gemma was not asked without the PDF"
    );
    // Someone else's file id, named in a send, is refused like a missing one.
    let mut bob = Visitor::new(&stack.server);
    let stolen = bob
        .send_form(
            &SendForm::new("mine now")
                .model("gemini")
                .set("attachments", &ids[0]),
        )
        .await;
    assert_eq!(stolen.status, 400, "{}", stolen.body);
    assert!(stolen.body.contains("Gone"), "{}", stolen.body);
}
