//! Files attached to a message (issue #28): what the page shows and the models read of them.
//! Their bytes live in the blob store; a message carries only these references.

use crate::models::ModelId;
use serde::{Deserialize, Serialize};

/// The most bytes one file may take: Vertex takes at most 7 MB a file inline (Gemini 2.5's
/// image and document pages), and a file may go to either model.
pub const MAX_FILE_BYTES: u64 = 7_000_000;
/// The most bytes one text file may take: it goes to the models as words, and a megabyte of
/// text is a third of a million tokens or more, past Gemma's context already and a third of
/// Gemini's.
pub const MAX_TEXT_FILE_BYTES: u64 = 1_000_000;
/// The most files one message may carry, and their most bytes together.
pub const MAX_FILES: usize = 5;
pub const MAX_MESSAGE_FILE_BYTES: u64 = 20_000_000;

/// The kinds of file the models read, told by their content (never by name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachmentKind {
    Png,
    Jpeg,
    Webp,
    /// Its first frame is what the models see.
    Gif,
    Pdf,
    /// UTF-8 text: plain, Markdown, source code, a long paste. The models read it as words.
    Text,
}

impl AttachmentKind {
    pub const ALL: [AttachmentKind; 6] = [
        AttachmentKind::Png,
        AttachmentKind::Jpeg,
        AttachmentKind::Webp,
        AttachmentKind::Gif,
        AttachmentKind::Pdf,
        AttachmentKind::Text,
    ];

    /// The `Content-Type` it is served and sent to the models with.
    pub fn mime(self) -> &'static str {
        match self {
            AttachmentKind::Png => "image/png",
            AttachmentKind::Jpeg => "image/jpeg",
            AttachmentKind::Webp => "image/webp",
            AttachmentKind::Gif => "image/gif",
            AttachmentKind::Pdf => "application/pdf",
            AttachmentKind::Text => "text/plain; charset=utf-8",
        }
    }

    pub fn is_image(self) -> bool {
        !matches!(self, AttachmentKind::Pdf | AttachmentKind::Text)
    }

    /// Whether it reaches the models as words in the message (so any model reads it, even one
    /// whose server takes text only).
    pub fn is_text(self) -> bool {
        self == AttachmentKind::Text
    }

    /// The most bytes a file of this kind may take.
    pub fn max_bytes(self) -> u64 {
        if self.is_text() {
            MAX_TEXT_FILE_BYTES
        } else {
            MAX_FILE_BYTES
        }
    }

    /// Whether `model` reads this kind: vLLM's chat API takes pictures, never documents, so
    /// only Gemini reads PDFs; Gemini takes PNG, JPEG and WebP (and HEIC) pictures but not GIF,
    /// which Gemma reads as its first frame.
    pub fn read_by(self, model: ModelId) -> bool {
        !matches!(
            (self, model),
            (AttachmentKind::Pdf, ModelId::Gemma) | (AttachmentKind::Gif, ModelId::Gemini)
        )
    }

    /// A stable name for the store.
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Png => "png",
            AttachmentKind::Jpeg => "jpeg",
            AttachmentKind::Webp => "webp",
            AttachmentKind::Gif => "gif",
            AttachmentKind::Pdf => "pdf",
            AttachmentKind::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<AttachmentKind> {
        AttachmentKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Why a file was not taken. Carries no name or text from the file, so it travels as a code
/// (`error_codes`) like every other error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileRefusal {
    /// A web page, SVG or XML: never served back, whatever its name says.
    WebPage,
    /// Not a picture (PNG, JPEG, WebP, GIF), a PDF or UTF-8 text.
    Unsupported,
    Damaged,
    TooManyPixels,
    TooLarge,
    TooMany,
    TooMuchTogether,
    /// The model the message goes to cannot read it (Gemma and PDFs).
    NotReadBy(ModelId),
    /// The model's server reads text only (vLLM's model-garden `/generate`).
    TextOnly(ModelId),
    /// Attached earlier, but no longer stored (or someone else's).
    Gone,
    /// The visitor's files today already take the daily allowance.
    OverQuota,
}

impl FileRefusal {
    pub const ALL: [FileRefusal; 13] = [
        FileRefusal::WebPage,
        FileRefusal::Unsupported,
        FileRefusal::Damaged,
        FileRefusal::TooManyPixels,
        FileRefusal::TooLarge,
        FileRefusal::TooMany,
        FileRefusal::TooMuchTogether,
        FileRefusal::NotReadBy(ModelId::Gemma),
        FileRefusal::NotReadBy(ModelId::Gemini),
        FileRefusal::TextOnly(ModelId::Gemma),
        FileRefusal::TextOnly(ModelId::Gemini),
        FileRefusal::Gone,
        FileRefusal::OverQuota,
    ];

    /// Its code (`input.file.CODE`).
    pub fn code(self) -> &'static str {
        match self {
            FileRefusal::WebPage => "web_page",
            FileRefusal::Unsupported => "unsupported",
            FileRefusal::Damaged => "damaged",
            FileRefusal::TooManyPixels => "pixels",
            FileRefusal::TooLarge => "too_large",
            FileRefusal::TooMany => "too_many",
            FileRefusal::TooMuchTogether => "too_much",
            FileRefusal::NotReadBy(ModelId::Gemma) => "not_read_by_gemma",
            FileRefusal::NotReadBy(ModelId::Gemini) => "not_read_by_gemini",
            FileRefusal::TextOnly(ModelId::Gemma) => "text_only_gemma",
            FileRefusal::TextOnly(ModelId::Gemini) => "text_only_gemini",
            FileRefusal::Gone => "gone",
            FileRefusal::OverQuota => "quota",
        }
    }

    pub fn from_code(code: &str) -> Option<FileRefusal> {
        FileRefusal::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl std::fmt::Display for FileRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |b: u64| b / 1_000_000;
        match self {
            FileRefusal::WebPage => write!(f, "That file is a web page, SVG or XML, whatever its name says; only pictures (PNG, JPEG, WebP, GIF), PDFs and text files can be attached."),
            FileRefusal::Unsupported => write!(f, "Only pictures (PNG, JPEG, WebP, GIF), PDFs and text files (UTF-8) can be attached."),
            FileRefusal::Damaged => write!(f, "That file looks damaged: its header could not be read."),
            FileRefusal::TooManyPixels => write!(f, "That picture is larger than 40 megapixels. Please send a smaller one."),
            FileRefusal::TooLarge => write!(f, "A file can be at most {} MB, a text file {} MB.", mb(MAX_FILE_BYTES), mb(MAX_TEXT_FILE_BYTES)),
            FileRefusal::TooMany => write!(f, "A message can carry at most {MAX_FILES} files."),
            FileRefusal::TooMuchTogether => write!(f, "A message's files can be at most {} MB together.", mb(MAX_MESSAGE_FILE_BYTES)),
            FileRefusal::NotReadBy(ModelId::Gemma) => write!(f, "Gemma cannot read PDFs. Send them to Gemini, or the message without them."),
            FileRefusal::NotReadBy(ModelId::Gemini) => write!(f, "Gemini cannot read GIFs. Send them to Gemma, or as PNG or JPEG."),
            FileRefusal::TextOnly(m) => write!(f, "{} on this server reads text only. Send the files to the other model, or send the message without them.", m.short_name()),
            FileRefusal::Gone => write!(f, "An attached file is no longer stored. Please attach it again."),
            FileRefusal::OverQuota => write!(f, "You have attached as many files as a day allows. Please try again tomorrow."),
        }
    }
}

/// One attached file, as a message carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The server's id for it: its blob's key and its address (`/attachments/ID`).
    pub id: String,
    pub kind: AttachmentKind,
    /// The name it was attached under, for people (never used as a path).
    pub name: String,
    pub bytes: u64,
    /// Pixels, for pictures; 0 for a PDF or text.
    pub width: u32,
    pub height: u32,
}

impl Attachment {
    /// Where the page links it.
    pub fn url(&self) -> String {
        format!("/attachments/{}", self.id)
    }

    /// "photo.jpg, 2.4 MB".
    pub fn label(&self) -> String {
        format!("{}, {}", self.name, size(self.bytes))
    }
}

/// A size for people: "812 bytes", "14 KB", "2.4 MB".
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{} KB", bytes / 1_000),
        _ => format!("{:.1} MB", bytes as f64 / 1_000_000.0),
    }
}

/// A name fit to show and to put in `Content-Disposition`: no path, no control characters,
/// at most 120 characters; `file` if nothing is left.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(120)
        .collect();
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().all(|c| c == '.') {
        "file".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_path_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\ana\\cat.png"), "cat.png");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\"b\r\nc.pdf"), "abc.pdf");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name(&"x".repeat(500)).len(), 120);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(812), "812 bytes");
        assert_eq!(size(14_500), "14 KB");
        assert_eq!(size(2_400_000), "2.4 MB");
    }

    #[test]
    fn gemma_reads_gifs_and_gemini_reads_pdfs() {
        assert!(AttachmentKind::Png.read_by(ModelId::Gemma));
        assert!(!AttachmentKind::Pdf.read_by(ModelId::Gemma));
        assert!(AttachmentKind::Pdf.read_by(ModelId::Gemini));
        assert!(AttachmentKind::Gif.read_by(ModelId::Gemma));
        assert!(!AttachmentKind::Gif.read_by(ModelId::Gemini));
        assert!(AttachmentKind::Text.read_by(ModelId::Gemma));
        assert!(AttachmentKind::Text.read_by(ModelId::Gemini));
        for k in ["png", "jpeg", "webp", "gif", "pdf", "text"] {
            assert_eq!(
                AttachmentKind::parse(k).map(AttachmentKind::as_str),
                Some(k)
            );
        }
    }
}
