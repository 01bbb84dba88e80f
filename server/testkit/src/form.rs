//! Forms as a browser posts them: URL-encoded fields, and the composer's send form.

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A whole form body.
pub fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The composer's form with its default sliders (those of a new chat); change what a test is
/// about and leave the rest.
#[derive(Clone, Debug)]
pub struct SendForm {
    fields: Vec<(String, String)>,
}

impl SendForm {
    pub fn new(message: &str) -> SendForm {
        SendForm {
            fields: [
                ("message", message),
                ("model", "gemma"),
                ("temperature", "0.9"),
                ("top_p", "0.95"),
                ("max_tokens", "1024"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        }
    }

    /// Sets a field, replacing it if present (any name, so tests can send what no page would).
    pub fn set(mut self, name: &str, value: impl ToString) -> SendForm {
        self.fields.retain(|(k, _)| k != name);
        self.fields.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets each of `fields`.
    pub fn with(self, fields: &[(&str, &str)]) -> SendForm {
        fields.iter().fold(self, |form, (k, v)| form.set(k, v))
    }

    /// Leaves a field out, as a forged request might.
    pub fn without(mut self, name: &str) -> SendForm {
        self.fields.retain(|(k, _)| k != name);
        self
    }

    pub fn model(self, model: &str) -> SendForm {
        self.set("model", model)
    }

    pub fn max_tokens(self, n: impl ToString) -> SendForm {
        self.set("max_tokens", n)
    }

    pub fn chat(self, id: &str) -> SendForm {
        self.set("chat", id)
    }

    pub fn fields(&self) -> Vec<(&str, &str)> {
        self.fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    pub fn encode(&self) -> String {
        encode(&self.fields())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_and_without_removes() {
        let form = SendForm::new("a b&c")
            .model("gemini")
            .max_tokens(7)
            .without("top_p");
        assert_eq!(
            form.encode(),
            "message=a+b%26c&temperature=0.9&model=gemini&max_tokens=7"
        );
    }
}
