//! Who is signed in: extractors that read the signed session cookie and look the session up.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, CookieJar, SameSite};
use actix_web::{web, FromRequest, HttpRequest};

use super::{AppState, WebError};
use crate::auth::session;
use crate::domain::Role;
use crate::store::UserRow;

/// A signed-in user; handlers that take one send everybody else to `/login`.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub cohort_id: Option<i64>,
}

impl CurrentUser {
    /// The user as the visibility rule (`crate::access`) sees them.
    pub fn viewer(&self) -> crate::access::Viewer {
        crate::access::Viewer {
            id: self.id,
            role: self.role,
        }
    }
}

impl From<UserRow> for CurrentUser {
    fn from(u: UserRow) -> Self {
        CurrentUser {
            role: u.role(),
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            cohort_id: u.cohort_id,
        }
    }
}

/// The signed-in user if there is one (for pages anyone may see, like the sign-in page).
pub struct MaybeUser(pub Option<CurrentUser>);

/// The session token from the request's cookie, if its signature holds.
pub fn token(req: &HttpRequest, state: &AppState) -> Option<String> {
    let cookie = req.cookie(session::COOKIE)?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie.into_owned());
    jar.signed(&state.key)
        .get(session::COOKIE)
        .map(|c| c.value().to_string())
}

/// A signed session cookie carrying `token`.
pub fn cookie(state: &AppState, token: &str) -> Cookie<'static> {
    let mut jar = CookieJar::new();
    jar.signed_mut(&state.key).add(
        Cookie::build(session::COOKIE, token.to_string())
            .path("/")
            .http_only(true)
            .secure(state.secure_cookies)
            .same_site(SameSite::Lax)
            .max_age(actix_web::cookie::time::Duration::milliseconds(
                session::TTL_MS,
            ))
            .finish(),
    );
    jar.get(session::COOKIE)
        .cloned()
        .unwrap_or_else(|| Cookie::new(session::COOKIE, ""))
}

/// A cookie that removes the session cookie.
pub fn removal() -> Cookie<'static> {
    let mut c = Cookie::build(session::COOKIE, "").path("/").finish();
    c.make_removal();
    c
}

async fn lookup(req: HttpRequest) -> Result<Option<CurrentUser>, WebError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| WebError::Internal("application state missing".into()))?;
    let Some(token) = token(&req, state) else {
        return Ok(None);
    };
    let user = state
        .store
        .session_user(&session::hash_token(&token))
        .await?;
    Ok(user.map(CurrentUser::from))
}

impl FromRequest for CurrentUser {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let next = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            lookup(req).await?.ok_or(WebError::SignInRequired { next })
        })
    }
}

impl FromRequest for MaybeUser {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeUser(lookup(req).await?)) })
    }
}
