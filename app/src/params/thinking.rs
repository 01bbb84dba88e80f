//! Gemini's thinking: how much it may think before it answers, and what that adds to
//! `maxOutputTokens`.

use crate::errors::InputError;
use serde::{Deserialize, Serialize};

/// How much Gemini 2.5 may think before it answers. Its thinking counts against
/// `maxOutputTokens`, so the Vertex backend adds [`Thinking::allowance`] to Max tokens: Max
/// tokens stays the length of the visible answer, for both models.
// On the wire and in the stores as its text (`off`, `auto`, `4096`), as forms and the cookie
// carry it: one parser, and no derived enum (de)serialiser in the browser's bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Thinking {
    /// `thinkingBudget: 0`.
    Off,
    /// `thinkingBudget: -1`: the model decides, up to [`AUTO_THINKING_TOKENS`].
    Auto,
    /// `thinkingBudget: n`, 1 to [`MAX_THINKING_BUDGET`].
    Budget(u32),
}

/// What the thinking picker offers (a value set elsewhere, e.g. `GEMINI_THINKING=512`, is
/// offered too).
pub const THINKING_CHOICES: [Thinking; 6] = [
    Thinking::Auto,
    Thinking::Off,
    Thinking::Budget(1_024),
    Thinking::Budget(4_096),
    Thinking::Budget(8_192),
    Thinking::Budget(MAX_THINKING_BUDGET),
];

/// Gemini 2.5 Flash's largest thinking budget (Vertex's thinking page).
pub const MAX_THINKING_BUDGET: u32 = 24_576;
/// The most Gemini 2.5 Flash thinks on Auto ("dynamic, up to 8,192").
pub const AUTO_THINKING_TOKENS: u32 = 8_192;

impl Thinking {
    /// `off`, `auto`, or a budget in tokens.
    pub fn parse(raw: &str) -> Result<Thinking, InputError> {
        let raw = raw.trim();
        match raw.to_ascii_lowercase().as_str() {
            "off" | "0" => Ok(Thinking::Off),
            "auto" | "-1" => Ok(Thinking::Auto),
            n => match n.parse::<u32>() {
                Ok(b) if (1..=MAX_THINKING_BUDGET).contains(&b) => Ok(Thinking::Budget(b)),
                _ => Err(InputError::OutOfRange {
                    field: "Thinking".into(),
                    min: 0.0,
                    max: MAX_THINKING_BUDGET as f64,
                }),
            },
        }
    }

    /// Vertex's `thinkingConfig.thinkingBudget`.
    pub fn budget(self) -> i32 {
        match self {
            Thinking::Off => 0,
            Thinking::Auto => -1,
            Thinking::Budget(b) => b as i32,
        }
    }

    /// The tokens thinking may take on top of the answer.
    pub fn allowance(self) -> u32 {
        match self {
            Thinking::Off => 0,
            Thinking::Auto => AUTO_THINKING_TOKENS,
            Thinking::Budget(b) => b,
        }
    }
}

impl Thinking {
    /// What the picker shows.
    pub fn label(self) -> String {
        match self {
            Thinking::Off => "Off".into(),
            Thinking::Auto => "Auto (up to 8,192 tokens)".into(),
            Thinking::Budget(b) => format!("Up to {b} tokens"),
        }
    }
}

impl TryFrom<String> for Thinking {
    type Error = InputError;

    fn try_from(s: String) -> Result<Self, InputError> {
        Thinking::parse(&s)
    }
}

impl From<Thinking> for String {
    fn from(t: Thinking) -> String {
        t.to_string()
    }
}

impl std::fmt::Display for Thinking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Thinking::Off => f.write_str("off"),
            Thinking::Auto => f.write_str("auto"),
            Thinking::Budget(b) => write!(f, "{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_parses_off_auto_and_budgets_in_range_only() {
        assert_eq!(Thinking::parse("off"), Ok(Thinking::Off));
        assert_eq!(Thinking::parse(" AUTO "), Ok(Thinking::Auto));
        assert_eq!(Thinking::parse("-1"), Ok(Thinking::Auto));
        assert_eq!(Thinking::parse("0"), Ok(Thinking::Off));
        assert_eq!(Thinking::parse("24576"), Ok(Thinking::Budget(24_576)));
        for bad in ["24577", "-2", "lots", "", "1.5"] {
            assert!(Thinking::parse(bad).is_err(), "{bad:?}");
        }
        for t in THINKING_CHOICES {
            assert_eq!(Thinking::parse(&t.to_string()), Ok(t));
        }
        assert_eq!(
            (Thinking::Off.allowance(), Thinking::Auto.allowance()),
            (0, 8_192)
        );
        assert_eq!((Thinking::Off.budget(), Thinking::Auto.budget()), (0, -1));
    }

    // serde_json is a server-side dependency.
    #[cfg(feature = "ssr")]
    #[test]
    fn it_travels_and_is_stored_as_its_text() {
        let params = crate::params::GenParams {
            thinking: Some(Thinking::Budget(4_096)),
            ..Default::default()
        };
        let json = serde_json::to_value(params).expect("json");
        assert_eq!(json["thinking"], "4096");
        let back: crate::params::GenParams = serde_json::from_value(json).expect("back");
        assert_eq!(back, params);
        let bad = serde_json::json!({"temperature": 1.0, "top_p": 1.0, "max_tokens": 1, "thinking": "lots"});
        assert!(serde_json::from_value::<crate::params::GenParams>(bad).is_err());
    }
}
