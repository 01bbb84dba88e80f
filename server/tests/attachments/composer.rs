//! What the composer does with JavaScript (`public/attach.js`): each file goes up on its own to
//! `POST /api/attach` and the send names it; and what text becomes: text files are words the
//! models read, and a message too long for the box goes whole as a text file rather than cut.

use super::{counts, pictures_sent, settled, shown_files, stored_files};
use app::attachment::FileRefusal;
use app::params::MAX_MESSAGE_CHARS;
use serde_json::Value;
use testkit::files::{png, svg};
use testkit::{SendForm, Stack, Visitor};

/// The words of the last user message the stand-in's `backend` received.
fn last_words(stack: &Stack, backend: &str) -> String {
    let requests = stack.model.requests(backend);
    let last = requests.last().cloned().unwrap_or(Value::Null);
    let from_vertex = last["contents"].as_array().and_then(|c| c.last()).map(|c| {
        c["parts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["text"].as_str())
            .collect::<String>()
    });
    let from_vllm =
        last["messages"]
            .as_array()
            .and_then(|m| m.last())
            .map(|m| match &m["content"] {
                Value::String(s) => s.clone(),
                parts => parts
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["text"].as_str())
                    .collect(),
            });
    from_vertex.or(from_vllm).unwrap_or_default()
}

#[tokio::test]
async fn files_go_up_first_and_the_send_names_them_words_or_not() {
    let stack = Stack::start(&[]).await;
    let mut ana = Visitor::new(&stack.server);
    let notes = b"# Notes\n- alpha\n- \xce\xb2eta\n".to_vec();
    let up = ana
        .attach(&[("cat.png", png(64, 48)), ("notes.md", notes.clone())], 0)
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    let files = up.json();
    let files = files.as_array().expect("a list");
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["kind"], "png");
    assert_eq!(files[0]["image"], true);
    assert_eq!(files[0]["read_by"], serde_json::json!(["gemma", "gemini"]));
    assert_eq!(files[1]["kind"], "text");
    assert_eq!(files[1]["image"], false);
    assert_eq!(files[1]["label"], "notes.md, 24 bytes");
    assert_eq!(stored_files(stack.dir.path()).len(), 2);
    assert_eq!(counts(&stack.server.sqlite_path()).1, 0, "no message yet");

    // Sent with no words at all: the picture alone, the notes as words Gemini reads.
    let ids: Vec<&str> = files.iter().filter_map(|f| f["id"].as_str()).collect();
    let sent = ana
        .send_form(
            &SendForm::new("")
                .model("gemini")
                .set("attachments", ids.join(",")),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let pictures = pictures_sent(&stack.model, "gemini");
    assert_eq!(pictures.len(), 1, "the picture as inlineData");
    assert_eq!(pictures[0].0, "image/png");
    assert_eq!(
        last_words(&stack, "gemini"),
        "<file name=\"notes.md\">\n# Notes\n- alpha\n- βeta\n</file>",
        "the text file as words, no empty text part"
    );

    // Shown again after a reload, named for its first file in the chat list.
    let page = settled(&mut ana).await;
    assert_eq!(shown_files(&page.body), ids);
    assert!(page.body.contains("cat.png"), "{}", page.body);
    let (kind, bytes, headers) = ana.get_bytes(&format!("/attachments/{}", ids[1])).await;
    assert_eq!(kind, "text/plain; charset=utf-8");
    assert_eq!(bytes, notes);
    assert!(headers.contains("attachment; filename"), "{headers}");

    // A text file longer than Gemma's context is refused as a message too long for it.
    let book = ana
        .attach(&[("book.txt", "word ".repeat(40_000).into_bytes())], 0)
        .await;
    let id = book.json()[0]["id"].as_str().expect("an id").to_string();
    let refused = ana
        .send_form(
            &SendForm::new("Summarise it")
                .model("gemma")
                .set("attachments", &id),
        )
        .await;
    assert!(refused.body.contains("ContextTooLong"), "{}", refused.body);
}

#[tokio::test]
async fn an_attach_is_refused_in_words_with_nothing_stored() {
    let stack = Stack::start(&[]).await;
    let mut ana = Visitor::new(&stack.server);
    let too_long_text = vec![b'a'; 1_000_001];
    for (held, file, why) in [
        (4, ("a.png", png(4, 4)), None),
        (5, ("b.png", png(4, 4)), Some(FileRefusal::TooMany)),
        (0, ("drawing.svg", svg()), Some(FileRefusal::WebPage)),
        (0, ("long.txt", too_long_text), Some(FileRefusal::TooLarge)),
        (
            0,
            ("binary.txt", b"text\0with a NUL".to_vec()),
            Some(FileRefusal::Unsupported),
        ),
    ] {
        let before = stored_files(stack.dir.path()).len();
        let name = file.0;
        let reply = ana.attach(&[file], held).await;
        match why {
            None => assert_eq!(reply.status, 200, "{name}: {}", reply.body),
            Some(why) => {
                assert_eq!(reply.status, 400, "{name}: {}", reply.body);
                let body = reply.json();
                assert_eq!(body["code"], format!("input.file.{}", why.code()), "{name}");
                assert_eq!(body["message"], why.to_string(), "{name}");
                assert_eq!(stored_files(stack.dir.path()).len(), before, "{name}");
            }
        }
    }
    // A stranger's post is refused like any other request without the page's owner cookie.
    let stranger = reqwest::Client::new()
        .post(format!("{}/api/attach", stack.server.url))
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x--\r\n")
        .send()
        .await
        .expect("POST");
    assert_ne!(stranger.status(), 200);
}

#[tokio::test]
async fn a_message_too_long_for_the_box_goes_whole_as_a_text_file_without_javascript() {
    let stack = Stack::start(&[]).await;
    let mut ana = Visitor::new(&stack.server);
    // A paste of 40,000 characters, past the box's 32,000: nothing cuts it without JavaScript
    // (the served box has no `maxlength`), and the server keeps it whole.
    let long: String = (0..8_000).map(|i| format!("{:04} ", i % 10_000)).collect();
    assert!(long.chars().count() > MAX_MESSAGE_CHARS);
    let sent = ana
        .send_files(
            "/api/send",
            &SendForm::new(&long).model("gemini"),
            &[],
            true,
        )
        .await;
    assert_eq!(sent.status, 302, "{}", sent.body);
    let location = sent.location.clone().unwrap_or_default();
    assert!(!location.contains("err="), "not refused: {location}");
    let page = settled(&mut ana).await;
    assert!(page.body.contains("message.txt"), "{}", page.body);
    let stored = stored_files(stack.dir.path());
    assert_eq!(stored, [long.trim().as_bytes().to_vec()]);
    let words = last_words(&stack, "gemini");
    assert!(
        words.starts_with("<file name=\"message.txt\">\n0000 0001"),
        "{}",
        &words[..80]
    );
    assert!(words.ends_with("7998 7999\n</file>"), "the whole of it");

    // With JavaScript the box's `maxlength` holds typing to the limit and a longer paste
    // becomes a file in the browser; a request past it anyway is refused with the count.
    let refused = ana.send_form(&SendForm::new(&long).model("gemini")).await;
    assert_eq!(refused.status, 400);
    let chars = long.trim().chars().count().to_string();
    assert!(refused.body.contains(&chars), "{}", refused.body);
    let message_box = page
        .body
        .split("<textarea")
        .find(|t| t.contains(r#"id="message""#))
        .and_then(|t| t.split('>').next())
        .expect("the message box");
    assert!(
        !message_box.contains("maxlength"),
        "the served box does not cut: {message_box}"
    );
}
