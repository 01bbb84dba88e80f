//! A message with files, posted by the composer's form as `multipart/form-data` (JavaScript
//! off, or files picked). Each file is stored as it streams in (`upload.rs`), and the post goes
//! on to the send server function as the URL-encoded form it expects, the files' ids in its
//! `attachments` field. A refused file refuses the post: a plain form post is sent back to its
//! page with the refusal's code, as leptos_axum does for a server function's error.

use super::spool::{Spool, SpoolError};
use super::stored::Stored;
use super::upload;
use crate::listener::{caused_by, TooSlow};
use app::attachment::{
    Attachment, FileRefusal, MAX_FILES, MAX_FILE_BYTES, MAX_MESSAGE_FILE_BYTES, MAX_TEXT_FILE_BYTES,
};
use app::errors::{BlobError, ChatError, InputError, Transport};
use app::models::ModelId;
use app::params::MAX_MESSAGE_CHARS;
use app::services::Services;
use app::session;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Request, StatusCode};
use std::sync::Arc;

/// How many files are examined and stored at once, whatever the number of posts (each reads
/// its file a window at a time, from the spool to the blob store).
const FILE_WORKERS: usize = 4;
static FILE_WORK: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(FILE_WORKERS);

/// What a post with files needs: the services, each visitor's daily allowance of bytes, and
/// where files wait while they arrive.
#[derive(Clone)]
pub struct Intake {
    pub services: Services,
    pub quota: u64,
    pub spool: Arc<Spool>,
}

/// The server functions a message with files may be posted to.
const SENDS: [&str; 2] = ["/api/send", "/api/compare"];
/// Where the page posts files on their own, before the send.
pub const ATTACH: &str = "/api/attach";

/// The most bytes of text fields a post may carry: a message over its limit, kept as a text
/// file, and the other fields.
const MAX_TEXT_BYTES: usize = MAX_TEXT_FILE_BYTES as usize + 64 * 1024;

/// The largest multipart send: a message's files, its text, and the encoding's overhead.
pub const MAX_BODY_BYTES: u64 = MAX_MESSAGE_FILE_BYTES + MAX_TEXT_BYTES as u64 + 64 * 1024;

/// Whether `req` is a send carrying files.
pub fn is_multipart_send<B>(req: &Request<B>) -> bool {
    SENDS.contains(&req.uri().path()) && is_multipart(req)
}

/// Whether `req` may carry files (and so a body of up to [`MAX_BODY_BYTES`]).
pub fn takes_files<B>(req: &Request<B>) -> bool {
    (req.uri().path() == ATTACH || SENDS.contains(&req.uri().path())) && is_multipart(req)
}

fn is_multipart<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"))
}

/// Stores the post's files and gives back the post as a URL-encoded form; or the answer that
/// refuses it.
pub async fn take_files(intake: &Intake, req: Request<Body>) -> Result<Request<Body>, Response> {
    let (mut parts, body) = req.into_parts();
    let wants_page = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let referer = parts
        .headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut stored = Stored::new(&intake.services);
    let mut fields = Vec::new();
    if let Err(error) = send_fields(intake, &parts, body, &mut stored, &mut fields).await {
        // Refused: what the post stored goes before the refusal is answered, and the words
        // go back to the page with it.
        stored.forget().await;
        let words = fields
            .iter()
            .find(|(k, _)| k == "message")
            .map(|(_, v)| v.as_str());
        return Err(refuse(&error, wants_page, referer.as_deref(), words));
    }
    // Taken: the send goes on with them.
    stored.keep();
    let body = serde_urlencoded::to_string(&fields)
        .map_err(|_| refuse(&malformed(), wants_page, referer.as_deref(), None))?;
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    Ok(Request::from_parts(parts, Body::from(body)))
}

/// `POST /api/attach`: the page's files, stored as soon as they are picked, pasted or dropped
/// (with JavaScript, `public/attach.js`), answered with their references as JSON; the send
/// then names them. The same checks as a send's files; a refusal is `{code, message}`.
pub async fn attach(
    axum::extract::State(intake): axum::extract::State<Intake>,
    req: Request<Body>,
) -> Response {
    let (parts, body) = req.into_parts();
    let mut stored = Stored::new(&intake.services);
    match read_post(&intake, &parts, body, &mut stored, &mut Vec::new()).await {
        Ok(_) => {
            let files: Vec<serde_json::Value> = stored
                .keep()
                .iter()
                .map(|f| {
                    // What the page's chip shows, worded here once.
                    let read_by: Vec<ModelId> = ModelId::ALL
                        .into_iter()
                        .filter(|m| f.kind.read_by(*m))
                        .collect();
                    serde_json::json!({
                        "id": f.id, "kind": f.kind.as_str(), "name": f.name, "bytes": f.bytes,
                        "width": f.width, "height": f.height, "image": f.kind.is_image(),
                        "url": f.url(), "label": f.label(), "read_by": read_by,
                    })
                })
                .collect();
            axum::Json(files).into_response()
        }
        Err(error) => {
            stored.forget().await;
            let body = serde_json::json!({
                "code": app::error_codes::to_code(&error),
                "message": error.to_string(),
            });
            (error.status(), axum::Json(body)).into_response()
        }
    }
}

fn malformed() -> ChatError {
    ChatError::Transport(Transport::Malformed)
}

/// A send's fields, its files stored: the `attachments` field names them after any named
/// already (an edit's), and a message over the limit (pasted without JavaScript, where
/// nothing can offer it as a file first) is kept whole as `message.txt` rather than cut.
async fn send_fields(
    intake: &Intake,
    parts: &http::request::Parts,
    body: Body,
    stored: &mut Stored<'_>,
    fields: &mut Vec<(String, String)>,
) -> Result<(), ChatError> {
    let services = &intake.services;
    let owner = read_post(intake, parts, body, stored, fields).await?;
    if let Some((_, message)) = fields
        .iter_mut()
        .find(|(k, v)| k == "message" && v.trim().chars().count() > MAX_MESSAGE_CHARS)
    {
        if stored.len() == MAX_FILES {
            return Err(InputError::File(FileRefusal::TooMany).into());
        }
        let text = std::mem::take(message).trim().as_bytes().to_vec();
        let file = intake
            .spool
            .hold(text)
            .await
            .map_err(|e| spool_refusal(&e))?;
        let _worker = FILE_WORK.acquire().await.map_err(|_| malformed())?;
        stored.push(upload::store(services, &owner, "message.txt", file, intake.quota).await?);
    }
    // Every model asked must read every file; refused here, nothing of the post is kept.
    let asked: Vec<ModelId> = match parts.uri.path() {
        "/api/compare" => ModelId::ALL.to_vec(),
        _ => fields
            .iter()
            .find(|(k, _)| k == "model")
            .and_then(|(_, v)| ModelId::parse(v))
            .into_iter()
            .collect(),
    };
    if let Some(why) = unread(services, &asked, stored) {
        return Err(InputError::File(why).into());
    }
    // Files attached before (kept in the form by the page) come first.
    let mut attachments: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "attachments")
        .flat_map(|(_, v)| v.split(',').map(str::trim).map(str::to_string))
        .filter(|id| !id.is_empty())
        .collect();
    attachments.extend(stored.iter().map(|f| f.id.clone()));
    fields.retain(|(k, _)| k != "attachments");
    if !attachments.is_empty() {
        fields.push(("attachments".into(), attachments.join(",")));
    }
    Ok(())
}

/// Reads a multipart post: its owner, returned, its text fields, into `fields`, and its files,
/// stored into `stored` as they come. Refused part-way, the rest of the post is still read (its
/// files dropped, its words kept for the page), so that the browser, still sending, reads the
/// refusal rather than a connection reset.
async fn read_post(
    intake: &Intake,
    parts: &http::request::Parts,
    body: Body,
    stored: &mut Stored<'_>,
    fields: &mut Vec<(String, String)>,
) -> Result<session::OwnerId, ChatError> {
    let boundary = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(malformed)?;
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let read = read_fields(intake, parts, &mut multipart, stored, fields).await;
    if read.is_err() {
        let mut text_bytes = fields.iter().map(|(_, v)| v.len()).sum::<usize>();
        while let Ok(Some(mut field)) = multipart.next_field().await {
            let name = field.name().unwrap_or_default().to_string();
            if field.file_name().is_none() {
                if let Ok(text) = read_text(&mut field, MAX_TEXT_BYTES - text_bytes).await {
                    text_bytes += text.len();
                    fields.push((name, text));
                    continue;
                }
            }
            while let Ok(Some(_)) = field.chunk().await {}
        }
    }
    read
}

async fn read_fields(
    intake: &Intake,
    parts: &http::request::Parts,
    multipart: &mut multer::Multipart<'_>,
    stored: &mut Stored<'_>,
    fields: &mut Vec<(String, String)>,
) -> Result<session::OwnerId, ChatError> {
    let services = &intake.services;
    let owner = session::owner_from(parts, &services.owner_key).ok_or(ChatError::NoOwner)?;
    let mut text_bytes = 0usize;
    let mut total = 0u64;
    let mut held = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| read_failure(&e))? {
        let name = field.name().unwrap_or_default().to_string();
        let Some(file_name) = field.file_name().map(str::to_string) else {
            let text = read_text(&mut field, MAX_TEXT_BYTES - text_bytes).await?;
            text_bytes += text.len();
            // The files the page holds already for this message (an attach adds to them).
            if name == "held" {
                held = text.trim().parse().map_err(|_| malformed())?;
            }
            fields.push((name, text));
            continue;
        };
        // On disk as it comes, never past the limit: a file one byte over is refused there.
        let spooled = intake
            .spool
            .take(&mut field, MAX_FILE_BYTES)
            .await
            .map_err(|e| spool_refusal(&e))?;
        // A file input left empty still sends a part, with no name and no bytes.
        if file_name.is_empty() && spooled.is_empty() {
            continue;
        }
        if held + stored.len() >= MAX_FILES {
            return Err(InputError::File(FileRefusal::TooMany).into());
        }
        total += spooled.len();
        if total > MAX_MESSAGE_FILE_BYTES {
            return Err(InputError::File(FileRefusal::TooMuchTogether).into());
        }
        // A few files are examined and stored at a time, however many arrive at once.
        let _worker = FILE_WORK.acquire().await.map_err(|_| malformed())?;
        stored.push(upload::store(services, &owner, &file_name, spooled, intake.quota).await?);
    }
    Ok(owner)
}

/// A text field, refused past `max` bytes.
async fn read_text(field: &mut multer::Field<'_>, max: usize) -> Result<String, ChatError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| read_failure(&e))? {
        if bytes.len() + chunk.len() > max {
            return Err(InputError::File(FileRefusal::TooLarge).into());
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| malformed())
}

/// Why the post could not be read: too slow (its deadline, `listener::body_within`), past the
/// largest post, or cut off.
fn read_failure(error: &multer::Error) -> ChatError {
    if caused_by::<TooSlow>(error) {
        ChatError::Transport(Transport::TooSlow)
    } else if caused_by::<http_body_util::LengthLimitError>(error) {
        InputError::File(FileRefusal::TooMuchTogether).into()
    } else {
        malformed()
    }
}

fn spool_refusal(error: &SpoolError) -> ChatError {
    match error {
        SpoolError::TooLarge => InputError::File(FileRefusal::TooLarge).into(),
        SpoolError::Full => {
            tracing::warn!("refused an upload: the spool is full");
            ChatError::Files(BlobError::Busy)
        }
        SpoolError::Read(e) => read_failure(e),
        SpoolError::Disk(e) => {
            tracing::error!(error = %e, "could not write an upload to the spool");
            ChatError::Files(BlobError::Failed)
        }
    }
}

/// The first file a model asked cannot read, as the refusal that says so.
fn unread(services: &Services, asked: &[ModelId], files: &[Attachment]) -> Option<FileRefusal> {
    for model in asked {
        if services.model(*model).is_some_and(|b| !b.reads_files())
            && files.iter().any(|f| !f.kind.is_text())
        {
            return Some(FileRefusal::TextOnly(*model));
        }
        if files.iter().any(|f| !f.kind.read_by(*model)) {
            return Some(FileRefusal::NotReadBy(*model));
        }
    }
    None
}

/// The most bytes of a refused message's words carried back to the page in its address (most
/// messages; a longer one is lost with the refusal, as before).
const DRAFT_IN_URL: usize = 16 * 1024;

/// The refusal as leptos_axum answers a server function's error: a plain form post goes back
/// to its page with the error in `__err` (which `edge::confine_redirects` turns into a code and
/// keeps on this origin), and its `words` in `draft`, which the page puts back in the message
/// box (a file input cannot be given its files back: they are picked again); anything else
/// gets the error as JSON with its status.
fn refuse(
    error: &ChatError,
    wants_page: bool,
    referer: Option<&str>,
    words: Option<&str>,
) -> Response {
    use base64::Engine;
    if wants_page {
        let page = referer.unwrap_or("/");
        // The words of an earlier refusal are not this one's.
        let (path, query) = page.split_once('?').unwrap_or((page, ""));
        let mut query: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("draft="))
            .collect();
        let json = serde_json::to_vec(error).unwrap_or_default();
        let payload = format!(
            "__err={}",
            base64::engine::general_purpose::URL_SAFE.encode(json)
        );
        query.push(&payload);
        let draft = words
            .filter(|w| !w.trim().is_empty())
            .and_then(|w| serde_urlencoded::to_string([("draft", w)]).ok())
            .filter(|d| d.len() <= DRAFT_IN_URL);
        if let Some(draft) = &draft {
            query.push(draft);
        }
        let location = format!("{path}?{}", query.join("&"));
        return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    }
    (error.status(), axum::Json(error.clone())).into_response()
}
