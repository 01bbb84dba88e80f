//! Generation parameters, their slider ranges, and validation of everything a user sends.
//!
//! The same limits drive the sliders in the page and the checks on the server, so a value the UI
//! can produce is always accepted and anything else gets a clear [`InputError`].

use crate::errors::{InputError, TextField};
use crate::models::ModelId;
use serde::{Deserialize, Serialize};

mod thinking;

pub use thinking::{Thinking, AUTO_THINKING_TOKENS, MAX_THINKING_BUDGET, THINKING_CHOICES};

/// The longest message accepted, in characters. Gemma's context is 32k tokens; a single message
/// longer than this is almost certainly a mistaken paste.
pub const MAX_MESSAGE_CHARS: usize = 32_000;

/// The most bytes a message may take: 32,000 emoji are 128 KB, and what a message weighs in the
/// store, the pod's memory and the prompt is its bytes. 64,000 keeps any text in a Latin script
/// to the character limit, and CJK to 21,000 characters.
pub const MAX_MESSAGE_BYTES: usize = 64_000;

/// A slider: its bounds, step and default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SliderSpec {
    pub field: &'static str,
    pub label: &'static str,
    pub min: f64,
    pub max: f64,
    pub step: f64,
    pub default: f64,
    /// What the value counts, said after it by screen readers ("1024 tokens").
    pub unit: Option<&'static str>,
}

pub const TEMPERATURE: SliderSpec = SliderSpec {
    field: "temperature",
    label: "Temperature",
    min: 0.0,
    max: 2.0,
    step: 0.05,
    default: 0.9,
    unit: None,
};

pub const TOP_P: SliderSpec = SliderSpec {
    field: "top_p",
    label: "Top-p",
    min: 0.05,
    max: 1.0,
    step: 0.05,
    default: 0.95,
    unit: None,
};

pub const MAX_TOKENS: SliderSpec = SliderSpec {
    field: "max_tokens",
    label: "Max tokens",
    min: 1.0,
    max: 8192.0,
    step: 1.0,
    default: 1024.0,
    unit: Some("tokens"),
};

impl SliderSpec {
    /// Parses a value typed or posted for this slider; NaN, infinities and anything outside
    /// `[min, max]` are refused rather than clamped, so a bad client is told, not silently fixed.
    pub fn parse(&self, raw: &str) -> Result<f64, InputError> {
        let value: f64 = raw.trim().parse().map_err(|_| InputError::NotANumber {
            field: self.label.to_string(),
        })?;
        if !value.is_finite() {
            return Err(InputError::NotANumber {
                field: self.label.to_string(),
            });
        }
        // A tolerance of a millionth keeps 2.0000000001 from a float round trip acceptable.
        if value < self.min - 1e-6 || value > self.max + 1e-6 {
            return Err(InputError::OutOfRange {
                field: self.label.to_string(),
                min: self.min,
                max: self.max,
            });
        }
        Ok(value.clamp(self.min, self.max))
    }
}

/// The sampling parameters applied to one request.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenParams {
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: u32,
    /// Gemini's thinking; `None`: the server's default (`GEMINI_THINKING`). A turn stores what
    /// it was sent with, so a chat's page shows its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Thinking>,
}

impl Default for GenParams {
    fn default() -> Self {
        GenParams {
            temperature: TEMPERATURE.default as f32,
            top_p: TOP_P.default as f32,
            max_tokens: MAX_TOKENS.default as u32,
            thinking: None,
        }
    }
}

impl GenParams {
    pub fn parse(temperature: &str, top_p: &str, max_tokens: &str) -> Result<Self, InputError> {
        let temperature = TEMPERATURE.parse(temperature)? as f32;
        let top_p = TOP_P.parse(top_p)? as f32;
        let max_tokens = MAX_TOKENS.parse(max_tokens)?;
        if max_tokens.fract() != 0.0 {
            return Err(InputError::NotAWholeNumber {
                field: MAX_TOKENS.label.to_string(),
            });
        }
        Ok(GenParams {
            temperature,
            top_p,
            max_tokens: max_tokens as u32,
            thinking: None,
        })
    }
}

/// What the user picked in the settings panel; remembered in a cookie so a reload keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub model: ModelId,
    pub params: GenParams,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: ModelId::Gemma,
            params: GenParams::default(),
        }
    }
}

/// `v` with `places` decimals, by integer arithmetic: Rust's float formatting would add about
/// 5 KB (brotli) to the browser's bundle, which formats nothing finer than hundredths.
pub fn decimal(v: f64, places: u32) -> String {
    let scale = 10i64.pow(places);
    let n = (v * scale as f64).round() as i64;
    let sign = if n < 0 { "-" } else { "" };
    let n = n.abs();
    match places {
        0 => format!("{sign}{n}"),
        _ => format!(
            "{sign}{}.{:0width$}",
            n / scale,
            n % scale,
            width = places as usize
        ),
    }
}

/// Name of the (readable, not HttpOnly) cookie holding [`Settings`].
pub const SETTINGS_COOKIE: &str = "hc_settings";

impl Settings {
    /// `model|temperature|top_p|max_tokens[|thinking]`: only characters a cookie value may hold.
    pub fn to_cookie_value(&self) -> String {
        let mut value = format!(
            "{}|{}|{}|{}",
            self.model.as_str(),
            decimal(self.params.temperature.into(), 2),
            decimal(self.params.top_p.into(), 2),
            self.params.max_tokens
        );
        if let Some(t) = self.params.thinking {
            value.push('|');
            value.push_str(&t.to_string());
        }
        value
    }

    /// Reads a cookie value; anything malformed or out of range yields `None` (and so defaults),
    /// never an error: the cookie is only a convenience.
    pub fn from_cookie_value(value: &str) -> Option<Settings> {
        let mut parts = value.split('|');
        let model = ModelId::parse(parts.next()?)?;
        let mut params = GenParams::parse(parts.next()?, parts.next()?, parts.next()?).ok()?;
        if let Some(thinking) = parts.next() {
            params.thinking = Some(Thinking::parse(thinking).ok()?);
        }
        if parts.next().is_some() {
            return None;
        }
        Some(Settings { model, params })
    }
}

/// A message, model and parameters that passed validation.
#[derive(Clone, Debug, PartialEq)]
pub struct SendRequest {
    pub text: String,
    pub model: ModelId,
    pub params: GenParams,
}

impl SendRequest {
    /// Validates the raw form fields of a send. The message keeps its inner whitespace (code
    /// blocks matter) but loses leading and trailing blank lines. It may be blank only when
    /// it carries files (`with_files`): a picture alone is a question too.
    pub fn parse(
        message: &str,
        with_files: bool,
        model: &str,
        temperature: &str,
        top_p: &str,
        max_tokens: &str,
    ) -> Result<SendRequest, InputError> {
        let text = message.trim();
        if text.is_empty() && !with_files {
            return Err(InputError::EmptyMessage);
        }
        let chars = text.chars().count();
        if chars > MAX_MESSAGE_CHARS {
            return Err(InputError::MessageTooLong {
                chars,
                max: MAX_MESSAGE_CHARS,
            });
        }
        TextField::Message.check_bytes(text)?;
        let model = ModelId::parse(model.trim()).ok_or_else(|| InputError::UnknownModel {
            name: model.chars().take(40).collect(),
        })?;
        let params = GenParams::parse(temperature, top_p, max_tokens)?;
        Ok(SendRequest {
            text: text.to_string(),
            model,
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(msg: &str, model: &str, t: &str, p: &str, m: &str) -> Result<SendRequest, InputError> {
        SendRequest::parse(msg, false, model, t, p, m)
    }

    #[test]
    fn accepts_a_normal_message_and_the_slider_extremes() {
        let ok = send("  hello\n", "gemini", "0", "0.05", "8192").expect("valid");
        assert_eq!(ok.text, "hello");
        assert_eq!(ok.model, ModelId::Gemini);
        assert_eq!(ok.params.temperature, 0.0);
        assert_eq!(ok.params.max_tokens, 8192);
        let ok = send("x", "gemma", "2", "1", "1").expect("valid");
        assert_eq!(ok.params.temperature, 2.0);
        assert_eq!(ok.params.top_p, 1.0);
        assert_eq!(ok.params.max_tokens, 1);
    }

    #[test]
    fn blank_messages_are_refused_unless_they_carry_files() {
        for blank in ["", "   ", "\n\t \n"] {
            assert_eq!(
                send(blank, "gemma", "1", "1", "10"),
                Err(InputError::EmptyMessage)
            );
            let files_only = SendRequest::parse(blank, true, "gemma", "1", "1", "10");
            assert_eq!(files_only.map(|s| s.text), Ok(String::new()));
        }
    }

    #[test]
    fn oversized_messages_are_refused_by_characters_not_bytes() {
        let at_limit = "é".repeat(MAX_MESSAGE_CHARS);
        assert!(send(&at_limit, "gemma", "1", "1", "10").is_ok());
        let over = "a".repeat(MAX_MESSAGE_CHARS + 1);
        assert!(matches!(
            send(&over, "gemma", "1", "1", "10"),
            Err(InputError::MessageTooLong { chars, .. }) if chars == MAX_MESSAGE_CHARS + 1
        ));
    }

    #[test]
    fn every_slider_out_of_range_is_refused() {
        let cases = [
            ("-0.05", "0.5", "10", "Temperature"),
            ("2.05", "0.5", "10", "Temperature"),
            ("1", "0", "10", "Top-p"),
            ("1", "1.01", "10", "Top-p"),
            ("1", "0.5", "0", "Max tokens"),
            ("1", "0.5", "8193", "Max tokens"),
            ("1", "0.5", "-3", "Max tokens"),
        ];
        for (t, p, m, field) in cases {
            match send("hi", "gemma", t, p, m) {
                Err(InputError::OutOfRange { field: f, .. }) => assert_eq!(f, field, "{t} {p} {m}"),
                other => panic!("{t} {p} {m}: expected out of range, got {other:?}"),
            }
        }
    }

    #[test]
    fn non_numbers_and_fractions_are_refused() {
        for bad in ["NaN", "inf", "", "warm", "0x1"] {
            assert!(
                matches!(
                    send("hi", "gemma", bad, "0.5", "10"),
                    Err(InputError::NotANumber { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            send("hi", "gemma", "1", "0.5", "10.5"),
            Err(InputError::NotAWholeNumber { .. })
        ));
    }

    #[test]
    fn unknown_models_are_refused_and_named_briefly() {
        let long = "m".repeat(500);
        match send("hi", &long, "1", "0.5", "10") {
            Err(InputError::UnknownModel { name }) => assert_eq!(name.len(), 40),
            other => panic!("expected unknown model, got {other:?}"),
        }
        assert!(matches!(
            send("hi", "gpt-4", "1", "0.5", "10"),
            Err(InputError::UnknownModel { .. })
        ));
    }

    #[test]
    fn settings_cookie_round_trips_and_rejects_junk() {
        let s = Settings {
            model: ModelId::Gemini,
            params: GenParams {
                temperature: 1.25,
                top_p: 0.5,
                max_tokens: 77,
                thinking: None,
            },
        };
        assert_eq!(Settings::from_cookie_value(&s.to_cookie_value()), Some(s));
        for thinking in THINKING_CHOICES.into_iter().chain([Thinking::Budget(512)]) {
            let mut t = s;
            t.params.thinking = Some(thinking);
            assert_eq!(Settings::from_cookie_value(&t.to_cookie_value()), Some(t));
        }
        assert_eq!(
            [
                decimal(0.9, 2),
                decimal(1.0, 0),
                decimal(1.005, 1),
                decimal(-0.25, 2)
            ],
            ["0.90", "1", "1.0", "-0.25"]
        );
        assert_eq!(decimal(f64::from(0.95f32), 2), "0.95");
        for junk in [
            "",
            "gemma",
            "gemma|1|1",
            "gemma|9|1|10",
            "gpt|1|1|10",
            "gemma|1|1|10|x",
            "gemma|1|1|10|99999",
            "gemma|1|1|10|auto|x",
        ] {
            assert_eq!(Settings::from_cookie_value(junk), None, "{junk:?}");
        }
    }
}
