//! A file's bytes inline in a model request, as base64 written straight into the request's
//! JSON: a picture then takes memory once as bytes and once as the JSON body, never a third
//! time as a base64 string of its own.

use base64::Engine;
use serde::{Serialize, Serializer};
use std::fmt;

/// `request` as JSON, in a buffer sized up front for `conversation`'s words and files (as
/// base64): growing by doubling, a picture's body would pass through copies of half its size.
pub fn json_body(
    request: &impl Serialize,
    system: Option<&str>,
    conversation: &[app::prompt::PromptMessage],
) -> Vec<u8> {
    let size = 1024
        + system.map_or(0, str::len)
        + conversation
            .iter()
            .map(|m| {
                m.text.len()
                    + 64
                    + m.files
                        .iter()
                        .map(|f| f.bytes.len() / 3 * 4 + 128)
                        .sum::<usize>()
            })
            .sum::<usize>();
    let mut body = Vec::with_capacity(size);
    // Serialising strings, numbers and bytes into memory cannot fail.
    let _ = serde_json::to_writer(&mut body, request);
    body
}

/// Input bytes encoded per write: a multiple of 3, so only the last piece is padded.
const PIECE: usize = 3 * 1024;

/// `bytes` as standard base64.
pub struct Base64<'a>(pub &'a [u8]);

impl fmt::Display for Base64<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; PIECE / 3 * 4];
        for piece in self.0.chunks(PIECE) {
            let n = base64::engine::general_purpose::STANDARD
                .encode_slice(piece, &mut out)
                .map_err(|_| fmt::Error)?;
            // Base64's alphabet is ASCII.
            f.write_str(std::str::from_utf8(&out[..n]).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Base64<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64({} bytes)", self.0.len())
    }
}

impl Serialize for Base64<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A `data:` URL (what vLLM's `image_url` takes).
pub struct DataUrl<'a> {
    pub mime: &'a str,
    pub bytes: &'a [u8],
}

impl fmt::Display for DataUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "data:{};base64,{}", self.mime, Base64(self.bytes))
    }
}

impl fmt::Debug for DataUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataUrl({}, {} bytes)", self.mime, self.bytes.len())
    }
}

impl Serialize for DataUrl<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_in_pieces_it_is_the_same_base64() {
        for len in [
            0,
            1,
            2,
            3,
            PIECE - 1,
            PIECE,
            PIECE + 1,
            3 * PIECE + 2,
            100_003,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 13) as u8).collect();
            let whole = base64::engine::general_purpose::STANDARD.encode(&bytes);
            assert_eq!(Base64(&bytes).to_string(), whole, "{len} bytes");
            let json = serde_json::to_string(&DataUrl {
                mime: "image/png",
                bytes: &bytes,
            })
            .expect("json");
            assert_eq!(json, format!("\"data:image/png;base64,{whole}\""));
        }
    }
}
