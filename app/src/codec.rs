//! How server functions' replies and errors travel: JSON on the wire, as always (so any HTTP
//! client, and the tests, read them as JSON), but decoded in the browser by its own
//! `JSON.parse` and `serde-wasm-bindgen` instead of `serde_json`, which was the largest crate
//! in the wasm. The page's first data (the `load_chat` resource) is read the same way
//! (`Resource::new_serde_wb_blocking`).

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON, written by `serde_json` on the server and read by the browser's own parser.
pub struct BrowserJsonEncoding;

/// A reply or argument that could not be encoded or decoded.
#[derive(Debug)]
pub struct CodecError(pub String);

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl ContentType for BrowserJsonEncoding {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for BrowserJsonEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

/// A server function's reply as JSON (`output = BrowserJson`).
pub type BrowserJson = Post<BrowserJsonEncoding>;

#[cfg(feature = "ssr")]
impl<T: Serialize> Encodes<T> for BrowserJsonEncoding {
    type Error = CodecError;

    fn encode(value: &T) -> Result<Bytes, CodecError> {
        serde_json::to_vec(value)
            .map(Into::into)
            .map_err(|e| CodecError(e.to_string()))
    }
}

#[cfg(feature = "ssr")]
impl<T: DeserializeOwned> Decodes<T> for BrowserJsonEncoding {
    type Error = CodecError;

    fn decode(bytes: Bytes) -> Result<T, CodecError> {
        serde_json::from_slice(&bytes).map_err(|e| CodecError(e.to_string()))
    }
}

// `Debug` prints nothing in the release wasm (`-Zfmt-debug=none`, deploy/build.sh); this text
// never reaches the page anyway (`ChatError::from_server_fn_error` keeps only the kind).
#[cfg(not(feature = "ssr"))]
fn js_error(e: impl Into<wasm_bindgen::JsValue>) -> CodecError {
    CodecError(format!("{:?}", e.into()))
}

#[cfg(not(feature = "ssr"))]
impl<T: Serialize> Encodes<T> for BrowserJsonEncoding {
    type Error = CodecError;

    fn encode(value: &T) -> Result<Bytes, CodecError> {
        let value = serde_wasm_bindgen::to_value(value).map_err(js_error)?;
        let text = js_sys::JSON::stringify(&value).map_err(js_error)?;
        Ok(String::from(text).into_bytes().into())
    }
}

#[cfg(not(feature = "ssr"))]
impl<T: DeserializeOwned> Decodes<T> for BrowserJsonEncoding {
    type Error = CodecError;

    fn decode(bytes: Bytes) -> Result<T, CodecError> {
        let text = std::str::from_utf8(&bytes).map_err(|e| CodecError(e.to_string()))?;
        let value = js_sys::JSON::parse(text).map_err(js_error)?;
        serde_wasm_bindgen::from_value(value).map_err(js_error)
    }
}
