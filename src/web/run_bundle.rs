//! `GET /runs/{id}/bundle.tar.gz`: the failure bundle of a run (`crate::failure_bundle`), for staff who may
//! see the run. It carries the hidden checks' requests, so a learner gets "not found" even for their own run.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::{AppState, CurrentUser, WebError};
use crate::failure_bundle::{self, BundleInput, CheckRecord};
use crate::grading::secrets::RunSecrets;
use crate::grading::service;

pub async fn download(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    if !user.role.is_staff() {
        return Err(WebError::NotFound);
    }
    let run = super::runs::visible_run(&state, &user, *path).await?;
    let checks = state
        .store
        .check_results(run.id)
        .await?
        .into_iter()
        .map(|r| CheckRecord {
            check_id: r.check_id,
            title: r.title,
            verdict: r.verdict,
            message: r.message,
            duration_ms: r.duration_ms,
            detail: r.detail,
        })
        .collect();
    let archive = state.store.submission_archive(run.submission_id).await?;
    let curriculum = state.curriculum();
    let lab = crate::domain::LabId::parse(&run.lab_id)
        .ok()
        .and_then(|id| curriculum.lab(&id));
    // The run's environment as the worker gave it: its secrets derive from this server's key and the seed.
    let seed = run.seed as u64;
    let (env, port, health, data_dir) = match lab {
        Some(lab) => {
            let secrets = RunSecrets::from_server_key(state.key.master());
            let env = service::service_env(lab, seed, &secrets);
            (
                env,
                service::service_port(lab, seed),
                lab.service.health.clone(),
                lab.service.data_dir.clone(),
            )
        }
        None => (Default::default(), 8080, "/".to_string(), None),
    };
    let input = BundleInput {
        run_id: run.id,
        lab_id: run.lab_id.clone(),
        state: run.state.clone(),
        seed: run.seed,
        port,
        health,
        env,
        data_dir,
        archive,
        build_log: run.build_log.clone(),
        container_log: run.container_log.clone(),
        checks,
        mtime: u64::try_from(run.finished_at.unwrap_or(run.created_at) / 1000).unwrap_or(0),
    };
    let bytes = web::block(move || failure_bundle::pack(&input))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    state
        .store
        .audit_bundle_download(&crate::store::Actor::user(user.id, &user.email), run.id)
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/gzip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{}.tar.gz\"",
                failure_bundle::folder(run.id)
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes))
}
