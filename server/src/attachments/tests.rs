use super::metadata::strip;
use super::sniff::{sniff, Kind, SniffError, MAX_PIXELS};

use testkit::files::{gif, jpeg, png, webp};

#[test]
fn pictures_are_told_by_their_content_with_their_size() {
    for (bytes, kind, size) in [
        (png(640, 480), Kind::Png, (640, 480)),
        (jpeg(1024, 768), Kind::Jpeg, (1024, 768)),
        (webp(300, 200), Kind::Webp, (300, 200)),
        (gif(16, 9), Kind::Gif, (16, 9)),
    ] {
        let sniffed = sniff(&bytes).expect("accepted");
        assert_eq!(
            (sniffed.kind, sniffed.width, sniffed.height),
            (kind, size.0, size.1)
        );
    }
    let pdf = sniff(b"%PDF-1.7\n%...").expect("a PDF");
    assert_eq!(pdf.kind.mime(), "application/pdf");
}

#[test]
fn utf8_text_is_text_whatever_its_language_or_markup_inside() {
    for text in [
        "# Notes\n\n- one\n- two\n",
        "\u{feff}fn main() {\n\tprintln!(\"<b>hi</b>\");\n}\n",
        "日本語のテキスト\r\n",
    ] {
        let sniffed = sniff(text.as_bytes()).expect("text");
        assert_eq!((sniffed.kind, sniffed.width), (Kind::Text, 0));
    }
}

#[test]
fn svg_html_and_the_unknown_are_refused_by_what_they_are() {
    for (bytes, words) in [
        (
            &b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>"[..],
            "SVG",
        ),
        (b"\xEF\xBB\xBF  <?xml version='1.0'?><svg/>", "SVG"),
        (
            b"<!DOCTYPE html><html><body>cat.png</body></html>",
            "web page",
        ),
        (b"<script>alert(1)</script>", "web page"),
        (b"MZ\x90\0 an executable", "do not read"),
        (b"\x1b[31m a terminal capture", "do not read"),
        (b"caf\xe9 in Latin-1", "do not read"),
        (b" \n\t ", "do not read"),
    ] {
        let error = sniff(bytes).expect_err("refused");
        assert!(matches!(error, SniffError::Unsupported { .. }));
        assert!(error.to_string().contains(words), "{error}");
    }
}

#[test]
fn bombs_and_damaged_headers_are_refused() {
    assert_eq!(
        sniff(&png(100_000, 100_000)),
        Err(SniffError::TooManyPixels {
            width: 100_000,
            height: 100_000
        })
    );
    assert!(sniff(&png(8_000, 5_000)).is_ok(), "exactly 40 megapixels");
    assert!(u64::from(8_000u32) * 5_001 > MAX_PIXELS);
    assert!(sniff(&png(8_000, 5_001)).is_err());
    assert_eq!(
        sniff(b"\x89PNG\r\n\x1a\n\0\0"),
        Err(SniffError::Malformed(Kind::Png))
    );
    assert_eq!(
        sniff(&[0xFF, 0xD8, 0xFF, 0xDA]),
        Err(SniffError::Malformed(Kind::Jpeg))
    );
    assert_eq!(sniff(&png(0, 10)), Err(SniffError::Malformed(Kind::Png)));
}

#[test]
fn location_and_text_metadata_are_stripped_and_the_picture_kept() {
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for bytes in [png(64, 48), jpeg(64, 48), webp(64, 48), gif(64, 48)] {
        let before = sniff(&bytes).expect("a picture");
        assert!(contains(&bytes, b"GPSLatitude"));
        let stripped = strip(before.kind, bytes.clone()).expect("stripped");
        assert!(!contains(&stripped, b"GPSLatitude"), "{:?}", before.kind);
        assert!(!contains(&stripped, b"xmpmeta") && !contains(&stripped, b"home"));
        assert!(
            contains(&stripped, b"pixels")
                || contains(&stripped, b"entropy")
                || before.kind == Kind::Gif
        );
        let after = sniff(&stripped).expect("still a picture");
        assert_eq!(after, before);
        // Moved down in place, the kept parts are whole: stripping again changes nothing.
        assert_eq!(
            strip(before.kind, stripped.clone()).as_ref(),
            Some(&stripped)
        );
    }
    // WebP: the extended header no longer announces EXIF or XMP, and the RIFF size is right.
    let stripped = strip(Kind::Webp, webp(64, 48)).expect("stripped");
    assert_eq!(stripped[20] & 0x0C, 0);
    let riff = u32::from_le_bytes(stripped[4..8].try_into().expect("4 bytes")) as usize;
    assert_eq!(riff, stripped.len() - 8);
    // GIF: the frame and the trailer survive.
    let stripped = strip(Kind::Gif, gif(64, 48)).expect("stripped");
    assert!(stripped.ends_with(&[0x4C, 0x01, 0, 0x3B]));
}

/// A file on disk, read a window at a time, is told apart and stripped exactly as in memory.
#[test]
fn a_file_on_disk_is_sniffed_and_stripped_as_in_memory() {
    use super::metadata::plan;
    use super::sniff::sniff_source;
    use super::source::{FileSource, Source, WINDOW};
    use std::io::Write;

    // Larger than a window, with metadata chunks among the picture's, and text whose characters
    // straddle the windows' edges.
    let big_png = testkit::files::png_of_size(300, 200, 3 * WINDOW + 123);
    let text = "é".repeat(WINDOW).into_bytes();
    let mut binary = text.clone();
    binary.push(0);
    for bytes in [
        big_png,
        png(64, 48),
        jpeg(64, 48),
        webp(64, 48),
        gif(64, 48),
        text,
        binary,
    ] {
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(&bytes).expect("write");
        let mut src = FileSource::new(file, bytes.len());
        let sniffed = sniff(&bytes);
        assert_eq!(sniff_source(&mut src), sniffed);
        let Ok(sniffed) = sniffed else { continue };
        let planned = plan(sniffed.kind, &mut src).expect("a plan");
        let mut out = Vec::new();
        for piece in planned.pieces(WINDOW) {
            let mut bytes = vec![0u8; piece.len()];
            src.read(piece.start, &mut bytes).expect("in the file");
            planned.patch(out.len(), &mut bytes);
            out.extend_from_slice(&bytes);
        }
        assert_eq!(out.len(), planned.len());
        assert_eq!(Some(out), strip(sniffed.kind, bytes), "{:?}", sniffed.kind);
    }
}
