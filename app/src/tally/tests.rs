use super::*;
use crate::conversation::{NewReply, Replies, TokenUsage};
use crate::errors::ModelError;

fn reply(model: ModelId, latency_ms: u64, tokens: Option<u32>) -> NewReply {
    NewReply {
        model,
        text: "x".into(),
        at_ms: 0,
        latency_ms,
        usage: tokens.map(|t| TokenUsage {
            prompt_tokens: 1,
            completion_tokens: t,
            thinking_tokens: 0,
            total_tokens: t + 1,
        }),
        cost: None,
        finish_reason: None,
    }
}

fn tally(counts: Vec<(String, i64)>) -> Tally {
    let mut t = Tally::default();
    for (k, v) in counts {
        assert!(valid_key(&k), "{k}");
        *t.0.entry(k).or_default() += v;
    }
    t
}

#[test]
fn figures_come_from_the_stored_turns() {
    let code = |e: ModelError| crate::error_codes::to_code(&e.into());
    let answered = |replies: Vec<NewReply>| {
        TurnOutcome::Answered(Replies::try_from(replies).expect("a reply"))
    };
    let mut t = Tally::default();
    for outcome in [
        answered(vec![reply(ModelId::Gemma, 400, Some(10))]),
        TurnOutcome::Partly {
            replies: Replies::one(reply(ModelId::Gemma, 1_500, Some(30))),
            failed: code(ModelError::BadReply(ModelId::Gemini)),
        },
        answered(vec![
            reply(ModelId::Gemma, 1_800, None),
            reply(ModelId::Gemini, 200_000, Some(5)),
        ]),
        TurnOutcome::failed(code(ModelError::TimedOut(ModelId::Gemma))),
        // Not a model's failure, nor a stop: no figure.
        TurnOutcome::failed(crate::error_codes::to_code(&ChatError::NotSaved)),
        TurnOutcome::Stopped,
    ] {
        t.add(&tally(for_outcome(&outcome)));
    }
    let gemma = t.figures(ModelId::Gemma);
    assert_eq!((gemma.replies, gemma.failures), (3, 1));
    assert_eq!(gemma.error_rate(), Some(0.25));
    // 400, 1,500 and 1,800 ms: the median (the second) is in the 1–2 s bucket.
    assert_eq!(gemma.median_ms, Some((1_000, Some(2_000))));
    assert_eq!(gemma.tokens_per_reply, Some(20.0));
    let gemini = t.figures(ModelId::Gemini);
    assert_eq!(gemini.median_ms, Some((120_000, None)));
    assert_eq!(gemini.error_rate(), Some(0.5));
    let none = Tally::default().figures(ModelId::Gemma);
    assert_eq!(
        (none.median_ms, none.error_rate(), none.tokens_per_reply),
        (None, None, None)
    );
}

#[test]
fn spend_counts_priced_replies_and_billed_failures() {
    let priced = |model, nano, gpu_ms| NewReply {
        cost: Some(Cost {
            nano_usd: nano,
            gpu_ms,
        }),
        ..reply(model, 100, Some(10))
    };
    let mut t = Tally::default();
    for outcome in [
        TurnOutcome::Answered(Replies::one(priced(ModelId::Gemini, 2_000_000, None))),
        TurnOutcome::Answered(Replies::one(priced(ModelId::Gemini, 4_000_000, None))),
        TurnOutcome::Answered(Replies::one(priced(ModelId::Gemma, 50_000, Some(45)))),
        // Out of tokens after thinking: no reply, $0.003 billed.
        TurnOutcome::Failed {
            code: crate::error_codes::to_code(
                &ModelError::OutOfTokens {
                    model: ModelId::Gemini,
                    billed: None,
                }
                .into(),
            ),
            billed: None,
            cost: Some(Cost {
                nano_usd: 3_000_000,
                gpu_ms: None,
            }),
        },
    ] {
        t.add(&tally(for_outcome(&outcome)));
    }
    let gemini = t.figures(ModelId::Gemini);
    assert_eq!(
        (gemini.spend_nano, gemini.costed, gemini.failures),
        (9_000_000, 2, 1)
    );
    // The billed failure is spend, spread over the replies.
    assert_eq!(gemini.mean_cost_nano(), Some(4_500_000.0));
    // 20 output tokens for $0.009: $0.45 per 1,000.
    assert_eq!(gemini.cost_per_1k_output_nano(), Some(450_000_000.0));
    // $0.002 and $0.004: the median is in the $0.001–$0.003 bucket.
    assert_eq!(gemini.median_cost, Some((1_000_000, Some(3_000_000))));
    let gemma = t.figures(ModelId::Gemma);
    assert_eq!((gemma.spend_nano, gemma.gpu_ms), (50_000, 45));
    assert_eq!(gemma.median_cost, Some((30_000, Some(100_000))));
}

#[test]
fn a_changed_verdict_moves_its_count() {
    let mut t = tally(for_verdict(None, Some(Verdict::Gemma)));
    t.add(&tally(for_verdict(
        Some(Verdict::Gemma),
        Some(Verdict::Tie),
    )));
    t.add(&tally(for_verdict(Some(Verdict::Tie), Some(Verdict::Tie))));
    t.add(&tally(for_verdict(None, Some(Verdict::Gemini))));
    assert_eq!(
        t.standing(),
        Standing {
            gemma: 0,
            tie: 1,
            gemini: 1
        }
    );
    assert!(!valid_key("counts.x") && !valid_key("") && !valid_key("A"));
}
