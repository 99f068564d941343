//! Gives every visitor a CSRF token in a signed cookie (see `auth::csrf` for the pattern) and lets handlers
//! read it to embed in forms and to check what a form sent back.

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, CookieJar, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, FromRequest, HttpMessage, HttpRequest};

use super::{AppState, WebError};
use crate::auth::csrf;

/// The visitor's CSRF token, to put in a form's hidden field.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// A form whose only field is the CSRF token: the buttons that act on the path alone (sign out, revoke a token,
/// re-grade a run).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf_token: String,
}

impl CsrfToken {
    /// Checks a submitted form's token against the visitor's.
    pub fn verify(&self, submitted: &str) -> Result<(), WebError> {
        if csrf::matches(&self.0, submitted) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }
}

fn read(req: &ServiceRequest, state: &AppState) -> Option<String> {
    let cookie = req.cookie(csrf::COOKIE)?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie.into_owned());
    jar.signed(&state.key)
        .get(csrf::COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

/// Middleware: makes sure the visitor has a token, setting the cookie when it was missing or forged.
pub async fn csrf_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let existing = read(&req, &state);
    let fresh = existing.is_none();
    let token = existing.unwrap_or_else(csrf::new_token);
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.call(req).await?;
    if fresh {
        let mut jar = CookieJar::new();
        jar.signed_mut(&state.key).add(
            Cookie::build(csrf::COOKIE, token)
                .path("/")
                .http_only(true)
                .secure(state.secure_cookies)
                .same_site(SameSite::Lax)
                .finish(),
        );
        if let Some(c) = jar.get(csrf::COOKIE) {
            let _ = res.response_mut().add_cookie(c);
        }
    }
    Ok(res)
}

impl FromRequest for CsrfToken {
    type Error = WebError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<CsrfToken>()
                .cloned()
                .ok_or_else(|| WebError::Internal("CSRF middleware not installed".into())),
        )
    }
}
