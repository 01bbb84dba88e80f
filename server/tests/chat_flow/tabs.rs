//! Part of `chat_flow.rs`: see its notes.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_new_chat_is_the_address_slash_and_the_old_one_keeps_its_own() {
    let (_dir, model, server) = Stack::start(&[]).await.into_parts();
    let mut me = Visitor::new(&server);
    assert_eq!(me.send("old chat", "gemma").await.status, 200);
    let old = me.session();

    // New chat: the page at `/`, an empty transcript; the old chat listed in the sidebar.
    me.chat = None;
    let page = me.get("/").await.body;
    assert!(
        !page.contains(r#"<p class="text">old chat</p>"#),
        "transcript is empty"
    );
    assert!(page.contains("old chat"), "the sidebar still lists it");
    assert!(
        page.contains(&format!("href=\"/c/{old}\"")),
        "linked by its address"
    );

    assert_eq!(me.send("new chat", "gemma").await.status, 200);
    assert_ne!(me.session(), old);
    assert_eq!(
        model.requests("gemma")[1]["messages"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "no history carried"
    );
    assert_eq!(stored_messages(&server.sqlite_path(), &old).len(), 2);
    let old_page = me.get(&format!("/c/{old}")).await.body;
    assert!(old_page.contains(r#"<p class="text">old chat</p>"#));
    assert!(!old_page.contains(r#"<p class="text">new chat</p>"#));
}

/// Two tabs of one browser on two chats: each send goes to the chat its tab shows, whatever
/// the other tab did last (there is no browser-wide "current chat").
#[tokio::test(flavor = "multi_thread")]
async fn two_tabs_on_two_chats_never_mix() {
    let (_dir, model, server) = Stack::start(&[]).await.into_parts();
    let mut tab1 = Visitor::new(&server);
    assert_eq!(tab1.send("A: first", "gemma").await.status, 200);
    let a = tab1.session();
    let mut tab2 = tab1.twin();
    tab2.chat = None;
    assert_eq!(tab2.send("B: first", "gemma").await.status, 200);
    let b = tab2.session();
    assert_ne!(a, b);

    // Tab 1 still shows A: its messages (send, compare, a no-JS post) land in A.
    assert_eq!(tab1.send("A: second", "gemma").await.status, 200);
    let form = SendForm::new("A: third, no JS")
        .set("temperature", "0.5")
        .set("top_p", "0.5");
    assert_eq!(
        tab1.post_form("/api/send", &form.fields()).await.status,
        302
    );
    assert_eq!(tab1.session(), a);
    tab1.get_settled(&format!("/c/{a}")).await;
    let texts = |id: &str| {
        stored_messages(&server.sqlite_path(), id)
            .into_iter()
            .map(|r| r.2)
            .filter(|t| !t.starts_with("Echo"))
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&a), ["A: first", "A: second", "A: third, no JS"]);
    assert_eq!(texts(&b), ["B: first"]);
    // And the model saw A's history, not B's.
    let last = model.requests("gemma").last().cloned().expect("request");
    assert!(!last.to_string().contains("B: first"), "{last}");
}
