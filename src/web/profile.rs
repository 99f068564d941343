//! The learner's profile: personal API tokens for the CLI, created (shown once) and revoked here, and the form
//! to change one's password (handled in `password.rs`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::runs::format_time;
use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};

struct TokenView {
    id: i64,
    name: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "pages/profile.html")]
struct ProfilePage {
    layout: Layout,
    email: String,
    role: String,
    tokens: Vec<TokenView>,
    /// A token just created: shown this once, never again.
    new_token: Option<String>,
    error: Option<String>,
    /// What the password form says after a change (`web::password`).
    password_done: Option<String>,
    password_error: Option<String>,
}

async fn render(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    new_token: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    render_full(state, user, csrf, new_token, error, None, None).await
}

/// The profile after the password form: what was done, or what to fix.
pub(super) async fn render_with(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    password_done: Option<String>,
    password_error: Option<String>,
) -> Result<HttpResponse, WebError> {
    render_full(state, user, csrf, None, None, password_done, password_error).await
}

async fn render_full(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    new_token: Option<String>,
    error: Option<String>,
    password_done: Option<String>,
    password_error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let tokens = state
        .store
        .api_tokens(user.id)
        .await?
        .into_iter()
        .map(|t| TokenView {
            id: t.id,
            name: t.name,
            created: format_time(t.created_at),
            last_used: t
                .last_used_at
                .map_or_else(|| "never".to_string(), format_time),
        })
        .collect();
    let page = ProfilePage {
        layout: Layout::new(state, Some(user), csrf),
        email: user.email.clone(),
        role: user.role.to_string(),
        tokens,
        new_token,
        error: error.clone(),
        password_error: password_error.clone(),
        password_done,
    };
    let status = if error.is_some() || password_error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page.render()?))
}

/// `GET /profile`.
pub async fn page(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, WebError> {
    render(&state, &user, &csrf, None, None).await
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    csrf_token: String,
    name: String,
}

/// `POST /profile/tokens`: creates a token and shows it once.
pub async fn create_token(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    form: web::Form<NewTokenForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        let why = "Give the token a name of 1 to 60 characters, such as the machine it is for.";
        return render(&state, &user, &csrf, None, Some(why.to_string())).await;
    }
    let token = crate::auth::tokens::new_api_token();
    state
        .store
        .create_api_token(user.id, name, &crate::auth::session::hash_token(&token))
        .await?;
    render(&state, &user, &csrf, Some(token), None).await
}

/// `POST /profile/tokens/{id}/revoke`.
pub async fn revoke_token(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<super::csrf::CsrfForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    state
        .store
        .revoke_api_token(user.id, *path)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => WebError::NotFound,
            other => WebError::Store(other),
        })?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/profile"))
        .finish())
}
