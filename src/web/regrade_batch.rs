//! Cohort re-grades for staff (`/cohorts/{id}/regrades`): re-grade one lab for every learner of a cohort after
//! its checks changed, with a reason; follow the batch's progress (htmx polls the partial until it is done) and
//! read, per learner, the verdict and score before and after, changed rows first. Which run is re-graded and how
//! the runs queue is `crate::store::regrade_batches`'s doc. Who may: `crate::access::may_regrade_cohort`;
//! anyone else is told the cohort does not exist (404), as for its other pages.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::cohorts::html;
use super::runs::format_time;
use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::access::{self, Viewer};
use crate::domain::{LabId, RegradeReason};
use crate::store::{Actor, BatchLine, BatchRow, BatchStarted, CohortRow, StoreError};

/// Why a batch was not started.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("not found")]
    NotFound,
    #[error("there is no lab `{0}` in the course")]
    UnknownLab(String),
    #[error("{0}")]
    Reason(String),
    #[error("a re-grade of this lab for this cohort is still running; wait until it is done")]
    Running,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for BatchError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => BatchError::Running,
            other => BatchError::Store(other),
        }
    }
}

/// The cohort `id` if `viewer` may re-grade its work; `None` (told as 404) otherwise.
pub(crate) async fn regradable(
    state: &AppState,
    viewer: Viewer,
    id: i64,
) -> Result<Option<CohortRow>, StoreError> {
    if !access::may_regrade_cohort(&state.store, viewer, id).await? {
        return Ok(None);
    }
    state.store.cohort(id).await
}

/// Starts a batch for the page and the API alike: checks access, the lab and the reason, then queues.
pub(crate) async fn start_batch(
    state: &AppState,
    user: &CurrentUser,
    cohort_id: i64,
    lab: &str,
    reason: &str,
) -> Result<BatchStarted, BatchError> {
    if regradable(state, user.viewer(), cohort_id).await?.is_none() {
        return Err(BatchError::NotFound);
    }
    let curriculum = state.curriculum();
    let lab_id = LabId::parse(lab)
        .ok()
        .filter(|id| curriculum.lab(id).is_some())
        .ok_or_else(|| BatchError::UnknownLab(lab.to_string()))?;
    let reason = RegradeReason::parse(reason).map_err(|e| BatchError::Reason(e.to_string()))?;
    // Graded under the lab's files as this server holds them now: that is what re-grading after a change is for.
    let version = curriculum
        .lab_version(&lab_id)
        .map(|v| v.as_str().to_string());
    let started = state
        .store
        .regrade_cohort(
            cohort_id,
            lab_id.as_str(),
            version.as_deref(),
            &Actor::user(user.id, &user.email),
            &reason,
        )
        .await?;
    state.grading.wake();
    Ok(started)
}

/// A batch's progress and diff, as the page, its partial and the API read them.
pub(crate) struct Progress {
    pub done: usize,
    pub total: usize,
    /// Changed rows first, then those still waiting, then the unchanged; by e-mail within each.
    pub lines: Vec<BatchLine>,
}

impl Progress {
    pub fn finished(&self) -> bool {
        self.done == self.total
    }
}

pub(crate) async fn progress_of(state: &AppState, batch_id: i64) -> Result<Progress, StoreError> {
    let mut lines = state.store.regrade_batch_lines(batch_id).await?;
    lines.sort_by_key(|l| (!l.changed(), l.done(), l.email.clone()));
    Ok(Progress {
        done: lines.iter().filter(|l| l.done()).count(),
        total: lines.len(),
        lines,
    })
}

struct BatchView {
    id: i64,
    lab: String,
    requester: String,
    reason: String,
    at: String,
}

impl From<BatchRow> for BatchView {
    fn from(b: BatchRow) -> Self {
        BatchView {
            id: b.id,
            lab: b.lab_id,
            requester: b.requester,
            reason: b.reason,
            at: format_time(b.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "pages/regrades.html")]
struct ListPage {
    layout: Layout,
    cohort: CohortRow,
    labs: Vec<(String, String)>,
    batches: Vec<BatchView>,
    error: Option<String>,
}

struct LineView {
    email: String,
    before_run: i64,
    before: String,
    after_run: i64,
    after: String,
    done: bool,
    changed: bool,
}

fn verdict(state: &str, score: Option<f64>) -> String {
    match score {
        Some(s) if matches!(state, "passed" | "failed") => format!("{state} {s:.1}"),
        _ => state.to_string(),
    }
}

/// The progress section, on the batch page and alone for htmx.
struct ProgressView {
    cohort_id: i64,
    batch_id: i64,
    done: usize,
    total: usize,
    finished: bool,
    changed: usize,
    lines: Vec<LineView>,
}

impl ProgressView {
    fn new(cohort_id: i64, batch_id: i64, p: Progress) -> Self {
        ProgressView {
            cohort_id,
            batch_id,
            done: p.done,
            total: p.total,
            finished: p.finished(),
            changed: p.lines.iter().filter(|l| l.changed()).count(),
            lines: p
                .lines
                .into_iter()
                .map(|l| LineView {
                    done: l.done(),
                    changed: l.changed(),
                    before: verdict(&l.before_state, l.before_score),
                    after: verdict(&l.after_state, l.after_score),
                    email: l.email,
                    before_run: l.before_run,
                    after_run: l.after_run,
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "pages/regrade_batch.html")]
struct BatchPage {
    layout: Layout,
    cohort: CohortRow,
    batch: BatchView,
    p: ProgressView,
}

#[derive(Template)]
#[template(path = "partials/regrade_progress.html")]
struct ProgressPartial {
    p: ProgressView,
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    lab: String,
    #[serde(default)]
    reason: String,
}

async fn cohort_for(state: &AppState, user: &CurrentUser, id: i64) -> Result<CohortRow, WebError> {
    regradable(state, user.viewer(), id)
        .await?
        .ok_or(WebError::NotFound)
}

async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    cohort: CohortRow,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let curriculum = state.curriculum();
    let labs = curriculum
        .labs
        .values()
        .map(|l| (l.id.to_string(), format!("{}: {}", l.id, l.title)))
        .collect();
    let batches = state
        .store
        .regrade_batches_of(cohort.id)
        .await?
        .into_iter()
        .map(BatchView::from)
        .collect();
    let page = ListPage {
        layout: Layout::new(state, Some(user), csrf),
        cohort,
        labs,
        batches,
        error,
    };
    Ok(html(status, page.render()?))
}

/// `GET /cohorts/{id}/regrades`: the form and the cohort's batches.
pub async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let cohort = cohort_for(&state, &user, *path).await?;
    list_page(&state, &user, &csrf, cohort, StatusCode::OK, None).await
}

/// `POST /cohorts/{id}/regrades`: starts a batch and shows it; a bad form keeps the page with the message.
pub async fn start(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<StartForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let cohort = cohort_for(&state, &user, *path).await?;
    match start_batch(&state, &user, cohort.id, &form.lab, &form.reason).await {
        Ok(started) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/cohorts/{}/regrades/{}", cohort.id, started.batch_id),
            ))
            .finish()),
        Err(BatchError::NotFound) => Err(WebError::NotFound),
        Err(BatchError::Store(e)) => Err(e.into()),
        Err(e @ BatchError::Running) => {
            let message = format!("Nothing was queued: {e}.");
            list_page(
                &state,
                &user,
                &csrf,
                cohort,
                StatusCode::CONFLICT,
                Some(message),
            )
            .await
        }
        Err(e) => {
            let message = format!("Nothing was queued: {e}.");
            list_page(
                &state,
                &user,
                &csrf,
                cohort,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
            )
            .await
        }
    }
}

/// The batch `batch` of cohort `id`, 404 unless both exist, belong together and `user` may re-grade the cohort.
async fn batch_for(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    batch: i64,
) -> Result<(CohortRow, BatchRow), WebError> {
    let cohort = cohort_for(state, user, id).await?;
    let batch = match state.store.regrade_batch(batch).await {
        Err(StoreError::NotFound) => return Err(WebError::NotFound),
        other => other?,
    };
    if batch.cohort_id != cohort.id {
        return Err(WebError::NotFound);
    }
    Ok((cohort, batch))
}

/// `GET /cohorts/{id}/regrades/{batch}`.
pub async fn page(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, WebError> {
    let (id, batch_id) = path.into_inner();
    let (cohort, batch) = batch_for(&state, &user, id, batch_id).await?;
    let p = ProgressView::new(cohort.id, batch.id, progress_of(&state, batch.id).await?);
    let page = BatchPage {
        layout: Layout::new(&state, Some(&user), &csrf),
        cohort,
        batch: batch.into(),
        p,
    };
    Ok(html(StatusCode::OK, page.render()?))
}

/// `GET /cohorts/{id}/regrades/{batch}/progress`: the partial htmx polls while the batch runs.
pub async fn progress(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, WebError> {
    let (id, batch_id) = path.into_inner();
    let (cohort, batch) = batch_for(&state, &user, id, batch_id).await?;
    let partial = ProgressPartial {
        p: ProgressView::new(cohort.id, batch.id, progress_of(&state, batch.id).await?),
    };
    Ok(html(StatusCode::OK, partial.render()?))
}
