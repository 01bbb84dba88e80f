//! On GKE's stores: chats in Firestore (Google's emulator) and files in Cloud Storage
//! (fake-gcs-server), both started here. A picture is kept in the bucket and its record in
//! `chat_files`; deleting the chat deletes both; a file never sent is swept from both.

use super::{pictures_sent, settled, shown_files};
use testkit::fake_gcs::FakeGcs;
use testkit::files::png;
use testkit::{Emulator, SendForm, Stack, Visitor};

const PROJECT: &str = "hybrid-chat-files";

/// Chats in the Firestore emulator, files in fake-gcs-server, and a server on both.
async fn cloud_stack(extra: &[(&str, &str)]) -> (Emulator, FakeGcs, Stack) {
    let emulator = Emulator::start().await;
    let gcs = FakeGcs::start().await;
    let mut owned = emulator.server_env(PROJECT);
    owned.extend(gcs.server_env());
    let mut env: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend_from_slice(extra);
    let stack = Stack::start(&env).await;
    (emulator, gcs, stack)
}

#[tokio::test(flavor = "multi_thread")]
async fn on_firestore_and_cloud_storage_files_are_kept_served_deleted_and_swept() {
    let (emulator, gcs, stack) =
        cloud_stack(&[("FILE_SWEEP_SECS", "0.5"), ("FILE_UNSENT_SECS", "2")]).await;
    let files = || emulator.documents(PROJECT, "chat-app-db", "chat_files");

    let mut ana = Visitor::new(&stack.server);
    let sent = ana
        .send_files(
            "/api/send",
            &SendForm::new("What is this?").model("gemini"),
            &[("p.png", png(50, 40))],
            false,
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let objects = gcs.objects().await;
    assert_eq!(objects.len(), 1, "the picture is in the bucket");
    assert_eq!(files().await.len(), 1, "and its record in Firestore");
    let sent_to_gemini = pictures_sent(&stack.model, "gemini");
    assert_eq!(sent_to_gemini.len(), 1);
    assert_eq!(sent_to_gemini[0].0, "image/png");

    // After a reload, from another replica's point of view too: the page and the file.
    let page = settled(&mut ana).await;
    assert_eq!(shown_files(&page.body), objects);
    let (kind, bytes, _) = ana.get_bytes(&format!("/attachments/{}", objects[0])).await;
    assert_eq!(kind, "image/png");
    assert!(bytes == sent_to_gemini[0].1);
    let mut bob = Visitor::new(&stack.server);
    assert_eq!(
        bob.get(&format!("/attachments/{}", objects[0]))
            .await
            .status,
        404
    );

    // A file whose send was refused is swept from both stores.
    let refused = ana
        .send_files(
            "/api/send",
            &SendForm::new("What is this?").model("gpt-4"),
            &[("q.png", png(5, 5))],
            false,
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(gcs.objects().await.len(), 2);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while gcs.objects().await.len() > 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(
        gcs.objects().await,
        objects,
        "the unsent one is swept, the sent one kept"
    );
    assert_eq!(files().await.len(), 1);

    // Deleting the chat deletes its file and record.
    let chat = ana.session();
    let deleted = ana.call("/api/delete_session", &[("id", &chat)]).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(gcs.objects().await.is_empty());
    assert!(files().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_that_stops_answering_refuses_the_send_and_keeps_nothing() {
    let (emulator, mut gcs, stack) = cloud_stack(&[]).await;
    let mut ana = Visitor::new(&stack.server);
    ana.get("/").await;
    gcs.stop();
    let sent = ana
        .send_files(
            "/api/send",
            &SendForm::new("kept?").model("gemma"),
            &[("p.png", png(6, 6))],
            false,
        )
        .await;
    assert_eq!(sent.status, 503, "{}", sent.body);
    assert!(sent.body.contains("Files"), "{}", sent.body);
    let records = emulator
        .documents(PROJECT, "chat-app-db", "chat_files")
        .await;
    assert!(records.is_empty(), "the record goes with the failed upload");
    assert!(stack.model.requests("gemma").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_stopped_between_two_uploads_refuses_the_second_in_words_and_keeps_the_first() {
    let (emulator, mut gcs, stack) = cloud_stack(&[]).await;
    let files = || emulator.documents(PROJECT, "chat-app-db", "chat_files");
    let mut ana = Visitor::new(&stack.server);
    // Two pictures picked at once: the page uploads them one by one (`attach.js`).
    let attach = |name: &'static str| (name, png(10, 10));
    let one = ana.attach(&[attach("one.png")], 0).await;
    assert_eq!(one.status, 200, "{}", one.body);
    let id = one.json()[0]["id"].as_str().expect("an id").to_string();

    // The bucket stops before the second: it is refused in words, and nothing of it is kept.
    gcs.stop();
    let two = ana.attach(&[attach("two.png")], 1).await;
    assert_eq!(two.status, 503, "{}", two.body);
    let said = two.json();
    assert!(
        said["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("files.")),
        "{said}"
    );
    assert!(
        said["message"].as_str().is_some_and(|m| m.contains("file")),
        "{said}"
    );
    assert_eq!(files().await.len(), 1, "only the first file's record");

    // Back up, the first file is still there: the send (the page kept its chip) takes it.
    gcs.restart().await;
    let sent = ana
        .send_form(
            &SendForm::new("Just this one")
                .model("gemini")
                .set("attachments", &id),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(pictures_sent(&stack.model, "gemini").len(), 1);
}
