//! `/users`, for admins: every account with its role, cohort and state, and the changes an admin makes to one:
//! issue a one-time reset code (shown once, on this page's answer), deactivate or reactivate, change the role.
//! The store audits each change; `crate::access` says who may make it.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::cohorts::html;
use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::access;
use crate::domain::Role;
use crate::store::{Actor, StoreError};

struct UserView {
    id: i64,
    email: String,
    name: String,
    role: String,
    cohort: String,
    active: bool,
    /// Whether the viewing admin may change this account's role or state (not their own).
    changeable: bool,
}

/// A reset code just issued, shown this once.
struct IssuedCode {
    email: String,
    code: String,
    url: String,
}

#[derive(Template)]
#[template(path = "pages/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserView>,
    issued: Option<IssuedCode>,
    error: Option<String>,
}

fn admin_only(user: &CurrentUser) -> Result<(), WebError> {
    if access::may_manage_accounts(user.viewer()) {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

async fn render(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    issued: Option<IssuedCode>,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let cohorts: HashMap<i64, String> = state
        .store
        .list_cohorts()
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| UserView {
            changeable: access::may_change_account(user.viewer(), u.id),
            id: u.id,
            email: u.email,
            name: u.display_name,
            role: u.role,
            cohort: u
                .cohort_id
                .and_then(|c| cohorts.get(&c).cloned())
                .unwrap_or_else(|| "—".to_string()),
            active: u.deactivated_at.is_none(),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = UsersPage {
        layout: Layout::new(state, Some(user), csrf),
        users,
        issued,
        error,
    };
    Ok(html(status, page.render()?))
}

/// `GET /users`.
pub async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, WebError> {
    admin_only(&user)?;
    render(&state, &user, &csrf, None, None).await
}

fn back() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/users"))
        .finish()
}

/// `POST /users/{id}/reset`: issues a one-time reset code and shows it, with its `/reset` link, once.
pub async fn reset(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<super::csrf::CsrfForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    admin_only(&user)?;
    let target = state
        .store
        .user_by_id(*path)
        .await?
        .ok_or(WebError::NotFound)?;
    let actor = Actor::user(user.id, &user.email);
    let code = match crate::auth::account::issue_reset(&state.store, &actor, target.id).await {
        Ok(code) => code,
        Err(StoreError::Conflict) => {
            let why = format!(
                "{} is deactivated: reactivate the account first.",
                target.email
            );
            return render(&state, &user, &csrf, None, Some(why)).await;
        }
        Err(e) => return Err(e.into()),
    };
    let url = {
        let info = req.connection_info();
        format!("{}://{}/reset?code={code}", info.scheme(), info.host())
    };
    let issued = IssuedCode {
        email: target.email,
        code,
        url,
    };
    render(&state, &user, &csrf, Some(issued), None).await
}

/// The account `id` if the admin may change its role or state; a refusal otherwise.
async fn changeable(state: &AppState, user: &CurrentUser, id: i64) -> Result<i64, WebError> {
    admin_only(user)?;
    if !access::may_change_account(user.viewer(), id) {
        return Err(WebError::Refused {
            status: StatusCode::FORBIDDEN,
            title: "Not on your own account",
            message:
                "You cannot deactivate your own account or change your own role: ask another admin."
                    .to_string(),
        });
    }
    let target = state
        .store
        .user_by_id(id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(target.id)
}

/// `POST /users/{id}/deactivate`: the account stops signing in; its sessions and tokens end at once.
pub async fn deactivate(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<super::csrf::CsrfForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let id = changeable(&state, &user, *path).await?;
    state
        .store
        .deactivate_user(&Actor::user(user.id, &user.email), id)
        .await?;
    Ok(back())
}

/// `POST /users/{id}/activate`.
pub async fn activate(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<super::csrf::CsrfForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let id = changeable(&state, &user, *path).await?;
    state
        .store
        .activate_user(&Actor::user(user.id, &user.email), id)
        .await?;
    Ok(back())
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf_token: String,
    role: String,
}

/// `POST /users/{id}/role`.
pub async fn set_role(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let id = changeable(&state, &user, *path).await?;
    let Ok(role) = Role::parse(&form.role) else {
        let why = format!(
            "`{}` is not a role: admin, instructor or learner.",
            form.role
        );
        return render(&state, &user, &csrf, None, Some(why)).await;
    };
    state
        .store
        .set_role(&Actor::user(user.id, &user.email), id, role)
        .await?;
    Ok(back())
}
