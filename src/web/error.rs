//! Errors of the web layer, mapped in this one place to a status and a page a person can act on.
//!
//! What the visitor sees is a short explanation; what went wrong inside (a database error, say) goes to the log
//! only, never into the page.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not signed in: send them to the sign-in page and back here afterwards.
    #[error("sign-in required")]
    SignInRequired { next: String },
    #[error("page not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// The form's CSRF token is missing or does not match the visitor's cookie.
    #[error("the form's security token is missing or stale")]
    Csrf,
    /// An upload the learner must fix; the message says what is wrong.
    #[error("{0}")]
    BadUpload(String),
    /// A request refused for a reason the visitor can act on, with its own status (429 at the cap on live
    /// runs, 409 for a re-grade whose archive is gone).
    #[error("{message}")]
    Refused {
        status: StatusCode,
        title: &'static str,
        message: String,
    },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    #[error("internal: {0}")]
    Internal(String),
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    asset_version: &'a str,
}

impl WebError {
    /// The page title and the message a visitor reads.
    pub(super) fn explain(&self) -> (&'static str, String) {
        let (title, message) = match self {
            WebError::BadUpload(why) => return ("This upload was not accepted", format!("Nothing was stored: {why}. Fix it and upload again.")),
            WebError::Refused { title, message, .. } => return (title, message.clone()),
            WebError::NotFound => (
                "Page not found",
                "There is nothing at this address. Check the link, or go back to the course map.",
            ),
            WebError::Forbidden => (
                "Not allowed",
                "Your account does not have access to this page.",
            ),
            WebError::Csrf => (
                "This form has expired",
                "For your safety the form was not accepted. Go back, reload the page and submit it again.",
            ),
            _ => (
                "Something went wrong on our side",
                "The problem has been logged. Please try again in a moment.",
            ),
        };
        (title, message.to_string())
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Forbidden | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::BadUpload(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Refused { status, .. } => *status,
            WebError::Store(_) | WebError::Template(_) | WebError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let WebError::SignInRequired { next } = self {
            let target = format!("/login?next={}", urlencode(next));
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, target))
                .finish();
        }
        if self.status_code().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let (title, message) = self.explain();
        let body = ErrorPage {
            title,
            message: &message,
            asset_version: &super::assets::version(),
        }
        .render()
        .unwrap_or_else(|_| message.clone());
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
