//! Part of `costs.rs`: see its notes.

use super::*;

/// A money ceiling refuses the model's turns once the day's spend reaches it, on the replica that
/// spent it and on a fresh one reading the day's figures, keeps nothing of the refused send, and
/// leaves the other model answering; operators see the day's use against it.
pub(crate) async fn a_ceiling(env: &[(&str, &str)]) {
    let mut env = env.to_vec();
    // A millionth of a dollar: the first Gemini reply (a fraction of a cent) reaches it.
    env.extend([("GEMINI_DAILY_USD", "0.000001"), ("OPERATORS", "*")]);
    let model = testkit::standin::start(0).await;
    let stack = Stack::start_on(model, &env).await;
    let mut me = Visitor::new(&stack.server);
    assert_eq!(me.send("the first is admitted", "gemini").await.status, 200);
    let chat = me.session();
    let refused = me.send("the second is not", "gemini").await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let spent = &refused.json()["Limited"]["ModelSpent"];
    assert_eq!(
        (spent["model"].as_str(), spent["budget_nano"].as_u64()),
        (Some("gemini"), Some(1_000)),
        "{}",
        refused.body
    );
    // Seconds to midnight UTC.
    assert!(spent["resets_in_s"].as_u64().is_some_and(|s| s <= 86_400));
    let (messages, _) = export(&mut me, &chat).await;
    assert_eq!(
        messages.len(),
        2,
        "the refused send kept nothing: {messages:?}"
    );
    assert_eq!(me.send("Gemma still answers", "gemma").await.status, 200);
    let models = me.get("/models").await.body;
    assert!(
        models.contains(r#"<li data-ceiling="gemini">Gemini: "#)
            && models.contains("of its $0.0000010 a day spent today"),
        "{models}"
    );

    // Another replica, which has spent nothing itself: the day's figures refuse it too.
    let other = testkit::Server::start(stack.dir.path(), &stack.model.url(), &env).await;
    let mut there = Visitor::new(&other);
    there.get("/").await;
    let r = there.send("from another replica", "gemini").await;
    assert_eq!(r.status, 429, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_money_ceiling_refuses_turns_on_sqlite() {
    a_ceiling(&[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_money_ceiling_refuses_turns_on_firestore() {
    let emulator = Emulator::start().await;
    let env = emulator.server_env("hybrid-chat-ceilings");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    a_ceiling(&env).await;
}

/// Behind IAP, an operator's spend per person and ledger name each signed-in person by their
/// email, learnt from their own turns; nobody else may read them.
#[tokio::test(flavor = "multi_thread")]
async fn behind_iap_spend_per_person_names_people_by_their_email() {
    use testkit::iap::{claims, Key, AUDIENCE};
    let key = Key::generate("iap-key-1");
    let model = testkit::standin::start(0).await;
    model.set_jwks(serde_json::json!({ "keys": [key.jwk.clone()] }));
    let stack = Stack::start_on(
        model,
        &[
            ("IAP_AUDIENCE", AUDIENCE),
            ("IAP_JWKS_URL", "{standin}/iap/jwk"),
            ("OPERATORS", "alice@example.com"),
        ],
    )
    .await;
    let as_user = |email: &str| {
        let mut v = Visitor::new(&stack.server);
        v.assertion = Some(key.sign(&claims(email)));
        v
    };
    let mut bob = as_user("bob@example.com");
    assert_eq!(bob.send("priced for bob", "gemini").await.status, 200);
    let mut alice = as_user("alice@example.com");
    let page = alice.get("/models").await.body;
    let people = &page[page.find(r#"data-figures="people""#).expect("people")..];
    assert!(
        people.contains(r#"<th scope="row">bob@example.com</th>"#),
        "{people}"
    );
    let csv = alice.get("/models.csv").await.body;
    assert!(
        csv.lines()
            .any(|l| l.contains(",bob@example.com,gemini,1,")),
        "{csv}"
    );
    // Bob is no operator.
    assert_eq!(bob.get("/models.csv").await.status, 403);
    assert!(!bob.get("/models").await.body.contains("bob@example.com"));
}
