use super::*;

#[test]
fn every_error_round_trips_through_its_code_without_free_text() {
    let errors: Vec<ChatError> = vec![
        InputError::EmptyMessage.into(),
        InputError::MessageTooLong {
            chars: 40_000,
            max: MAX_MESSAGE_CHARS,
        }
        .into(),
        InputError::OutOfRange {
            field: "Temperature".into(),
            min: 0.0,
            max: 2.0,
        }
        .into(),
        InputError::NotAWholeNumber {
            field: "Max tokens".into(),
        }
        .into(),
        crate::params::Thinking::parse("lots")
            .expect_err("out of range")
            .into(),
        InputError::SystemPromptTooLong {
            chars: 4_001,
            max: crate::conversation::MAX_SYSTEM_PROMPT_CHARS,
        }
        .into(),
        TextField::Message
            .check_bytes(&"😀".repeat(20_000))
            .expect_err("80,000 bytes")
            .into(),
        TextField::SystemPrompt
            .check_bytes(&"😀".repeat(3_000))
            .expect_err("12,000 bytes")
            .into(),
        TextField::Title
            .check_bytes(&"😀".repeat(80))
            .expect_err("320 bytes")
            .into(),
        InputError::NotAPair.into(),
        InputError::BadVerdict.into(),
        InputError::File(crate::attachment::FileRefusal::NotReadBy(ModelId::Gemma)).into(),
        InputError::File(crate::attachment::FileRefusal::WebPage).into(),
        InputError::File(crate::attachment::FileRefusal::OverQuota).into(),
        LimitError::TooManyChats {
            limit: 20,
            retry_after_s: 600,
        }
        .into(),
        ModelError::TimedOut(ModelId::Gemma).into(),
        ModelError::Unreachable(ModelId::Gemini).into(),
        ModelError::ContextTooLong(ModelId::Gemma).into(),
        ModelError::Aborted(ModelId::Gemma).into(),
        ModelError::out_of_tokens(ModelId::Gemini).into(),
        ChatError::NotSaved,
        StoreError::Busy.into(),
        ChatError::Files(BlobError::Unavailable),
        ChatError::Files(BlobError::PermissionDenied),
        ChatError::Files(BlobError::Busy),
        LimitError::TooManyTurns {
            limit: 2,
            window_s: 60,
            retry_after_s: 41,
        }
        .into(),
        LimitError::ModelSpent {
            model: ModelId::Gemini,
            budget_nano: 20_000_000_000,
            resets_in_s: 3_600,
        }
        .into(),
        ChatError::NoSuchChat,
        ChatError::NoOwner,
        ChatError::TurnPending,
        ChatError::Interrupted,
        ChatError::Stopped,
        ChatError::Internal,
    ];
    let refusals = crate::errors::Refusal::ALL.into_iter().flat_map(|reason| {
        [BlockedPart::Message, BlockedPart::Reply].map(|what| {
            ChatError::from(ModelError::Blocked {
                model: ModelId::Gemini,
                what,
                reason,
            })
        })
    });
    for e in errors.into_iter().chain(refusals) {
        let code = to_code(&e);
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_'),
            "{code}"
        );
        assert_eq!(from_code(&code), Some(e.clone()), "{code}");
    }
}

#[test]
fn free_text_never_reaches_the_code_or_back() {
    let e: ChatError = ModelError::Rejected {
        model: ModelId::Gemma,
        reason: "Your account is suspended, call +1 555 0100".into(),
    }
    .into();
    let code = to_code(&e);
    assert_eq!(code, "model.rejected.gemma");
    let back = from_code(&code).expect("known code").to_string();
    assert!(!back.contains("555"), "{back}");
    // Transport causes are a closed set: free text cannot even be decoded as one.
    assert!(serde_json::from_str::<ChatError>(r#"{"Transport":"visit evil.example"}"#).is_err());
}

#[test]
fn leptos_redirect_payloads_become_codes() {
    use base64::Engine;
    let e: ChatError = ModelError::Busy(ModelId::Gemini).into();
    let json = serde_json::to_vec(&e).expect("json");
    let param = base64::engine::general_purpose::URL_SAFE.encode(json);
    assert_eq!(
        code_from_leptos_param(&param).as_deref(),
        Some("model.busy.gemini")
    );
    assert_eq!(code_from_leptos_param("not base64 !"), None);
}

#[test]
fn unknown_or_crafted_codes_are_ignored() {
    for code in [
        "",
        "hello",
        "model.rejected.gpt",
        "model.blocked_reply.gemini.made_up",
        "model.blocked_reply.gemini.safety.extra",
        "input.not_a_number.<script>",
        "limited.turns.1.2",
        "limited.turns.x.2.3",
        "input.too_long.99999999999999999999",
        &"a.".repeat(100),
    ] {
        assert_eq!(from_code(code), None, "{code}");
    }
}
