//! Check analytics for staff: for each hidden check of a lab, the share of learners whose latest graded run of
//! it failed the check, and the message they read most often. Per cohort (`/cohorts/{id}/labs/{lab}/analytics`,
//! for its instructors and admins) and across every cohort (`/labs/{lab}/analytics`, admins only).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::cohorts::html;
use super::gradebook::readable;
use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::access;
use crate::checks::CheckSuite;
use crate::domain::LabId;
use crate::gradebook::analytics::{self, CheckStats};
use crate::store::Learners;

pub struct LabLink {
    pub href: String,
    pub label: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "pages/analytics.html")]
struct AnalyticsPage {
    layout: Layout,
    /// The cohort's name, or "every cohort".
    scope: String,
    cohort_id: Option<i64>,
    lab_id: String,
    lab_title: String,
    checks: Vec<CheckStats>,
    learners: usize,
    labs: Vec<LabLink>,
}

/// `GET /cohorts/{id}/labs/{lab}/analytics`.
pub async fn cohort(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, WebError> {
    let (id, lab) = path.into_inner();
    let cohort = readable(&state, &user, id).await?;
    render(
        &state,
        &user,
        &csrf,
        Learners::Cohort(cohort.id),
        cohort.name,
        Some(cohort.id),
        &lab,
    )
    .await
}

/// `GET /labs/{lab}/analytics`: every cohort's learners; admins only (others are told it does not exist).
pub async fn everyone(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    if !access::may_manage_accounts(user.viewer()) {
        return Err(WebError::NotFound);
    }
    render(
        &state,
        &user,
        &csrf,
        Learners::Everyone,
        "every cohort".to_string(),
        None,
        &path,
    )
    .await
}

async fn render(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    learners: Learners,
    scope: String,
    cohort_id: Option<i64>,
    lab: &str,
) -> Result<HttpResponse, WebError> {
    let curriculum = state.curriculum();
    let id = LabId::parse(lab).map_err(|_| WebError::NotFound)?;
    let lab = curriculum.lab(&id).ok_or(WebError::NotFound)?;
    // The checks as the lab defines them now, so a check nobody has reached yet still has its line; a lab whose
    // checks do not load (it would not grade either) falls back to the checks found in results.
    let defined: Vec<(String, String)> = CheckSuite::load(&lab.dir, &curriculum.pillar_ids())
        .map(|s| s.checks.into_iter().map(|c| (c.id, c.title)).collect())
        .unwrap_or_default();
    let rows = state
        .store
        .latest_check_results(learners, Some(id.as_str()))
        .await?;
    let mut people: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
    people.sort_unstable();
    people.dedup();
    let base = match cohort_id {
        Some(c) => format!("/cohorts/{c}/labs"),
        None => "/labs".to_string(),
    };
    let mut labs: Vec<_> = curriculum.labs.values().collect();
    labs.sort_by_key(|l| (l.week, l.id.as_str().to_string()));
    let page = AnalyticsPage {
        layout: Layout::new(state, Some(user), csrf),
        scope,
        cohort_id,
        lab_id: id.as_str().to_string(),
        lab_title: lab.title.clone(),
        checks: analytics::per_check(&defined, &rows),
        learners: people.len(),
        labs: labs
            .iter()
            .map(|l| LabLink {
                href: format!("{base}/{}/analytics", l.id.as_str()),
                label: format!("W{}", l.week),
                current: l.id == id,
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, page.render()?))
}
