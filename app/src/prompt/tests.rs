use super::*;
use crate::attachment::AttachmentKind;
use crate::params::GenParams;

fn stored(seq: u64, role: Role, model: ModelId, text: &str) -> StoredMessage {
    StoredMessage {
        seq,
        role,
        text: text.into(),
        model,
        params: GenParams::default(),
        created_at_ms: 0,
        latency_ms: None,
        usage: None,
        cost: None,
        finish_reason: None,
        turn: None,
        status: TurnStatus::Complete,
        error: None,
        verdict: None,
        attachments: Vec::new(),
    }
}

fn texts(prompt: Vec<PromptMessage>) -> Vec<String> {
    prompt.into_iter().map(|p| p.text).collect()
}

#[test]
fn after_a_compare_each_model_sees_its_own_answer() {
    let history = [
        stored(0, Role::User, ModelId::Gemma, "q1"),
        stored(1, Role::Model, ModelId::Gemma, "gemma a1"),
        stored(2, Role::Model, ModelId::Gemini, "gemini a1"),
        stored(3, Role::User, ModelId::Gemini, "q2"),
        stored(4, Role::Model, ModelId::Gemini, "gemini a2"),
    ];
    let texts = |m: ModelId| texts(prompt_history(&history, m));
    assert_eq!(texts(ModelId::Gemma), ["q1", "gemma a1", "q2", "gemini a2"]);
    assert_eq!(
        texts(ModelId::Gemini),
        ["q1", "gemini a1", "q2", "gemini a2"]
    );
    let roles: Vec<Role> = prompt_history(&history, ModelId::Gemma)
        .into_iter()
        .map(|p| p.role)
        .collect();
    assert_eq!(roles, [Role::User, Role::Model, Role::User, Role::Model]);
}

#[test]
fn a_turn_asked_again_sends_the_newest_reply_of_the_model_asked() {
    let history = [
        stored(0, Role::User, ModelId::Gemma, "q1"),
        stored(1, Role::Model, ModelId::Gemma, "gemma first"),
        stored(2, Role::Model, ModelId::Gemma, "gemma regenerated"),
        stored(3, Role::Model, ModelId::Gemini, "gemini asked too"),
    ];
    let texts = |m: ModelId| texts(prompt_history(&history, m));
    assert_eq!(texts(ModelId::Gemma), ["q1", "gemma regenerated"]);
    assert_eq!(texts(ModelId::Gemini), ["q1", "gemini asked too"]);
    // A model with no reply there sees the newest.
    let regenerated = &history[..3];
    assert_eq!(
        super::tests::texts(prompt_history(regenerated, ModelId::Gemini)),
        ["q1", "gemma regenerated"]
    );
}

#[test]
fn an_edited_turn_is_left_out_with_its_replies() {
    let mut history = vec![
        stored(0, Role::User, ModelId::Gemma, "q1 with a typo"),
        stored(1, Role::Model, ModelId::Gemma, "a1 to the typo"),
        stored(2, Role::User, ModelId::Gemma, "q1 fixed"),
        stored(3, Role::Model, ModelId::Gemma, "a1"),
    ];
    history[0].status = TurnStatus::Replaced;
    assert_eq!(
        texts(prompt_history(&history, ModelId::Gemma)),
        ["q1 fixed", "a1"]
    );
}

#[test]
fn turns_without_a_reply_are_left_out_of_the_prompt() {
    let mut failed = stored(2, Role::User, ModelId::Gemma, "lost");
    failed.status = TurnStatus::Failed;
    let mut pending = stored(5, Role::User, ModelId::Gemma, "waiting");
    pending.status = TurnStatus::Pending;
    let history = [
        stored(0, Role::User, ModelId::Gemma, "q1"),
        stored(1, Role::Model, ModelId::Gemma, "a1"),
        failed,
        stored(3, Role::User, ModelId::Gemma, "q2"),
        stored(4, Role::Model, ModelId::Gemma, "a2"),
        pending,
    ];
    assert_eq!(
        texts(prompt_history(&history, ModelId::Gemma)),
        ["q1", "a1", "q2", "a2"]
    );
}

#[test]
fn a_window_that_begins_inside_a_turn_starts_at_its_next_message() {
    // Seq 0 (the question these replies answer) fell outside the window.
    let history = [
        stored(1, Role::Model, ModelId::Gemma, "gemma a0"),
        stored(2, Role::Model, ModelId::Gemini, "gemini a0"),
        stored(3, Role::User, ModelId::Gemma, "q1"),
        stored(4, Role::Model, ModelId::Gemma, "a1"),
    ];
    let prompt = prompt_for(&history, "q2", &[], ModelId::Gemma, HistoryWindow::DEFAULT);
    assert_eq!(prompt[0].role, Role::User);
    assert_eq!(texts(prompt), ["q1", "a1", "q2"]);
}

#[test]
fn the_oldest_turns_go_first_when_the_tokens_run_out() {
    // Each turn is 300 bytes (100 estimated tokens); the new message 30 bytes (10 tokens).
    let (q, a) = ("q".repeat(150), "a".repeat(150));
    let history: Vec<StoredMessage> = (0..10)
        .flat_map(|t| {
            [
                stored(
                    2 * t,
                    Role::User,
                    ModelId::Gemma,
                    &format!("{t}{}", &q[1..]),
                ),
                stored(2 * t + 1, Role::Model, ModelId::Gemma, &a),
            ]
        })
        .collect();
    let user = "n".repeat(30);
    let window = |tokens| HistoryWindow {
        messages: 64,
        tokens,
    };
    // Room for three whole turns and the new message, not four.
    let prompt = prompt_for(&history, &user, &[], ModelId::Gemma, window(399));
    assert_eq!(prompt.len(), 7);
    assert!(prompt[0].text.starts_with('7'), "the newest three turns");
    assert_eq!(prompt.last().map(|p| p.text.as_str()), Some(user.as_str()));
    assert_eq!(
        prompt_for(&history, &user, &[], ModelId::Gemma, window(410)).len(),
        9
    );
    // No room at all: the new message alone, never an empty prompt.
    let alone = prompt_for(&history, &user, &[], ModelId::Gemma, window(0));
    assert_eq!(texts(alone), [user.as_str()]);
    // Everything fits.
    assert_eq!(
        prompt_for(&history, &user, &[], ModelId::Gemma, HistoryWindow::DEFAULT).len(),
        21
    );
}

#[test]
fn token_estimates_run_high_for_english_and_close_for_cjk() {
    assert_eq!(estimated_tokens(""), 0);
    // "hello world" is 2 tokens to most tokenizers.
    assert_eq!(estimated_tokens("hello world"), 4);
    // Four CJK characters: 12 bytes, about 4 tokens.
    assert_eq!(estimated_tokens("你好世界"), 4);
}

#[test]
fn text_files_become_words_before_the_question_and_pictures_stay_files() {
    let file = |id: &str, kind, bytes: &[u8]| PromptFile {
        attachment: Attachment {
            id: id.into(),
            kind,
            name: format!("{id}.x"),
            bytes: bytes.len() as u64,
            width: 1,
            height: 1,
        },
        bytes: std::sync::Arc::new(FileBytes::new(bytes.to_vec())),
    };
    let mut m = PromptMessage {
        role: Role::User,
        text: "What does it say?".into(),
        files: vec![
            file("a", AttachmentKind::Text, "\u{feff}first\n\n".as_bytes()),
            file("p", AttachmentKind::Png, b"\x89PNG"),
            file("b", AttachmentKind::Text, b"second"),
        ],
    };
    m.fold_text_files();
    assert_eq!(
        m.text,
        "<file name=\"a.x\">\nfirst\n</file>\n\n<file name=\"b.x\">\nsecond\n</file>\n\nWhat does it say?"
    );
    assert_eq!(m.files.len(), 1);
    assert_eq!(m.files[0].attachment.kind, AttachmentKind::Png);
    // Counted as the words they become, whichever model reads them.
    let text = &file("t", AttachmentKind::Text, &[b'x'; 3_000]).attachment;
    assert_eq!(file_tokens(text, ModelId::Gemma), 1_040);
    assert_eq!(file_tokens(text, ModelId::Gemini), 1_040);
}
