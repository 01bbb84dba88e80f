//! Errors as codes for URLs. A plain form post that fails is redirected back to the page with
//! the error in the address; anyone can write such an address, so it carries a code, never
//! text, and the words shown come from this server's own table. Codes are dot-separated words
//! from closed sets, and whole numbers where a message needs one.

use crate::errors::{
    BlobError, BlockedPart, ChatError, InputError, LimitError, ModelError, Refusal, StoreError,
    TextField,
};
use crate::models::ModelId;
use crate::params::{SliderSpec, MAX_MESSAGE_CHARS, MAX_TOKENS, TEMPERATURE, TOP_P};

/// The query parameter a failed no-JavaScript post's redirect carries.
pub const PARAM: &str = "err";

const SLIDERS: [SliderSpec; 3] = [TEMPERATURE, TOP_P, MAX_TOKENS];
/// The thinking picker's name in its range error (`Thinking::parse`).
const THINKING_LABEL: &str = "Thinking";
/// What a redirect says for a refusal whose reason was the backend's own words.
const REJECTED_REASON: &str = "the request was not accepted";

fn slider_by_label(label: &str) -> Option<SliderSpec> {
    SLIDERS.into_iter().find(|s| s.label == label)
}

fn slider_by_field(field: &str) -> Option<SliderSpec> {
    SLIDERS.into_iter().find(|s| s.field == field)
}

const TEXT_FIELDS: [TextField; 3] = [
    TextField::Message,
    TextField::SystemPrompt,
    TextField::Title,
];

/// The code for `error`: no free text, whatever the error holds.
pub fn to_code(error: &ChatError) -> String {
    let slider = |label: &str| slider_by_label(label).map_or("value", |s| s.field);
    match error {
        ChatError::Input(e) => match e {
            InputError::EmptyMessage => "input.empty".into(),
            InputError::MessageTooLong { chars, .. } => format!("input.too_long.{chars}"),
            InputError::OutOfRange { field, .. } if field == THINKING_LABEL => {
                "input.out_of_range.thinking".into()
            }
            InputError::OutOfRange { field, .. } => format!("input.out_of_range.{}", slider(field)),
            InputError::NotANumber { field } => format!("input.not_a_number.{}", slider(field)),
            InputError::NotAWholeNumber { field } => {
                format!("input.not_whole.{}", slider(field))
            }
            InputError::UnknownModel { .. } => "input.unknown_model".into(),
            InputError::BadTitle { .. } => "input.bad_title".into(),
            InputError::SystemPromptTooLong { chars, .. } => {
                format!("input.long_system_prompt.{chars}")
            }
            InputError::TooLarge { bytes, max } => format!("input.too_large.{bytes}.{max}"),
            InputError::NotAPair => "input.not_a_pair".into(),
            InputError::BadVerdict => "input.bad_verdict".into(),
            InputError::File(why) => format!("input.file.{}", why.code()),
        },
        ChatError::Model(e) => match e {
            ModelError::Rejected { model, .. } => format!("model.rejected.{}", model.as_str()),
            ModelError::Blocked {
                model,
                what,
                reason,
            } => format!("model.blocked_{what}.{}.{}", model.as_str(), reason.code()),
            other => format!("model.{}.{}", other.kind(), other.model().as_str()),
        },
        ChatError::NotSaved => "not_saved".into(),
        ChatError::Store(e) => format!("store.{}", e.kind()),
        ChatError::Files(e) => format!("files.{}", e.kind()),
        ChatError::Limited(LimitError::TooManyTurns {
            limit,
            window_s,
            retry_after_s,
        }) => format!("limited.turns.{limit}.{window_s}.{retry_after_s}"),
        ChatError::Limited(LimitError::OverBudget {
            budget,
            resets_in_s,
        }) => format!("limited.budget.{budget}.{resets_in_s}"),
        ChatError::Limited(LimitError::TooManyOwners { retry_after_s }) => {
            format!("limited.owners.{retry_after_s}")
        }
        ChatError::Limited(LimitError::TooManyChats {
            limit,
            retry_after_s,
        }) => format!("limited.chats.{limit}.{retry_after_s}"),
        ChatError::Limited(LimitError::ModelSpent {
            model,
            budget_nano,
            resets_in_s,
        }) => format!(
            "limited.spent.{}.{budget_nano}.{resets_in_s}",
            model.as_str()
        ),
        ChatError::NoSuchChat => "no_such_chat".into(),
        ChatError::NoOwner => "no_owner".into(),
        ChatError::TurnPending => "turn_pending".into(),
        ChatError::Interrupted => "interrupted".into(),
        ChatError::Stopped => "stopped".into(),
        ChatError::Transport(_) => "transport".into(),
        ChatError::Internal => "internal".into(),
    }
}

/// The code for the error leptos_axum puts in a failed form post's redirect (`__err`: URL-safe
/// base64 of the error's JSON), or `None` if it is not one of ours.
pub fn code_from_leptos_param(value: &str) -> Option<String> {
    use base64::Engine;
    let value = value.replace("%3D", "=");
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(value.as_bytes())
        .ok()?;
    let error: ChatError = serde_json::from_slice(&bytes).ok()?;
    Some(to_code(&error))
}

/// The error a code names, in this server's words; `None` for anything not in the table.
pub fn from_code(code: &str) -> Option<ChatError> {
    if code.len() > 100 {
        return None;
    }
    let parts: Vec<&str> = code.split('.').collect();
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let label = |field: &str| slider_by_field(field).map(|s| s.label.to_string());
    let error: ChatError = match parts.as_slice() {
        ["input", "empty"] => InputError::EmptyMessage.into(),
        ["input", "too_long", n] => InputError::MessageTooLong {
            chars: usize::try_from(number(n)?).ok()?,
            max: MAX_MESSAGE_CHARS,
        }
        .into(),
        ["input", "out_of_range", "thinking"] => InputError::OutOfRange {
            field: THINKING_LABEL.into(),
            min: 0.0,
            max: f64::from(crate::params::MAX_THINKING_BUDGET),
        }
        .into(),
        ["input", "out_of_range", f] => {
            let s = slider_by_field(f)?;
            InputError::OutOfRange {
                field: s.label.into(),
                min: s.min,
                max: s.max,
            }
            .into()
        }
        ["input", "not_a_number", f] => InputError::NotANumber { field: label(f)? }.into(),
        ["input", "not_whole", f] => InputError::NotAWholeNumber { field: label(f)? }.into(),
        ["input", "unknown_model"] => InputError::UnknownModel {
            name: "that".into(),
        }
        .into(),
        ["input", "bad_title"] => InputError::BadTitle {
            max: crate::conversation::MAX_TITLE_CHARS,
        }
        .into(),
        ["input", "too_large", n, max] => {
            // Only a limit this server has: a code cannot make up its own.
            let max = usize::try_from(number(max)?).ok()?;
            TEXT_FIELDS.iter().find(|t| t.max_bytes() == max)?;
            InputError::TooLarge {
                bytes: usize::try_from(number(n)?).ok()?,
                max,
            }
            .into()
        }
        ["input", "not_a_pair"] => InputError::NotAPair.into(),
        ["input", "bad_verdict"] => InputError::BadVerdict.into(),
        ["input", "file", why] => {
            InputError::File(crate::attachment::FileRefusal::from_code(why)?).into()
        }
        ["input", "long_system_prompt", n] => InputError::SystemPromptTooLong {
            chars: n.parse().ok()?,
            max: crate::conversation::MAX_SYSTEM_PROMPT_CHARS,
        }
        .into(),
        // A code stored before refusals were told apart has no reason: "other".
        ["model", kind @ ("blocked_message" | "blocked_reply"), m, reason @ ..]
            if reason.len() <= 1 =>
        {
            ModelError::Blocked {
                model: ModelId::parse(m)?,
                what: if *kind == "blocked_reply" {
                    BlockedPart::Reply
                } else {
                    BlockedPart::Message
                },
                reason: match reason {
                    [r] => Refusal::from_code(r)?,
                    _ => Refusal::Other,
                },
            }
            .into()
        }
        ["model", kind, m] => {
            let m = ModelId::parse(m)?;
            let e = match *kind {
                "not_configured" => ModelError::NotConfigured(m),
                "unreachable" => ModelError::Unreachable(m),
                "timed_out" => ModelError::TimedOut(m),
                "busy" => ModelError::Busy(m),
                "backend_error" => ModelError::BackendError(m),
                "bad_reply" => ModelError::BadReply(m),
                "empty" => ModelError::Empty(m),
                "out_of_tokens" => ModelError::out_of_tokens(m),
                "context_too_long" => ModelError::ContextTooLong(m),
                "aborted" => ModelError::Aborted(m),
                "auth_failed" => ModelError::AuthFailed(m),
                "rejected" => ModelError::Rejected {
                    model: m,
                    reason: REJECTED_REASON.into(),
                },
                _ => return None,
            };
            e.into()
        }
        ["not_saved"] => ChatError::NotSaved,
        ["files", kind] => ChatError::Files(match *kind {
            "unavailable" => BlobError::Unavailable,
            "timed_out" => BlobError::TimedOut,
            "permission_denied" => BlobError::PermissionDenied,
            "failed" => BlobError::Failed,
            "busy" => BlobError::Busy,
            _ => return None,
        }),
        ["store", kind] => match *kind {
            "unavailable" => StoreError::Unavailable,
            "timed_out" => StoreError::TimedOut,
            "busy" => StoreError::Busy,
            "permission_denied" => StoreError::PermissionDenied,
            "failed" => StoreError::Failed,
            "not_found" => StoreError::NotFound,
            "turn_pending" => StoreError::TurnPending,
            "not_last_turn" => StoreError::NotLastTurn,
            _ => return None,
        }
        .into(),
        ["limited", "turns", limit, window, retry] => LimitError::TooManyTurns {
            limit: u32::try_from(number(limit)?).ok()?,
            window_s: number(window)?,
            retry_after_s: number(retry)?,
        }
        .into(),
        ["limited", "budget", budget, resets] => LimitError::OverBudget {
            budget: number(budget)?,
            resets_in_s: number(resets)?,
        }
        .into(),
        ["limited", "owners", retry] => LimitError::TooManyOwners {
            retry_after_s: number(retry)?,
        }
        .into(),
        ["limited", "chats", limit, retry] => LimitError::TooManyChats {
            limit: u32::try_from(number(limit)?).ok()?,
            retry_after_s: number(retry)?,
        }
        .into(),
        ["limited", "spent", model, budget, resets] => LimitError::ModelSpent {
            model: ModelId::parse(model)?,
            budget_nano: number(budget)?,
            resets_in_s: number(resets)?,
        }
        .into(),
        ["no_such_chat"] => ChatError::NoSuchChat,
        ["no_owner"] => ChatError::NoOwner,
        ["turn_pending"] => ChatError::TurnPending,
        ["interrupted"] => ChatError::Interrupted,
        ["stopped"] => ChatError::Stopped,
        ["transport"] => ChatError::Transport(crate::errors::Transport::Failed),
        ["internal"] => ChatError::Internal,
        _ => return None,
    };
    Some(error)
}

#[cfg(test)]
mod tests;
