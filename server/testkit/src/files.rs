//! Hand-made files of each kind the app accepts, each carrying a GPS tag, XMP and a comment
//! (what stripping must take out), and the refused kinds: small enough to build in a test,
//! exact enough for the app's sniffer and the stand-ins' checks.

/// A GPS tag, as EXIF carries one: what stripping must take out.
pub const GPS: &[u8] = b"GPSLatitude 48.8584 N";

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&[0, 0, 0, 0]); // CRC: not checked here
    c
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
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

pub fn jpeg(width: u16, height: u16) -> Vec<u8> {
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

pub fn webp(width: u32, height: u32) -> Vec<u8> {
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

pub fn gif(width: u16, height: u16) -> Vec<u8> {
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

/// A PNG of about `bytes` bytes, most of them picture data (which stripping keeps).
pub fn png_of_size(width: u32, height: u32, bytes: usize) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend(png_chunk(b"IHDR", &ihdr));
    b.extend(png_chunk(b"IDAT", &vec![7u8; bytes.saturating_sub(57)]));
    b.extend(png_chunk(b"IEND", b""));
    b
}

/// A PDF's first bytes (the app reads no further).
pub fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

/// An SVG drawing with a script: refused whatever it is called.
pub fn svg() -> Vec<u8> {
    b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec()
}

/// A web page, e.g. named `cat.png`.
pub fn html() -> Vec<u8> {
    b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>".to_vec()
}
