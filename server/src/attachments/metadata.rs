//! Metadata a picture carries that the person may not know they are sending: where it was
//! taken (EXIF GPS), and text the camera or an editor wrote (XMP, IPTC, comments). Removed
//! before a picture is stored or sent, by rewriting its container without those parts; the
//! picture's own data is copied byte for byte, never decoded and encoded again.
//!
//! PDFs are left as they are: a document's metadata is its author's and title, not a place.

use super::sniff::Kind;

/// `bytes` (a file [`super::sniff`] called `kind`) without its metadata; `None` if the
/// container is malformed past its header (such a file is refused, not sent half-read).
pub fn strip(kind: Kind, bytes: &[u8]) -> Option<Vec<u8>> {
    match kind {
        Kind::Jpeg => jpeg(bytes),
        Kind::Png => png(bytes),
        Kind::Webp => webp(bytes),
        Kind::Gif => gif(bytes),
        Kind::Pdf | Kind::Text => Some(bytes.to_vec()),
    }
}

/// Segments up to the scan; APP1 (EXIF, XMP), APP13 (IPTC) and comments are dropped. The
/// scan and everything after it are copied as they are.
fn jpeg(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(b.get(..2)?);
    let mut at = 2;
    loop {
        (*b.get(at)? == 0xFF).then_some(())?;
        let marker = *b.get(at + 1)?;
        match marker {
            0xFF => {
                at += 1;
                continue;
            }
            0xD0..=0xD7 | 0x01 => {
                out.extend_from_slice(&b[at..at + 2]);
                at += 2;
            }
            0xDA | 0xD9 => {
                out.extend_from_slice(&b[at..]);
                return Some(out);
            }
            _ => {
                let len = u16::from_be_bytes(b.get(at + 2..at + 4)?.try_into().ok()?) as usize;
                let end = at + 2 + len;
                let segment = b.get(at..end)?;
                if !matches!(marker, 0xE1 | 0xED | 0xFE) {
                    out.extend_from_slice(segment);
                }
                at = end;
            }
        }
    }
}

/// Chunks; eXIf and the text chunks (tEXt, zTXt, iTXt, where XMP lives) are dropped. Each
/// chunk carries its own CRC, so the others are unchanged.
fn png(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(b.get(..8)?);
    let mut at = 8;
    while at < b.len() {
        let len = u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
        let end = at.checked_add(12)?.checked_add(len)?;
        let chunk = b.get(at..end)?;
        let kind = &chunk[4..8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt") {
            out.extend_from_slice(chunk);
        }
        at = end;
        if kind == b"IEND" {
            break;
        }
    }
    Some(out)
}

/// RIFF chunks; EXIF and XMP are dropped, the extended header's flags for them cleared, and
/// the RIFF size written again.
fn webp(b: &[u8]) -> Option<Vec<u8>> {
    const EXIF_FLAG: u8 = 0x08;
    const XMP_FLAG: u8 = 0x04;
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(b.get(..12)?);
    let mut at = 12;
    while at < b.len() {
        let len = u32::from_le_bytes(b.get(at + 4..at + 8)?.try_into().ok()?) as usize;
        // Chunks are padded to an even size.
        let end = (at + 8 + len + (len & 1)).min(b.len());
        let chunk = b.get(at..end)?;
        match &chunk[..4] {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut header = chunk.to_vec();
                *header.get_mut(8)? &= !(EXIF_FLAG | XMP_FLAG);
                out.extend_from_slice(&header);
            }
            _ => out.extend_from_slice(chunk),
        }
        at = end;
    }
    let riff = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    Some(out)
}

/// Blocks; comments and the XMP application extension are dropped, frames copied whole.
fn gif(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    // Header and logical screen descriptor, then the global color table if there is one.
    let flags = *b.get(10)?;
    let mut at = 13;
    if flags & 0x80 != 0 {
        at += 3 << ((flags & 0x07) + 1);
    }
    out.extend_from_slice(b.get(..at)?);
    // Sub-blocks (a length byte, then that many bytes) up to the empty one: returns its end.
    let sub_blocks = |mut at: usize| -> Option<usize> {
        loop {
            let len = *b.get(at)? as usize;
            at += 1 + len;
            if len == 0 {
                return Some(at);
            }
        }
    };
    loop {
        match *b.get(at)? {
            0x3B => {
                out.push(0x3B);
                return Some(out);
            }
            0x2C => {
                // Image descriptor (10 bytes), local color table, LZW code size, data.
                let flags = *b.get(at + 9)?;
                let mut end = at + 10;
                if flags & 0x80 != 0 {
                    end += 3 << ((flags & 0x07) + 1);
                }
                let end = sub_blocks(end + 1)?;
                out.extend_from_slice(b.get(at..end)?);
                at = end;
            }
            0x21 => {
                let label = *b.get(at + 1)?;
                let end = sub_blocks(at + 2)?;
                let xmp = label == 0xFF && b.get(at + 3..at + 11) == Some(b"XMP Data");
                if label != 0xFE && !xmp {
                    out.extend_from_slice(b.get(at..end)?);
                }
                at = end;
            }
            _ => return None,
        }
    }
}
