//! Files inside model requests, checked as the services check them: base64 that decodes, and
//! bytes that are what their MIME type says (vLLM opens pictures with PIL; Vertex refuses what
//! it cannot decode). Both stand-ins count what they were sent.

use base64::Engine;

/// What a file's first bytes say it is.
fn kind_of(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"GIF8") {
        Some("image/gif")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// Decodes `data` (standard base64) and checks it is a `mime` file.
pub fn decode(mime: &str, data: &str) -> Result<Vec<u8>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("invalid base64 data: {e}"))?;
    match kind_of(&bytes) {
        Some(kind) if kind == mime => Ok(bytes),
        Some(kind) => Err(format!("the data is {kind}, not {mime}")),
        None => Err("cannot identify image file".into()),
    }
}

/// A `data:` URL's MIME type and bytes (vLLM reads `data:image/png;base64,...`).
pub fn data_url(url: &str) -> Result<(String, Vec<u8>), String> {
    let rest = url
        .strip_prefix("data:")
        .ok_or("only data: URLs are served here (the stand-in fetches nothing)")?;
    let (mime, data) = rest
        .split_once(";base64,")
        .ok_or("a data URL must be base64 (data:MIME;base64,...)")?;
    if !mime.starts_with("image/") {
        return Err(format!("unsupported image type {mime}"));
    }
    Ok((mime.to_string(), decode(mime, data)?))
}
