//! The cohort pages staff use: the list (`/cohorts`) and one cohort (`/cohorts/{id}`) with its invite code,
//! limits, learners, instructors and schedule. The forms that change a cohort are in `cohort_actions.rs` and
//! `cohort_schedule.rs`; who may see
//! and change which cohort is `crate::access`'s to say.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use super::runs::format_time;
use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::access;
use crate::store::CohortRow;

/// A cohort as the pages show it.
pub struct CohortView {
    pub id: i64,
    pub name: String,
    pub code: String,
    pub expiry: String,
    /// The expiry as a `datetime-local` field's value (UTC), empty for none.
    pub expiry_input: String,
    pub cap: String,
    pub cap_input: String,
    pub uses: i64,
    pub members: i64,
    pub archived: bool,
    /// Why the code opens to no one now, if it does not.
    pub closed: Option<&'static str>,
}

impl CohortView {
    pub fn new(c: &CohortRow, now_ms: i64) -> CohortView {
        let closed = if c.archived_at.is_some() {
            Some("archived")
        } else if c.invite_expires_at.is_some_and(|e| e <= now_ms) {
            Some("expired")
        } else if c.invite_max_uses.is_some_and(|m| c.invite_uses >= m) {
            Some("used up")
        } else {
            None
        };
        CohortView {
            id: c.id,
            name: c.name.clone(),
            code: c.invite_code.clone(),
            expiry: c
                .invite_expires_at
                .map_or_else(|| "never".to_string(), format_time),
            expiry_input: c
                .invite_expires_at
                .map(|ms| {
                    format_time(ms)
                        .chars()
                        .take(16)
                        .collect::<String>()
                        .replace(' ', "T")
                })
                .unwrap_or_default(),
            cap: c
                .invite_max_uses
                .map_or_else(|| "—".to_string(), |m| m.to_string()),
            cap_input: c.invite_max_uses.map(|m| m.to_string()).unwrap_or_default(),
            uses: c.invite_uses,
            members: c.members,
            archived: c.archived_at.is_some(),
            closed,
        }
    }
}

struct CohortListItem {
    cohort: CohortView,
    instructors: String,
}

#[derive(Template)]
#[template(path = "pages/cohorts.html")]
struct CohortsPage {
    layout: Layout,
    cohorts: Vec<CohortListItem>,
    is_admin: bool,
    error: Option<String>,
}

pub struct LearnerView {
    pub email: String,
    pub name: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "pages/cohort.html")]
struct CohortPage {
    layout: Layout,
    cohort: CohortView,
    learners: Vec<LearnerView>,
    instructors: Vec<String>,
    schedule: super::cohort_schedule::ScheduleView,
    error: Option<String>,
}

/// The invite code's fragment, swapped in by htmx when the code is rotated.
#[derive(Template)]
#[template(path = "partials/invite_code.html")]
struct InviteFragment {
    cohort: CohortView,
}

pub(super) fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// `GET /cohorts`: every cohort for an admin, the ones they teach for an instructor.
pub async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, WebError> {
    render_list(&state, &user, &csrf, None).await
}

pub(super) async fn render_list(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    if !access::is_staff(user.viewer()) {
        return Err(WebError::Forbidden);
    }
    let rows = if access::may_manage_accounts(user.viewer()) {
        state.store.list_cohorts().await?
    } else {
        state.store.cohorts_taught_by(user.id).await?
    };
    let now = state.clock.now_ms();
    let mut cohorts = Vec::with_capacity(rows.len());
    for row in &rows {
        let staff = state.store.cohort_instructors(row.id).await?;
        cohorts.push(CohortListItem {
            cohort: CohortView::new(row, now),
            instructors: if staff.is_empty() {
                "none".to_string()
            } else {
                staff.join(", ")
            },
        });
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = CohortsPage {
        layout: Layout::new(state, Some(user), csrf),
        cohorts,
        is_admin: access::may_manage_accounts(user.viewer()),
        error,
    };
    Ok(html(status, page.render()?))
}

/// The cohort `id` if `user` may manage it; 404 otherwise, whether or not it exists.
pub(super) async fn managed(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<CohortRow, WebError> {
    if !access::may_manage_cohort(&state.store, user.viewer(), id).await? {
        return Err(WebError::NotFound);
    }
    state.store.cohort(id).await?.ok_or(WebError::NotFound)
}

/// `GET /cohorts/{id}`.
pub async fn page(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let cohort = managed(&state, &user, *path).await?;
    render_page(&state, &user, &csrf, &cohort, None).await
}

/// The cohort page, with `error` (a form's problem, status 422) when there is one.
pub(super) async fn render_page(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    cohort: &CohortRow,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let learners = state
        .store
        .cohort_learners(cohort.id)
        .await?
        .into_iter()
        .map(|u| LearnerView {
            email: u.email,
            name: u.display_name,
            active: u.deactivated_at.is_none(),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let dates = state.store.cohort_dates(cohort.id).await?;
    let early = state.store.early_weeks_in(cohort.id).await?;
    let schedule = super::cohort_schedule::ScheduleView::new(
        &state.curriculum(),
        cohort,
        dates.as_ref(),
        &early,
    );
    let page = CohortPage {
        layout: Layout::new(state, Some(user), csrf),
        schedule,
        cohort: CohortView::new(cohort, state.clock.now_ms()),
        learners,
        instructors: state.store.cohort_instructors(cohort.id).await?,
        error,
    };
    Ok(html(status, page.render()?))
}

/// Just the invite code's fragment (for htmx after a rotation).
pub(super) fn invite_fragment(
    state: &AppState,
    cohort: &CohortRow,
) -> Result<HttpResponse, WebError> {
    let fragment = InviteFragment {
        cohort: CohortView::new(cohort, state.clock.now_ms()),
    };
    Ok(html(StatusCode::OK, fragment.render()?))
}
