//! Metadata a picture carries that the person may not know they are sending: where it was
//! taken (EXIF GPS), and text the camera or an editor wrote (XMP, IPTC, comments). Removed
//! before a picture is stored or sent, by rewriting its container without those parts; the
//! picture's own data is kept byte for byte, never decoded and encoded again. The walk reads
//! only the containers' headers ([`Source`]) and gives a [`Plan`]: the parts kept, which are then
//! streamed from the spool to the store, so a picture is never held whole.
//!
//! PDFs are left as they are: a document's metadata is its author's and title, not a place.

use super::sniff::Kind;
use super::source::Source;
use std::ops::Range;

/// What a file is without its metadata: the parts of it kept, in order, and bytes to change in
/// the result (a WebP's flags and size).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub kept: Vec<Range<usize>>,
    /// Offsets in the result, and the byte there.
    pub patches: Vec<(usize, u8)>,
}

/// How `src` (a file [`super::sniff`] called `kind`) sheds its metadata; `None` if the container
/// is malformed past its header (such a file is refused, not sent half-read).
pub fn plan(kind: Kind, src: &mut impl Source) -> Option<Plan> {
    match kind {
        Kind::Jpeg => jpeg(src),
        Kind::Png => png(src),
        Kind::Webp => webp(src),
        Kind::Gif => gif(src),
        Kind::Pdf | Kind::Text => {
            let mut plan = Plan::default();
            plan.keep(0..src.len());
            Some(plan)
        }
    }
}

/// `bytes` without their metadata, in memory: the plan applied in place (the kept parts moved
/// down over the dropped ones).
pub fn strip(kind: Kind, mut bytes: Vec<u8>) -> Option<Vec<u8>> {
    let plan = plan(kind, &mut bytes.as_slice())?;
    let mut len = 0;
    for range in &plan.kept {
        bytes.copy_within(range.clone(), len);
        len += range.len();
    }
    bytes.truncate(len);
    for (at, byte) in plan.patches {
        *bytes.get_mut(at)? = byte;
    }
    Some(bytes)
}

impl Plan {
    /// The result's length.
    pub fn len(&self) -> usize {
        self.kept.iter().map(Range::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps `range` too; touching ranges are joined.
    fn keep(&mut self, range: Range<usize>) {
        match self.kept.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => self.kept.push(range),
        }
    }

    /// Where the result's pieces of at most `max` bytes come from, in order.
    pub fn pieces(&self, max: usize) -> Vec<Range<usize>> {
        self.kept
            .iter()
            .flat_map(|r| {
                (r.start..r.end)
                    .step_by(max.max(1))
                    .map(move |at| at..(at + max).min(r.end))
            })
            .collect()
    }

    /// Applies to `bytes`, a piece of the result starting at `out_at`, the patches that fall
    /// in it.
    pub fn patch(&self, out_at: usize, bytes: &mut [u8]) {
        for &(at, byte) in &self.patches {
            if let Some(b) = at.checked_sub(out_at).and_then(|i| bytes.get_mut(i)) {
                *b = byte;
            }
        }
    }
}

/// Segments up to the scan; APP1 (EXIF, XMP), APP13 (IPTC) and comments are dropped. The
/// scan and everything after it are kept as they are.
fn jpeg(b: &mut impl Source) -> Option<Plan> {
    let mut plan = Plan::default();
    b.array::<2>(0)?;
    plan.keep(0..2);
    let mut at = 2;
    loop {
        (b.byte(at)? == 0xFF).then_some(())?;
        let marker = b.byte(at + 1)?;
        match marker {
            0xFF => {
                at += 1;
                continue;
            }
            0xD0..=0xD7 | 0x01 => {
                plan.keep(at..at + 2);
                at += 2;
            }
            0xDA | 0xD9 => {
                plan.keep(at..b.len());
                return Some(plan);
            }
            _ => {
                let end = at + 2 + b.be16(at + 2)? as usize;
                (end <= b.len()).then_some(())?;
                if !matches!(marker, 0xE1 | 0xED | 0xFE) {
                    plan.keep(at..end);
                }
                at = end;
            }
        }
    }
}

/// Chunks; eXIf and the text chunks (tEXt, zTXt, iTXt, where XMP lives) are dropped. Each
/// chunk carries its own CRC, so the others are unchanged.
fn png(b: &mut impl Source) -> Option<Plan> {
    let mut plan = Plan::default();
    b.array::<8>(0)?;
    plan.keep(0..8);
    let mut at = 8;
    while at < b.len() {
        let len = b.be32(at)? as usize;
        let end = at.checked_add(12)?.checked_add(len)?;
        (end <= b.len()).then_some(())?;
        let kind = b.array::<4>(at + 4)?;
        if !matches!(&kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt") {
            plan.keep(at..end);
        }
        at = end;
        if &kind == b"IEND" {
            break;
        }
    }
    Some(plan)
}

/// RIFF chunks; EXIF and XMP are dropped, the extended header's flags for them cleared, and
/// the RIFF size written again.
fn webp(b: &mut impl Source) -> Option<Plan> {
    const EXIF_FLAG: u8 = 0x08;
    const XMP_FLAG: u8 = 0x04;
    let mut plan = Plan::default();
    b.array::<12>(0)?;
    plan.keep(0..12);
    let mut flags = None;
    let mut at = 12;
    while at < b.len() {
        let len = b.le32(at + 4)? as usize;
        // Chunks are padded to an even size.
        let end = (at + 8 + len + (len & 1)).min(b.len());
        match &b.array::<4>(at)? {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                // Where the flags land in the result: after what is kept so far.
                let cleared = b.byte(at + 8)? & !(EXIF_FLAG | XMP_FLAG);
                flags = Some((plan.len() + 8, cleared));
                plan.keep(at..end);
            }
            _ => plan.keep(at..end),
        }
        at = end;
    }
    let riff = u32::try_from(plan.len().checked_sub(8)?).ok()?;
    plan.patches = (4..8).zip(riff.to_le_bytes()).chain(flags).collect();
    Some(plan)
}

/// Sub-blocks (a length byte, then that many bytes) from `at` up to the empty one: their end.
fn sub_blocks(b: &mut impl Source, mut at: usize) -> Option<usize> {
    loop {
        let len = b.byte(at)? as usize;
        at += 1 + len;
        if len == 0 {
            return Some(at);
        }
    }
}

/// Blocks; comments and the XMP application extension are dropped, frames kept whole.
fn gif(b: &mut impl Source) -> Option<Plan> {
    let mut plan = Plan::default();
    // Header and logical screen descriptor, then the global color table if there is one.
    let flags = b.byte(10)?;
    let mut at = 13;
    if flags & 0x80 != 0 {
        at += 3 << ((flags & 0x07) + 1);
    }
    (at <= b.len()).then_some(())?;
    plan.keep(0..at);
    loop {
        match b.byte(at)? {
            0x3B => {
                plan.keep(at..at + 1);
                return Some(plan);
            }
            0x2C => {
                // Image descriptor (10 bytes), local color table, LZW code size, data.
                let flags = b.byte(at + 9)?;
                let mut end = at + 10;
                if flags & 0x80 != 0 {
                    end += 3 << ((flags & 0x07) + 1);
                }
                let end = sub_blocks(b, end + 1)?;
                (end <= b.len()).then_some(())?;
                plan.keep(at..end);
                at = end;
            }
            0x21 => {
                let label = b.byte(at + 1)?;
                let end = sub_blocks(b, at + 2)?;
                (end <= b.len()).then_some(())?;
                let xmp = label == 0xFF && b.is(at + 3, b"XMP Data");
                if label != 0xFE && !xmp {
                    plan.keep(at..end);
                }
                at = end;
            }
            _ => return None,
        }
    }
}
