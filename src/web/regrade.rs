//! `POST /runs/{id}/regrade` (staff who may see the run): grades the same submission again with the same seed,
//! so that a changed check or a suspected flake can be told apart from the learner's work. The form asks why;
//! who and why are kept with the new run (both run pages show them) and in the audit log.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{AppState, CsrfToken, CurrentUser, WebError};
use crate::domain::RegradeReason;
use crate::store::{Actor, StoreError};

#[derive(Deserialize)]
pub struct RegradeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    reason: String,
}

pub async fn start(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<RegradeForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    if !user.role.is_staff() {
        return Err(WebError::NotFound);
    }
    let run = super::runs::visible_run(&state, &user, *path).await?;
    let reason = RegradeReason::parse(&form.reason).map_err(|e| WebError::Refused {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "A re-grade needs a reason",
        message: format!("Nothing was queued: {e}."),
    })?;
    let by = Actor::user(user.id, &user.email);
    // Graded under the lab's files as this server holds them now: a re-grade is how a changed check is tried.
    let version = crate::domain::LabId::parse(&run.lab_id)
        .ok()
        .and_then(|id| state.curriculum().lab_version(&id).cloned());
    let version = version.as_ref().map(|v| v.as_str());
    let again = match state
        .store
        .regrade(run.id, run.seed, version, &by, &reason)
        .await
    {
        Err(e @ StoreError::ArchiveGone) => {
            return Err(WebError::Refused {
                status: StatusCode::CONFLICT,
                title: "This run cannot be graded again",
                message: format!("{e}."),
            })
        }
        other => other?,
    };
    state.grading.wake();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/runs/{again}")))
        .finish())
}
