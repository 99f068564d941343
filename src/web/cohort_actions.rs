//! The forms that change a cohort: create, rename, archive or reopen, rotate the invite code, set its limits,
//! add or move a learner, add an instructor. Each checks the CSRF token and `crate::access`, calls the store
//! (which audits the change) and goes back to the cohort's page; a problem the person can fix re-renders the
//! page with it. Rotating the code answers htmx with the code's fragment alone.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::cohorts::{invite_fragment, managed, render_list, render_page};
use super::{AppState, CsrfToken, CurrentUser, WebError};
use crate::access;
use crate::auth::invite;
use crate::store::{cohort_name, Actor, CohortRow, StaffError, StoreError};

fn actor(user: &CurrentUser) -> Actor {
    Actor::user(user.id, &user.email)
}

fn back_to(id: i64) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/cohorts/{id}")))
        .finish()
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    csrf_token: String,
    name: String,
}

/// `POST /cohorts`: a new cohort with a fresh code; an instructor who creates one teaches it.
pub async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    if !access::is_staff(user.viewer()) {
        return Err(WebError::Forbidden);
    }
    let name = match cohort_name(&form.name) {
        Ok(n) => n,
        Err(e) => return render_list(&state, &user, &csrf, Some(e.to_string())).await,
    };
    let id = match state
        .store
        .create_cohort_as(&actor(&user), name, &invite::new_code())
        .await
    {
        Ok(id) => id,
        Err(StoreError::Conflict) => {
            let why = StaffError::NameTaken(name.to_string()).to_string();
            return render_list(&state, &user, &csrf, Some(why)).await;
        }
        Err(e) => return Err(e.into()),
    };
    if !access::may_manage_accounts(user.viewer()) {
        state
            .store
            .add_instructor(&actor(&user), id, &user.email)
            .await
            .map_err(staff_error)?;
    }
    Ok(back_to(id))
}

/// `POST /cohorts/{id}/rename`.
pub async fn rename(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let cohort = managed(&state, &user, *path).await?;
    let done = state
        .store
        .rename_cohort(&actor(&user), cohort.id, &form.name)
        .await;
    after(&state, &user, &csrf, &cohort, done).await
}

#[derive(Deserialize)]
pub struct ArchiveForm {
    #[serde(default)]
    csrf_token: String,
    /// `1` archives, `0` reopens.
    archived: u8,
}

/// `POST /cohorts/{id}/archive`.
pub async fn archive(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<ArchiveForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let cohort = managed(&state, &user, *path).await?;
    state
        .store
        .set_cohort_archived(&actor(&user), cohort.id, form.archived != 0)
        .await?;
    Ok(back_to(cohort.id))
}

/// `POST /cohorts/{id}/rotate`: a new invite code; the old one stops working at once.
pub async fn rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<super::csrf::CsrfForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let cohort = managed(&state, &user, *path).await?;
    state
        .store
        .rotate_invite(&actor(&user), cohort.id, &invite::new_code())
        .await?;
    if req.headers().contains_key("HX-Request") {
        let fresh = state
            .store
            .cohort(cohort.id)
            .await?
            .ok_or(WebError::NotFound)?;
        return invite_fragment(&state, &fresh);
    }
    Ok(back_to(cohort.id))
}

#[derive(Deserialize)]
pub struct LimitsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    expires: String,
    #[serde(default)]
    max_uses: String,
}

/// `POST /cohorts/{id}/limits`: the code's expiry (UTC) and cap on uses; empty lifts either.
pub async fn limits(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<LimitsForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let cohort = managed(&state, &user, *path).await?;
    let parsed = invite::parse_expiry(&form.expires)
        .and_then(|e| invite::parse_cap(&form.max_uses).map(|c| (e, c)));
    let (expires, cap) = match parsed {
        Ok(limits) => limits,
        Err(e) => return render_page(&state, &user, &csrf, &cohort, Some(e.to_string())).await,
    };
    state
        .store
        .set_invite_limits(&actor(&user), cohort.id, expires, cap)
        .await?;
    Ok(back_to(cohort.id))
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    csrf_token: String,
    email: String,
}

/// `POST /cohorts/{id}/learners`: puts a learner (by e-mail) into this cohort, from no cohort or another one.
pub async fn place_learner(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let cohort = managed(&state, &user, *path).await?;
    let email = form.email.trim().to_lowercase();
    if !access::may_place_learner(&state.store, user.viewer(), &email, cohort.id).await? {
        let why = format!("{email} is in a cohort you do not teach: ask an admin to move them.");
        return render_page(&state, &user, &csrf, &cohort, Some(why)).await;
    }
    let done = state
        .store
        .place_learner(&actor(&user), cohort.id, &email)
        .await;
    after(&state, &user, &csrf, &cohort, done).await
}

/// `POST /cohorts/{id}/instructors`: makes an instructor (by e-mail) staff of this cohort.
pub async fn add_instructor(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let cohort = managed(&state, &user, *path).await?;
    let email = form.email.trim().to_lowercase();
    let done = state
        .store
        .add_instructor(&actor(&user), cohort.id, &email)
        .await;
    after(&state, &user, &csrf, &cohort, done).await
}

/// `POST /cohorts/{id}/instructors/remove`: takes an instructor off this cohort's staff.
pub async fn remove_instructor(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let cohort = managed(&state, &user, *path).await?;
    let email = form.email.trim().to_lowercase();
    let done = state
        .store
        .remove_instructor(&actor(&user), cohort.id, &email)
        .await
        .map(|_| ());
    after(&state, &user, &csrf, &cohort, done).await
}

fn staff_error(e: StaffError) -> WebError {
    match e {
        StaffError::Store(e) => WebError::Store(e),
        other => WebError::Internal(other.to_string()),
    }
}

/// Where a cohort action ends: back on the cohort's page when it was done; the page again with the reason when
/// the staff member can act on it (a name taken, an e-mail with no account); an error page when the store failed.
async fn after(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    cohort: &CohortRow,
    done: Result<(), StaffError>,
) -> Result<HttpResponse, WebError> {
    match done {
        Ok(()) => Ok(back_to(cohort.id)),
        Err(StaffError::Store(e)) => Err(e.into()),
        Err(e) => render_page(state, user, csrf, cohort, Some(e.to_string())).await,
    }
}
