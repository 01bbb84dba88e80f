use super::metadata::strip;
use super::sniff::{sniff, Kind, SniffError, MAX_PIXELS};

const GPS: &[u8] = b"GPSLatitude 48.8584 N";

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&[0, 0, 0, 0]); // CRC: not checked here
    c
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend(png_chunk(b"IHDR", &ihdr));
    b.extend(png_chunk(b"eXIf", GPS));
    b.extend(png_chunk(
        b"iTXt",
        b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>",
    ));
    b.extend(png_chunk(b"IDAT", b"pixels"));
    b.extend(png_chunk(b"IEND", b""));
    b
}

fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let segment = |marker: u8, data: &[u8]| {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(data);
        s
    };
    let mut b = vec![0xFF, 0xD8];
    b.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    b.extend(segment(0xE1, &[b"Exif\0\0".as_slice(), GPS].concat()));
    b.extend(segment(0xFE, b"taken at home"));
    let mut sof = vec![8];
    sof.extend_from_slice(&height.to_be_bytes());
    sof.extend_from_slice(&width.to_be_bytes());
    sof.extend_from_slice(&[3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
    b.extend(segment(0xC0, &sof));
    b.extend(segment(0xDA, &[3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3f, 0]));
    b.extend_from_slice(b"entropy-coded data\xFF\xD9");
    b
}

fn webp(width: u32, height: u32) -> Vec<u8> {
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut c = kind.to_vec();
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut vp8x = vec![0x08 | 0x04, 0, 0, 0];
    vp8x.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(chunk(b"VP8X", &vp8x));
    body.extend(chunk(b"VP8L", b"\x2f\0\0\0\0pixels"));
    body.extend(chunk(b"EXIF", GPS));
    body.extend(chunk(b"XMP ", b"<x:xmpmeta/>"));
    let mut b = b"RIFF".to_vec();
    b.extend_from_slice(&(body.len() as u32).to_le_bytes());
    b.extend(body);
    b
}

fn gif(width: u16, height: u16) -> Vec<u8> {
    let mut b = b"GIF89a".to_vec();
    b.extend_from_slice(&width.to_le_bytes());
    b.extend_from_slice(&height.to_le_bytes());
    b.extend_from_slice(&[0x80, 0, 0]); // a global color table of 2 entries
    b.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    b.extend_from_slice(&[0x21, 0xFE, 5]);
    b.extend_from_slice(b"home!\0");
    b.extend_from_slice(&[0x21, 0xFF, 11]);
    b.extend_from_slice(b"XMP DataXMP");
    b.extend_from_slice(&[GPS.len() as u8]);
    b.extend_from_slice(GPS);
    b.push(0);
    b.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x4C, 0x01, 0, 0x3B]);
    b
}

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
        let stripped = strip(before.kind, &bytes).expect("stripped");
        assert!(!contains(&stripped, b"GPSLatitude"), "{:?}", before.kind);
        assert!(!contains(&stripped, b"xmpmeta") && !contains(&stripped, b"home"));
        assert!(
            contains(&stripped, b"pixels")
                || contains(&stripped, b"entropy")
                || before.kind == Kind::Gif
        );
        let after = sniff(&stripped).expect("still a picture");
        assert_eq!(after, before);
    }
    // WebP: the extended header no longer announces EXIF or XMP, and the RIFF size is right.
    let stripped = strip(Kind::Webp, &webp(64, 48)).expect("stripped");
    assert_eq!(stripped[20] & 0x0C, 0);
    let riff = u32::from_le_bytes(stripped[4..8].try_into().expect("4 bytes")) as usize;
    assert_eq!(riff, stripped.len() - 8);
    // GIF: the frame and the trailer survive.
    let stripped = strip(Kind::Gif, &gif(64, 48)).expect("stripped");
    assert!(stripped.ends_with(&[0x4C, 0x01, 0, 0x3B]));
}
