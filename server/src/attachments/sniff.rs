//! What a file is, told by its content: the magic bytes, then the header decoded far enough to
//! read the picture's size. A name or a declared type says nothing here: an HTML page named
//! `cat.png` is HTML, and is refused.

use super::source::{Source, WINDOW};
use std::fmt;

/// The kinds of file the models read (the app's, which the page and the store share).
pub use app::attachment::AttachmentKind as Kind;

/// A file's kind, and for a picture its size in pixels (0 × 0 for a PDF).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: Kind,
    pub width: u32,
    pub height: u32,
}

/// The most pixels a picture may claim: a few megabytes of PNG can claim a 100,000-pixel
/// square, which decoding would turn into 40 GB (a decompression bomb). 40 megapixels is
/// beyond any phone camera; the models scale pictures far below it anyway.
pub const MAX_PIXELS: u64 = 40_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SniffError {
    /// Not a kind the models read; `looks_like` names it when it is a known danger.
    Unsupported {
        looks_like: &'static str,
    },
    /// The magic bytes of a kind, but a header cut short or malformed.
    Malformed(Kind),
    TooManyPixels {
        width: u32,
        height: u32,
    },
}

impl fmt::Display for SniffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SniffError::Unsupported { looks_like } => write!(
                f,
                "This file is {looks_like}, which cannot be attached. Attach a PNG, JPEG, WebP or GIF picture, or a PDF."
            ),
            SniffError::Malformed(kind) => write!(
                f,
                "This file starts like a {} but is damaged, so it was not attached.",
                kind.mime()
            ),
            SniffError::TooManyPixels { width, height } => write!(
                f,
                "This picture is {width} × {height} pixels; the limit is {} megapixels. Please make it smaller.",
                MAX_PIXELS / 1_000_000
            ),
        }
    }
}

impl std::error::Error for SniffError {}

/// Tells what `bytes` hold, or why they cannot be attached.
pub fn sniff(mut bytes: &[u8]) -> Result<Sniffed, SniffError> {
    sniff_source(&mut bytes)
}

/// Tells what `src` holds, reading its header (and a text file's every byte, a window at a time).
pub fn sniff_source(src: &mut impl Source) -> Result<Sniffed, SniffError> {
    let (kind, size) = if src.is(0, b"\x89PNG\r\n\x1a\n") {
        (Kind::Png, png(src))
    } else if src.is(0, &[0xFF, 0xD8, 0xFF]) {
        (Kind::Jpeg, jpeg(src))
    } else if src.is(0, b"RIFF") && src.is(8, b"WEBP") {
        (Kind::Webp, webp(src))
    } else if src.is(0, b"GIF87a") || src.is(0, b"GIF89a") {
        (Kind::Gif, gif(src))
    } else if src.is(0, b"%PDF-") {
        (Kind::Pdf, Some((0, 0)))
    } else {
        let looks_like = looks_like(&src.head(0, 1024));
        if looks_like == UNKNOWN && is_text(src) {
            (Kind::Text, Some((0, 0)))
        } else {
            return Err(SniffError::Unsupported { looks_like });
        }
    };
    let (width, height) = size.ok_or(SniffError::Malformed(kind))?;
    if kind.is_image() && (width == 0 || height == 0) {
        return Err(SniffError::Malformed(kind));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(SniffError::TooManyPixels { width, height });
    }
    Ok(Sniffed {
        kind,
        width,
        height,
    })
}

/// What a refused file looks like, for the refusal's words.
fn looks_like(bytes: &[u8]) -> &'static str {
    let head: Vec<u8> = bytes
        .iter()
        .skip_while(|b| b.is_ascii_whitespace() || [0xEF, 0xBB, 0xBF].contains(*b))
        .take(256)
        .map(u8::to_ascii_lowercase)
        .collect();
    let text = String::from_utf8_lossy(&head);
    if text.contains("<svg") {
        "an SVG drawing (it can carry scripts)"
    } else if text.starts_with("<!doctype html")
        || text.starts_with("<html")
        || text.contains("<script")
    {
        "a web page"
    } else if text.starts_with("<?xml") {
        "an XML document"
    } else {
        UNKNOWN
    }
}

const UNKNOWN: &str = "of a kind the models do not read";

/// Words a person could read: UTF-8 (a byte-order mark allowed), something besides blanks, and
/// no control characters but tabs, line and page breaks (a NUL or an escape means binary). Read
/// a window at a time, a character cut by a window's end carried into the next.
fn is_text(src: &mut impl Source) -> bool {
    let mut at = if src.is(0, &[0xEF, 0xBB, 0xBF]) { 3 } else { 0 };
    let (mut carried, mut words) = (Vec::new(), false);
    while at < src.len() {
        let mut piece = std::mem::take(&mut carried);
        piece.extend_from_slice(&src.head(at, WINDOW));
        at += WINDOW.min(src.len() - at);
        let text = match std::str::from_utf8(&piece) {
            Ok(text) => text,
            // Cut mid-character by the window (not the file's end): the rest comes next.
            Err(e) if e.error_len().is_none() && at < src.len() => {
                carried = piece[e.valid_up_to()..].to_vec();
                std::str::from_utf8(&piece[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => return false,
        };
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
        {
            return false;
        }
        words |= !text.trim().is_empty();
    }
    words && carried.is_empty()
}

/// The first chunk is IHDR: width and height, big-endian.
fn png(b: &mut impl Source) -> Option<(u32, u32)> {
    b.is(12, b"IHDR").then_some(())?;
    Some((b.be32(16)?, b.be32(20)?))
}

/// The segments up to the first frame header (SOF), which holds the size.
fn jpeg(b: &mut impl Source) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        // Markers may be padded with 0xFF.
        while b.byte(at)? == 0xFF && b.byte(at + 1)? == 0xFF {
            at += 1;
        }
        (b.byte(at)? == 0xFF).then_some(())?;
        let marker = b.byte(at + 1)?;
        match marker {
            0xD0..=0xD7 | 0x01 => at += 2,
            // Start of scan before any frame header: no size to read.
            0xDA | 0xD9 => return None,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Some((b.be16(at + 7)?, b.be16(at + 5)?));
            }
            _ => at += 2 + b.be16(at + 2)? as usize,
        }
    }
}

/// RIFF chunks: VP8 (lossy), VP8L (lossless) or VP8X (extended, the canvas size).
fn webp(b: &mut impl Source) -> Option<(u32, u32)> {
    match &b.array::<4>(12)? {
        b"VP8 " => {
            // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
            b.is(23, &[0x9d, 0x01, 0x2a]).then_some(())?;
            Some((b.le16(26)? & 0x3fff, b.le16(28)? & 0x3fff))
        }
        b"VP8L" => {
            (b.byte(20)? == 0x2f).then_some(())?;
            let bits = b.le32(21)?;
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        b"VP8X" => Some((b.le24(24)? + 1, b.le24(27)? + 1)),
        _ => None,
    }
}

/// The logical screen: little-endian width and height after the signature.
fn gif(b: &mut impl Source) -> Option<(u32, u32)> {
    Some((b.le16(6)?, b.le16(8)?))
}
