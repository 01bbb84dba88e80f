//! `GET /attachments/{id}`: a stored file, to its owner only (and to an operator named in
//! `OPERATORS`, signed in through IAP; each such read is logged). Anyone else, and any id that
//! is not stored, gets the same 404. Served with the type its content was sniffed as (never one a
//! request named), `nosniff` (set for every response in `routes.rs`), and a
//! `Content-Disposition` that makes a PDF a download rather than a page of this origin.

use crate::config::Operators;
use app::attachment::{Attachment, AttachmentKind};
use app::services::blobs::valid_key;
use app::services::Services;
use app::session;
use app::session::VerifiedUser;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{header, request::Parts, StatusCode};

pub async fn serve(
    State((services, operators)): State<(Services, Operators)>,
    Path(id): Path<String>,
    parts: Parts,
) -> Response {
    // An operator named in OPERATORS (signed in through IAP) may open anyone's file: logged.
    let operator = parts
        .extensions
        .get::<VerifiedUser>()
        .map(|u| u.email.clone())
        .filter(|e| operators.name(Some(e)));
    let not_found = || (StatusCode::NOT_FOUND, "No such file.").into_response();
    let Some(owner) = session::owner_from(&parts, &services.owner_key) else {
        return not_found();
    };
    if !valid_key(&id) {
        return not_found();
    }
    let record = match services.files.file(&id).await {
        Ok(Some(r)) if r.owner == owner => r,
        Ok(Some(r)) if operator.is_some() => {
            tracing::info!(operator = operator.as_deref(), file = %id, "an operator opened someone's file");
            r
        }
        Ok(_) => return not_found(),
        Err(e) => return (e_status(), e.to_string()).into_response(),
    };
    match services.blobs.get(&id).await {
        Ok(Some(bytes)) => (
            [
                (
                    header::CONTENT_TYPE,
                    record.attachment.kind.mime().to_string(),
                ),
                (header::CONTENT_DISPOSITION, disposition(&record.attachment)),
                // The bytes under an id never change; only this browser may keep them.
                (header::CACHE_CONTROL, "private, max-age=86400".to_string()),
            ],
            bytes,
        )
            .into_response(),
        // Recorded, but its bytes are gone (a delete cut off half-way).
        Ok(None) => not_found(),
        Err(e) => (e_status(), e.to_string()).into_response(),
    }
}

fn e_status() -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

/// Pictures show in the page; a PDF or a text file is downloaded. The name as given, ASCII-only in `filename`
/// and whole in `filename*` (RFC 6266).
pub fn disposition(file: &Attachment) -> String {
    let how = match file.kind {
        AttachmentKind::Pdf | AttachmentKind::Text => "attachment",
        _ => "inline",
    };
    let ascii: String = file
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .filter(|c| !matches!(c, '"' | '\\'))
        .collect();
    let encoded: String = file
        .name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{how}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_safely_and_pdfs_download() {
        let file = |name: &str, kind| Attachment {
            id: "x".into(),
            kind,
            name: name.into(),
            bytes: 1,
            width: 0,
            height: 0,
        };
        assert_eq!(
            disposition(&file("a \"b\".pdf", AttachmentKind::Pdf)),
            "attachment; filename=\"a b.pdf\"; filename*=UTF-8''a%20%22b%22.pdf"
        );
        assert_eq!(
            disposition(&file("été.png", AttachmentKind::Png)),
            "inline; filename=\"_t_.png\"; filename*=UTF-8''%C3%A9t%C3%A9.png"
        );
    }
}
