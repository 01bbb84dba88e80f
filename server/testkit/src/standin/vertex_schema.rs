//! What Vertex AI accepts in a `generateContent` body: aiplatform v1's field names (Google's
//! JSON mapping takes camelCase and the proto's snake_case), refused in Google's words when
//! unknown or misplaced, and each generation setting's range from Vertex's docs. Checked
//! against Google's own types by `server/tests/vertex_oracle.rs`.

use serde_json::Value;

/// Field names of aiplatform v1's `GenerateContentRequest` and the messages our requests use,
/// in the camelCase JSON spelling; Google's JSON mapping accepts the proto (snake_case) names
/// too. Anything else is refused as Google refuses it.
const REQUEST_FIELDS: &[&str] = &[
    "model",
    "contents",
    "systemInstruction",
    "cachedContent",
    "tools",
    "toolConfig",
    "labels",
    "safetySettings",
    "modelArmorConfig",
    "generationConfig",
];
const CONTENT_FIELDS: &[&str] = &["role", "parts"];
const PART_FIELDS: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "videoMetadata",
    "thought",
    "thoughtSignature",
];
const GENERATION_FIELDS: &[&str] = &[
    "temperature",
    "topP",
    "topK",
    "candidateCount",
    "maxOutputTokens",
    "stopSequences",
    "responseLogprobs",
    "logprobs",
    "presencePenalty",
    "frequencyPenalty",
    "seed",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "routingConfig",
    "audioTimestamp",
    "mediaResolution",
    "responseModalities",
    "speechConfig",
    "thinkingConfig",
    "imageConfig",
    "enableAffectiveDialog",
    "modelConfig",
];
const THINKING_FIELDS: &[&str] = &["includeThoughts", "thinkingBudget", "thinkingLevel"];

/// Gemini 2.5 Flash's limits (Vertex's model and thinking pages).
pub const MAX_OUTPUT_TOKENS: u64 = 65_536;
pub const MAX_THINKING_BUDGET: i64 = 24_576;
/// How far Auto (dynamic) thinking may go.
pub const AUTO_THINKING_CAP: u64 = 8_192;

fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Finds `key` in `known` under either spelling.
fn known_field(known: &[&str], key: &str) -> bool {
    known.iter().any(|k| *k == key || snake(k) == key)
}

/// Google's words for a field it does not know, e.g. `Unknown name "thinkingBudget" at
/// 'generation_config': Cannot find field.`
fn check_fields(value: &Value, known: &[&str], at: &str) -> Result<(), String> {
    let Some(object) = value.as_object() else {
        return Err(format!("Invalid value at '{at}', expected an object."));
    };
    for key in object.keys() {
        if !known_field(known, key) {
            let place = if at.is_empty() {
                String::new()
            } else {
                format!(" at '{at}'")
            };
            return Err(format!(
                "Invalid JSON payload received. Unknown name \"{key}\"{place}: Cannot find field."
            ));
        }
    }
    Ok(())
}

/// What Gemini 2.5 Flash reads inline (Vertex's model page): PNG, JPEG, WebP and HEIC/HEIF
/// pictures, PDFs; not GIF.
const INLINE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/heic",
    "image/heif",
    "application/pdf",
];

/// The most bytes of one file inline (Vertex's image and document pages for Gemini 2.5).
const MAX_INLINE_BYTES: usize = 7_000_000;

/// An `inlineData` part: a known MIME type, and base64 bytes that are that file.
fn inline_data(blob: &Value, at: &str) -> Result<(), String> {
    check_fields(
        blob,
        &["mimeType", "data", "displayName"],
        &format!("{at}.inline_data"),
    )?;
    let mime = field(blob, "mimeType")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !INLINE_TYPES.contains(&mime) {
        return Err(format!("Unsupported MIME type: {mime}"));
    }
    let data = field(blob, "data")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("Invalid value at '{at}.inline_data.data' (TYPE_BYTES)."))?;
    let bytes = super::media::decode(mime, data);
    if bytes.as_ref().is_ok_and(|b| b.len() > MAX_INLINE_BYTES) {
        return Err(format!(
            "{at}.inline_data: inline data is larger than the 7 MB a file may be."
        ));
    }
    bytes
        .map(|_| ())
        .map_err(|e| format!("Unable to process input image. Please retry or report in https://developers.generativeai.google/guide/troubleshooting ({e})."))
}

/// `value[camel]` under either spelling.
fn field<'a>(value: &'a Value, camel: &str) -> Option<&'a Value> {
    value.get(camel).or_else(|| value.get(snake(camel)))
}

/// A request as Vertex reads it: the last user text and the generation settings that shape the
/// reply. Names are checked as Google's JSON mapping does; values as Vertex's docs say.
pub struct Checked {
    pub last_user: String,
    pub max_output_tokens: u64,
    /// `None`: dynamic (no `thinkingConfig`, or a budget of -1).
    pub thinking_budget: Option<u64>,
    pub include_thoughts: bool,
}

pub(super) fn validate_request(body: &Value) -> Result<Checked, String> {
    check_fields(body, REQUEST_FIELDS, "")?;
    let contents = field(body, "contents")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or("Unable to submit request because it has an empty contents field.")?;
    let mut last_user = String::new();
    for (i, c) in contents.iter().enumerate() {
        let at = format!("contents[{i}]");
        check_fields(c, CONTENT_FIELDS, &at)?;
        let role = c.get("role").and_then(Value::as_str).unwrap_or("");
        let expected = if i % 2 == 0 { "user" } else { "model" };
        if role != expected {
            return Err(format!(
                "Please ensure that multiturn requests alternate between user and model ({at}.role must be {expected})."
            ));
        }
        let parts = c
            .get("parts")
            .and_then(Value::as_array)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("Unable to submit request because {at} has no parts."))?;
        let mut text = String::new();
        for (j, p) in parts.iter().enumerate() {
            check_fields(p, PART_FIELDS, &format!("{at}.parts[{j}]"))?;
            match (p.get("text"), field(p, "inlineData")) {
                (Some(Value::String(t)), None) => text.push_str(t),
                (None, Some(blob)) => inline_data(blob, &format!("{at}.parts[{j}]"))?,
                _ => {
                    return Err(format!(
                        "Invalid value at '{at}.parts[{j}].text' (TYPE_STRING)."
                    ))
                }
            }
        }
        if role == "user" {
            last_user = text;
        }
    }
    if contents.len().is_multiple_of(2) {
        return Err("Please ensure that multiturn requests end with a user role.".into());
    }
    if let Some(system) = field(body, "systemInstruction") {
        check_fields(system, CONTENT_FIELDS, "system_instruction")?;
        for (j, p) in system
            .get("parts")
            .and_then(Value::as_array)
            .ok_or("Invalid value at 'system_instruction.parts'.")?
            .iter()
            .enumerate()
        {
            check_fields(p, PART_FIELDS, &format!("system_instruction.parts[{j}]"))?;
        }
    }
    let mut checked = Checked {
        last_user,
        max_output_tokens: MAX_OUTPUT_TOKENS,
        thinking_budget: None,
        include_thoughts: false,
    };
    let Some(config) = field(body, "generationConfig") else {
        return Ok(checked);
    };
    check_fields(config, GENERATION_FIELDS, "generation_config")?;
    for (key, lo, hi) in [("temperature", 0.0, 2.0), ("topP", 0.0, 1.0)] {
        match field(config, key) {
            None => {}
            Some(v) => match v.as_f64() {
                Some(v) if v >= lo && v <= hi => {}
                _ => {
                    return Err(format!(
                        "Unable to submit request because it has a {key} value of {v} but the supported range is from {lo} (inclusive) to {hi} (inclusive). Update the value and try again."
                    ))
                }
            },
        }
    }
    if let Some(v) = field(config, "maxOutputTokens") {
        match v.as_u64() {
            Some(n) if (1..=MAX_OUTPUT_TOKENS).contains(&n) => checked.max_output_tokens = n,
            _ => {
                return Err(format!(
                    "Unable to submit request because it has a maxOutputTokens value of {v} but the supported range is from 1 (inclusive) to {} (exclusive). Update the value and try again.",
                    MAX_OUTPUT_TOKENS + 1
                ))
            }
        }
    }
    if let Some(thinking) = field(config, "thinkingConfig") {
        check_fields(
            thinking,
            THINKING_FIELDS,
            "generation_config.thinking_config",
        )?;
        if let Some(v) = field(thinking, "thinkingBudget") {
            checked.thinking_budget = match v.as_i64() {
                Some(-1) => None,
                Some(b) if (0..=MAX_THINKING_BUDGET).contains(&b) => Some(b as u64),
                _ => {
                    return Err(format!(
                        "Unable to submit request because thinking_budget is out of range; supported values are integers from 0 to {MAX_THINKING_BUDGET}, or -1 for dynamic thinking."
                    ))
                }
            };
        }
        match field(thinking, "includeThoughts") {
            None => {}
            Some(Value::Bool(b)) => checked.include_thoughts = *b,
            Some(_) => {
                return Err(
                    "Invalid value at 'generation_config.thinking_config.include_thoughts' (TYPE_BOOL)."
                        .into(),
                )
            }
        }
    }
    Ok(checked)
}
