//! The turn types' invariants.

use super::*;

fn reply(model: ModelId) -> NewReply {
    NewReply {
        model,
        text: "hi".into(),
        at_ms: 1,
        latency_ms: 2,
        usage: None,
        cost: None,
        finish_reason: None,
    }
}

#[test]
fn an_answered_turn_has_a_reply_or_is_not_built() {
    assert_eq!(Replies::try_from(Vec::new()), Err(NoReplies));
    let mut both = Replies::try_from(vec![reply(ModelId::Gemini)]).expect("one reply");
    both.push(reply(ModelId::Gemma));
    both[1].text = "changed in place".into();
    assert_eq!(both.len(), 2);
    assert_eq!(both.first().model, ModelId::Gemini);
    let turn = NewTurn {
        params: GenParams::default(),
        user_text: "q".into(),
        user_at_ms: 0,
        replies: both,
    };
    // The user message is addressed to the first reply's model.
    assert_eq!(turn.model(), ModelId::Gemini);
}
