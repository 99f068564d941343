//! `/api/v1/cohorts/{id}/regrades`: a cohort re-grade for staff's scripts, the same rules as the page
//! (`crate::web::regrade_batch`): whoever may not re-grade the cohort is told it does not exist.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{ApiError, ApiUser};
use crate::web::regrade_batch::{progress_of, regradable, start_batch, BatchError};
use crate::web::AppState;

#[derive(Deserialize)]
pub struct StartJson {
    lab: String,
    reason: String,
}

/// `POST /api/v1/cohorts/{id}/regrades` with `{"lab": "...", "reason": "..."}`: 201 with the batch's id and
/// how many runs were queued and learners skipped.
pub async fn start(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    body: web::Json<StartJson>,
) -> Result<HttpResponse, ApiError> {
    match start_batch(&state, &user.0, *path, &body.lab, &body.reason).await {
        Ok(s) => Ok(HttpResponse::Created().json(serde_json::json!({
            "batch_id": s.batch_id, "queued": s.queued, "skipped": s.skipped,
        }))),
        Err(BatchError::NotFound) => Err(ApiError::NotFound),
        Err(BatchError::Store(e)) => Err(e.into()),
        Err(e @ BatchError::Running) => Err(ApiError::Conflict(e.to_string())),
        Err(e) => Err(ApiError::Invalid(e.to_string())),
    }
}

/// `GET /api/v1/cohorts/{id}/regrades/{batch}`: progress, and per learner the verdict before and after.
pub async fn show(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, batch_id) = path.into_inner();
    if regradable(&state, user.0.viewer(), id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let batch = state.store.regrade_batch(batch_id).await?;
    if batch.cohort_id != id {
        return Err(ApiError::NotFound);
    }
    let p = progress_of(&state, batch.id).await?;
    let lines: Vec<serde_json::Value> = p
        .lines
        .iter()
        .map(|l| {
            serde_json::json!({
                "user_id": l.user_id, "email": l.email, "done": l.done(), "changed": l.changed(),
                "before": { "run": l.before_run, "state": l.before_state, "score": l.before_score },
                "after": { "run": l.after_run, "state": l.after_state, "score": l.after_score },
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "id": batch.id, "cohort_id": batch.cohort_id, "lab": batch.lab_id, "requester": batch.requester,
        "reason": batch.reason, "created_at": batch.created_at,
        "done": p.done, "total": p.total, "finished": p.finished(), "lines": lines,
    })))
}
