//! Metadata a picture carries that the person may not know they are sending: where it was
//! taken (EXIF GPS), and text the camera or an editor wrote (XMP, IPTC, comments). Removed
//! before a picture is stored or sent, by rewriting its container without those parts; the
//! picture's own data is kept byte for byte, never decoded and encoded again. The parts kept are
//! moved down over the parts dropped, in the file's own buffer: stripping takes no second copy.
//!
//! PDFs are left as they are: a document's metadata is its author's and title, not a place.

use super::sniff::Kind;
use std::ops::Range;

/// `bytes` (a file [`super::sniff`] called `kind`) without its metadata; `None` if the
/// container is malformed past its header (such a file is refused, not sent half-read).
pub fn strip(kind: Kind, mut bytes: Vec<u8>) -> Option<Vec<u8>> {
    let kept = match kind {
        Kind::Jpeg => jpeg(&bytes)?,
        Kind::Png => png(&bytes)?,
        Kind::Webp => webp(&mut bytes)?,
        Kind::Gif => gif(&bytes)?,
        Kind::Pdf | Kind::Text => return Some(bytes),
    };
    // Ranges in order, none overlapping: each moves down (or stays), never over one not yet moved.
    let mut len = 0;
    for range in kept {
        let n = range.len();
        bytes.copy_within(range, len);
        len += n;
    }
    bytes.truncate(len);
    if kind == Kind::Webp {
        let riff = u32::try_from(len.checked_sub(8)?).ok()?;
        bytes.get_mut(4..8)?.copy_from_slice(&riff.to_le_bytes());
    }
    Some(bytes)
}

/// The parts of a file to keep, in order; touching ranges are joined.
#[derive(Default)]
struct Kept(Vec<Range<usize>>);

impl Kept {
    fn keep(&mut self, range: Range<usize>) {
        match self.0.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => self.0.push(range),
        }
    }
}

impl IntoIterator for Kept {
    type Item = Range<usize>;
    type IntoIter = std::vec::IntoIter<Range<usize>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Segments up to the scan; APP1 (EXIF, XMP), APP13 (IPTC) and comments are dropped. The
/// scan and everything after it are kept as they are.
fn jpeg(b: &[u8]) -> Option<Kept> {
    let mut kept = Kept::default();
    b.get(..2)?;
    kept.keep(0..2);
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
                b.get(at..at + 2)?;
                kept.keep(at..at + 2);
                at += 2;
            }
            0xDA | 0xD9 => {
                kept.keep(at..b.len());
                return Some(kept);
            }
            _ => {
                let len = u16::from_be_bytes(b.get(at + 2..at + 4)?.try_into().ok()?) as usize;
                let end = at + 2 + len;
                b.get(at..end)?;
                if !matches!(marker, 0xE1 | 0xED | 0xFE) {
                    kept.keep(at..end);
                }
                at = end;
            }
        }
    }
}

/// Chunks; eXIf and the text chunks (tEXt, zTXt, iTXt, where XMP lives) are dropped. Each
/// chunk carries its own CRC, so the others are unchanged.
fn png(b: &[u8]) -> Option<Kept> {
    let mut kept = Kept::default();
    b.get(..8)?;
    kept.keep(0..8);
    let mut at = 8;
    while at < b.len() {
        let len = u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
        let end = at.checked_add(12)?.checked_add(len)?;
        let chunk = b.get(at..end)?;
        let kind = &chunk[4..8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt") {
            kept.keep(at..end);
        }
        at = end;
        if kind == b"IEND" {
            break;
        }
    }
    Some(kept)
}

/// RIFF chunks; EXIF and XMP are dropped and the extended header's flags for them cleared
/// (`strip` then writes the RIFF size again).
fn webp(b: &mut [u8]) -> Option<Kept> {
    const EXIF_FLAG: u8 = 0x08;
    const XMP_FLAG: u8 = 0x04;
    let mut kept = Kept::default();
    b.get(..12)?;
    kept.keep(0..12);
    let mut at = 12;
    while at < b.len() {
        let len = u32::from_le_bytes(b.get(at + 4..at + 8)?.try_into().ok()?) as usize;
        // Chunks are padded to an even size.
        let end = (at + 8 + len + (len & 1)).min(b.len());
        let chunk = b.get_mut(at..end)?;
        match &chunk[..4] {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                *chunk.get_mut(8)? &= !(EXIF_FLAG | XMP_FLAG);
                kept.keep(at..end);
            }
            _ => kept.keep(at..end),
        }
        at = end;
    }
    Some(kept)
}

/// Blocks; comments and the XMP application extension are dropped, frames kept whole.
fn gif(b: &[u8]) -> Option<Kept> {
    let mut kept = Kept::default();
    // Header and logical screen descriptor, then the global color table if there is one.
    let flags = *b.get(10)?;
    let mut at = 13;
    if flags & 0x80 != 0 {
        at += 3 << ((flags & 0x07) + 1);
    }
    b.get(..at)?;
    kept.keep(0..at);
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
                kept.keep(at..at + 1);
                return Some(kept);
            }
            0x2C => {
                // Image descriptor (10 bytes), local color table, LZW code size, data.
                let flags = *b.get(at + 9)?;
                let mut end = at + 10;
                if flags & 0x80 != 0 {
                    end += 3 << ((flags & 0x07) + 1);
                }
                let end = sub_blocks(end + 1)?;
                b.get(at..end)?;
                kept.keep(at..end);
                at = end;
            }
            0x21 => {
                let label = *b.get(at + 1)?;
                let end = sub_blocks(at + 2)?;
                let xmp = label == 0xFF && b.get(at + 3..at + 11) == Some(b"XMP Data");
                b.get(at..end)?;
                if label != 0xFE && !xmp {
                    kept.keep(at..end);
                }
                at = end;
            }
            _ => return None,
        }
    }
}
