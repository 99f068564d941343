//! Sign in, register, sign out.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{session, AppState, CsrfToken, Layout, MaybeUser, WebError};
use crate::auth::login::{self, LoginOutcome, RegisterError, Registration};

#[derive(Template)]
#[template(path = "pages/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    /// Said after a password reset (`/login?reset=1`).
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/register.html")]
struct RegisterPage {
    layout: Layout,
    invite_code: String,
    email: String,
    display_name: String,
    errors: Vec<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    code: Option<String>,
    reset: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct RegisterForm {
    invite_code: String,
    email: String,
    display_name: String,
    password: String,
    password_again: String,
    #[serde(default)]
    csrf_token: String,
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn signed_in_redirect(state: &AppState, token: &str, to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .cookie(session::cookie(state, token))
        .finish()
}

pub async fn login_form(
    state: web::Data<AppState>,
    user: MaybeUser,
    csrf: CsrfToken,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, WebError> {
    let next = super::redirect::same_site_path(query.next.as_deref());
    if user.0.is_some() {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, next))
            .finish());
    }
    let page = LoginPage {
        layout: Layout::new(&state, None, &csrf),
        email: String::new(),
        next,
        error: None,
        notice: query
            .reset
            .is_some()
            .then(|| "Your new password is set: sign in with it.".to_string()),
    };
    Ok(html(actix_web::http::StatusCode::OK, page.render()?))
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    csrf: CsrfToken,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let client = super::client::address(&req, &state.trusted_proxies);
    let outcome = login::sign_in(
        &state.store,
        &state.limiter,
        &form.email,
        &form.password,
        &client,
    )
    .await
    .map_err(|e| WebError::Internal(e.to_string()))?;
    let next = super::redirect::same_site_path(Some(&form.next));
    let (status, error, retry_after) = match outcome {
        LoginOutcome::SignedIn { token } => return Ok(signed_in_redirect(&state, &token, &next)),
        LoginOutcome::Refused => (
            actix_web::http::StatusCode::UNAUTHORIZED,
            login::BAD_CREDENTIALS.to_string(),
            None,
        ),
        LoginOutcome::Deactivated => (
            actix_web::http::StatusCode::FORBIDDEN,
            "This account has been deactivated. Ask an administrator if you need it again."
                .to_string(),
            None,
        ),
        LoginOutcome::Limited { retry_after_secs } => (
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many sign-in attempts. Wait {} and try again.",
                wait_for(retry_after_secs)
            ),
            Some(retry_after_secs),
        ),
    };
    let page = LoginPage {
        layout: Layout::new(&state, None, &csrf),
        email: form.email.clone(),
        next,
        error: Some(error),
        notice: None,
    };
    let mut res = html(status, page.render()?);
    if let Some(secs) = retry_after {
        set_retry_after(&mut res, secs);
    }
    Ok(res)
}

/// `Retry-After` in seconds, so scripts and browsers know when to come back.
fn set_retry_after(res: &mut HttpResponse, secs: u64) {
    if let Ok(value) = header::HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, value);
    }
}

/// A wait as a person reads it: seconds under two minutes, minutes above.
fn wait_for(secs: u64) -> String {
    match secs {
        0..=1 => "a second".to_string(),
        2..=119 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

pub async fn register_form(
    state: web::Data<AppState>,
    csrf: CsrfToken,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, WebError> {
    let page = RegisterPage {
        layout: Layout::new(&state, None, &csrf),
        invite_code: query.code.clone().unwrap_or_default(),
        email: String::new(),
        display_name: String::new(),
        errors: Vec::new(),
    };
    Ok(html(actix_web::http::StatusCode::OK, page.render()?))
}

pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    csrf: CsrfToken,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let registration = Registration {
        invite_code: &form.invite_code,
        email: &form.email,
        display_name: &form.display_name,
        password: &form.password,
        password_again: &form.password_again,
    };
    let client = super::client::address(&req, &state.trusted_proxies);
    let (status, errors, retry_after) =
        match login::register(&state.store, &state.limiter, &registration, &client).await {
            Ok(token) => return Ok(signed_in_redirect(&state, &token, "/")),
            Err(RegisterError::Invalid(errors)) => (
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                None,
            ),
            Err(RegisterError::Limited { retry_after_secs }) => (
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                vec![format!(
                    "Too many registration attempts from your network. Wait {} and try again.",
                    wait_for(retry_after_secs)
                )],
                Some(retry_after_secs),
            ),
            Err(e) => return Err(WebError::Internal(e.to_string())),
        };
    let page = RegisterPage {
        layout: Layout::new(&state, None, &csrf),
        invite_code: form.invite_code.clone(),
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        errors,
    };
    let mut res = html(status, page.render()?);
    if let Some(secs) = retry_after {
        set_retry_after(&mut res, secs);
    }
    Ok(res)
}

pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    csrf: CsrfToken,
    form: web::Form<super::csrf::CsrfForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    if let Some(token) = session::token(&req, &state) {
        state
            .store
            .delete_session(&crate::auth::session::hash_token(&token))
            .await?;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .cookie(session::removal())
        .finish())
}
