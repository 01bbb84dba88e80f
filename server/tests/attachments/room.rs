//! Room for files in model requests (`MODEL_FILE_MB`): a turn whose files do not fit waits for
//! room, is refused in words once `MODEL_FILE_WAIT_SECS` has passed, and the room comes back
//! when the reply that held it is in.

use std::time::Duration;
use testkit::files::png_of_size;
use testkit::standin::Behaviour;
use testkit::{SendForm, Stack, Visitor};

#[tokio::test]
async fn a_turn_waits_for_room_for_its_files_and_past_the_wait_is_refused_in_words() {
    // 1 MB of room: a 300 KB picture to one model takes 700 KB of it (bytes and base64).
    let stack = Stack::start(&[
        ("MODEL_FILE_MB", "1"),
        ("MODEL_FILE_WAIT_SECS", "1"),
        ("MODEL_TIMEOUT_SECS", "10"),
    ])
    .await;
    stack.model.set("gemma", Behaviour::slow(3_500));
    let picture = || png_of_size(100, 100, 300_000);
    let mut ana = Visitor::new(&stack.server);
    let mut bo = Visitor::new(&stack.server);
    ana.get("/").await;
    bo.get("/").await;

    let first = {
        let picture = picture();
        tokio::spawn(async move {
            let form = SendForm::new("what is this?").model("gemma");
            ana.send_files("/api/send", &form, &[("a.png", picture)], false)
                .await
        })
    };
    // Ana's picture holds its room while Gemma thinks: Bo's waits a second, then is refused.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let form = SendForm::new("and this?").model("gemma");
    let refused = bo
        .send_files("/api/send", &form, &[("b.png", picture())], false)
        .await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    let error: app::errors::ChatError = serde_json::from_str(&refused.body).expect("an error");
    assert_eq!(
        error,
        app::errors::ChatError::Files(app::errors::BlobError::Busy)
    );
    assert!(error.to_string().contains("many files"), "{error}");
    assert_eq!(
        stack.model.requests("gemma").len(),
        1,
        "only Ana's turn reached Gemma"
    );

    let first = first.await.expect("ana's send");
    assert_eq!(first.status, 200, "{}", first.body);
    // Her reply is in, and with it the room: Bo's picture goes now.
    stack.model.set("gemma", Behaviour::default());
    let again = bo
        .send_files("/api/send", &form, &[("b.png", picture())], false)
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(stack.model.requests("gemma").len(), 2);
}
