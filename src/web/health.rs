//! Operational endpoints: liveness, readiness and Prometheus metrics.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::AppState;

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: the process can do its work: the database answers and, when this process grades, the Docker
/// engine answers too. Submissions are still accepted while Docker is away; they wait in the queue.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.store.ping().await;
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness: database unavailable");
    }
    let docker = if state.grading.local_workers {
        let reachable = tokio::time::timeout(std::time::Duration::from_secs(3), async {
            crate::sandbox::Sandbox::connect().await?.ping().await
        })
        .await;
        Some(matches!(reachable, Ok(Ok(()))))
    } else {
        None
    };
    // Runs this process's workers leave to workers with other lab files: ready, but an operator must know that
    // a course change is deployed on some grading hosts and not others.
    let other_versions = if state.grading.local_workers {
        let keys = state.curriculum().version_keys();
        match state.store.waiting_for_other_versions(&keys).await {
            Ok(runs) => Some(runs.len()),
            Err(_) => None,
        }
    } else {
        None
    };
    let ready = database.is_ok() && docker != Some(false);
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": if database.is_ok() { "ok" } else { "unreachable" },
        "docker": match docker { Some(true) => "ok", Some(false) => "unreachable", None => "not used" },
        "lab_versions": match other_versions {
            Some(0) => "current".to_string(),
            Some(n) => format!("{n} waiting run(s) were submitted under other versions of their lab's files; this process leaves them to workers that have those versions"),
            None => "not used".to_string(),
        },
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// `GET /metrics` on the main address: Prometheus text format, unless the operator moved it to its own address
/// (then there is nothing here).
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if state.metrics_access.bind.is_some() {
        return HttpResponse::NotFound().finish();
    }
    metrics_here(req, state).await
}

/// `GET /metrics` where it is served, behind the operator's bearer token when one is set.
pub async fn metrics_here(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(token) = &state.metrics_access.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !token.admits(given) {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .finish();
        }
    }
    let mut body = state.metrics.render();
    // The grading figures come from the database, so they cover every worker sharing it; when it does not answer,
    // the process's own metrics are still served (and `/readyz` says why).
    match state.store.grading_snapshot().await {
        Ok(snapshot) => body.push_str(&crate::telemetry::grading::render(&snapshot)),
        Err(e) => {
            tracing::warn!(error = %e, "grading metrics unavailable: the database did not answer")
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
