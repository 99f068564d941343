//! Passwords on the web: `/reset`, where a one-time code from an admin sets a new password (every session of the
//! account ends, and the person signs in afresh), and `POST /profile/password`, where a signed-in person changes
//! their own (the current one required; their other sessions end, this one stays). The rules are in
//! `crate::auth::account`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::cohorts::html;
use super::{session, AppState, CsrfToken, CurrentUser, Layout, MaybeUser, WebError};
use crate::auth::account::{self, PasswordError};

#[derive(Template)]
#[template(path = "pages/reset.html")]
struct ResetPage {
    layout: Layout,
    code: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct CodeQuery {
    code: Option<String>,
}

/// `GET /reset?code=…`: the form, with the code filled in from the link.
pub async fn form(
    state: web::Data<AppState>,
    user: MaybeUser,
    csrf: CsrfToken,
    query: web::Query<CodeQuery>,
) -> Result<HttpResponse, WebError> {
    let page = ResetPage {
        layout: Layout::new(&state, user.0.as_ref(), &csrf),
        code: query.code.clone().unwrap_or_default(),
        error: None,
    };
    Ok(html(StatusCode::OK, page.render()?))
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf_token: String,
    code: String,
    password: String,
    password_again: String,
}

/// `POST /reset`: sets the password and sends the person to sign in with it.
pub async fn reset(
    state: web::Data<AppState>,
    user: MaybeUser,
    csrf: CsrfToken,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    match account::redeem_reset(
        &state.store,
        &form.code,
        &form.password,
        &form.password_again,
    )
    .await
    {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/login?reset=1"))
            .cookie(session::removal())
            .finish()),
        Err(PasswordError::Invalid(why)) => {
            let page = ResetPage {
                layout: Layout::new(&state, user.0.as_ref(), &csrf),
                code: form.code.clone(),
                error: Some(why),
            };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page.render()?))
        }
        Err(e) => Err(WebError::Internal(e.to_string())),
    }
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf_token: String,
    current: String,
    password: String,
    password_again: String,
}

/// `POST /profile/password`.
pub async fn change(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let token = session::token(&req, &state).ok_or(WebError::SignInRequired {
        next: "/profile".to_string(),
    })?;
    let outcome = account::change_own(
        &state.store,
        user.id,
        &crate::auth::session::hash_token(&token),
        &form.current,
        &form.password,
        &form.password_again,
    )
    .await;
    match outcome {
        Ok(()) => {
            super::profile::render_with(
                &state,
                &user,
                &csrf,
                Some("Your password is changed; your other sessions have ended.".to_string()),
                None,
            )
            .await
        }
        Err(PasswordError::Invalid(why)) => {
            super::profile::render_with(&state, &user, &csrf, None, Some(why)).await
        }
        Err(e) => Err(WebError::Internal(e.to_string())),
    }
}
