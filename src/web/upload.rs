//! Reading the lab page's upload form without reading more than it may hold.
//!
//! The form sends the CSRF token before the file (the field comes first in the page, and browsers send fields in
//! page order), so the token is checked before a byte of the archive is read, and a forged form costs the server
//! one small field. The archive is read only up to the limit: a `Content-Length` over it is refused before the
//! body is touched, and a body without one is cut off as soon as it passes the limit. Either way the refusal says
//! the real limit and, when the client declared it, the real size.

use actix_multipart::{Field, Multipart};
use actix_web::http::header;
use actix_web::HttpRequest;
use futures_util::StreamExt;

use super::{CsrfToken, WebError};
use crate::archive::human_size;

/// What the form's other fields, boundaries and headers may add to the archive's size.
const FORM_OVERHEAD: u64 = 64 * 1024;
/// The CSRF token is short; a longer first field is not a token.
const TOKEN_MAX: usize = 1024;

/// The archive of an upload form whose token matched, or why it was refused.
pub async fn read_archive(
    req: &HttpRequest,
    csrf: &CsrfToken,
    mut form: Multipart,
    limit: u64,
) -> Result<Vec<u8>, WebError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut verified = false;
    let mut archive = None;
    let mut other_bytes: u64 = 0;
    while let Some(field) = form.next().await {
        let field = field.map_err(|_| interrupted())?;
        match field.name().unwrap_or_default() {
            "csrf_token" => {
                let token = read_field(field, TOKEN_MAX as u64).await?;
                csrf.verify(&String::from_utf8_lossy(&token.ok_or(WebError::Csrf)?))?;
                verified = true;
                if let Some(size) = declared.filter(|s| *s > limit.saturating_add(FORM_OVERHEAD)) {
                    return Err(too_large(Some(size), limit));
                }
            }
            // The page sends the token first: anything before it is not our form.
            _ if !verified => return Err(WebError::Csrf),
            "archive" if archive.is_some() => {
                return Err(WebError::BadUpload("the form holds two archives".into()))
            }
            "archive" => {
                let bytes = read_field(field, limit).await?;
                archive = Some(bytes.ok_or_else(|| too_large(declared, limit))?);
            }
            // Another field is read only as far as a token may be long: skipping a larger one would read it all.
            // Together they may not pass the form's overhead either, however many there are.
            _ => {
                let read = read_field(field, TOKEN_MAX as u64).await?;
                other_bytes =
                    other_bytes.saturating_add(read.as_ref().map_or(u64::MAX, |b| b.len() as u64));
                if read.is_none() || other_bytes > FORM_OVERHEAD {
                    return Err(WebError::BadUpload(
                        "the form has fields it does not use".into(),
                    ));
                }
            }
        }
    }
    if !verified {
        return Err(WebError::Csrf);
    }
    archive
        .filter(|a| !a.is_empty())
        .ok_or_else(|| WebError::BadUpload("choose a .zip or .tar.gz of your project first".into()))
}

/// The field's bytes, or `None` as soon as it passes `max` (the rest is left unread).
async fn read_field(mut field: Field, max: u64) -> Result<Option<Vec<u8>>, WebError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|_| interrupted())?;
        if (bytes.len() + chunk.len()) as u64 > max {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

fn interrupted() -> WebError {
    WebError::BadUpload("the upload was interrupted or malformed".into())
}

/// The refusal of an archive over `limit`, with its size when the client said it.
fn too_large(declared: Option<u64>, limit: u64) -> WebError {
    let what = match declared {
        Some(size) => format!("the upload is {}", human_size(size)),
        None => format!("the archive is larger than {}", human_size(limit)),
    };
    WebError::BadUpload(format!("{what}; the limit is {}", human_size(limit)))
}
