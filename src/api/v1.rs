//! `/api/v1` handlers.

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiUser};
use crate::grading::submit::{self, SubmitError};
use crate::store::{CheckResultRow, EventRow, RunRow};
use crate::web::AppState;

#[derive(Serialize)]
struct LabJson {
    id: String,
    title: String,
    week: u8,
    summary: String,
}

/// `GET /api/v1/labs`.
pub async fn labs(state: web::Data<AppState>, _user: ApiUser) -> HttpResponse {
    let c = state.curriculum();
    let labs: Vec<LabJson> = c
        .labs
        .values()
        .map(|l| LabJson {
            id: l.id.to_string(),
            title: l.title.clone(),
            week: l.week.number(),
            summary: l.summary.clone(),
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({ "labs": labs }))
}

/// `GET /api/v1/labs/{lab}/starter.tar.gz`: the lab's default starter project (404 when it has none).
pub async fn starter(
    state: web::Data<AppState>,
    _user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    starter_download(&state, &path, None).await
}

/// `GET /api/v1/labs/{lab}/starters/{name}.tar.gz`: the lab's starter `name` (`default` is the default one;
/// 404 when the lab has no starter of that name).
pub async fn named_starter(
    state: web::Data<AppState>,
    _user: ApiUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (lab, file) = path.into_inner();
    let name = crate::web::starter_name(&file).ok_or(ApiError::NotFound)?;
    starter_download(&state, &lab, Some(name)).await
}

async fn starter_download(
    state: &AppState,
    lab: &str,
    name: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    use crate::curriculum::starter::{for_lab, StarterError};
    match for_lab(&state.curriculum(), lab, name).await {
        Ok((s, bytes)) => Ok(crate::web::starter_download(&s.file_name(lab), bytes)),
        Err(StarterError::NotFound) => Err(ApiError::NotFound),
        Err(e) => Err(ApiError::Internal(format!("{e:#}"))),
    }
}

/// `POST /api/v1/labs/{lab}/submissions`: the body is the archive (`.tar.gz` or `.zip`). The token is checked
/// (by the extractor) before the body is read, and the body is read no further than the limit: a declared
/// `Content-Length` over it is refused before a byte is read, with the declared size in the message.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    mut body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let limit = state.grading.limits.max_bytes;
    let too_large = |size: u64| {
        let e = crate::archive::ArchiveError::TooLarge { size, limit };
        ApiError::TooLarge(format!("{e}; nothing was stored"))
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|s| *s > limit) {
        return Err(too_large(size));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadUpload("the upload was interrupted".into()))?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(too_large((bytes.len() + chunk.len()) as u64));
        }
        bytes.extend_from_slice(&chunk);
    }
    let curriculum = state.curriculum();
    let run = submit::accept(
        &state.store,
        &curriculum,
        &state.grading,
        user.0.id,
        &path,
        bytes,
    )
    .await
    .map_err(|e| match e {
        SubmitError::UnknownLab(_) => ApiError::NotFound,
        SubmitError::Closed(closed) => {
            ApiError::WeekClosed(format!("{closed}; nothing was stored"))
        }
        e @ SubmitError::TooManyRuns(_) => {
            ApiError::TooManyRuns(format!("{e}; nothing was stored"))
        }
        e if e.is_learner_fault() => ApiError::BadUpload(format!("{e}; nothing was stored")),
        e => ApiError::Internal(e.to_string()),
    })?;
    state.grading.wake();
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/runs/{run}")))
        .json(serde_json::json!({
            "run_id": run,
            "url": format!("/runs/{run}"),
            "events_url": format!("/api/v1/runs/{run}/events"),
        })))
}

/// A check's result as learners see it: no hidden detail.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct CheckJson {
    pub id: String,
    pub title: String,
    pub pillar: String,
    pub required: bool,
    pub verdict: String,
    pub message: String,
    pub hint: String,
    pub duration_ms: i64,
}

impl From<&CheckResultRow> for CheckJson {
    fn from(r: &CheckResultRow) -> Self {
        CheckJson {
            id: r.check_id.clone(),
            title: r.title.clone(),
            pillar: r.pillar.clone(),
            required: r.required != 0,
            verdict: r.verdict.clone(),
            message: r.message.clone(),
            // Hints are public by design: they say what to look at, never what was sent.
            hint: if r.verdict == "pass" {
                String::new()
            } else {
                r.hint.clone()
            },
            duration_ms: r.duration_ms,
        }
    }
}

async fn visible(state: &AppState, user: &ApiUser, id: i64) -> Result<RunRow, ApiError> {
    let run = state.store.run(id).await?;
    if crate::access::may_see_work_of(&state.store, user.0.viewer(), run.user_id).await? {
        Ok(run)
    } else {
        Err(ApiError::NotFound)
    }
}

/// `GET /api/v1/runs/{id}`.
pub async fn run(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let run = visible(&state, &user, *path).await?;
    let checks: Vec<CheckJson> = state
        .store
        .check_results(run.id)
        .await?
        .iter()
        .map(CheckJson::from)
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "id": run.id,
        "lab": run.lab_id,
        "state": run.state,
        "final": run.state().is_final(),
        "stage": run.stage,
        "reason": run.reason,
        "score": run.score,
        "seed": run.seed,
        "queue_position": state.store.queue_position(run.id).await?,
        "due_at": run.due_at,
        "late": run.late != 0,
        "checks": checks,
    })))
}

/// `GET /api/v1/runs/{id}/events`: server-sent events, each `data` the event's JSON; ends after `finished`.
pub async fn events(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
    query: web::Query<crate::web::sse::AfterQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let run = visible(&state, &user, *path).await?;
    let after = crate::web::sse::resume_after(&req, &query);
    let render = |e: EventRow| async move {
        Some(crate::web::sse::Message {
            id: e.id,
            event: e.kind,
            data: e.payload,
        })
    };
    Ok(crate::web::sse::response(
        state.store.clone(),
        run.id,
        after,
        render,
    ))
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
